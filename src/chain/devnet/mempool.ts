// The devnet mempool: Bitcoin Core's acceptance rules for the transactions Lightning makes (PreChecks,
// policy, BIP68, scripts) and full-RBF replacement (BIP125 rules 2-5 as Core 28 applies them). In-memory
// and free of I/O; the node persists it.

import { checkTransaction } from '../../bitcoin/check-tx.ts';
import {
  hasWitness,
  reversedHex,
  serializeTx,
  type Transaction,
  type TxOut,
  txid,
} from '../../bitcoin/tx.ts';
import { equal } from '../../core/bytes.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { sha256d } from '../../crypto/hash.ts';
import { isCoinbase, REGTEST } from '../block.ts';
import { checkStandard, checkWitnessStandard } from './policy.ts';
import {
  type Coin,
  checkInputScriptsPolicy,
  checkTxInputs,
  formatMoney,
  isFinalTx,
  outpointKey,
  type Reject,
  reject,
  type ScriptVerifier,
  sequenceLocks,
  sequenceLocksSatisfied,
} from './validate.ts';

export interface MempoolEntry {
  readonly tx: Transaction;
  readonly txid: Uint8Array;
  /** Display (reversed) hex; the map key. */
  readonly id: string;
  readonly wtxid: Uint8Array;
  readonly fee: bigint;
  readonly vsize: number;
  readonly weight: number;
  /** Seconds, when it entered the mempool. */
  readonly time: number;
}

export interface MempoolContext {
  readonly tipHeight: number;
  readonly tipMedianTime: number;
  medianTimeOfParent(height: number): number;
  chainCoin(key: string): Coin | null;
  readonly verify: ScriptVerifier;
  /** Sat per 1000 vbytes (Core's -minrelaytxfee, default 1000). */
  readonly minRelayFeePerKvb: bigint;
  /** Sat per 1000 vbytes (Core's -incrementalrelayfee, default 1000). */
  readonly incrementalRelayFeePerKvb: bigint;
  readonly now: number;
  /** Core 28's -mempoolfullrbf (default on): replace conflicts whether or not they signal BIP125. */
  readonly fullRbf: boolean;
}

export interface Accepted {
  readonly entry: MempoolEntry;
  /** Mempool txids (display hex) the new transaction evicts, descendants included. */
  readonly evicts: readonly string[];
}

const MAX_REPLACEMENT_CANDIDATES = 100;
/** -limitancestorcount / -limitdescendantcount defaults. */
const CHAIN_LIMIT = 25;
const CARVE_OUT_MAX_VSIZE = 10_000;
const TRUC_MAX_VSIZE = 10_000;
const TRUC_CHILD_MAX_VSIZE = 1_000;

/** CFeeRate::ToString: "0.00001000 BTC/kvB". */
export function formatFeeRate(satPerKvb: bigint): string {
  const whole = satPerKvb / 100_000_000n;
  const frac = (satPerKvb % 100_000_000n).toString().padStart(8, '0');
  return `${whole}.${frac} BTC/kvB`;
}

function feeRatePerKvb(fee: bigint, size: number): bigint {
  return (fee * 1000n) / BigInt(size);
}

/** GetFee of a rate for a size, rounding up to at least one satoshi as CFeeRate does. */
function feeFor(ratePerKvb: bigint, size: number): bigint {
  const fee = (ratePerKvb * BigInt(size)) / 1000n;
  return fee === 0n && size !== 0 && ratePerKvb > 0n ? 1n : fee;
}

export class Mempool {
  private readonly byId = new Map<string, MempoolEntry>();
  /** outpoint key -> id of the mempool tx spending it */
  private readonly spentBy = new Map<string, string>();

  get size(): number {
    return this.byId.size;
  }

  /** An independent copy (for testing a package without touching this pool). */
  clone(): Mempool {
    const m = new Mempool();
    for (const [id, e] of this.byId) m.byId.set(id, e);
    for (const [k, id] of this.spentBy) m.spentBy.set(k, id);
    return m;
  }

  /** Entries in acceptance order (parents before children). */
  entries(): MempoolEntry[] {
    return [...this.byId.values()];
  }

  get(id: string): MempoolEntry | undefined {
    return this.byId.get(id);
  }

  spender(key: string): string | undefined {
    return this.spentBy.get(key);
  }

