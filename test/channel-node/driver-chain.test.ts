// The channel driver and the chain: funding rebroadcast, the fundee's 2016-block timeout, and finished
// channels leaving the live set (watches dropped, listclosedchannels).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verifyInput } from '../../src/bitcoin/interpreter.ts';
import { STANDARD_SCRIPT_VERIFY_FLAGS } from '../../src/bitcoin/script-error.ts';
import { parseTx, reversedHex, txid as txidOf } from '../../src/bitcoin/tx.ts';
import { commitmentsOf } from '../../src/bolt02-channel/index.ts';
import { equal, fromHex } from '../../src/core/bytes.ts';
import type { Msat, Sat } from '../../src/core/units.ts';
import { IRREVOCABLE_DEPTH } from '../../src/node/channel-driver.ts';
import { channelMethods } from '../../src/node/channel-rpc.ts';
import { openChannel, settle, startOpen, type TestNode, twoNodes } from './driver-harness.ts';

function fundingTxid(n: TestNode): string {
  return reversedHex(commitmentsOf(n.channel().state)!.fundingOutpoint.txid);
}

function listclosed(n: TestNode): { channel_id: string; close_cause: string }[] {
  const m = channelMethods(n.driver, n.onchain, () => new Set()).find(
    (x) => x.name === 'listclosedchannels',
  )!;
  return (m.handler({}) as { closedchannels: { channel_id: string; close_cause: string }[] }).closedchannels;
}

function channelWatches(n: TestNode): string[] {
  return n.watcher.list().map((w) => w.id);
}

test('funding: refused at first, sent again on the next block until it confirms', async () => {
  const { net, alice, bob } = await twoNodes([1_000_000n]);
  net.refuseBroadcasts = true;
  const open = startOpen(alice, bob);
  for (let i = 0; i < 10 && open.done() === undefined; i++) await settle();
  assert.match(String(open.done()), /refused the funding transaction .*sent again on every block/);
  const txid = fundingTxid(alice);
  assert.equal(net.mempool.has(txid), false);
  net.refuseBroadcasts = false;
  await net.mine(1); // the block carries nothing of ours, and the driver sends the funding again
  assert.ok(net.mempool.has(txid), 'rebroadcast after the block');
  await net.mine(6);
  assert.equal(alice.channel().state.phase, 'normal');
  assert.equal(bob.channel().state.phase, 'normal');
});

test('funding: dropped from the mempool while we were down, sent again after the restart', async () => {
  const { net, alice, bob } = await twoNodes([1_000_000n]);
  const open = startOpen(alice, bob);
  for (let i = 0; i < 10 && open.done() === undefined; i++) await settle();
  const txid = fundingTxid(alice);
  assert.ok(net.mempool.has(txid));
  net.mempool.delete(txid); // evicted
  await alice.restart();
  net.connect(alice, bob);
  await net.mine(1);
  assert.ok(net.mempool.has(txid), 'rebroadcast by the restarted node');
  await net.mine(6);
  assert.equal(alice.channel().state.phase, 'normal');
});

test('fundee: a funding transaction that never confirms is forgotten after 2016 blocks, watches and all', async () => {
  const { net, alice, bob } = await twoNodes([1_000_000n]);
  net.refuseBroadcasts = true; // the funding transaction never reaches the chain
  const open = startOpen(alice, bob);
  for (let i = 0; i < 10 && open.done() === undefined; i++) await settle();
  const key = bob.channel().key;
  assert.equal(bob.channel().state.phase, 'wait_channel_ready');
  assert.deepEqual(channelWatches(bob).sort(), [`fund/${key}`, `spend/${key}`]);
  await net.mineEmpty(2000);
  assert.equal(bob.channel().state.phase, 'wait_channel_ready', 'not yet');
  await net.mineEmpty(20);
  assert.equal(bob.driver.list().length, 0, 'forgotten');
  assert.deepEqual(channelWatches(bob), []);
  assert.equal(listclosed(bob)[0]?.close_cause, 'aborted');
  // The funder keeps its channel (its money is in the funding transaction).
  assert.equal(alice.channel().state.phase, 'wait_channel_ready');
  await bob.restart();
  assert.equal(bob.driver.list().length, 0, 'still forgotten after a restart');
  assert.equal(listclosed(bob).length, 1);
});

