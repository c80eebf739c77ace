// Chain watches (shell): "tell me when this txid is N blocks deep" and "tell me when this outpoint is
// spent", fed block by block by a ChainFollower. A reorg that removes the confirming (or spending) block
// un-confirms (un-spends) the watch and says so. Watches and what they saw are kept in the Store, so they
// survive restarts; the follower restarts from the last block we finished.
//
// Delivery is at least once (DESIGN rule 10): a block's events go to the handler first, then the block's
// effects are persisted; a crash between the two replays the block, so handlers must be idempotent.
import { reversedHex, serializeTx as serialize, type Transaction, txid as txidOf } from '../bitcoin/tx.ts';
import { ChainFollower } from '../chain/follower.ts';
import type { ChainBlock, ChainSource, ChainTip } from '../chain/seams.ts';
import { equal, fromHex, hex } from '../core/bytes.ts';
import { blockHeight } from '../core/units.ts';
import { decodeRecord, del, encodeRecord, put, type Store, type StoreOp } from '../store/store.ts';

const NS = 'chain-watch';
const TIP_KEY = 'tip';
const RECORD_VERSION = 1;

/** Where a transaction confirmed. */
export interface Confirmation {
  readonly height: number;
  readonly blockHash: string;
  /** Position in the block (for short_channel_id). */
  readonly txIndex: number;
}

export type WatchSpec =
  | {
      readonly kind: 'confirm';
      readonly id: string;
      /** Display (reversed) hex. */
      readonly txid: string;
      /** Depth events stop after this depth is reported (they resume after a reorg). */
      readonly untilDepth: number;
    }
  | { readonly kind: 'spend'; readonly id: string; readonly txid: string; readonly vout: number };

export type WatchEvent =
  | {
      readonly kind: 'depth';
      readonly id: string;
      readonly txid: string;
      readonly depth: number;
      readonly at: Confirmation;
    }
  | { readonly kind: 'unconfirmed'; readonly id: string; readonly txid: string }
  | {
      readonly kind: 'spent';
      readonly id: string;
      readonly spender: Transaction;
      readonly spenderTxid: string;
      readonly at: Confirmation;
    }
  | { readonly kind: 'unspent'; readonly id: string; readonly spenderTxid: string };

interface WatchRecord {
  readonly spec: WatchSpec;
  confirmed: Confirmation | null;
  /** The deepest depth reported since the last (re)confirmation. */
  reported: number;
  spent: { readonly txid: string; readonly raw: string; readonly at: Confirmation } | null;
}

export type WatchHandler = (e: WatchEvent) => void | Promise<void>;

const outpointKey = (txid: string, vout: number) => `${txid}:${vout}`;

export class ChainWatcher {
  private readonly watches = new Map<string, WatchRecord>();
  private readonly byTxid = new Map<string, Set<string>>();
  private readonly byOutpoint = new Map<string, Set<string>>();
  private readonly handlers: WatchHandler[] = [];
  private readonly blockHandlers: ((height: number) => void | Promise<void>)[] = [];
  private readonly follower: ChainFollower;

  constructor(
    private readonly source: ChainSource,
    private readonly store: Store,
    opts: { start?: ChainTip; onError?: (e: unknown) => void } = {},
  ) {
    for (const { key, value } of store.list(NS)) {
      if (key === TIP_KEY) continue;
      const r = decodeRecord<{ rec: WatchRecord }>(value);
      if (r.v !== RECORD_VERSION) throw new Error(`chain watch record ${key}: unknown version ${r.v}`);
      this.index(r.rec);
    }
    const tipBytes = store.get(NS, TIP_KEY);
    let start = opts.start;
    if (tipBytes) {
      const t = decodeRecord<{ height: number; hash: string }>(tipBytes);
      start = { height: blockHeight(t.height), hash: fromHex(t.hash) };
    }
    this.follower = new ChainFollower(source, {
      ...(start ? { start } : {}),
      ...(opts.onError ? { onError: opts.onError } : {}),
    });
    this.follower.subscribe({
      blockConnected: (b) => this.connected(b),
      blockDisconnected: (h, height) => this.disconnected(h, height),
    });
  }

  onEvent(h: WatchHandler): void {
    this.handlers.push(h);
  }

  /** Told the new tip height after each connected block (after its watch events) and each disconnected one. */
  onBlock(h: (height: number) => void | Promise<void>): void {
    this.blockHandlers.push(h);
  }

  get tipHeight(): number | null {
    return this.follower.tip?.height ?? null;
  }

  start(pollMs: number): void {
    this.follower.start(pollMs);
  }

  stop(): Promise<void> {
    return this.follower.stop();
  }

  /** Catches up with the chain now. */
  sync(): Promise<void> {
    return this.follower.poll();
  }

  list(): WatchSpec[] {
    return [...this.watches.values()].map((w) => w.spec);
  }

  has(id: string): boolean {
    return this.watches.has(id);
  }

  /**
   * Adds (or keeps) a watch, durably. A confirm watch on a transaction that already confirmed before our
   * tip is looked up at once and reported.
   */
  async add(spec: WatchSpec): Promise<void> {
    if (this.watches.has(spec.id)) return;
    const rec: WatchRecord = { spec, confirmed: null, reported: 0, spent: null };
    this.index(rec);
    this.store.batch([this.putOp(rec)]);
    if (spec.kind !== 'confirm') return;
    const found = await this.source.transaction(fromHex(spec.txid).reverse());
    const tip = this.follower.tip;
    if (!found?.blockHash || found.blockHeight === null || !tip || found.blockHeight > tip.height) return;
    if (rec.confirmed || this.watches.get(spec.id) !== rec) return; // a block got there first
    const block = await this.source.block(found.blockHash);
    if (!block) return;
    const txIndex = block.txs.findIndex((t) => reversedHex(txidOf(t)) === spec.txid);
    if (txIndex < 0) return;
    rec.confirmed = { height: found.blockHeight, blockHash: reversedHex(found.blockHash), txIndex };
    await this.reportDepths([rec], this.follower.tip!.height);
    this.store.batch([this.putOp(rec)]);
  }

