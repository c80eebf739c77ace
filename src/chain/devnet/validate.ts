// Contextual transaction checks shared by block connection and mempool acceptance: finality (BIP113),
// sequence locks (BIP68), coinbase maturity, value conservation, script checks. Pure: the caller passes
// the coins and the chain context; rejects carry Bitcoin Core's reason strings.

import type { OutPoint, Transaction, TxOut } from '../../bitcoin/tx.ts';
import { hex } from '../../core/bytes.ts';
import { MAX_MONEY_SAT } from '../../core/units.ts';

export interface Coin {
  readonly output: TxOut;
  /** Height of the block that created it; the next block's height for mempool outputs. */
  readonly height: number;
  readonly coinbase: boolean;
}

export interface Reject {
  readonly reason: string;
  readonly debug?: string;
  /** TX_MISSING_INPUTS: Core maps it to RPC -25 and testmempoolaccept's "missing-inputs". */
  readonly missingInputs?: boolean;
  /** A policy (non-consensus) failure. */
  readonly policy?: boolean;
}

export function reject(reason: string, debug?: string, extra: Partial<Reject> = {}): Reject {
  return debug === undefined ? { reason, ...extra } : { reason, debug, ...extra };
}

/** ValidationState::ToString: "reason, debug". */
export function rejectText(r: Reject): string {
  return r.debug ? `${r.reason}, ${r.debug}` : r.reason;
}

export function outpointKey(o: OutPoint): string {
  return `${hex(o.txid)}:${o.vout}`;
}

/** Core's FormatMoney: at least two decimals, trailing zeros trimmed. */
export function formatMoney(sats: bigint): string {
  const neg = sats < 0n;
  const abs = neg ? -sats : sats;
  let frac = (abs % 100_000_000n).toString().padStart(8, '0');
  frac = frac.replace(/0+$/, '');
  if (frac.length < 2) frac = frac.padEnd(2, '0');
  return `${neg ? '-' : ''}${abs / 100_000_000n}.${frac}`;
}

export const LOCKTIME_THRESHOLD = 500_000_000;
const SEQUENCE_FINAL = 0xffffffff;
const SEQUENCE_LOCKTIME_DISABLE_FLAG = 0x80000000;
const SEQUENCE_LOCKTIME_TYPE_FLAG = 0x00400000;
const SEQUENCE_LOCKTIME_MASK = 0x0000ffff;
const SEQUENCE_LOCKTIME_GRANULARITY = 9;

/** IsFinalTx: `height` is the height of the block the tx would be in, `time` its lock time cutoff (MTP). */
export function isFinalTx(tx: Transaction, height: number, time: number): boolean {
  if (tx.locktime === 0) return true;
  if (tx.locktime < (tx.locktime < LOCKTIME_THRESHOLD ? height : time)) return true;
  return tx.inputs.every((i) => i.sequence === SEQUENCE_FINAL);
}

/**
 * BIP68 CalculateSequenceLocks: the last height and time at which the tx is still invalid (-1 = none).
 * `medianTimeOfParent(h)` is the median time past of the block before height h.
 */
export function sequenceLocks(
  tx: Transaction,
  coinHeights: readonly number[],
  medianTimeOfParent: (height: number) => number,
): { minHeight: number; minTime: number } {
  let minHeight = -1;
  let minTime = -1;
  if (tx.version < 2) return { minHeight, minTime };
  tx.inputs.forEach((input, n) => {
    if (input.sequence & SEQUENCE_LOCKTIME_DISABLE_FLAG) return;
    const coinHeight = coinHeights[n]!;
    const value = input.sequence & SEQUENCE_LOCKTIME_MASK;
    if (input.sequence & SEQUENCE_LOCKTIME_TYPE_FLAG) {
      const coinTime = medianTimeOfParent(coinHeight);
      minTime = Math.max(minTime, coinTime + (value << SEQUENCE_LOCKTIME_GRANULARITY) - 1);
    } else {
      minHeight = Math.max(minHeight, coinHeight + value - 1);
    }
  });
  return { minHeight, minTime };
}

/** EvaluateSequenceLocks for a block at `height` whose parent has median time `prevMedianTime`. */
export function sequenceLocksSatisfied(
  locks: { minHeight: number; minTime: number },
  height: number,
  prevMedianTime: number,
): boolean {
  return locks.minHeight < height && locks.minTime < prevMedianTime;
}

/** Consensus.CheckTxInputs: maturity and amounts. Returns the fee. */
export function checkTxInputs(
  tx: Transaction,
  coins: readonly Coin[],
  spendHeight: number,
  coinbaseMaturity: number,
): { ok: true; fee: bigint } | { ok: false; reject: Reject } {
  let valueIn = 0n;
  for (const coin of coins) {
    if (coin.coinbase && spendHeight - coin.height < coinbaseMaturity) {
      return {
        ok: false,
        reject: reject(
          'bad-txns-premature-spend-of-coinbase',
          `tried to spend coinbase at depth ${spendHeight - coin.height}`,
        ),
      };
    }
    valueIn += coin.output.value;
    if (coin.output.value < 0n || coin.output.value > MAX_MONEY_SAT || valueIn > MAX_MONEY_SAT) {
      return { ok: false, reject: reject('bad-txns-inputvalues-outofrange') };
    }
  }
  const valueOut = tx.outputs.reduce((s, o) => s + o.value, 0n);
  if (valueIn < valueOut) {
    return {
      ok: false,
      reject: reject(
        'bad-txns-in-belowout',
        `value in (${formatMoney(valueIn)}) < value out (${formatMoney(valueOut)})`,
      ),
    };
  }
  const fee = valueIn - valueOut;
  if (fee > MAX_MONEY_SAT) return { ok: false, reject: reject('bad-txns-fee-outofrange') };
  return { ok: true, fee };
}

/**
 * Checks the scripts of every input (or only input `only`) with the flag set of `mode`: 'standard'
 * (policy) or 'mandatory' (consensus). Returns null, or the first failing input and Core's ScriptErrorString.
 */
export type ScriptVerifier = (
  tx: Transaction,
  prevouts: readonly TxOut[],
  mode: 'standard' | 'mandatory',
  only?: number,
) => { index: number; error: string } | null;

/** CheckInputScripts as the mempool runs it: standard flags, then mandatory ones to name the failure. */
export function checkInputScriptsPolicy(
  tx: Transaction,
  prevouts: readonly TxOut[],
  verify: ScriptVerifier,
): Reject | null {
  const failed = verify(tx, prevouts, 'standard');
  if (failed === null) return null;
  if (verify(tx, prevouts, 'mandatory', failed.index) === null) {
    return reject(`non-mandatory-script-verify-flag (${failed.error})`, undefined, { policy: true });
  }
  return reject(`mandatory-script-verify-flag-failed (${failed.error})`);
}

/** CheckInputScripts as block connection runs it: consensus flags only. */
export function checkInputScriptsConsensus(
  tx: Transaction,
  prevouts: readonly TxOut[],
  verify: ScriptVerifier,
): Reject | null {
  const failed = verify(tx, prevouts, 'mandatory');
  return failed === null ? null : reject(`mandatory-script-verify-flag-failed (${failed.error})`);
}
