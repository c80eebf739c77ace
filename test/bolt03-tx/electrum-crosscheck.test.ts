// Cross-check against an independent implementation: Electrum's lnutil (python3-electrum) builds the
// same random static_remotekey commitments; the txids (which cover every input and output field and
// the order) must agree. Electrum 4.3 has no anchors, so anchor commitments are covered by Appendix F.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { reversedHex, txidHex } from '../../src/bitcoin/tx.ts';
import { buildCommitment, type CommitmentHtlc } from '../../src/bolt03-tx/index.ts';
import { hex } from '../../src/core/bytes.ts';
import { feeratePerKw, msat, sat } from '../../src/core/units.ts';
import { sha256 } from '../../src/crypto/index.ts';
import { fundingAmount, fundingOutpoint, keys, local, obscurer, remote } from './fixture.ts';

const PYTHON = '/usr/bin/python3';
const script = fileURLToPath(new URL('./electrum_commitment.py', import.meta.url));

const caseArb = fc
  .record({
    feerate: fc.integer({ min: 0, max: 60_000 }),
    dust: fc.integer({ min: 294, max: 3_000 }),
    funder: fc.boolean(),
    ctn: fc.bigInt({ min: 0n, max: (1n << 48n) - 1n }),
    delay: fc.integer({ min: 1, max: 2016 }),
    htlcs: fc.array(
      fc.record({
        offered: fc.boolean(),
        amount: fc.bigInt({ min: 1n, max: 50_000_000n }),
        cltv: fc.integer({ min: 0, max: 800_000 }),
        hash: fc.integer({ min: 0, max: 2 }),
      }),
      { maxLength: 8 },
    ),
    split: fc.bigInt({ min: 0n, max: 1n << 40n }),
  })
  .map((r) => {
    const inHtlcs = r.htlcs.reduce((s, h) => s + h.amount, 0n);
    const rest = fundingAmount * 1000n - inHtlcs;
    const toLocal = r.split % (rest + 1n);
    return { ...r, toLocal, toRemote: rest - toLocal };
  });

test('Electrum lnutil builds the same 200 random static_remotekey commitments', () => {
  const cases = fc.sample(caseArb, { numRuns: 200, seed: 0x5eed });
  const ours: string[] = [];
  const theirs: unknown[] = [];
  for (const c of cases) {
    const htlcs: CommitmentHtlc[] = c.htlcs.map((h, i) => ({
      direction: h.offered ? 'offered' : 'received',
      id: BigInt(i),
      amount: msat(h.amount),
      paymentHash: sha256(new Uint8Array([h.hash])),
      cltvExpiry: h.cltv,
    }));
    const r = buildCommitment({
      channelType: 'static_remotekey',
      fundingOutpoint,
      fundingAmount,
      commitmentNumber: c.ctn,
      obscurer,
      ownerIsFunder: c.funder,
      toSelfDelay: c.delay,
      dustLimit: sat(c.dust),
      feerate: feeratePerKw(c.feerate),
      toLocal: msat(c.toLocal),
      toRemote: msat(c.toRemote),
      htlcs,
      keys,
    });
    assert.ok(r.ok);
    ours.push(txidHex(r.value.tx));
    theirs.push({
      ctn: Number(c.ctn),
      local_funding: hex(local.fundingPubkey),
      remote_funding: hex(remote.fundingPubkey),
      remote_payment: hex(keys.remotePaymentPubkey),
      // The obscurer is computed from the opener's basepoint first, whoever owns the commitment.
      funder_basepoint: hex(local.paymentBasepoint),
      fundee_basepoint: hex(remote.paymentBasepoint),
      revocation: hex(keys.revocationPubkey),
      delayed: hex(keys.localDelayedPubkey),
      local_htlc: hex(keys.localHtlcPubkey),
      remote_htlc: hex(keys.remoteHtlcPubkey),
      delay: c.delay,
      funding_txid: reversedHex(fundingOutpoint.txid),
      funding_pos: fundingOutpoint.vout,
      funding_sat: Number(fundingAmount),
      to_local: Number(c.toLocal),
      to_remote: Number(c.toRemote),
      dust: c.dust,
      feerate: c.feerate,
      funder: c.funder,
      htlcs: c.htlcs.map((h) => ({
        offered: h.offered,
        amount_msat: Number(h.amount),
        cltv: h.cltv,
        hash: hex(sha256(new Uint8Array([h.hash]))),
      })),
    });
  }
  const run = spawnSync(PYTHON, [script], {
    input: JSON.stringify(theirs),
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (run.status === 3 || run.error !== undefined) {
    assert.fail(
      `python3-electrum must be importable from ${PYTHON} (apt-get install python3-electrum): ${run.stderr ?? run.error}`,
    );
  }
  assert.equal(run.status, 0, run.stderr);
  const electrum = JSON.parse(run.stdout) as string[];
  assert.equal(electrum.length, ours.length);
  const differing = ours.map((t, i) => (t === electrum[i] ? -1 : i)).filter((i) => i >= 0);
  assert.deepEqual(differing, [], `cases differing from Electrum: ${differing.join(', ')}`);
});
