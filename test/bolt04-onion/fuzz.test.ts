// Fuzz targets: every decoder of this folder gets random and mutated input and must answer with a value
// or a typed error, never a throw. Deterministic PRNG so a failure reproduces; each target also checks
// that its interesting outcomes were actually reached.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeEncryptedData, encodeEncryptedData } from '../../src/bolt04-onion/blinding.ts';
import { decodeErrorPacket } from '../../src/bolt04-onion/error-packet.ts';
import { decodeFailure, encodeFailure } from '../../src/bolt04-onion/failure.ts';
import { type EcdhFn, generateKey, sharedSecretsAlongRoute, xorStream } from '../../src/bolt04-onion/keys.ts';
import { decodeBlindedPath, decodeOnionMessagePayload } from '../../src/bolt04-onion/onion-message.ts';
import { decodeHopPayload, encodeHopPayload } from '../../src/bolt04-onion/payload.ts';
import { buildOnion, ONION_OVERHEAD, PAYMENT_ONION_SIZE, peelOnion } from '../../src/bolt04-onion/sphinx.ts';
import { fromHex } from '../../src/core/bytes.ts';
import { ecdh, hmacSha256, publicKeyOf } from '../../src/crypto/index.ts';

/** xorshift32 over a Uint32Array pool: fast and deterministic, good enough to drive a fuzzer. */
function prng(seed: number) {
  let x = seed >>> 0 || 1;
  const words = new Uint32Array(1 << 14);
  const pool = new Uint8Array(words.buffer);
  let pos = pool.length;
  const byte = () => {
    if (pos >= pool.length) {
      for (let i = 0; i < words.length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        words[i] = x >>> 0;
      }
      pos = 0;
    }
    return pool[pos++]!;
  };
  return {
    byte,
    int: (n: number) => (((byte() << 16) | (byte() << 8) | byte()) >>> 0) % n,
    bytes: (n: number) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = byte();
      return out;
    },
  };
}

const NODE_SECRET = fromHex('41'.repeat(32));
const NODE_ID = publicKeyOf(NODE_SECRET);
const AD = fromHex('42'.repeat(32));

/** The signer's ECDH with a memo for the one ephemeral key the fuzzer reuses (keeps iterations in µs). */
function memoEcdh(): EcdhFn {
  const memo = new Map<string, Uint8Array>();
  return (point) => {
    const k = Buffer.from(point).toString('hex');
    let v = memo.get(k);
    if (v === undefined) {
      v = ecdh(point, NODE_SECRET);
      if (memo.size < 64) memo.set(k, v);
    }
    return v;
  };
}

test('fuzz: the Sphinx peeler answers 100k random, mutated and authentic-garbage onions with a value or a typed error', () => {
  const rnd = prng(4);
  const ecdhFn = memoEcdh();
  const session = fromHex('33'.repeat(32));
  const built = buildOnion({
    sessionKey: session,
    associatedData: AD,
    hops: [
      { publicKey: NODE_ID, payload: fromHex('02020101') },
      { publicKey: publicKeyOf(fromHex('44'.repeat(32))), payload: fromHex('02020202') },
    ],
  });
  assert.ok(built.ok);
  const valid = built.value.packet;
  const ss = sharedSecretsAlongRoute(session, [NODE_ID])[0]!.sharedSecret;
  const mu = generateKey('mu', ss);
  const rho = generateKey('rho', ss);
  const outcomes = new Map<string, number>();
  const note = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
  const N = 100_000;
  for (let i = 0; i < N; i++) {
    const kind = i % 10;
    let onion: Uint8Array;
    let messageKind = false;
    if (kind < 3) {
      onion = rnd.bytes(PAYMENT_ONION_SIZE);
    } else if (kind < 7 || kind === 8) {
      onion = valid.slice();
      const flips = 1 + rnd.int(3);
      for (let f = 0; f < flips; f++) onion[rnd.int(onion.length)]! ^= 1 + rnd.int(255);
    } else if (kind < 8) {
      // Authentic but random hop_payloads: passes the HMAC, stresses the frame parser.
      onion = valid.slice();
      const plain = rnd.bytes(1300);
      const lead = rnd.int(4);
      if (lead === 0) plain[0] = rnd.int(2);
      else if (lead === 1) plain[0] = 0xfd + rnd.int(3);
      const body = xorStream(rho, plain);
      onion.set(body, 34);
      onion.set(hmacSha256(mu, body, AD), 34 + 1300);
    } else {
      onion = rnd.bytes(rnd.int(2 * PAYMENT_ONION_SIZE));
      if (onion.length > 0) onion[0] = 0;
      messageKind = rnd.int(2) === 0;
    }
    const r = peelOnion(onion, ecdhFn, AD, messageKind ? { kind: 'message' } : {});
    if (r.ok) {
      assert.ok(r.value.type === 'forward' || r.value.type === 'final');
      if (r.value.type === 'forward') assert.equal(r.value.nextOnion.length, onion.length);
      note(r.value.type);
    } else {
      note(r.error.code === 'invalid_onion_payload' ? `payload:${r.error.reason}` : r.error.code);
    }
  }
  for (const expected of [
    'forward',
    'invalid_onion_version',
    'invalid_onion_key',
    'invalid_onion_hmac',
    'bad_packet_size',
    'payload:short_payload',
    'payload:truncated_payload',
    'payload:bad_length',
  ]) {
    assert.ok(
      (outcomes.get(expected) ?? 0) > 0,
      `fuzz reached ${expected}: ${JSON.stringify([...outcomes])}`,
    );
  }
  assert.equal(
    [...outcomes.values()].reduce((a, b) => a + b, 0),
    N,
  );
});

