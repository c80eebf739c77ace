// The optional binding to the system's libsecp256k1 (native/libsecp256k1, built at npm ci when Debian's
// libsecp256k1-dev is installed, as .ci/run does): the same signatures as the secp256k1 package, byte
// for byte, the same verdicts, and bad input refused with an exception, never a crash.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import * as c from '../../src/crypto/index.ts';
import { type SystemSecp, systemSecpInUse, systemSecpPath } from '../../src/crypto/secp256k1.ts';

const require = createRequire(import.meta.url);
type PackageBinding = Pick<SystemSecp, 'ecdsaSign' | 'ecdsaVerify' | 'publicKeyCreate' | 'ecdh'> & {
  privateKeyVerify(k: Uint8Array): boolean;
  publicKeyTweakAdd(p: Uint8Array, t: Uint8Array, compressed: boolean): Uint8Array;
  publicKeyTweakMul(p: Uint8Array, t: Uint8Array, compressed: boolean): Uint8Array;
  publicKeyCombine(ps: Uint8Array[], compressed: boolean): Uint8Array;
};
const pkg = require('secp256k1/bindings') as PackageBinding;
const built = existsSync(systemSecpPath);
const sys = built ? (require(systemSecpPath) as SystemSecp) : undefined;
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('the binding is in use exactly when it is built (and not switched off)', () => {
  const off = process.env.SHANDIAN_SYSTEM_SECP256K1 === '0';
  assert.equal(systemSecpInUse, built && !off);
  assert.equal(c.secpBackend.includes('system libsecp256k1'), systemSecpInUse);
  // Where Debian's headers are (CI installs them), npm ci must have built it.
  if (existsSync('/usr/include/secp256k1.h'))
    assert.ok(built, 'libsecp256k1-dev is installed but the binding was not built');
});

test('system binding: the same RFC 6979 signatures and verdicts as the package', { skip: !built }, () => {
  for (let i = 0; i < 400; i++) {
    const key = randomBytes(32);
    if (!pkg.privateKeyVerify(key)) continue;
    const msg = randomBytes(32);
    const ours = sys!.ecdsaSign(msg, key);
    const theirs = pkg.ecdsaSign(msg, key);
    assert.equal(hex(ours.signature), hex(theirs.signature));
    assert.equal(ours.recid, theirs.recid);
    const pub = pkg.publicKeyCreate(key, i % 2 === 0);
    assert.equal(sys!.ecdsaVerify(ours.signature, msg, pub), true);
    // Another key, then the right one again (the binding remembers the last key it parsed).
    const other = pkg.publicKeyCreate(c.sha256(key), true);
    assert.equal(sys!.ecdsaVerify(ours.signature, msg, other), false);
    assert.equal(sys!.ecdsaVerify(ours.signature, msg, pub), true);
    const flipped = Uint8Array.from(msg);
    flipped[31]! ^= 0x80;
    assert.equal(
      sys!.ecdsaVerify(ours.signature, flipped, pub),
      pkg.ecdsaVerify(ours.signature, flipped, pub),
    );
    // The high-S twin of a valid signature: refused by both (BIP 62 / BOLT: low-S only).
    const s = BigInt(`0x${hex(ours.signature.subarray(32))}`);
    const high = Uint8Array.from([
      ...ours.signature.subarray(0, 32),
      ...Buffer.from((N - s).toString(16).padStart(64, '0'), 'hex'),
    ]);
    assert.equal(sys!.ecdsaVerify(high, msg, pub), false);
    assert.equal(pkg.ecdsaVerify(high, msg, pub), false);
  }
});

