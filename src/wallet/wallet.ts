// The on-chain wallet's tracking core (pure: no I/O, no clock, no randomness). It follows the chain
// through applyBlock / disconnectBlock and mempool transactions, and derives the UTXO set from the set
// of relevant transactions, so a reorg is a relabelling (confirmed -> unconfirmed) and never loses or
// double-counts a coin. Every public method either fails without changing anything or succeeds.
//
// Persistence: `takeChanges()` hands the shell the records written since the last call; `toRecords()`
// all of them; `Wallet.fromRecords()` rebuilds the wallet (see records.ts for the format).

import { p2tr, p2wpkhOfKey } from '../bitcoin/script.ts';
import { fromReversedHex, type Transaction, txidHex } from '../bitcoin/tx.ts';
import { hex } from '../core/bytes.ts';
import { assertNever, err, ok, type Result } from '../core/result.ts';
import type { Sat } from '../core/units.ts';
import type { Network } from '../keys/derivation.ts';
import { CHANGE, type Chain, RECEIVE, taprootOutputKey } from '../keys/derivation.ts';
import {
  type DecodedRecord,
  decodeRecord,
  encodeMeta,
  encodePending,
  encodeReservation,
  encodeTx,
  encodeWatch,
  type MetaRecord,
  metaKey,
  type PendingFunding,
  pendingKey,
  reservationKey,
  txKey,
  type WalletRecord,
  watchKey,
} from './records.ts';
import {
  type Balance,
  type BlockInput,
  type Coin,
  isOwnKey,
  type OwnKey,
  type ScriptOwner,
  type TrackedTx,
  type TxOrigin,
  type WalletError,
  type WalletKeySource,
} from './types.ts';

type Purpose = 84 | 86;

/** The output script of one of our keys: P2WPKH, or P2TR key path with the BIP86 tweak. */
export function scriptOf(owner: OwnKey): Uint8Array {
  switch (owner.kind) {
    case 'bip84':
      return p2wpkhOfKey(owner.pubkey);
    case 'bip86':
      return p2tr(taprootOutputKey(owner.pubkey));
  }
}

export interface WalletOptions {
  /** Unused addresses watched beyond the last used (or issued) one on each chain. */
  readonly lookahead?: number;
  /** Blocks an input stays reserved for a transaction that has not confirmed (CLN's default: 72). */
  readonly reserveBlocks?: number;
}

/** Coinbase outputs are spendable after 100 confirmations. */
export const COINBASE_MATURITY = 100;
/** Block hashes remembered for reorg checks (deeper reorgs still work, without the hash check). */
const RECENT_BLOCKS = 100;

export interface ApplyResult {
  /** Transactions of this block that concern the wallet. */
  readonly relevant: readonly string[];
  /** Unconfirmed wallet transactions dropped because this block double-spent them (or their parents). */
  readonly conflicted: readonly string[];
}

export interface Reservation {
  readonly until: number;
  /** The wallet txid or pending funding id holding it. */
  readonly by: string;
}

interface ChainCounters {
  /** Addresses handed out (newaddr / change). */
  issued: number;
  /** Highest index seen paid on chain or in the mempool, plus one. */
  used: number;
}

export function outpointKey(txid: string, vout: number): string {
  return `${txid}:${vout}`;
}

export function isCoinbase(tx: Transaction): boolean {
  const first = tx.inputs[0];
  return (
    tx.inputs.length === 1 &&
    first !== undefined &&
    first.prevout.vout === 0xffffffff &&
    first.prevout.txid.every((b) => b === 0)
  );
}

