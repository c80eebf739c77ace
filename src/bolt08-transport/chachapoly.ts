// ChaCha20-Poly1305 (RFC 8439) with the Noise nonce, written straight into caller-owned buffers so the
// message hot path copies each byte once. node:crypto does the work (see DESIGN.md, Dependencies),
// or libsodium through native/libsodium when npm ci built it (Debian's libsodium-dev): node:crypto sets
// up a cipher object per call, ~5 us, while a BOLT 8 frame is two calls of a few bytes to ~1.5 KB, which
// libsodium seals in 0.7-2.3 us. The addon is checked against node:crypto at load.
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { loadNativeAddon, nativeAddonPath } from '../core/native-addon.ts';

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
type SealInto = (
  key: Uint8Array,
  nonce12: Uint8Array,
  ad: Uint8Array | null,
  plaintext: Uint8Array,
  out: Uint8Array,
  offset: number,
) => void;
/**
 * Decrypts `sealed` (ciphertext || tag). Returns null when the tag does not verify; never returns
 * unauthenticated plaintext. The result is a plain Uint8Array view (not a Buffer) over fresh memory.
 */
type Open = (
  key: Uint8Array,
  nonce12: Uint8Array,
  ad: Uint8Array | null,
  sealed: Uint8Array,
) => Uint8Array | null;

interface SodiumAead {
  readonly seal: SealInto;
  readonly open: Open;
}

/** Where the built libsodium binding is; SHANDIAN_SYSTEM_SODIUM=0 leaves it unused. */
export const sodiumAeadPath = nativeAddonPath('libsodium', 'chacha20poly1305_system');

/** The libsodium binding when built and in agreement with node:crypto (both ways, with and without AD). */
function loadSodium(): SodiumAead | undefined {
  const s = loadNativeAddon<SodiumAead>(sodiumAeadPath, 'SHANDIAN_SYSTEM_SODIUM');
  if (s === undefined) return undefined;
  const key = new Uint8Array(32).fill(7);
  const nonce = nonceOf(1);
  const ad = new Uint8Array(32).fill(9);
  const text = new TextEncoder().encode('shandian checks its AEAD');
  const agrees = (a: Uint8Array | null): boolean => {
    const ours = new Uint8Array(text.length + TAG_LENGTH);
    s.seal(key, nonce, a, text, ours, 0);
    const theirs = nodeSeal(key, nonce, a, text);
    const back = nodeOpen(key, nonce, a, ours);
    const opened = s.open(key, nonce, a, theirs);
    return (
      Buffer.compare(ours, theirs) === 0 &&
      back !== null &&
      Buffer.compare(back, text) === 0 &&
      opened !== null &&
      Buffer.compare(opened, text) === 0
    );
  };
  let ok = false;
  try {
    ok = agrees(null) && agrees(ad);
  } catch {
    // a binding that throws on good input is as unusable as one that disagrees
  }
  if (!ok) {
    console.warn('chacha20-poly1305: the libsodium binding disagrees with node:crypto; not used');
    return undefined;
  }
  return s;
}

const nodeSealInto: SealInto = (key, nonce12, ad, plaintext, out, offset) => {
  const c = createCipheriv('chacha20-poly1305', key, nonce12, { authTagLength: TAG_LENGTH });
  if (ad !== null && ad.length > 0) c.setAAD(ad, { plaintextLength: plaintext.length });
  if (plaintext.length > 0) out.set(c.update(plaintext), offset);
  c.final();
  out.set(c.getAuthTag(), offset + plaintext.length);
};

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

function nodeSeal(key: Uint8Array, nonce12: Uint8Array, ad: Uint8Array | null, plaintext: Uint8Array) {
  const out = new Uint8Array(plaintext.length + TAG_LENGTH);
  nodeSealInto(key, nonce12, ad, plaintext, out, 0);
  return out;
}

const EMPTY = new Uint8Array(0);

const nodeOpen: Open = (key, nonce12, ad, sealed) => {
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
};

/** BOLT 8's `HKDF(salt, ikm)`: RFC 5869 with empty info, 64 bytes split in two 32-byte keys. */
export function hkdf2(salt: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] {
  const okm = new Uint8Array(hkdfSync('sha256', ikm, salt, EMPTY, 64));
  return [okm.subarray(0, 32), okm.subarray(32, 64)];
}

const sodium = loadSodium();

export const sealInto: SealInto = sodium?.seal ?? nodeSealInto;
export const open: Open = sodium?.open ?? nodeOpen;

/** Which implementation seals and opens, for logs and benchmarks. */
export const aeadBackend = sodium !== undefined ? 'libsodium (native)' : 'node:crypto';
