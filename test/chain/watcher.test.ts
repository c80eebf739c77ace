// ChainWatcher fed by a ChainFollower over the in-process devnet: confirmations, spends and payments are
// reported once, and undone in reverse order when their block is disconnected by a reorg.
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
import { ChainFollower } from '../../src/chain/follower.ts';
import { ChainWatcher, type WatchEvent } from '../../src/chain/watcher.ts';
import { equal } from '../../src/core/bytes.ts';
import { systemEntropy } from '../../src/crypto/random.ts';
import { spend, TEST_SCRIPT } from './conformance.ts';

test('watch a txid, an outpoint and a script through a reorg', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shandian-watch-'));
  const node = new Devnet({ datadir: dir });
  try {
    const wallet = new DevnetWallet(node, systemEntropy);
    node.mine(101, wallet.miningScript);
    const chain = new DevnetChain(node);
    const follower = new ChainFollower(chain);
    const seen: string[] = [];
    const describe = (e: WatchEvent): string => {
      switch (e.type) {
        case 'tx-confirmed':
        case 'tx-unconfirmed':
          return `${e.type} ${reversedHex(e.txid).slice(0, 8)} @${e.height}`;
        case 'output-spent':
        case 'output-unspent':
          return `${e.type} ${reversedHex(e.outpoint.txid).slice(0, 8)}:${e.outpoint.vout} @${e.height}`;
        case 'script-paid':
        case 'script-unpaid':
          return `${e.type} ${reversedHex(e.outpoint.txid).slice(0, 8)}:${e.outpoint.vout} @${e.height}`;
      }
    };
    const watcher = new ChainWatcher((e) => {
      seen.push(describe(e));
    });
    follower.subscribe(watcher);
    await follower.poll();
    watcher.watchScript(TEST_SCRIPT);
    const funded = wallet.send(addressFromScript('regtest', TEST_SCRIPT)!, 1_000_000n);
    assert.ok(funded.ok);
    const vout = funded.value.tx.outputs.findIndex((o) => equal(o.script, TEST_SCRIPT));
    const fund = reversedHex(funded.value.txid).slice(0, 8);
    watcher.watchTx(funded.value.txid);
    watcher.watchOutput({ txid: funded.value.txid, vout });
    node.mine(1, wallet.miningScript);
    await follower.poll();
    assert.deepEqual(seen, [`tx-confirmed ${fund} @102`, `script-paid ${fund}:${vout} @102`]);
    seen.length = 0;
    const tx = spend(funded.value.txid, vout, 1_000_000n, 1_000n);
    await chain.broadcast(serializeTx(tx));
    const [spentIn] = node.mine(1, wallet.miningScript);
    await follower.poll();
    const spender = reversedHex(tx.inputs[0]!.prevout.txid).slice(0, 8);
    const child = reversedHex(txid(tx)).slice(0, 8);
    assert.deepEqual(seen, [`output-spent ${spender}:${vout} @103`, `script-paid ${child}:0 @103`]);
    seen.length = 0;
    assert.ok(node.invalidateBlock(spentIn!).ok);
    node.mine(2, wallet.miningScript);
    await follower.poll();
    // Undone newest first, then the same spend confirms again in the new branch.
    assert.deepEqual(seen, [
      `script-unpaid ${child}:0 @103`,
      `output-unspent ${spender}:${vout} @103`,
      `output-spent ${spender}:${vout} @103`,
      `script-paid ${child}:0 @103`,
    ]);
  } finally {
    node.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
