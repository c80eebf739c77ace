import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ecdhWithSecret } from '../../src/bolt04-onion/keys.ts';
import { buildOnion, PAYMENT_ONION_SIZE, peelOnion } from '../../src/bolt04-onion/sphinx.ts';
import { fromHex, hex } from '../../src/core/bytes.ts';
import { publicKeyOf, sha256 } from '../../src/crypto/index.ts';
import { loadVector, stripLengthPrefix } from './vectors.ts';

const v = loadVector('onion-test.json');
const sessionKey = fromHex(v.generate.session_key);
const ad = fromHex(v.generate.associated_data);
const hops = v.generate.hops.map((h: { pubkey: string; payload: string }) => ({
  publicKey: fromHex(h.pubkey),
  payload: stripLengthPrefix(fromHex(h.payload)),
}));
const secrets: Uint8Array[] = v.decode.map((k: string) => fromHex(k));

test('onion-test.json: the built packet equals the vector byte for byte', () => {
  const built = buildOnion({ sessionKey, hops, associatedData: ad });
  assert.ok(built.ok);
  assert.equal(built.value.packet.length, PAYMENT_ONION_SIZE);
  assert.equal(hex(built.value.packet), v.onion);
});

test('onion-test.json: each hop peels its own payload and the last one is final', () => {
  assert.equal(secrets.length, hops.length);
  let onion = fromHex(v.onion);
  for (const [i, secret] of secrets.entries()) {
    assert.equal(hex(publicKeyOf(secret)), hex(hops[i].publicKey), `decode key ${i} matches hop pubkey`);
    const r = peelOnion(onion, ecdhWithSecret(secret), ad);
    assert.ok(r.ok, `hop ${i} peels`);
    assert.equal(hex(r.value.payload), hex(hops[i].payload), `hop ${i} payload`);
    if (i < secrets.length - 1) {
      assert.equal(r.value.type, 'forward');
      if (r.value.type === 'forward') onion = r.value.nextOnion;
    } else {
      assert.equal(r.value.type, 'final');
    }
  }
});

test('peel reports the BOLT 4 bad-onion errors with sha256(onion)', () => {
  const onion = fromHex(v.onion);
  const ecdh = ecdhWithSecret(secrets[0]!);
  const badVersion = Uint8Array.from(onion);
  badVersion[0] = 1;
  let r = peelOnion(badVersion, ecdh, ad);
  assert.ok(!r.ok && r.error.code === 'invalid_onion_version');
  assert.ok(!r.ok && 'sha256OfOnion' in r.error && hex(r.error.sha256OfOnion) === hex(sha256(badVersion)));

  const badKey = Uint8Array.from(onion);
  badKey[1] = 0x05;
  r = peelOnion(badKey, ecdh, ad);
  assert.ok(!r.ok && r.error.code === 'invalid_onion_key');

  const badHmac = Uint8Array.from(onion);
  badHmac[100]! ^= 1;
  r = peelOnion(badHmac, ecdh, ad);
  assert.ok(!r.ok && r.error.code === 'invalid_onion_hmac');

  r = peelOnion(onion, ecdh, fromHex('43'.repeat(32)));
  assert.ok(!r.ok && r.error.code === 'invalid_onion_hmac', 'associated data is authenticated');

  r = peelOnion(onion, ecdhWithSecret(secrets[1]!), ad);
  assert.ok(!r.ok && r.error.code === 'invalid_onion_hmac', 'wrong node key');

  r = peelOnion(onion.subarray(0, 1000), ecdh, ad);
  assert.ok(!r.ok && r.error.code === 'bad_packet_size');
});

test('build refuses routes that do not fit and payloads shorter than two bytes', () => {
  const big = { publicKey: hops[0].publicKey, payload: new Uint8Array(1300) };
  const r = buildOnion({ sessionKey, hops: [big], associatedData: ad });
  assert.ok(!r.ok && r.error.code === 'route_too_large');
  const short = { publicKey: hops[0].publicKey, payload: new Uint8Array(1) };
  const s = buildOnion({ sessionKey, hops: [short], associatedData: ad });
  assert.ok(!s.ok && s.error.code === 'payload_too_short');
  const e = buildOnion({ sessionKey, hops: [], associatedData: ad });
  assert.ok(!e.ok && e.error.code === 'empty_route');
});

test('20 hops with maximal payloads round-trip exactly to the byte', () => {
  // 20 frames of 65 bytes fill the 1300 bytes completely: the filler is then the whole tail.
  const keys = Array.from({ length: 20 }, (_, i) =>
    fromHex((i + 1).toString(16).padStart(2, '0').repeat(32)),
  );
  const route = keys.map((k, i) => ({ publicKey: publicKeyOf(k), payload: new Uint8Array(32).fill(i + 1) }));
  const built = buildOnion({ sessionKey, hops: route, associatedData: ad });
  assert.ok(built.ok);
  let onion = built.value.packet;
  for (const [i, k] of keys.entries()) {
    const r = peelOnion(onion, ecdhWithSecret(k), ad);
    assert.ok(r.ok, `hop ${i}`);
    assert.equal(hex(r.value.payload), hex(route[i]!.payload));
    assert.equal(hex(r.value.sharedSecret), hex(built.value.hopKeys[i]!.sharedSecret));
    assert.equal(r.value.type, i === 19 ? 'final' : 'forward');
    if (r.value.type === 'forward') onion = r.value.nextOnion;
  }
  const tooMany = buildOnion({
    sessionKey,
    hops: [...route, { publicKey: route[0]!.publicKey, payload: new Uint8Array(2) }],
    associatedData: ad,
  });
  assert.ok(!tooMany.ok && tooMany.error.code === 'route_too_large');
});

test('property: random routes with variable payload sizes (1- and 3-byte length prefixes) peel back exactly', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.array(fc.integer({ min: 2, max: 300 }), { minLength: 8, maxLength: 8 }),
      fc.integer({ min: 1, max: 250 }),
      fc.boolean(),
      (n, sizes, seed, message) => {
        const keys = Array.from({ length: n }, (_, i) => sha256(new Uint8Array([seed, i])));
        const lens = sizes.slice(0, n);
        const size = message ? 32768 : 1300;
        const route = keys.map((k, i) => ({
          publicKey: publicKeyOf(k),
          payload: new Uint8Array(lens[i]!).fill(i + 1),
        }));
        const ad = message ? new Uint8Array(0) : sha256(new Uint8Array([seed]));
        const kind = message ? ('message' as const) : ('payment' as const);
        const built = buildOnion({
          sessionKey: sha256(new Uint8Array([seed, 99])),
          hops: route,
          associatedData: ad,
          kind,
          hopPayloadsSize: size,
        });
        const needed = lens.reduce((a, l) => a + (l < 253 ? 1 : 3) + l + 32, 0);
        if (needed > size) {
          assert.ok(!built.ok && built.error.code === 'route_too_large');
          return;
        }
        assert.ok(built.ok);
        let onion = built.value.packet;
        assert.equal(onion.length, size + 66);
        for (const [i, k] of keys.entries()) {
          const r = peelOnion(onion, ecdhWithSecret(k), ad, { kind });
          assert.ok(r.ok, `hop ${i}`);
          assert.equal(hex(r.value.payload), hex(route[i]!.payload));
          assert.equal(r.value.type, i === n - 1 ? 'final' : 'forward');
          if (r.value.type === 'forward') onion = r.value.nextOnion;
        }
      },
    ),
    { numRuns: 40 },
  );
});
