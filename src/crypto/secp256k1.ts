// The one door to secp256k1. libsecp256k1 through the `secp256k1` package's N-API binding; if that
// binding cannot load, tiny-secp256k1 (WASM) rather than the package's silent 15-45x slower JS path.
// ECDSA signing and verification (one per HTLC of a commitment_signed), public key creation, tweaks
// and ECDH go through the system's newer libsecp256k1 when native/libsecp256k1 was built at install
// (`npm ci` builds it when Debian's libsecp256k1-dev is there): ECDSA ~1.4x, the others ~1.15-1.25x
// faster here, each checked against the package at load.

import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { schnorr } from '@noble/curves/secp256k1.js';
import { loadNativeAddon, nativeAddonPath } from '../core/native-addon.ts';

const require = createRequire(import.meta.url);

export interface EcdsaSignature {
  /** 64-byte compact r || s, low-S. */
  readonly compact: Uint8Array;
  readonly recid: number;
}

interface Backend {
  readonly name: string;
  isPrivateKey(k: Uint8Array): boolean;
  isPublicKey(p: Uint8Array): boolean;
  publicKey(k: Uint8Array, compressed: boolean): Uint8Array;
  convert(p: Uint8Array, compressed: boolean): Uint8Array;
  pubAdd(a: Uint8Array, b: Uint8Array): Uint8Array;
  pubTweakAdd(p: Uint8Array, t: Uint8Array): Uint8Array;
  pubTweakMul(p: Uint8Array, t: Uint8Array): Uint8Array;
  privTweakAdd(k: Uint8Array, t: Uint8Array): Uint8Array;
  privTweakMul(k: Uint8Array, t: Uint8Array): Uint8Array;
  privNegate(k: Uint8Array): Uint8Array;
  sign(msg32: Uint8Array, k: Uint8Array): EcdsaSignature;
  verify(compact: Uint8Array, msg32: Uint8Array, p: Uint8Array): boolean;
  recover(compact: Uint8Array, recid: number, msg32: Uint8Array): Uint8Array;
  normalize(compact: Uint8Array): Uint8Array;
  toDer(compact: Uint8Array): Uint8Array;
  fromDer(der: Uint8Array): Uint8Array;
  /** SHA256 of the compressed shared point, as BOLT 4 and BOLT 8 define ECDH. */
  ecdh(p: Uint8Array, k: Uint8Array): Uint8Array;
}

type Native = {
  privateKeyVerify(k: Uint8Array): boolean;
  publicKeyVerify(p: Uint8Array): boolean;
  publicKeyCreate(k: Uint8Array, c?: boolean): Uint8Array;
  publicKeyConvert(p: Uint8Array, c?: boolean): Uint8Array;
  publicKeyCombine(ps: Uint8Array[], c?: boolean): Uint8Array;
  publicKeyTweakAdd(p: Uint8Array, t: Uint8Array, c?: boolean): Uint8Array;
  publicKeyTweakMul(p: Uint8Array, t: Uint8Array, c?: boolean): Uint8Array;
  privateKeyTweakAdd(k: Uint8Array, t: Uint8Array): Uint8Array;
  privateKeyTweakMul(k: Uint8Array, t: Uint8Array): Uint8Array;
  privateKeyNegate(k: Uint8Array): Uint8Array;
  ecdsaSign(m: Uint8Array, k: Uint8Array): { signature: Uint8Array; recid: number };
  ecdsaVerify(s: Uint8Array, m: Uint8Array, p: Uint8Array): boolean;
  ecdsaRecover(s: Uint8Array, recid: number, m: Uint8Array, c?: boolean): Uint8Array;
  signatureNormalize(s: Uint8Array): Uint8Array;
  signatureExport(s: Uint8Array): Uint8Array;
  signatureImport(d: Uint8Array): Uint8Array;
  ecdh(p: Uint8Array, k: Uint8Array): Uint8Array;
};

function nativeBackend(lib: Native): Backend {
  // The binding's private-key tweaks work in place, so every call gets a copy.
  return {
    name: 'libsecp256k1 (native)',
    isPrivateKey: (k) => k.length === 32 && lib.privateKeyVerify(k),
    isPublicKey: (p) => (p.length === 33 || p.length === 65) && lib.publicKeyVerify(p),
    publicKey: (k, c) => lib.publicKeyCreate(k, c),
    convert: (p, c) => lib.publicKeyConvert(p, c),
    pubAdd: (a, b) => lib.publicKeyCombine([a, b], true),
    pubTweakAdd: (p, t) => lib.publicKeyTweakAdd(p, t, true),
    pubTweakMul: (p, t) => lib.publicKeyTweakMul(p, t, true),
    privTweakAdd: (k, t) => lib.privateKeyTweakAdd(Uint8Array.from(k), t),
    privTweakMul: (k, t) => lib.privateKeyTweakMul(Uint8Array.from(k), t),
    privNegate: (k) => lib.privateKeyNegate(Uint8Array.from(k)),
    sign: (m, k) => {
      const s = lib.ecdsaSign(m, k);
      return { compact: s.signature, recid: s.recid };
    },
    verify: (s, m, p) => lib.ecdsaVerify(s, m, p),
    recover: (s, r, m) => lib.ecdsaRecover(s, r, m, true),
    normalize: (s) => lib.signatureNormalize(Uint8Array.from(s)),
    toDer: (s) => lib.signatureExport(s),
    fromDer: (d) => lib.signatureImport(d),
    ecdh: (p, k) => lib.ecdh(p, k),
  };
}

