// The seed file (shell): <datadir>/<network>/seed, like Core Lightning's hsm_secret. Holds the BIP39
// entropy (so the mnemonic can be shown again on request) and the optional BIP39 passphrase, either in
// the clear in a 0600 file or encrypted under a passphrase (scrypt + ChaCha20-Poly1305).
//
// Format, version 1 (all integers big-endian):
//   magic "SHDNSEED" (8) | version u8 = 1 | kind u8 (0 = plain, 1 = encrypted)
//   kind 0: payload | sha256(header || payload)[0..4]               (detects corruption)
//   kind 1: logN u8 | r u8 | p u8 | salt (16) | nonce (12) | ChaCha20-Poly1305(payload), AD = all bytes before it
//   payload: entropy length u8 | entropy | bip39 passphrase length u16 | utf8 | tail (ignored by v1 readers)
import { scryptSync } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { concat, equal, fromUtf8, u16be, utf8 } from '../core/bytes.ts';
import { AeadError, aeadDecrypt, aeadEncrypt, type EntropySource, sha256 } from '../crypto/index.ts';
import type { Network } from './derivation.ts';
import { mnemonicFromEntropy, mnemonicToEntropy, seedFromMnemonic } from './mnemonic.ts';

export type SeedFileErrorCode =
  | 'not-found'
  | 'exists'
  | 'permissions'
  | 'passphrase-required'
  | 'wrong-passphrase'
  | 'not-encrypted'
  | 'corrupt'
  | 'unsupported-version'
  | 'invalid-mnemonic'
  | 'bad-entropy';

export class SeedFileError extends Error {
  constructor(
    readonly code: SeedFileErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SeedFileError';
  }
}

const MAGIC = utf8('SHDNSEED');
const VERSION = 1;
const KIND_PLAIN = 0;
const KIND_ENCRYPTED = 1;
/** scrypt cost: N = 2^17, r = 8 (~128 MiB, a fraction of a second), as Bitcoin Core-era wallets choose. */
export const DEFAULT_SCRYPT_LOG_N = 17;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
// A crafted file must not make us allocate more than 256 MiB (128 * N * r); a weak one must not pass.
const MIN_LOG_N = 10;
const MAX_LOG_N = 18;

export interface SeedFileLocation {
  readonly datadir: string;
  readonly network: Network;
}

export interface SeedFileOptions extends SeedFileLocation {
  /** Encrypts the file (create) or decrypts it (load). Absent: plain 0600 file. */
  readonly passphrase?: string;
  /** scrypt cost for new files; tests lower it. */
  readonly scryptLogN?: number;
}

export interface LoadedSeed {
  /** 64-byte BIP39 seed, the BIP32 master seed of the node. */
  readonly seed: Uint8Array;
  readonly encrypted: boolean;
  readonly path: string;
}

export function seedFilePath(loc: SeedFileLocation): string {
  return join(loc.datadir, loc.network, 'seed');
}

interface Payload {
  readonly entropy: Uint8Array;
  readonly bip39Passphrase: string;
}

function encodePayload(p: Payload): Uint8Array {
  const pass = utf8(p.bip39Passphrase);
  if (pass.length > 0xffff) throw new SeedFileError('bad-entropy', 'BIP39 passphrase too long');
  return concat(new Uint8Array([p.entropy.length]), p.entropy, u16be(pass.length), pass);
}

function decodePayload(b: Uint8Array): Payload {
  const n = b[0];
  if (n === undefined || b.length < 1 + n + 2)
    throw new SeedFileError('corrupt', 'seed file payload is truncated');
  const entropy = b.slice(1, 1 + n);
  const passLen = (b[1 + n]! << 8) | b[2 + n]!;
  if (b.length < 3 + n + passLen) throw new SeedFileError('corrupt', 'seed file payload is truncated');
  const bip39Passphrase = fromUtf8(b.subarray(3 + n, 3 + n + passLen));
  if (!mnemonicFromEntropy(entropy).ok)
    throw new SeedFileError('corrupt', `seed file holds ${n} bytes of entropy`);
  return { entropy, bip39Passphrase };
}

function scryptKey(passphrase: string, salt: Uint8Array, logN: number, r: number, p: number): Uint8Array {
  const N = 2 ** logN;
  return new Uint8Array(
    scryptSync(passphrase.normalize('NFKC'), salt, 32, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }),
  );
}

