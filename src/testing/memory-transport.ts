// Paired in-memory transports for the N-node harness: what a BOLT 8 connection gives the peer manager
// (authenticated remote key, ordered messages, close once) without sockets or Noise. Messages wait in
// one FIFO queue per direction; a pump hands them over one at a time, picking the next non-empty queue
// with a seeded generator, so links interleave differently per seed while each link stays in order.
import { EventEmitter } from 'node:events';
import type { CloseReason, NoiseConnectionEvents } from '../node/noise-connection.ts';
import type { PeerConnection } from '../node/peer-manager.ts';

/** A small seeded generator (mulberry32): the harness's only source of shuffling. */
export class SeededRandom {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  }
}

export class MemoryConnection extends EventEmitter<NoiseConnectionEvents> implements PeerConnection {
  readonly remoteAddress: string;
  readonly remotePort: number;
  peer: MemoryConnection | null = null;
  private closeReason: CloseReason | null = null;
  /** Messages sent by this end, not yet handed to the other. */
  readonly outbox: Uint8Array[] = [];

  constructor(
    private readonly net: MemoryNetwork,
    readonly remotePubkey: Uint8Array,
    readonly localLabel: string,
    readonly remoteLabel: string,
    port: number,
  ) {
    super();
    this.remoteAddress = remoteLabel;
    this.remotePort = port;
  }

  get closed(): boolean {
    return this.closeReason !== null;
  }

  send(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    this.outbox.push(Uint8Array.from(bytes));
    this.net.wake();
    return true;
  }

  close(): void {
    this.shutdown({ kind: 'local' });
    this.peer?.shutdown({ kind: 'remote-closed' });
  }

  private shutdown(reason: CloseReason): void {
    if (this.closeReason !== null) return;
    this.closeReason = reason;
    // Undelivered messages die with the connection, as with a socket that is torn down.
    this.outbox.length = 0;
    this.net.forget(this);
    // Like NoiseConnection: events come after the current synchronous code.
    setImmediate(() => this.emit('close', reason));
  }

  /** Hands the oldest queued message to the other end; false when there is none. */
  deliverOne(): boolean {
    const bytes = this.outbox.shift();
    if (bytes === undefined || !this.peer || this.peer.closed) return false;
    this.peer.emit('message', bytes);
    return true;
  }
}

/**
 * Every link of the harness. `pair` creates both ends; the pump delivers queued messages, one per
 * macrotask turn, from a link chosen by the seeded generator.
 */
export class MemoryNetwork {
  private readonly live = new Set<MemoryConnection>();
  private scheduled = false;
  private nextPort = 10_000;
  delivered = 0;
  /** Set by the harness: a thrown handler error is a test failure, not a lost message. */
  onError: (e: unknown) => void = (e) => {
    throw e;
  };

  constructor(private readonly rng: SeededRandom) {}

  /** Two connected ends: the dialler sees the listener at `listenerPort`, the listener an ephemeral port. */
  pair(
    dialerKey: Uint8Array,
    dialerLabel: string,
    listenerKey: Uint8Array,
    listenerLabel: string,
    listenerPort: number,
  ): { atDialer: MemoryConnection; atListener: MemoryConnection } {
    const atDialer = new MemoryConnection(this, listenerKey, dialerLabel, listenerLabel, listenerPort);
    const atListener = new MemoryConnection(this, dialerKey, listenerLabel, dialerLabel, this.nextPort++);
    atDialer.peer = atListener;
    atListener.peer = atDialer;
    this.live.add(atDialer);
    this.live.add(atListener);
    return { atDialer, atListener };
  }

  /** Messages queued on live links. */
  get inFlight(): number {
    let n = 0;
    for (const c of this.live) n += c.outbox.length;
    return n;
  }

  forget(c: MemoryConnection): void {
    this.live.delete(c);
  }

  /** Cuts every link touching `label` (a crash, or a disconnect). */
  cut(label: string): number {
    let n = 0;
    for (const c of [...this.live]) {
      if (c.localLabel === label || c.remoteLabel === label) {
        c.close();
        n++;
      }
    }
    return n;
  }

  /** Cuts the link between two labels (both directions). */
  cutBetween(x: string, y: string): number {
    let n = 0;
    for (const c of [...this.live]) {
      if ((c.localLabel === x && c.remoteLabel === y) || (c.localLabel === y && c.remoteLabel === x)) {
        c.close();
        n++;
      }
    }
    return n;
  }

  wake(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.pump());
  }

  private pump(): void {
    this.scheduled = false;
    const ready = [...this.live].filter((c) => c.outbox.length > 0);
    if (ready.length === 0) return;
    const c = ready[this.rng.int(ready.length)]!;
    try {
      if (c.deliverOne()) this.delivered++;
    } catch (e) {
      this.onError(e);
    }
    if (this.inFlight > 0) this.wake();
  }
}
