import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { txidHex, txid as txidOf } from '../../src/bitcoin/tx.ts';
import { ChainWatcher, type WatchEvent } from '../../src/node/chain-watch.ts';
import { memoryStore, openSqliteStore } from '../../src/store/sqlite.ts';
import { dummyTx, FakeChain } from './fake-chain.ts';

function watcherOn(chain: FakeChain, store = memoryStore()) {
  const w = new ChainWatcher(chain, store, {
    start: { hash: chain.active[0]!.hash, height: chain.active[0]!.height },
  });
  const events: WatchEvent[] = [];
  w.onEvent((e) => {
    events.push(e);
  });
  return { w, events, store };
}

test('confirm watch reports each depth up to its last, then stops', async () => {
  const chain = new FakeChain();
  const { w, events } = watcherOn(chain);
  const tx = dummyTx();
  await w.add({ kind: 'confirm', id: 'c1', txid: txidHex(tx), untilDepth: 3 });
  chain.push([dummyTx(), tx]);
  await w.sync();
  assert.deepEqual(
    events.map((e) => e.kind === 'depth' && [e.depth, e.at.height, e.at.txIndex]),
    [[1, 1, 1]],
  );
  chain.push([]);
  chain.push([]);
  chain.push([]);
  await w.sync();
  assert.deepEqual(
    events.map((e) => e.kind === 'depth' && e.depth),
    [1, 2, 3],
  );
});

test('a reorg that drops the confirming block un-confirms, and the new confirmation is reported', async () => {
  const chain = new FakeChain();
  const { w, events } = watcherOn(chain);
  const tx = dummyTx();
  await w.add({ kind: 'confirm', id: 'c', txid: txidHex(tx), untilDepth: 6 });
  chain.push([]);
  chain.push([tx]);
  chain.push([]);
  await w.sync();
  assert.deepEqual(
    events.map((e) => e.kind === 'depth' && e.depth),
    [1, 2],
  );
  chain.rewind(2); // drop the blocks at height 2 and 3
  chain.push([]);
  chain.push([]);
  chain.push([]);
  await w.sync();
  assert.deepEqual(
    events.slice(2).map((e) => e.kind),
    ['unconfirmed'],
  );
  chain.push([tx]);
  await w.sync();
  const last = events[events.length - 1]!;
  assert.ok(last.kind === 'depth' && last.depth === 1 && last.at.height === 5);
});

test('spend watch reports the spender; a reorg un-spends', async () => {
  const chain = new FakeChain();
  const { w, events } = watcherOn(chain);
  const funding = dummyTx();
  const spender = dummyTx({ txid: txidOf(funding), vout: 0 });
  const unrelated = dummyTx({ txid: txidOf(funding), vout: 1 });
  await w.add({ kind: 'spend', id: 's', txid: txidHex(funding), vout: 0 });
  chain.push([funding]);
  chain.push([unrelated]);
  await w.sync();
  assert.equal(events.length, 0);
  chain.push([spender]);
  await w.sync();
  assert.equal(events.length, 1);
  const e = events[0]!;
  assert.ok(e.kind === 'spent' && e.spenderTxid === txidHex(spender) && e.at.height === 3);
  chain.rewind(3);
  chain.push([]);
  chain.push([]);
  await w.sync();
  assert.deepEqual(
    events.map((x) => x.kind),
    ['spent', 'unspent'],
  );
});

test('a watch added after its transaction confirmed is looked up and reported', async () => {
  const chain = new FakeChain();
  const { w, events } = watcherOn(chain);
  const tx = dummyTx();
  chain.push([tx]);
  chain.push([]);
  await w.sync();
  await w.add({ kind: 'confirm', id: 'late', txid: txidHex(tx), untilDepth: 3 });
  assert.deepEqual(
    events.map((e) => e.kind === 'depth' && e.depth),
    [2],
  );
});

test('watches and their progress survive a restart (SQLite), and the watcher resumes where it stopped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'watch-'));
  try {
    const chain = new FakeChain();
    const path = join(dir, 's.sqlite');
    const tx = dummyTx();
    {
      const { w, events, store } = watcherOn(chain, openSqliteStore(path));
      await w.add({ kind: 'confirm', id: 'c', txid: txidHex(tx), untilDepth: 3 });
      chain.push([tx]);
      await w.sync();
      assert.equal(events.length, 1);
      store.close();
    }
    chain.push([]); // while we are down
    {
      const store = openSqliteStore(path);
      // No start given: the persisted tip is where it resumes.
      const w = new ChainWatcher(chain, store);
      const events: WatchEvent[] = [];
      w.onEvent((e) => {
        events.push(e);
      });
      assert.deepEqual(
        w.list().map((s) => s.id),
        ['c'],
      );
      await w.sync();
      assert.deepEqual(
        events.map((e) => e.kind === 'depth' && e.depth),
        [2],
      );
      w.remove('c');
      store.close();
      const again = new ChainWatcher(chain, openSqliteStore(path));
      assert.deepEqual(again.list(), []);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a handler that throws makes the block redelivered (at least once), without double-counting', async () => {
  const chain = new FakeChain();
  const w = new ChainWatcher(chain, memoryStore(), {
    start: { hash: chain.active[0]!.hash, height: chain.active[0]!.height },
  });
  const tx = dummyTx();
  let fail = true;
  const seen: number[] = [];
  w.onEvent((e) => {
    if (e.kind === 'depth') seen.push(e.depth);
    if (fail) {
      fail = false;
      throw new Error('crash');
    }
  });
  await w.add({ kind: 'confirm', id: 'c', txid: txidHex(tx), untilDepth: 2 });
  chain.push([tx]);
  await assert.rejects(w.sync());
  await w.sync();
  chain.push([]);
  await w.sync();
  assert.deepEqual(seen, [1, 1, 2]);
});

test('block handlers hear every new tip height, down through a reorg and up again', async () => {
  const chain = new FakeChain();
  const { w } = watcherOn(chain);
  const heights: number[] = [];
  w.onBlock((h) => {
    heights.push(h);
  });
  chain.push([]);
  chain.push([]);
  await w.sync();
  chain.rewind(2);
  chain.push([]);
  chain.push([]);
  await w.sync();
  assert.deepEqual(heights, [1, 2, 1, 2, 3]);
});
