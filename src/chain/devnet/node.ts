// The devnet node (shell): the block index and active chain, the UTXO set, the mempool, mining,
// invalidateblock / reconsiderblock, and their persistence. Validation itself is in the pure modules
// (connect.ts, mempool.ts); time and randomness come in through options.

import {
  fromReversedHex,
  parseTx,
  reversedHex,
  serializeTx,
  type Transaction,
  txid,
} from '../../bitcoin/tx.ts';
import { concat } from '../../core/bytes.ts';
import { err, ok, type Result } from '../../core/result.ts';
import type { Sat } from '../../core/units.ts';
import {
  type Block,
  type BlockHeader,
  blockHash,
  blockSubsidy,
  grind,
  medianTime,
  parseBlock,
  REGTEST,
  regtestGenesis,
  scriptPushInt,
  serializeBlock,
  txMerkleRoot,
  witnessCommitmentScript,
} from '../block.ts';
import { connectBlock, disconnectDelta, parseUndo, serializeUndo } from './connect.ts';
import { Mempool, type MempoolContext, type MempoolEntry } from './mempool.ts';
import { defaultScriptVerifier } from './scripts.ts';
import { DevnetStore } from './store.ts';
import { type Coin, outpointKey, type Reject, rejectText, type ScriptVerifier } from './validate.ts';

export interface DevnetOptions {
  readonly datadir: string;
  /** Seconds since the epoch; defaults to the system clock. */
  readonly now?: () => number;
  readonly verify?: ScriptVerifier;
  /** Sat per 1000 vbytes; Core 28's default is 1000. */
  readonly minRelayFeePerKvb?: bigint;
  /** Mine a block as soon as a transaction enters the mempool. */
  readonly automine?: boolean;
  /** Core 28's -mempoolfullrbf; default true. */
  readonly fullRbf?: boolean;
}

export interface IndexEntry {
  readonly hash: Uint8Array;
  /** Display hex. */
  readonly id: string;
  readonly height: number;
  readonly header: BlockHeader;
  readonly prevId: string;
  invalid: boolean;
}

/** A mempool refusal mapped onto Bitcoin Core's RPC error. */
export interface TxRefusal {
  readonly code: number;
  readonly message: string;
  /** testmempoolaccept's "reject-reason". */
  readonly rejectReason: string;
}

export type DevnetEvent =
  | { readonly type: 'block-connected'; readonly id: string; readonly height: number }
  | { readonly type: 'block-disconnected'; readonly id: string; readonly height: number }
  | { readonly type: 'tx-accepted'; readonly id: string };

/** Core's RPC error codes used by the devnet. */
export const RPC = {
  MISC_ERROR: -1,
  TYPE_ERROR: -3,
  INVALID_ADDRESS_OR_KEY: -5,
  WALLET_INSUFFICIENT_FUNDS: -6,
  INVALID_PARAMETER: -8,
  DESERIALIZATION_ERROR: -22,
  VERIFY_ERROR: -25,
  VERIFY_REJECTED: -26,
  VERIFY_ALREADY_IN_UTXO_SET: -27,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  PARSE_ERROR: -32700,
} as const;

export class Devnet {
  readonly store: DevnetStore;
  readonly mempool = new Mempool();
  private readonly index = new Map<string, IndexEntry>();
  private readonly blocks = new Map<string, Block>();
  /** Display ids of the active chain by height. */
  private active: string[] = [];
  private times: number[] = [];
  private readonly utxo = new Map<string, Coin>();
  private readonly txIndex = new Map<string, { block: string; pos: number }>();
  private readonly listeners = new Set<(e: DevnetEvent) => void>();
  private readonly clock: () => number;
  /** Core's setmocktime: a fixed clock while set (tests move time without waiting). */
  mockTime: number | null = null;
  private readonly verify: ScriptVerifier;
  readonly minRelayFeePerKvb: bigint;
  readonly fullRbf: boolean;
  automine: boolean;

  constructor(options: DevnetOptions) {
    this.clock = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.verify = options.verify ?? defaultScriptVerifier;
    this.minRelayFeePerKvb = options.minRelayFeePerKvb ?? 1000n;
    this.automine = options.automine ?? false;
    this.fullRbf = options.fullRbf ?? true;
    this.store = new DevnetStore(options.datadir);
    this.load();
  }

