// The action executor (shell): runs the side effects a channel step asked for, in order, and enforces
// DESIGN rule 2 in this one place: a step's durable writes are committed before anything after them
// leaves the node (a message to the peer, a broadcast, an event to the rest of the node).
//
// Throughput: a step's durable writes join the open group as soon as the step is submitted, and the
// group is written as ONE Store batch (one SQLite transaction, one fsync) at the next turn of the event
// loop. So every step submitted in one turn (many channels, or many messages of ONE channel that arrived
// together) shares one fsync. Steps of the same channel (the same queue key) still run their effects
// strictly one after another, each only after the batch holding its writes is durable. Enrolling at
// submit time keeps the writes in submission order (a later state of a channel lands after an earlier
// one), and writing a state before the effects of earlier steps ran is never less safe: what a crash
// loses then is messages, which reestablish resends from the durable state. Within a batch only the
// last write of each record is kept (a channel's superseded states are not written at all).
//
// Events (rule 10): an emitted event is written to a durable outbox in the same batch as the state that
// produced it, handed to the handler only after that batch, and removed from the outbox (with the next
// batch) once the handler returned. After a crash the outbox is replayed, so handlers see every event at
// least once and can recognise a replay by the event's id. The events of one batch are written as ONE outbox record (a
// bundle, keyed by its first event's id), removed once every event in it was handled: a batch of 483
// HTLCs writes one row, not 483 (SQLite pays per row far more than per byte).
import { decodeRecord, del, encodeBinaryRecord, put, type Store, type StoreOp } from '../store/store.ts';
import { decodePlain, type Plain } from './channel-codec.ts';
import type { Logger } from './logger.ts';

/**
 * A write whose bytes are made only when its batch is committed, and only if no later write of the same
 * record in that batch supersedes it: a channel stepping many times in one turn encodes its state once.
 * make() may add writes of records that belong to this one (a channel's detached onions); they are
 * written in the same batch, right after it is made.
 */
export interface DeferredPut {
  readonly kind: 'deferred';
  readonly ns: string;
  readonly key: string;
  readonly make: () => readonly StoreOp[];
  /** Called when the batch holding what make() returned failed (nothing of it was written). */
  readonly failed?: () => void;
}

export type ExecAction =
  /** Durable writes; everything after this action waits for them. */
  | { readonly kind: 'persist'; readonly ops: readonly (StoreOp | DeferredPut)[] }
  | { readonly kind: 'send'; readonly peerId: string; readonly bytes: Uint8Array }
  | { readonly kind: 'broadcast'; readonly raw: Uint8Array; readonly label: string }
  /** An event for the rest of the node (plain data: survives the outbox). */
  | { readonly kind: 'emit'; readonly event: Plain }
  /** Any other effect of the shell (add a chain watch, disconnect...), run in its place in the order. */
  | { readonly kind: 'run'; readonly what: string; readonly fn: () => void | Promise<void> };

export interface EmittedEvent {
  /** Unique and stable across restarts: a replayed event carries the same id. */
  readonly id: string;
  /** The queue (channel) that emitted it. */
  readonly key: string;
  readonly event: Plain;
  readonly replayed: boolean;
}

export interface ExecutorDeps {
  readonly store: Store;
  /** false when the peer is not connected (the message is dropped: reestablish retransmits). */
  send(peerId: string, bytes: Uint8Array): boolean;
  broadcast(raw: Uint8Array, label: string): Promise<void>;
  onEmit(e: EmittedEvent): void | Promise<void>;
  readonly log: Logger;
}

export interface ExecutorStats {
  /** Store batches written (each one fsync). */
  readonly batches: number;
  /** Steps whose durable writes those batches carried. */
  readonly durableSteps: number;
  readonly sent: number;
  readonly emitted: number;
}

