// BOLT 3 Appendix D (per-commitment secret generation and storage), read from the spec unchanged.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  decodeShachain,
  emptyShachain,
  encodeShachain,
  generateFromSeed,
  MAX_SECRET_INDEX,
  perCommitmentSecret,
  type ShachainStore,
  shachainGet,
  shachainGetCommitment,
  shachainInsert,
} from '../../src/bolt03-tx/shachain.ts';
import { hex } from '../../src/core/bytes.ts';
import { appendixD } from './vectors.ts';

const { generation, storage } = appendixD();

test('Appendix D: the expected vectors are all present', () => {
  assert.equal(generation.length, 5);
  assert.equal(storage.length, 9);
  assert.equal(storage.filter((s) => s.steps.some((x) => !x.ok)).length, 8);
});

for (const v of generation) {
  test(`Appendix D generation: ${v.name}`, () => {
    assert.equal(hex(generateFromSeed(v.seed, v.index)), hex(v.output));
  });
}

for (const v of storage) {
  test(`Appendix D storage: ${v.name}`, () => {
    let store: ShachainStore = emptyShachain();
    for (const step of v.steps) {
      const r = shachainInsert(store, step.index, step.secret);
      assert.equal(r.ok, step.ok, `insert at ${step.index}`);
      if (r.ok) store = r.value;
      else assert.equal(r.error.kind, 'inconsistent');
    }
    if (v.steps.every((s) => s.ok)) {
      // Every inserted secret can be read back, from the compact store.
      for (const step of v.steps) assert.equal(hex(shachainGet(store, step.index)!), hex(step.secret));
      assert.equal(shachainGet(store, v.steps[v.steps.length - 1]!.index - 1n), undefined);
    }
  });
}

test('storage: 1000 secrets from a seed; every one derivable, store stays small, round-trips', () => {
  const seed = new Uint8Array(32).fill(7);
  let store = emptyShachain();
  for (let n = 0n; n < 1000n; n++) {
    const r = shachainInsert(store, MAX_SECRET_INDEX - n, perCommitmentSecret(seed, n));
    assert.ok(r.ok);
    store = r.value;
  }
  assert.ok(store.known.filter((k) => k !== undefined).length <= 11);
  for (const n of [0n, 1n, 2n, 511n, 512n, 998n, 999n]) {
    assert.equal(hex(shachainGetCommitment(store, n)!), hex(perCommitmentSecret(seed, n)));
  }
  assert.equal(shachainGetCommitment(store, 1000n), undefined);
  const back = decodeShachain(encodeShachain(store));
  assert.ok(back.ok);
  assert.equal(back.value.nextIndex, store.nextIndex);
  assert.equal(hex(shachainGetCommitment(back.value, 345n)!), hex(perCommitmentSecret(seed, 345n)));
});

test('storage rejects out-of-order, repeated and wrong-length secrets', () => {
  const seed = new Uint8Array(32).fill(1);
  const first = shachainInsert(emptyShachain(), MAX_SECRET_INDEX, generateFromSeed(seed, MAX_SECRET_INDEX));
  assert.ok(first.ok);
  const skip = shachainInsert(
    first.value,
    MAX_SECRET_INDEX - 2n,
    generateFromSeed(seed, MAX_SECRET_INDEX - 2n),
  );
  assert.deepEqual(skip.ok ? 'ok' : skip.error.kind, 'out_of_order');
  const again = shachainInsert(first.value, MAX_SECRET_INDEX, generateFromSeed(seed, MAX_SECRET_INDEX));
  assert.deepEqual(again.ok ? 'ok' : again.error.kind, 'out_of_order');
  const short = shachainInsert(first.value, MAX_SECRET_INDEX - 1n, new Uint8Array(31));
  assert.deepEqual(short.ok ? 'ok' : short.error.kind, 'bad_length');
});

test('property: a secret from another seed is rejected as soon as it can be checked', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 64 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      (badAt, otherSeed) => {
        const seed = new Uint8Array(32).fill(0xab);
        if (otherSeed.every((b) => b === 0xab)) return;
        let store = emptyShachain();
        let rejected = false;
        for (let n = 0n; n < 130n; n++) {
          const idx = MAX_SECRET_INDEX - n;
          const secret = n === BigInt(badAt) ? generateFromSeed(otherSeed, idx) : generateFromSeed(seed, idx);
          const r = shachainInsert(store, idx, secret);
          if (!r.ok) {
            rejected = true;
            // Detected when it or a later secret with more trailing zeros arrives, never before.
            assert.ok(n >= BigInt(badAt));
            break;
          }
          store = r.value;
        }
        assert.ok(rejected);
      },
    ),
    { numRuns: 40 },
  );
});

test('decodeShachain rejects malformed records', () => {
  assert.equal(decodeShachain(new Uint8Array(3)).ok, false);
  const good = encodeShachain(emptyShachain());
  const badVersion = Uint8Array.from(good);
  badVersion[0] = 9;
  assert.equal(decodeShachain(badVersion).ok, false);
  assert.ok(decodeShachain(good).ok);
});

test('fuzz: decodeShachain never throws, and what it accepts re-encodes identically', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, withHeader) => {
      const input = withHeader
        ? Uint8Array.from([1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0, bytes.length % 4, ...bytes])
        : bytes;
      const r = decodeShachain(input);
      if (r.ok) {
        const again = decodeShachain(encodeShachain(r.value));
        assert.ok(again.ok);
        assert.equal(hex(encodeShachain(again.value)), hex(encodeShachain(r.value)));
      }
    }),
    { numRuns: 2000 },
  );
});
