// Two nodes, each with its own secrets: A signs B's commitment as commitment_signed would carry it,
// B checks it against the commitment it builds for itself. Random states, both channel types.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import {
  buildHolderCommitment,
  CHANNEL_TYPES,
  type ChannelBasepoints,
  type ChannelTxParams,
  type CommitmentHtlc,
  derivePrivkey,
  perCommitmentPoint,
  perCommitmentSecret,
  signHtlcTx,
  signRemoteCommitment,
  verifyLocalCommitmentSignatures,
} from '../../src/bolt03-tx/index.ts';
import { feeratePerKw, msat, sat } from '../../src/core/units.ts';
import { publicKeyOf, sha256 } from '../../src/crypto/index.ts';
import { signaturePool } from '../../src/crypto/signature-pool.ts';
import { fundingAmount, fundingOutpoint } from './fixture.ts';

interface Node {
  readonly secrets: {
    funding: Uint8Array;
    revocation: Uint8Array;
    payment: Uint8Array;
    delayed: Uint8Array;
    htlc: Uint8Array;
  };
  readonly basepoints: ChannelBasepoints;
  readonly seed: Uint8Array;
}

function node(tag: number): Node {
  const s = (n: number) => sha256(new Uint8Array([tag, n]));
  const secrets = { funding: s(1), revocation: s(2), payment: s(3), delayed: s(4), htlc: s(5) };
  return {
    secrets,
    seed: s(6),
    basepoints: {
      fundingPubkey: publicKeyOf(secrets.funding),
      revocationBasepoint: publicKeyOf(secrets.revocation),
      paymentBasepoint: publicKeyOf(secrets.payment),
      delayedPaymentBasepoint: publicKeyOf(secrets.delayed),
      htlcBasepoint: publicKeyOf(secrets.htlc),
    },
  };
}

const A = node(1);
const B = node(2);

const FUNDING_MSAT = fundingAmount * 1000n;

test("property: B accepts the signatures A makes for B's commitment; any tampering is caught", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...CHANNEL_TYPES),
      fc.boolean(),
      fc.bigInt({ min: 0n, max: 1000n }),
      fc.array(
        fc.record({
          offered: fc.boolean(),
          amount: fc.bigInt({ min: 100_000n, max: 50_000_000n }),
          cltv: fc.integer({ min: 1, max: 1000 }),
        }),
        { maxLength: 5 },
      ),
      fc.integer({ min: 0, max: 64 }),
      (type, aFunds, n, hs, tamper) => {
        const htlcs: CommitmentHtlc[] = hs.map((h, i) => ({
          direction: h.offered ? 'offered' : 'received',
          id: BigInt(i),
          amount: msat(h.amount),
          paymentHash: sha256(new Uint8Array([i])),
          cltvExpiry: 500 + h.cltv,
        }));
        const inHtlcs = htlcs.reduce((s, h) => s + h.amount, 0n);
        const aBalance = (FUNDING_MSAT - inHtlcs) / 2n;
        const bBalance = FUNDING_MSAT - inHtlcs - aBalance;
        const aView: ChannelTxParams = {
          channelType: type,
          fundingOutpoint,
          fundingAmount,
          localIsFunder: aFunds,
          local: { basepoints: A.basepoints, dustLimit: sat(546), toSelfDelay: 144 },
          remote: { basepoints: B.basepoints, dustLimit: sat(600), toSelfDelay: 720 },
        };
        const bView: ChannelTxParams = {
          ...aView,
          localIsFunder: !aFunds,
          local: aView.remote,
          remote: aView.local,
        };
        const feerate = feeratePerKw(2500);
        const bPoint = perCommitmentPoint(perCommitmentSecret(B.seed, n));
        // A's view: A offered = its 'offered'. B's view flips them.
        const aState = {
          commitmentNumber: n,
          feerate,
          toLocal: msat(aBalance),
          toRemote: msat(bBalance),
          htlcs,
        };
        const bState = {
          commitmentNumber: n,
          feerate,
          toLocal: msat(bBalance),
          toRemote: msat(aBalance),
          htlcs: htlcs.map((h) => ({
            ...h,
            direction: h.direction === 'offered' ? ('received' as const) : ('offered' as const),
          })),
        };
        const theirs = buildHolderCommitment(aView, 'remote', aState, bPoint);
        const ours = buildHolderCommitment(bView, 'local', bState, bPoint);
        assert.ok(theirs.ok && ours.ok);
        const sigs = signRemoteCommitment(
          theirs.value,
          A.secrets.funding,
          derivePrivkey(A.secrets.htlc, bPoint),
        );
        assert.ok(verifyLocalCommitmentSignatures(ours.value, sigs).ok);

        // Tamper with one signature (or drop one): rejected with the right reason.
        const all = [sigs.signature, ...sigs.htlcSignatures];
        const which = tamper % all.length;
        const bad = all.map((s, i) =>
          i === which ? Uint8Array.from(s, (b, j) => (j === 10 ? b ^ 1 : b)) : s,
        );
        const r = verifyLocalCommitmentSignatures(ours.value, {
          signature: bad[0]!,
          htlcSignatures: bad.slice(1),
        });
        assert.ok(!r.ok);
        assert.equal(r.error.kind, which === 0 ? 'bad_commitment_signature' : 'bad_htlc_signature');
        if (sigs.htlcSignatures.length > 0) {
          const short = verifyLocalCommitmentSignatures(ours.value, {
            ...sigs,
            htlcSignatures: sigs.htlcSignatures.slice(1),
          });
          assert.equal(short.ok ? '' : short.error.kind, 'wrong_htlc_signature_count');
        }
        // An unparseable signature (r and s >= n) is a rejection, not an exception.
        const junk = new Uint8Array(64).fill(0xff);
        const rj = verifyLocalCommitmentSignatures(ours.value, { ...sigs, signature: junk });
        assert.equal(rj.ok ? '' : rj.error.kind, 'bad_commitment_signature');
        if (sigs.htlcSignatures.length > 0) {
          const hj = verifyLocalCommitmentSignatures(ours.value, {
            ...sigs,
            htlcSignatures: sigs.htlcSignatures.map(() => junk),
          });
          assert.equal(hj.ok ? '' : hj.error.kind, 'bad_htlc_signature');
        }
        // Signing with the wrong HTLC key (B's own point confused with A's) is caught too.
        const wrong = signRemoteCommitment(theirs.value, A.secrets.funding, A.secrets.htlc);
        if (wrong.htlcSignatures.length > 0)
          assert.ok(!verifyLocalCommitmentSignatures(ours.value, wrong).ok);
      },
    ),
    { numRuns: 40 },
  );
});

