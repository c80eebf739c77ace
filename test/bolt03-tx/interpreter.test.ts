// Every transaction of Appendices B, C and F verifies under the script interpreter with Core's standard
// flags; and every spend path BOLT 3 defines (delayed, revocation, preimage, timeout, anchors) is
// exercised against real outputs, including the lock-time rules that must make early spends fail.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verifyInput } from '../../src/bitcoin/interpreter.ts';
import { p2wpkhOfKey } from '../../src/bitcoin/script.ts';
import { STANDARD_SCRIPT_VERIFY_FLAGS } from '../../src/bitcoin/script-error.ts';
import { p2wpkhScriptCode, SIGHASH_ALL, segwitV0Sighash } from '../../src/bitcoin/sighash.ts';
import { parseTx, type Transaction, type TxOut, txid } from '../../src/bitcoin/tx.ts';
import {
  anchorSweepWitness,
  anchorWitness,
  buildHtlcTxs,
  type ChannelType,
  type Commitment,
  type CommitmentOutput,
  deriveRevocationPrivkey,
  fundingOutputScript,
  fundingScript,
  type HtlcTx,
  htlcPenaltyWitness,
  offeredHtlcPreimageWitness,
  receivedHtlcTimeoutWitness,
  signedFundingSpend,
  signedHtlcTx,
  signHtlcTx,
  signP2wsh,
  toLocalDelayedWitness,
  toLocalPenaltyWitness,
  toRemoteAnchorsWitness,
  toRemoteP2wpkhWitness,
  witnessSignature,
} from '../../src/bolt03-tx/index.ts';
import { fromHex } from '../../src/core/bytes.ts';
import { msat, type Sat, sat } from '../../src/core/units.ts';
import { ecdsaSign, hash160, publicKeyOf } from '../../src/crypto/index.ts';
import {
  C,
  dustLimit,
  fundingAmount,
  htlcSetFor,
  keys,
  local,
  localFundingPrivkey,
  localHtlcPrivkey,
  mustBuild,
  param,
  preimageOf,
  remote,
  remoteFundingPrivkey,
  remoteHtlcPrivkey,
  remotePaymentBasepointSecret,
  specFor,
  toCommitmentHtlc,
  toSelfDelay,
} from './fixture.ts';
import { appendix, appendixF, key32 } from './vectors.ts';

const FLAGS = STANDARD_SCRIPT_VERIFY_FLAGS;
const fundingPrevout: TxOut = {
  value: fundingAmount,
  script: fundingOutputScript(local.fundingPubkey, remote.fundingPubkey),
};

function verifySpend(tx: Transaction, prevout: TxOut): string | null {
  return verifyInput(tx, 0, [prevout], FLAGS);
}

/** The expected transactions of a case: the commitment, then its HTLC transactions. */
function checkVectorTxs(commitHex: string, htlcHexes: readonly string[]): void {
  const commit = parseTx(fromHex(commitHex));
  assert.equal(verifySpend(commit, fundingPrevout), null, 'commitment tx');
  for (const h of htlcHexes) {
    const tx = parseTx(fromHex(h));
    const vout = tx.inputs[0]!.prevout.vout;
    assert.deepEqual(tx.inputs[0]!.prevout.txid, txid(commit));
    assert.equal(verifySpend(tx, commit.outputs[vout]!), null, `HTLC tx spending output ${vout}`);
  }
}

test('interpreter: every Appendix C commitment and HTLC transaction verifies (standard flags)', () => {
  for (const v of C.cases)
    checkVectorTxs(
      v.commitTxHex,
      v.htlcTxs.map((h) => h.txHex),
    );
});

test('interpreter: every Appendix F (anchors) commitment and HTLC transaction verifies', () => {
  for (const v of appendixF())
    checkVectorTxs(
      v.ExpectedCommitmentTxHex,
      v.HtlcDescs.map((d) => d.ResolutionTxHex),
    );
});

