// Core's CheckTransaction (consensus/tx_check.cpp): context-free sanity rules, with Core's reject reasons.
import { hex } from '../core/bytes.ts';
import { MAX_MONEY_SAT } from '../core/units.ts';
import { serializeTx, type Transaction } from './tx.ts';

export const MAX_BLOCK_WEIGHT = 4_000_000;
export const WITNESS_SCALE_FACTOR = 4;

export type TxCheckError =
  | 'bad-txns-vin-empty'
  | 'bad-txns-vout-empty'
  | 'bad-txns-oversize'
  | 'bad-txns-vout-negative'
  | 'bad-txns-vout-toolarge'
  | 'bad-txns-txouttotal-toolarge'
  | 'bad-txns-inputs-duplicate'
  | 'bad-cb-length'
  | 'bad-txns-prevout-null';

function isNullOutpoint(p: { txid: Uint8Array; vout: number }): boolean {
  return p.vout === 0xffffffff && p.txid.every((b) => b === 0);
}

export function isCoinbase(tx: Transaction): boolean {
  return tx.inputs.length === 1 && isNullOutpoint(tx.inputs[0]!.prevout);
}

/** null when the transaction passes; otherwise Core's reject reason. */
export function checkTransaction(tx: Transaction): TxCheckError | null {
  if (tx.inputs.length === 0) return 'bad-txns-vin-empty';
  if (tx.outputs.length === 0) return 'bad-txns-vout-empty';
  // Witness excluded: it has not been checked for malleability yet.
  if (serializeTx(tx, false).length * WITNESS_SCALE_FACTOR > MAX_BLOCK_WEIGHT) return 'bad-txns-oversize';
  let total = 0n;
  for (const o of tx.outputs) {
    // Amounts are int64 on the wire: a parsed value past 2^63 is a negative amount.
    const value = BigInt.asIntN(64, o.value);
    if (value < 0n) return 'bad-txns-vout-negative';
    if (value > MAX_MONEY_SAT) return 'bad-txns-vout-toolarge';
    total += value;
    if (total > MAX_MONEY_SAT) return 'bad-txns-txouttotal-toolarge';
  }
  const seen = new Set<string>();
  for (const i of tx.inputs) {
    const key = `${hex(i.prevout.txid)}:${i.prevout.vout}`;
    if (seen.has(key)) return 'bad-txns-inputs-duplicate';
    seen.add(key);
  }
  if (isCoinbase(tx)) {
    const n = tx.inputs[0]!.scriptSig.length;
    if (n < 2 || n > 100) return 'bad-cb-length';
  } else {
    for (const i of tx.inputs) if (isNullOutpoint(i.prevout)) return 'bad-txns-prevout-null';
  }
  return null;
}
