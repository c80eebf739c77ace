// BOLT 3 key derivation: per-commitment points, the per-commitment keys, revocation keys, and the
// set of keys one commitment transaction needs. Inputs that come from a peer (basepoints,
// per_commitment_point) must be validated as points when decoded; here an invalid point throws.
import { concat } from '../core/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import {
  isPublicKey,
  privkeyTweakAdd,
  privkeyTweakMul,
  pubkeyAdd,
  pubkeyTweakAdd,
  pubkeyTweakMul,
  publicKeyOf,
} from '../crypto/secp256k1.ts';
import { perCommitmentSecret } from './shachain.ts';

export class KeyDerivationError extends Error {}

function needPoint(p: Uint8Array, what: string): void {
  if (p.length !== 33 || !isPublicKey(p))
    throw new KeyDerivationError(`${what} is not a compressed public key`);
}

// BOLT #3:
// 	per_commitment_point = per_commitment_secret * G
export function perCommitmentPoint(perCommitmentSecret: Uint8Array): Uint8Array {
  return publicKeyOf(perCommitmentSecret);
}

/** Our per_commitment_point for commitment number `n`, from our per-commitment seed. */
export function perCommitmentPointAt(seed: Uint8Array, commitmentNumber: bigint): Uint8Array {
  return publicKeyOf(perCommitmentSecret(seed, commitmentNumber));
}

// BOLT #3:
// 	pubkey = basepoint + SHA256(per_commitment_point || basepoint) * G
export function derivePubkey(basepoint: Uint8Array, perCommitmentPoint: Uint8Array): Uint8Array {
  needPoint(basepoint, 'basepoint');
  needPoint(perCommitmentPoint, 'per_commitment_point');
  return pubkeyTweakAdd(basepoint, sha256(perCommitmentPoint, basepoint));
}

// BOLT #3:
//     privkey = basepoint_secret + SHA256(per_commitment_point || basepoint)
export function derivePrivkey(basepointSecret: Uint8Array, perCommitmentPoint: Uint8Array): Uint8Array {
  needPoint(perCommitmentPoint, 'per_commitment_point');
  const basepoint = publicKeyOf(basepointSecret);
  return privkeyTweakAdd(basepointSecret, sha256(perCommitmentPoint, basepoint));
}

// BOLT #3:
// 	revocationpubkey = revocation_basepoint * SHA256(revocation_basepoint || per_commitment_point) + per_commitment_point * SHA256(per_commitment_point || revocation_basepoint)
export function deriveRevocationPubkey(
  revocationBasepoint: Uint8Array,
  perCommitmentPoint: Uint8Array,
): Uint8Array {
  needPoint(revocationBasepoint, 'revocation_basepoint');
  needPoint(perCommitmentPoint, 'per_commitment_point');
  const a = pubkeyTweakMul(revocationBasepoint, sha256(revocationBasepoint, perCommitmentPoint));
  const b = pubkeyTweakMul(perCommitmentPoint, sha256(perCommitmentPoint, revocationBasepoint));
  return pubkeyAdd(a, b);
}

// BOLT #3:
//     revocationprivkey = revocation_basepoint_secret * SHA256(revocation_basepoint || per_commitment_point) + per_commitment_secret * SHA256(per_commitment_point || revocation_basepoint)
export function deriveRevocationPrivkey(
  revocationBasepointSecret: Uint8Array,
  perCommitmentSecret: Uint8Array,
): Uint8Array {
  const revocationBasepoint = publicKeyOf(revocationBasepointSecret);
  const point = publicKeyOf(perCommitmentSecret);
  const a = privkeyTweakMul(revocationBasepointSecret, sha256(revocationBasepoint, point));
  const b = privkeyTweakMul(perCommitmentSecret, sha256(point, revocationBasepoint));
  return privkeyTweakAdd(a, b);
}

/** The public keys one side announces in open_channel / accept_channel. */
export interface ChannelBasepoints {
  readonly fundingPubkey: Uint8Array;
  readonly revocationBasepoint: Uint8Array;
  readonly paymentBasepoint: Uint8Array;
  readonly delayedPaymentBasepoint: Uint8Array;
  readonly htlcBasepoint: Uint8Array;
}

/**
 * Every key of one commitment transaction, seen from its owner (BOLT 3's "local" node). Both channel
 * types supported here use option_static_remotekey, so `remotePaymentPubkey` is the other side's
 * payment_basepoint itself.
 */
export interface CommitmentKeys {
  readonly perCommitmentPoint: Uint8Array;
  /** From the other side's revocation_basepoint: lets the other side punish this commitment. */
  readonly revocationPubkey: Uint8Array;
  readonly localDelayedPubkey: Uint8Array;
  readonly localHtlcPubkey: Uint8Array;
  readonly remoteHtlcPubkey: Uint8Array;
  readonly remotePaymentPubkey: Uint8Array;
  readonly localFundingPubkey: Uint8Array;
  readonly remoteFundingPubkey: Uint8Array;
}

/**
 * Keys for the commitment transaction held by `owner`, at the owner's per_commitment_point. For our
 * own commitment pass (ours, theirs, our point); for theirs pass (theirs, ours, their point).
 * Derivation is ~5 point operations: derive once per commitment and keep the result.
 */
export function deriveCommitmentKeys(
  owner: ChannelBasepoints,
  other: ChannelBasepoints,
  perCommitmentPoint: Uint8Array,
): CommitmentKeys {
  needPoint(other.paymentBasepoint, 'payment_basepoint');
  needPoint(owner.fundingPubkey, 'funding_pubkey');
  needPoint(other.fundingPubkey, 'funding_pubkey');
  return {
    perCommitmentPoint: Uint8Array.from(perCommitmentPoint),
    revocationPubkey: deriveRevocationPubkey(other.revocationBasepoint, perCommitmentPoint),
    localDelayedPubkey: derivePubkey(owner.delayedPaymentBasepoint, perCommitmentPoint),
    localHtlcPubkey: derivePubkey(owner.htlcBasepoint, perCommitmentPoint),
    remoteHtlcPubkey: derivePubkey(other.htlcBasepoint, perCommitmentPoint),
    remotePaymentPubkey: Uint8Array.from(other.paymentBasepoint),
    localFundingPubkey: Uint8Array.from(owner.fundingPubkey),
    remoteFundingPubkey: Uint8Array.from(other.fundingPubkey),
  };
}

/** The 48-bit factor that obscures commitment numbers (opener's basepoint first). */
export function commitmentNumberObscurer(
  openerPaymentBasepoint: Uint8Array,
  accepterPaymentBasepoint: Uint8Array,
): bigint {
  // BOLT #3:
  //     SHA256(payment_basepoint from open_channel || payment_basepoint from accept_channel)
  const h = sha256(concat(openerPaymentBasepoint, accepterPaymentBasepoint));
  let v = 0n;
  for (let i = 26; i < 32; i++) v = (v << 8n) | BigInt(h[i]!);
  return v;
}