  close(): void {
    this.store.close();
  }

  /** The devnet's notion of now, seconds. */
  now(): number {
    return this.mockTime ?? this.clock();
  }

  subscribe(fn: (e: DevnetEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(e: DevnetEvent): void {
    for (const l of this.listeners) l(e);
  }

  // ---- loading ---------------------------------------------------------------------------

  private load(): void {
    const stored = this.store.blocks();
    if (stored.length === 0) {
      const genesis = regtestGenesis();
      const hash = blockHash(genesis.header);
      if (reversedHex(hash) !== REGTEST.genesisHash) throw new Error('devnet: regtest genesis hash mismatch');
      this.store.putBlock(hash, 0, serializeBlock(genesis));
      // Like Core, the genesis coinbase never enters the UTXO set.
      this.store.connect(hash, 0, serializeUndo([]), [], []);
      this.load();
      return;
    }
    for (const s of stored) {
      const block = parseBlock(s.raw);
      const id = reversedHex(s.hash);
      this.blocks.set(id, block);
      this.index.set(id, {
        hash: s.hash,
        id,
        height: s.height,
        header: block.header,
        prevId: reversedHex(block.header.prevHash),
        invalid: s.invalid,
      });
    }
    this.active = this.store.activeChain().map(reversedHex);
    this.times = this.active.map((id) => this.index.get(id)!.header.time);
    for (const id of this.active) this.indexTxs(id, true);
    for (const c of this.store.utxos()) this.utxo.set(c.key, c.coin);
    const saved = this.store.mempool();
    for (const m of saved) {
      try {
        const tx = parseTx(m.raw);
        const checked = this.mempool.check(tx, this.mempoolContext());
        if (checked.ok) this.mempool.add(checked.value);
      } catch {
        // a stored transaction that no longer parses is dropped
      }
    }
    this.persistMempool();
  }

  private indexTxs(id: string, add: boolean): void {
    this.blocks.get(id)!.txs.forEach((tx, pos) => {
      const t = reversedHex(txid(tx));
      if (add) this.txIndex.set(t, { block: id, pos });
      else if (this.txIndex.get(t)?.block === id) this.txIndex.delete(t);
    });
  }

  // ---- queries ---------------------------------------------------------------------------

  get height(): number {
    return this.active.length - 1;
  }

  get tipId(): string {
    return this.active[this.active.length - 1]!;
  }

  idAt(height: number): string | null {
    return this.active[height] ?? null;
  }

  entry(id: string): IndexEntry | null {
    return this.index.get(id) ?? null;
  }

  block(id: string): Block | null {
    return this.blocks.get(id) ?? null;
  }

  isActive(id: string): boolean {
    const e = this.index.get(id);
    return !!e && this.active[e.height] === id;
  }

  /** Confirmations as Core reports them: -1 for blocks off the active chain. */
  confirmations(id: string): number {
    const e = this.index.get(id);
    if (!e || !this.isActive(id)) return -1;
    return this.height - e.height + 1;
  }

  /** Median time past of the active block at `height` (Core's GetMedianTimePast). */
  medianTimeAt(height: number): number {
    if (height < 0) return 0;
    return medianTime(this.times.slice(Math.max(0, height - 10), height + 1));
  }

  /** Median time past of any indexed block, active or not. */
  medianTimeOfEntry(e: IndexEntry): number {
    const times: number[] = [];
    let cur: IndexEntry | undefined = e;
    while (cur && times.length < 11) {
      times.unshift(cur.header.time);
      cur = this.index.get(cur.prevId);
    }
    return medianTime(times);
  }

  /** Work of the chain up to an index entry (regtest: every block has the same work). */
  chainWork(e: IndexEntry): bigint {
    return BigInt(e.height + 1) * 2n;
  }

  coin(key: string): Coin | null {
    return this.utxo.get(key) ?? null;
  }

  allCoins(): IterableIterator<[string, Coin]> {
    return this.utxo.entries();
  }

  /** A transaction in the mempool or the active chain. */
  findTx(id: string): { tx: Transaction; block: string | null } | null {
    const m = this.mempool.get(id);
    if (m) return { tx: m.tx, block: null };
    const at = this.txIndex.get(id);
    if (!at) return null;
    return { tx: this.blocks.get(at.block)!.txs[at.pos]!, block: at.block };
  }

  /** gettxout: unspent in the chain (and not spent in the mempool when includeMempool), or a mempool output. */
  txOut(id: string, vout: number, includeMempool: boolean): { coin: Coin; confirmations: number } | null {
    const key = outpointKey({ txid: fromReversedHex(id), vout });
    const c = this.utxo.get(key);
    if (c) {
      if (includeMempool && this.mempool.spender(key)) return null;
      return { coin: c, confirmations: this.height - c.height + 1 };
    }
    if (!includeMempool || this.mempool.spender(key)) return null;
    const m = this.mempool.coin(key, this.height + 1);
    return m ? { coin: m, confirmations: 0 } : null;
  }

  // ---- mempool ---------------------------------------------------------------------------

  mempoolContext(): MempoolContext {
    return {
      tipHeight: this.height,
      tipMedianTime: this.medianTimeAt(this.height),
      medianTimeOfParent: (h) => this.medianTimeAt(h - 1),
      chainCoin: (k) => this.utxo.get(k) ?? null,
      verify: this.verify,
      minRelayFeePerKvb: this.minRelayFeePerKvb,
      incrementalRelayFeePerKvb: 1000n,
      now: this.now(),
      fullRbf: this.fullRbf,
    };
  }

  /**
   * Mempool acceptance as sendrawtransaction / testmempoolaccept see it. `maxFeeRatePerKvb` of 0 disables
   * the absurd-fee check. With `dryRun` nothing changes.
   */
  accept(
    tx: Transaction,
    opts: { maxFeeRatePerKvb?: bigint; dryRun?: boolean } = {},
  ): Result<MempoolEntry, TxRefusal> {
    const checked = this.mempool.check(tx, this.mempoolContext());
    if (!checked.ok) return err(refusal(checked.error));
    const e = checked.value.entry;
    const maxRate = opts.maxFeeRatePerKvb ?? 10_000_000n;
    if (maxRate > 0n && e.fee > (maxRate * BigInt(e.vsize)) / 1000n) {
      return err(MAX_FEE_EXCEEDED);
    }
    if (opts.dryRun) return ok(e);
    this.mempool.add(checked.value);
    this.store.mempoolAdd(e.id, serializeTx(tx), e.time, checked.value.evicts);
    this.emit({ type: 'tx-accepted', id: e.id });
    if (this.automine) this.mine(1, this.automineScript ?? new Uint8Array([0x51]));
    return ok(e);
  }

  /**
   * testmempoolaccept of several transactions: each is checked against the mempool plus the ones before it
   * in the list (so a child may follow its parent). Nothing changes.
   */
  testAccept(txs: readonly Transaction[], maxFeeRatePerKvb: bigint): Result<MempoolEntry, TxRefusal>[] {
    const scratch = this.mempool.clone();
    const ctx = this.mempoolContext();
    return txs.map((tx) => {
      const checked = scratch.check(tx, ctx);
      if (!checked.ok) return err(refusal(checked.error));
      const e = checked.value.entry;
      if (maxFeeRatePerKvb > 0n && e.fee > (maxFeeRatePerKvb * BigInt(e.vsize)) / 1000n)
        return err(MAX_FEE_EXCEEDED);
      scratch.add(checked.value);
      return ok(e);
    });
  }

  /** Where automined and timer-mined coinbases pay (set by the faucet). */
  automineScript: Uint8Array | null = null;

  private persistMempool(): void {
    this.store.setMempool(
      this.mempool.entries().map((e) => ({ id: e.id, raw: serializeTx(e.tx), time: e.time })),
    );
  }

  // ---- mining ----------------------------------------------------------------------------

  /** Builds, grinds and connects `n` blocks paying `script`; returns their ids. */
  mine(n: number, script: Uint8Array, maxTxs = Number.POSITIVE_INFINITY): string[] {
    return this.store.batch(() => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const result = this.mineOne(script, this.pickFromMempool(maxTxs));
        if (!result.ok) throw new Error(`devnet: mined an invalid block: ${rejectText(result.error)}`);
        ids.push(result.value);
      }
      return ids;
    });
  }

