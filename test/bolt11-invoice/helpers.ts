// Test helpers: hand-built invoices (any words, valid signature) to reach each decoder error.
import { bech32 } from '@scure/base';
import { bytesToWords, uintToWordsFixed, wordsToBytesPadded } from '../../src/bolt11-invoice/index.ts';
import { concat, fromHex, utf8 } from '../../src/core/bytes.ts';
import { ecdsaSign, sha256 } from '../../src/crypto/index.ts';

export const KEY = fromHex('e126f68f7eafcc8b74f54d269fe206be715000f94dac067d1c04a8ca3b2db734');
export const HASH = fromHex('0001020304050607080900010203040506070809000102030405060708090102');
export const SECRET = new Uint8Array(32).fill(0x11);

export type RawField = readonly [tag: number, words: Uint8Array];

export const P: RawField = [1, bytesToWords(HASH)];
export const S: RawField = [16, bytesToWords(SECRET)];
export const D = (text: string): RawField => [13, bytesToWords(utf8(text))];

/** Encodes fields exactly as given and signs them (optionally overriding signature bytes). */
export function rawInvoice(
  hrp: string,
  fields: readonly RawField[],
  opts: {
    timestamp?: number;
    key?: Uint8Array;
    sig?: (compact: Uint8Array, recid: number) => Uint8Array;
  } = {},
): string {
  const parts: Uint8Array[] = [uintToWordsFixed(BigInt(opts.timestamp ?? 1496314658), 7)];
  for (const [tag, words] of fields)
    parts.push(Uint8Array.of(tag, words.length >> 5, words.length & 31), words);
  const data = concat(...parts);
  const digest = sha256(utf8(hrp), wordsToBytesPadded(data));
  const s = ecdsaSign(digest, opts.key ?? KEY);
  const sig65 = opts.sig ? opts.sig(s.compact, s.recid) : concat(s.compact, Uint8Array.of(s.recid));
  return bech32.encode(hrp, Array.from(concat(data, bytesToWords(sig65))), false);
}

/** Deterministic PRNG for fuzzing (xorshift32), so failures reproduce. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}