const OUTBOX = 'outbox';
const SEQ_KEY = 'seq';
/** Outbox removals held back for the next batch before they get one of their own. */
const MAX_PENDING_DELETES = 256;
/**
 * Outbox records. 1: one event, JSON with the event as encodePlain text (still read). 2: binary, the
 * bundle of a batch's events ({events: [{id, key, event}]}).
 */
const RECORD_VERSION = 2;

interface OutboxEvent {
  readonly id: string;
  readonly key: string;
  readonly event: Plain;
}

interface Group {
  readonly ops: (StoreOp | DeferredPut)[];
  readonly events: OutboxEvent[];
  steps: number;
  readonly done: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

export class ActionExecutor {
  private readonly queues = new Map<string, Promise<void>>();
  private group: Group | null = null;
  private pendingDeletes: StoreOp[] = [];
  /** Outbox bundles not yet removed: how many of their events are not handled yet. */
  private readonly bundles = new Map<string, number>();
  /** The bundle each undelivered event is in. */
  private readonly bundleOf = new Map<string, string>();
  private seq: bigint;
  private stats = { batches: 0, durableSteps: 0, sent: 0, emitted: 0 };

  constructor(private readonly deps: ExecutorDeps) {
    const s = deps.store.get(OUTBOX, SEQ_KEY);
    this.seq = s ? decodeRecord<{ seq: bigint }>(s).seq : 0n;
  }

  get counters(): ExecutorStats {
    return { ...this.stats };
  }

  /**
   * Runs one step's actions after every earlier step of the same key. Resolves when all of them ran
   * (rejects if the durable write failed: nothing after it ran).
   */
  submit(key: string, actions: readonly ExecAction[]): Promise<void> {
    const emitIds = this.assignEmitIds(actions);
    const durable = this.enroll(key, actions, emitIds);
    const prev = this.queues.get(key) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => this.runStep(key, actions, emitIds, durable));
    this.queues.set(key, next);
    // Drop the chain once it is idle so finished channels do not pin memory.
    void next
      .catch(() => undefined)
      .then(() => {
        if (this.queues.get(key) === next) this.queues.delete(key);
      });
    return next;
  }

  /** Resolves once every step submitted so far has run, and the outbox removals they left are written. */
  async idle(): Promise<void> {
    await Promise.all([...this.queues.values()].map((p) => p.catch(() => undefined)));
    // A failure is logged by commit (the events stay in the outbox and are replayed after a restart).
    if (this.pendingDeletes.length > 0) await this.openGroup().done.catch(() => undefined);
  }

  /** Delivers the events a crash left in the outbox, oldest first. */
  async replayOutbox(): Promise<number> {
    const rows = this.deps.store.list(OUTBOX).filter((r) => r.key !== SEQ_KEY);
    let n = 0;
    for (const r of rows) {
      let events: OutboxEvent[];
      try {
        events = readOutboxRecord(r.key, r.value);
      } catch (e) {
        // Kept, not deleted: a later shandian (or a person) may still read it; the node carries on.
        this.deps.log.error({ id: r.key, err: (e as Error).message }, 'outbox record unreadable; skipped');
        continue;
      }
      this.track(r.key, events);
      for (const e of events) await this.deliver({ ...e, replayed: true });
      n += events.length;
    }
    this.flushDeletesSoon();
    return n;
  }

  /** Remembers an outbox bundle until every event in it has been handled. */
  private track(bundle: string, events: readonly OutboxEvent[]): void {
    this.bundles.set(bundle, events.length);
    for (const e of events) this.bundleOf.set(e.id, bundle);
  }

  private untrack(bundle: string, events: readonly OutboxEvent[]): void {
    this.bundles.delete(bundle);
    for (const e of events) this.bundleOf.delete(e.id);
  }