export class Wallet {
  readonly lookahead: number;
  readonly reserveBlocks: number;
  private tipH: number | null = null;
  private tipX: string | null = null;
  private recent: { height: number; hash: string }[] = [];
  private seq = 0;
  private channelIndexes = 0;
  /** Per address type (84 = P2WPKH, 86 = P2TR) and chain (receive, change). */
  private readonly counters: Record<Purpose, [ChainCounters, ChainCounters]> = {
    84: [
      { issued: 0, used: 0 },
      { issued: 0, used: 0 },
    ],
    86: [
      { issued: 0, used: 0 },
      { issued: 0, used: 0 },
    ],
  };
  private readonly txs = new Map<string, TrackedTx>();
  /** outpoint -> txid of the tracked transaction spending it (derived from txs). */
  private readonly spentBy = new Map<string, string>();
  /** script hex -> owner (derived from counters and watched). */
  private readonly scripts = new Map<string, ScriptOwner>();
  private readonly derived: Record<Purpose, [number, number]> = { 84: [0, 0], 86: [0, 0] };
  private readonly watched = new Map<string, string>();
  private readonly reservations = new Map<string, Reservation>();
  private readonly pending = new Map<string, PendingFunding>();
  private readonly dirty = new Set<string>();

  constructor(
    readonly network: Network,
    readonly keys: WalletKeySource,
    options: WalletOptions = {},
  ) {
    this.lookahead = options.lookahead ?? 20;
    this.reserveBlocks = options.reserveBlocks ?? 72;
    this.extendWindows();
    this.touch(metaKey());
  }

  /** Height of the last applied block (null before the first). */
  get tipHeight(): number | null {
    return this.tipH;
  }

  /** Hash of the tip block in display hex, null when unknown (before any block, or after a deep reorg). */
  get tipHash(): string | null {
    return this.tipX;
  }

  // ------------------------------------------------------------------------------------------
  // Scripts and addresses.

  private extendWindows(): void {
    for (const purpose of [84, 86] as const) {
      for (const chain of [RECEIVE, CHANGE] as const) {
        const c = this.counters[purpose][chain];
        const want = Math.max(c.issued, c.used) + this.lookahead;
        while (this.derived[purpose][chain] < want) {
          const index = this.derived[purpose][chain];
          const owner = this.ownerAt(purpose, chain, index);
          this.scripts.set(hex(scriptOf(owner)), owner);
          this.derived[purpose][chain]++;
        }
      }
    }
  }

  private ownerAt(purpose: Purpose, chain: Chain, index: number): OwnKey {
    return purpose === 84
      ? { kind: 'bip84', chain, index, pubkey: this.keys.bip84Pubkey(chain, index) }
      : { kind: 'bip86', chain, index, pubkey: this.keys.bip86Pubkey(chain, index) };
  }

  /** The next unused index of a chain (never one already seen on chain). */
  private nextIndex(purpose: Purpose, chain: Chain): number {
    const c = this.counters[purpose][chain];
    return Math.max(c.issued, c.used);
  }

  /** Hands out a fresh receive script (newaddr): P2WPKH (BIP84) by default, or P2TR (BIP86). */
  newReceiveScript(type: 'p2wpkh' | 'p2tr' = 'p2wpkh'): { script: Uint8Array; index: number } {
    const purpose: Purpose = type === 'p2tr' ? 86 : 84;
    const index = this.nextIndex(purpose, RECEIVE);
    this.counters[purpose][RECEIVE].issued = index + 1;
    this.extendWindows();
    this.touch(metaKey());
    return { script: scriptOf(this.ownerAt(purpose, RECEIVE, index)), index };
  }

  /** The change script (always P2WPKH) that the next spend would use, without issuing it. */
  peekChangeScript(): { script: Uint8Array; index: number } {
    const index = this.nextIndex(84, CHANGE);
    this.extendWindows();
    return { script: scriptOf(this.ownerAt(84, CHANGE, index)), index };
  }

  /** Marks the change index returned by peekChangeScript as issued. */
  issueChange(index: number): void {
    const c = this.counters[84][CHANGE];
    if (index + 1 > c.issued) c.issued = index + 1;
    this.extendWindows();
    this.touch(metaKey());
  }

  ownerOf(script: Uint8Array): ScriptOwner | undefined {
    return this.scripts.get(hex(script));
  }

