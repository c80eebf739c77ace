import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  createErrorPacket,
  decodeErrorPacket,
  wrapErrorPacket,
} from '../../src/bolt04-onion/error-packet.ts';
import {
  decodeFailureMessage,
  encodeFailureMessage,
  FAILURE_CODES,
  type Failure,
  failureFlags,
} from '../../src/bolt04-onion/failure.ts';
import { generateKey, sharedSecretsAlongRoute } from '../../src/bolt04-onion/keys.ts';
import { fromHex, hex } from '../../src/core/bytes.ts';
import { msat } from '../../src/core/units.ts';
import { loadVector } from './vectors.ts';

const v = loadVector('onion-error-test.json');

test('onion-error-test.json: shared secrets, ammag/um keys and the returned packet match', () => {
  const hops = v.generate.hops;
  const keys = sharedSecretsAlongRoute(
    fromHex(v.generate.session_key),
    hops.map((h: { pubkey: string }) => fromHex(h.pubkey)),
  );
  for (const [i, h] of hops.entries()) {
    assert.equal(hex(keys[i]!.sharedSecret), h.hop_shared_secret, `hop ${i} shared secret`);
    assert.equal(hex(generateKey('ammag', keys[i]!.sharedSecret)), h.ammag_key, `hop ${i} ammag`);
    if (h.um_key !== undefined) assert.equal(hex(generateKey('um', keys[i]!.sharedSecret)), h.um_key);
  }
  const last = hops.length - 1;
  const failure = fromHex(v.generate.failure_message);
  // The vector's payload is the packet after the HMAC, before any obfuscation.
  const created = createErrorPacket(keys[last]!.sharedSecret, failure);
  const unwrapped = wrapErrorPacket(keys[last]!.sharedSecret, created);
  assert.equal(hex(unwrapped.subarray(32)), hops[last].payload);
  let packet = created;
  for (let i = last - 1; i >= 0; i--) packet = wrapErrorPacket(keys[i]!.sharedSecret, packet);
  assert.equal(hex(packet), v.errorpacket);

  const decoded = decodeErrorPacket(
    keys.map((k) => k.sharedSecret),
    fromHex(v.errorpacket),
  );
  assert.ok(decoded.ok);
  assert.equal(decoded.value.hopIndex, last);
  assert.equal(hex(decoded.value.failureMessage), v.generate.failure_message);
  assert.ok(decoded.value.failure.ok);
  assert.equal(decoded.value.failure.value.type, 'temporary_node_failure');
});

test('a corrupted error packet is unattributable, never a wrong hop', () => {
  const keys = v.generate.hops.map((h: { hop_shared_secret: string }) => fromHex(h.hop_shared_secret));
  const bad = fromHex(v.errorpacket);
  bad[40]! ^= 1;
  const r = decodeErrorPacket(keys, bad);
  assert.ok(!r.ok && r.error.code === 'unattributable');
  const short = decodeErrorPacket(keys, bad.subarray(0, 20));
  assert.ok(!short.ok && short.error.code === 'too_short');
});

test('every failure code has the flags its name says', () => {
  assert.equal(Object.keys(FAILURE_CODES).length, 22);
  const f = failureFlags(FAILURE_CODES.invalid_onion_hmac);
  assert.deepEqual(f, { badOnion: true, perm: true, node: false, update: false });
  assert.deepEqual(failureFlags(FAILURE_CODES.temporary_channel_failure), {
    badOnion: false,
    perm: false,
    node: false,
    update: true,
  });
  assert.deepEqual(failureFlags(FAILURE_CODES.permanent_node_failure), {
    badOnion: false,
    perm: true,
    node: true,
    update: false,
  });
  assert.equal(FAILURE_CODES.incorrect_or_unknown_payment_details, 0x400f);
  assert.equal(FAILURE_CODES.invalid_onion_blinding, 0xc018);
  assert.equal(FAILURE_CODES.mpp_timeout, 23);
});

