// ECDSA signature and public key encodings as Bitcoin consensus and policy see them: BIP66 strict DER,
// libsecp256k1's lax DER parser (for pre-BIP66 signatures), low-S, and key formats.
import { toBigint } from '../core/bytes.ts';

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = N >> 1n;

/**
 * BIP66 IsValidSignatureEncoding: `sig` is DER r,s followed by one hash type byte.
 * 0x30 [total-length] 0x02 [R-length] [R] 0x02 [S-length] [S] [sighash]
 */
export function isValidSignatureEncoding(sig: Uint8Array): boolean {
  if (sig.length < 9 || sig.length > 73) return false;
  if (sig[0] !== 0x30) return false;
  if (sig[1] !== sig.length - 3) return false;
  const lenR = sig[3]!;
  if (5 + lenR >= sig.length) return false;
  const lenS = sig[5 + lenR]!;
  if (lenR + lenS + 7 !== sig.length) return false;
  if (sig[2] !== 0x02) return false;
  if (lenR === 0) return false;
  if (sig[4]! & 0x80) return false;
  if (lenR > 1 && sig[4] === 0x00 && !(sig[5]! & 0x80)) return false;
  if (sig[lenR + 4] !== 0x02) return false;
  if (lenS === 0) return false;
  if (sig[lenR + 6]! & 0x80) return false;
  if (lenS > 1 && sig[lenR + 6] === 0x00 && !(sig[lenR + 7]! & 0x80)) return false;
  return true;
}

function readLength(input: Uint8Array, at: { pos: number }): number | null {
  if (at.pos === input.length) return null;
  let lenbyte = input[at.pos++]!;
  if (!(lenbyte & 0x80)) return lenbyte;
  lenbyte -= 0x80;
  if (lenbyte > input.length - at.pos) return null;
  while (lenbyte > 0 && input[at.pos] === 0) {
    at.pos++;
    lenbyte--;
  }
  if (lenbyte >= 4) return null;
  let len = 0;
  while (lenbyte > 0) {
    len = len * 256 + input[at.pos]!;
    at.pos++;
    lenbyte--;
  }
  return len;
}

function copyInteger(
  input: Uint8Array,
  start: number,
  length: number,
  out: Uint8Array,
  offset: number,
): boolean {
  let pos = start;
  let len = length;
  while (len > 0 && input[pos] === 0) {
    pos++;
    len--;
  }
  if (len > 32) return false;
  out.set(input.subarray(pos, pos + len), offset + 32 - len);
  return true;
}

/**
 * libsecp256k1's ecdsa_signature_parse_der_lax, as Core uses for every ECDSA check: accepts the BER
 * oddities of pre-BIP66 signatures. Returns the 64-byte compact r||s, all zero when r or s overflow
 * (a signature that can never verify), or null when the input is not even lax DER. `der` excludes
 * the hash type byte.
 */
export function parseDerLax(der: Uint8Array): Uint8Array | null {
  const at = { pos: 0 };
  if (at.pos === der.length || der[at.pos] !== 0x30) return null;
  at.pos++;
  if (at.pos === der.length) return null;
  let lenbyte = der[at.pos++]!;
  if (lenbyte & 0x80) {
    lenbyte -= 0x80;
    if (lenbyte > der.length - at.pos) return null;
    at.pos += lenbyte;
  }
  if (at.pos === der.length || der[at.pos] !== 0x02) return null;
  at.pos++;
  const rlen = readLength(der, at);
  if (rlen === null || rlen > der.length - at.pos) return null;
  const rpos = at.pos;
  at.pos += rlen;
  if (at.pos === der.length || der[at.pos] !== 0x02) return null;
  at.pos++;
  const slen = readLength(der, at);
  if (slen === null || slen > der.length - at.pos) return null;
  const spos = at.pos;
  const out = new Uint8Array(64);
  const fits = copyInteger(der, rpos, rlen, out, 0) && copyInteger(der, spos, slen, out, 32);
  if (!fits) return new Uint8Array(64);
  if (toBigint(out.subarray(0, 32)) >= N || toBigint(out.subarray(32)) >= N) return new Uint8Array(64);
  return out;
}

/** Core's CPubKey::CheckLowS on a DER signature without hash type byte. */
export function isLowS(der: Uint8Array): boolean {
  const compact = parseDerLax(der);
  if (compact === null) return false;
  return toBigint(compact.subarray(32)) <= HALF_N;
}

/** IsCompressedOrUncompressedPubKey (STRICTENC): 33 bytes 02/03 or 65 bytes 04. */
export function isCompressedOrUncompressedPubKey(p: Uint8Array): boolean {
  if (p.length < 33) return false;
  if (p[0] === 0x04) return p.length === 65;
  if (p[0] === 0x02 || p[0] === 0x03) return p.length === 33;
  return false;
}

/** IsCompressedPubKey (WITNESS_PUBKEYTYPE). */
export function isCompressedPubKey(p: Uint8Array): boolean {
  return p.length === 33 && (p[0] === 0x02 || p[0] === 0x03);
}

/** Size Core's CPubKey expects from the header byte (0 when the header is not a key). */
export function pubkeyLengthForHeader(header: number): number {
  if (header === 2 || header === 3) return 33;
  if (header === 4 || header === 6 || header === 7) return 65;
  return 0;
}
