// RPC: `sendonion` in Core Lightning's shape (the caller built the onion; we offer the HTLC to the first
// hop and track it like a sendpay part), and the test-only `dev-blindedpath`, which hands out a blinded
// path to this node for one of its invoices.
import { formatShortChannelId } from '../bolt11-invoice/index.ts';
import { fromHex, hex } from '../core/bytes.ts';
import { type Msat, msat } from '../core/units.ts';
import type { EntropySource } from '../crypto/random.ts';
import { invalidParams } from '../rpc/errors.ts';
import { type MethodSpec, parseMsat } from '../rpc/methods.ts';
import type { Channel, ChannelDriver } from './channel-driver.ts';
import type { Clock } from './clock.ts';
import { type Payer, type RouteHop, sendpayJson } from './pay.ts';
import type { PaymentSwitch } from './switch.ts';
import { buildReceivePath } from './switch-blinded.ts';
import {
  DEFAULT_POLICY,
  linkStatus,
  MAX_CLTV_EXPIRY_BLOCKS,
  scidOf,
  spendableMsat,
} from './switch-policy.ts';

/** The invoice facts a blinded path needs (from the invoice book). */
export interface InvoiceFacts {
  readonly payment_secret: string;
  readonly cltv: number;
}

function bytesHex(v: unknown, name: string, len?: number): Uint8Array {
  if (typeof v !== 'string' || !/^([0-9a-fA-F]{2})+$/.test(v)) throw invalidParams(`${name}: expected hex`);
  const b = fromHex(v);
  if (len !== undefined && b.length !== len) throw invalidParams(`${name}: expected ${len} bytes`);
  return b;
}

function nonNegInt(v: unknown, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw invalidParams(`${name}: expected a non-negative integer`);
  return n;
}

/** A normal channel to `peer` that can carry `amount`, with the most room first. */
function channelTo(driver: ChannelDriver, peer: string, amount: Msat): Channel | undefined {
  return driver
    .list()
    .filter((c) => c.peerId === peer && linkStatus(c) === 'normal' && scidOf(c.state) !== undefined)
    .filter((c) => spendableMsat(c) >= amount)
    .sort((a, b) => (spendableMsat(b) > spendableMsat(a) ? 1 : -1))[0];
}

function firstHopOf(v: unknown, driver: ChannelDriver): RouteHop {
  if (typeof v !== 'object' || v === null) throw invalidParams('first_hop: expected an object');
  const h = v as Record<string, unknown>;
  if (typeof h.id !== 'string' || !/^0[23][0-9a-fA-F]{64}$/.test(h.id))
    throw invalidParams('first_hop: id must be a node id');
  const id = h.id.toLowerCase();
  const amount = msat(parseMsat(h.amount_msat, 'first_hop.amount_msat'));
  const delay = nonNegInt(h.delay, 'first_hop.delay');
  let channel: string;
  if (typeof h.channel === 'string') channel = h.channel;
  else {
    const ch = channelTo(driver, id, amount);
    if (ch === undefined) throw invalidParams('first_hop: no usable channel to that peer');
    channel = formatShortChannelId(scidOf(ch.state)!);
  }
  return { id, channel, amount_msat: amount, delay };
}