  /**
   * generateblock: one block with exactly these transactions (in order), whether or not they are in the
   * mempool. `fees` is what the coinbase may add to the subsidy. Returns the block id or why it failed.
   */
  mineWith(script: Uint8Array, txs: readonly Transaction[], fees: bigint): Result<string, Reject> {
    return this.store.batch(() => this.mineOne(script, { txs, fees }));
  }

  private mineOne(
    script: Uint8Array,
    content: { readonly txs: readonly Transaction[]; readonly fees: bigint },
  ): Result<string, Reject> {
    // A block identical to one already known (same txs, same second, e.g. right after
    // invalidateblock) gets a different extra nonce.
    let block = this.template(script, content, 0);
    for (let extra = 1; this.index.has(reversedHex(blockHash(block.header))); extra++) {
      block = this.template(script, content, extra);
    }
    return this.submitBlock(block);
  }

  /** Mempool transactions in acceptance order (parents first) up to the block weight limit. */
  pickFromMempool(maxTxs = Number.POSITIVE_INFINITY): { txs: Transaction[]; fees: bigint } {
    const txs: Transaction[] = [];
    let fees = 0n;
    let w = 4000; // room for the header and the coinbase
    for (const e of this.mempool.entries()) {
      if (txs.length >= maxTxs || w + e.weight > REGTEST.maxBlockWeight) break;
      txs.push(e.tx);
      fees += e.fee;
      w += e.weight;
    }
    return { txs, fees };
  }