  /** Event ids, drawn in submission order (so ids grow with the order events are written). */
  private assignEmitIds(actions: readonly ExecAction[]): Map<number, string> {
    const emitIds = new Map<number, string>();
    for (let i = 0; i < actions.length; i++) {
      const a = actions[i]!;
      switch (a.kind) {
        case 'persist':
        case 'send':
        case 'broadcast':
        case 'run':
          break;
        case 'emit':
          this.seq += 1n;
          emitIds.set(i, this.seq.toString().padStart(20, '0'));
          break;
      }
    }
    return emitIds;
  }

  /**
   * Puts ALL the step's persists and the outbox entries of ALL its emits into the open group (the state
   * persisted is the step's final one, so writing it earlier than asked is never less safe). Returns
   * the group's promise, or undefined for a step with nothing durable.
   */
  private enroll(
    key: string,
    actions: readonly ExecAction[],
    emitIds: Map<number, string>,
  ): Promise<void> | undefined {
    const ops: (StoreOp | DeferredPut)[] = [];
    const events: OutboxEvent[] = [];
    for (let i = 0; i < actions.length; i++) {
      const a = actions[i]!;
      if (a.kind === 'persist') ops.push(...a.ops);
      else if (a.kind === 'emit') events.push({ id: emitIds.get(i)!, key, event: a.event });
    }
    if (ops.length === 0 && events.length === 0) return undefined;
    const g = this.openGroup();
    g.ops.push(...ops);
    g.events.push(...events);
    g.steps++;
    return g.done;
  }

  private async runStep(
    key: string,
    actions: readonly ExecAction[],
    emitIds: Map<number, string>,
    durable: Promise<void> | undefined,
  ): Promise<void> {
    // The step's durable point is its first persist or emit: nothing after it runs before the batch
    // holding the step's writes is committed.
    const durableAt = actions.findIndex((a) => a.kind === 'persist' || a.kind === 'emit');
    for (let i = 0; i < actions.length; i++) {
      const a = actions[i]!;
      if (i === durableAt && durable !== undefined) await durable;
      switch (a.kind) {
        case 'persist':
          break; // written at the durable point
        case 'send':
          if (this.deps.send(a.peerId, a.bytes)) this.stats.sent++;
          break;
        case 'broadcast':
          try {
            await this.deps.broadcast(a.raw, a.label);
          } catch (e) {
            // Not fatal: the state keeps the transaction and re-broadcasts it (on restart, on each block).
            this.deps.log.warn({ key, label: a.label, err: (e as Error).message }, 'broadcast failed');
          }
          break;
        case 'emit':
          await this.deliver({ id: emitIds.get(i)!, key, event: a.event, replayed: false });
          break;
        case 'run':
          await a.fn();
          break;
      }
    }
  }

  private openGroup(): Group {
    if (this.group) return this.group;
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A group may have no waiter (one opened only for outbox removals): its failure is logged in commit,
    // and must not also surface as an unhandled rejection, which would stop the process.
    done.catch(() => undefined);
    const g: Group = { ops: [], events: [], steps: 0, done, resolve, reject };
    this.group = g;
    // Every step submitted before the event loop comes back here joins this batch. It is committed in the
    // first callback of the check phase, before the driver's "sign once the burst is handled" (queued
    // after it): a burst of updates is durable and on its way to the peer, which takes them in on its
    // own core while we build and sign the commitment that carries them (one more fsync, measured as a
    // gain: 483 adds overlap the signing instead of following it).
    setImmediate(() => this.commit(g));
    return g;
  }

  /**
   * Commits the open group now rather than at the turn's end: after a step that ends a long synchronous
   * run (signing a commitment with hundreds of HTLCs) nothing else joins the group, and the turn's end
   * can lie behind a poll phase full of other work (RPC requests), holding the commitment_signed back.
   */
  commitNow(): void {
    if (this.group !== null) this.commit(this.group);
  }

