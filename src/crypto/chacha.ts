// ChaCha20-Poly1305 (RFC 8439) and raw ChaCha20 through node:crypto.
import { createCipheriv, createDecipheriv } from 'node:crypto';

export class AeadError extends Error {}

export function aeadEncrypt(
  key: Uint8Array,
  nonce12: Uint8Array,
  ad: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  const c = createCipheriv('chacha20-poly1305', key, nonce12, { authTagLength: 16 });
  c.setAAD(ad, { plaintextLength: plaintext.length });
  const body = c.update(plaintext);
  c.final();
  const out = new Uint8Array(body.length + 16);
  out.set(body, 0);
  out.set(c.getAuthTag(), body.length);
  return out;
}

/** Throws AeadError when the tag does not verify. */
export function aeadDecrypt(
  key: Uint8Array,
  nonce12: Uint8Array,
  ad: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array {
  if (ciphertext.length < 16) throw new AeadError('ciphertext shorter than its tag');
  const body = ciphertext.subarray(0, ciphertext.length - 16);
  const d = createDecipheriv('chacha20-poly1305', key, nonce12, { authTagLength: 16 });
  d.setAAD(ad, { plaintextLength: body.length });
  d.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const out = d.update(body);
  try {
    d.final();
  } catch {
    throw new AeadError('bad MAC');
  }
  return new Uint8Array(out);
}

/** Raw ChaCha20 keystream XOR (RFC 8439 block counter starts at 0), as BOLT 4 uses. */
export function chacha20(key: Uint8Array, nonce12: Uint8Array, data: Uint8Array): Uint8Array {
  const iv = new Uint8Array(16);
  iv.set(nonce12, 4); // first 4 bytes: little-endian block counter = 0
  const c = createCipheriv('chacha20', key, iv);
  return new Uint8Array(c.update(data));
}
