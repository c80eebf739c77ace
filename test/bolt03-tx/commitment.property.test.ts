// Properties of the commitment builder over random channels: conservation of value, the trimming and
// dust rules, BIP69+CLTV order, weights within the spec's expected weights, and mirror-image views.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { serializeTx, weight } from '../../src/bitcoin/tx.ts';
import {
  ANCHOR_OUTPUT_VALUE,
  buildCommitment,
  buildHolderCommitment,
  buildHtlcTx,
  buildHtlcTxs,
  CHANNEL_TYPES,
  type ChannelBasepoints,
  type ChannelTxParams,
  type CommitmentHtlc,
  commitmentFee,
  commitmentWeight,
  compareOutputs,
  decodeCommitmentNumber,
  encodeCommitmentNumber,
  hasAnchors,
  htlcSuccessFee,
  htlcSuccessWeight,
  htlcTimeoutFee,
  htlcTimeoutWeight,
  isTrimmed,
  signedFundingSpend,
  signedHtlcTx,
} from '../../src/bolt03-tx/index.ts';
import { hex } from '../../src/core/bytes.ts';
import { feeratePerKw, msat, sat } from '../../src/core/units.ts';
import { publicKeyOf, sha256 } from '../../src/crypto/index.ts';
import { fundingAmount, fundingOutpoint, keys, obscurer } from './fixture.ts';

const key = (n: number): Uint8Array => publicKeyOf(sha256(new Uint8Array([n, 0xaa])));
const basepoints = (base: number): ChannelBasepoints => ({
  fundingPubkey: key(base),
  revocationBasepoint: key(base + 1),
  paymentBasepoint: key(base + 2),
  delayedPaymentBasepoint: key(base + 3),
  htlcBasepoint: key(base + 4),
});

const FUNDING = 10_000_000n;

/** Random channel state: HTLC amounts, then a split of what is left between the two balances. */
const stateArb = fc
  .record({
    type: fc.constantFrom(...CHANNEL_TYPES),
    feerate: fc.oneof(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 200_000 })),
    dust: fc.integer({ min: 294, max: 5_000 }),
    ownerIsFunder: fc.boolean(),
    htlcs: fc.array(
      fc.record({
        offered: fc.boolean(),
        amount: fc.oneof(fc.bigInt({ min: 1n, max: 10_000_000n }), fc.bigInt({ min: 1n, max: 300_000_000n })),
        cltv: fc.integer({ min: 0, max: 600_000 }),
        hash: fc.integer({ min: 0, max: 3 }),
      }),
      { maxLength: 12 },
    ),
    split: fc.bigInt({ min: 0n, max: 1n << 40n }),
  })
  .map((r) => {
    const htlcs: CommitmentHtlc[] = r.htlcs.map((h, i) => ({
      direction: h.offered ? 'offered' : 'received',
      id: BigInt(i),
      amount: msat(h.amount),
      paymentHash: sha256(new Uint8Array([h.hash])),
      cltvExpiry: h.cltv,
    }));
    const inHtlcs = htlcs.reduce((s, h) => s + h.amount, 0n);
    const rest = FUNDING * 1000n - inHtlcs;
    const toLocal = rest <= 0n ? 0n : r.split % (rest + 1n);
    return { ...r, htlcs, toLocal, toRemote: rest - toLocal, ok: rest >= 0n };
  })
  .filter((s) => s.ok);