test('interpreter: the Appendix B funding transaction verifies', () => {
  const b = appendix('Appendix B');
  const coinbase = parseTx(fromHex(/Block 1 coinbase transaction: ([0-9a-f]+)/.exec(b)![1]!));
  const funding = parseTx(fromHex(/funding tx: ([0-9a-f]+)/.exec(b)![1]!));
  assert.equal(verifySpend(funding, coinbase.outputs[0]!), null);
});

// ---- Spend paths ------------------------------------------------------------------------------

const perCommitmentSecret = key32(param('x_local_per_commitment_secret'));
const revocationPrivkey = deriveRevocationPrivkey(
  key32(param('remote_revocation_basepoint_secret')),
  perCommitmentSecret,
);
const delayedPrivkey = key32(param('local_delayed_privkey'));
const sweepTo = p2wpkhOfKey(publicKeyOf(new Uint8Array(32).fill(9)));

function spend(
  prev: { txid: Uint8Array; index: number; value: Sat },
  sequence: number,
  locktime: number,
): Transaction {
  return {
    version: 2,
    inputs: [
      { prevout: { txid: prev.txid, vout: prev.index }, scriptSig: new Uint8Array(0), sequence, witness: [] },
    ],
    outputs: [{ value: (prev.value - 200n) as Sat, script: sweepTo }],
    locktime,
  };
}

function withWitness(tx: Transaction, witness: Uint8Array[]): Transaction {
  return { ...tx, inputs: [{ ...tx.inputs[0]!, witness }] };
}

function sigFor(tx: Transaction, ws: Uint8Array, value: Sat, privkey: Uint8Array): Uint8Array {
  return witnessSignature(signP2wsh(tx, 0, ws, value, privkey), SIGHASH_ALL);
}

/** Builds the P2WSH spend with `make(sig-maker)` and checks it (null = valid, else the error name). */
function tryP2wsh(
  c: { txid: Uint8Array },
  o: CommitmentOutput,
  sequence: number,
  locktime: number,
  make: (sign: (privkey: Uint8Array) => Uint8Array, ws: Uint8Array) => Uint8Array[],
): string | null {
  const ws = o.witnessScript!;
  const unsigned = spend({ txid: c.txid, index: o.index, value: o.value }, sequence, locktime);
  const signed = withWitness(
    unsigned,
    make((k) => sigFor(unsigned, ws, o.value, k), ws),
  );
  return verifySpend(signed, { value: o.value, script: o.script });
}

function build(type: ChannelType): { c: Commitment; htlcTxs: HtlcTx[] } {
  const v = C.cases.find((x) => x.name.startsWith('commitment tx with all five HTLCs untrimmed'))!;
  const set = htlcSetFor(v.toLocalMsat, v.toRemoteMsat, true);
  const spec = specFor(
    type,
    msat(v.toLocalMsat),
    msat(v.toRemoteMsat),
    0,
    dustLimit,
    set.map(toCommitmentHtlc),
  );
  const c = mustBuild(spec);
  return { c, htlcTxs: buildHtlcTxs(type, c, spec.feerate, toSelfDelay, keys) };
}

