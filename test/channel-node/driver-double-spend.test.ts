// The channel driver and a double-spent funding transaction (FakeChain, real wallets and watchers): the
// funder forgets the channel once the double-spend is DOUBLE_SPEND_DEPTH deep and the fundee follows on
// its error; a reorg that takes the double-spend out before then brings the funding back and the channel
// opens as usual.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reversedHex, type Transaction, txidHex } from '../../src/bitcoin/tx.ts';
import { commitmentsOf, DOUBLE_SPEND_DEPTH } from '../../src/bolt02-channel/index.ts';
import type { Sat } from '../../src/core/units.ts';
import { channelMethods } from '../../src/node/channel-rpc.ts';
import { doubleSpendOf } from '../../src/node/onchain.ts';
import { signInputs } from '../../src/wallet/spend.ts';
import { outpointKey } from '../../src/wallet/wallet.ts';
import { settle, startOpen, type TestNet, type TestNode, twoNodes } from './driver-harness.ts';

/** alice opens a channel to bob; returns the signed funding transaction, left in the mempool. */
async function fundingBroadcast(net: TestNet, alice: TestNode, bob: TestNode): Promise<Transaction> {
  const open = startOpen(alice, bob);
  for (let i = 0; i < 20 && open.done() === undefined; i++) await settle();
  assert.ok(open.done() !== undefined && !(open.done() instanceof Error), 'funding broadcast');
  const txid = reversedHex(commitmentsOf(alice.channel().state)!.fundingOutpoint.txid);
  const tx = net.mempool.get(txid);
  assert.ok(tx);
  return tx;
}

/** The coin the funding spends, back to alice at a higher fee: replaces the funding in the mempool. */
function doubleSpend(net: TestNet, alice: TestNode, funding: Transaction): Transaction {
  const prevout = funding.inputs[0]!.prevout;
  const coin = alice.wallet
    .coins()
    .find((c) => c.outpoint === outpointKey(reversedHex(prevout.txid), prevout.vout));
  assert.ok(coin);
  const conflict = signInputs(alice.wallet, {
    version: 2,
    inputs: [{ prevout, scriptSig: new Uint8Array(0), sequence: 0xfffffffd, witness: [] }],
    outputs: [{ value: (coin.value - 10_000n) as Sat, script: alice.wallet.newReceiveScript().script }],
    locktime: 0,
  });
  net.mempool.delete(txidHex(funding));
  net.mempool.set(txidHex(conflict), conflict);
  return conflict;
}

function closedCauses(n: TestNode): string[] {
  const m = channelMethods(n.driver, n.onchain, () => new Set()).find(
    (x) => x.name === 'listclosedchannels',
  )!;
  return (m.handler({}) as { closedchannels: { close_cause: string }[] }).closedchannels.map(
    (c) => c.close_cause,
  );
}

test('driver: a double-spent funding is forgotten by both sides once the double-spend is deep', async () => {
  const { net, alice, bob } = await twoNodes([1_000_000n]);
  const funding = await fundingBroadcast(net, alice, bob);
  assert.equal(doubleSpendOf(alice.wallet, funding), undefined, 'the funding spends its own inputs');
  const conflict = doubleSpend(net, alice, funding);
  assert.equal(doubleSpendOf(alice.wallet, funding), undefined, 'a conflict in a mempool is not enough');
  const logFrom = net.log.length;
  await net.mine(1);
  // The wallet at once: the funding (and its change) is gone, its inputs are no longer reserved.
  assert.equal(alice.wallet.getTx(txidHex(funding)), undefined);
  assert.deepEqual(
    alice.wallet
      .coins()
      .filter((c) => c.status !== 'spent')
      .map((c) => [c.txid, c.status, c.reservedUntil]),
    [[txidHex(conflict), 'confirmed', null]],
  );
  assert.deepEqual(doubleSpendOf(alice.wallet, funding), { txid: txidHex(conflict), confirmations: 1 });
  assert.equal(alice.wallet.balance().reserved, 0n);

  await net.mineEmpty(DOUBLE_SPEND_DEPTH - 2);
  assert.equal(
    alice.channel().state.phase,
    'wait_channel_ready',
    'a reorg could still bring the funding back',
  );
  assert.ok(alice.logs.some((l) => l.msg.includes('forgotten once the double-spend is deep enough')));

  await net.mineEmpty(1);
  assert.equal(alice.driver.list().length, 0, 'alice forgot the channel (archived)');
  assert.equal(bob.channel().state.phase, 'closed', 'bob forgot it on her error');
  await net.mineEmpty(1);
  assert.equal(bob.driver.list().length, 0, 'archived on the next block');
  assert.deepEqual(closedCauses(alice), ['aborted']);
  assert.deepEqual(closedCauses(bob), ['remote_error']);
  assert.deepEqual(alice.watcher.list(), []);
  assert.deepEqual(bob.watcher.list(), []);
  const after = net.log.slice(logFrom);
  assert.ok(after.includes('alice send error'));
  assert.ok(!after.some((l) => l.includes('broadcast')), `nothing published: ${after.join(', ')}`);
  await alice.restart();
  assert.equal(alice.driver.list().length, 0, 'still forgotten after a restart');
});

test('driver: a reorg takes the double-spend out before it is deep; the funding confirms, the channel opens', async () => {
  const { net, alice, bob } = await twoNodes([1_000_000n]);
  const funding = await fundingBroadcast(net, alice, bob);
  const conflict = doubleSpend(net, alice, funding);
  const at = net.chain.active.length;
  await net.mine(3);
  assert.equal(doubleSpendOf(alice.wallet, funding)?.confirmations, 3);
  // Reorg: the three blocks go, a longer branch confirms the funding instead.
  for (const n of [alice, bob])
    for (let h = net.chain.active.length - 1; h >= at; h--) {
      const r = n.wallet.disconnectBlock(reversedHex(net.chain.active[h]!.hash));
      assert.ok(r.ok);
    }
  net.chain.rewind(at);
  net.mempool.clear();
  net.mempool.set(txidHex(funding), funding);
  await net.mine(1);
  await net.mineEmpty(DOUBLE_SPEND_DEPTH + 1);
  assert.equal(doubleSpendOf(alice.wallet, funding), undefined, 'the conflict is gone from the wallet');
  assert.equal(alice.wallet.getTx(txidHex(conflict)), undefined);
  assert.equal(alice.channel().state.phase, 'normal');
  assert.equal(bob.channel().state.phase, 'normal');
});