  remove(id: string): void {
    const rec = this.watches.get(id);
    if (!rec) return;
    this.unindex(rec);
    this.store.batch([del(NS, `w/${id}`)]);
  }

  private index(rec: WatchRecord): void {
    this.watches.set(rec.spec.id, rec);
    const [map, key] =
      rec.spec.kind === 'confirm'
        ? [this.byTxid, rec.spec.txid]
        : [this.byOutpoint, outpointKey(rec.spec.txid, rec.spec.vout)];
    const set = map.get(key) ?? new Set<string>();
    set.add(rec.spec.id);
    map.set(key, set);
  }

  private unindex(rec: WatchRecord): void {
    this.watches.delete(rec.spec.id);
    const [map, key] =
      rec.spec.kind === 'confirm'
        ? [this.byTxid, rec.spec.txid]
        : [this.byOutpoint, outpointKey(rec.spec.txid, rec.spec.vout)];
    map.get(key)?.delete(rec.spec.id);
    if (map.get(key)?.size === 0) map.delete(key);
  }

  private putOp(rec: WatchRecord): StoreOp {
    return put(NS, `w/${rec.spec.id}`, encodeRecord(RECORD_VERSION, { rec }));
  }

  private tipOp(height: number, hash: Uint8Array): StoreOp {
    return put(NS, TIP_KEY, encodeRecord(RECORD_VERSION, { height, hash: hex(hash) }));
  }

  private async deliver(e: WatchEvent): Promise<void> {
    for (const h of this.handlers) await h(e);
  }

  /** Reports the new depth of each confirmed watch that has not reached its last depth yet. */
  private async reportDepths(recs: Iterable<WatchRecord>, tipHeight: number): Promise<void> {
    for (const rec of recs) {
      if (rec.spec.kind !== 'confirm' || !rec.confirmed) continue;
      const depth = tipHeight - rec.confirmed.height + 1;
      if (depth <= rec.reported || rec.reported >= rec.spec.untilDepth) continue;
      await this.deliver({ kind: 'depth', id: rec.spec.id, txid: rec.spec.txid, depth, at: rec.confirmed });
      rec.reported = depth; // only once delivered: a throwing handler sees it again
    }
  }

  private async connected(b: ChainBlock): Promise<void> {
    const hashHex = reversedHex(b.hash);
    const changed = new Set<WatchRecord>();
    for (let i = 0; i < b.txs.length; i++) {
      const tx = b.txs[i]!;
      const id = reversedHex(txidOf(tx));
      const at: Confirmation = { height: b.height, blockHash: hashHex, txIndex: i };
      for (const wid of this.byTxid.get(id) ?? []) {
        const rec = this.watches.get(wid)!;
        if (rec.confirmed?.blockHash === hashHex) continue; // redelivered
        rec.confirmed = at;
        rec.reported = 0;
        changed.add(rec);
      }
      for (const input of tx.inputs) {
        const key = outpointKey(reversedHex(input.prevout.txid), input.prevout.vout);
        for (const wid of this.byOutpoint.get(key) ?? []) {
          const rec = this.watches.get(wid)!;
          if (rec.spent?.at.blockHash === hashHex) continue;
          await this.deliver({ kind: 'spent', id: wid, spender: tx, spenderTxid: id, at });
          rec.spent = { txid: id, raw: hex(serialize(tx)), at };
          changed.add(rec);
        }
      }
    }
    const pending = [...this.watches.values()].filter(
      (r) => r.spec.kind === 'confirm' && r.confirmed && r.reported < r.spec.untilDepth,
    );
    await this.reportDepths(pending, b.height);
    for (const r of pending) changed.add(r);
    this.store.batch([
      ...[...changed].filter((r) => this.watches.get(r.spec.id) === r).map((r) => this.putOp(r)),
      this.tipOp(b.height, b.hash),
    ]);
    for (const h of this.blockHandlers) await h(b.height);
  }

  private async disconnected(hash: Uint8Array, height: number): Promise<void> {
    const hashHex = reversedHex(hash);
    const changed: WatchRecord[] = [];
    for (const rec of this.watches.values()) {
      if (rec.confirmed?.blockHash === hashHex) {
        await this.deliver({
          kind: 'unconfirmed',
          id: rec.spec.id,
          txid: rec.spec.kind === 'confirm' ? rec.spec.txid : '',
        });
        rec.confirmed = null;
        rec.reported = 0;
        changed.push(rec);
      }
      if (rec.spent?.at.blockHash === hashHex) {
        await this.deliver({ kind: 'unspent', id: rec.spec.id, spenderTxid: rec.spent.txid });
        rec.spent = null;
        changed.push(rec);
      }
    }
    const header = await this.source.header(hash);
    const ops = changed.map((r) => this.putOp(r));
    if (header && !equal(header.prevHash, new Uint8Array(32)))
      ops.push(this.tipOp(height - 1, header.prevHash));
    this.store.batch(ops);
    for (const h of this.blockHandlers) await h(height - 1);
  }
}
