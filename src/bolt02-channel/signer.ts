// The only holder of a channel's secrets. The reducer asks it for points, secrets to release and
// signatures; a remote or validating signer can replace this in-process one.

import type { Transaction } from '../bitcoin/tx.ts';
import {
  type ChannelBasepoints,
  type CommitmentSignatures,
  derivePrivkey,
  fundingScript,
  type HolderCommitment,
  perCommitmentPointAt,
  perCommitmentSecret,
  signHtlcTxs,
  signP2wsh,
  signRemoteCommitment,
} from '../bolt03-tx/index.ts';
import type { Sat } from '../core/units.ts';
import type { ChannelKeyMaterial } from '../keys/derivation.ts';

export interface ChannelSigner {
  readonly basepoints: ChannelBasepoints;
  /** Our per-commitment point for commitment `n`. */
  perCommitmentPoint(n: bigint): Uint8Array;
  /** Our per-commitment secret for commitment `n`: only to revoke it (revoke_and_ack, reestablish). */
  releaseCommitmentSecret(n: bigint): Uint8Array;
  /** commitment_signed for their commitment (built with holder 'remote'). */
  signRemoteCommitment(remote: HolderCommitment): CommitmentSignatures;
  /** Our signature of our own commitment (holder 'local'), to broadcast it. */
  signLocalCommitment(local: HolderCommitment): Uint8Array;
  /** Our SIGHASH_ALL signatures of our own HTLC transactions, in order, to broadcast them. */
  signLocalHtlcTxs(local: HolderCommitment): Uint8Array[];
  /** A mutual close transaction's funding input. */
  signClosing(tx: Transaction, remoteFundingPubkey: Uint8Array, fundingAmount: Sat): Uint8Array;
}

/** A signer holding the key material in memory. */
export function localChannelSigner(keys: ChannelKeyMaterial): ChannelSigner {
  const basepoints: ChannelBasepoints = {
    fundingPubkey: keys.fundingPubkey,
    revocationBasepoint: keys.revocationBasepoint,
    paymentBasepoint: keys.paymentBasepoint,
    delayedPaymentBasepoint: keys.delayedPaymentBasepoint,
    htlcBasepoint: keys.htlcBasepoint,
  };
  // Point derivation is a scalar multiplication: cache the few recent ones the reducer asks again.
  const points = new Map<bigint, Uint8Array>();
  return {
    basepoints,
    perCommitmentPoint(n) {
      let p = points.get(n);
      if (p === undefined) {
        p = perCommitmentPointAt(keys.perCommitmentSeed, n);
        if (points.size > 8) points.clear();
        points.set(n, p);
      }
      return p;
    },
    releaseCommitmentSecret(n) {
      return perCommitmentSecret(keys.perCommitmentSeed, n);
    },
    signRemoteCommitment(remote) {
      const htlcKey = derivePrivkey(
        keys.htlcBasepointSecret,
        remote.spec.keys.perCommitmentPoint,
        keys.htlcBasepoint,
      );
      return signRemoteCommitment(remote, keys.fundingSecret, htlcKey);
    },
    signLocalCommitment(local) {
      const k = local.spec.keys;
      return signP2wsh(
        local.commitment.tx,
        0,
        fundingScript(k.localFundingPubkey, k.remoteFundingPubkey),
        local.spec.fundingAmount,
        keys.fundingSecret,
      );
    },
    signLocalHtlcTxs(local) {
      const htlcKey = derivePrivkey(
        keys.htlcBasepointSecret,
        local.spec.keys.perCommitmentPoint,
        keys.htlcBasepoint,
      );
      return signHtlcTxs(local.htlcTxs, htlcKey, true);
    },
    signClosing(tx, remoteFundingPubkey, fundingAmount) {
      return signP2wsh(
        tx,
        0,
        fundingScript(keys.fundingPubkey, remoteFundingPubkey),
        fundingAmount,
        keys.fundingSecret,
      );
    },
  };
}
