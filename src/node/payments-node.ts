// Wires the payment pieces into the node: the HTLC switch, the invoice registry and its receiver (the
// one receive stack: invoices, multi-part, keysend, hold invoices), the payer and their RPC methods.
// node.ts calls startPayments before the channel driver starts (so replayed channel events reach the
// switch) and start() after it.
import { type BitcoinNetwork, type Currency, privateKeySigner } from '../bolt11-invoice/index.ts';
import { hex } from '../core/bytes.ts';
import type { EntropySource } from '../crypto/random.ts';
import { publicKeyOf } from '../crypto/secp256k1.ts';
import type { MethodSpec } from '../rpc/methods.ts';
import type { Store } from '../store/store.ts';
import type { ChannelDriver } from './channel-driver.ts';
import type { Clock } from './clock.ts';
import type { NetworkParams } from './config.ts';
import { InvoiceReceiver } from './invoice-receiver.ts';
import { InvoiceRegistry } from './invoice-store.ts';
import type { Logger } from './logger.ts';
import { Payer } from './pay.ts';
import { paymentMethods } from './payments-rpc.ts';
import { invoiceMethods } from './rpc-invoices.ts';
import { sendOnionMethods } from './rpc-sendonion.ts';
import { PaymentSwitch } from './switch.ts';

export interface Payments {
  readonly switch: PaymentSwitch;
  readonly invoices: InvoiceRegistry;
  readonly receiver: InvoiceReceiver;
  readonly payer: Payer;
  readonly methods: MethodSpec[];
  start(): void;
  close(): void;
}

export function invoiceNetworkOf(n: NetworkParams): BitcoinNetwork {
  switch (n.name) {
    case 'devnet':
    case 'regtest':
      return 'regtest';
    case 'signet':
      return 'signet';
    case 'testnet':
      return 'testnet';
    case 'bitcoin':
      return 'mainnet';
  }
}

export function startPayments(d: {
  store: Store;
  driver: ChannelDriver;
  nodeSecret: Uint8Array;
  network: NetworkParams;
  clock: Clock;
  entropy: EntropySource;
  log: Logger;
}): Payments {
  const sw = new PaymentSwitch({
    store: d.store,
    driver: d.driver,
    nodeSecret: d.nodeSecret,
    clock: d.clock,
    log: d.log,
    // dev-addhtlc's dummy onions are left to dev-fulfillhtlc on test networks only.
    leaveDummyOnions: d.network.name === 'devnet' || d.network.name === 'regtest',
  });
  const invoices = new InvoiceRegistry({
    store: d.store,
    clock: d.clock,
    entropy: d.entropy,
    sign: privateKeySigner(d.nodeSecret),
    nodeId: publicKeyOf(d.nodeSecret),
    currency: d.network.invoiceHrp as Currency,
  });
  const receiver = new InvoiceReceiver({ registry: invoices, switch: sw, clock: d.clock, log: d.log });
  const payer = new Payer({
    store: d.store,
    driver: d.driver,
    switch: sw,
    entropy: d.entropy,
    clock: d.clock,
    log: d.log,
    ourId: hex(publicKeyOf(d.nodeSecret)),
    network: invoiceNetworkOf(d.network),
  });
  return {
    switch: sw,
    invoices,
    receiver,
    payer,
    methods: [
      ...invoiceMethods({ registry: invoices, hold: receiver }),
      ...paymentMethods({ payer, switch: sw, driver: d.driver }),
      ...sendOnionMethods({
        payer,
        switch: sw,
        driver: d.driver,
        entropy: d.entropy,
        clock: d.clock,
        ourId: hex(publicKeyOf(d.nodeSecret)),
        invoiceFor: (h) => {
          const r = invoices.byPaymentHash(h);
          return r === undefined
            ? undefined
            : { payment_secret: r.paymentSecret, cltv: r.minFinalCltvExpiryDelta };
        },
      }),
    ],
    start: () => sw.start(),
    close: () => {
      receiver.close();
      invoices.close();
      sw.close();
    },
  };
}