test('a close 100 blocks deep: the channel leaves the live set and its watches are dropped', async () => {
  const { net, alice, bob } = await twoNodes([1_000_000n]);
  await openChannel(net, alice, bob);
  const key = alice.channel().key;
  const r = await alice.driver.closeChannel(alice.channel(), { unilateralTimeoutS: 3600 });
  assert.equal(r.type, 'mutual');
  await net.mine(1);
  assert.equal(alice.channel().meta.spentBy?.txid, r.txid);
  assert.equal(listclosed(alice).length, 1, 'listed as closed once spent');
  assert.ok(channelWatches(alice).includes(`spend/${key}`));
  await net.mineEmpty(IRREVOCABLE_DEPTH - 2);
  assert.equal(alice.driver.list().length, 1, '99 deep: still live');
  await net.mineEmpty(1);
  for (const n of [alice, bob]) {
    assert.equal(n.driver.list().length, 0, `${n.name}: archived`);
    assert.deepEqual(channelWatches(n), [], `${n.name}: no watches left`);
    const closed = listclosed(n);
    assert.equal(closed.length, 1);
    assert.equal(closed[0]!.close_cause, 'mutual');
  }
  await alice.restart();
  assert.equal(alice.driver.list().length, 0);
  assert.equal(listclosed(alice).length, 1);
});

test('our commitment confirmed: to_local is swept to the wallet once to_self_delay has passed', async () => {
  const { net, alice, bob } = await twoNodes([1_000_000n]);
  await openChannel(net, alice, bob);
  const before = alice.confirmedSat();
  const close = await alice.driver.closeChannel(alice.channel(), { unilateralTimeoutS: 0 });
  await net.mine(1, [close.txid]);
  const ch = alice.channel();
  const commitTx = parseTx(fromHex(close.tx));
  const delay = commitmentsOf(ch.state)!.remote.toSelfDelay;
  assert.equal(ch.meta.sweep?.state, 'waiting');
  assert.equal(bob.channel().meta.sweep?.state, 'none', 'bob: not his commitment, nothing to sweep');
  await net.mineEmpty(delay - 2); // the commitment is delay-1 deep: a spend could not be mined yet
  const sweepOf = () =>
    [...net.mempool.values()].find((t) => equal(t.inputs[0]!.prevout.txid, txidOf(commitTx)));
  assert.equal(sweepOf(), undefined, 'not before the CSV delay');
  await net.mineEmpty(1);
  const sweep = sweepOf();
  assert.ok(sweep, 'swept once the next block can carry it');
  assert.equal(sweep.inputs[0]!.sequence, delay);
  const spent = commitTx.outputs[sweep.inputs[0]!.prevout.vout]!;
  assert.equal(
    verifyInput(sweep, 0, [spent], STANDARD_SCRIPT_VERIFY_FLAGS),
    null,
    'the witness satisfies the to_local script',
  );
  const fee = spent.value - sweep.outputs[0]!.value;
  assert.ok(fee > 0n && fee < 2_000n, `fee ${fee}`);
  await net.mine(1);
  assert.equal(
    alice.confirmedSat() - before,
    sweep.outputs[0]!.value,
    'the wallet received to_local minus the fee',
  );
  await net.mineEmpty(IRREVOCABLE_DEPTH);
  assert.equal(alice.driver.list().length, 0, 'archived once the sweep is deep');
});

test('their commitment confirmed: our to_remote (payment basepoint, unknown to the wallet) is swept at once', async () => {
  const { net, alice, bob } = await twoNodes([1_000_000n]);
  await openChannel(net, alice, bob, 500_000n as Sat, 200_000_000n as Msat);
  const bobBefore = bob.confirmedSat();
  const close = await alice.driver.closeChannel(alice.channel(), { unilateralTimeoutS: 0 });
  await net.mine(1, [close.txid]);
  const commitTx = parseTx(fromHex(close.tx));
  assert.equal(bob.channel().meta.sweep?.state, 'sent', 'bob swept in the same block');
  const sweep = [...net.mempool.values()].find((t) => equal(t.inputs[0]!.prevout.txid, txidOf(commitTx)));
  assert.ok(sweep);
  const spent = commitTx.outputs[sweep.inputs[0]!.prevout.vout]!;
  assert.equal(spent.value, 200_000n, "bob's balance");
  assert.equal(verifyInput(sweep, 0, [spent], STANDARD_SCRIPT_VERIFY_FLAGS), null);
  await net.mine(1);
  assert.equal(bob.confirmedSat() - bobBefore, sweep.outputs[0]!.value);
  assert.ok(200_000n - sweep.outputs[0]!.value < 2_000n, 'a small fee');
});