test('system binding: bad input throws, and the wrapper turns a bad verification into false', {
  skip: !built,
}, () => {
  const key = new Uint8Array(32).fill(7);
  const msg = new Uint8Array(32).fill(9);
  const sig = sys!.ecdsaSign(msg, key).signature;
  const pub = pkg.publicKeyCreate(key, true);
  const bad: [string, () => unknown][] = [
    ['short message', () => sys!.ecdsaSign(new Uint8Array(31), key)],
    ['zero key', () => sys!.ecdsaSign(msg, new Uint8Array(32))],
    ['key = n', () => sys!.ecdsaSign(msg, Buffer.from(N.toString(16), 'hex'))],
    ['not bytes', () => sys!.ecdsaSign('message' as unknown as Uint8Array, key)],
    ['no arguments', () => (sys!.ecdsaSign as unknown as () => unknown)()],
    ['short signature', () => sys!.ecdsaVerify(sig.subarray(1), msg, pub)],
    ['key of 34 bytes', () => sys!.ecdsaVerify(sig, msg, new Uint8Array(34))],
    [
      'key off the curve',
      () => sys!.ecdsaVerify(sig, msg, Uint8Array.from([2, ...new Uint8Array(32).fill(0xff)])),
    ],
    ['signature r = n', () => sys!.ecdsaVerify(Buffer.from(N.toString(16).repeat(2), 'hex'), msg, pub)],
    ['a Uint16Array', () => sys!.ecdsaVerify(new Uint16Array(32) as unknown as Uint8Array, msg, pub)],
  ];
  for (const [what, f] of bad) assert.throws(f, Error, what);
  assert.equal(c.ecdsaVerify(sig, msg, new Uint8Array(34)), false);
  assert.equal(c.ecdsaVerify(sig.subarray(1), msg, pub), false);
  // Still working after all that.
  assert.equal(sys!.ecdsaVerify(sig, msg, pub), true);
});

test("system binding: public keys, tweaks, sums and ECDH equal the package's", { skip: !built }, () => {
  for (let i = 0; i < 400; i++) {
    const key = randomBytes(32);
    const tweak = randomBytes(32);
    const other = randomBytes(32);
    if (!pkg.privateKeyVerify(key) || !pkg.privateKeyVerify(other)) continue;
    const compressed = i % 2 === 0;
    assert.equal(hex(sys!.publicKeyCreate(key, compressed)), hex(pkg.publicKeyCreate(key, compressed)));
    const pub = pkg.publicKeyCreate(key, i % 3 !== 0); // 33 or 65 bytes in
    const pub2 = pkg.publicKeyCreate(other, true);
    assert.equal(
      hex(sys!.publicKeyTweakAdd(pub, tweak, compressed)),
      hex(pkg.publicKeyTweakAdd(pub, tweak, compressed)),
    );
    assert.equal(
      hex(sys!.publicKeyTweakMul(pub, tweak, compressed)),
      hex(pkg.publicKeyTweakMul(pub, tweak, compressed)),
    );
    assert.equal(
      hex(sys!.publicKeyAdd(pub, pub2, compressed)),
      hex(pkg.publicKeyCombine([pub, pub2], compressed)),
    );
    assert.equal(hex(sys!.ecdh(pub, other)), hex(pkg.ecdh(pub, other)));
  }
  // Through the module's functions (whichever backend is in use), against the package.
  const key = randomBytes(32);
  const pub = pkg.publicKeyCreate(key, true);
  assert.equal(hex(c.publicKeyOf(key)), hex(pub));
  assert.equal(hex(c.ecdh(pub, key)), hex(pkg.ecdh(pub, key)));
});

test('system binding: bad keys and tweaks throw', { skip: !built }, () => {
  const key = new Uint8Array(32).fill(7);
  const pub = pkg.publicKeyCreate(key, true);
  const n = Buffer.from(N.toString(16), 'hex');
  const minusOne = Buffer.from((N - 1n).toString(16), 'hex');
  const bad: [string, () => unknown][] = [
    ['zero private key', () => sys!.publicKeyCreate(new Uint8Array(32), true)],
    ['private key = n', () => sys!.publicKeyCreate(n, true)],
    ['short private key', () => sys!.publicKeyCreate(key.subarray(1), true)],
    ['tweak = n', () => sys!.publicKeyTweakAdd(pub, n, true)],
    [
      'tweak to infinity',
      () =>
        sys!.publicKeyTweakAdd(
          pkg.publicKeyCreate(Buffer.from('01'.padStart(64, '0'), 'hex'), true),
          minusOne,
          true,
        ),
    ],
    ['zero multiplier', () => sys!.publicKeyTweakMul(pub, new Uint8Array(32), true)],
    [
      'key off the curve',
      () => sys!.publicKeyTweakMul(Uint8Array.from([2, ...new Uint8Array(32).fill(0xff)]), key, true),
    ],
    ['P + (-P)', () => sys!.publicKeyAdd(pub, pkg.publicKeyTweakMul(pub, minusOne, true), true)],
    ['ECDH with zero scalar', () => sys!.ecdh(pub, new Uint8Array(32))],
    ['ECDH with a 34-byte key', () => sys!.ecdh(new Uint8Array(34), key)],
  ];
  for (const [what, f] of bad) assert.throws(f, Error, what);
  assert.equal(hex(sys!.ecdh(pub, key)), hex(pkg.ecdh(pub, key)), 'still working');
});
