// Wires the payment pieces into the node: the HTLC switch, the invoice book (receiver), the payer and
// their RPC methods. node.ts calls startPayments before the channel driver starts (so replayed channel
// events reach the switch) and start() after it.
import type { BitcoinNetwork, Currency } from '../bolt11-invoice/index.ts';
import { hex } from '../core/bytes.ts';
import type { EntropySource } from '../crypto/random.ts';
import { publicKeyOf } from '../crypto/secp256k1.ts';
import type { MethodSpec } from '../rpc/methods.ts';
import type { Store } from '../store/store.ts';
import type { ChannelDriver } from './channel-driver.ts';
import type { Clock } from './clock.ts';
import type { NetworkParams } from './config.ts';
import type { Logger } from './logger.ts';
import { Payer } from './pay.ts';
import { InvoiceBook } from './payments-invoices.ts';
import { paymentMethods } from './payments-rpc.ts';
import { sendOnionMethods } from './rpc-sendonion.ts';
import { PaymentSwitch } from './switch.ts';

export interface Payments {
  readonly switch: PaymentSwitch;
  readonly invoices: InvoiceBook;
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
  const invoices = new InvoiceBook({
    store: d.store,
    clock: d.clock,
    entropy: d.entropy,
    nodeSecret: d.nodeSecret,
    currency: d.network.invoiceHrp as Currency,
    switch: sw,
    log: d.log,
  });
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
    payer,
    methods: [
      ...paymentMethods({ payer, invoices, switch: sw, driver: d.driver }),
      ...sendOnionMethods({
        payer,
        switch: sw,
        driver: d.driver,
        entropy: d.entropy,
        clock: d.clock,
        ourId: hex(publicKeyOf(d.nodeSecret)),
        invoiceFor: (h) => invoices.list().find((r) => r.payment_hash === h),
      }),
    ],
    start: () => sw.start(),
    close: () => sw.close(),
  };
}