  /** Tracks outputs paying `script` (e.g. a channel's closing output), without being able to spend them. */
  watchScript(script: Uint8Array, label: string): void {
    const k = hex(script);
    if (isOwnKey(this.scripts.get(k))) return;
    this.watched.set(k, label);
    this.scripts.set(k, { kind: 'watch', label });
    this.touch(watchKey(k));
  }

  unwatchScript(script: Uint8Array): void {
    const k = hex(script);
    if (!this.watched.delete(k)) return;
    this.scripts.delete(k);
    this.touch(watchKey(k));
  }

  get addressCounters(): {
    readonly receive: Readonly<ChainCounters>;
    readonly change: Readonly<ChainCounters>;
    readonly taprootReceive: Readonly<ChainCounters>;
    readonly taprootChange: Readonly<ChainCounters>;
  } {
    return {
      receive: { ...this.counters[84][RECEIVE] },
      change: { ...this.counters[84][CHANGE] },
      taprootReceive: { ...this.counters[86][RECEIVE] },
      taprootChange: { ...this.counters[86][CHANGE] },
    };
  }

  /**
   * A fresh channel key index for KeyChain.channelKeys: never handed out twice, so two channels never
   * share a funding key or basepoint. Persist (takeChanges) before using the keys.
   */
  allocateChannelIndex(): number {
    const index = this.channelIndexes++;
    this.touch(metaKey());
    return index;
  }

  // ------------------------------------------------------------------------------------------
  // Following the chain.

  private isRelevant(tx: Transaction, id: string): boolean {
    if (this.txs.has(id)) return true;
    if (tx.outputs.some((o) => this.scripts.has(hex(o.script)))) return true;
    return tx.inputs.some((i) => this.ownsOutpoint(reversed(i.prevout.txid), i.prevout.vout));
  }

  private ownsOutpoint(txid: string, vout: number): boolean {
    const parent = this.txs.get(txid);
    const out = parent?.tx.outputs[vout];
    return out !== undefined && this.scripts.has(hex(out.script));
  }

  /** Marks indices paid by `tx` as used and derives further scripts (gap limit). */
  private noteUsed(tx: Transaction): void {
    let changed = false;
    for (const o of tx.outputs) {
      const owner = this.scripts.get(hex(o.script));
      if (!isOwnKey(owner)) continue;
      const c = this.counters[owner.kind === 'bip84' ? 84 : 86][owner.chain];
      if (owner.index + 1 > c.used) {
        c.used = owner.index + 1;
        changed = true;
      }
    }
    if (changed) {
      this.extendWindows();
      this.touch(metaKey());
    }
  }

  private putTx(t: TrackedTx): void {
    this.txs.set(t.txid, t);
    // A coinbase spends nothing: every one names the same null outpoint, which must not make the next
    // block's coinbase look like a double spend of ours.
    if (isCoinbase(t.tx)) return;
    for (const i of t.tx.inputs)
      this.spentBy.set(outpointKey(reversed(i.prevout.txid), i.prevout.vout), t.txid);
    this.touch(txKey(t.txid));
  }

  /** Removes an unconfirmed transaction and everything spending its outputs; returns the removed txids. */
  private removeTx(txid: string): string[] {
    const t = this.txs.get(txid);
    if (t === undefined) return [];
    const removed: string[] = [];
    t.tx.outputs.forEach((_, vout) => {
      const child = this.spentBy.get(outpointKey(txid, vout));
      if (child !== undefined && child !== txid) removed.push(...this.removeTx(child));
    });
    for (const i of t.tx.inputs) {
      const k = outpointKey(reversed(i.prevout.txid), i.prevout.vout);
      if (this.spentBy.get(k) === txid) this.spentBy.delete(k);
      const r = this.reservations.get(k);
      if (r !== undefined && r.by === txid) {
        this.reservations.delete(k);
        this.touch(reservationKey(k));
      }
    }
    this.txs.delete(txid);
    this.touch(txKey(txid));
    removed.push(txid);
    return removed;
  }

