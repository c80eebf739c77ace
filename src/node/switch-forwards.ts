// The record of forwarded HTLCs, in Core Lightning's `listforwards` shape.
import { formatShortChannelId } from '../bolt11-invoice/fields.ts';
import type { Msat } from '../core/units.ts';
import { decodeRecord, encodeRecord, put, type StoreOp } from '../store/store.ts';

export type ForwardStatus = 'offered' | 'settled' | 'failed' | 'local_failed';

export interface ForwardRecord {
  readonly created_index: number;
  readonly updated_index?: number;
  readonly in_channel: string;
  readonly in_htlc_id: bigint;
  readonly in_msat: Msat;
  readonly status: ForwardStatus;
  /** Seconds since 1970, with fractions, as Core Lightning prints them. */
  readonly received_time: number;
  readonly out_channel?: string;
  readonly out_htlc_id?: bigint;
  readonly out_msat?: Msat;
  readonly fee_msat?: Msat;
  readonly resolved_time?: number;
  /** For local_failed: the BOLT 4 failure code and its name. */
  readonly failcode?: number;
  readonly failreason?: string;
  readonly style: 'tlv';
}

export const FORWARDS_NS = 'forwards';
const VERSION = 1;

export function forwardKey(createdIndex: number): string {
  return String(createdIndex).padStart(12, '0');
}

export function forwardPut(r: ForwardRecord): StoreOp {
  return put(FORWARDS_NS, forwardKey(r.created_index), encodeRecord(VERSION, r));
}

export function forwardFromBytes(b: Uint8Array): ForwardRecord {
  const { v: _v, ...rest } = decodeRecord<ForwardRecord>(b);
  return rest;
}

export function channelLabel(scid: bigint): string {
  return formatShortChannelId(scid);
}

/** `listforwards [status] [in_channel] [out_channel]` filtering. */
export function filterForwards(
  all: readonly ForwardRecord[],
  f: { readonly status?: ForwardStatus; readonly in_channel?: string; readonly out_channel?: string },
): ForwardRecord[] {
  return all.filter(
    (r) =>
      (f.status === undefined || r.status === f.status) &&
      (f.in_channel === undefined || r.in_channel === f.in_channel) &&
      (f.out_channel === undefined || r.out_channel === f.out_channel),
  );
}
