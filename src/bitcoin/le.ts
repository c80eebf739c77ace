// Little-endian integer encodings for Bitcoin serialization (core/bytes.ts has the big-endian ones).
// Internal to src/bitcoin: not re-exported from index.ts.

export function u32le(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0, true);
  return out;
}

export function u64le(n: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, n), true);
  return out;
}
