// The node's ChainWatcher (src/node/chain-watch.ts) over the real in-process devnet: a confirm watch and a
// spend watch are reported once, undone when invalidateblock removes their block, and reported again when
// the same transactions confirm in the new branch.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { addressFromScript } from '../../src/bitcoin/address.ts';
import { reversedHex, serializeTx, txid } from '../../src/bitcoin/tx.ts';
import { DevnetChain } from '../../src/chain/devnet/adapter.ts';
import { Devnet } from '../../src/chain/devnet/node.ts';
import { DevnetWallet } from '../../src/chain/devnet/wallet.ts';
import { equal } from '../../src/core/bytes.ts';
import { systemEntropy } from '../../src/crypto/random.ts';
import { ChainWatcher, type WatchEvent } from '../../src/node/chain-watch.ts';
import { memoryStore } from '../../src/store/sqlite.ts';
import { spend, TEST_SCRIPT } from './conformance.ts';

const describeEvent = (e: WatchEvent): string => {
  switch (e.kind) {
    case 'depth':
      return `depth ${e.id} ${e.depth} @${e.at.height}`;
    case 'unconfirmed':
      return `unconfirmed ${e.id}`;
    case 'spent':
      return `spent ${e.id} by ${e.spenderTxid.slice(0, 8)} @${e.at.height}`;
    case 'unspent':
      return `unspent ${e.id} by ${e.spenderTxid.slice(0, 8)}`;
  }
};

test('node chain watcher over devnet: confirm and spend watches through a reorg', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shandian-watch-'));
  const node = new Devnet({ datadir: dir });
  try {
    const wallet = new DevnetWallet(node, systemEntropy);
    node.mine(101, wallet.miningScript);
    const chain = new DevnetChain(node);
    const tip = await chain.tip();
    const watcher = new ChainWatcher(chain, memoryStore(), { start: tip });
    const seen: string[] = [];
    watcher.onEvent((e) => {
      seen.push(describeEvent(e));
    });
    const funded = wallet.send(addressFromScript('regtest', TEST_SCRIPT)!, 1_000_000n);
    assert.ok(funded.ok);
    const vout = funded.value.tx.outputs.findIndex((o) => equal(o.script, TEST_SCRIPT));
    const fundTxid = reversedHex(funded.value.txid);
    await watcher.add({ kind: 'confirm', id: 'fund', txid: fundTxid, untilDepth: 2 });
    await watcher.add({ kind: 'spend', id: 'out', txid: fundTxid, vout });
    node.mine(1, wallet.miningScript);
    await watcher.sync();
    assert.deepEqual(seen, ['depth fund 1 @102']);
    seen.length = 0;

    const tx = spend(funded.value.txid, vout, 1_000_000n, 1_000n);
    await chain.broadcast(serializeTx(tx));
    const child = reversedHex(txid(tx)).slice(0, 8);
    const [spentIn] = node.mine(1, wallet.miningScript);
    await watcher.sync();
    // Within a block, spends are reported before depths.
    assert.deepEqual(seen, [`spent out by ${child} @103`, 'depth fund 2 @102']);
    seen.length = 0;

    // The spending block goes away: the spend is undone; the funding stays confirmed (depth 2 was its last).
    assert.ok(node.invalidateBlock(spentIn!).ok);
    node.mine(2, wallet.miningScript);
    await watcher.sync();
    assert.deepEqual(seen, [`unspent out by ${child}`, `spent out by ${child} @103`]);
    assert.equal(watcher.tipHeight, 104);
  } finally {
    node.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