for (const type of ['static_remotekey', 'anchors_zero_fee_htlc'] as const) {
  const anchors = type === 'anchors_zero_fee_htlc';
  const csv1 = anchors ? 1 : 0;

  test(`spend paths (${type}): to_local after to_self_delay, or at once with the revocation key`, () => {
    const { c } = build(type);
    const o = c.outputs.find((x) => x.kind === 'to_local')!;
    assert.equal(
      tryP2wsh(c, o, toSelfDelay, 0, (s, ws) => toLocalDelayedWitness(s(delayedPrivkey), ws)),
      null,
    );
    assert.equal(
      tryP2wsh(c, o, toSelfDelay - 1, 0, (s, ws) => toLocalDelayedWitness(s(delayedPrivkey), ws)),
      'UNSATISFIED_LOCKTIME',
    );
    assert.equal(
      tryP2wsh(c, o, 0, 0, (s, ws) => toLocalPenaltyWitness(s(revocationPrivkey), ws)),
      null,
    );
    assert.notEqual(
      tryP2wsh(c, o, 0, 0, (s, ws) => toLocalPenaltyWitness(s(delayedPrivkey), ws)),
      null,
    );
  });

  test(`spend paths (${type}): to_remote`, () => {
    const { c } = build(type);
    const o = c.outputs.find((x) => x.kind === 'to_remote')!;
    const remotePrivkey = remotePaymentBasepointSecret;
    if (anchors) {
      assert.equal(
        tryP2wsh(c, o, 1, 0, (s, ws) => toRemoteAnchorsWitness(s(remotePrivkey), ws)),
        null,
      );
      assert.equal(
        tryP2wsh(c, o, 0, 0, (s, ws) => toRemoteAnchorsWitness(s(remotePrivkey), ws)),
        'UNSATISFIED_LOCKTIME',
      );
    } else {
      const unsigned = spend({ txid: c.txid, index: o.index, value: o.value }, 0, 0);
      const pub = publicKeyOf(remotePrivkey);
      const digest = segwitV0Sighash(unsigned, 0, p2wpkhScriptCode(hash160(pub)), o.value, SIGHASH_ALL);
      const sig = witnessSignature(ecdsaSign(digest, remotePrivkey).compact, SIGHASH_ALL);
      assert.equal(verifySpend(withWitness(unsigned, toRemoteP2wpkhWitness(sig, pub)), o), null);
    }
  });

  if (anchors) {
    test('spend paths (anchors): each anchor by its funding key, or by anyone after 16 blocks', () => {
      const { c } = build(type);
      const la = c.outputs.find((x) => x.kind === 'local_anchor')!;
      const ra = c.outputs.find((x) => x.kind === 'remote_anchor')!;
      assert.equal(
        tryP2wsh(c, la, 0, 0, (s, ws) => anchorWitness(s(localFundingPrivkey), ws)),
        null,
      );
      assert.equal(
        tryP2wsh(c, ra, 0, 0, (s, ws) => anchorWitness(s(remoteFundingPrivkey), ws)),
        null,
      );
      assert.notEqual(
        tryP2wsh(c, la, 0, 0, (s, ws) => anchorWitness(s(remoteFundingPrivkey), ws)),
        null,
      );
      assert.equal(
        tryP2wsh(c, ra, 16, 0, (_s, ws) => anchorSweepWitness(ws)),
        null,
      );
      assert.equal(
        tryP2wsh(c, ra, 15, 0, (_s, ws) => anchorSweepWitness(ws)),
        'UNSATISFIED_LOCKTIME',
      );
    });
  }

  test(`spend paths (${type}): HTLC outputs claimed by the other side, and punished`, () => {
    const { c } = build(type);
    let offered = 0;
    let received = 0;
    for (const o of c.htlcOutputs) {
      const h = o.htlc;
      if (h.direction === 'offered') {
        offered++;
        // The other side has the preimage.
        const pre = preimageOf(h.id);
        assert.equal(
          tryP2wsh(c, o, csv1, 0, (s, ws) => offeredHtlcPreimageWitness(s(remoteHtlcPrivkey), pre, ws)),
          null,
        );
        assert.notEqual(
          tryP2wsh(c, o, csv1, 0, (s, ws) =>
            offeredHtlcPreimageWitness(s(remoteHtlcPrivkey), new Uint8Array(32).fill(0xee), ws),
          ),
          null,
        );
        if (anchors) {
          assert.equal(
            tryP2wsh(c, o, 0, 0, (s, ws) => offeredHtlcPreimageWitness(s(remoteHtlcPrivkey), pre, ws)),
            'UNSATISFIED_LOCKTIME',
          );
        }
      } else {
        received++;
        // The other side times it out at cltv_expiry, not before.
        const seq = anchors ? 1 : 0xfffffffe;
        assert.equal(
          tryP2wsh(c, o, seq, h.cltvExpiry, (s, ws) => receivedHtlcTimeoutWitness(s(remoteHtlcPrivkey), ws)),
          null,
        );
        assert.equal(
          tryP2wsh(c, o, seq, h.cltvExpiry - 1, (s, ws) =>
            receivedHtlcTimeoutWitness(s(remoteHtlcPrivkey), ws),
          ),
          'UNSATISFIED_LOCKTIME',
        );
      }
      assert.equal(
        tryP2wsh(c, o, 0, 0, (s, ws) => htlcPenaltyWitness(s(revocationPrivkey), keys.revocationPubkey, ws)),
        null,
      );
    }
    assert.ok(offered > 0 && received > 0);
  });

  test(`spend paths (${type}): HTLC transactions verify, and their outputs are delayed or punishable`, () => {
    const { c, htlcTxs } = build(type);
    assert.ok(htlcTxs.length > 0);
    for (const t of htlcTxs) {
      const rs = signHtlcTx(t, remoteHtlcPrivkey, false);
      const ls = signHtlcTx(t, localHtlcPrivkey, true);
      const pre = t.kind === 'htlc_success' ? preimageOf(t.spent.htlc.id) : undefined;
      const signed = signedHtlcTx(t, rs, ls, pre);
      assert.equal(verifySpend(signed, { value: t.spent.value, script: t.spent.script }), null);
      if (anchors) {
        // SIGHASH_SINGLE|ANYONECANPAY: the owner may add an input and an output to pay the fee.
        const extra: Transaction = {
          ...signed,
          inputs: [
            ...t.tx.inputs,
            {
              prevout: { txid: new Uint8Array(32).fill(1), vout: 0 },
              scriptSig: new Uint8Array(0),
              sequence: 0,
              witness: [],
            },
          ],
          outputs: [...t.tx.outputs, { value: sat(1000n), script: sweepTo }],
        };
        const extended: HtlcTx = { ...t, tx: extra };
        // The remote signature made over the original transaction still holds; the owner re-signs.
        const resigned = signedHtlcTx(extended, rs, signHtlcTx(extended, localHtlcPrivkey, true), pre);
        const fakePrev: TxOut = { value: sat(5000n), script: sweepTo };
        assert.equal(
          verifyInput(resigned, 0, [{ value: t.spent.value, script: t.spent.script }, fakePrev], FLAGS),
          null,
        );
      }
      const out = {
        txid: txid(signed),
        index: 0,
        value: t.tx.outputs[0]!.value,
        script: t.tx.outputs[0]!.script,
        witnessScript: t.outputWitnessScript,
        kind: 'to_local' as const,
      };
      assert.equal(
        tryP2wsh(out, out, toSelfDelay, 0, (s, ws) => toLocalDelayedWitness(s(delayedPrivkey), ws)),
        null,
      );
      assert.equal(
        tryP2wsh(out, out, toSelfDelay - 1, 0, (s, ws) => toLocalDelayedWitness(s(delayedPrivkey), ws)),
        'UNSATISFIED_LOCKTIME',
      );
      assert.equal(
        tryP2wsh(out, out, 0, 0, (s, ws) => toLocalPenaltyWitness(s(revocationPrivkey), ws)),
        null,
      );
    }
    // The commitment itself, fully signed, verifies too.
    const ls = signP2wsh(
      c.tx,
      0,
      fundingScript(local.fundingPubkey, remote.fundingPubkey),
      fundingAmount,
      localFundingPrivkey,
    );
    const rs = signP2wsh(
      c.tx,
      0,
      fundingScript(local.fundingPubkey, remote.fundingPubkey),
      fundingAmount,
      remoteFundingPrivkey,
    );
    assert.equal(
      verifySpend(
        signedFundingSpend(c.tx, local.fundingPubkey, ls, remote.fundingPubkey, rs),
        fundingPrevout,
      ),
      null,
    );
  });
}