  /** Drops other transactions spending the same outpoints as `tx` (double-spends); returns them. */
  private evictConflicts(tx: Transaction, id: string): string[] {
    const out: string[] = [];
    if (isCoinbase(tx)) return out;
    for (const i of tx.inputs) {
      const other = this.spentBy.get(outpointKey(reversed(i.prevout.txid), i.prevout.vout));
      if (other !== undefined && other !== id) out.push(...this.removeTx(other));
    }
    return out;
  }

  applyBlock(block: BlockInput): Result<ApplyResult, WalletError> {
    if (!Number.isInteger(block.height) || block.height < 0 || !/^[0-9a-f]{64}$/.test(block.hash)) {
      return err({
        kind: 'bad-block',
        message: `height ${block.height}, hash ${String(block.hash).slice(0, 70)}`,
      });
    }
    if (this.tipHeight !== null && block.height <= this.tipHeight) {
      return err({ kind: 'block-out-of-order', height: block.height, tipHeight: this.tipHeight });
    }
    const relevant: string[] = [];
    const conflicted: string[] = [];
    block.txs.forEach((tx, txIndex) => {
      const id = txidHex(tx);
      if (!this.isRelevant(tx, id)) {
        // An unrelated transaction can still double-spend a foreign input of an unconfirmed
        // transaction paying us: that payment will never confirm, so it must not count.
        if (tx.inputs.some((i) => this.spentBy.has(outpointKey(reversed(i.prevout.txid), i.prevout.vout)))) {
          conflicted.push(...this.evictConflicts(tx, id));
        }
        return;
      }
      conflicted.push(...this.evictConflicts(tx, id));
      const prev = this.txs.get(id);
      this.putTx({
        txid: id,
        // The mined version: its witness may differ from the one we saw (same txid).
        tx,
        height: block.height,
        blockHash: block.hash,
        txIndex,
        seq: prev?.seq ?? this.seq++,
        coinbase: isCoinbase(tx),
        origin: prev?.origin ?? { kind: 'external' },
      });
      this.noteUsed(tx);
      relevant.push(id);
    });
    for (const [k, r] of this.reservations) {
      if (r.until < block.height) {
        this.reservations.delete(k);
        this.touch(reservationKey(k));
      }
    }
    this.tipH = block.height;
    this.tipX = block.hash;
    this.recent.push({ height: block.height, hash: block.hash });
    if (this.recent.length > RECENT_BLOCKS) this.recent.shift();
    this.touch(metaKey());
    return ok({ relevant, conflicted });
  }

  /**
   * Undoes the tip block (reorg). Its transactions go back to unconfirmed (they may confirm again in
   * the new branch); its coinbase, which cannot, is dropped with any descendants.
   */
  disconnectBlock(
    hash: string,
  ): Result<{ readonly unconfirmed: readonly string[]; readonly dropped: readonly string[] }, WalletError> {
    if (this.tipHeight === null) return err({ kind: 'not-tip', hash, tip: null });
    // Past the remembered blocks the tip hash is unknown; transactions still carry their block hash.
    if (this.tipHash !== null && this.tipHash !== hash)
      return err({ kind: 'not-tip', hash, tip: this.tipHash });
    const unconfirmed: string[] = [];
    const dropped: string[] = [];
    for (const t of [...this.txs.values()]) {
      if (t.blockHash !== hash || !this.txs.has(t.txid)) continue;
      if (t.coinbase) {
        dropped.push(...this.removeTx(t.txid));
      } else {
        this.putTx({ ...t, height: null, blockHash: null, txIndex: null });
        unconfirmed.push(t.txid);
      }
    }
    const height = this.tipHeight;
    if (this.recent[this.recent.length - 1]?.height === height) this.recent.pop();
    const last = this.recent[this.recent.length - 1];
    this.tipH = height - 1 >= 0 ? height - 1 : null;
    this.tipX = last !== undefined && last.height === height - 1 ? last.hash : null;
    this.touch(metaKey());
    return ok({ unconfirmed, dropped });
  }