test('property: value is conserved and every rule of construction holds', () => {
  fc.assert(
    fc.property(stateArb, (s) => {
      const feerate = feeratePerKw(s.feerate);
      const dust = sat(s.dust);
      const r = buildCommitment({
        channelType: s.type,
        fundingOutpoint,
        fundingAmount,
        commitmentNumber: 42n,
        obscurer,
        ownerIsFunder: s.ownerIsFunder,
        toSelfDelay: 144,
        dustLimit: dust,
        feerate,
        toLocal: msat(s.toLocal),
        toRemote: msat(s.toRemote),
        htlcs: s.htlcs,
        keys,
      });
      assert.ok(r.ok);
      const c = r.value;
      const anchors = hasAnchors(s.type);
      const untrimmed = s.htlcs.filter((h) => !isTrimmed(s.type, h.direction, h.amount, feerate, dust));
      const trimmed = s.htlcs.filter((h) => isTrimmed(s.type, h.direction, h.amount, feerate, dust));
      assert.deepEqual(
        c.trimmed.map((h) => h.id),
        trimmed.map((h) => h.id),
      );
      assert.equal(c.htlcOutputs.length, untrimmed.length);
      assert.equal(c.baseFee, commitmentFee(s.type, feerate, untrimmed.length));

      // Outputs: sorted, above dust (anchors aside), HTLC values in whole satoshis.
      for (let i = 1; i < c.tx.outputs.length; i++) {
        const a = c.outputs[i - 1]!;
        const b = c.outputs[i]!;
        const cltv = (o: typeof a) => (o.kind === 'htlc' ? o.htlc.cltvExpiry : undefined);
        assert.ok(compareOutputs({ ...a, cltv: cltv(a) }, { ...b, cltv: cltv(b) }) <= 0, 'BIP69+CLTV order');
      }
      for (const o of c.outputs) {
        assert.equal(o.value, c.tx.outputs[o.index]!.value);
        if (o.kind === 'local_anchor' || o.kind === 'remote_anchor')
          assert.equal(o.value, ANCHOR_OUTPUT_VALUE);
        else assert.ok(o.value >= dust);
        if (o.kind === 'htlc') assert.equal(o.value, o.htlc.amount / 1000n);
      }

      // Conservation, in msat, from first principles: what the funder paid, what was trimmed or
      // omitted as dust, and the sub-satoshi remainders all end up as fee.
      const cost = (c.baseFee + (anchors ? 2n * ANCHOR_OUTPUT_VALUE : 0n)) * 1000n;
      const funderBal = s.ownerIsFunder ? s.toLocal : s.toRemote;
      const paid = funderBal >= cost ? cost : funderBal;
      assert.equal(c.funderShortfall, cost - paid);
      const local = s.ownerIsFunder ? s.toLocal - paid : s.toLocal;
      const remote = s.ownerIsFunder ? s.toRemote : s.toRemote - paid;
      const present = (v: bigint): boolean => v / 1000n >= BigInt(s.dust) && v / 1000n > 0n;
      const has = (k: string) => c.outputs.some((o) => o.kind === k);
      assert.equal(has('to_local'), present(local));
      assert.equal(has('to_remote'), present(remote));
      if (anchors) {
        assert.equal(has('local_anchor'), present(local) || untrimmed.length > 0);
        assert.equal(has('remote_anchor'), present(remote) || untrimmed.length > 0);
      } else assert.ok(!has('local_anchor') && !has('remote_anchor'));
      const anchorsPresent = c.outputs.filter((o) => o.kind.endsWith('anchor')).length;
      const expectedFeeMsat =
        paid -
        BigInt(anchorsPresent) * ANCHOR_OUTPUT_VALUE * 1000n +
        (present(local) ? local % 1000n : local) +
        (present(remote) ? remote % 1000n : remote) +
        trimmed.reduce((t, h) => t + h.amount, 0n) +
        untrimmed.reduce((t, h) => t + (h.amount % 1000n), 0n);
      assert.equal(c.fee * 1000n, expectedFeeMsat);
      const outs = c.tx.outputs.reduce((t, o) => t + o.value, 0n);
      assert.equal(outs + c.fee, fundingAmount);

      assert.equal(decodeCommitmentNumber(c.tx, obscurer), 42n);

      // Every untrimmed HTLC's second-stage output is itself at or above the dust limit (trimming
      // exists for that), and pays exactly the spec's fee.
      for (const t of buildHtlcTxs(s.type, c, feerate, 144, keys)) {
        const out = t.tx.outputs[0]!.value;
        assert.ok(out >= dust);
        const fee =
          t.kind === 'htlc_timeout' ? htlcTimeoutFee(s.type, feerate) : htlcSuccessFee(s.type, feerate);
        assert.equal(out, t.spent.value - fee);
        assert.equal(t.tx.locktime, t.kind === 'htlc_timeout' ? t.spent.htlc.cltvExpiry : 0);
        assert.equal(t.tx.inputs[0]!.sequence, anchors ? 1 : 0);
      }
    }),
    { numRuns: 300 },
  );
});

