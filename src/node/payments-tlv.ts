// Raw TLV records of an onion payload: keysend's preimage record is even, which the payload codec
// rightly refuses as unknown, so the payer adds it and the payee takes it out at this level. The
// framing itself is src/routing/tlv-records.ts; this keeps the node's small record shape.
import { encodeBigSize } from '../core/bigsize.ts';
import { concat } from '../core/bytes.ts';
import { readRawTlvRecords, writeRawTlvRecords } from '../routing/tlv-records.ts';

/** Adds TLV records to an encoded payload, keeping type order (keysend's even record included). */
export function appendTlvs(payload: Uint8Array, extra: { type: bigint; value: Uint8Array }[]): Uint8Array {
  return writeRawTlvRecords([...(readTlv(payload) ?? []), ...extra]);
}

/** Reads a TLV stream; null if it is truncated, not minimal, or its types are not strictly increasing. */
export function readTlv(b: Uint8Array): { type: bigint; value: Uint8Array }[] | null {
  const r = readRawTlvRecords(b);
  return r.ok ? r.value.map((x) => ({ type: x.type, value: x.value.slice() })) : null;
}

/** Encodes records in the order given (callers keep them sorted; tests also write unordered streams). */
export function writeTlv(recs: readonly { type: bigint; value: Uint8Array }[]): Uint8Array {
  return concat(
    ...recs.flatMap((r) => [encodeBigSize(r.type), encodeBigSize(BigInt(r.value.length)), r.value]),
  );
}
