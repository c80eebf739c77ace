// Hashes, HMAC and HKDF through node:crypto (2-6x faster than the JS alternatives here).
import * as nodeCrypto from 'node:crypto';
import { createHash, createHmac, hkdfSync } from 'node:crypto';

type OneShot = (algo: string, data: Uint8Array, encoding: 'buffer') => Buffer;
const oneShot = (nodeCrypto as unknown as { hash?: OneShot }).hash;

function digest(algo: string, ...parts: Uint8Array[]): Uint8Array {
  // One buffer: node:crypto's one-shot `hash` (Node >= 20.12) skips the Hash object, ~1.7x faster for
  // the short inputs of scripts, keys and sighashes. A copy, as small results may sit in a shared pool.
  if (parts.length === 1 && oneShot !== undefined) return new Uint8Array(oneShot(algo, parts[0]!, 'buffer'));
  const h = createHash(algo);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export const sha256 = (...parts: Uint8Array[]): Uint8Array => digest('sha256', ...parts);
export const sha256d = (...parts: Uint8Array[]): Uint8Array => sha256(sha256(...parts));
export const ripemd160 = (data: Uint8Array): Uint8Array => digest('ripemd160', data);
export const sha1 = (data: Uint8Array): Uint8Array => digest('sha1', data);
export const hash160 = (data: Uint8Array): Uint8Array => ripemd160(sha256(data));

export function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function hmacSha512(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha512', key).update(data).digest());
}

/** RFC 5869 HKDF-SHA256. */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
}

/** BIP340 tagged hash. */
export function taggedHash(tag: string, ...parts: Uint8Array[]): Uint8Array {
  const t = sha256(new TextEncoder().encode(tag));
  return sha256(t, t, ...parts);
}
