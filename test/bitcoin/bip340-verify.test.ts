// The WASM Schnorr verifier the interpreter uses agrees with @noble on valid, corrupted and
// out-of-range signatures and keys.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fromHex } from '../../src/core/bytes.ts';
import { bip340Verify, bip340VerifyBackend } from '../../src/crypto/bip340-verify.ts';
import { publicKeyOf, schnorrSign, schnorrVerify } from '../../src/crypto/secp256k1.ts';

test('bip340Verify agrees with @noble', () => {
  assert.equal(bip340VerifyBackend, 'tiny-secp256k1 (WASM)');
  const P = fromHex('fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f');
  const N = fromHex('fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141');
  let valid = 0;
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((k) => k.some((b) => b !== 0) && k[0]! < 0xf0),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.integer({ min: 0, max: 5 }),
      fc.nat(63),
      (key, msg, mode, at) => {
        const x = publicKeyOf(key).subarray(1);
        let sig = schnorrSign(msg, key, new Uint8Array(32));
        let pub = x;
        if (mode === 1) {
          sig = Uint8Array.from(sig);
          sig[at] = sig[at]! ^ 0x01;
        } else if (mode === 2)
          sig = Uint8Array.from([...P, ...sig.subarray(32)]); // r = p
        else if (mode === 3)
          sig = Uint8Array.from([...sig.subarray(0, 32), ...N]); // s = n
        else if (mode === 4)
          pub = P; // x not a field element
        else if (mode === 5) pub = new Uint8Array(32).fill(at); // most likely off the curve
        const a = bip340Verify(sig, msg, pub);
        assert.equal(a, schnorrVerify(sig, msg, pub), `mode ${mode}`);
        if (mode === 0) {
          assert.ok(a);
          valid++;
        }
      },
    ),
    { numRuns: 300 },
  );
  assert.ok(valid > 0);
  assert.equal(bip340Verify(new Uint8Array(63), new Uint8Array(32), new Uint8Array(32)), false);
});