  template(
    script: Uint8Array,
    content: { readonly txs: readonly Transaction[]; readonly fees: bigint } = this.pickFromMempool(),
    extraNonce = 0,
  ): Block {
    const height = this.height + 1;
    const picked = content.txs;
    const fees = content.fees;
    const reserved = new Uint8Array(32);
    const draft: Transaction = {
      version: 2,
      inputs: [
        {
          prevout: { txid: new Uint8Array(32), vout: 0xffffffff },
          scriptSig: concat(scriptPushInt(height), scriptPushInt(extraNonce)),
          sequence: 0xffffffff,
          witness: [reserved],
        },
      ],
      outputs: [{ value: (blockSubsidy(height) + fees) as Sat, script }],
      locktime: 0,
    };
    const commitment = witnessCommitmentScript([draft, ...picked], reserved);
    const coinbase: Transaction = {
      ...draft,
      outputs: [...draft.outputs, { value: 0n as Sat, script: commitment }],
    };
    const txs = [coinbase, ...picked];
    const time = Math.max(this.now(), this.medianTimeAt(this.height) + 1);
    const header = grind({
      version: 0x20000000,
      prevHash: this.index.get(this.tipId)!.hash,
      merkleRoot: txMerkleRoot(txs),
      time,
      bits: REGTEST.powLimitBits,
      nonce: 0,
    });
    if (!header) throw new Error('devnet: no nonce found');
    return { header, txs };
  }

  /** Stores a block and makes the best valid chain active. Returns its id or the reason it was refused. */
  submitBlock(block: Block): Result<string, Reject> {
    const hash = blockHash(block.header);
    const id = reversedHex(hash);
    if (this.index.has(id)) return err({ reason: 'duplicate' });
    const prevId = reversedHex(block.header.prevHash);
    const parent = this.index.get(prevId);
    if (!parent) return err({ reason: 'prev-blk-not-found' });
    for (
      let cur: IndexEntry | undefined = parent;
      cur && !this.isActive(cur.id);
      cur = this.index.get(cur.prevId)
    ) {
      if (cur.invalid) return err({ reason: 'bad-prevblk', debug: 'previous block is invalid' });
    }
    // Core checks the clock when a header first arrives, never when a stored block reconnects.
    if (block.header.time > this.now() + REGTEST.maxFutureBlockTime) {
      return err({ reason: 'time-too-new', debug: 'block timestamp too far in the future' });
    }
    const entry: IndexEntry = {
      hash,
      id,
      height: parent.height + 1,
      header: block.header,
      prevId,
      invalid: false,
    };
    this.index.set(id, entry);
    this.blocks.set(id, block);
    this.store.putBlock(hash, entry.height, serializeBlock(block));
    const failure = this.activateBestChain();
    if (entry.invalid) return err(failure ?? { reason: 'invalid' });
    return ok(id);
  }