  /**
   * A transaction seen in the mempool or just broadcast. It replaces unconfirmed double-spends (RBF)
   * but is refused if it double-spends a confirmed one. Irrelevant transactions are ignored.
   */
  addUnconfirmed(
    tx: Transaction,
    origin: TxOrigin = { kind: 'external' },
  ): Result<{ readonly relevant: boolean; readonly replaced: readonly string[] }, WalletError> {
    const id = txidHex(tx);
    if (this.txs.has(id)) return ok({ relevant: true, replaced: [] });
    if (!this.isRelevant(tx, id)) return ok({ relevant: false, replaced: [] });
    for (const i of tx.inputs) {
      const other = this.spentBy.get(outpointKey(reversed(i.prevout.txid), i.prevout.vout));
      const o = other === undefined ? undefined : this.txs.get(other);
      if (o !== undefined && o.height !== null)
        return err({ kind: 'conflicts-with-confirmed', txid: id, confirmedTxid: o.txid });
    }
    const replaced = this.evictConflicts(tx, id);
    this.trackUnconfirmed(id, tx, origin);
    return ok({ relevant: true, replaced });
  }

  /** Forgets an unconfirmed transaction (and its descendants), releasing its inputs: abandontransaction. */
  abandon(txid: string): Result<readonly string[], WalletError> {
    const t = this.txs.get(txid);
    if (t === undefined) return err({ kind: 'unknown-tx', txid });
    if (t.height !== null) return err({ kind: 'not-replaceable', txid, reason: 'it is confirmed' });
    return ok(this.removeTx(txid));
  }

  // ------------------------------------------------------------------------------------------
  // Queries.

  getTx(txid: string): TrackedTx | undefined {
    return this.txs.get(txid);
  }

  transactions(): TrackedTx[] {
    return [...this.txs.values()].sort((a, b) => a.seq - b.seq);
  }

  /** Our unconfirmed transactions, to rebroadcast at start-up. */
  unconfirmedOwn(): TrackedTx[] {
    return this.transactions().filter((t) => t.height === null && t.origin.kind !== 'external');
  }

  spenderOf(outpoint: string): string | undefined {
    return this.spentBy.get(outpoint);
  }

  confirmations(t: TrackedTx): number {
    return t.height === null || this.tipHeight === null ? 0 : this.tipHeight - t.height + 1;
  }

  reservationOf(outpoint: string): Reservation | undefined {
    const r = this.reservations.get(outpoint);
    if (r === undefined) return undefined;
    return this.tipHeight !== null && r.until < this.tipHeight ? undefined : r;
  }

  /** Every output paying one of our scripts (spent ones included), in discovery order. */
  coins(): Coin[] {
    const out: Coin[] = [];
    for (const t of this.transactions()) {
      const conf = this.confirmations(t);
      t.tx.outputs.forEach((o, vout) => {
        const owner = this.scripts.get(hex(o.script));
        if (owner === undefined) return;
        const outpoint = outpointKey(t.txid, vout);
        const spentBy = this.spentBy.get(outpoint) ?? null;
        const status =
          spentBy !== null
            ? 'spent'
            : t.height === null
              ? 'unconfirmed'
              : t.coinbase && conf < COINBASE_MATURITY
                ? 'immature'
                : 'confirmed';
        out.push({
          outpoint,
          txid: t.txid,
          vout,
          value: o.value,
          script: o.script,
          owner,
          status,
          height: t.height,
          confirmations: conf,
          spentBy,
          reservedUntil: this.reservationOf(outpoint)?.until ?? null,
        });
      });
    }
    return out;
  }

