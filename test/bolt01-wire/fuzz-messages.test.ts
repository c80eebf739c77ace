// Fuzz: decodeMessage and decodeFailureMessage, FUZZ_ITERATIONS inputs each (default 100,000),
// round-robin over every row of the table, half random bytes and half mutated valid encodings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeFailureMessage,
  decodeMessage,
  encodeFailureMessage,
  encodeMessage,
  FAILURE_NAMES,
  failureCodeOf,
  MESSAGE_NAMES,
  messageTypeOf,
} from '../../src/bolt01-wire/index.ts';
import { failure, message } from './arbitraries.ts';
import { fuzz, ITERATIONS, Rng, SEED, samples, type Target } from './fuzz.ts';

const u16 = (n: number) => Uint8Array.of(n >> 8, n & 0xff);

test(`fuzz decodeMessage: ${ITERATIONS} inputs over ${MESSAGE_NAMES.length} message types (seed ${SEED})`, (t) => {
  const targets: Target[] = MESSAGE_NAMES.map((name, i) => ({
    name,
    prefix: u16(messageTypeOf(name)),
    valid: samples(message(name), 12, SEED + i).map((v) => encodeMessage(v as never)),
    decode: decodeMessage,
    encode: (v) => encodeMessage(v as never),
  }));
  const { ok, err } = fuzz(targets, ITERATIONS, SEED);
  t.diagnostic(`${ok} decoded, ${err} rejected with a WireError`);
  assert.equal(ok + err, ITERATIONS);
  assert.ok(ok > 0 && err > 0, 'both outcomes should occur');
});

test(`fuzz decodeMessage on fully random bytes: ${ITERATIONS} inputs (seed ${SEED})`, (t) => {
  const rng = new Rng(SEED ^ 0xabcdef);
  let unknown = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const input = rng.bytes(rng.int(64));
    const r = decodeMessage(input);
    if (r.ok) assert.deepEqual(encodeMessage(r.value), input);
    else if (r.error.kind === 'unknown_message') {
      unknown++;
      assert.equal(r.error.action, r.error.type % 2 === 1 ? 'ignore' : 'close_connection');
    }
  }
  t.diagnostic(`${unknown} unknown message types`);
  assert.ok(unknown > 0);
});

test(`fuzz decodeFailureMessage: ${ITERATIONS} inputs over ${FAILURE_NAMES.length} codes (seed ${SEED})`, (t) => {
  const targets: Target[] = FAILURE_NAMES.map((name, i) => ({
    name,
    prefix: u16(failureCodeOf(name)),
    valid: samples(failure(name), 12, SEED + i).map((v) => encodeFailureMessage(v as never)),
    decode: decodeFailureMessage,
    encode: (v) => encodeFailureMessage(v as never),
  }));
  const { ok, err } = fuzz(targets, ITERATIONS, SEED + 1);
  t.diagnostic(`${ok} decoded, ${err} rejected with a WireError`);
  assert.equal(ok + err, ITERATIONS);
  assert.ok(ok > 0 && err > 0);
});
