// Per-commitment secrets (BOLT 3 "Per-commitment Secret Requirements") and the compact storage of the
// peer's revealed secrets ("Efficient Per-commitment Secret Storage"), as immutable values.
import { concat, equal, hex, readU64be, u64be } from '../core/bytes.ts';
import { err, ok, type Result } from '../core/result.ts';
import { sha256 } from '../crypto/hash.ts';

/** 2^48 - 1: the index of the first secret, and the largest one. */
export const MAX_SECRET_INDEX = 0xffff_ffff_ffffn;
/** Commitment numbers are 48 bits as well. */
export const MAX_COMMITMENT_NUMBER = MAX_SECRET_INDEX;

function checkIndex(index: bigint): void {
  if (index < 0n || index > MAX_SECRET_INDEX) throw new RangeError(`secret index out of range: ${index}`);
}

/** `flip(B) in P`: alternates the (B mod 8) bit of the (B div 8) byte, in place. */
function flip(p: Uint8Array, bit: number): void {
  p[bit >> 3] = p[bit >> 3]! ^ (1 << (bit & 7));
}

/** The spec's derive_secret(base, bits, I): walks bits-1 down to 0 of I from a base secret. */
function deriveSecret(base: Uint8Array, bits: number, index: bigint): Uint8Array {
  let p: Uint8Array = Uint8Array.from(base);
  for (let b = bits - 1; b >= 0; b--) {
    if ((index >> BigInt(b)) & 1n) {
      flip(p, b);
      p = sha256(p);
    }
  }
  return p;
}

/**
 * generate_from_seed(seed, I). Index 2^48-1 is the first secret used; indices then count down.
 * Use {@link perCommitmentSecret} to go from a commitment number to its secret.
 */
export function generateFromSeed(seed: Uint8Array, index: bigint): Uint8Array {
  if (seed.length !== 32) throw new RangeError('per-commitment seed must be 32 bytes');
  checkIndex(index);
  return deriveSecret(seed, 48, index);
}

/** The secret index of a commitment number: commitment 0 uses index 2^48-1. */
export function secretIndexOf(commitmentNumber: bigint): bigint {
  checkIndex(commitmentNumber);
  return MAX_SECRET_INDEX - commitmentNumber;
}

/** The per-commitment secret of commitment number `n` (0 = the first commitment). */
export function perCommitmentSecret(seed: Uint8Array, commitmentNumber: bigint): Uint8Array {
  return generateFromSeed(seed, secretIndexOf(commitmentNumber));
}

/** where_to_put_secret(I): the count of trailing zero bits, 48 for I = 0. */
function bucketOf(index: bigint): number {
  for (let b = 0; b < 48; b++) if ((index >> BigInt(b)) & 1n) return b;
  return 48;
}

interface Known {
  readonly index: bigint;
  readonly secret: Uint8Array;
}

/**
 * The secrets a peer has revealed, at most 49 entries. Immutable: {@link shachainInsert} returns a
 * new store. `nextIndex` is the index the next revealed secret must have (secrets arrive in order).
 */
export interface ShachainStore {
  readonly known: readonly (Known | undefined)[];
  readonly nextIndex: bigint;
}

export function emptyShachain(): ShachainStore {
  return { known: [], nextIndex: MAX_SECRET_INDEX };
}

export type ShachainError =
  | { readonly kind: 'out_of_order'; readonly expected: bigint; readonly got: bigint }
  | { readonly kind: 'inconsistent'; readonly index: bigint; readonly conflictsWith: bigint }
  | { readonly kind: 'bad_length' };