  /** Unspent coins by status; `reserved` counts unspent reserved ones (also in confirmed/unconfirmed). */
  balance(): Balance {
    let confirmed = 0n;
    let unconfirmed = 0n;
    let immature = 0n;
    let reserved = 0n;
    for (const c of this.coins()) {
      if (!isOwnKey(c.owner)) continue;
      if (c.status === 'confirmed') confirmed += c.value;
      else if (c.status === 'unconfirmed') unconfirmed += c.value;
      else if (c.status === 'immature') immature += c.value;
      if (c.status !== 'spent' && c.reservedUntil !== null) reserved += c.value;
    }
    return {
      confirmed: confirmed as Sat,
      unconfirmed: unconfirmed as Sat,
      immature: immature as Sat,
      reserved: reserved as Sat,
    };
  }

  /**
   * Coins a new transaction may spend: ours (not watch-only), unspent, unreserved, mature, with at least
   * `minConf` confirmations; with minConf 0 also unconfirmed outputs of our own transactions.
   */
  spendableCoins(minConf = 1): Coin[] {
    return this.coins().filter((c) => {
      if (!isOwnKey(c.owner) || c.reservedUntil !== null) return false;
      if (c.status === 'confirmed') return c.confirmations >= minConf;
      if (c.status === 'unconfirmed' && minConf === 0)
        return this.txs.get(c.txid)?.origin.kind !== 'external';
      return false;
    });
  }

  // ------------------------------------------------------------------------------------------
  // Reservations and pending fundings (used by spend.ts).

  reserve(outpoints: readonly string[], by: string): number {
    const until = (this.tipHeight ?? 0) + this.reserveBlocks;
    for (const k of outpoints) {
      this.reservations.set(k, { until, by });
      this.touch(reservationKey(k));
    }
    return until;
  }

  releaseReservations(by: string): string[] {
    const released: string[] = [];
    for (const [k, r] of this.reservations) {
      if (r.by !== by) continue;
      this.reservations.delete(k);
      this.touch(reservationKey(k));
      released.push(k);
    }
    return released;
  }

  /** Releases the reservation of specific outpoints (unreserveinputs). */
  unreserve(outpoints: readonly string[]): void {
    for (const k of outpoints) {
      if (this.reservations.delete(k)) this.touch(reservationKey(k));
    }
  }

  setPending(p: PendingFunding): void {
    this.pending.set(p.id, p);
    this.touch(pendingKey(p.id));
  }

  getPending(id: string): PendingFunding | undefined {
    return this.pending.get(id);
  }

  deletePending(id: string): void {
    if (this.pending.delete(id)) this.touch(pendingKey(id));
  }

  /** Replaces a tracked unconfirmed transaction by its fee-bumped version (same inputs, more fee). */
  replaceTx(oldTxid: string, tx: Transaction, origin: TxOrigin): string {
    this.removeTx(oldTxid);
    const id = txidHex(tx);
    this.trackUnconfirmed(id, tx, origin);
    return id;
  }

  /** Starts tracking an unconfirmed transaction of ours and marks the addresses it uses. */
  private trackUnconfirmed(id: string, tx: Transaction, origin: TxOrigin): void {
    this.putTx({
      txid: id,
      tx,
      height: null,
      blockHash: null,
      txIndex: null,
      seq: this.seq++,
      coinbase: false,
      origin,
    });
    this.noteUsed(tx);
  }

  // ------------------------------------------------------------------------------------------
  // Records.

  private touch(key: string): void {
    this.dirty.add(key);
  }

  private record(key: string): WalletRecord | null {
    if (key === metaKey()) return encodeMeta(this.meta());
    const [kind, id] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
    switch (kind) {
      case 'tx': {
        const t = this.txs.get(id);
        return t === undefined ? null : encodeTx(t);
      }
      case 'watch': {
        const label = this.watched.get(id);
        return label === undefined ? null : encodeWatch(id, label);
      }
      case 'reservation': {
        const r = this.reservations.get(id);
        return r === undefined ? null : encodeReservation(id, r.until, r.by);
      }
      case 'pending': {
        const p = this.pending.get(id);
        return p === undefined ? null : encodePending(p);
      }
      default:
        throw new Error(`unknown wallet record key ${key}`);
    }
  }

