// BOLT 4 TLV payloads from ../shared/spec/bolts/bolt04/*.json through the generic engine: hop payloads
// (`payload` stream) and route blinding `encrypted_data_tlv`, compared field by field and re-encoded.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  decodeFailureMessage,
  decodeTlvStream,
  encodeFailureMessage,
  encodeTlvStream,
  parseScid,
  type StreamName,
} from '../../src/bolt01-wire/index.ts';
import { Features } from '../../src/bolt09-features/index.ts';
import { decodeBigSize } from '../../src/core/bigsize.ts';
import { fromHex, hex } from '../../src/core/bytes.ts';
import { specPath } from '../../src/testing/spec.ts';

const load = (name: string) => JSON.parse(readFileSync(specPath('bolts', 'bolt04', name), 'utf8'));

/** A hop payload is a bigsize length followed by that many bytes of TLV stream. */
function hopTlvs(payloadHex: string): Uint8Array {
  const b = fromHex(payloadHex);
  const { value, length } = decodeBigSize(b, 0);
  assert.equal(Number(value), b.length - length, 'length prefix covers the payload');
  return b.subarray(length);
}

function sameValue(actual: unknown, expected: unknown, where: string): void {
  if (typeof expected === 'string' && /^\d+x\d+x\d+$/.test(expected)) {
    const scid = parseScid(expected);
    assert.ok(scid.ok && actual === scid.value, `${where}: scid ${expected}`);
  } else if (typeof expected === 'string') {
    assert.ok(actual instanceof Uint8Array, `${where}: expected bytes`);
    assert.equal(hex(actual), expected, where);
  } else if (Array.isArray(expected)) {
    // allowed_features is written as a list of feature bits.
    assert.ok(actual instanceof Uint8Array, `${where}: expected bytes`);
    assert.deepEqual(Features.fromBytes(actual).bits(), expected, where);
  } else if (typeof expected === 'number') {
    assert.equal(BigInt(actual as number | bigint), BigInt(expected), where);
  } else {
    assert.fail(`${where}: unexpected vector value ${JSON.stringify(expected)}`);
  }
}

/** Compares a vector's `tlvs` object (record -> value or record -> {field: value}) with a decoded stream. */
function compare(
  stream: StreamName,
  decoded: Record<string, unknown>,
  tlvs: Record<string, unknown>,
): number {
  let checked = 0;
  for (const [name, want] of Object.entries(tlvs)) {
    const unknown = /^unknown_tag_(\d+)$/.exec(name);
    if (unknown) {
      const list = (decoded.unknown ?? []) as { type: bigint }[];
      assert.ok(
        list.some((u) => u.type === BigInt(unknown[1]!)),
        `${stream}: unknown ${unknown[1]} kept`,
      );
      checked++;
      continue;
    }
    // Vectors name a few records by their field or an older name; map them to the spec's record names.
    const recordName = name === 'outgoing_channel_id' ? 'short_channel_id' : name;
    const record = decoded[recordName] as Record<string, unknown> | undefined;
    assert.ok(record, `${stream}: record ${recordName} missing`);
    if (typeof want === 'object' && want !== null && recordName !== 'encrypted_recipient_data') {
      for (const [field, v] of Object.entries(want))
        sameValue(record[field], v, `${stream}.${name}.${field}`);
    } else if (recordName !== 'encrypted_recipient_data') {
      const fields = Object.values(record);
      assert.equal(fields.length, 1, `${stream}.${name}: single-field record`);
      sameValue(fields[0], want, `${stream}.${name}`);
    }
    checked++;
  }
  return checked;
}

/** Decodes `bytes` as `stream`, compares with the vector's `tlvs`, and checks the re-encoding is exact. */
function decodeCompareReencode(
  stream: 'payload' | 'encrypted_data_tlv',
  bytes: Uint8Array,
  tlvs: Record<string, unknown>,
): number {
  const r = decodeTlvStream(stream, bytes);
  assert.ok(r.ok, hex(bytes));
  const checked = compare(stream, r.value as Record<string, unknown>, tlvs);
  assert.equal(hex(encodeTlvStream(stream, r.value as never)), hex(bytes));
  return checked;
}

test('BOLT 4 onion-test.json: every hop payload decodes as a `payload` stream and re-encodes', () => {
  const v = load('onion-test.json');
  const hops = v.generate.hops as { payload: string }[];
  assert.equal(hops.length, 5);
  for (const h of hops) {
    const tlvs = hopTlvs(h.payload);
    const r = decodeTlvStream('payload', tlvs);
    assert.ok(r.ok, h.payload);
    assert.equal(hex(encodeTlvStream('payload', r.value)), hex(tlvs));
  }
});

test('BOLT 4 blinded-payment-onion-test.json: full_route payloads', () => {
  const v = load('blinded-payment-onion-test.json');
  const hops = v.generate.full_route.hops as { payload: string; tlvs: Record<string, unknown> }[];
  assert.ok(hops.length >= 3);
  let checked = 0;
  for (const h of hops) {
    const tlvs = hopTlvs(h.payload);
    checked += decodeCompareReencode('payload', tlvs, h.tlvs);
  }
  assert.ok(checked >= 8);
});

test('BOLT 4 route-blinding-test.json: encrypted_data_tlv plaintexts', () => {
  const v = load('route-blinding-test.json');
  const hops = v.generate.hops as { encoded_tlvs: string; tlvs: Record<string, unknown> }[];
  assert.ok(hops.length >= 4);
  let checked = 0;
  for (const h of hops) {
    const bytes = fromHex(h.encoded_tlvs);
    checked += decodeCompareReencode('encrypted_data_tlv', bytes, h.tlvs);
  }
  assert.ok(checked >= 12);
});

test('BOLT 4 onion-error-test.json: the failure message decodes', () => {
  const v = load('onion-error-test.json');
  const bytes = fromHex(v.generate.failure_message as string);
  const r = decodeFailureMessage(bytes);
  assert.deepEqual(r, { ok: true, value: { failure: 'temporary_node_failure', tlvs: {} } });
  assert.equal(hex(encodeFailureMessage(r.ok ? r.value : (undefined as never))), hex(bytes));
});
