// Fuzz: decodeTlvStream, decodeSubtype and decodeFundamental, FUZZ_ITERATIONS inputs each (default
// 100,000), round-robin over every stream / subtype / fundamental type.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeFundamental,
  decodeSubtype,
  decodeTlvStream,
  encodeFundamental,
  encodeSubtype,
  encodeTlvStream,
  FUNDAMENTAL_TYPES,
  type FundamentalType,
  STREAM_NAMES,
  SUBTYPE_NAMES,
} from '../../src/bolt01-wire/index.ts';
import { stream, subtype } from './arbitraries.ts';
import { fuzz, ITERATIONS, SEED, samples, type Target } from './fuzz.ts';

const none = new Uint8Array(0);

test(`fuzz decodeTlvStream: ${ITERATIONS} inputs over ${STREAM_NAMES.length} streams (seed ${SEED})`, (t) => {
  const targets: Target[] = STREAM_NAMES.map((name, i) => ({
    name,
    prefix: none,
    valid: samples(stream(name), 12, SEED + i).map((v) => encodeTlvStream(name, v as never)),
    decode: (b) => decodeTlvStream(name, b),
    encode: (v) => encodeTlvStream(name, v as never),
  }));
  const { ok, err } = fuzz(targets, ITERATIONS, SEED + 2);
  t.diagnostic(`${ok} decoded, ${err} rejected with a WireError`);
  assert.equal(ok + err, ITERATIONS);
  assert.ok(ok > 0 && err > 0);
});

test(`fuzz decodeSubtype: ${ITERATIONS} inputs over ${SUBTYPE_NAMES.length} subtypes (seed ${SEED})`, (t) => {
  const targets: Target[] = SUBTYPE_NAMES.map((name, i) => ({
    name,
    prefix: none,
    valid: samples(subtype(name), 12, SEED + i).map((v) => encodeSubtype(name, v as never)),
    decode: (b) => decodeSubtype(name, b),
    encode: (v) => encodeSubtype(name, v as never),
  }));
  const { ok, err } = fuzz(targets, ITERATIONS, SEED + 3);
  t.diagnostic(`${ok} decoded, ${err} rejected with a WireError`);
  assert.equal(ok + err, ITERATIONS);
  assert.ok(ok > 0 && err > 0);
});

test(`fuzz decodeFundamental: ${ITERATIONS} inputs over every fundamental type (seed ${SEED})`, (t) => {
  const types: readonly FundamentalType[] = FUNDAMENTAL_TYPES;
  const targets: Target[] = types.map((type) => ({
    name: type,
    prefix: none,
    valid: [],
    decode: (b) => decodeFundamental(type, b),
    encode: (v) => encodeFundamental(type, v as never),
  }));
  const { ok, err } = fuzz(targets, ITERATIONS, SEED + 4);
  t.diagnostic(`${ok} decoded, ${err} rejected with a WireError`);
  assert.equal(ok + err, ITERATIONS);
});
