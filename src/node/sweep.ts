// The minimal sweeper for OUR OWN commitment once it confirmed (BOLT 5 "Unilateral Close Handling: Local
// Commitment Transaction"): the to_local output goes back to the wallet after to_self_delay, and with
// anchors our anchor output rides along when it pays for itself. Pure: the shell supplies the confirmed
// transaction, the key material, the feerate and the destination, and broadcasts the result.
//
// Not handled here (a full BOLT 5 monitor's job): HTLC outputs of our commitment (second-stage
// HTLC-timeout/success transactions and their delayed outputs), the peer's commitment (our to_remote),
// revoked commitments (justice).

import { SIGHASH_ALL } from '../bitcoin/sighash.ts';
import { type Transaction, txid as txidOf, weight } from '../bitcoin/tx.ts';
import { type ChannelSigner, type Commitments, txParams } from '../bolt02-channel/index.ts';
import {
  anchorWitness,
  buildHolderCommitment,
  type CommitmentOutput,
  derivePrivkey,
  signP2wsh,
  toLocalDelayedWitness,
  witnessSignature,
} from '../bolt03-tx/index.ts';
import { equal } from '../core/bytes.ts';
import { err, ok, type Result } from '../core/result.ts';
import { type FeeratePerKw, feeForWeight, type Sat } from '../core/units.ts';
import type { ChannelKeyMaterial } from '../keys/derivation.ts';

/** What of our own confirmed commitment the sweeper can claim. */
export interface OwnCommitmentOutputs {
  readonly commitTxid: Uint8Array;
  readonly toLocal: CommitmentOutput | undefined;
  readonly anchor: CommitmentOutput | undefined;
  /** The CSV delay on to_local (the delay the peer imposes on us). */
  readonly toSelfDelay: number;
  /** Our per-commitment point of that commitment (to derive the delayed key). */
  readonly perCommitmentPoint: Uint8Array;
}

/**
 * Our latest commitment's sweepable outputs, when `confirmed` is that commitment (undefined when it is
 * another transaction: a mutual close, the peer's commitment).
 */
export function ownCommitmentOutputs(
  c: Commitments,
  signer: ChannelSigner,
  confirmed: Transaction,
): OwnCommitmentOutputs | undefined {
  const point = signer.perCommitmentPoint(c.localCommit.index);
  const built = buildHolderCommitment(
    txParams(c),
    'local',
    { ...c.localCommit.spec, commitmentNumber: c.localCommit.index },
    point,
  );
  if (!built.ok) return undefined;
  const commitTxid = txidOf(confirmed);
  if (!equal(built.value.commitment.txid, commitTxid)) return undefined;
  const outs = built.value.commitment.outputs;
  return {
    commitTxid,
    toLocal: outs.find((o) => o.kind === 'to_local'),
    anchor: outs.find((o) => o.kind === 'local_anchor'),
    toSelfDelay: built.value.spec.toSelfDelay,
    perCommitmentPoint: point,
  };
}

/** The first height at which a transaction spending to_local can be mined (BIP68: depth >= delay). */
export function toLocalMatureAt(confirmedHeight: number, toSelfDelay: number): number {
  return confirmedHeight + toSelfDelay;
}

export interface Sweep {
  readonly tx: Transaction;
  readonly value: Sat;
  readonly fee: Sat;
}

// A DER signature is at most 72 bytes, plus the sighash byte: the weight estimate uses the largest.
const DUMMY_SIG = new Uint8Array(73);

/**
 * The transaction sending to_local (and the anchor, if it is worth more than it costs to spend) to
 * `destination`, signed, paying `feerate`.
 */
export function buildToLocalSweep(
  o: OwnCommitmentOutputs,
  keys: ChannelKeyMaterial,
  destination: Uint8Array,
  feerate: FeeratePerKw,
): Result<Sweep, string> {
  const toLocal = o.toLocal;
  if (!toLocal?.witnessScript) return err('our commitment has no to_local output');
  const inputs: { out: CommitmentOutput; sequence: number }[] = [{ out: toLocal, sequence: o.toSelfDelay }];
  const anchor = o.anchor;
  // Our anchor needs only our funding key (no delay): worth adding when it is worth more than its input costs.
  if (anchor?.witnessScript && anchor.value > anchorInputFee(anchor.witnessScript, feerate))
    inputs.push({ out: anchor, sequence: 0xffffffff });
  const total = inputs.reduce((t, i) => t + i.out.value, 0n);
  const unsigned = (value: bigint): Transaction => ({
    version: 2,
    inputs: inputs.map((i) => ({
      prevout: { txid: o.commitTxid, vout: i.out.index },
      scriptSig: new Uint8Array(0),
      // BOLT #3:
      // The output is spent by an input with `nSequence` field set to `to_self_delay` (which can only be valid after that duration has passed) and witness:
      sequence: i.sequence,
      witness: [],
    })),
    outputs: [{ value: value as Sat, script: destination }],
    locktime: 0,
  });
  const estimate = withWitnesses(unsigned(total), inputs, () => DUMMY_SIG);
  const fee = feeForWeight(feerate, weight(estimate) + 1);
  // A P2WPKH/P2TR output below 330 sat would not relay; nothing worth sweeping.
  if (total - fee < 330n) return err(`to_local (${total} sat) does not cover the sweep fee (${fee} sat)`);
  const tx = unsigned(total - fee);
  const delayedKey = derivePrivkey(keys.delayedPaymentBasepointSecret, o.perCommitmentPoint);
  const signed = withWitnesses(tx, inputs, (i) => {
    const key = inputs[i]!.out.kind === 'to_local' ? delayedKey : keys.fundingSecret;
    const sig = signP2wsh(tx, i, inputs[i]!.out.witnessScript!, inputs[i]!.out.value, key);
    return witnessSignature(sig, SIGHASH_ALL);
  });
  return ok({ tx: signed, value: (total - fee) as Sat, fee });
}

function withWitnesses(
  tx: Transaction,
  inputs: readonly { out: CommitmentOutput }[],
  sig: (i: number) => Uint8Array,
): Transaction {
  return {
    ...tx,
    inputs: tx.inputs.map((input, i) => {
      const out = inputs[i]!.out;
      const script = out.witnessScript!;
      return {
        ...input,
        witness:
          out.kind === 'to_local' ? toLocalDelayedWitness(sig(i), script) : anchorWitness(sig(i), script),
      };
    }),
  };
}

/** What adding the anchor input costs: outpoint, sequence, script length, and its witness. */
function anchorInputFee(witnessScript: Uint8Array, feerate: FeeratePerKw): Sat {
  const base = 32 + 4 + 1 + 4;
  const witness = 1 + 1 + DUMMY_SIG.length + 1 + witnessScript.length;
  return feeForWeight(feerate, base * 4 + witness);
}
