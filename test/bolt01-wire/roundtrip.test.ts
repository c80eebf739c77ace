// Property round-trips for EVERY message, failure message, subtype and TLV stream in the table:
// decode(encode(v)) == v, and encode(decode(bytes)) == bytes (the encoding is canonical).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  decodeFailureMessage,
  decodeMessage,
  decodeSubtype,
  decodeTlvStream,
  encodeFailureMessage,
  encodeMessage,
  encodeSubtype,
  encodeTlvStream,
  FAILURE_NAMES,
  MESSAGE_NAMES,
  STREAM_NAMES,
  SUBTYPE_NAMES,
} from '../../src/bolt01-wire/index.ts';
import { failure, message, stream, subtype } from './arbitraries.ts';

const RUNS = 40;

test(`round-trip every message in the table (${MESSAGE_NAMES.length} messages)`, () => {
  assert.ok(MESSAGE_NAMES.length >= 45);
  for (const name of MESSAGE_NAMES) {
    fc.assert(
      fc.property(message(name), (value) => {
        const bytes = encodeMessage(value as never);
        const back = decodeMessage(bytes);
        assert.ok(back.ok, `${name}: ${back.ok ? '' : back.error.kind}`);
        assert.deepStrictEqual(back.value, value);
        assert.deepStrictEqual(encodeMessage(back.value), bytes);
      }),
      { numRuns: RUNS },
    );
  }
});

test(`round-trip every failure message (${FAILURE_NAMES.length} codes)`, () => {
  assert.ok(FAILURE_NAMES.length >= 22);
  for (const name of FAILURE_NAMES) {
    fc.assert(
      fc.property(failure(name), (value) => {
        const bytes = encodeFailureMessage(value as never);
        const back = decodeFailureMessage(bytes);
        assert.ok(back.ok, `${name}: ${back.ok ? '' : back.error.kind}`);
        assert.deepStrictEqual(back.value, value);
      }),
      { numRuns: RUNS },
    );
  }
});

test(`round-trip every TLV stream (${STREAM_NAMES.length} streams)`, () => {
  for (const name of STREAM_NAMES) {
    fc.assert(
      fc.property(stream(name), (value) => {
        const bytes = encodeTlvStream(name, value as never);
        const back = decodeTlvStream(name, bytes);
        assert.ok(back.ok, `${name}: ${back.ok ? '' : back.error.kind}`);
        assert.deepStrictEqual(back.value, value);
        assert.deepStrictEqual(encodeTlvStream(name, back.value), bytes);
      }),
      { numRuns: RUNS },
    );
  }
});

test(`round-trip every subtype (${SUBTYPE_NAMES.length} subtypes)`, () => {
  for (const name of SUBTYPE_NAMES) {
    fc.assert(
      fc.property(subtype(name), (value) => {
        const bytes = encodeSubtype(name, value as never);
        const back = decodeSubtype(name, bytes);
        assert.ok(back.ok, `${name}: ${back.ok ? '' : back.error.kind}`);
        assert.deepStrictEqual(back.value, value);
      }),
      { numRuns: RUNS },
    );
  }
});
