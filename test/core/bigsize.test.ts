// BOLT 1 Appendix A: BigSize decoding and encoding vectors, read from the spec markdown.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { BigSizeError, decodeBigSize, encodeBigSize } from '../../src/core/bigsize.ts';
import { fromHex, hex } from '../../src/core/bytes.ts';
import { readBolt } from '../../src/testing/spec.ts';

type Vector = { name: string; value: number | string; bytes: string; exp_error?: string };

function appendixJson(section: string): Vector[] {
  const md = readBolt('01-messaging.md');
  const start = md.indexOf(section);
  assert.ok(start >= 0, `section ${section} not found`);
  const block = /```json\n([\s\S]*?)```/.exec(md.slice(start));
  assert.ok(block, 'json block not found');
  // The spec writes 64-bit values as bare numbers; keep them exact by quoting before parsing.
  return JSON.parse(block[1]!.replace(/"value": (\d+)/g, '"value": "$1"')) as Vector[];
}

test('BOLT 1 Appendix A: BigSize decoding tests', () => {
  const vectors = appendixJson('BigSize Decoding Tests');
  assert.ok(vectors.length >= 10);
  for (const v of vectors) {
    if (v.exp_error) {
      assert.throws(() => decodeBigSize(fromHex(v.bytes)), BigSizeError, v.name);
    } else {
      const { value, length } = decodeBigSize(fromHex(v.bytes));
      assert.equal(value, BigInt(v.value), v.name);
      assert.equal(length, v.bytes.length / 2, v.name);
    }
  }
});

test('BOLT 1 Appendix A: BigSize encoding tests', () => {
  const vectors = appendixJson('BigSize Encoding Tests');
  assert.ok(vectors.length >= 5);
  for (const v of vectors) assert.equal(hex(encodeBigSize(BigInt(v.value))), v.bytes, v.name);
});

test('bigsize round-trips every u64', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (n) => {
      const enc = encodeBigSize(n);
      assert.deepEqual(decodeBigSize(enc), { value: n, length: enc.length });
    }),
  );
});
