// The channel driver (shell) over fakes: see driver-harness.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTx } from '../../src/bitcoin/tx.ts';
import { commitmentsOf } from '../../src/bolt02-channel/index.ts';
import { fromHex } from '../../src/core/bytes.ts';
import type { Msat, Sat } from '../../src/core/units.ts';
import { sha256 } from '../../src/crypto/index.ts';
import { CLOSING_TIMEOUT_MS } from '../../src/node/channel-driver.ts';
import { openChannel, settle, twoNodes } from './driver-harness.ts';

async function pair() {
  const t = await twoNodes([1_000_000n]);
  await openChannel(t.net, t.alice, t.bob);
  return t;
}

test('driver harness: two drivers open a channel to normal', async () => {
  const { alice, bob } = await pair();
  assert.equal(alice.channel().state.phase, 'normal');
  assert.equal(bob.channel().state.phase, 'normal');
});

test('force close: our commitment is broadcast before the error goes to the peer', async () => {
  const { net, alice } = await pair();
  net.log.length = 0;
  const r = await alice.driver.closeChannel(alice.channel(), { unilateralTimeoutS: 0 });
  await settle();
  assert.equal(r.type, 'unilateral');
  const broadcastAt = net.log.indexOf(`alice broadcast ${r.txid}`);
  const errorAt = net.log.indexOf('alice send error');
  assert.ok(broadcastAt >= 0, `commitment broadcast: ${net.log.join(', ')}`);
  assert.ok(errorAt >= 0, `error sent: ${net.log.join(', ')}`);
  assert.ok(broadcastAt < errorAt, `order: ${net.log.join(', ')}`);
});

test('fundchannel all: every confirmed coin goes into the channel, the fee deducted, no change', async () => {
  const { net, alice, bob } = await twoNodes([600_000n, 400_000n]);
  const r = await openChannel(net, alice, bob, 'all');
  const tx = parseTx(fromHex(r.tx));
  assert.equal(tx.inputs.length, 2);
  assert.equal(tx.outputs.length, 1, 'no change output');
  const amount = tx.outputs[0]!.value;
  const fee = 1_000_000n - amount;
  // 2500 sat/kw on a 2-input 1-output P2WSH funding transaction (~700 weight): ~1,750 sat.
  assert.ok(fee > 1_000n && fee < 3_000n, `fee ${fee}`);
  const c = commitmentsOf(alice.channel().state)!;
  assert.equal(c.fundingAmount, amount);
  assert.equal(alice.channel().state.phase, 'normal');
  assert.equal(alice.confirmedSat(), 0n, 'the wallet is empty');
});

test('fundchannel all above 2^24 sat: the channel is capped and the rest comes back as change', async () => {
  const { net, alice, bob } = await twoNodes([20_000_000n]);
  const r = await openChannel(net, alice, bob, 'all');
  const tx = parseTx(fromHex(r.tx));
  assert.equal(tx.outputs[r.outnum]!.value, (1n << 24n) - 1n);
  assert.equal(tx.outputs.length, 2);
  assert.ok(alice.confirmedSat() > 3_000_000n);
});

test('fundchannel all with an empty wallet is refused', async () => {
  const { net, alice, bob } = await twoNodes([]);
  await assert.rejects(openChannel(net, alice, bob, 'all'), /cannot fund the channel/);
  assert.equal(alice.driver.list().length, 0);
});

test('legacy closing negotiation: a peer that stops answering closing_signed gets the channel failed', async () => {
  const { net, alice, bob } = await pair();
  bob.peers.drop.add('closing_signed'); // bob's answers never arrive
  const closing = alice.driver.closeChannel(alice.channel(), { unilateralTimeoutS: 3600 });
  await settle();
  assert.equal(alice.channel().state.phase, 'negotiating');
  assert.ok(net.log.includes('alice send closing_signed'), net.log.join(', '));
  net.clock.advance(CLOSING_TIMEOUT_MS - 1000);
  await settle();
  assert.equal(alice.channel().state.phase, 'negotiating', 'still within the timeout');
  net.clock.advance(2000);
  await settle();
  const r = await closing;
  assert.equal(r.type, 'unilateral');
  const s = alice.channel().state;
  assert.equal(s.phase, 'closing');
  assert.equal(
    s.phase === 'closing' && s.reason.kind === 'local_force' && s.reason.message,
    'closing_signed negotiation timed out',
  );
  assert.ok(net.mempool.has(r.txid), 'our commitment is broadcast');
});

test('legacy closing negotiation: an answering peer closes mutually and no timer fires later', async () => {
  const { net, alice, bob } = await pair();
  const r = await alice.driver.closeChannel(alice.channel(), { unilateralTimeoutS: 3600 });
  await settle();
  assert.equal(r.type, 'mutual');
  net.clock.advance(CLOSING_TIMEOUT_MS * 2);
  await settle();
  assert.equal(alice.channel().state.phase, 'closing');
  assert.equal(bob.channel().state.phase, 'closing');
  assert.deepEqual([...net.mempool.keys()], [r.txid], 'only the mutual close was broadcast');
});

test('shutdown: the peer HTLCs added after our shutdown are marked not to be forwarded (and stay so after a restart)', async () => {
  const { net, alice, bob } = await twoNodes([1_000_000n]);
  await openChannel(net, alice, bob, 500_000n as Sat, 200_000_000n as Msat);
  const hash = (i: number) => sha256(new Uint8Array([i]));
  // Before any shutdown: HTLC 0 is an ordinary one.
  bob.driver.addHtlc(bob.channel(), 1_000_000n as Msat, hash(0), 500);
  await settle();
  // alice sends shutdown while bob's HTLC 1 is on the wire: they cross.
  void alice.driver.closeChannel(alice.channel(), { unilateralTimeoutS: 3600 });
  bob.driver.addHtlc(bob.channel(), 2_000_000n as Msat, hash(1), 500);
  await settle();
  const a = alice.channel();
  const s = a.state;
  assert.ok(s.phase === 'normal' && s.shutdown !== undefined, 'alice is shutting down');
  const received = s.phase === 'normal' ? s.commitments.localCommit.spec.htlcs.map((h) => h.id) : [];
  assert.deepEqual(received, [0n, 1n], 'both HTLCs are committed');
  assert.equal(alice.driver.addedAfterOurShutdown(a, 0n), false);
  assert.equal(alice.driver.addedAfterOurShutdown(a, 1n), true);
  // bob answered with his shutdown: whatever alice would add from now on (her first id is 0) comes after it.
  assert.equal(bob.driver.addedAfterOurShutdown(bob.channel(), 0n), true);
  await alice.restart();
  assert.equal(alice.driver.addedAfterOurShutdown(alice.channel(), 1n), true, 'durable');
  assert.equal(alice.driver.addedAfterOurShutdown(alice.channel(), 0n), false);
});

test('legacy closing negotiation: the timer is armed again after a restart', async () => {
  const { net, alice, bob } = await pair();
  bob.peers.drop.add('closing_signed');
  void alice.driver.closeChannel(alice.channel(), { unilateralTimeoutS: 3600 });
  await settle();
  assert.equal(alice.channel().state.phase, 'negotiating');
  await alice.restart(); // bob does not come back
  assert.equal(alice.channel().state.phase, 'negotiating');
  net.clock.advance(CLOSING_TIMEOUT_MS + 1000);
  await settle();
  const s = alice.channel().state;
  assert.equal(s.phase, 'closing');
  assert.ok(
    alice.channel().meta.closeTx !== undefined && net.mempool.has(alice.channel().meta.closeTx!.txid),
  );
});
