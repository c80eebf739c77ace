// The Store seam: namespaced key/value records, atomic batches, durable when a batch returns.
// Records are versioned by their owners (DESIGN.md rule 9); the store only keeps bytes.
import { decodePlainBinary, encodePlainBinary } from '../core/plain-binary.ts';

export type StoreOp =
  | { readonly kind: 'put'; readonly ns: string; readonly key: string; readonly value: Uint8Array }
  | { readonly kind: 'delete'; readonly ns: string; readonly key: string };

export interface Store {
  get(ns: string, key: string): Uint8Array | undefined;
  /** Every record of a namespace, ordered by key. */
  list(ns: string): { key: string; value: Uint8Array }[];
  /** Applies all ops or none; durable (fsynced) before it returns. */
  batch(ops: readonly StoreOp[]): void;
  close(): void;
}

export const put = (ns: string, key: string, value: Uint8Array): StoreOp => ({ kind: 'put', ns, key, value });
export const del = (ns: string, key: string): StoreOp => ({ kind: 'delete', ns, key });

/** JSON records with a version and room for fields a newer version adds (the extensible tail). */
export function encodeRecord(version: number, body: object): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({ v: version, ...body }, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)),
  );
}

/**
 * The same envelope in the binary plain-data format: bytes stay bytes, bigints stay bigints, undefined
 * survives, and nothing is turned into text. For hot records (channel states, outbox events).
 */
export function encodeBinaryRecord(version: number, body: object): Uint8Array {
  return encodePlainBinary({ v: version, ...body });
}

/** The first byte of a JSON record; a binary record starts with the object tag, never this. */
const JSON_OPEN_BRACE = 0x7b;

/** Reads either kind of record; throws an Error naming the problem when the bytes are neither. */
export function decodeRecord<T>(bytes: Uint8Array): { v: number } & T {
  if (bytes[0] !== JSON_OPEN_BRACE) {
    const r = decodePlainBinary(bytes);
    if (!r.ok) throw new Error(`bad record: ${r.error}`);
    const rec = r.value as { v?: unknown } | null;
    if (rec === null || typeof rec !== 'object' || typeof rec.v !== 'number')
      throw new Error('bad record: no version');
    return rec as { v: number } & T;
  }
  return JSON.parse(new TextDecoder().decode(bytes), (_k, v) =>
    typeof v === 'string' && /^-?\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v,
  );
}
