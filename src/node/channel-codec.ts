// JSON for plain data with bytes and big integers (channel events in the outbox, RPC-side records):
// Uint8Array becomes {"$b": hex}, bigint becomes {"$n": decimal}. Anything else must be JSON already
// (no classes, no functions, no undefined inside arrays).
import { fromHex, hex } from '../core/bytes.ts';

/** Plain data: null, booleans, numbers, strings, bigints, Uint8Arrays, arrays and objects of those. */
export type Plain = unknown;

export function encodePlain(value: Plain): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, k: string, v: unknown) {
    // JSON.stringify has already called toJSON on Buffers and bigints fail: look at the raw value.
    const raw = k === '' ? v : this[k];
    if (raw instanceof Uint8Array) return { $b: hex(raw) };
    if (typeof raw === 'bigint') return { $n: raw.toString() };
    return v;
  });
}

export function decodePlain(text: string): Plain {
  return JSON.parse(text, (_k, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length === 1 && typeof o.$b === 'string') return fromHex(o.$b);
      if (keys.length === 1 && typeof o.$n === 'string') return BigInt(o.$n);
    }
    return v;
  });
}
