// BOLT 1 BigSize: a big-endian variable-length integer that must be minimally encoded.

export class BigSizeError extends Error {}

export function encodeBigSize(n: bigint): Uint8Array {
  if (n < 0n || n > 0xffff_ffff_ffff_ffffn) throw new RangeError(`bigsize out of range: ${n}`);
  if (n < 0xfdn) return new Uint8Array([Number(n)]);
  if (n <= 0xffffn) return new Uint8Array([0xfd, Number(n >> 8n), Number(n & 0xffn)]);
  if (n <= 0xffff_ffffn) {
    const out = new Uint8Array(5);
    out[0] = 0xfe;
    new DataView(out.buffer).setUint32(1, Number(n), false);
    return out;
  }
  const out = new Uint8Array(9);
  out[0] = 0xff;
  new DataView(out.buffer).setBigUint64(1, n, false);
  return out;
}

/** Returns the value and the number of bytes read; throws BigSizeError on short or non-minimal input. */
export function decodeBigSize(b: Uint8Array, offset = 0): { value: bigint; length: number } {
  if (offset >= b.length) throw new BigSizeError('unexpected EOF');
  const first = b[offset]!;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const need = (n: number) => {
    if (offset + 1 + n > b.length) throw new BigSizeError('unexpected EOF');
  };
  if (first < 0xfd) return { value: BigInt(first), length: 1 };
  if (first === 0xfd) {
    need(2);
    const v = view.getUint16(offset + 1, false);
    if (v < 0xfd) throw new BigSizeError('decoded bigsize is not canonical');
    return { value: BigInt(v), length: 3 };
  }
  if (first === 0xfe) {
    need(4);
    const v = view.getUint32(offset + 1, false);
    if (v < 0x10000) throw new BigSizeError('decoded bigsize is not canonical');
    return { value: BigInt(v), length: 5 };
  }
  need(8);
  const v = view.getBigUint64(offset + 1, false);
  if (v < 0x1_0000_0000n) throw new BigSizeError('decoded bigsize is not canonical');
  return { value: v, length: 9 };
}
