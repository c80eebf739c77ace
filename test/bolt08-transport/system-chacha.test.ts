// The optional libsodium binding (native/libsodium, built at npm ci when Debian's libsodium-dev is
// installed, as .ci/run does): byte for byte what node:crypto seals, the same refusals of forged or
// truncated input, and bad arguments refused with an exception, never a crash. The BOLT 8 vectors
// (vectors.test.ts) run through it as well when it is in use.
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { aeadBackend, open, seal, sodiumAeadPath } from '../../src/bolt08-transport/chachapoly.ts';

const require = createRequire(import.meta.url);
type Sodium = {
  seal(
    k: Uint8Array,
    n: Uint8Array,
    ad: Uint8Array | null,
    pt: Uint8Array,
    out: Uint8Array,
    at: number,
  ): void;
  open(k: Uint8Array, n: Uint8Array, ad: Uint8Array | null, sealed: Uint8Array): Uint8Array | null;
};
const built = existsSync(sodiumAeadPath);
const sodium = built ? (require(sodiumAeadPath) as Sodium) : undefined;

function nodeSeal(k: Uint8Array, n: Uint8Array, ad: Uint8Array | null, pt: Uint8Array): Buffer {
  const c = createCipheriv('chacha20-poly1305', k, n, { authTagLength: 16 });
  if (ad !== null) c.setAAD(ad, { plaintextLength: pt.length });
  const body = c.update(pt);
  c.final();
  return Buffer.concat([body, c.getAuthTag()]);
}

test('the libsodium binding is in use exactly when it is built (and not switched off)', () => {
  const off = process.env.SHANDIAN_SYSTEM_SODIUM === '0';
  assert.equal(aeadBackend === 'libsodium (native)', built && !off);
  if (existsSync('/usr/include/sodium.h'))
    assert.ok(built, 'libsodium-dev is installed but the binding was not built');
});

test('libsodium binding: the same sealed bytes as node:crypto, and only authentic input opens', {
  skip: !built,
}, () => {
  for (let i = 0; i < 1500; i++) {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const ad = i % 3 === 0 ? null : randomBytes(i % 70);
    const text = randomBytes(i % 3 === 1 ? 1450 : i % 120);
    const out = new Uint8Array(text.length + 16 + 7);
    sodium!.seal(key, nonce, ad, text, out, 7);
    const ref = nodeSeal(key, nonce, ad, text);
    assert.equal(Buffer.compare(out.subarray(7), ref), 0);
    assert.deepEqual(Buffer.from(sodium!.open(key, nonce, ad, ref)!), text);
    const forged = Uint8Array.from(ref);
    forged[i % forged.length]! ^= 1 << (i % 8);
    assert.equal(sodium!.open(key, nonce, ad, forged), null);
    if (ad !== null && ad.length > 0)
      assert.equal(sodium!.open(key, nonce, null, ref), null, 'AD is authenticated');
  }
  // Through the module's own functions (whichever backend they use).
  const key = randomBytes(32);
  const nonce = randomBytes(12);
  assert.deepEqual(
    open(key, nonce, null, seal(key, nonce, null, Buffer.from('hi'))),
    new Uint8Array(Buffer.from('hi')),
  );
  assert.equal(open(key, nonce, null, new Uint8Array(15)), null, 'shorter than a tag');
  assert.deepEqual(open(key, nonce, null, seal(key, nonce, null, new Uint8Array(0))), new Uint8Array(0));
});

test('libsodium binding: bad arguments throw, and it keeps working', { skip: !built }, () => {
  const key = new Uint8Array(32).fill(1);
  const nonce = new Uint8Array(12);
  const text = new Uint8Array(10);
  const bad: [string, () => unknown][] = [
    ['short key', () => sodium!.seal(key.subarray(1), nonce, null, text, new Uint8Array(26), 0)],
    ['long nonce', () => sodium!.seal(key, new Uint8Array(13), null, text, new Uint8Array(26), 0)],
    ['no room', () => sodium!.seal(key, nonce, null, text, new Uint8Array(25), 0)],
    ['offset past the end', () => sodium!.seal(key, nonce, null, text, new Uint8Array(26), 27)],
    ['negative offset', () => sodium!.seal(key, nonce, null, text, new Uint8Array(40), -1)],
    ['fractional offset', () => sodium!.seal(key, nonce, null, text, new Uint8Array(40), 1.5)],
    [
      'AD not bytes',
      () => sodium!.seal(key, nonce, 'ad' as unknown as Uint8Array, text, new Uint8Array(26), 0),
    ],
    [
      'plaintext not bytes',
      () => sodium!.seal(key, nonce, null, [1, 2] as unknown as Uint8Array, new Uint8Array(26), 0),
    ],
    ['too few arguments', () => (sodium!.open as unknown as (k: Uint8Array) => unknown)(key)],
    ['a Uint32Array', () => sodium!.open(key, nonce, null, new Uint32Array(8) as unknown as Uint8Array)],
  ];
  for (const [what, f] of bad) assert.throws(f, Error, what);
  const out = new Uint8Array(26);
  sodium!.seal(key, nonce, null, text, out, 0);
  assert.deepEqual(sodium!.open(key, nonce, null, out), text);
});
