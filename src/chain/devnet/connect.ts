// Block connection as a pure function: (coin view at the parent, block) -> the UTXO delta and undo data,
// or Core's reject reason. Disconnection replays the undo data backwards.

import { checkTransaction } from '../../bitcoin/check-tx.ts';
import {
  ByteReader,
  encodeCompactSize,
  hasWitness,
  serializeTx,
  type TxOut,
  txid,
  varBytes,
} from '../../bitcoin/tx.ts';
import { concat, equal } from '../../core/bytes.ts';
import { err, ok, type Result } from '../../core/result.ts';
import type { Sat } from '../../core/units.ts';
import { sha256d } from '../../crypto/hash.ts';
import {
  type Block,
  blockHash,
  blockSubsidy,
  checkProofOfWork,
  findWitnessCommitment,
  isCoinbase,
  merkleRoot,
  merkleRootChecked,
  REGTEST,
  scriptPushInt,
} from '../block.ts';
import {
  type Coin,
  checkInputScriptsConsensus,
  checkTxInputs,
  isFinalTx,
  outpointKey,
  type Reject,
  reject,
  type ScriptVerifier,
  sequenceLocks,
  sequenceLocksSatisfied,
} from './validate.ts';

export interface BlockContext {
  readonly height: number;
  readonly prevHash: Uint8Array;
  /** Median time past of the parent block. */
  readonly prevMedianTime: number;
  /** Median time past of the block before `height` (BIP68 time locks). */
  medianTimeOfParent(height: number): number;
  /** The UTXO set as of the parent block. */
  coin(key: string): Coin | null;
}

export interface CoinChange {
  readonly key: string;
  readonly coin: Coin;
}

export interface BlockDelta {
  /** Coins this block spends, in input order (the undo data). */
  readonly spent: readonly CoinChange[];
  /** Coins this block creates (unspendable outputs left out). */
  readonly created: readonly CoinChange[];
  readonly fees: bigint;
}

function unspendable(o: TxOut): boolean {
  return (o.script.length > 0 && o.script[0] === 0x6a) || o.script.length > 10_000;
}

/** Consensus checks of a block against its parent's coins; `verify` runs the scripts. */
export function connectBlock(
  block: Block,
  ctx: BlockContext,
  verify: ScriptVerifier,
): Result<BlockDelta, Reject> {
  const h = block.header;
  const hash = blockHash(h);
  if (h.bits !== REGTEST.powLimitBits) return err(reject('bad-diffbits', 'incorrect proof of work'));
  if (!checkProofOfWork(hash, h.bits)) return err(reject('high-hash', 'proof of work failed'));
  if (!equal(h.prevHash, ctx.prevHash)) return err(reject('prev-blk-not-found'));
  if (h.time <= ctx.prevMedianTime) return err(reject('time-too-old', "block's timestamp is too early"));
  if (block.txs.length === 0 || !isCoinbase(block.txs[0]!))
    return err(reject('bad-cb-missing', 'first tx is not coinbase'));
  if (block.txs.slice(1).some(isCoinbase)) return err(reject('bad-cb-multiple', 'more than one coinbase'));
  // Serialize each transaction once: txid, wtxid and weight all come from these bytes.
  const ids: Uint8Array[] = [];
  const wids: Uint8Array[] = [];
  let weight = (80 + encodeCompactSize(block.txs.length).length) * 4;
  for (const tx of block.txs) {
    const base = serializeTx(tx, false);
    const id = sha256d(base);
    ids.push(id);
    if (hasWitness(tx)) {
      const full = serializeTx(tx, true);
      wids.push(sha256d(full));
      weight += base.length * 3 + full.length;
    } else {
      wids.push(id);
      weight += base.length * 4;
    }
  }
  const merkle = merkleRootChecked(ids);
  if (!equal(h.merkleRoot, merkle.root)) return err(reject('bad-txnmrklroot', 'hashMerkleRoot mismatch'));
  if (merkle.mutated) return err(reject('bad-txns-duplicate', 'duplicate transaction'));
  if (weight > REGTEST.maxBlockWeight) return err(reject('bad-blk-length', 'size limits failed'));
  for (const tx of block.txs) {
    const bad = checkTransaction(tx);
    if (bad) return err(reject(bad));
  }
  const coinbase = block.txs[0]!;
  const expect = scriptPushInt(ctx.height);
  const sig = coinbase.inputs[0]!.scriptSig;
  if (sig.length < expect.length || !equal(sig.subarray(0, expect.length), expect)) {
    return err(reject('bad-cb-height', 'block height mismatch in coinbase'));
  }
  const witnessError = checkWitnessCommitment(block, wids);
  if (witnessError) return err(witnessError);

  const view = new Map<string, Coin | null>();
  const lookup = (key: string): Coin | null => (view.has(key) ? view.get(key)! : ctx.coin(key));
  const spent: CoinChange[] = [];
  const created: CoinChange[] = [];
  let fees = 0n;
  for (let t = 0; t < block.txs.length; t++) {
    const tx = block.txs[t]!;
    if (!isFinalTx(tx, ctx.height, ctx.prevMedianTime))
      return err(reject('bad-txns-nonfinal', 'non-final transaction'));
    if (t > 0) {
      const coins: Coin[] = [];
      for (const input of tx.inputs) {
        const key = outpointKey(input.prevout);
        const coin = lookup(key);
        if (!coin)
          return err(reject('bad-txns-inputs-missingorspent', 'CheckTxInputs: inputs missing/spent'));
        coins.push(coin);
      }
      const checked = checkTxInputs(tx, coins, ctx.height, REGTEST.coinbaseMaturity);
      if (!checked.ok) return err(checked.reject);
      fees += checked.fee;
      const locks = sequenceLocks(
        tx,
        coins.map((c) => c.height),
        (ht) => ctx.medianTimeOfParent(ht),
      );
      if (!sequenceLocksSatisfied(locks, ctx.height, ctx.prevMedianTime)) {
        return err(reject('bad-txns-nonfinal', 'contains a non-BIP68-final transaction'));
      }
      const scriptError = checkInputScriptsConsensus(
        tx,
        coins.map((c) => c.output),
        verify,
      );
      if (scriptError) return err(reject('block-script-verify-flag-failed', scriptError.reason));
      tx.inputs.forEach((input, n) => {
        const key = outpointKey(input.prevout);
        spent.push({ key, coin: coins[n]! });
        view.set(key, null);
      });
    }
    const id = ids[t]!;
    for (let vout = 0; vout < tx.outputs.length; vout++) {
      const output = tx.outputs[vout]!;
      if (unspendable(output)) continue;
      const key = outpointKey({ txid: id, vout });
      if (lookup(key)) return err(reject('bad-txns-BIP30', 'tried to overwrite transaction'));
      const coin: Coin = { output, height: ctx.height, coinbase: t === 0 };
      view.set(key, coin);
      created.push({ key, coin });
    }
  }
  const coinbaseOut = coinbase.outputs.reduce((s, o) => s + o.value, 0n);
  const allowed = blockSubsidy(ctx.height) + fees;
  if (coinbaseOut > allowed) {
    return err(reject('bad-cb-amount', `coinbase pays too much (actual=${coinbaseOut} vs limit=${allowed})`));
  }
  // Outputs created and spent inside the block never reach the UTXO set.
  const spentKeys = new Set(spent.map((s) => s.key));
  return ok({ spent, created: created.filter((c) => !spentKeys.has(c.key)), fees });
}

