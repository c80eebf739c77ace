// ChaCha20-Poly1305 (RFC 8439) with the Noise nonce, written straight into caller-owned buffers so the
// message hot path copies each byte once. node:crypto does the work (see DESIGN.md, Dependencies).
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';

export const TAG_LENGTH = 16;

/**
 * Sets `nonce12` to BOLT 8's encoding of `n`: "32 zero bits, followed by a *little-endian* 64-bit value".
 * Callers keep n below 2^32 (it is reset at 1000), so the high word stays zero.
 */
export function setNonce(nonce12: Uint8Array, n: number): void {
  nonce12[4] = n & 0xff;
  nonce12[5] = (n >>> 8) & 0xff;
  nonce12[6] = (n >>> 16) & 0xff;
  nonce12[7] = (n >>> 24) & 0xff;
}

export function nonceOf(n: number): Uint8Array {
  const nonce = new Uint8Array(12);
  setNonce(nonce, n);
  return nonce;
}

/** Encrypts `plaintext` into `out` at `offset`; writes plaintext.length + 16 bytes (ciphertext || tag). */
export function sealInto(
  key: Uint8Array,
  nonce12: Uint8Array,
  ad: Uint8Array | null,
  plaintext: Uint8Array,
  out: Uint8Array,
  offset: number,
): void {
  const c = createCipheriv('chacha20-poly1305', key, nonce12, { authTagLength: TAG_LENGTH });
  if (ad !== null && ad.length > 0) c.setAAD(ad, { plaintextLength: plaintext.length });
  if (plaintext.length > 0) out.set(c.update(plaintext), offset);
  c.final();
  out.set(c.getAuthTag(), offset + plaintext.length);
}

export function seal(
  key: Uint8Array,
  nonce12: Uint8Array,
  ad: Uint8Array | null,
  plaintext: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(plaintext.length + TAG_LENGTH);
  sealInto(key, nonce12, ad, plaintext, out, 0);
  return out;
}

const EMPTY = new Uint8Array(0);

/**
 * Decrypts `sealed` (ciphertext || tag). Returns null when the tag does not verify; never returns
 * unauthenticated plaintext. The result is a plain Uint8Array view (not a Buffer) over fresh memory.
 */
export function open(
  key: Uint8Array,
  nonce12: Uint8Array,
  ad: Uint8Array | null,
  sealed: Uint8Array,
): Uint8Array | null {
  if (sealed.length < TAG_LENGTH) return null;
  const bodyLength = sealed.length - TAG_LENGTH;
  const d = createDecipheriv('chacha20-poly1305', key, nonce12, { authTagLength: TAG_LENGTH });
  if (ad !== null && ad.length > 0) d.setAAD(ad, { plaintextLength: bodyLength });
  d.setAuthTag(sealed.subarray(bodyLength));
  const plain = bodyLength > 0 ? d.update(sealed.subarray(0, bodyLength)) : null;
  try {
    d.final();
  } catch {
    return null;
  }
  if (plain === null) return EMPTY;
  return new Uint8Array(plain.buffer, plain.byteOffset, plain.byteLength);
}

/** BOLT 8's `HKDF(salt, ikm)`: RFC 5869 with empty info, 64 bytes split in two 32-byte keys. */
export function hkdf2(salt: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] {
  const okm = new Uint8Array(hkdfSync('sha256', ikm, salt, EMPTY, 64));
  return [okm.subarray(0, 32), okm.subarray(32, 64)];
}
