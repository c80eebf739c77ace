// The onions of live channels' pending adds, kept apart from the channel states (detachOnions): a
// state write carries the adds without their 1,366-byte onions, and the onions it holds for the first
// time go into ONE bundle record written in the same batch. A bundle is removed in the batch whose state
// no longer needs any onion of it. So a batch of 483 adds writes one 660 KB row once, instead of the
// onions again in every state write while they are pending (or 483 rows: SQLite pays per row far more
// than per byte).
//
// Records: `${channel key}/${bundle number, 12 digits}` -> {v: 1, onions: {[`${side}/${id}`]: bytes}}.
// An HTLC id can come back with another onion (adds not yet signed are forgotten on reconnect): the
// later bundle holds the onion that counts.
import type { DetachedOnions } from '../bolt02-channel/index.ts';
import { equal } from '../core/bytes.ts';
import { decodeRecord, del, encodeBinaryRecord, put, type Store, type StoreOp } from '../store/store.ts';

export const ONION_NS = 'channel-onions';
const RECORD_VERSION = 1;

interface Held {
  readonly bundle: string;
  readonly onion: Uint8Array;
}

export class DetachedOnionStore {
  /** Per channel: each onion the store holds, and the bundle that holds it. */
  private readonly held = new Map<string, Map<string, Held>>();
  private nextBundle = 0;

  constructor(private readonly store: Store) {}

  /** Reads every bundle; returns the ones that cannot be read (left in place, and logged by the caller). */
  load(): { key: string; error: string }[] {
    this.held.clear();
    const bad: { key: string; error: string }[] = [];
    for (const r of this.store.list(ONION_NS)) {
      const cut = r.key.lastIndexOf('/');
      const n = Number(r.key.slice(cut + 1));
      if (cut <= 0 || !Number.isSafeInteger(n)) {
        bad.push({ key: r.key, error: 'not a bundle key' });
        continue;
      }
      if (n >= this.nextBundle) this.nextBundle = n + 1;
      let onions: Record<string, Uint8Array>;
      try {
        onions = readBundle(r.value);
      } catch (e) {
        bad.push({ key: r.key, error: (e as Error).message });
        continue;
      }
      const channel = r.key.slice(0, cut);
      const m = this.held.get(channel) ?? new Map<string, Held>();
      this.held.set(channel, m);
      // Listed in key order, so a later bundle overrides an earlier one for the same HTLC.
      for (const [k, onion] of Object.entries(onions)) m.set(k, { bundle: r.key, onion });
    }
    return bad;
  }

  /** The onion the store holds for a channel's HTLC (`${side}/${id}`). */
  onionOf(channel: string, k: string): Uint8Array | undefined {
    return this.held.get(channel)?.get(k)?.onion;
  }

  /**
   * The writes that make the store hold exactly these onions of the channel (those of its state being
   * written in the same batch): one new bundle with the onions it lacks, the removal of bundles no
   * longer needed. Assumes the batch is written; after a failed batch call reload().
   */
  writes(channel: string, onions: DetachedOnions): StoreOp[] {
    const before = this.held.get(channel) ?? new Map<string, Held>();
    const after = new Map<string, Held>();
    const fresh: Record<string, Uint8Array> = {};
    let bundle: string | undefined;
    for (const [k, onion] of onions) {
      const was = before.get(k);
      if (was !== undefined && (was.onion === onion || equal(was.onion, onion))) after.set(k, was);
      else {
        bundle ??= `${channel}/${String(this.nextBundle++).padStart(12, '0')}`;
        fresh[k] = onion;
        after.set(k, { bundle, onion });
      }
    }
    const ops: StoreOp[] = [];
    if (bundle !== undefined)
      ops.push(put(ONION_NS, bundle, encodeBinaryRecord(RECORD_VERSION, { onions: fresh })));
    ops.push(...removals(before, after));
    if (after.size > 0) this.held.set(channel, after);
    else this.held.delete(channel);
    return ops;
  }

  /** Removes every bundle of a channel (it is archived with its onions inside its record). */
  forget(channel: string): StoreOp[] {
    const ops = removals(this.held.get(channel) ?? new Map(), new Map());
    this.held.delete(channel);
    return ops;
  }

  /** After a failed batch: what the store holds for the channel is again the truth. */
  reload(channel: string): void {
    const prefix = `${channel}/`;
    const m = new Map<string, Held>();
    for (const r of this.store.list(ONION_NS)) {
      if (!r.key.startsWith(prefix) || r.key.indexOf('/', prefix.length) !== -1) continue;
      try {
        for (const [k, onion] of Object.entries(readBundle(r.value))) m.set(k, { bundle: r.key, onion });
      } catch {
        // Unreadable: not held (load() reported it when the node started).
      }
    }
    if (m.size > 0) this.held.set(channel, m);
    else this.held.delete(channel);
  }

  /** Bundles of channels that are not live (their channel was archived or never loaded). */
  orphans(live: ReadonlySet<string>): StoreOp[] {
    const ops: StoreOp[] = [];
    for (const channel of [...this.held.keys()]) if (!live.has(channel)) ops.push(...this.forget(channel));
    return ops;
  }
}

/** Deletes of the bundles `before` used that `after` no longer uses. */
function removals(before: ReadonlyMap<string, Held>, after: ReadonlyMap<string, Held>): StoreOp[] {
  const kept = new Set<string>();
  for (const h of after.values()) kept.add(h.bundle);
  const gone = new Set<string>();
  for (const h of before.values()) if (!kept.has(h.bundle)) gone.add(h.bundle);
  return [...gone].map((b) => del(ONION_NS, b));
}

function readBundle(value: Uint8Array): Record<string, Uint8Array> {
  const rec = decodeRecord<{ onions?: unknown }>(value);
  if (rec.v !== RECORD_VERSION) throw new Error(`unknown onion bundle version ${rec.v}`);
  const onions = rec.onions as Record<string, unknown> | undefined;
  if (onions === null || typeof onions !== 'object') throw new Error('bad onion bundle');
  for (const v of Object.values(onions)) if (!(v instanceof Uint8Array)) throw new Error('bad onion bundle');
  return onions as Record<string, Uint8Array>;
}
