// NodeSigner: the only holder of the node identity secret (DESIGN.md seams). BOLT 8 needs ECDH with it,
// BOLT 7 announcements and BOLT 11 invoices need signatures over digests made by their own modules.
import { utf8 } from '../core/bytes.ts';
import { type EcdsaSignature, ecdh, ecdsaRecover, ecdsaSign, publicKeyOf, sha256d } from '../crypto/index.ts';
import type { KeyChain } from './derivation.ts';

export interface NodeSigner {
  /** 33-byte compressed node id. */
  readonly nodeId: Uint8Array;
  /** RFC 6979 low-S ECDSA over a 32-byte digest the caller computed (e.g. sha256d of an announcement). */
  signDigest(digest32: Uint8Array): EcdsaSignature;
  /** SHA256 of the compressed shared point (BOLT 4/8 ECDH). Throws if `point` is not a valid key. */
  ecdh(point: Uint8Array): Uint8Array;
  /** `signmessage` as LND and Core Lightning do it: sha256d("Lightning Signed Message:" || msg). */
  signMessage(message: Uint8Array): EcdsaSignature;
}

export const SIGNED_MESSAGE_PREFIX = 'Lightning Signed Message:';

export function signedMessageDigest(message: Uint8Array): Uint8Array {
  return sha256d(utf8(SIGNED_MESSAGE_PREFIX), message);
}

/** Recovers the node id that signed `message` (checkmessage), or null when recovery fails. */
export function recoverMessageSigner(message: Uint8Array, sig: EcdsaSignature): Uint8Array | null {
  try {
    return ecdsaRecover(sig.compact, sig.recid, signedMessageDigest(message));
  } catch {
    return null;
  }
}

class LocalNodeSigner implements NodeSigner {
  readonly #secret: Uint8Array;
  readonly nodeId: Uint8Array;
  constructor(secret: Uint8Array) {
    this.#secret = Uint8Array.from(secret);
    this.nodeId = publicKeyOf(this.#secret);
  }
  signDigest(digest32: Uint8Array): EcdsaSignature {
    if (digest32.length !== 32) throw new RangeError(`digest must be 32 bytes, got ${digest32.length}`);
    return ecdsaSign(digest32, this.#secret);
  }
  ecdh(point: Uint8Array): Uint8Array {
    return ecdh(point, this.#secret);
  }
  signMessage(message: Uint8Array): EcdsaSignature {
    return ecdsaSign(signedMessageDigest(message), this.#secret);
  }
  toJSON(): { nodeId: string } {
    return { nodeId: Buffer.from(this.nodeId).toString('hex') };
  }
}

/** A signer over a raw 32-byte secret (tests, or keys that do not come from a seed). */
export function nodeSignerFromSecret(secret: Uint8Array): NodeSigner {
  return new LocalNodeSigner(secret);
}

/** The node signer of a seed: key at m/1017'/coin'/6'/0'/0'. */
export function nodeSignerFromKeyChain(keys: KeyChain): NodeSigner {
  return new LocalNodeSigner(keys.nodeKey().secret);
}