/** BIP141 commitment rules, as Core's CheckWitnessMalleation. */
function checkWitnessCommitment(block: Block, wtxids: readonly Uint8Array[]): Reject | null {
  const coinbase = block.txs[0]!;
  const at = findWitnessCommitment(coinbase);
  if (at >= 0) {
    const w = coinbase.inputs[0]!.witness;
    if (w.length !== 1 || w[0]!.length !== 32) {
      return reject('bad-witness-nonce-size', 'CheckWitnessMalleation : invalid witness reserved value size');
    }
    // BIP141: the coinbase's wtxid counts as zero.
    const root = merkleRoot([new Uint8Array(32), ...wtxids.slice(1)]);
    const expected = sha256d(concat(root, w[0]!));
    if (!equal(coinbase.outputs[at]!.script.subarray(6, 38), expected)) {
      return reject(
        'bad-witness-merkle-match',
        'CheckWitnessMalleation : witness merkle commitment mismatch',
      );
    }
    return null;
  }
  if (block.txs.some((t) => t.inputs.some((i) => i.witness.length > 0))) {
    return reject('unexpected-witness', 'CheckWitnessMalleation : unexpected witness data found');
  }
  return null;
}

/** Undo data: the spent coins of a block, in input order. */
export function serializeUndo(spent: readonly CoinChange[]): Uint8Array {
  const parts: Uint8Array[] = [encodeCompactSize(spent.length)];
  for (const s of spent) {
    const head = new Uint8Array(13);
    const v = new DataView(head.buffer);
    v.setBigUint64(0, s.coin.output.value, true);
    v.setUint32(8, s.coin.height, true);
    head[12] = s.coin.coinbase ? 1 : 0;
    parts.push(varBytes(new TextEncoder().encode(s.key)), head, varBytes(s.coin.output.script));
  }
  return concat(...parts);
}

export function parseUndo(bytes: Uint8Array): CoinChange[] {
  const r = new ByteReader(bytes);
  const n = r.compactSize();
  const out: CoinChange[] = [];
  for (let i = 0; i < n; i++) {
    const key = new TextDecoder().decode(r.varBytes());
    const value = r.u64le() as Sat;
    const height = r.u32le();
    const coinbase = r.u8() === 1;
    const script = r.varBytes();
    out.push({ key, coin: { output: { value, script }, height, coinbase } });
  }
  return out;
}

/** The delta that undoes a connected block: its created coins go, the coins it spent from before it come back. */
export function disconnectDelta(
  block: Block,
  undo: readonly CoinChange[],
): { remove: string[]; restore: CoinChange[] } {
  const remove: string[] = [];
  for (const tx of block.txs) {
    const id = txid(tx);
    tx.outputs.forEach((o, vout) => {
      if (!unspendable(o)) remove.push(outpointKey({ txid: id, vout }));
    });
  }
  const createdHere = new Set(remove);
  return { remove, restore: undo.filter((s) => !createdHere.has(s.key)) };
}
