import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromHex, hex, utf8 } from '../../src/core/bytes.ts';
import * as c from '../../src/crypto/index.ts';

test('the native libsecp256k1 binding is in use', () => {
  assert.ok(c.secpBackend.startsWith('libsecp256k1 (native)'), c.secpBackend);
});

test('ECDSA sign/verify/recover and DER round trip', () => {
  const k = fromHex('11'.repeat(32));
  const p = c.publicKeyOf(k);
  const m = c.sha256(utf8('shandian'));
  const s = c.ecdsaSign(m, k);
  assert.ok(c.ecdsaVerify(s.compact, m, p));
  assert.equal(hex(c.ecdsaRecover(s.compact, s.recid, m)), hex(p));
  assert.equal(hex(c.signatureFromDer(c.signatureToDer(s.compact))), hex(s.compact));
  const other = c.sha256(utf8('other'));
  assert.equal(c.ecdsaVerify(s.compact, other, p), false);
});

test('tweaks agree between private and public side and do not mutate inputs', () => {
  const k = fromHex('22'.repeat(32));
  const t = fromHex('33'.repeat(32));
  const kCopy = Uint8Array.from(k);
  assert.equal(hex(c.publicKeyOf(c.privkeyTweakAdd(k, t))), hex(c.pubkeyTweakAdd(c.publicKeyOf(k), t)));
  assert.equal(hex(c.publicKeyOf(c.privkeyTweakMul(k, t))), hex(c.pubkeyTweakMul(c.publicKeyOf(k), t)));
  assert.deepEqual(k, kCopy);
});

test('ECDH is symmetric', () => {
  const a = fromHex('44'.repeat(32));
  const b = fromHex('55'.repeat(32));
  assert.equal(hex(c.ecdh(c.publicKeyOf(b), a)), hex(c.ecdh(c.publicKeyOf(a), b)));
});

test('RFC 8439 ChaCha20-Poly1305 AEAD vector (section 2.8.2)', () => {
  const key = fromHex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
  const nonce = fromHex('070000004041424344454647');
  const ad = fromHex('50515253c0c1c2c3c4c5c6c7');
  const pt = utf8(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  );
  const ct = c.aeadEncrypt(key, nonce, ad, pt);
  assert.equal(hex(ct.subarray(ct.length - 16)), '1ae10b594f09e26a7e902ecbd0600691');
  assert.deepEqual(c.aeadDecrypt(key, nonce, ad, ct), pt);
  ct[0]! ^= 1;
  assert.throws(() => c.aeadDecrypt(key, nonce, ad, ct), c.AeadError);
});

test('HKDF-SHA256 RFC 5869 test case 1', () => {
  const okm = c.hkdfSha256(
    fromHex('0b'.repeat(22)),
    fromHex('000102030405060708090a0b0c'),
    fromHex('f0f1f2f3f4f5f6f7f8f9'),
    42,
  );
  assert.equal(
    hex(okm),
    '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
  );
});

test('verification of garbage from a peer fails cleanly instead of throwing', () => {
  const m = c.sha256(utf8('x'));
  const p = c.publicKeyOf(fromHex('11'.repeat(32)));
  assert.equal(c.ecdsaVerify(new Uint8Array(64).fill(0xff), m, p), false);
  assert.equal(c.ecdsaVerify(new Uint8Array(64).fill(1), m, new Uint8Array(33).fill(9)), false);
});
