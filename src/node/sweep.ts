// The minimal sweeper of a confirmed commitment (BOLT 5): on OUR commitment ("Unilateral Close Handling:
// Local Commitment Transaction") the to_local output goes back to the wallet after to_self_delay, and
// with anchors our anchor rides along when it pays for itself; on THEIR commitment our to_remote output
// (keyed by our payment basepoint, which the wallet does not know) goes to the wallet too. Pure: the
// shell supplies the confirmed transaction, the key material, the feerate and the destination, and
// broadcasts the result.
//
// Not handled here (a full BOLT 5 monitor's job): HTLC outputs (second-stage HTLC-timeout/success
// transactions and their delayed outputs, preimage claims), revoked commitments (justice).

import { p2pkh } from '../bitcoin/script.ts';
import { SIGHASH_ALL } from '../bitcoin/sighash.ts';
import { type Transaction, txid as txidOf, weight } from '../bitcoin/tx.ts';
import { type ChannelSigner, type Commitments, txParams } from '../bolt02-channel/index.ts';
import {
  anchorWitness,
  buildHolderCommitment,
  type ChannelType,
  type CommitmentOutput,
  derivePrivkey,
  signP2wsh,
  toLocalDelayedWitness,
  toRemoteAnchorsWitness,
  toRemoteOutput,
  toRemoteP2wpkhWitness,
  witnessSignature,
} from '../bolt03-tx/index.ts';
import { equal } from '../core/bytes.ts';
import { assertNever, err, ok, type Result } from '../core/result.ts';
import { type FeeratePerKw, feeForWeight, type Sat } from '../core/units.ts';
import { hash160 } from '../crypto/index.ts';
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

/** One output to claim, with how to spend it. */
interface Claim {
  readonly index: number;
  readonly value: Sat;
  readonly sequence: number;
  /** P2WSH witness script, or for P2WPKH the public key. */
  readonly script: Uint8Array;
  readonly kind: 'to_local' | 'anchor' | 'to_remote_p2wpkh' | 'to_remote_anchors';
  readonly secret: Uint8Array;
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
  const claims: Claim[] = [
    {
      index: toLocal.index,
      value: toLocal.value,
      // BOLT #3:
      // The output is spent by an input with `nSequence` field set to `to_self_delay` (which can only be valid after that duration has passed) and witness:
      sequence: o.toSelfDelay,
      script: toLocal.witnessScript,
      kind: 'to_local',
      secret: derivePrivkey(keys.delayedPaymentBasepointSecret, o.perCommitmentPoint),
    },
  ];
  const anchor = o.anchor;
  // Our anchor needs only our funding key (no delay): worth adding when it is worth more than its input costs.
  if (anchor?.witnessScript && anchor.value > anchorInputFee(anchor.witnessScript, feerate))
    claims.push({
      index: anchor.index,
      value: anchor.value,
      sequence: 0xffffffff,
      script: anchor.witnessScript,
      kind: 'anchor',
      secret: keys.fundingSecret,
    });
  return buildSweep(o.commitTxid, claims, destination, feerate);
}

/**
 * Our to_remote output on a transaction spending the funding output (their commitment, revoked or not):
 * with option_static_remotekey it pays our payment basepoint directly.
 */
export function findToRemote(
  channelType: ChannelType,
  keys: ChannelKeyMaterial,
  confirmed: Transaction,
): { readonly index: number; readonly value: Sat; readonly csv: number } | undefined {
  const out = toRemoteOutput(channelType, keys.paymentBasepoint);
  const index = confirmed.outputs.findIndex((o) => equal(o.script, out.script));
  if (index < 0) return undefined;
  // With anchors the to_remote script carries a 1-block CSV.
  return { index, value: confirmed.outputs[index]!.value, csv: out.witnessScript ? 1 : 0 };
}

/** The transaction sending our to_remote output of `confirmed` to `destination`, signed, paying `feerate`. */
export function buildToRemoteSweep(
  channelType: ChannelType,
  keys: ChannelKeyMaterial,
  confirmed: Transaction,
  destination: Uint8Array,
  feerate: FeeratePerKw,
): Result<Sweep, string> {
  const found = findToRemote(channelType, keys, confirmed);
  if (!found) return err('no output of ours on that transaction');
  const out = toRemoteOutput(channelType, keys.paymentBasepoint);
  const claim: Claim = out.witnessScript
    ? {
        index: found.index,
        value: found.value,
        sequence: 1,
        script: out.witnessScript,
        kind: 'to_remote_anchors',
        secret: keys.paymentBasepointSecret,
      }
    : {
        index: found.index,
        value: found.value,
        sequence: 0xffffffff,
        script: keys.paymentBasepoint,
        kind: 'to_remote_p2wpkh',
        secret: keys.paymentBasepointSecret,
      };
  return buildSweep(txidOf(confirmed), [claim], destination, feerate);
}

function buildSweep(
  prevTxid: Uint8Array,
  claims: readonly Claim[],
  destination: Uint8Array,
  feerate: FeeratePerKw,
): Result<Sweep, string> {
  const total = claims.reduce((t, c) => t + c.value, 0n);
  const unsigned = (value: bigint): Transaction => ({
    version: 2,
    inputs: claims.map((c) => ({
      prevout: { txid: prevTxid, vout: c.index },
      scriptSig: new Uint8Array(0),
      sequence: c.sequence,
      witness: [],
    })),
    outputs: [{ value: value as Sat, script: destination }],
    locktime: 0,
  });
  const estimate = withWitnesses(unsigned(total), claims, () => DUMMY_SIG);
  const fee = feeForWeight(feerate, weight(estimate) + 1);
  // A P2WPKH/P2TR output below 330 sat would not relay; nothing worth sweeping.
  if (total - fee < 330n) return err(`${total} sat do not cover the sweep fee (${fee} sat)`);
  const tx = unsigned(total - fee);
  const signed = withWitnesses(tx, claims, (i) => {
    const c = claims[i]!;
    const scriptCode = c.kind === 'to_remote_p2wpkh' ? p2pkh(hash160(c.script)) : c.script;
    return witnessSignature(signP2wsh(tx, i, scriptCode, c.value, c.secret), SIGHASH_ALL);
  });
  return ok({ tx: signed, value: (total - fee) as Sat, fee });
}

function withWitnesses(
  tx: Transaction,
  claims: readonly Claim[],
  sig: (i: number) => Uint8Array,
): Transaction {
  return {
    ...tx,
    inputs: tx.inputs.map((input, i) => {
      const c = claims[i]!;
      return { ...input, witness: witnessOf(c, sig(i)) };
    }),
  };
}

function witnessOf(c: Claim, sig: Uint8Array): Uint8Array[] {
  switch (c.kind) {
    case 'to_local':
      return toLocalDelayedWitness(sig, c.script);
    case 'anchor':
      return anchorWitness(sig, c.script);
    case 'to_remote_anchors':
      return toRemoteAnchorsWitness(sig, c.script);
    case 'to_remote_p2wpkh':
      return toRemoteP2wpkhWitness(sig, c.script);
  }
  return assertNever(c.kind, 'claim kind');
}

/** What adding the anchor input costs: outpoint, sequence, script length, and its witness. */
function anchorInputFee(witnessScript: Uint8Array, feerate: FeeratePerKw): Sat {
  const base = 32 + 4 + 1 + 4;
  const witness = 1 + 1 + DUMMY_SIG.length + 1 + witnessScript.length;
  return feeForWeight(feerate, base * 4 + witness);
}