test('a commitment with 200 HTLCs: signed and checked with the worker pool as one signature at a time would', async () => {
  const pool = signaturePool();
  pool.start();
  for (let i = 0; i < 200 && pool.readyWorkers === 0 && availableParallelism() > 1; i++) await sleep(25);
  const n = 200;
  const htlcs: CommitmentHtlc[] = Array.from({ length: n }, (_, i) => ({
    direction: i % 3 === 0 ? 'received' : 'offered',
    id: BigInt(i),
    amount: msat(1_000_000n + BigInt(i)),
    paymentHash: sha256(new Uint8Array([7, i])),
    cltvExpiry: 600 + (i % 11),
  }));
  const inHtlcs = htlcs.reduce((sum, h) => sum + h.amount, 0n);
  const aView: ChannelTxParams = {
    channelType: 'anchors_zero_fee_htlc',
    fundingOutpoint,
    fundingAmount,
    localIsFunder: true,
    local: { basepoints: A.basepoints, dustLimit: sat(546), toSelfDelay: 144 },
    remote: { basepoints: B.basepoints, dustLimit: sat(546), toSelfDelay: 144 },
  };
  const bView: ChannelTxParams = { ...aView, localIsFunder: false, local: aView.remote, remote: aView.local };
  const aBalance = (FUNDING_MSAT - inHtlcs) / 2n;
  const bBalance = FUNDING_MSAT - inHtlcs - aBalance;
  const feerate = feeratePerKw(253);
  const bPoint = perCommitmentPoint(perCommitmentSecret(B.seed, 7n));
  const theirs = buildHolderCommitment(
    aView,
    'remote',
    { commitmentNumber: 7n, feerate, toLocal: msat(aBalance), toRemote: msat(bBalance), htlcs },
    bPoint,
  );
  const ours = buildHolderCommitment(
    bView,
    'local',
    {
      commitmentNumber: 7n,
      feerate,
      toLocal: msat(bBalance),
      toRemote: msat(aBalance),
      htlcs: htlcs.map((h) => ({ ...h, direction: h.direction === 'offered' ? 'received' : 'offered' })),
    },
    bPoint,
  );
  assert.ok(theirs.ok && ours.ok);
  assert.equal(ours.value.htlcTxs.length, n);
  const htlcKey = derivePrivkey(A.secrets.htlc, bPoint);
  const sigs = signRemoteCommitment(theirs.value, A.secrets.funding, htlcKey);
  assert.deepEqual(
    sigs.htlcSignatures,
    theirs.value.htlcTxs.map((t) => signHtlcTx(t, htlcKey, false)),
  );
  assert.ok(verifyLocalCommitmentSignatures(ours.value, sigs).ok);
  const flip = (s: Uint8Array) => Uint8Array.from(s, (b, j) => (j === 10 ? b ^ 1 : b));
  const firstBad = (bad: Map<number, Uint8Array>) => {
    const r = verifyLocalCommitmentSignatures(ours.value, {
      signature: sigs.signature,
      htlcSignatures: sigs.htlcSignatures.map((s, i) => bad.get(i) ?? s),
    });
    return r.ok ? -1 : r.error.kind === 'bad_htlc_signature' ? r.error.index : r.error.kind;
  };
  const sig = (i: number) => sigs.htlcSignatures[i]!;
  // The calling thread checks the head, a worker the tail: a bad signature is found in either.
  assert.equal(firstBad(new Map([[3, flip(sig(3))]])), 3);
  assert.equal(firstBad(new Map([[190, flip(sig(190))]])), 190);
  assert.equal(
    firstBad(
      new Map([
        [150, flip(sig(150))],
        [190, flip(sig(190))],
        [20, flip(sig(20))],
      ]),
    ),
    20,
  );
  assert.equal(
    firstBad(
      new Map([
        [120, sig(120).subarray(0, 63)],
        [180, flip(sig(180))],
      ]),
    ),
    120,
  );
  assert.equal(
    firstBad(
      new Map([
        [10, flip(sig(10))],
        [120, sig(120).subarray(0, 63)],
      ]),
    ),
    10,
  );
});