  private commit(g: Group): void {
    // Only the open group is written; one that is no longer open was written by commitNow before its
    // immediate came.
    if (this.group !== g) return;
    this.group = null;
    const pending = this.pendingDeletes;
    this.pendingDeletes = [];
    const made: DeferredPut[] = [];
    const bundle = g.events[0]?.id;
    try {
      const ops: StoreOp[] = [];
      if (bundle !== undefined) {
        this.track(bundle, g.events);
        ops.push(put(OUTBOX, bundle, encodeBinaryRecord(RECORD_VERSION, { events: g.events })));
        // The highest id drawn so far is in this batch: ids are drawn at submit, which enrolls at once.
        ops.push(put(OUTBOX, SEQ_KEY, encodeBinaryRecord(RECORD_VERSION, { seq: this.seq })));
      }
      for (const o of lastWriteWins([...pending, ...g.ops])) {
        if (o.kind !== 'deferred') ops.push(o);
        else {
          made.push(o);
          ops.push(...o.make());
        }
      }
      this.deps.store.batch(ops);
      this.stats.batches++;
      this.stats.durableSteps += g.steps;
      g.resolve();
    } catch (e) {
      for (const o of made) o.failed?.();
      if (bundle !== undefined) this.untrack(bundle, g.events);
      this.deps.log.error(
        { err: (e as Error).message },
        'durable write failed; the steps waiting on it stop',
      );
      g.reject(e);
    }
  }

  private async deliver(e: EmittedEvent): Promise<void> {
    try {
      await this.deps.onEmit(e);
    } catch (err) {
      // Left in the outbox: it is replayed on the next start.
      this.deps.log.error(
        { id: e.id, err: (err as Error).message },
        'event handler failed; event kept for replay',
      );
      return;
    }
    this.stats.emitted++;
    const bundle = this.bundleOf.get(e.id);
    if (bundle === undefined) return;
    this.bundleOf.delete(e.id);
    const left = (this.bundles.get(bundle) ?? 1) - 1;
    if (left > 0) this.bundles.set(bundle, left);
    else {
      this.bundles.delete(bundle);
      this.pendingDeletes.push(del(OUTBOX, bundle));
      this.flushDeletesSoon();
    }
  }

  /**
   * Removals ride along with the next group: a removal is no state change and nothing waits for it (a
   * crash before it is written replays the event, which handlers recognise by its id), so it is not
   * worth an fsync of its own. Written alone only when many piled up, and by idle() (the node stopping).
   */
  private flushDeletesSoon(): void {
    if (this.pendingDeletes.length >= MAX_PENDING_DELETES) this.openGroup();
  }
}

/** The events of one outbox record: a bundle (this version) or a single event (version 1, JSON). */
function readOutboxRecord(id: string, value: Uint8Array): OutboxEvent[] {
  const rec = decodeRecord<{ key?: unknown; event?: unknown; events?: unknown }>(value);
  if (rec.v === 1) {
    if (typeof rec.key !== 'string' || typeof rec.event !== 'string') throw new Error('bad version 1 event');
    return [{ id, key: rec.key, event: decodePlain(rec.event) }];
  }
  if (rec.v !== RECORD_VERSION) throw new Error(`unknown version ${rec.v}`);
  const events = rec.events;
  if (
    !Array.isArray(events) ||
    events.some((e: Partial<OutboxEvent> | null) => typeof e?.id !== 'string' || typeof e.key !== 'string')
  )
    throw new Error('bad event bundle');
  return events as OutboxEvent[];
}

/**
 * One atomic batch ends with the last op of each record, so the earlier ops of a record are dropped
 * (order kept by each record's last op).
 */
export function lastWriteWins<T extends { readonly ns: string; readonly key: string }>(
  ops: readonly T[],
): T[] {
  const last = new Map<string, number>();
  for (let i = 0; i < ops.length; i++) last.set(`${ops[i]!.ns}\u0000${ops[i]!.key}`, i);
  if (last.size === ops.length) return [...ops];
  return ops.filter((o, i) => last.get(`${o.ns}\u0000${o.key}`) === i);
}