/** insert_secret(secret, I), rejecting a secret that does not derive every earlier one. */
export function shachainInsert(
  store: ShachainStore,
  index: bigint,
  secret: Uint8Array,
): Result<ShachainStore, ShachainError> {
  if (secret.length !== 32) return err({ kind: 'bad_length' });
  if (index !== store.nextIndex || index < 0n) {
    return err({ kind: 'out_of_order', expected: store.nextIndex, got: index });
  }
  const bucket = bucketOf(index);
  for (let b = 0; b < bucket; b++) {
    const k = store.known[b];
    if (k === undefined) continue;
    if (!equal(deriveSecret(secret, bucket, k.index), k.secret)) {
      return err({ kind: 'inconsistent', index, conflictsWith: k.index });
    }
  }
  const known = store.known.slice();
  while (known.length <= bucket) known.push(undefined);
  known[bucket] = { index, secret: Uint8Array.from(secret) };
  return ok({ known, nextIndex: index - 1n });
}

/** derive_old_secret(I): a secret at or after an already revealed index, or undefined if not yet revealed. */
export function shachainGet(store: ShachainStore, index: bigint): Uint8Array | undefined {
  if (index < 0n || index > MAX_SECRET_INDEX) return undefined;
  for (let b = 0; b < store.known.length; b++) {
    const k = store.known[b];
    if (k === undefined) continue;
    const mask = ~((1n << BigInt(b)) - 1n);
    if ((index & mask) === k.index) return deriveSecret(k.secret, b, index);
  }
  return undefined;
}

/** The revealed secret of a commitment number, if that commitment has been revoked. */
export function shachainGetCommitment(
  store: ShachainStore,
  commitmentNumber: bigint,
): Uint8Array | undefined {
  if (commitmentNumber < 0n || commitmentNumber > MAX_COMMITMENT_NUMBER) return undefined;
  return shachainGet(store, MAX_SECRET_INDEX - commitmentNumber);
}

/** How many secrets have been inserted. */
export function shachainCount(store: ShachainStore): bigint {
  return MAX_SECRET_INDEX - store.nextIndex;
}

const STORE_VERSION = 1;

/**
 * Storage form: version (1 byte), next index (8), entry count (1), then per entry its bucket (1),
 * index (8) and secret (32). Readers ignore bytes after the entries (an extensible tail).
 */
export function encodeShachain(store: ShachainStore): Uint8Array {
  const parts: Uint8Array[] = [];
  let count = 0;
  store.known.forEach((k, b) => {
    if (k === undefined) return;
    count++;
    parts.push(new Uint8Array([b]), u64be(k.index), k.secret);
  });
  return concat(
    new Uint8Array([STORE_VERSION]),
    u64be(store.nextIndex & 0xffff_ffff_ffff_ffffn),
    new Uint8Array([count]),
    ...parts,
  );
}

export function decodeShachain(bytes: Uint8Array): Result<ShachainStore, string> {
  if (bytes.length < 10) return err('shachain record too short');
  if (bytes[0] !== STORE_VERSION) return err(`unknown shachain record version ${bytes[0]}`);
  const rawNext = readU64be(bytes, 1);
  // nextIndex is -1 once index 0 has been received; stored as all ones.
  const nextIndex = rawNext === 0xffff_ffff_ffff_ffffn ? -1n : rawNext;
  if (nextIndex > MAX_SECRET_INDEX) return err('shachain next index out of range');
  const count = bytes[9]!;
  if (bytes.length < 10 + count * 41) return err('shachain record truncated');
  const known: (Known | undefined)[] = [];
  for (let n = 0; n < count; n++) {
    const at = 10 + n * 41;
    const bucket = bytes[at]!;
    const index = readU64be(bytes, at + 1);
    if (bucket > 48 || index > MAX_SECRET_INDEX || bucketOf(index) !== bucket)
      return err('bad shachain entry');
    if (known[bucket] !== undefined) return err('duplicate shachain bucket');
    while (known.length <= bucket) known.push(undefined);
    known[bucket] = { index, secret: bytes.slice(at + 9, at + 41) };
  }
  return ok({ known, nextIndex });
}

/** For logs and debugging only. */
export function describeShachain(store: ShachainStore): string {
  return store.known
    .map((k, b) => (k === undefined ? '' : `${b}:${k.index.toString(16)}=${hex(k.secret).slice(0, 8)}`))
    .filter((s) => s !== '')
    .join(' ');
}
