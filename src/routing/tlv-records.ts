// Raw TLV record framing for the payment paths that handle records the shared wire codec must refuse:
// keysend's preimage record (type 5482373484) is EVEN, and src/bolt01-wire's decodeTlvStream rightly
// fails on unknown even types. Splitting a stream into records here lets the sender add such a record
// and the receiver take it out before the normal payload decoder sees the rest. No field meanings here.

import { BigSizeError, decodeBigSize, encodeBigSize } from '../core/bigsize.ts';
import { concat } from '../core/bytes.ts';
import { err, ok, type Result } from '../core/result.ts';

export interface RawTlvRecord {
  readonly type: bigint;
  readonly value: Uint8Array;
  /** Byte offset of the record's type within the stream, for `invalid_onion_payload`. */
  readonly offset: number;
}

export interface RawTlvError {
  readonly message: string;
  readonly offset: number;
  /** The type being read when it failed, if known. */
  readonly type: bigint | null;
}

// BOLT #1:
// The receiving node:
//  - if zero bytes remain before parsing a `type`:
//    - MUST stop parsing the `tlv_stream`.
//  - if a `type` or `length` is not minimally encoded:
//    - MUST fail to parse the `tlv_stream`.
//  - if decoded `type`s are not strictly-increasing (including situations when
//    two or more occurrences of the same `type` are met):
//    - MUST fail to parse the `tlv_stream`.
//  - if `length` exceeds the number of bytes remaining in the message:
//    - MUST fail to parse the `tlv_stream`.
export function readRawTlvRecords(b: Uint8Array): Result<RawTlvRecord[], RawTlvError> {
  const out: RawTlvRecord[] = [];
  let pos = 0;
  let prev = -1n;
  while (pos < b.length) {
    const start = pos;
    let type: bigint | null = null;
    let length: bigint;
    try {
      const t = decodeBigSize(b, pos);
      type = t.value;
      pos += t.length;
      const l = decodeBigSize(b, pos);
      length = l.value;
      pos += l.length;
    } catch (e) {
      if (!(e instanceof BigSizeError)) throw e;
      return err({ message: `${type === null ? 'type' : 'length'}: ${e.message}`, offset: start, type });
    }
    if (type <= prev) return err({ message: 'types not strictly increasing', offset: start, type });
    if (length > BigInt(b.length - pos))
      return err({ message: 'length exceeds stream', offset: start, type });
    const n = Number(length);
    out.push({ type, value: b.subarray(pos, pos + n), offset: start });
    pos += n;
    prev = type;
  }
  return ok(out);
}

/** Joins records in increasing type order; a duplicate type is a programming error and throws. */
export function writeRawTlvRecords(records: readonly { type: bigint; value: Uint8Array }[]): Uint8Array {
  const sorted = [...records].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  const parts: Uint8Array[] = [];
  let prev: bigint | null = null;
  for (const r of sorted) {
    if (prev !== null && r.type === prev) throw new RangeError(`duplicate TLV type ${r.type}`);
    prev = r.type;
    parts.push(encodeBigSize(r.type), encodeBigSize(BigInt(r.value.length)), r.value);
  }
  return concat(...parts);
}

/**
 * Merges extra records into an encoded payload, in type order. An extra record whose type the payload
 * already has is a programming error and throws; so does a payload that does not parse.
 */
export function appendTlvRecords(
  payload: Uint8Array,
  extra: readonly { type: bigint; value: Uint8Array }[],
): Uint8Array {
  const base = readRawTlvRecords(payload);
  if (!base.ok) throw new Error(`own payload does not parse: ${base.error.message}`);
  const known = new Set(base.value.map((r) => r.type));
  for (const e of extra) {
    if (known.has(e.type)) throw new RangeError(`extra record ${e.type} clashes with a payload field`);
    known.add(e.type);
  }
  return writeRawTlvRecords([...base.value, ...extra]);
}