test('property: signed transactions weigh no more than the expected weights of "Fee Calculation"', () => {
  const sig = new Uint8Array(64).fill(0x80); // r and s with the top bit set: 72-byte DER + sighash, the maximum
  fc.assert(
    fc.property(stateArb, (s) => {
      const r = buildCommitment({
        channelType: s.type,
        fundingOutpoint,
        fundingAmount,
        commitmentNumber: 1n,
        obscurer,
        ownerIsFunder: s.ownerIsFunder,
        toSelfDelay: 0xffff,
        dustLimit: sat(s.dust),
        feerate: feeratePerKw(s.feerate),
        toLocal: msat(s.toLocal),
        toRemote: msat(s.toRemote),
        htlcs: s.htlcs,
        keys,
      });
      assert.ok(r.ok);
      const c = r.value;
      const signed = signedFundingSpend(c.tx, keys.localFundingPubkey, sig, keys.remoteFundingPubkey, sig);
      assert.ok(weight(signed) <= commitmentWeight(s.type, c.htlcOutputs.length));
    }),
    { numRuns: 100 },
  );
  // HTLC transactions at the largest cltv_expiry (5-byte push) still fit.
  for (const type of CHANNEL_TYPES) {
    for (const direction of ['offered', 'received'] as const) {
      const htlc: CommitmentHtlc = {
        direction,
        id: 0n,
        amount: msat(5_000_000n),
        paymentHash: new Uint8Array(32),
        cltvExpiry: 0xffff_ffff,
      };
      const r = buildCommitment({
        channelType: type,
        fundingOutpoint,
        fundingAmount,
        commitmentNumber: 1n,
        obscurer,
        ownerIsFunder: true,
        toSelfDelay: 0xffff,
        dustLimit: sat(546),
        feerate: feeratePerKw(253),
        toLocal: msat(FUNDING * 1000n - 5_000_000n),
        toRemote: msat(0),
        htlcs: [htlc],
        keys,
      });
      assert.ok(r.ok);
      const o = r.value.htlcOutputs[0]!;
      const t = buildHtlcTx(type, r.value.txid, o, feeratePerKw(253), 0xffff, keys);
      const signed = signedHtlcTx(t, sig, sig, direction === 'received' ? new Uint8Array(32) : undefined);
      const expected = direction === 'offered' ? htlcTimeoutWeight(type) : htlcSuccessWeight(type);
      assert.ok(weight(signed) <= expected, `${type} ${direction}: ${weight(signed)} > ${expected}`);
    }
  }
});

test('property: our build of their commitment is exactly what they build as their own', () => {
  const A = basepoints(10);
  const B = basepoints(20);
  const point = publicKeyOf(sha256(new Uint8Array([99])));
  fc.assert(
    fc.property(
      stateArb,
      fc.integer({ min: 1, max: 2016 }),
      fc.integer({ min: 1, max: 2016 }),
      (s, delayA, delayB) => {
        const ours: ChannelTxParams = {
          channelType: s.type,
          fundingOutpoint,
          fundingAmount,
          localIsFunder: s.ownerIsFunder,
          local: { basepoints: A, dustLimit: sat(s.dust), toSelfDelay: delayA },
          remote: { basepoints: B, dustLimit: sat(s.dust + 7), toSelfDelay: delayB },
        };
        const theirs: ChannelTxParams = {
          ...ours,
          localIsFunder: !ours.localIsFunder,
          local: ours.remote,
          remote: ours.local,
        };
        const state = {
          commitmentNumber: 7n,
          feerate: feeratePerKw(s.feerate),
          toLocal: msat(s.toLocal),
          toRemote: msat(s.toRemote),
          htlcs: s.htlcs,
        };
        const mirrored = {
          ...state,
          toLocal: state.toRemote,
          toRemote: state.toLocal,
          htlcs: s.htlcs.map((h) => ({
            ...h,
            direction: h.direction === 'offered' ? ('received' as const) : ('offered' as const),
          })),
        };
        const x = buildHolderCommitment(ours, 'remote', state, point);
        const y = buildHolderCommitment(theirs, 'local', mirrored, point);
        assert.ok(x.ok && y.ok);
        assert.equal(hex(serializeTx(x.value.commitment.tx)), hex(serializeTx(y.value.commitment.tx)));
        assert.equal(x.value.htlcTxs.length, y.value.htlcTxs.length);
        for (const [i, t] of x.value.htlcTxs.entries()) {
          assert.equal(hex(serializeTx(t.tx)), hex(serializeTx(y.value.htlcTxs[i]!.tx)));
        }
        // And both sides agree on the obscured commitment number.
        assert.equal(
          x.value.commitment.tx.locktime,
          encodeCommitmentNumber(7n, y.value.spec.obscurer).locktime,
        );
      },
    ),
    { numRuns: 150 },
  );
});

test('buildCommitment rejects inconsistent input', () => {
  const base = {
    channelType: 'static_remotekey' as const,
    fundingOutpoint,
    fundingAmount,
    commitmentNumber: 0n,
    obscurer,
    ownerIsFunder: true,
    toSelfDelay: 144,
    dustLimit: sat(546),
    feerate: feeratePerKw(253),
    keys,
  };
  const mismatch = buildCommitment({ ...base, toLocal: msat(1n), toRemote: msat(0n), htlcs: [] });
  assert.equal(mismatch.ok ? '' : mismatch.error.kind, 'balance_mismatch');
  const h: CommitmentHtlc = {
    direction: 'offered',
    id: 3n,
    amount: msat(1000n),
    paymentHash: new Uint8Array(32),
    cltvExpiry: 1,
  };
  const dup = buildCommitment({
    ...base,
    toLocal: msat(FUNDING * 1000n - 2000n),
    toRemote: msat(0n),
    htlcs: [h, h],
  });
  assert.equal(dup.ok ? '' : dup.error.kind, 'duplicate_htlc');
  const big = buildCommitment({
    ...base,
    commitmentNumber: 1n << 48n,
    toLocal: msat(FUNDING * 1000n),
    toRemote: msat(0n),
    htlcs: [],
  });
  assert.equal(big.ok ? '' : big.error.kind, 'commitment_number_out_of_range');
  const whole = { ...base, toLocal: msat(FUNDING * 1000n), toRemote: msat(0n), htlcs: [] };
  for (const bad of [
    { ...whole, toSelfDelay: 0x10000 },
    { ...whole, toSelfDelay: 1.5 },
    { ...whole, keys: { ...keys, revocationPubkey: new Uint8Array(32) } },
    { ...whole, toLocal: msat(FUNDING * 1000n - 1000n), htlcs: [{ ...h, paymentHash: new Uint8Array(31) }] },
    { ...whole, toLocal: msat(FUNDING * 1000n - 1000n), htlcs: [{ ...h, cltvExpiry: 2 ** 32 }] },
  ]) {
    const r = buildCommitment(bad);
    assert.equal(r.ok ? '' : r.error.kind, 'invalid_parameter');
  }
});

