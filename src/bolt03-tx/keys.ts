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
/** `basepoint` (the public key of `basepointSecret`) may be passed to save a point multiplication. */
export function derivePrivkey(
  basepointSecret: Uint8Array,
  perCommitmentPoint: Uint8Array,
  basepoint: Uint8Array = publicKeyOf(basepointSecret),
): Uint8Array {
  needPoint(perCommitmentPoint, 'per_commitment_point');
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
  // Each point is checked once: the ones a tweak below parses are checked by that parse (a failure
  // there is reported the same way), the ones only copied are checked here. This runs for every
  // commitment built, so the ~8 redundant point parses it saves are worth it.
  needPoint(other.paymentBasepoint, 'payment_basepoint');
  needPoint(owner.fundingPubkey, 'funding_pubkey');
  needPoint(other.fundingPubkey, 'funding_pubkey');
  const point = perCommitmentPoint;
  const tweaked = (what: string, f: () => Uint8Array): Uint8Array => {
    try {
      return f();
    } catch {
      throw new KeyDerivationError(`${what} is not a compressed public key`);
    }
  };
  const add = (basepoint: Uint8Array, what: string) => {
    if (basepoint.length !== 33) throw new KeyDerivationError(`${what} is not a compressed public key`);
    return tweaked(what, () => pubkeyTweakAdd(basepoint, sha256(point, basepoint)));
  };
  if (point.length !== 33)
    throw new KeyDerivationError('per_commitment_point is not a compressed public key');
  const rb = other.revocationBasepoint;
  if (rb.length !== 33) throw new KeyDerivationError('revocation_basepoint is not a compressed public key');
  // The revocation key's tweak-muls parse both the revocation basepoint and the per-commitment point.
  const revA = tweaked('revocation_basepoint', () => pubkeyTweakMul(rb, sha256(rb, point)));
  const revB = tweaked('per_commitment_point', () => pubkeyTweakMul(point, sha256(point, rb)));
  return {
    perCommitmentPoint: Uint8Array.from(point),
    // BOLT #3:
    // 	revocationpubkey = revocation_basepoint * SHA256(revocation_basepoint || per_commitment_point) + per_commitment_point * SHA256(per_commitment_point || revocation_basepoint)
    revocationPubkey: pubkeyAdd(revA, revB),
    localDelayedPubkey: add(owner.delayedPaymentBasepoint, 'basepoint'),
    localHtlcPubkey: add(owner.htlcBasepoint, 'basepoint'),
    remoteHtlcPubkey: add(other.htlcBasepoint, 'basepoint'),
    remotePaymentPubkey: Uint8Array.from(other.paymentBasepoint),
    localFundingPubkey: Uint8Array.from(owner.fundingPubkey),
    remoteFundingPubkey: Uint8Array.from(other.fundingPubkey),
  };
}

/**
 * A bounded memo of {@link deriveCommitmentKeys}: the reducer builds the same commitment (same
 * basepoints, same per_commitment_point) several times per step, and each derivation is ~5 point
 * operations. The keys are a pure function of the inputs, and the memo is keyed by every input byte, so
 * an entry can never be stale; it hands out copies, so no caller can change what another receives.
 * Failed derivations are not remembered (they throw every time).
 */
export class CommitmentKeyCache {
  private readonly entries = new Map<string, CommitmentKeys>();

  constructor(private readonly capacity = 64) {}

  get size(): number {
    return this.entries.size;
  }

  derive(owner: ChannelBasepoints, other: ChannelBasepoints, perCommitmentPoint: Uint8Array): CommitmentKeys {
    const inputs = [
      perCommitmentPoint,
      owner.delayedPaymentBasepoint,
      owner.htlcBasepoint,
      owner.fundingPubkey,
      other.revocationBasepoint,
      other.htlcBasepoint,
      other.paymentBasepoint,
      other.fundingPubkey,
    ];
    // Fixed-size inputs make the concatenation unambiguous; anything else is invalid anyway.
    if (inputs.some((b) => b.length !== 33)) return deriveCommitmentKeys(owner, other, perCommitmentPoint);
    const key = Buffer.concat(inputs).toString('latin1');
    let keys = this.entries.get(key);
    if (keys === undefined) {
      keys = deriveCommitmentKeys(owner, other, perCommitmentPoint);
      if (this.entries.size >= this.capacity) {
        // Oldest first: Map iterates in insertion order.
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
      this.entries.set(key, keys);
    }
    return copyKeys(keys);
  }
}

function copyKeys(k: CommitmentKeys): CommitmentKeys {
  return {
    perCommitmentPoint: Uint8Array.from(k.perCommitmentPoint),
    revocationPubkey: Uint8Array.from(k.revocationPubkey),
    localDelayedPubkey: Uint8Array.from(k.localDelayedPubkey),
    localHtlcPubkey: Uint8Array.from(k.localHtlcPubkey),
    remoteHtlcPubkey: Uint8Array.from(k.remoteHtlcPubkey),
    remotePaymentPubkey: Uint8Array.from(k.remotePaymentPubkey),
    localFundingPubkey: Uint8Array.from(k.localFundingPubkey),
    remoteFundingPubkey: Uint8Array.from(k.remoteFundingPubkey),
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
