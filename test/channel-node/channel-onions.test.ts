// DetachedOnionStore: the store holds exactly the onions the last written state needs, in as few
// bundles as it takes; a bad bundle is reported, never thrown; a failed batch is forgotten by reload().
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DetachedOnionStore, ONION_NS } from '../../src/node/channel-onions.ts';
import { memoryStore } from '../../src/store/sqlite.ts';
import { put, type StoreOp } from '../../src/store/store.ts';

const onion = (n: number) => new Uint8Array(1366).fill(n);
const onions = (...entries: [string, number][]) => new Map(entries.map(([k, n]) => [k, onion(n)]));
const describe = (ops: StoreOp[]) => ops.map((o) => `${o.kind} ${o.key}`);

test('new onions go into one bundle, kept while any of them is needed, removed after', () => {
  const store = memoryStore();
  const s = new DetachedOnionStore(store);
  const first = s.writes('c/1', onions(['l/0', 1], ['l/1', 2]));
  assert.deepEqual(describe(first), ['put c/1/000000000000']);
  store.batch(first);
  assert.deepEqual(s.writes('c/1', onions(['l/0', 1], ['l/1', 2])), [], 'nothing new: nothing written');
  const more = s.writes('c/1', onions(['l/1', 2], ['r/7', 3]));
  assert.deepEqual(describe(more), ['put c/1/000000000001'], 'l/1 still needs the first bundle');
  store.batch(more);
  const done = s.writes('c/1', onions(['r/7', 3]));
  assert.deepEqual(describe(done), ['delete c/1/000000000000']);
  store.batch(done);
  assert.deepEqual(s.onionOf('c/1', 'r/7'), onion(3));
  assert.equal(s.onionOf('c/1', 'l/0'), undefined);
  store.batch(s.writes('c/1', new Map()));
  assert.deepEqual(store.list(ONION_NS), []);
});

test('an HTLC id that comes back with another onion gets it, also after a restart', () => {
  const store = memoryStore();
  const s = new DetachedOnionStore(store);
  store.batch(s.writes('c/1', onions(['l/0', 1])));
  const again = s.writes('c/1', onions(['l/0', 9]));
  assert.deepEqual(describe(again), ['put c/1/000000000001', 'delete c/1/000000000000']);
  store.batch(again);
  const restarted = new DetachedOnionStore(store);
  assert.deepEqual(restarted.load(), []);
  assert.deepEqual(restarted.onionOf('c/1', 'l/0'), onion(9));
  // Bundle numbers go on after the highest in the store.
  assert.deepEqual(describe(restarted.writes('c/1', onions(['l/0', 9], ['l/1', 4]))), [
    'put c/1/000000000002',
  ]);
});

test('a bundle that cannot be read is reported and not used, never thrown', () => {
  const store = memoryStore();
  const s = new DetachedOnionStore(store);
  store.batch(s.writes('c/1', onions(['l/0', 1])));
  store.batch([
    put(ONION_NS, 'c/2/000000000005', new Uint8Array([0xff, 1])),
    put(ONION_NS, 'junk', new Uint8Array([1])),
  ]);
  const loaded = new DetachedOnionStore(store);
  const bad = loaded.load();
  assert.deepEqual(
    bad.map((b) => b.key),
    ['c/2/000000000005', 'junk'],
  );
  assert.deepEqual(loaded.onionOf('c/1', 'l/0'), onion(1));
  assert.equal(loaded.onionOf('c/2', 'l/0'), undefined);
});

test('after a failed batch, reload() makes the store the truth again: nothing is taken as written', () => {
  const store = memoryStore();
  const s = new DetachedOnionStore(store);
  store.batch(s.writes('c/1', onions(['l/0', 1])));
  s.writes('c/1', onions(['l/0', 1], ['l/1', 2])); // its batch fails: never written
  s.reload('c/1');
  assert.equal(s.onionOf('c/1', 'l/1'), undefined);
  const retry = s.writes('c/1', onions(['l/0', 1], ['l/1', 2]));
  assert.equal(retry.length, 1);
  assert.equal(retry[0]!.kind, 'put');
});

test('forget and orphans remove every bundle of a channel', () => {
  const store = memoryStore();
  const s = new DetachedOnionStore(store);
  store.batch(s.writes('c/1', onions(['l/0', 1])));
  store.batch(s.writes('c/1', onions(['l/0', 1], ['l/1', 2])));
  store.batch(s.writes('c/2', onions(['r/0', 3])));
  assert.deepEqual(describe(s.forget('c/1')).sort(), ['delete c/1/000000000000', 'delete c/1/000000000001']);
  assert.deepEqual(describe(s.orphans(new Set(['c/3']))), ['delete c/2/000000000002']);
});
