// BOLT 3 closing transactions: the legacy one (closing_signed) and the option_simple_close one
// (closing_complete / closing_sig). Outputs rounded down, BIP69-ordered.

import { isOpReturn } from '../bitcoin/script.ts';
import { encodeCompactSize, type OutPoint, type Transaction, type TxOut, txid } from '../bitcoin/tx.ts';
import { err, ok, type Result } from '../core/result.ts';
import type { Msat, Sat } from '../core/units.ts';
import { compareOutputs } from './commitment.ts';

/** Which output of a closing transaction belongs to whom (undefined if omitted). */
export interface Closing {
  readonly tx: Transaction;
  readonly txid: Uint8Array;
  readonly localOutputIndex: number | undefined;
  readonly remoteOutputIndex: number | undefined;
  readonly fee: Sat;
}

export type ClosingError =
  | { readonly kind: 'fee_exceeds_balance'; readonly fee: Sat; readonly balance: Sat }
  | { readonly kind: 'no_outputs' }
  | { readonly kind: 'balance_mismatch' };

export interface LegacyClosingSpec {
  readonly fundingOutpoint: OutPoint;
  readonly fundingAmount: Sat;
  readonly localBalance: Msat;
  readonly remoteBalance: Msat;
  readonly localScript: Uint8Array;
  readonly remoteScript: Uint8Array;
  readonly localIsFunder: boolean;
  /** fee_satoshis of closing_signed. */
  readonly fee: Sat;
  /** The signer's own dust_limit_satoshis: outputs below it are removed. */
  readonly dustLimit: Sat;
  /** The signer MAY eliminate its own output. */
  readonly omitLocalOutput?: boolean;
}

function finish(
  fundingOutpoint: OutPoint,
  fundingAmount: Sat,
  sequence: number,
  locktime: number,
  entries: { value: Sat; script: Uint8Array; who: 'local' | 'remote' }[],
): Result<Closing, ClosingError> {
  if (entries.length === 0) return err({ kind: 'no_outputs' });
  entries.sort(compareOutputs);
  const outputs: TxOut[] = entries.map((e) => ({ value: e.value, script: e.script }));
  const tx: Transaction = {
    version: 2,
    inputs: [{ prevout: fundingOutpoint, scriptSig: new Uint8Array(0), sequence, witness: [] }],
    outputs,
    locktime,
  };
  const local = entries.findIndex((e) => e.who === 'local');
  const remote = entries.findIndex((e) => e.who === 'remote');
  const total = outputs.reduce((s, o) => s + o.value, 0n);
  return ok({
    tx,
    txid: txid(tx),
    localOutputIndex: local < 0 ? undefined : local,
    remoteOutputIndex: remote < 0 ? undefined : remote,
    fee: (fundingAmount - total) as Sat,
  });
}

/** Two non-negative balances that add up to exactly the funding amount (no HTLC is left at closing). */
function splitsFunding(a: Msat, b: Msat, fundingAmount: Sat): boolean {
  return a >= 0n && b >= 0n && a + b === fundingAmount * 1000n;
}

/** The legacy closing transaction (no option_simple_close), as the signer with `dustLimit` builds it. */
export function buildLegacyClosing(spec: LegacyClosingSpec): Result<Closing, ClosingError> {
  // After shutdown no HTLC is left: the two balances are the whole channel.
  if (!splitsFunding(spec.localBalance, spec.remoteBalance, spec.fundingAmount))
    return err({ kind: 'balance_mismatch' });
  // BOLT #3:
  //   - MUST round each output down to whole satoshis.
  //   - MUST subtract the fee given by `fee_satoshis` from the output to the funder.
  //   - MUST remove any output below its own `dust_limit_satoshis`.
  //   - MAY eliminate its own output.
  let local = spec.localBalance / 1000n;
  let remote = spec.remoteBalance / 1000n;
  if (spec.localIsFunder) {
    if (local < spec.fee) return err({ kind: 'fee_exceeds_balance', fee: spec.fee, balance: local as Sat });
    local -= spec.fee;
  } else {
    if (remote < spec.fee) return err({ kind: 'fee_exceeds_balance', fee: spec.fee, balance: remote as Sat });
    remote -= spec.fee;
  }
  const entries: { value: Sat; script: Uint8Array; who: 'local' | 'remote' }[] = [];
  if (local >= spec.dustLimit && spec.omitLocalOutput !== true)
    entries.push({ value: local as Sat, script: spec.localScript, who: 'local' });
  if (remote >= spec.dustLimit)
    entries.push({ value: remote as Sat, script: spec.remoteScript, who: 'remote' });
  // BOLT #3:
  //    * `txin[0]` sequence: 0xFFFFFFFF
  return finish(spec.fundingOutpoint, spec.fundingAmount, 0xffff_ffff, 0, entries);
}

export interface SimpleClosingSpec {
  readonly fundingOutpoint: OutPoint;
  readonly fundingAmount: Sat;
  /** locktime from closing_complete. */
  readonly locktime: number;
  readonly closerBalance: Msat;
  readonly closeeBalance: Msat;
  /** undefined when the closer omits its own output. */
  readonly closerScript: Uint8Array | undefined;
  /** undefined when the closee's output is omitted. */
  readonly closeeScript: Uint8Array | undefined;
  /** closing_complete.fee_satoshis, paid by the closer. */
  readonly fee: Sat;
  /** Which side is "local" for the returned output indices. */
  readonly localIsCloser: boolean;
}

/** The option_simple_close closing transaction (closing_complete / closing_sig). */
export function buildSimpleClosing(spec: SimpleClosingSpec): Result<Closing, ClosingError> {
  if (!splitsFunding(spec.closerBalance, spec.closeeBalance, spec.fundingAmount))
    return err({ kind: 'balance_mismatch' });
  const closerWho = spec.localIsCloser ? 'local' : 'remote';
  const closeeWho = spec.localIsCloser ? 'remote' : 'local';
  const closerSat = spec.closerBalance / 1000n;
  if (closerSat < spec.fee)
    return err({ kind: 'fee_exceeds_balance', fee: spec.fee, balance: closerSat as Sat });
  const entries: { value: Sat; script: Uint8Array; who: 'local' | 'remote' }[] = [];
  // BOLT #3:
  //   - MUST set the output amount to 0 if the `scriptpubkey` is `OP_RETURN`.
  if (spec.closerScript !== undefined) {
    const value = isOpReturn(spec.closerScript) ? 0n : closerSat - spec.fee;
    entries.push({ value: value as Sat, script: spec.closerScript, who: closerWho });
  }
  if (spec.closeeScript !== undefined) {
    const value = isOpReturn(spec.closeeScript) ? 0n : spec.closeeBalance / 1000n;
    entries.push({ value: value as Sat, script: spec.closeeScript, who: closeeWho });
  }
  // BOLT #3:
  //    * `txin[0]` sequence: 0xFFFFFFFD
  return finish(spec.fundingOutpoint, spec.fundingAmount, 0xffff_fffd, spec.locktime >>> 0, entries);
}

/**
 * Expected weight of a signed closing transaction with these output scripts (omit a side by passing
 * undefined), counting 73-byte signatures as Appendix A does. For closing fee proposals.
 */
export function expectedClosingWeight(scripts: readonly Uint8Array[]): number {
  // version 4, input count 1, funding input 41, output count 1, locktime 4.
  let base = 4 + 1 + 41 + 1 + 4;
  for (const s of scripts) base += 8 + encodeCompactSize(s.length).length + s.length;
  // marker + flag 2, then the funding witness of Appendix A: 222.
  return base * 4 + 2 + 222;
}
