// BIP341 taproot commitments: tapleaf/tapbranch hashes, the output key tweak, control blocks.
import { compare, concat, equal } from '../core/bytes.ts';
import { taggedHash } from '../crypto/hash.ts';
import {
  isPrivateKey,
  isPublicKey,
  privkeyNegate,
  privkeyTweakAdd,
  pubkeyTweakAdd,
  publicKeyOf,
} from '../crypto/secp256k1.ts';
import { varBytes } from './tx.ts';

export const TAPROOT_LEAF_MASK = 0xfe;
export const TAPROOT_LEAF_TAPSCRIPT = 0xc0;
export const TAPROOT_CONTROL_BASE_SIZE = 33;
export const TAPROOT_CONTROL_NODE_SIZE = 32;
export const TAPROOT_CONTROL_MAX_NODE_COUNT = 128;
export const TAPROOT_CONTROL_MAX_SIZE =
  TAPROOT_CONTROL_BASE_SIZE + TAPROOT_CONTROL_NODE_SIZE * TAPROOT_CONTROL_MAX_NODE_COUNT;
export const ANNEX_TAG = 0x50;

export function tapleafHash(leafVersion: number, script: Uint8Array): Uint8Array {
  return taggedHash('TapLeaf', new Uint8Array([leafVersion & TAPROOT_LEAF_MASK]), varBytes(script));
}

/** TapBranch of two child hashes, in lexicographic order. */
export function tapBranchHash(a: Uint8Array, b: Uint8Array): Uint8Array {
  return compare(a, b) < 0 ? taggedHash('TapBranch', a, b) : taggedHash('TapBranch', b, a);
}

/** The tweak t = TapTweak(P || merkle_root), or TapTweak(P) for a key-only output. */
export function taprootTweak(internalKey: Uint8Array, merkleRoot?: Uint8Array | null): Uint8Array {
  return merkleRoot ? taggedHash('TapTweak', internalKey, merkleRoot) : taggedHash('TapTweak', internalKey);
}

export interface TweakedKey {
  /** x-only output key Q. */
  readonly outputKey: Uint8Array;
  /** 0 when Q has even y, 1 when odd (the control block's low bit). */
  readonly parity: number;
}

/** Q = lift_x(P) + t*G; null when P is not on the curve or the tweak is out of range. */
export function tweakInternalKey(internalKey: Uint8Array, merkleRoot?: Uint8Array | null): TweakedKey | null {
  if (internalKey.length !== 32) return null;
  const lifted = concat(new Uint8Array([0x02]), internalKey);
  if (!isPublicKey(lifted)) return null;
  try {
    const q = pubkeyTweakAdd(lifted, taprootTweak(internalKey, merkleRoot));
    return { outputKey: q.subarray(1), parity: q[0]! & 1 };
  } catch {
    return null;
  }
}

/** The secret key that signs for the tweaked output key (BIP341 taproot_tweak_seckey). */
export function tweakPrivateKey(secret: Uint8Array, merkleRoot?: Uint8Array | null): Uint8Array {
  if (!isPrivateKey(secret)) throw new RangeError('not a private key');
  const p = publicKeyOf(secret, true);
  const even = p[0] === 0x02 ? secret : privkeyNegate(secret);
  return privkeyTweakAdd(even, taprootTweak(p.subarray(1), merkleRoot));
}

/** Merkle root implied by a control block's path for a given leaf hash. */
export function controlBlockRoot(control: Uint8Array, leafHash: Uint8Array): Uint8Array {
  let k = leafHash;
  for (
    let i = TAPROOT_CONTROL_BASE_SIZE;
    i + TAPROOT_CONTROL_NODE_SIZE <= control.length;
    i += TAPROOT_CONTROL_NODE_SIZE
  ) {
    k = tapBranchHash(k, control.subarray(i, i + TAPROOT_CONTROL_NODE_SIZE));
  }
  return k;
}

/** Core's VerifyTaprootCommitment: the control block and leaf hash commit to the output key. */
export function verifyTaprootCommitment(
  control: Uint8Array,
  program: Uint8Array,
  leafHash: Uint8Array,
): boolean {
  const internalKey = control.subarray(1, TAPROOT_CONTROL_BASE_SIZE);
  const tweaked = tweakInternalKey(internalKey, controlBlockRoot(control, leafHash));
  if (tweaked === null) return false;
  return equal(tweaked.outputKey, program) && tweaked.parity === (control[0]! & 1);
}

/** Control block for a leaf at the given path (sibling hashes from the leaf upwards). */
export function controlBlock(
  internalKey: Uint8Array,
  leafVersion: number,
  path: readonly Uint8Array[],
  parity: number,
): Uint8Array {
  return concat(new Uint8Array([(leafVersion & TAPROOT_LEAF_MASK) | (parity & 1)]), internalKey, ...path);
}
