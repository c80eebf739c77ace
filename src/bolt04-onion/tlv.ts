// The BOLT 1 TLV record framing this folder needs (split a stream into records, join records into one),
// plus the tu64/tu32 helpers. A stop-gap until the shared engine of src/bolt01-wire lands: the field
// meanings live in payload.ts / blinding.ts, so switching means replacing this file only.

import { BigSizeError, decodeBigSize, encodeBigSize } from '../core/bigsize.ts';
import { concat } from '../core/bytes.ts';
import { err, ok, type Result } from '../core/result.ts';

export interface TlvRecord {
  readonly type: bigint;
  readonly value: Uint8Array;
  /** Byte offset of the record's type within the stream, for `invalid_onion_payload`. */
  readonly offset: number;
}

export interface TlvError {
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
export function readTlvRecords(b: Uint8Array): Result<TlvRecord[], TlvError> {
  const out: TlvRecord[] = [];
  let offset = 0;
  let last = -1n;
  while (offset < b.length) {
    const start = offset;
    let type: bigint;
    let length: bigint;
    try {
      const t = decodeBigSize(b, offset);
      type = t.value;
      offset += t.length;
    } catch (e) {
      if (e instanceof BigSizeError) return err({ message: `type: ${e.message}`, offset: start, type: null });
      throw e;
    }
    try {
      const l = decodeBigSize(b, offset);
      length = l.value;
      offset += l.length;
    } catch (e) {
      if (e instanceof BigSizeError) return err({ message: `length: ${e.message}`, offset: start, type });
      throw e;
    }
    if (type <= last) return err({ message: 'types not strictly increasing', offset: start, type });
    if (length > BigInt(b.length - offset))
      return err({ message: 'length exceeds stream', offset: start, type });
    const n = Number(length);
    out.push({ type, value: b.subarray(offset, offset + n), offset: start });
    offset += n;
    last = type;
  }
  return ok(out);
}

/** Joins records in increasing type order (throws on duplicates: a programming error). */
export function writeTlvRecords(records: readonly { type: bigint; value: Uint8Array }[]): Uint8Array {
  const sorted = [...records].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  const parts: Uint8Array[] = [];
  for (let i = 0; i < sorted.length; i++) {
    if (i > 0 && sorted[i]!.type === sorted[i - 1]!.type)
      throw new RangeError(`duplicate TLV type ${sorted[i]!.type}`);
    parts.push(
      encodeBigSize(sorted[i]!.type),
      encodeBigSize(BigInt(sorted[i]!.value.length)),
      sorted[i]!.value,
    );
  }
  return concat(...parts);
}

/** Truncated unsigned integer: big-endian, no leading zero bytes (zero is empty). */
export function encodeTu(n: bigint, maxBytes: 4 | 8): Uint8Array {
  if (n < 0n || n >= 1n << BigInt(8 * maxBytes)) throw new RangeError(`tu${8 * maxBytes} out of range: ${n}`);
  const out: number[] = [];
  let v = n;
  while (v > 0n) {
    out.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return new Uint8Array(out);
}

// BOLT #1:
//    - if variable-length fields within the known encoding for `type` are not minimal:
//      - MUST fail to parse the `tlv_stream`.
// (Here: null when too long or not minimal.)
export function decodeTu(b: Uint8Array, maxBytes: 4 | 8): bigint | null {
  if (b.length > maxBytes) return null;
  if (b.length > 0 && b[0] === 0) return null;
  let v = 0n;
  for (const byte of b) v = (v << 8n) | BigInt(byte);
  return v;
}
