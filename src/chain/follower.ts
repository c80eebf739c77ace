// ChainFollower: polls a ChainSource and delivers blockConnected / blockDisconnected to its listeners,
// strictly in order. On a reorg it disconnects back to the fork point (tip first), then connects the
// new branch from the fork upwards. A listener that throws stops the round; the next poll redelivers
// the same event, so listeners must be idempotent (DESIGN.md rule 10).
import { equal } from '../core/bytes.ts';
import { blockHeight } from '../core/units.ts';
import type { ChainListener, ChainSource, ChainTip } from './seams.ts';

export interface ChainFollowerOptions {
  /** The last block the listeners have already processed; default: the source's tip at the first poll. */
  readonly start?: ChainTip;
  /** How many recent delivered blocks to remember; older ones are fetched back from the source on a deep reorg. */
  readonly memory?: number;
  readonly onError?: (e: unknown) => void;
}

export class ChainFollower {
  private readonly listeners = new Set<ChainListener>();
  /** Delivered blocks, oldest first; the last one is the follower's tip. */
  private chain: ChainTip[] = [];
  private running: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = true;
  private readonly memory: number;

  constructor(
    private readonly source: ChainSource,
    private readonly options: ChainFollowerOptions = {},
  ) {
    this.memory = options.memory ?? 1000;
    if (options.start) this.chain = [options.start];
  }

  subscribe(listener: ChainListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The last block delivered (or the starting point), null before the first poll. */
  get tip(): ChainTip | null {
    return this.chain[this.chain.length - 1] ?? null;
  }

  /** One catch-up round; concurrent calls share the round in progress. */
  poll(): Promise<void> {
    if (!this.running) {
      this.running = this.catchUp().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  start(intervalMs: number): void {
    if (!this.stopped) return;
    this.stopped = false;
    const tick = (): void => {
      this.poll()
        .catch((e: unknown) => this.options.onError?.(e))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, intervalMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  private async catchUp(): Promise<void> {
    // Bounded so a source that keeps reorganising under us cannot spin forever in one round.
    for (let round = 0; round < 100; round++) {
      const tip = await this.source.tip();
      let ours = this.tip;
      if (!ours) {
        this.chain = [tip];
        return;
      }
      if (equal(ours.hash, tip.hash)) return;
      // Walk back to the fork point.
      for (;;) {
        const onChain = ours.height <= tip.height ? await this.source.blockHashAt(ours.height) : null;
        if (onChain && equal(onChain, ours.hash)) break;
        for (const l of this.listeners) await l.blockDisconnected(ours.hash, ours.height);
        this.chain.pop();
        const prev: ChainTip | null = this.tip ?? (await this.parentOf(ours));
        if (!prev) throw new Error('chain follower: reorg deeper than the genesis block');
        if (this.chain.length === 0) this.chain = [prev];
        ours = prev;
      }
      // Connect the new branch.
      let restart = false;
      for (let h = ours.height + 1; h <= tip.height; h++) {
        const hash = await this.source.blockHashAt(h);
        if (!hash) break;
        const block = await this.source.block(hash);
        if (!block || !equal(block.prevHash, ours.hash)) {
          restart = true; // the source reorganised while we walked it
          break;
        }
        for (const l of this.listeners) await l.blockConnected(block);
        ours = { hash: block.hash, height: block.height };
        this.chain.push(ours);
        if (this.chain.length > this.memory) this.chain.splice(0, this.chain.length - this.memory);
      }
      if (!restart) {
        const now = await this.source.tip();
        if (equal(now.hash, ours.hash)) return;
      }
    }
    throw new Error('chain follower: source kept changing, giving up this round');
  }

  private async parentOf(b: ChainTip): Promise<ChainTip | null> {
    if (b.height === 0) return null;
    const header = await this.source.header(b.hash);
    if (!header) throw new Error('chain follower: source no longer knows a block we delivered');
    return { hash: header.prevHash, height: blockHeight(b.height - 1) };
  }
}