/** Serializes a seed file (exported for tests; `random` gives the salt and nonce). */
export function encodeSeedFile(
  p: Payload,
  passphrase: string | undefined,
  random: EntropySource,
  logN = DEFAULT_SCRYPT_LOG_N,
): Uint8Array {
  const payload = encodePayload(p);
  if (passphrase === undefined) {
    const header = concat(MAGIC, new Uint8Array([VERSION, KIND_PLAIN]));
    return concat(header, payload, sha256(header, payload).subarray(0, 4));
  }
  if (passphrase.length === 0)
    throw new SeedFileError('wrong-passphrase', 'an empty passphrase does not encrypt anything');
  if (!Number.isInteger(logN) || logN < MIN_LOG_N || logN > MAX_LOG_N)
    throw new RangeError(`scrypt logN out of range: ${logN}`);
  const salt = random.randomBytes(16);
  const nonce = random.randomBytes(12);
  const header = concat(
    MAGIC,
    new Uint8Array([VERSION, KIND_ENCRYPTED, logN, SCRYPT_R, SCRYPT_P]),
    salt,
    nonce,
  );
  const key = scryptKey(passphrase, salt, logN, SCRYPT_R, SCRYPT_P);
  return concat(header, aeadEncrypt(key, nonce, header, payload));
}

/** Parses and (if needed) decrypts a seed file's bytes. */
export function decodeSeedFile(
  b: Uint8Array,
  passphrase: string | undefined,
): Payload & { encrypted: boolean } {
  if (b.length < 10 || !equal(b.subarray(0, 8), MAGIC))
    throw new SeedFileError('corrupt', 'not a shandian seed file (bad magic)');
  const version = b[8]!;
  if (version !== VERSION) {
    throw new SeedFileError(
      'unsupported-version',
      `seed file version ${version} is newer than this shandian understands (${VERSION})`,
    );
  }
  const kind = b[9]!;
  if (kind === KIND_PLAIN) {
    if (passphrase !== undefined) {
      throw new SeedFileError('not-encrypted', 'a passphrase was given but the seed file is not encrypted');
    }
    const body = b.subarray(0, b.length - 4);
    if (b.length < 14 || !equal(sha256(body).subarray(0, 4), b.subarray(b.length - 4))) {
      throw new SeedFileError('corrupt', 'seed file checksum does not match (file damaged)');
    }
    return { ...decodePayload(body.subarray(10)), encrypted: false };
  }
  if (kind === KIND_ENCRYPTED) {
    const headerLen = 10 + 3 + 16 + 12;
    if (b.length < headerLen + 16) throw new SeedFileError('corrupt', 'encrypted seed file is truncated');
    if (passphrase === undefined) {
      throw new SeedFileError(
        'passphrase-required',
        'the seed file is encrypted: a passphrase is needed to open it',
      );
    }
    const [logN, r, p] = [b[10]!, b[11]!, b[12]!];
    if (logN < MIN_LOG_N || logN > MAX_LOG_N || r < 1 || r > 8 || p < 1 || p > 4) {
      throw new SeedFileError(
        'corrupt',
        `seed file has unsupported scrypt parameters (logN ${logN}, r ${r}, p ${p})`,
      );
    }
    const header = b.subarray(0, headerLen);
    const key = scryptKey(passphrase, b.subarray(13, 29), logN, r, p);
    let payload: Uint8Array;
    try {
      payload = aeadDecrypt(key, b.subarray(29, 41), header, b.subarray(headerLen));
    } catch (e) {
      if (e instanceof AeadError)
        throw new SeedFileError(
          'wrong-passphrase',
          'wrong passphrase for the seed file (or the file is damaged)',
        );
      throw e;
    }
    return { ...decodePayload(payload), encrypted: true };
  }
  throw new SeedFileError('corrupt', `unknown seed file kind ${kind}`);
}

function seedOf(p: Payload): Uint8Array {
  const m = mnemonicFromEntropy(p.entropy);
  if (!m.ok) throw new SeedFileError('bad-entropy', `bad entropy length ${p.entropy.length}`);
  const s = seedFromMnemonic(m.value, p.bip39Passphrase);
  if (!s.ok) throw new SeedFileError('invalid-mnemonic', 'internal: generated mnemonic did not validate');
  return s.value;
}

