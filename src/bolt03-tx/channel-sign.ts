// commitment_signed in transaction terms: signing the other side's commitment and its HTLC
// transactions, and checking the signatures the other side sent for ours. Keys are passed in by the
// caller's signer; nothing here stores a secret.
import { err, ok, type Result } from '../core/result.ts';
import type { HolderCommitment } from './channel.ts';
import { firstBadHtlcTxSig, signFundingInput, signHtlcTxs, verifyFundingInput } from './sign.ts';

export interface CommitmentSignatures {
  /** 64-byte compact signature of the funding input. */
  readonly signature: Uint8Array;
  /** One per HTLC output, in output order (commitment_signed's htlc_signatures). */
  readonly htlcSignatures: readonly Uint8Array[];
}

/**
 * Signs the other side's commitment (`remote` must be built with holder 'remote'): the funding input
 * with our funding key, each HTLC transaction with our HTLC key for their per_commitment_point
 * (`derivePrivkey(our htlc_basepoint_secret, their point)`), with SIGHASH_SINGLE|ANYONECANPAY when
 * anchors apply.
 */
export function signRemoteCommitment(
  remote: HolderCommitment,
  fundingPrivkey: Uint8Array,
  htlcPrivkey: Uint8Array,
): CommitmentSignatures {
  if (remote.holder !== 'remote')
    throw new Error("signRemoteCommitment needs the remote holder's commitment");
  const { keys, fundingAmount } = remote.spec;
  return {
    signature: signFundingInput(
      remote.commitment.tx,
      keys.localFundingPubkey,
      keys.remoteFundingPubkey,
      fundingAmount,
      fundingPrivkey,
    ),
    htlcSignatures: signHtlcTxs(remote.htlcTxs, htlcPrivkey, false),
  };
}

export type CommitmentSignatureError =
  | { readonly kind: 'bad_commitment_signature' }
  | { readonly kind: 'wrong_htlc_signature_count'; readonly expected: number; readonly got: number }
  | { readonly kind: 'bad_htlc_signature'; readonly index: number };

/**
 * Checks a received commitment_signed against our commitment (`local` built with holder 'local'):
 * their funding signature, and one HTLC signature per HTLC output in order, by their HTLC key.
 */
export function verifyLocalCommitmentSignatures(
  local: HolderCommitment,
  sigs: CommitmentSignatures,
): Result<void, CommitmentSignatureError> {
  if (local.holder !== 'local') throw new Error('verifyLocalCommitmentSignatures needs our own commitment');
  const { keys, fundingAmount } = local.spec;
  const fundingOk = verifyFundingInput(
    local.commitment.tx,
    keys.localFundingPubkey,
    keys.remoteFundingPubkey,
    fundingAmount,
    sigs.signature,
    keys.remoteFundingPubkey,
  );
  if (!fundingOk) return err({ kind: 'bad_commitment_signature' });
  if (sigs.htlcSignatures.length !== local.htlcTxs.length) {
    return err({
      kind: 'wrong_htlc_signature_count',
      expected: local.htlcTxs.length,
      got: sigs.htlcSignatures.length,
    });
  }
  const index = firstBadHtlcTxSig(local.htlcTxs, sigs.htlcSignatures, keys.remoteHtlcPubkey, false);
  return index === -1 ? ok(undefined) : err({ kind: 'bad_htlc_signature', index });
}
