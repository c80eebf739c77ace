// BOLT 12 offers-test.json through the generic engine's `offer` TLV stream: valid offers decode to the
// listed fields and re-encode exactly; offers marked "Malformed:" (wire-level faults) are refused.
// Vectors that are invalid for BOLT 12 semantic reasons (missing fields, zero amounts, unknown features,
// bech32 padding) belong to the BOLT 12 reader; they are counted and reported, not checked here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { decodeTlvStream, encodeTlvStream } from '../../src/bolt01-wire/index.ts';
import { decodeBigSize } from '../../src/core/bigsize.ts';
import { hex } from '../../src/core/bytes.ts';
import { specPath } from '../../src/testing/spec.ts';

type Vector = {
  description: string;
  valid: boolean;
  bolt12: string;
  fields?: { type: number; length: number; hex: string }[];
};
const vectors = JSON.parse(readFileSync(specPath('bolts', 'bolt12', 'offers-test.json'), 'utf8')) as Vector[];

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

/** BOLT 12 strings are bech32 without a checksum, optionally split with `+`. Null if not decodable. */
function offerBytes(text: string): Uint8Array | null {
  const s = text.replace(/\+\s*/g, '').toLowerCase();
  if (!s.startsWith('lno1')) return null;
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const ch of s.slice(4)) {
    const v = CHARSET.indexOf(ch);
    if (v < 0) return null;
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
    acc &= (1 << bits) - 1;
  }
  if (bits >= 5 || acc !== 0) return null;
  return Uint8Array.from(out);
}

/** The raw records of a stream, in order, without interpreting them. */
function records(b: Uint8Array): { type: number; length: number; hex: string }[] {
  const out = [];
  let pos = 0;
  while (pos < b.length) {
    const t = decodeBigSize(b, pos);
    pos += t.length;
    const l = decodeBigSize(b, pos);
    pos += l.length;
    const len = Number(l.value);
    out.push({ type: Number(t.value), length: len, hex: hex(b.subarray(pos, pos + len)) });
    pos += len;
  }
  return out;
}

test('BOLT 12 offers-test.json: offer streams', (t) => {
  let valid = 0;
  let malformed = 0;
  const semantic: string[] = [];
  for (const v of vectors) {
    const bytes = offerBytes(v.bolt12);
    if (v.valid) {
      assert.ok(bytes, v.description);
      const r = decodeTlvStream('offer', bytes);
      assert.ok(r.ok, `${v.description}: ${r.ok ? '' : r.error.kind}`);
      assert.equal(hex(encodeTlvStream('offer', r.value)), hex(bytes), `${v.description}: re-encode`);
      if (v.fields) assert.deepEqual(records(bytes), v.fields, v.description);
      valid++;
    } else if (v.description.startsWith('Malformed:') && bytes) {
      const r = decodeTlvStream('offer', bytes);
      // An empty stream is a valid TLV stream (an empty offer is a BOLT 12 error), and BOLT 4 says a
      // blinded path has at least one hop while the wire format alone allows zero.
      if (bytes.length === 0 || /zero num_hops/.test(v.description)) {
        semantic.push(v.description);
        continue;
      }
      assert.equal(r.ok, false, v.description);
      malformed++;
    } else {
      semantic.push(v.description);
    }
  }
  t.diagnostic(`${valid} valid offers decoded, ${malformed} malformed refused`);
  t.diagnostic(`${semantic.length} left to the BOLT 12 reader: ${semantic.join('; ')}`);
  assert.ok(valid >= 15 && malformed >= 15);
});