export function sendOnionMethods(o: {
  payer: Payer;
  switch: PaymentSwitch;
  driver: ChannelDriver;
  entropy: EntropySource;
  clock: Clock;
  ourId: string;
  invoiceFor: (paymentHashHex: string) => InvoiceFacts | undefined;
}): MethodSpec[] {
  return [
    {
      name: 'sendonion',
      description:
        'Send a prebuilt onion: sendonion onion first_hop payment_hash [label] [shared_secrets] [partid] [bolt11] [amount_msat] [destination] [groupid]',
      params: [
        { name: 'onion', type: 'string', required: true },
        { name: 'first_hop', type: 'object', required: true },
        { name: 'payment_hash', type: 'string', required: true },
        { name: 'label', type: 'string' },
        { name: 'shared_secrets', type: 'array' },
        { name: 'partid', type: 'integer' },
        { name: 'bolt11', type: 'string' },
        { name: 'amount_msat', type: 'any' },
        { name: 'destination', type: 'string' },
        { name: 'groupid', type: 'integer' },
      ],
      handler: (p) => {
        const onion = bytesHex(p.onion, 'onion', 1366);
        const firstHop = firstHopOf(p.first_hop, o.driver);
        const secrets =
          p.shared_secrets === undefined
            ? undefined
            : (p.shared_secrets as unknown[]).map((s, i) => bytesHex(s, `shared_secrets[${i}]`, 32));
        const dest = p.destination === undefined ? undefined : bytesHex(p.destination, 'destination', 33);
        const r = o.payer.sendOnion({
          onion,
          firstHop,
          paymentHash: bytesHex(p.payment_hash, 'payment_hash', 32),
          ...(secrets !== undefined ? { sharedSecrets: secrets } : {}),
          ...(dest !== undefined ? { destination: hex(dest) } : {}),
          ...(p.amount_msat !== undefined
            ? { amountMsat: msat(parseMsat(p.amount_msat, 'amount_msat')) }
            : {}),
          ...(p.label !== undefined ? { label: p.label as string } : {}),
          ...(p.bolt11 !== undefined ? { bolt11: p.bolt11 as string } : {}),
          ...(p.partid !== undefined ? { partid: p.partid as number } : {}),
          ...(p.groupid !== undefined ? { groupid: p.groupid as number } : {}),
        });
        return { message: 'Monitor status with listpays or waitsendpay', ...sendpayJson(r) };
      },
    },
    {
      name: 'dev-blindedpath',
      description:
        'TEST ONLY: a blinded path to this node for an invoice: dev-blindedpath payment_hash introduction_node_id [fee_base_msat] [fee_proportional_millionths] [cltv_expiry_delta]',
      params: [
        { name: 'payment_hash', type: 'string', required: true },
        { name: 'introduction_node_id', type: 'string', required: true },
        { name: 'fee_base_msat', type: 'integer' },
        { name: 'fee_proportional_millionths', type: 'integer' },
        { name: 'cltv_expiry_delta', type: 'integer' },
      ],
      handler: (p) => {
        const hash = bytesHex(p.payment_hash, 'payment_hash', 32);
        const inv = o.invoiceFor(hex(hash));
        if (inv === undefined) throw invalidParams('no invoice with that payment_hash');
        const intro = bytesHex(p.introduction_node_id, 'introduction_node_id', 33);
        // The introduction node reaches us over its channel with us: its short_channel_id goes in the path.
        const ch = o.driver
          .list()
          .find(
            (c) => c.peerId === hex(intro) && linkStatus(c) !== 'closing' && scidOf(c.state) !== undefined,
          );
        if (ch === undefined) throw invalidParams('no channel with the introduction node');
        // Unless told, assume the introduction node charges the defaults (the path fails if it charges more).
        const relay = {
          feeBaseMsat:
            p.fee_base_msat === undefined ? Number(DEFAULT_POLICY.feeBaseMsat) : (p.fee_base_msat as number),
          feeProportionalMillionths:
            (p.fee_proportional_millionths as number | undefined) ?? DEFAULT_POLICY.feePpm,
          cltvExpiryDelta: (p.cltv_expiry_delta as number | undefined) ?? DEFAULT_POLICY.cltvExpiryDelta,
        };
        const pathId = o.entropy.randomBytes(32);
        const path = buildReceivePath({
          introNodeId: intro,
          ourNodeId: fromHex(o.ourId),
          scid: scidOf(ch.state)!,
          relay,
          htlcMinimumMsat: msat(0n),
          maxCltvExpiry: o.driver.tipHeight() + MAX_CLTV_EXPIRY_BLOCKS,
          minFinalCltvDelta: inv.cltv,
          sessionKey: o.entropy.randomBytes(32),
          pathId,
        });
        o.switch.blindedPaths.bind(
          pathId,
          { paymentHash: hash, paymentSecret: fromHex(inv.payment_secret) },
          Math.floor(o.clock.now() / 1000),
        );
        return path;
      },
    },
  ];
}
