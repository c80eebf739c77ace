// ChainFollower against a scripted in-memory ChainSource: ordering, a reorg deeper than the follower's
// memory (walked back through header()), redelivery after a listener fails, and a start point that
// was reorganised away while the node was down.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChainFollower } from '../../src/chain/follower.ts';
import type {
  BlockHeaderInfo,
  ChainBlock,
  ChainListener,
  ChainSource,
  ChainTip,
} from '../../src/chain/seams.ts';
import { hex } from '../../src/core/bytes.ts';
import { blockHeight } from '../../src/core/units.ts';
import { sha256 } from '../../src/crypto/index.ts';

/** A chain as a list of labels; every label names a distinct block hash. */
class FakeSource implements ChainSource {
  private readonly known = new Map<string, ChainBlock>();
  active: ChainBlock[] = [];

  constructor(labels: string[]) {
    this.setChain(labels);
  }

  static hash(label: string): Uint8Array {
    return sha256(new TextEncoder().encode(label));
  }

  setChain(labels: string[]): void {
    this.active = labels.map((label, height) => {
      const b: ChainBlock = {
        hash: FakeSource.hash(label),
        height: blockHeight(height),
        prevHash: height === 0 ? new Uint8Array(32) : FakeSource.hash(labels[height - 1]!),
        time: 1000 + height,
        medianTimePast: 1000 + height,
        txs: [],
      };
      this.known.set(hex(b.hash), b);
      return b;
    });
  }

  async tip(): Promise<ChainTip> {
    const t = this.active[this.active.length - 1]!;
    return { hash: t.hash, height: t.height };
  }
  async blockHashAt(height: number): Promise<Uint8Array | null> {
    return this.active[height]?.hash ?? null;
  }
  async block(hash: Uint8Array): Promise<ChainBlock | null> {
    return this.known.get(hex(hash)) ?? null;
  }
  async header(hash: Uint8Array): Promise<BlockHeaderInfo | null> {
    return this.known.get(hex(hash)) ?? null;
  }
  async transaction(): Promise<null> {
    return null;
  }
  async txOut(): Promise<null> {
    return null;
  }
}

const labels = (prefix: string, from: number, to: number): string[] =>
  Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);
const names = new Map<string, string>();
const name = (h: Uint8Array): string => names.get(hex(h)) ?? '?';
const remember = (...ls: string[][]): void => {
  for (const l of ls.flat()) names.set(hex(FakeSource.hash(l)), l);
};

function recorder(log: string[]): ChainListener {
  return {
    blockConnected: (b) => {
      log.push(`+${name(b.hash)}`);
    },
    blockDisconnected: (h, height) => {
      log.push(`-${name(h)}@${height}`);
    },
  };
}

test('connects in order and handles a reorg deeper than its memory', async () => {
  const main = ['g', ...labels('a', 1, 10)];
  const fork = ['g', ...labels('a', 1, 4), ...labels('b', 4, 12)];
  remember(main, fork);
  const src = new FakeSource(main.slice(0, 3));
  const f = new ChainFollower(src, { memory: 2 });
  const log: string[] = [];
  f.subscribe(recorder(log));
  await f.poll();
  assert.deepEqual(log, []);
  src.setChain(main);
  await f.poll();
  assert.deepEqual(log, labels('+a', 3, 10));
  log.length = 0;
  src.setChain(fork);
  await f.poll();
  assert.deepEqual(log, [...[9, 8, 7, 6, 5, 4].map((h) => `-a${h}@${h}`), ...labels('+b', 4, 12)]);
  assert.equal(f.tip!.height, 11);
});

test('a failing listener stops the round; the next poll delivers the same block again', async () => {
  const chain = ['g', 'a1', 'a2', 'a3'];
  remember(chain);
  const src = new FakeSource(chain.slice(0, 2));
  const f = new ChainFollower(src);
  await f.poll();
  const log: string[] = [];
  let failOnce = true;
  f.subscribe({
    blockConnected: (b) => {
      if (name(b.hash) === 'a3' && failOnce) {
        failOnce = false;
        throw new Error('disk full');
      }
      log.push(`+${name(b.hash)}`);
    },
    blockDisconnected: () => undefined,
  });
  src.setChain(chain);
  await assert.rejects(f.poll(), /disk full/);
  assert.deepEqual(log, ['+a2']);
  assert.equal(name(f.tip!.hash), 'a2');
  await f.poll();
  assert.deepEqual(log, ['+a2', '+a3']);
});

test('a start point reorganised away while stopped is disconnected first', async () => {
  const old = ['g', 'a1', 'a2', 'a3'];
  const now = ['g', 'a1', 'c2', 'c3', 'c4'];
  remember(old, now);
  const src = new FakeSource(old);
  src.setChain(now); // the old blocks stay known, as a node keeps stale blocks
  const f = new ChainFollower(src, { start: { hash: FakeSource.hash('a3'), height: blockHeight(3) } });
  const log: string[] = [];
  f.subscribe(recorder(log));
  await f.poll();
  assert.deepEqual(log, ['-a3@3', '-a2@2', '+c2', '+c3', '+c4']);
});

test('concurrent polls share one round', async () => {
  const chain = ['g', 'a1', 'a2'];
  remember(chain);
  const src = new FakeSource(chain.slice(0, 1));
  const f = new ChainFollower(src);
  await f.poll();
  const log: string[] = [];
  f.subscribe(recorder(log));
  src.setChain(chain);
  await Promise.all([f.poll(), f.poll(), f.poll()]);
  assert.deepEqual(log, ['+a1', '+a2']);
});
