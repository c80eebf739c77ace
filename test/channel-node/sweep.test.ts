// The to_local sweeper (src/node/sweep.ts) on real commitments: an anchors channel force-closed by the
// driver; every input of the sweep is checked by the script interpreter.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verifyInput } from '../../src/bitcoin/interpreter.ts';
import { STANDARD_SCRIPT_VERIFY_FLAGS } from '../../src/bitcoin/script-error.ts';
import { parseTx, type Transaction } from '../../src/bitcoin/tx.ts';
import { commitmentsOf } from '../../src/bolt02-channel/index.ts';
import { fromHex } from '../../src/core/bytes.ts';
import type { FeeratePerKw, Msat, Sat } from '../../src/core/units.ts';
import {
  buildToLocalSweep,
  buildToRemoteSweep,
  findToRemote,
  ownCommitmentOutputs,
  toLocalMatureAt,
} from '../../src/node/sweep.ts';
import { openChannel, type TestNode, twoNodes } from './driver-harness.ts';

async function forceClosedAnchors(): Promise<{ alice: TestNode; commit: Transaction }> {
  const { net, alice, bob } = await twoNodes([1_000_000n], '400000');
  await openChannel(net, alice, bob);
  assert.equal(commitmentsOf(alice.channel().state)!.channelType, 'anchors_zero_fee_htlc');
  const r = await alice.driver.closeChannel(alice.channel(), { unilateralTimeoutS: 0 });
  return { alice, commit: parseTx(fromHex(r.tx)) };
}

function verifyAll(sweep: Transaction, commit: Transaction): void {
  const prevouts = sweep.inputs.map((i) => commit.outputs[i.prevout.vout]!);
  sweep.inputs.forEach((_, i) => {
    assert.equal(verifyInput(sweep, i, prevouts, STANDARD_SCRIPT_VERIFY_FLAGS), null, `input ${i}`);
  });
}

test('sweep: anchors channel, to_local alone at a normal feerate (the anchor costs more than it holds)', async () => {
  const { alice, commit } = await forceClosedAnchors();
  const c = commitmentsOf(alice.channel().state)!;
  const own = ownCommitmentOutputs(c, alice.channel().signer, commit)!;
  assert.ok(own.toLocal && own.anchor, 'our commitment, with to_local and our anchor');
  assert.equal(own.toSelfDelay, c.remote.toSelfDelay);
  assert.equal(toLocalMatureAt(1000, own.toSelfDelay), 1000 + own.toSelfDelay);
  const keys = alice.keys.channelKeys(alice.channel().keyIndex);
  const r = buildToLocalSweep(own, keys, alice.channel().meta.shutdownScript, 2500 as FeeratePerKw);
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.equal(r.value.tx.inputs.length, 1);
  assert.equal(r.value.tx.inputs[0]!.sequence, own.toSelfDelay);
  assert.equal(r.value.value + r.value.fee, own.toLocal.value);
  verifyAll(r.value.tx, commit);
});

test('sweep: at the floor feerate the anchor rides along, signed with the funding key', async () => {
  const { alice, commit } = await forceClosedAnchors();
  const own = ownCommitmentOutputs(commitmentsOf(alice.channel().state)!, alice.channel().signer, commit)!;
  const keys = alice.keys.channelKeys(alice.channel().keyIndex);
  const r = buildToLocalSweep(own, keys, alice.channel().meta.shutdownScript, 253 as FeeratePerKw);
  assert.ok(r.ok);
  assert.equal(r.value.tx.inputs.length, 2);
  assert.equal(r.value.value + r.value.fee, own.toLocal!.value + own.anchor!.value);
  verifyAll(r.value.tx, commit);
});

test('sweep: not our commitment (the peer holds the other one) -> nothing to sweep', async () => {
  const { alice, commit } = await forceClosedAnchors();
  const other = { ...commit, locktime: commit.locktime ^ 1 };
  assert.equal(
    ownCommitmentOutputs(commitmentsOf(alice.channel().state)!, alice.channel().signer, other),
    undefined,
  );
});

test('sweep: anchors channel, their commitment: our to_remote with its 1-block CSV', async () => {
  const { net, alice, bob } = await twoNodes([1_000_000n], '400000');
  await openChannel(net, alice, bob, 500_000n as Sat, 100_000_000n as Msat);
  const r = await alice.driver.closeChannel(alice.channel(), { unilateralTimeoutS: 0 });
  const commit = parseTx(fromHex(r.tx));
  const keys = bob.keys.channelKeys(bob.channel().keyIndex);
  const found = findToRemote('anchors_zero_fee_htlc', keys, commit);
  assert.ok(found);
  assert.equal(found.value, 100_000n);
  assert.equal(found.csv, 1);
  const sweep = buildToRemoteSweep(
    'anchors_zero_fee_htlc',
    keys,
    commit,
    bob.channel().meta.shutdownScript,
    2500 as FeeratePerKw,
  );
  assert.ok(sweep.ok);
  assert.equal(sweep.value.tx.inputs[0]!.sequence, 1);
  verifyAll(sweep.value.tx, commit);
  assert.equal(
    findToRemote('anchors_zero_fee_htlc', alice.keys.channelKeys(alice.channel().keyIndex), commit),
    undefined,
    "alice's key is not on her own to_remote",
  );
});
