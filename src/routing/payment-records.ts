// Core Lightning's `listsendpays` (one entry per part) and `listpays` (one per payment) shapes, and
// `pay`'s result, made from a payment's state.
import { formatShortChannelId } from '../bolt11-invoice/fields.ts';
import { hex } from '../core/bytes.ts';
import { type Msat, msat } from '../core/units.ts';
import { decodeRecord, encodeRecord } from '../store/store.ts';
import type { PartStatus, PaymentState, PaymentStatus } from './payment.ts';

export interface SendpayJson {
  readonly created_index: number;
  readonly id: number;
  readonly groupid: number;
  readonly partid: number;
  readonly payment_hash: string;
  readonly status: PartStatus;
  readonly destination: string;
  readonly amount_msat: Msat;
  readonly amount_sent_msat: Msat;
  /** Seconds since 1970. */
  readonly created_at: number;
  readonly completed_at?: number;
  readonly bolt11?: string;
  readonly payment_preimage?: string;
  readonly first_hop?: string;
  readonly erroronion?: string;
  readonly failreason?: string;
}

/** One entry per part. `firstCreatedIndex` is where this payment's parts start in the node's numbering. */
export function sendpaysOf(s: PaymentState, firstCreatedIndex: number, groupid = 1): SendpayJson[] {
  return s.parts.map((p, i) => ({
    created_index: firstCreatedIndex + i,
    id: firstCreatedIndex + i,
    groupid,
    partid: p.partId,
    payment_hash: hex(s.paymentHash),
    status: p.status,
    destination: s.destination,
    amount_msat: p.route.amountMsat,
    amount_sent_msat: p.route.totalAmountMsat,
    created_at: Math.floor(p.createdAt / 1000),
    ...(s.bolt11 !== undefined ? { bolt11: s.bolt11 } : {}),
    ...(p.status === 'complete' && s.preimage !== undefined ? { payment_preimage: hex(s.preimage) } : {}),
    ...(p.route.hops[0] !== undefined ? { first_hop: formatShortChannelId(p.route.hops[0].scid) } : {}),
    ...(p.failure !== undefined ? { failreason: p.failure } : {}),
  }));
}

export interface PayJson {
  readonly payment_hash: string;
  readonly status: PaymentStatus;
  readonly destination: string;
  readonly created_at: number;
  readonly completed_at?: number;
  readonly bolt11?: string;
  readonly label?: string;
  readonly amount_msat: Msat;
  readonly amount_sent_msat: Msat;
  readonly preimage?: string;
  readonly number_of_parts?: number;
  /** Why it failed, in words. */
  readonly failure?: { readonly code: number; readonly message: string };
}

/** `listpays` entry. Amounts count the parts that delivered (complete) or are still in flight. */
export function payOf(s: PaymentState, label?: string): PayJson {
  // Once complete, parts still pending are being settled by the payee too.
  const live = s.parts.filter((p) => p.status !== 'failed');
  const sent = msat(live.reduce((a, p) => a + p.route.totalAmountMsat, 0n));
  const delivered = msat(live.reduce((a, p) => a + p.route.amountMsat, 0n));
  return {
    payment_hash: hex(s.paymentHash),
    status: s.status,
    destination: s.destination,
    created_at: Math.floor(s.createdAt / 1000),
    ...(s.completedAt !== undefined ? { completed_at: Math.floor(s.completedAt / 1000) } : {}),
    ...(s.bolt11 !== undefined ? { bolt11: s.bolt11 } : {}),
    ...(label !== undefined ? { label } : {}),
    amount_msat: s.status === 'complete' ? delivered : s.amountMsat,
    amount_sent_msat: sent,
    ...(s.preimage !== undefined ? { preimage: hex(s.preimage) } : {}),
    ...(s.status === 'complete' ? { number_of_parts: live.length } : {}),
    ...(s.error !== undefined ? { failure: s.error } : {}),
  };
}

/** `pay`'s successful result (a failed payment is an RPC error with `s.error`'s code and message). */
export function payResultOf(s: PaymentState): {
  destination: string;
  payment_hash: string;
  created_at: number;
  parts: number;
  amount_msat: Msat;
  amount_sent_msat: Msat;
  payment_preimage: string;
  status: 'complete';
} {
  if (s.status !== 'complete' || s.preimage === undefined) throw new Error('payment is not complete');
  const p = payOf(s);
  return {
    destination: s.destination,
    payment_hash: p.payment_hash,
    created_at: s.createdAt / 1000,
    parts: p.number_of_parts ?? 1,
    amount_msat: p.amount_msat,
    amount_sent_msat: p.amount_sent_msat,
    payment_preimage: hex(s.preimage),
    status: 'complete',
  };
}

// ---------------------------------------------------------------------------------------------
// Persistence: the shell stores a payment's state before sending a part, so after a restart it knows
// which HTLCs are in flight and can resume (DESIGN.md rules 2 and 10).

export const PAYMENTS_NS = 'payments';
const PAYMENT_RECORD_VERSION = 1;

/** Bytes, sets and maps as tagged JSON; bigints are left to encodeRecord. */
function toPlain(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $bytes: hex(v) };
  if (v instanceof Set) return { $set: [...v].map(toPlain) };
  if (v instanceof Map) return { $map: [...v].map(toPlain) };
  if (Array.isArray(v)) return v.map(toPlain);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .map(([k, x]) => [k, toPlain(x)]),
    );
  }
  return v;
}

function fromPlain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromPlain);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.$bytes === 'string') return Uint8Array.from(Buffer.from(o.$bytes, 'hex'));
    if (Array.isArray(o.$set)) return new Set(o.$set.map(fromPlain));
    if (Array.isArray(o.$map)) return new Map(o.$map.map(fromPlain) as [unknown, unknown][]);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, fromPlain(x)]));
  }
  return v;
}

export function paymentKey(s: Pick<PaymentState, 'paymentHash'>): string {
  return hex(s.paymentHash);
}

export function encodePayment(s: PaymentState): Uint8Array {
  return encodeRecord(PAYMENT_RECORD_VERSION, { payment: toPlain(s) as object });
}

export function decodePayment(b: Uint8Array): PaymentState {
  const r = decodeRecord<{ payment: unknown }>(b);
  if (r.v !== PAYMENT_RECORD_VERSION) throw new Error(`unknown payment record version ${r.v}`);
  return fromPlain(r.payment) as PaymentState;
}
