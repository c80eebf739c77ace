// Addresses: segwit (BIP173 bech32 for v0, BIP350 bech32m for v1+) and base58check P2PKH/P2SH, per
// network. Decoding returns the output script or a typed error a person can act on.
import { bech32, bech32m, createBase58check } from '@scure/base';
import { concat } from '../core/bytes.ts';
import { assertNever, err, ok, type Result } from '../core/result.ts';
import { sha256 } from '../crypto/hash.ts';
import { isP2PKH, isP2SH, p2pkh, p2sh, witnessOutput, witnessProgram } from './script.ts';

export type Network = 'bitcoin' | 'testnet' | 'signet' | 'regtest';

interface NetworkParams {
  readonly hrp: string;
  readonly pubkeyHash: number;
  readonly scriptHash: number;
}

export function networkParams(network: Network): NetworkParams {
  switch (network) {
    case 'bitcoin':
      return { hrp: 'bc', pubkeyHash: 0x00, scriptHash: 0x05 };
    case 'testnet':
    case 'signet':
      return { hrp: 'tb', pubkeyHash: 0x6f, scriptHash: 0xc4 };
    case 'regtest':
      return { hrp: 'bcrt', pubkeyHash: 0x6f, scriptHash: 0xc4 };
    default:
      return assertNever(network, 'network');
  }
}

export type AddressError =
  | { readonly kind: 'mixed-case' }
  | { readonly kind: 'bad-checksum' }
  | { readonly kind: 'bad-characters' }
  | { readonly kind: 'wrong-network'; readonly expected: string; readonly found: string }
  | { readonly kind: 'wrong-encoding'; readonly version: number; readonly expected: 'bech32' | 'bech32m' }
  | { readonly kind: 'bad-witness-version'; readonly version: number }
  | { readonly kind: 'bad-program-length'; readonly version: number; readonly length: number }
  | { readonly kind: 'bad-padding' }
  | { readonly kind: 'bad-length'; readonly length: number }
  | { readonly kind: 'unknown-format' };

export function addressErrorString(e: AddressError): string {
  switch (e.kind) {
    case 'mixed-case':
      return 'address mixes upper and lower case';
    case 'bad-checksum':
      return 'address checksum is wrong (typo?)';
    case 'bad-characters':
      return 'address has characters outside its alphabet';
    case 'wrong-network':
      return `address is for another network: expected prefix ${e.expected}, found ${e.found}`;
    case 'wrong-encoding':
      return `witness version ${e.version} must be encoded with ${e.expected}`;
    case 'bad-witness-version':
      return `invalid witness version ${e.version}`;
    case 'bad-program-length':
      return `invalid witness program length ${e.length} for version ${e.version}`;
    case 'bad-padding':
      return 'address has invalid padding';
    case 'bad-length':
      return `address payload has invalid length ${e.length}`;
    case 'unknown-format':
      return 'not a Bitcoin address';
    default:
      return assertNever(e, 'address error');
  }
}

const base58check = createBase58check(sha256);

/** Encodes a segwit output address; throws RangeError on an invalid program (a caller bug). */
export function encodeSegwitAddress(network: Network, version: number, program: Uint8Array): string {
  const problem = checkProgram(version, program.length);
  if (problem !== null) throw new RangeError(addressErrorString(problem));
  const words = [version, ...bech32.toWords(program)];
  const coder = version === 0 ? bech32 : bech32m;
  return coder.encode(networkParams(network).hrp, words, 90);
}

function checkProgram(version: number, length: number): AddressError | null {
  if (version > 16) return { kind: 'bad-witness-version', version };
  if (length < 2 || length > 40) return { kind: 'bad-program-length', version, length };
  if (version === 0 && length !== 20 && length !== 32) return { kind: 'bad-program-length', version, length };
  return null;
}

