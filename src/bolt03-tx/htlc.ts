// BOLT 3 "HTLC-Timeout and HTLC-Success Transactions": the second-stage transactions spending an
// HTLC output of a commitment, and their witnesses.

import { p2wshOfScript } from '../bitcoin/script.ts';
import { SIGHASH_ALL, SIGHASH_ANYONECANPAY, SIGHASH_SINGLE } from '../bitcoin/sighash.ts';
import type { Transaction } from '../bitcoin/tx.ts';
import type { FeeratePerKw, Sat } from '../core/units.ts';
import type { Commitment, CommitmentOutput } from './commitment.ts';
import { type ChannelType, hasAnchors, htlcSuccessFee, htlcTimeoutFee } from './fees.ts';
import type { CommitmentKeys } from './keys.ts';
import { toLocalScript } from './scripts.ts';

export type HtlcTxKind = 'htlc_timeout' | 'htlc_success';

/** Used for the remote (htlc_signatures) signature with anchors, so fees can be added to the tx. */
export const SIGHASH_SINGLE_ANYONECANPAY = SIGHASH_SINGLE | SIGHASH_ANYONECANPAY;

export interface HtlcTx {
  readonly kind: HtlcTxKind;
  /** Unsigned: the witness is empty. */
  readonly tx: Transaction;
  /** The commitment output it spends, with its witness script and value (for the BIP143 sighash). */
  readonly spent: CommitmentOutput & { readonly kind: 'htlc' };
  /** Sighash flag the counter-party's signature (remotehtlcsig) commits with. */
  readonly remoteSighash: number;
  /** The output's to_local-style witness script (revocation or delayed spend). */
  readonly outputWitnessScript: Uint8Array;
}

/**
 * The HTLC-timeout (owner offered) or HTLC-success (owner received) transaction for one HTLC output
 * of a commitment. `toSelfDelay` and `keys` are those the commitment was built with.
 */
export function buildHtlcTx(
  type: ChannelType,
  commitmentTxid: Uint8Array,
  output: CommitmentOutput & { readonly kind: 'htlc' },
  feerate: FeeratePerKw,
  toSelfDelay: number,
  keys: CommitmentKeys,
  // The output script is the same for every HTLC transaction of one commitment: built once by
  // buildHtlcTxs and passed in.
  shared?: { readonly witnessScript: Uint8Array; readonly script: Uint8Array },
): HtlcTx {
  const offered = output.htlc.direction === 'offered';
  const fee = offered ? htlcTimeoutFee(type, feerate) : htlcSuccessFee(type, feerate);
  // BOLT #3:
  //    * `txout[0]` amount: the HTLC `amount_msat` divided by 1000 (rounding down) minus fees in satoshis (see [Fee Calculation](#fee-calculation))
  const amount = output.htlc.amount / 1000n - fee;
  if (amount < 0n)
    throw new RangeError('HTLC output cannot pay its second-stage fee (it should have been trimmed)');
  const ws =
    shared?.witnessScript ?? toLocalScript(keys.revocationPubkey, toSelfDelay, keys.localDelayedPubkey);
  const anchors = hasAnchors(type);
  const tx: Transaction = {
    version: 2,
    inputs: [
      {
        prevout: { txid: commitmentTxid, vout: output.index },
        scriptSig: new Uint8Array(0),
        // BOLT #3:
        //    * `txin[0]` sequence: `0` (set to `1` for `option_anchors`)
        sequence: anchors ? 1 : 0,
        witness: [],
      },
    ],
    outputs: [{ value: amount as Sat, script: shared?.script ?? p2wshOfScript(ws) }],
    // BOLT #3:
    // * locktime: `0` for HTLC-success, `cltv_expiry` for HTLC-timeout
    locktime: offered ? output.htlc.cltvExpiry : 0,
  };
  return {
    kind: offered ? 'htlc_timeout' : 'htlc_success',
    tx,
    spent: output,
    remoteSighash: anchors ? SIGHASH_SINGLE_ANYONECANPAY : SIGHASH_ALL,
    outputWitnessScript: ws,
  };
}

/** Second-stage transactions for every HTLC output of a commitment, in htlc_signatures order. */
export function buildHtlcTxs(
  type: ChannelType,
  commitment: Commitment,
  feerate: FeeratePerKw,
  toSelfDelay: number,
  keys: CommitmentKeys,
): HtlcTx[] {
  if (commitment.htlcOutputs.length === 0) return [];
  const witnessScript = toLocalScript(keys.revocationPubkey, toSelfDelay, keys.localDelayedPubkey);
  const shared = { witnessScript, script: p2wshOfScript(witnessScript) };
  return commitment.htlcOutputs.map((o) =>
    buildHtlcTx(type, commitment.txid, o, feerate, toSelfDelay, keys, shared),
  );
}

/**
 * The witness of a signed HTLC transaction: `0 <remotehtlcsig> <localhtlcsig> <payment_preimage>` for
 * HTLC-success, `0 <remotehtlcsig> <localhtlcsig> <>` for HTLC-timeout, then the witness script.
 * Signatures are DER with their sighash byte appended.
 */
export function htlcTxWitness(
  htlcTx: HtlcTx,
  remoteSigWithHashtype: Uint8Array,
  localSigWithHashtype: Uint8Array,
  preimage: Uint8Array | undefined,
): Uint8Array[] {
  const witnessScript = htlcTx.spent.witnessScript;
  if (witnessScript === undefined) throw new Error('HTLC output without a witness script');
  let last: Uint8Array;
  switch (htlcTx.kind) {
    case 'htlc_success':
      if (preimage === undefined || preimage.length !== 32)
        throw new RangeError('HTLC-success needs the 32-byte preimage');
      last = preimage;
      break;
    case 'htlc_timeout':
      last = new Uint8Array(0);
      break;
  }
  return [new Uint8Array(0), remoteSigWithHashtype, localSigWithHashtype, last, witnessScript];
}

export function withWitness(tx: Transaction, witness: readonly Uint8Array[]): Transaction {
  const [first, ...rest] = tx.inputs;
  if (first === undefined) throw new Error('transaction has no input');
  return { ...tx, inputs: [{ ...first, witness }, ...rest] };
}