  // ---- chain selection -------------------------------------------------------------------

  /** The best candidate: most work, no invalid ancestor; ties keep the current tip, then first seen. */
  private bestCandidate(): IndexEntry {
    const valid = new Map<string, boolean>();
    const isValid = (e: IndexEntry): boolean => {
      const path: IndexEntry[] = [];
      let cur: IndexEntry | undefined = e;
      while (cur && !valid.has(cur.id)) {
        path.push(cur);
        cur = this.index.get(cur.prevId);
      }
      let ok = cur ? valid.get(cur.id)! : true;
      for (let i = path.length - 1; i >= 0; i--) {
        ok = ok && !path[i]!.invalid;
        valid.set(path[i]!.id, ok);
      }
      return valid.get(e.id)!;
    };
    let best = this.index.get(this.tipId)!;
    for (const e of this.index.values()) {
      if (e.height > best.height && isValid(e)) best = e;
    }
    return best;
  }

  /** Reorganises to the best valid chain; blocks that fail to connect are marked invalid. */
  private activateBestChain(): Reject | null {
    let lastFailure: Reject | null = null;
    const returned: Transaction[][] = [];
    for (;;) {
      const best = this.bestCandidate();
      if (best.id === this.tipId) break;
      // Path from the fork point to the candidate.
      const path: IndexEntry[] = [];
      let cur: IndexEntry = best;
      while (!this.isActive(cur.id)) {
        path.push(cur);
        cur = this.index.get(cur.prevId)!;
      }
      while (this.tipId !== cur.id) returned.unshift(this.disconnectTip());
      for (const e of path.reverse()) {
        const failure = this.connectTip(e);
        if (failure) {
          lastFailure = failure;
          e.invalid = true;
          this.store.setInvalid([e.hash], true);
          break;
        }
      }
    }
    if (returned.length > 0) this.resurrect(returned.flat());
    return lastFailure;
  }

  private connectTip(e: IndexEntry): Reject | null {
    const block = this.blocks.get(e.id)!;
    const result = connectBlock(
      block,
      {
        height: e.height,
        prevHash: this.index.get(this.tipId)!.hash,
        prevMedianTime: this.medianTimeAt(this.height),
        medianTimeOfParent: (h) => this.medianTimeAt(h - 1),
        coin: (k) => this.utxo.get(k) ?? null,
      },
      this.verify,
    );
    if (!result.ok) return result.error;
    const delta = result.value;
    for (const s of delta.spent) this.utxo.delete(s.key);
    for (const c of delta.created) this.utxo.set(c.key, c.coin);
    this.store.connect(
      e.hash,
      e.height,
      serializeUndo(delta.spent),
      delta.spent.map((s) => s.key),
      delta.created,
    );
    this.active.push(e.id);
    this.times.push(e.header.time);
    this.indexTxs(e.id, true);
    const removed = this.mempool.removeForBlock(block.txs);
    if (removed.length > 0) this.persistMempool();
    this.emit({ type: 'block-connected', id: e.id, height: e.height });
    return null;
  }

  /** Disconnects the tip and returns its non-coinbase transactions. */
  private disconnectTip(): Transaction[] {
    const id = this.tipId;
    const e = this.index.get(id)!;
    if (e.height === 0) throw new Error('devnet: cannot disconnect the genesis block');
    const block = this.blocks.get(id)!;
    const undo = parseUndo(this.store.undo(e.hash) ?? serializeUndo([]));
    const { remove, restore } = disconnectDelta(block, undo);
    for (const k of remove) this.utxo.delete(k);
    for (const c of restore) this.utxo.set(c.key, c.coin);
    this.store.disconnect(e.height, remove, restore);
    this.active.pop();
    this.times.pop();
    this.indexTxs(id, false);
    this.emit({ type: 'block-disconnected', id, height: e.height });
    return block.txs.slice(1);
  }