test('commitment number encoding round-trips at the edges', () => {
  for (const n of [0n, 1n, 42n, (1n << 24n) - 1n, 1n << 24n, (1n << 48n) - 1n]) {
    for (const o of [0n, obscurer, (1n << 48n) - 1n]) {
      const { locktime, sequence } = encodeCommitmentNumber(n, o);
      assert.equal(locktime >>> 24, 0x20);
      assert.equal(sequence >>> 24, 0x80);
      const tx = {
        version: 2,
        inputs: [{ prevout: fundingOutpoint, scriptSig: new Uint8Array(0), sequence, witness: [] }],
        outputs: [],
        locktime,
      };
      assert.equal(decodeCommitmentNumber(tx, o), n);
    }
  }
  const closing = {
    version: 2,
    inputs: [{ prevout: fundingOutpoint, scriptSig: new Uint8Array(0), sequence: 0xffffffff, witness: [] }],
    outputs: [],
    locktime: 0,
  };
  assert.equal(decodeCommitmentNumber(closing, obscurer), undefined);
});

test('buildHolderCommitment returns an error for an invalid per_commitment_point', () => {
  const p: ChannelTxParams = {
    channelType: 'anchors_zero_fee_htlc',
    fundingOutpoint,
    fundingAmount,
    localIsFunder: true,
    local: { basepoints: basepoints(10), dustLimit: sat(546), toSelfDelay: 144 },
    remote: { basepoints: basepoints(20), dustLimit: sat(546), toSelfDelay: 144 },
  };
  const state = {
    commitmentNumber: 0n,
    feerate: feeratePerKw(253),
    toLocal: msat(FUNDING * 1000n),
    toRemote: msat(0n),
    htlcs: [],
  };
  const r = buildHolderCommitment(p, 'remote', state, new Uint8Array(33));
  assert.equal(r.ok ? '' : r.error.kind, 'invalid_parameter');
  assert.ok(buildHolderCommitment(p, 'remote', state, key(1)).ok);
});

test('a full commitment: 483 HTLCs each way, every one untrimmed, in order, with its HTLC tx', () => {
  const htlcs: CommitmentHtlc[] = [];
  for (let i = 0; i < 966; i++) {
    htlcs.push({
      direction: i % 2 === 0 ? 'offered' : 'received',
      id: BigInt(i >> 1),
      amount: msat(5_000_000n + BigInt(i % 7) * 1000n),
      paymentHash: sha256(new Uint8Array([i & 0xff, i >> 8])),
      cltvExpiry: 700_000 + (i % 13),
    });
  }
  const total = htlcs.reduce((s, h) => s + h.amount, 0n);
  for (const type of CHANNEL_TYPES) {
    const r = buildCommitment({
      channelType: type,
      fundingOutpoint,
      fundingAmount,
      commitmentNumber: 1000n,
      obscurer,
      ownerIsFunder: true,
      toSelfDelay: 144,
      dustLimit: sat(546),
      feerate: feeratePerKw(253),
      toLocal: msat(FUNDING * 1000n - total - 1_000_000_000n),
      toRemote: msat(1_000_000_000n),
      htlcs,
      keys,
    });
    assert.ok(r.ok);
    assert.equal(r.value.htlcOutputs.length, 966);
    assert.equal(r.value.tx.outputs.length, 966 + 2 + (hasAnchors(type) ? 2 : 0));
    assert.equal(new Set(r.value.htlcOutputs.map((o) => `${o.htlc.direction}${o.htlc.id}`)).size, 966);
    assert.equal(buildHtlcTxs(type, r.value, feeratePerKw(253), 144, keys).length, 966);
    assert.equal(decodeCommitmentNumber(r.value.tx, obscurer), 1000n);
  }
});