test('fuzz: the failure message decoder takes 100k inputs; what decodes re-encodes to the same bytes', () => {
  const rnd = prng(7);
  const codes = [
    0x2002, 0x6002, 0x6003, 0xc004, 0xc005, 0xc006, 0x1007, 0x4008, 0x4009, 0x400a, 0x100b, 0x100c,
  ];
  const more = [0x100d, 0x100e, 0x400f, 0x12, 0x13, 0x1014, 0x15, 0x4016, 0x17, 0xc018];
  const known = [...codes, ...more];
  let decoded = 0;
  let errors = 0;
  for (let i = 0; i < 100_000; i++) {
    const b = rnd.bytes(rnd.int(i % 2 === 0 ? 48 : 300));
    if (b.length >= 2 && rnd.int(4) !== 0) {
      const c = known[rnd.int(known.length)]!;
      b[0] = c >> 8;
      b[1] = c & 0xff;
    }
    const r = decodeFailure(b);
    if (r.ok) {
      decoded++;
      // Decoding is strict, so whatever decodes re-encodes to exactly the same bytes.
      assert.deepEqual(encodeFailure(r.value), b);
    } else {
      errors++;
      assert.equal(typeof r.error.kind, 'string');
    }
  }
  assert.ok(decoded > 1000 && errors > 1000, `decoded ${decoded}, errors ${errors}`);
});

test('fuzz: TLV payload decoders (hop payload, encrypted_data_tlv, onionmsg_tlv, blinded_path) take 25k inputs each', () => {
  const rnd = prng(11);
  const seeds = [
    encodeHopPayload({ amtToForward: 1000n as never, outgoingCltvValue: 500, shortChannelId: 77n }),
    encodeEncryptedData({ padding: new Uint8Array(5), nextNodeId: NODE_ID, pathId: fromHex('abcd') }),
  ];
  const tally = { ok: 0, err: 0 };
  for (let i = 0; i < 25_000; i++) {
    let b: Uint8Array;
    if (i % 2 === 0) {
      b = rnd.bytes(rnd.int(80));
    } else {
      b = seeds[rnd.int(seeds.length)]!.slice();
      for (let f = 0; f < 1 + rnd.int(2); f++) b[rnd.int(b.length)] = rnd.byte();
    }
    const results = [
      decodeHopPayload(b),
      decodeEncryptedData(b),
      decodeOnionMessagePayload(b),
      decodeBlindedPath(b),
    ];
    for (const r of results) {
      if (r.ok) tally.ok++;
      else tally.err++;
    }
  }
  assert.ok(tally.ok > 1000 && tally.err > 1000, JSON.stringify(tally));
});

test('fuzz: the origin error decoder takes 300 random packets (27 rounds each) and never misattributes', () => {
  const rnd = prng(13);
  const secrets = Array.from({ length: 5 }, (_, i) => generateKey('pad', new Uint8Array(32).fill(i)));
  let unattributable = 0;
  for (let i = 0; i < 300; i++) {
    const r = decodeErrorPacket(secrets, rnd.bytes(rnd.int(400)));
    assert.ok(!r.ok);
    if (r.error.code === 'unattributable') unattributable++;
    else assert.equal(r.error.code, 'too_short');
  }
  assert.ok(unattributable > 200);
  assert.ok(ONION_OVERHEAD === 66);
});
