// Property and fuzz tests for the transaction codec in src/bitcoin/tx.ts.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  parseTx,
  serializeTx,
  type Transaction,
  TxParseError,
  txid,
  vsize,
  weight,
  wtxid,
} from '../../src/bitcoin/tx.ts';
import { hex } from '../../src/core/bytes.ts';
import type { Sat } from '../../src/core/units.ts';

const bytes = (max: number) => fc.uint8Array({ maxLength: max });
const arbTx: fc.Arbitrary<Transaction> = fc.record({
  version: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  locktime: fc.nat({ max: 0xffffffff }),
  inputs: fc.array(
    fc.record({
      prevout: fc.record({
        txid: fc.uint8Array({ minLength: 32, maxLength: 32 }),
        vout: fc.nat({ max: 0xffffffff }),
      }),
      scriptSig: bytes(120),
      sequence: fc.nat({ max: 0xffffffff }),
      witness: fc.array(bytes(80), { maxLength: 4 }),
    }),
    { minLength: 1, maxLength: 4 },
  ),
  outputs: fc.array(
    fc.record({ value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => v as Sat), script: bytes(60) }),
    { maxLength: 4 },
  ),
});

test('tx codec: serialize then parse is the identity; weight and ids are consistent', () => {
  fc.assert(
    fc.property(arbTx, (tx) => {
      const raw = serializeTx(tx);
      const back = parseTx(raw);
      assert.equal(hex(serializeTx(back)), hex(raw));
      assert.deepEqual(
        back.inputs.map((i) => i.witness.map(hex)),
        tx.inputs.map((i) => i.witness.map(hex)),
      );
      assert.equal(hex(txid(back)), hex(txid(tx)));
      const hasWitness = tx.inputs.some((i) => i.witness.length > 0);
      assert.equal(hex(wtxid(tx)) === hex(txid(tx)), !hasWitness);
      assert.equal(weight(tx), serializeTx(tx, false).length * 3 + raw.length);
      assert.equal(vsize(tx), Math.ceil(weight(tx) / 4));
    }),
    { numRuns: 300 },
  );
});

test('tx parser fuzz: random or mutated bytes give a transaction or a TxParseError, nothing else', () => {
  const seeds = fc.sample(arbTx, { numRuns: 50, seed: 7 }).map((t) => serializeTx(t));
  let parsed = 0;
  let rejected = 0;
  fc.assert(
    fc.property(
      fc.oneof(
        bytes(300),
        fc
          .tuple(fc.constantFrom(...seeds), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean())
          .map(([s, at, v, cut]) => {
            const m = Uint8Array.from(s);
            const i = at % m.length;
            m[i] = v;
            return cut ? m.subarray(0, i) : m;
          }),
      ),
      (b) => {
        try {
          const tx = parseTx(b);
          // Anything accepted re-serializes to the same bytes (the encoding is canonical).
          assert.equal(hex(serializeTx(tx)), hex(b));
          parsed++;
        } catch (e) {
          assert.ok(e instanceof TxParseError, `unexpected ${(e as Error).name}: ${(e as Error).message}`);
          rejected++;
        }
      },
    ),
    { numRuns: 10000 },
  );
  console.log(`tx parser fuzz: ${parsed} parsed, ${rejected} rejected with TxParseError`);
  assert.ok(parsed > 0 && rejected > 0);
});
