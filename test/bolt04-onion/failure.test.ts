import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  createErrorPacket,
  decodeErrorPacket,
  wrapErrorPacket,
} from '../../src/bolt04-onion/error-packet.ts';
import {
  decodeFailure,
  encodeFailure,
  FAILURE_CODES,
  type FailureInput,
  failureCode,
  failureFlags,
  failureForPeelError,
  failureName,
} from '../../src/bolt04-onion/failure.ts';
import { ecdhWithSecret, generateKey, sharedSecretsAlongRoute } from '../../src/bolt04-onion/keys.ts';
import { peelOnion } from '../../src/bolt04-onion/sphinx.ts';
import { fromHex, hex, readU16be } from '../../src/core/bytes.ts';
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
  assert.equal(decoded.value.failure.value.failure, 'temporary_node_failure');
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
  assert.deepEqual(failureFlags(FAILURE_CODES.invalid_onion_hmac), {
    badonion: true,
    perm: true,
    node: false,
    update: false,
  });
  assert.deepEqual(failureFlags(FAILURE_CODES.temporary_channel_failure), {
    badonion: false,
    perm: false,
    node: false,
    update: true,
  });
  assert.deepEqual(failureFlags(FAILURE_CODES.permanent_node_failure), {
    badonion: false,
    perm: true,
    node: true,
    update: false,
  });
  assert.equal(FAILURE_CODES.incorrect_or_unknown_payment_details, 0x400f);
  assert.equal(FAILURE_CODES.invalid_onion_blinding, 0xc018);
  assert.equal(FAILURE_CODES.mpp_timeout, 23);
  assert.equal(failureName(0x2002), 'temporary_node_failure');
  assert.equal(failureName(0x2099), null);
});

const h32 = fromHex('ab'.repeat(32));
const upd = fromHex('0102'.repeat(70));
const samples: FailureInput[] = [
  { failure: 'temporary_node_failure' },
  { failure: 'permanent_node_failure' },
  { failure: 'required_node_feature_missing' },
  { failure: 'invalid_onion_version', sha256_of_onion: h32 },
  { failure: 'invalid_onion_hmac', sha256_of_onion: h32 },
  { failure: 'invalid_onion_key', sha256_of_onion: h32 },
  { failure: 'temporary_channel_failure', channel_update: upd },
  { failure: 'permanent_channel_failure' },
  { failure: 'required_channel_feature_missing' },
  { failure: 'unknown_next_peer' },
  { failure: 'amount_below_minimum', htlc_msat: msat(1234), channel_update: upd },
  { failure: 'fee_insufficient', htlc_msat: msat(99), channel_update: upd },
  { failure: 'incorrect_cltv_expiry', cltv_expiry: 800_000, channel_update: upd },
  { failure: 'expiry_too_soon', channel_update: upd },
  { failure: 'incorrect_or_unknown_payment_details', htlc_msat: msat(5000), height: 850_000 },
  { failure: 'final_incorrect_cltv_expiry', cltv_expiry: 7 },
  { failure: 'final_incorrect_htlc_amount', incoming_htlc_amt: msat(77) },
  { failure: 'channel_disabled', disabled_flags: 0, channel_update: upd },
  { failure: 'expiry_too_far' },
  { failure: 'invalid_onion_payload', type: 70000n, offset: 12 },
  { failure: 'mpp_timeout' },
  { failure: 'invalid_onion_blinding', sha256_of_onion: h32 },
  { failure: 'unknown', code: 0x1234, data: fromHex('deadbeef') },
];

test('every failure message round-trips (through the shared codec), with and without a TLV extension', () => {
  const names = new Set(samples.map((s) => s.failure));
  for (const name of Object.keys(FAILURE_CODES)) assert.ok(names.has(name as FailureInput['failure']), name);
  for (const s of samples) {
    const bytes = encodeFailure(s);
    assert.equal(readU16be(bytes, 0), failureCode(s));
    const d = decodeFailure(bytes);
    assert.ok(d.ok, s.failure);
    assert.equal(hex(encodeFailure(d.value)), hex(bytes), s.failure);
    assert.equal(d.value.failure, s.failure);
    if (s.failure !== 'unknown') {
      const ext = {
        ...s,
        tlvs: {
          unknown: [
            { type: 1n, value: fromHex('abcd') },
            { type: 257n, value: fromHex('00') },
          ],
        },
      };
      const e = decodeFailure(encodeFailure(ext as FailureInput));
      assert.ok(e.ok, `${s.failure} with tlvs`);
      assert.ok('tlvs' in e.value);
      if ('tlvs' in e.value) assert.equal(e.value.tlvs.unknown?.length, 2);
    }
  }
});

test('truncated data and bad TLV tails are decode errors; unknown codes are values', () => {
  assert.ok(!decodeFailure(new Uint8Array([0x10])).ok);
  assert.ok(!decodeFailure(fromHex('1007000a01')).ok, 'channel_update shorter than its length');
  assert.ok(!decodeFailure(fromHex('2002030500')).ok, 'TLV record overruns');
  assert.ok(!decodeFailure(fromHex('20020200')).ok, 'unknown even TLV');
  const u = decodeFailure(fromHex('1234beef'));
  assert.ok(u.ok && u.value.failure === 'unknown' && u.value.code === 0x1234);
});

test('peel errors map to the message a forwarding node must send', () => {
  const onion = fromHex(loadVector('onion-test.json').onion);
  const bad = onion.slice();
  bad[0] = 1;
  const r = peelOnion(bad, ecdhWithSecret(fromHex('41'.repeat(32))), fromHex('42'.repeat(32)));
  assert.ok(!r.ok);
  const f = failureForPeelError(r.error);
  assert.equal(f.kind, 'malformed');
  if (f.kind === 'malformed') {
    assert.equal(f.failureCode, 0xc004);
    assert.ok(failureFlags(f.failureCode).badonion, 'update_fail_malformed_htlc requires BADONION');
  }
  const blinded = peelOnion(onion, ecdhWithSecret(fromHex('41'.repeat(32))), fromHex('43'.repeat(32)), {
    pathKey: fromHex(loadVector('onion-test.json').generate.hops[1].pubkey),
  });
  assert.ok(!blinded.ok && blinded.error.code === 'invalid_onion_blinding');
  const fb = failureForPeelError(blinded.error);
  assert.ok(fb.kind === 'malformed' && fb.failureCode === 0xc018);
  const payload = failureForPeelError({
    code: 'invalid_onion_payload',
    reason: 'short_payload',
    sharedSecret: h32,
  });
  assert.ok(payload.kind === 'fail' && payload.failure.failure === 'invalid_onion_payload');
  assert.equal(failureForPeelError({ code: 'bad_packet_size', length: 3 }).kind, 'protocol_violation');
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