  /** A coin created by a mempool transaction and not spent in the mempool. */
  coin(key: string, height: number): Coin | null {
    const [idInternal, voutText] = key.split(':') as [string, string];
    const id = reversedHex(Buffer.from(idInternal, 'hex'));
    const e = this.byId.get(id);
    if (!e) return null;
    const output = e.tx.outputs[Number(voutText)];
    return output ? { output, height, coinbase: false } : null;
  }

  descendants(id: string): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    const visit = (x: string): void => {
      if (seen.has(x)) return;
      seen.add(x);
      out.push(x);
      const e = this.byId.get(x);
      if (!e) return;
      e.tx.outputs.forEach((_, vout) => {
        const child = this.spentBy.get(outpointKey({ txid: e.txid, vout }));
        if (child) visit(child);
      });
    };
    visit(id);
    return out;
  }

  /** Runs every acceptance check; does not change the mempool. */
  check(tx: Transaction, ctx: MempoolContext): Result<Accepted, Reject> {
    const bad = checkTransaction(tx);
    if (bad) return err(reject(bad));
    if (isCoinbase(tx)) return err(reject('coinbase'));
    // Serialize once: txid, wtxid, weight and vsize all come from these bytes.
    const base = serializeTx(tx, false);
    const full = hasWitness(tx) ? serializeTx(tx, true) : base;
    const w = base.length * 3 + full.length;
    const standard = checkStandard(tx, w, base.length);
    if (standard) return err(reject(standard, undefined, { policy: true }));
    const height = ctx.tipHeight + 1;
    if (!isFinalTx(tx, height, ctx.tipMedianTime))
      return err(reject('non-final', undefined, { policy: true }));
    const id = sha256d(base);
    const wid = full === base ? id : sha256d(full);
    const idHex = reversedHex(id);
    const existing = this.byId.get(idHex);
    if (existing) {
      return err(
        reject(equal(existing.wtxid, wid) ? 'txn-already-in-mempool' : 'txn-same-nonwitness-data-in-mempool'),
      );
    }
    // Direct conflicts (inputs already spent by mempool transactions): candidates for replacement.
    const conflicts = new Set<string>();
    for (const input of tx.inputs) {
      const spender = this.spentBy.get(outpointKey(input.prevout));
      if (spender && !conflicts.has(spender)) {
        // BIP125 opt-in: any input with nSequence below 0xfffffffe.
        if (!ctx.fullRbf && !this.byId.get(spender)!.tx.inputs.some((i) => i.sequence < 0xfffffffe)) {
          return err(reject('txn-mempool-conflict', undefined, { policy: true }));
        }
        conflicts.add(spender);
      }
    }
    for (let vout = 0; vout < tx.outputs.length; vout++) {
      if (ctx.chainCoin(outpointKey({ txid: id, vout }))) return err(reject('txn-already-known'));
    }
    const coins: Coin[] = [];
    const fromMempool: boolean[] = [];
    for (const input of tx.inputs) {
      const key = outpointKey(input.prevout);
      const chain = ctx.chainCoin(key);
      const mem = chain ? null : this.coin(key, height);
      const coin = chain ?? mem;
      if (!coin) return err(reject('bad-txns-inputs-missingorspent', undefined, { missingInputs: true }));
      coins.push(coin);
      fromMempool.push(mem !== null);
    }
    const locks = sequenceLocks(
      tx,
      coins.map((c) => c.height),
      (h) => (h > ctx.tipHeight ? ctx.tipMedianTime : ctx.medianTimeOfParent(h)),
    );
    if (!sequenceLocksSatisfied(locks, height, ctx.tipMedianTime)) {
      return err(reject('non-BIP68-final', undefined, { policy: true }));
    }
    const checked = checkTxInputs(tx, coins, height, REGTEST.coinbaseMaturity);
    if (!checked.ok) return err(checked.reject);
    const fee = checked.fee;
    const prevouts: TxOut[] = coins.map((c) => c.output);
    const witness = checkWitnessStandard(tx, prevouts);
    if (witness) return err(reject(witness, undefined, { policy: true }));
    const size = Math.ceil(w / 4);
    const minFee = feeFor(ctx.minRelayFeePerKvb, size);
    if (fee < minFee) return err(reject('min relay fee not met', `${fee} < ${minFee}`, { policy: true }));

    const chainLimit = this.checkChainLimits(tx, size);
    if (chainLimit) return err(chainLimit);
    const truc = this.checkTruc(tx, idHex, reversedHex(wid), size, conflicts);
    if (truc) return err(truc);
    const evicts: string[] = [];
    if (conflicts.size > 0) {
      const replaced = this.checkReplacement(tx, idHex, fee, size, conflicts, fromMempool, ctx);
      if (!replaced.ok) return replaced;
      evicts.push(...replaced.value);
    }
    const scripts = checkInputScriptsPolicy(tx, prevouts, ctx.verify);
    if (scripts) return err(scripts);
    return ok({
      entry: { tx, txid: id, id: idHex, wtxid: wid, fee, vsize: size, weight: w, time: ctx.now },
      evicts,
    });
  }

  /** Unconfirmed ancestors of a transaction (its in-mempool parents, their parents, ...). */
  ancestors(tx: Transaction): Set<string> {
    const out = new Set<string>();
    const visit = (t: Transaction): void => {
      for (const i of t.inputs) {
        const parent = reversedHex(i.prevout.txid);
        const e = this.byId.get(parent);
        if (e && !out.has(parent)) {
          out.add(parent);
          visit(e.tx);
        }
      }
    };
    visit(tx);
    return out;
  }

  /** Core's default package limits (25 ancestors, 25 descendants) with the CPFP carve-out. */
  private checkChainLimits(tx: Transaction, size: number): Reject | null {
    const ancestors = this.ancestors(tx);
    if (ancestors.size + 1 > CHAIN_LIMIT) {
      return reject('too-long-mempool-chain', `too many unconfirmed ancestors [limit: ${CHAIN_LIMIT}]`, {
        policy: true,
      });
    }
    for (const a of ancestors) {
      const count = this.descendants(a).length; // includes the ancestor itself
      if (count + 1 > CHAIN_LIMIT) {
        // Carve-out: one more small child of a transaction with no other unconfirmed ancestors.
        const carve = ancestors.size === 1 && size <= CARVE_OUT_MAX_VSIZE && count + 1 <= CHAIN_LIMIT + 1;
        if (!carve) {
          return reject(
            'too-long-mempool-chain',
            `too many descendants for tx ${a} [limit: ${CHAIN_LIMIT}]`,
            { policy: true },
          );
        }
      }
    }
    return null;
  }

  /** BIP431 TRUC (version 3) rules as Core 28's SingleTRUCChecks, without sibling eviction. */
  private checkTruc(
    tx: Transaction,
    id: string,
    wid: string,
    size: number,
    conflicts: ReadonlySet<string>,
  ): Reject | null {
    const v = (r: string): Reject => reject('TRUC-violation', r, { policy: true });
    const parents = [...new Set(tx.inputs.map((i) => reversedHex(i.prevout.txid)))].filter((p) =>
      this.byId.has(p),
    );
    for (const p of parents) {
      const e = this.byId.get(p)!;
      const pw = reversedHex(e.wtxid);
      if (tx.version !== 3 && e.tx.version === 3) {
        return v(`non-version=3 tx ${id} (wtxid=${wid}) cannot spend from version=3 tx ${p} (wtxid=${pw})`);
      }
      if (tx.version === 3 && e.tx.version !== 3) {
        return v(`version=3 tx ${id} (wtxid=${wid}) cannot spend from non-version=3 tx ${p} (wtxid=${pw})`);
      }
    }
    if (tx.version !== 3) return null;
    if (size > TRUC_MAX_VSIZE)
      return v(`version=3 tx ${id} (wtxid=${wid}) is too big: ${size} > ${TRUC_MAX_VSIZE} virtual bytes`);
    const ancestors = this.ancestors(tx);
    if (ancestors.size + 1 > 2) return v(`tx ${id} (wtxid=${wid}) would have too many ancestors`);
    const parent = parents[0];
    if (parent !== undefined) {
      if (size > TRUC_CHILD_MAX_VSIZE) {
        return v(
          `version=3 child tx ${id} (wtxid=${wid}) is too big: ${size} > ${TRUC_CHILD_MAX_VSIZE} virtual bytes`,
        );
      }
      const siblings = this.descendants(parent).filter((d) => d !== parent && !conflicts.has(d));
      if (siblings.length > 0)
        return v(
          `tx ${parent} (wtxid=${reversedHex(this.byId.get(parent)!.wtxid)}) would exceed descendant count limit`,
        );
    }
    return null;
  }

  private checkReplacement(
    tx: Transaction,
    idHex: string,
    fee: bigint,
    size: number,
    conflicts: ReadonlySet<string>,
    fromMempool: readonly boolean[],
    ctx: MempoolContext,
  ): Result<string[], Reject> {
    const all = new Set<string>();
    for (const c of conflicts) for (const d of this.descendants(c)) all.add(d);
    if (all.size > MAX_REPLACEMENT_CANDIDATES) {
      return err(
        reject(
          'too many potential replacements',
          `rejecting replacement ${idHex}; too many potential replacements (${all.size} > ${MAX_REPLACEMENT_CANDIDATES})`,
          { policy: true },
        ),
      );
    }
    // The replacement may not spend what it replaces.
    for (const input of tx.inputs) {
      const parent = reversedHex(input.prevout.txid);
      if (all.has(parent)) {
        return err(
          reject('bad-txns-spends-conflicting-tx', `${idHex} spends conflicting transaction ${parent}`),
        );
      }
    }
    // Rule 2: no new unconfirmed inputs.
    const conflictInputs = new Set<string>();
    for (const c of conflicts)
      for (const i of this.byId.get(c)!.tx.inputs) conflictInputs.add(reversedHex(i.prevout.txid));
    for (let n = 0; n < tx.inputs.length; n++) {
      if (fromMempool[n] && !conflictInputs.has(reversedHex(tx.inputs[n]!.prevout.txid))) {
        return err(
          reject('replacement-adds-unconfirmed', `replacement ${idHex} adds unconfirmed input, idx ${n}`, {
            policy: true,
          }),
        );
      }
    }
    // Rule 6 (feerate) against each direct conflict.
    const newRate = feeRatePerKvb(fee, size);
    for (const c of conflicts) {
      const e = this.byId.get(c)!;
      const oldRate = feeRatePerKvb(e.fee, e.vsize);
      if (newRate <= oldRate) {
        return err(
          reject(
            'insufficient fee',
            `rejecting replacement ${idHex}; new feerate ${formatFeeRate(newRate)} <= old feerate ${formatFeeRate(oldRate)}`,
            {
              policy: true,
            },
          ),
        );
      }
    }
    // Rules 3 and 4: pay for everything evicted, plus its own relay.
    let evictedFees = 0n;
    for (const d of all) evictedFees += this.byId.get(d)!.fee;
    if (fee < evictedFees) {
      return err(
        reject(
          'insufficient fee',
          `rejecting replacement ${idHex}, less fees than conflicting txs; ${formatMoney(fee)} < ${formatMoney(evictedFees)}`,
          {
            policy: true,
          },
        ),
      );
    }
    const additional = fee - evictedFees;
    const required = feeFor(ctx.incrementalRelayFeePerKvb, size);
    if (additional < required) {
      return err(
        reject(
          'insufficient fee',
          `rejecting replacement ${idHex}, not enough additional fees to relay; ${formatMoney(additional)} < ${formatMoney(required)}`,
          {
            policy: true,
          },
        ),
      );
    }
    return ok([...all]);
  }

  /** Applies a checked acceptance: evicts the replaced transactions, then adds the entry. */
  add(accepted: Accepted): void {
    for (const id of accepted.evicts) this.removeOne(id);
    const e = accepted.entry;
    this.byId.set(e.id, e);
    for (const input of e.tx.inputs) this.spentBy.set(outpointKey(input.prevout), e.id);
  }

  /** Removes a transaction and everything that spends it; returns the removed ids. */
  removeWithDescendants(id: string): string[] {
    const gone = this.descendants(id).filter((x) => this.byId.has(x));
    for (const x of gone) this.removeOne(x);
    return gone;
  }

  /** After a block: confirmed transactions leave, and so does anything conflicting with them. */
  removeForBlock(txs: readonly Transaction[]): string[] {
    const removed: string[] = [];
    for (const tx of txs) {
      const id = reversedHex(txid(tx));
      if (this.byId.has(id)) {
        this.removeOne(id);
        removed.push(id);
      }
    }
    for (const tx of txs) {
      if (isCoinbase(tx)) continue;
      for (const input of tx.inputs) {
        const spender = this.spentBy.get(outpointKey(input.prevout));
        if (spender) removed.push(...this.removeWithDescendants(spender));
      }
    }
    return removed;
  }

  clear(): MempoolEntry[] {
    const all = this.entries();
    this.byId.clear();
    this.spentBy.clear();
    return all;
  }

  private removeOne(id: string): void {
    const e = this.byId.get(id);
    if (!e) return;
    this.byId.delete(id);
    for (const input of e.tx.inputs) {
      const key = outpointKey(input.prevout);
      if (this.spentBy.get(key) === id) this.spentBy.delete(key);
    }
  }
}