  /** After a reorg: disconnected transactions first, then the old mempool, each re-validated. */
  private resurrect(txs: readonly Transaction[]): void {
    const old = this.mempool.clear();
    const ctx = this.mempoolContext();
    for (const tx of [...txs, ...old.map((o) => o.tx)]) {
      const checked = this.mempool.check(tx, ctx);
      if (checked.ok) this.mempool.add(checked.value);
    }
    this.persistMempool();
  }

  // ---- invalidate / reconsider ----------------------------------------------------------

  private descendantsOf(id: string): IndexEntry[] {
    const target = this.index.get(id)!;
    const out: IndexEntry[] = [];
    for (const e of this.index.values()) {
      let cur: IndexEntry | undefined = e;
      while (cur && cur.height > target.height) cur = this.index.get(cur.prevId);
      if (cur?.id === id) out.push(e);
    }
    return out;
  }

  invalidateBlock(id: string): Result<null, TxRefusal> {
    const e = this.index.get(id);
    if (!e) return err({ code: RPC.INVALID_ADDRESS_OR_KEY, message: 'Block not found', rejectReason: '' });
    if (e.height === 0)
      return err({ code: RPC.MISC_ERROR, message: 'Genesis block cannot be invalidated', rejectReason: '' });
    e.invalid = true;
    this.store.setInvalid([e.hash], true);
    const returned: Transaction[][] = [];
    if (this.isActive(id)) {
      while (this.height >= e.height) returned.unshift(this.disconnectTip());
    }
    if (returned.length > 0) this.resurrect(returned.flat());
    this.activateBestChain();
    return ok(null);
  }

  reconsiderBlock(id: string): Result<null, TxRefusal> {
    const e = this.index.get(id);
    if (!e) return err({ code: RPC.INVALID_ADDRESS_OR_KEY, message: 'Block not found', rejectReason: '' });
    // Like Core's ResetBlockFailureFlags: the block, its descendants and its ancestors.
    const touched: IndexEntry[] = this.descendantsOf(id);
    let cur: IndexEntry | undefined = e;
    while (cur) {
      touched.push(cur);
      cur = this.index.get(cur.prevId);
    }
    for (const t of touched) t.invalid = false;
    this.store.setInvalid(
      touched.map((t) => t.hash),
      false,
    );
    this.activateBestChain();
    return ok(null);
  }

  /** Chain tips as getchaintips reports them: a tip on top of an invalid block is invalid. */
  tips(): { id: string; height: number; status: 'active' | 'invalid' | 'valid-fork' }[] {
    const hasChild = new Set<string>();
    for (const e of this.index.values()) hasChild.add(e.prevId);
    const invalidBelow = (e: IndexEntry): boolean => {
      for (
        let cur: IndexEntry | undefined = e;
        cur && !this.isActive(cur.id);
        cur = this.index.get(cur.prevId)
      ) {
        if (cur.invalid) return true;
      }
      return false;
    };
    return [...this.index.values()]
      .filter((e) => !hasChild.has(e.id))
      .map((e) => ({
        id: e.id,
        height: e.height,
        status: this.isActive(e.id) ? 'active' : invalidBelow(e) ? 'invalid' : 'valid-fork',
      }));
  }
}

const MAX_FEE_EXCEEDED: TxRefusal = {
  code: RPC.VERIFY_ERROR,
  message: 'Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)',
  rejectReason: 'max-fee-exceeded',
};

/** Maps a mempool reject onto the RPC error Core's sendrawtransaction returns. */
function refusal(r: Reject): TxRefusal {
  if (r.missingInputs) {
    return { code: RPC.VERIFY_ERROR, message: r.reason, rejectReason: 'missing-inputs' };
  }
  if (r.reason === 'txn-already-known') {
    return {
      code: RPC.VERIFY_ALREADY_IN_UTXO_SET,
      message: 'Transaction outputs already in utxo set',
      rejectReason: r.reason,
    };
  }
  return { code: RPC.VERIFY_REJECTED, message: rejectText(r), rejectReason: r.reason };
}
