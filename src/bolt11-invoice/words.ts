// 5-bit word helpers. BOLT 11 packs everything as big-endian bit strings cut into 5-bit "field
// elements"; these convert between words, bytes and unsigned integers with explicit padding rules.

/** The bech32 alphabet: index = word value. Tag letters are read from it too. */
export const BECH32_ALPHABET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

/**
 * Regroups a big-endian bit string from `from`-bit units into `to`-bit units (5 <-> 8). With `pad`, a
 * last partial unit is zero-filled on the right; either way the unused trailing bits are returned so a
 * strict reader can check them.
 */
function regroup(
  input: Uint8Array,
  from: number,
  to: number,
  pad: boolean,
): { out: Uint8Array; rest: number; restBits: number } {
  const totalBits = input.length * from;
  const out = new Uint8Array(pad ? Math.ceil(totalBits / to) : Math.floor(totalBits / to));
  const mask = (1 << to) - 1;
  let acc = 0;
  let bits = 0;
  let j = 0;
  for (const v of input) {
    acc = ((acc << from) | v) & 0xfff;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out[j++] = (acc >>> bits) & mask;
    }
  }
  if (pad && bits > 0) out[j] = (acc << (to - bits)) & mask;
  return { out, rest: acc & ((1 << bits) - 1), restBits: bits };
}

/** Bytes to words, zero-padding the last word (a writer's "MUST pad field data to a multiple of 5 bits"). */
export function bytesToWords(bytes: Uint8Array): Uint8Array {
  return regroup(bytes, 8, 5, true).out;
}

/**
 * Words to bytes, zero-padding the bit string up to a byte boundary. This is how the signed message
 * is formed ("with 0 bits appended to pad to a byte boundary").
 */
export function wordsToBytesPadded(words: Uint8Array): Uint8Array {
  return regroup(words, 5, 8, true).out;
}

/**
 * Words to bytes for a field that carries whole bytes: the trailing bits that do not fill a byte are
 * the writer's padding and must be zero and shorter than one word. Returns undefined otherwise.
 */
export function wordsToBytesStrict(words: Uint8Array): Uint8Array | undefined {
  if ((words.length * 5) % 8 >= 5) return undefined; // a whole word of padding: not what a writer produces
  const r = regroup(words, 5, 8, false);
  return r.rest === 0 ? r.out : undefined;
}

/** Big-endian unsigned value of a word string. */
export function wordsToUint(words: Uint8Array): bigint {
  let v = 0n;
  for (const w of words) v = (v << 5n) | BigInt(w);
  return v;
}

/** Minimal big-endian words for a value: no leading zero words; zero is one zero word. */
export function uintToWords(value: bigint): Uint8Array {
  if (value < 0n) throw new RangeError('negative value');
  if (value === 0n) return new Uint8Array([0]);
  const out: number[] = [];
  let v = value;
  while (v > 0n) {
    out.push(Number(v & 31n));
    v >>= 5n;
  }
  return Uint8Array.from(out.reverse());
}

/** Fixed-width big-endian words (the 35-bit timestamp is 7 words). */
export function uintToWordsFixed(value: bigint, count: number): Uint8Array {
  const out = new Uint8Array(count);
  let v = value;
  for (let i = count - 1; i >= 0; i--) {
    out[i] = Number(v & 31n);
    v >>= 5n;
  }
  return out;
}

/** BOLT 11's minimality rule for `c`, `x` and `9`: more than one word and a leading zero word. */
export function isNonMinimal(words: Uint8Array): boolean {
  return words.length > 1 && words[0] === 0;
}