/** The address paying to `script`, or null for scripts without one (OP_RETURN, bare multisig, ...). */
export function addressFromScript(network: Network, script: Uint8Array): string | null {
  const params = networkParams(network);
  const wp = witnessProgram(script);
  if (wp !== null) {
    if (checkProgram(wp.version, wp.program.length) !== null) return null;
    return encodeSegwitAddress(network, wp.version, wp.program);
  }
  if (isP2PKH(script))
    return base58check.encode(concat(new Uint8Array([params.pubkeyHash]), script.subarray(3, 23)));
  if (isP2SH(script))
    return base58check.encode(concat(new Uint8Array([params.scriptHash]), script.subarray(2, 22)));
  return null;
}

function decodeSegwit(network: Network, address: string): Result<Uint8Array, AddressError> {
  const expectedHrp = networkParams(network).hrp;
  if (address !== address.toLowerCase() && address !== address.toUpperCase())
    return err({ kind: 'mixed-case' });
  const lower = address.toLowerCase();
  const sep = lower.lastIndexOf('1');
  const hrp = lower.slice(0, sep);
  if (hrp !== expectedHrp) return err({ kind: 'wrong-network', expected: expectedHrp, found: hrp });
  if (!/^[qpzry9x8gf2tvdw0s3jn54khce6mua7l]+$/.test(lower.slice(sep + 1)))
    return err({ kind: 'bad-characters' });
  const asBech32 = bech32.decodeUnsafe(lower, 90);
  const asBech32m = bech32m.decodeUnsafe(lower, 90);
  const decoded = asBech32 || asBech32m;
  if (!decoded) return err({ kind: 'bad-checksum' });
  const [version, ...data] = decoded.words;
  if (version === undefined) return err({ kind: 'bad-length', length: 0 });
  if (version > 16) return err({ kind: 'bad-witness-version', version });
  if (version === 0 && !asBech32) return err({ kind: 'wrong-encoding', version, expected: 'bech32' });
  if (version !== 0 && !asBech32m) return err({ kind: 'wrong-encoding', version, expected: 'bech32m' });
  const program = bech32.fromWordsUnsafe(data);
  if (!program) return err({ kind: 'bad-padding' });
  const problem = checkProgram(version, program.length);
  if (problem !== null) return err(problem);
  return ok(witnessOutput(version, program));
}

function decodeBase58(network: Network, address: string): Result<Uint8Array, AddressError> {
  if (!/^[1-9A-HJ-NP-Za-km-z]+$/.test(address)) return err({ kind: 'bad-characters' });
  let payload: Uint8Array;
  try {
    payload = base58check.decode(address);
  } catch {
    return err({ kind: 'bad-checksum' });
  }
  if (payload.length !== 21) return err({ kind: 'bad-length', length: payload.length });
  const params = networkParams(network);
  const hash = payload.subarray(1);
  if (payload[0] === params.pubkeyHash) return ok(p2pkh(hash));
  if (payload[0] === params.scriptHash) return ok(p2sh(hash));
  const known = [0x00, 0x05, 0x6f, 0xc4].includes(payload[0]!);
  return err(
    known
      ? { kind: 'wrong-network', expected: network, found: `version byte ${payload[0]}` }
      : { kind: 'unknown-format' },
  );
}

/** Decodes an address for `network` into the output script it pays. */
export function decodeAddress(network: Network, address: string): Result<Uint8Array, AddressError> {
  const trimmed = address.trim();
  if (trimmed.length === 0 || trimmed.length > 90) return err({ kind: 'unknown-format' });
  const sep = trimmed.lastIndexOf('1');
  const looksBech32 = sep > 0 && /^(bc|tb|bcrt)$/i.test(trimmed.slice(0, sep));
  if (looksBech32) return decodeSegwit(network, trimmed);
  if (trimmed.length >= 25 && trimmed.length <= 35) return decodeBase58(network, trimmed);
  // Another bech32 prefix (e.g. a Litecoin or Liquid address) is a wrong network, not a typo.
  if (sep > 0 && /^[a-z]{1,10}$/i.test(trimmed.slice(0, sep))) {
    return err({
      kind: 'wrong-network',
      expected: networkParams(network).hrp,
      found: trimmed.slice(0, sep).toLowerCase(),
    });
  }
  return err({ kind: 'unknown-format' });
}
