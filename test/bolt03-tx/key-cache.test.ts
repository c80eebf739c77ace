// The memo of commitment keys answers as deriveCommitmentKeys does, never with another input's keys,
// stays within its bound, hands out copies, and remembers no failure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type ChannelBasepoints,
  CommitmentKeyCache,
  deriveCommitmentKeys,
  KeyDerivationError,
} from '../../src/bolt03-tx/keys.ts';
import { publicKeyOf, sha256 } from '../../src/crypto/index.ts';

const point = (tag: number, i: number) => publicKeyOf(sha256(new Uint8Array([tag, i])));

function basepoints(tag: number): ChannelBasepoints {
  return {
    fundingPubkey: point(tag, 1),
    revocationBasepoint: point(tag, 2),
    paymentBasepoint: point(tag, 3),
    delayedPaymentBasepoint: point(tag, 4),
    htlcBasepoint: point(tag, 5),
  };
}

const A = basepoints(1);
const B = basepoints(2);

test('the memo answers exactly as a fresh derivation, hit or miss', () => {
  const cache = new CommitmentKeyCache(8);
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 6; i++) {
      assert.deepEqual(cache.derive(A, B, point(3, i)), deriveCommitmentKeys(A, B, point(3, i)));
      assert.deepEqual(cache.derive(B, A, point(3, i)), deriveCommitmentKeys(B, A, point(3, i)));
    }
  }
  assert.equal(cache.size, 8);
});

test('any input that differs is a different entry: no stale keys', () => {
  const cache = new CommitmentKeyCache(64);
  const p = point(4, 0);
  const first = cache.derive(A, B, p);
  const fields: (keyof ChannelBasepoints)[] = [
    'fundingPubkey',
    'revocationBasepoint',
    'paymentBasepoint',
    'delayedPaymentBasepoint',
    'htlcBasepoint',
  ];
  for (const f of fields) {
    const owner = { ...A, [f]: point(5, 1) };
    const other = { ...B, [f]: point(5, 2) };
    assert.deepEqual(cache.derive(owner, B, p), deriveCommitmentKeys(owner, B, p), `owner ${f}`);
    assert.deepEqual(cache.derive(A, other, p), deriveCommitmentKeys(A, other, p), `other ${f}`);
  }
  assert.deepEqual(cache.derive(A, B, p), first);
  // The same bytes in new arrays hit the same entry.
  const copy = Object.fromEntries(
    fields.map((f) => [f, Uint8Array.from(A[f])]),
  ) as unknown as ChannelBasepoints;
  const size = cache.size;
  assert.deepEqual(cache.derive(copy, B, Uint8Array.from(p)), first);
  assert.equal(cache.size, size);
});

test('a caller changing its keys does not change what the next caller gets', () => {
  const cache = new CommitmentKeyCache(4);
  const p = point(6, 0);
  const a = cache.derive(A, B, p);
  (a.revocationPubkey as Uint8Array).fill(0);
  (a.localHtlcPubkey as Uint8Array)[5]! ^= 1;
  assert.deepEqual(cache.derive(A, B, p), deriveCommitmentKeys(A, B, p));
});

test('bounded: the oldest entries go, and come back right', () => {
  const cache = new CommitmentKeyCache(3);
  for (let i = 0; i < 10; i++) cache.derive(A, B, point(7, i));
  assert.equal(cache.size, 3);
  assert.deepEqual(cache.derive(A, B, point(7, 0)), deriveCommitmentKeys(A, B, point(7, 0)));
  assert.equal(cache.size, 3);
});

test('invalid input throws every time and is not remembered', () => {
  const cache = new CommitmentKeyCache(4);
  const notAPoint = new Uint8Array(33).fill(0xff); // x >= p
  notAPoint[0] = 2;
  for (let i = 0; i < 2; i++) {
    assert.throws(() => cache.derive(A, B, notAPoint), KeyDerivationError);
    assert.throws(() => cache.derive({ ...A, htlcBasepoint: notAPoint }, B, point(8, 0)), KeyDerivationError);
    assert.throws(() => cache.derive(A, B, new Uint8Array(32)), KeyDerivationError);
  }
  assert.equal(cache.size, 0);
});

test('HTLC scripts: the remembered RIPEMD160 of a payment hash follows the bytes, not the array', async () => {
  const { offeredHtlcScript, receivedHtlcScript } = await import('../../src/bolt03-tx/scripts.ts');
  const [rev, local, remote] = [point(9, 1), point(9, 2), point(9, 3)];
  const hash = sha256(new Uint8Array([1]));
  const first = offeredHtlcScript('anchors_zero_fee_htlc', rev, local, remote, hash);
  assert.deepEqual(offeredHtlcScript('anchors_zero_fee_htlc', rev, local, remote, hash), first);
  // The same array with other bytes in it: the script of the new bytes, as a fresh array gives.
  hash[0]! ^= 1;
  const changed = receivedHtlcScript('anchors_zero_fee_htlc', rev, local, remote, hash, 800_000);
  assert.deepEqual(
    changed,
    receivedHtlcScript('anchors_zero_fee_htlc', rev, local, remote, Uint8Array.from(hash), 800_000),
  );
  assert.notDeepEqual(offeredHtlcScript('anchors_zero_fee_htlc', rev, local, remote, hash), first);
});
