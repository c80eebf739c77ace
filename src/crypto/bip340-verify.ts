// BIP340 Schnorr verification through tiny-secp256k1 (libsecp256k1 compiled to WASM): about 7x
// faster than @noble here, and devnet verifies every taproot spend. Signing stays with @noble (see
// secp256k1.ts); if the WASM module cannot load, verification falls back to @noble as well.
import { createRequire } from 'node:module';
import { schnorrVerify as nobleSchnorrVerify } from './secp256k1.ts';

const require = createRequire(import.meta.url);

interface TinySchnorr {
  verifySchnorr(h: Uint8Array, q: Uint8Array, signature: Uint8Array): boolean;
}

function loadTiny(): TinySchnorr | null {
  try {
    return require('tiny-secp256k1') as TinySchnorr;
  } catch {
    return null;
  }
}

const tiny = loadTiny();

/** Which implementation verifies Schnorr signatures, for logs and benchmarks. */
export const bip340VerifyBackend = tiny === null ? '@noble/curves' : 'tiny-secp256k1 (WASM)';

/** BIP340 verify of a 64-byte signature on a 32-byte message under a 32-byte x-only key; never throws. */
export function bip340Verify(sig64: Uint8Array, msg32: Uint8Array, xonly32: Uint8Array): boolean {
  if (sig64.length !== 64 || msg32.length !== 32 || xonly32.length !== 32) return false;
  if (tiny === null) return nobleSchnorrVerify(sig64, msg32, xonly32);
  try {
    return tiny.verifySchnorr(msg32, xonly32, sig64);
  } catch {
    // tiny-secp256k1 throws on a key that is not on the curve: that is an invalid signature.
    return false;
  }
}