/** Writes a new file durably (tmp + fsync + link), never replacing an existing one. */
function writeNew(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  // A leftover from a crash at this very step (same pid reused) is ours to replace.
  if (exists(tmp)) unlinkSync(tmp);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
  } catch (e) {
    unlinkSync(tmp);
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      throw new SeedFileError('exists', `refusing to overwrite existing seed file ${path}`);
    throw e;
  }
  unlinkSync(tmp);
  const dfd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function create(opts: SeedFileOptions, payload: Payload, random: EntropySource): string {
  const path = seedFilePath(opts);
  if (exists(path)) throw new SeedFileError('exists', `refusing to overwrite existing seed file ${path}`);
  writeNew(path, encodeSeedFile(payload, opts.passphrase, random, opts.scryptLogN));
  return path;
}

/**
 * Creates the seed file from fresh entropy (32 bytes: a 24-word mnemonic). Returns the mnemonic: the
 * caller shows it once and never stores it elsewhere.
 */
export function createSeedFile(
  opts: SeedFileOptions & { readonly entropy: Uint8Array; readonly bip39Passphrase?: string },
  random: EntropySource,
): LoadedSeed & { readonly mnemonic: string } {
  const m = mnemonicFromEntropy(opts.entropy);
  if (!m.ok)
    throw new SeedFileError(
      'bad-entropy',
      `entropy must be 16..32 bytes in steps of 4, got ${opts.entropy.length}`,
    );
  const payload = { entropy: Uint8Array.from(opts.entropy), bip39Passphrase: opts.bip39Passphrase ?? '' };
  const path = create(opts, payload, random);
  return { seed: seedOf(payload), mnemonic: m.value, encrypted: opts.passphrase !== undefined, path };
}

/** Creates the seed file from an existing BIP39 mnemonic (restore). */
export function importSeedFile(
  opts: SeedFileOptions & { readonly mnemonic: string; readonly bip39Passphrase?: string },
  random: EntropySource,
): LoadedSeed {
  const e = mnemonicToEntropy(opts.mnemonic);
  if (!e.ok)
    throw new SeedFileError(
      'invalid-mnemonic',
      e.error.kind === 'invalid-mnemonic' ? e.error.message : 'invalid mnemonic',
    );
  const payload = { entropy: e.value, bip39Passphrase: opts.bip39Passphrase ?? '' };
  const path = create(opts, payload, random);
  return { seed: seedOf(payload), encrypted: opts.passphrase !== undefined, path };
}

function readChecked(opts: SeedFileOptions): { path: string; payload: Payload & { encrypted: boolean } } {
  const path = seedFilePath(opts);
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path);
  } catch {
    throw new SeedFileError('not-found', `no seed file at ${path}`);
  }
  if (!st.isFile()) throw new SeedFileError('permissions', `${path} is not a regular file`);
  if ((st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o777).toString(8);
    throw new SeedFileError(
      'permissions',
      `seed file ${path} has permissions ${mode}, wider than 600: run "chmod 600 ${path}"`,
    );
  }
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw new SeedFileError('permissions', `seed file ${path} is owned by another user (uid ${st.uid})`);
  }
  return { path, payload: decodeSeedFile(new Uint8Array(readFileSync(path)), opts.passphrase) };
}

export function loadSeedFile(opts: SeedFileOptions): LoadedSeed {
  const { path, payload } = readChecked(opts);
  return { seed: seedOf(payload), encrypted: payload.encrypted, path };
}

/** The mnemonic of an existing seed file, for an explicit export command (needs the passphrase). */
export function revealMnemonic(opts: SeedFileOptions): string {
  const { payload } = readChecked(opts);
  const m = mnemonicFromEntropy(payload.entropy);
  if (!m.ok) throw new SeedFileError('corrupt', 'seed file entropy has a bad length');
  return m.value;
}

/**
 * Start-up: load the seed file if it exists, else create one from `random` (32 bytes of entropy).
 * `mnemonic` is present only when the file was just created.
 */
export function openOrCreateSeedFile(
  opts: SeedFileOptions,
  random: EntropySource,
): LoadedSeed & { readonly created: boolean; readonly mnemonic?: string } {
  if (exists(seedFilePath(opts))) return { ...loadSeedFile(opts), created: false };
  return { ...createSeedFile({ ...opts, entropy: random.randomBytes(32) }, random), created: true };
}