type Tiny = typeof import('tiny-secp256k1');

function wasmBackend(t: Tiny, der: Native): Backend {
  const need = (v: Uint8Array | null, what: string): Uint8Array => {
    if (v === null) throw new Error(`secp256k1: ${what} failed`);
    return v;
  };
  return {
    name: 'tiny-secp256k1 (WASM)',
    isPrivateKey: (k) => k.length === 32 && t.isPrivate(k),
    isPublicKey: (p) => (p.length === 33 || p.length === 65) && t.isPoint(p),
    publicKey: (k, c) => need(t.pointFromScalar(k, c), 'publicKey'),
    convert: (p, c) => t.pointCompress(p, c),
    pubAdd: (a, b) => need(t.pointAdd(a, b, true), 'pubAdd'),
    pubTweakAdd: (p, tw) => need(t.pointAddScalar(p, tw, true), 'pubTweakAdd'),
    pubTweakMul: (p, tw) => need(t.pointMultiply(p, tw, true), 'pubTweakMul'),
    privTweakAdd: (k, tw) => need(t.privateAdd(k, tw), 'privTweakAdd'),
    privTweakMul: (k, tw) => {
      const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
      const r =
        (BigInt(`0x${Buffer.from(k).toString('hex')}`) * BigInt(`0x${Buffer.from(tw).toString('hex')}`)) % n;
      return Uint8Array.from(Buffer.from(r.toString(16).padStart(64, '0'), 'hex'));
    },
    privNegate: (k) => t.privateNegate(k),
    sign: (m, k) => {
      const s = t.signRecoverable(m, k);
      return { compact: s.signature, recid: s.recoveryId };
    },
    verify: (s, m, p) => t.verify(m, p, s, true),
    recover: (s, r, m) => need(t.recover(m, s, r as 0 | 1 | 2 | 3, true), 'recover'),
    normalize: der.signatureNormalize,
    toDer: der.signatureExport,
    fromDer: der.signatureImport,
    ecdh: (p, k) => {
      const shared = need(t.pointMultiply(p, k, true), 'ecdh');
      return new Uint8Array(createHash('sha256').update(shared).digest());
    },
  };
}

/** The binding to the system's libsecp256k1 (native/libsecp256k1). */
export interface SystemSecp {
  ecdsaSign(m: Uint8Array, k: Uint8Array): { signature: Uint8Array; recid: number };
  ecdsaVerify(s: Uint8Array, m: Uint8Array, p: Uint8Array): boolean;
  publicKeyCreate(k: Uint8Array, compressed: boolean): Uint8Array;
  publicKeyTweakAdd(p: Uint8Array, t: Uint8Array, compressed: boolean): Uint8Array;
  publicKeyTweakMul(p: Uint8Array, t: Uint8Array, compressed: boolean): Uint8Array;
  publicKeyAdd(a: Uint8Array, b: Uint8Array, compressed: boolean): Uint8Array;
  ecdh(p: Uint8Array, k: Uint8Array): Uint8Array;
}

/** Where the built binding is; SHANDIAN_SYSTEM_SECP256K1=0 leaves it unused. */
export const systemSecpPath = nativeAddonPath('libsecp256k1', 'secp256k1_system');

/**
 * The system binding, when it is built, loads, and agrees with the package on a known signature (the
 * same RFC 6979 nonces give the same bytes) and on what verifies; otherwise undefined.
 */
