// Raw TLV records of an onion payload: keysend's preimage record is even, which the payload codec
// rightly refuses as unknown, so the payer adds it and the payee takes it out at this level.
import { decodeBigSize, encodeBigSize } from '../core/bigsize.ts';

/** Adds TLV records to an encoded payload, keeping type order (keysend's even record included). */
export function appendTlvs(payload: Uint8Array, extra: { type: bigint; value: Uint8Array }[]): Uint8Array {
  const recs = readTlv(payload) ?? [];
  for (const e of extra) recs.push(e);
  recs.sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  const parts: number[] = [];
  for (const r of recs) {
    parts.push(...encodeBigSize(r.type), ...encodeBigSize(BigInt(r.value.length)), ...r.value);
  }
  return Uint8Array.from(parts);
}

/** Reads a TLV stream; null if it is truncated or its types are not strictly increasing. */
export function readTlv(b: Uint8Array): { type: bigint; value: Uint8Array }[] | null {
  const out: { type: bigint; value: Uint8Array }[] = [];
  let i = 0;
  const rd = (): bigint | null => {
    try {
      const r = decodeBigSize(b, i);
      i += r.length;
      return r.value;
    } catch {
      return null;
    }
  };
  while (i < b.length) {
    const type = rd();
    const len = rd();
    if (type === null || len === null || i + Number(len) > b.length) return null;
    if (out.length > 0 && out[out.length - 1]!.type >= type) return null;
    out.push({ type, value: b.slice(i, i + Number(len)) });
    i += Number(len);
  }
  return out;
}

/** Encodes records (already sorted by type). */
export function writeTlv(recs: readonly { type: bigint; value: Uint8Array }[]): Uint8Array {
  const parts: number[] = [];
  for (const r of recs)
    parts.push(...encodeBigSize(r.type), ...encodeBigSize(BigInt(r.value.length)), ...r.value);
  return Uint8Array.from(parts);
}