const h32 = fromHex('ab'.repeat(32));
const upd = fromHex('0102'.repeat(70));
const samples: Failure[] = [
  { type: 'temporary_node_failure' },
  { type: 'permanent_node_failure' },
  { type: 'required_node_feature_missing' },
  { type: 'invalid_onion_version', sha256OfOnion: h32 },
  { type: 'invalid_onion_hmac', sha256OfOnion: h32 },
  { type: 'invalid_onion_key', sha256OfOnion: h32 },
  { type: 'temporary_channel_failure', channelUpdate: upd },
  { type: 'permanent_channel_failure' },
  { type: 'required_channel_feature_missing' },
  { type: 'unknown_next_peer' },
  { type: 'amount_below_minimum', htlcMsat: msat(1234), channelUpdate: upd },
  { type: 'fee_insufficient', htlcMsat: msat(99), channelUpdate: upd },
  { type: 'incorrect_cltv_expiry', cltvExpiry: 800_000, channelUpdate: upd },
  { type: 'expiry_too_soon', channelUpdate: upd },
  { type: 'incorrect_or_unknown_payment_details', htlcMsat: msat(5000), height: 850_000 },
  { type: 'final_incorrect_cltv_expiry', cltvExpiry: 7 },
  { type: 'final_incorrect_htlc_amount', incomingHtlcAmt: msat(77) },
  { type: 'channel_disabled', disabledFlags: 0, channelUpdate: upd },
  { type: 'expiry_too_far' },
  { type: 'invalid_onion_payload', tlvType: 70000n, offset: 12 },
  { type: 'mpp_timeout' },
  { type: 'invalid_onion_blinding', sha256OfOnion: h32 },
  { type: 'unknown', code: 0x1234, data: fromHex('deadbeef') },
];

test('every failure message round-trips, with and without a TLV extension', () => {
  const names = new Set(samples.map((s) => s.type));
  for (const name of Object.keys(FAILURE_CODES))
    assert.ok(names.has(name as Failure['type']), `sample for ${name}`);
  for (const s of samples) {
    const bytes = encodeFailureMessage(s);
    const d = decodeFailureMessage(bytes);
    assert.ok(d.ok, s.type);
    assert.equal(hex(encodeFailureMessage(d.value)), hex(bytes), s.type);
    assert.equal(d.value.type, s.type);
    if (s.type !== 'unknown') {
      const ext = { ...s, tlvs: fromHex('0102abcdfd01000100') } as Failure;
      const e = decodeFailureMessage(encodeFailureMessage(ext));
      assert.ok(e.ok, `${s.type} with tlvs`);
      assert.equal(hex(e.value.tlvs ?? new Uint8Array(0)), '0102abcdfd01000100');
    }
  }
});

test('truncated data and bad TLV tails are decode errors', () => {
  assert.deepEqual(decodeFailureMessage(new Uint8Array([0x10])), { ok: false, error: { code: 'too_short' } });
  const t = decodeFailureMessage(fromHex('1007000a01'));
  assert.ok(!t.ok && t.error.code === 'truncated');
  const b = decodeFailureMessage(fromHex('2002030500'));
  assert.ok(!b.ok && b.error.code === 'bad_tlv_stream');
  // legacy PERM|15 without data
  const legacy = decodeFailureMessage(fromHex('400f'));
  assert.ok(legacy.ok && legacy.value.type === 'incorrect_or_unknown_payment_details');
});

test('error packets: every hop position is attributed, and long messages are not truncated', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 20 }),
      fc.nat(),
      fc.uint8Array({ minLength: 2, maxLength: 600 }),
      (n, pick, msg) => {
        const secrets = Array.from({ length: n }, (_, i) =>
          generateKey('pad', new Uint8Array(32).fill(i + 7)),
        );
        const at = pick % n;
        let packet = createErrorPacket(secrets[at]!, msg);
        assert.ok(packet.length >= 292);
        for (let i = at - 1; i >= 0; i--) packet = wrapErrorPacket(secrets[i]!, packet);
        const r = decodeErrorPacket(secrets, packet);
        assert.ok(r.ok);
        assert.equal(r.value.hopIndex, at);
        assert.equal(hex(r.value.failureMessage), hex(msg));
      },
    ),
    { numRuns: 60 },
  );
});