  private meta(): MetaRecord {
    return {
      network: this.network,
      tipHeight: this.tipHeight,
      tipHash: this.tipHash,
      recent: this.recent.slice(),
      seq: this.seq,
      channelIndexes: this.channelIndexes,
      receive: { ...this.counters[84][RECEIVE] },
      change: { ...this.counters[84][CHANGE] },
      taprootReceive: { ...this.counters[86][RECEIVE] },
      taprootChange: { ...this.counters[86][CHANGE] },
    };
  }

  /** Records written or deleted since the last call: persist `put` and `delete` in one atomic batch. */
  takeChanges(): { put: WalletRecord[]; delete: string[] } {
    const put: WalletRecord[] = [];
    const del: string[] = [];
    for (const key of [...this.dirty].sort()) {
      const r = this.record(key);
      if (r === null) del.push(key);
      else put.push(r);
    }
    this.dirty.clear();
    return { put, delete: del };
  }

  /** Every record of the wallet (a full snapshot). */
  toRecords(): WalletRecord[] {
    const keys = [metaKey(), ...[...this.txs.keys()].map(txKey), ...[...this.watched.keys()].map(watchKey)];
    keys.push(
      ...[...this.reservations.keys()].map(reservationKey),
      ...[...this.pending.keys()].map(pendingKey),
    );
    return keys.map((k) => this.record(k)).filter((r): r is WalletRecord => r !== null);
  }

  private restore(d: DecodedRecord): void {
    switch (d.kind) {
      case 'meta':
        return;
      case 'watch':
        this.watched.set(d.script, d.label);
        this.scripts.set(d.script, { kind: 'watch', label: d.label });
        return;
      case 'tx':
        this.txs.set(d.value.txid, d.value);
        return;
      case 'reservation':
        this.reservations.set(d.outpoint, { until: d.until, by: d.by });
        return;
      case 'pending':
        this.pending.set(d.value.id, d.value);
        return;
    }
    assertNever(d, 'wallet record');
  }

  static fromRecords(
    records: readonly WalletRecord[],
    keys: WalletKeySource,
    options: WalletOptions = {},
  ): Wallet {
    const decoded = records.map(decodeRecord);
    const meta = decoded.find((d) => d.kind === 'meta');
    if (meta === undefined || meta.kind !== 'meta') throw new Error('wallet records have no meta record');
    const w = new Wallet(meta.value.network, keys, options);
    w.tipH = meta.value.tipHeight;
    w.tipX = meta.value.tipHash;
    w.recent = meta.value.recent.slice();
    w.seq = meta.value.seq;
    w.channelIndexes = meta.value.channelIndexes;
    w.counters[84][RECEIVE] = { ...meta.value.receive };
    w.counters[84][CHANGE] = { ...meta.value.change };
    w.counters[86][RECEIVE] = { ...meta.value.taprootReceive };
    w.counters[86][CHANGE] = { ...meta.value.taprootChange };
    w.extendWindows();
    for (const d of decoded) w.restore(d);
    for (const t of w.txs.values()) {
      if (isCoinbase(t.tx)) continue;
      for (const i of t.tx.inputs)
        w.spentBy.set(outpointKey(reversed(i.prevout.txid), i.prevout.vout), t.txid);
    }
    w.dirty.clear();
    return w;
  }
}

function reversed(internalTxid: Uint8Array): string {
  return hex(Uint8Array.from(internalTxid).reverse());
}

/** "txid:vout" -> outpoint in internal byte order. */
export function parseOutpoint(key: string): { txid: Uint8Array; vout: number } | null {
  const m = /^([0-9a-f]{64}):(\d{1,10})$/.exec(key);
  if (m === null) return null;
  const vout = Number(m[2]);
  if (vout > 0xffffffff) return null;
  return { txid: fromReversedHex(m[1]!), vout };
}