function loadSystemSecp(lib: Native): SystemSecp | undefined {
  const sys = loadNativeAddon<SystemSecp>(systemSecpPath, 'SHANDIAN_SYSTEM_SECP256K1');
  if (sys === undefined) return undefined; // not built: the package does everything
  const key = new Uint8Array(32).fill(1);
  const msg = new Uint8Array(32).fill(2);
  const flipped = Uint8Array.from(msg);
  flipped[0]! ^= 1;
  let agrees = false;
  try {
    const ours = sys.ecdsaSign(msg, key);
    const theirs = lib.ecdsaSign(msg, key);
    const pub = lib.publicKeyCreate(key, true);
    const other = lib.publicKeyCreate(msg, true);
    const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;
    agrees =
      same(ours.signature, theirs.signature) &&
      ours.recid === theirs.recid &&
      sys.ecdsaVerify(theirs.signature, msg, pub) &&
      !sys.ecdsaVerify(theirs.signature, flipped, pub) &&
      same(sys.publicKeyCreate(key, false), lib.publicKeyCreate(key, false)) &&
      same(sys.publicKeyTweakAdd(pub, msg, true), lib.publicKeyTweakAdd(pub, msg, true)) &&
      same(sys.publicKeyTweakMul(pub, msg, true), lib.publicKeyTweakMul(pub, msg, true)) &&
      same(sys.publicKeyAdd(pub, other, true), lib.publicKeyCombine([pub, other], true)) &&
      same(sys.ecdh(other, key), lib.ecdh(other, key));
  } catch {
    // a binding that throws on good input is as unusable as one that disagrees
  }
  if (!agrees) {
    console.warn('secp256k1: the system libsecp256k1 binding disagrees with the package; not used');
    return undefined;
  }
  return sys;
}

function withSystemSecp(b: Backend, sys: SystemSecp): Backend {
  return {
    ...b,
    name: `${b.name} + system libsecp256k1`,
    publicKey: (k, c) => sys.publicKeyCreate(k, c),
    pubAdd: (a, p) => sys.publicKeyAdd(a, p, true),
    pubTweakAdd: (p, t) => sys.publicKeyTweakAdd(p, t, true),
    pubTweakMul: (p, t) => sys.publicKeyTweakMul(p, t, true),
    sign: (m, k) => {
      const s = sys.ecdsaSign(m, k);
      return { compact: s.signature, recid: s.recid };
    },
    verify: (s, m, p) => sys.ecdsaVerify(s, m, p),
    ecdh: (p, k) => sys.ecdh(p, k),
  };
}

let systemInUse = false;

function loadBackend(): Backend {
  try {
    const lib = require('secp256k1/bindings') as Native;
    const b = nativeBackend(lib);
    const sys = loadSystemSecp(lib);
    systemInUse = sys !== undefined;
    return sys ? withSystemSecp(b, sys) : b;
  } catch (e) {
    // DER helpers are cheap; the package's JS path is fine for those alone.
    const js = require('secp256k1/elliptic') as Native;
    console.warn(
      `secp256k1: native binding unavailable (${(e as Error).message}); using tiny-secp256k1 (WASM)`,
    );
    return wasmBackend(require('tiny-secp256k1') as Tiny, js);
  }
}

const backend = loadBackend();

/** Whether the system's libsecp256k1 is in use (the signing workers then load it too). */
export const systemSecpInUse = systemInUse;

/** Which implementation is in use, for logs and benchmarks. */
export const secpBackend = backend.name;

export const isPrivateKey = backend.isPrivateKey;
export const isPublicKey = backend.isPublicKey;
export function publicKeyOf(secret: Uint8Array, compressed = true): Uint8Array {
  return backend.publicKey(secret, compressed);
}
export function convertPublicKey(p: Uint8Array, compressed = true): Uint8Array {
  return backend.convert(p, compressed);
}
export const pubkeyAdd = backend.pubAdd;
export const pubkeyTweakAdd = backend.pubTweakAdd;
export const pubkeyTweakMul = backend.pubTweakMul;
export const privkeyTweakAdd = backend.privTweakAdd;
export const privkeyTweakMul = backend.privTweakMul;
export const privkeyNegate = backend.privNegate;
/** RFC 6979 deterministic ECDSA, low-S. */
export const ecdsaSign = backend.sign;
/**
 * Verifies a 64-byte compact signature; high-S signatures fail unless normalized first. Bad input from a
 * peer (unparseable signature, invalid key) is a failed verification, never an exception.
 */
export function ecdsaVerify(compact: Uint8Array, msg32: Uint8Array, pubkey: Uint8Array): boolean {
  try {
    return backend.verify(compact, msg32, pubkey);
  } catch {
    return false;
  }
}
export const ecdsaRecover = backend.recover;
export const signatureNormalize = backend.normalize;
export const signatureToDer = backend.toDer;
export const signatureFromDer = backend.fromDer;
export const ecdh = backend.ecdh;

/** BIP340 Schnorr, for taproot key-path spends (noble: not on a hot path). */
export function schnorrVerify(sig64: Uint8Array, msg32: Uint8Array, xonly32: Uint8Array): boolean {
  try {
    return schnorr.verify(sig64, msg32, xonly32);
  } catch {
    return false;
  }
}
export function schnorrSign(msg32: Uint8Array, secret: Uint8Array, aux32?: Uint8Array): Uint8Array {
  return schnorr.sign(msg32, secret, aux32);
}
