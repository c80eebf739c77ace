// `f` fallback on-chain addresses: version 0..16 witness programs, 17 P2PKH, 18 P2SH. A tiny local
// address codec (base58check / bech32 / bech32m) so this module stands alone.
import { bech32, bech32m, createBase58check } from '@scure/base';
import { concat } from '../core/bytes.ts';
import { err, ok, type Result } from '../core/result.ts';
import { sha256 } from '../crypto/hash.ts';
import type { BitcoinNetwork } from './hrp.ts';

export type Fallback =
  | { readonly kind: 'p2pkh'; readonly hash: Uint8Array }
  | { readonly kind: 'p2sh'; readonly hash: Uint8Array }
  | { readonly kind: 'witness'; readonly version: number; readonly program: Uint8Array };

export const FALLBACK_P2PKH = 17;
export const FALLBACK_P2SH = 18;

const base58check = createBase58check((data: Uint8Array) => sha256(data));

interface AddressParams {
  readonly p2pkh: number;
  readonly p2sh: number;
  readonly segwitHrp: string;
}

function paramsOf(network: BitcoinNetwork): AddressParams {
  switch (network) {
    case 'mainnet':
      return { p2pkh: 0x00, p2sh: 0x05, segwitHrp: 'bc' };
    case 'testnet':
    case 'signet':
      return { p2pkh: 0x6f, p2sh: 0xc4, segwitHrp: 'tb' };
    case 'regtest':
      return { p2pkh: 0x6f, p2sh: 0xc4, segwitHrp: 'bcrt' };
  }
}

/** The version number written in the `f` field's first word. */
export function fallbackVersion(f: Fallback): number {
  switch (f.kind) {
    case 'p2pkh':
      return FALLBACK_P2PKH;
    case 'p2sh':
      return FALLBACK_P2SH;
    case 'witness':
      return f.version;
  }
}

export function fallbackPayload(f: Fallback): Uint8Array {
  switch (f.kind) {
    case 'p2pkh':
    case 'p2sh':
      return f.hash;
    case 'witness':
      return f.program;
  }
}

/** Why a fallback of a known version is malformed, or undefined when it is fine. */
export function fallbackProblem(f: Fallback): string | undefined {
  switch (f.kind) {
    case 'p2pkh':
    case 'p2sh':
      return f.hash.length === 20 ? undefined : `${f.kind} hash must be 20 bytes, got ${f.hash.length}`;
    case 'witness':
      if (!Number.isInteger(f.version) || f.version < 0 || f.version > 16)
        return `witness version ${f.version} out of range`;
      if (f.program.length < 2 || f.program.length > 40)
        return `witness program must be 2..40 bytes, got ${f.program.length}`;
      if (f.version === 0 && f.program.length !== 20 && f.program.length !== 32) {
        return `version 0 witness program must be 20 or 32 bytes, got ${f.program.length}`;
      }
      return undefined;
  }
}

/** Builds a fallback from its version and payload bytes; undefined for unknown versions (19..31). */
export function fallbackOf(version: number, payload: Uint8Array): Fallback | undefined {
  if (version === FALLBACK_P2PKH) return { kind: 'p2pkh', hash: payload };
  if (version === FALLBACK_P2SH) return { kind: 'p2sh', hash: payload };
  if (version >= 0 && version <= 16) return { kind: 'witness', version, program: payload };
  return undefined;
}

/** The address string for a network (assumes `fallbackProblem(f)` is undefined). */
export function fallbackAddress(f: Fallback, network: BitcoinNetwork): string {
  const p = paramsOf(network);
  switch (f.kind) {
    case 'p2pkh':
      return base58check.encode(concat(Uint8Array.of(p.p2pkh), f.hash));
    case 'p2sh':
      return base58check.encode(concat(Uint8Array.of(p.p2sh), f.hash));
    case 'witness': {
      const words = [f.version, ...bech32.toWords(f.program)];
      return f.version === 0
        ? bech32.encode(p.segwitHrp, words, false)
        : bech32m.encode(p.segwitHrp, words, false);
    }
  }
}

/** The output script the fallback pays to. */
export function fallbackScriptPubKey(f: Fallback): Uint8Array {
  switch (f.kind) {
    case 'p2pkh':
      return concat(Uint8Array.of(0x76, 0xa9, 0x14), f.hash, Uint8Array.of(0x88, 0xac));
    case 'p2sh':
      return concat(Uint8Array.of(0xa9, 0x14), f.hash, Uint8Array.of(0x87));
    case 'witness':
      return concat(Uint8Array.of(f.version === 0 ? 0 : 0x50 + f.version, f.program.length), f.program);
  }
}

/** Parses an address string for the given network into a fallback (for writers). */
export function fallbackFromAddress(address: string, network: BitcoinNetwork): Result<Fallback, string> {
  const p = paramsOf(network);
  const lower = address.toLowerCase();
  if (lower.startsWith(`${p.segwitHrp}1`)) {
    for (const codec of [bech32, bech32m]) {
      const d = codec.decodeUnsafe(lower, false);
      if (d === undefined || d.prefix !== p.segwitHrp || d.words.length === 0) continue;
      const version = d.words[0]!;
      // BIP 350: version 0 uses bech32, every later version bech32m.
      if ((version === 0) !== (codec === bech32)) continue;
      const program = codec.fromWordsUnsafe(d.words.slice(1));
      if (program === undefined) continue;
      const f: Fallback = { kind: 'witness', version, program };
      const problem = fallbackProblem(f);
      return problem === undefined ? ok(f) : err(problem);
    }
    return err(`not a valid ${network} segwit address: ${address}`);
  }
  let raw: Uint8Array;
  try {
    raw = base58check.decode(address);
  } catch {
    return err(`not a valid ${network} address: ${address}`);
  }
  if (raw.length !== 21) return err(`base58 address has wrong length: ${address}`);
  if (raw[0] === p.p2pkh) return ok({ kind: 'p2pkh', hash: raw.slice(1) });
  if (raw[0] === p.p2sh) return ok({ kind: 'p2sh', hash: raw.slice(1) });
  return err(`address ${address} is not for ${network}`);
}
