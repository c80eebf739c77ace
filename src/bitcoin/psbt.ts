// BIP174 Partially Signed Bitcoin Transactions, version 0: parse, serialize, and the few steps a
// funding flow needs (create, add a partial signature, finalize P2WPKH / P2WSH, extract).
// Unknown and proprietary keys are kept verbatim so a PSBT passes through us unchanged.
import { base64 } from '@scure/base';
import { compare, concat, equal, hex } from '../core/bytes.ts';
import { assertNever, err, ok, type Result } from '../core/result.ts';
import type { Sat } from '../core/units.ts';
import { hash160, sha256 } from '../crypto/hash.ts';
import { u32le } from './le.ts';
import { isP2SH, isP2TR, isP2WPKH, isP2WSH, pushDataRaw } from './script.ts';
import {
  ByteReader,
  encodeCompactSize,
  readTx,
  serializeOutput,
  serializeTx,
  type Transaction,
  type TxIn,
  type TxOut,
  TxParseError,
  txid,
  varBytes,
} from './tx.ts';

const MAGIC = new Uint8Array([0x70, 0x73, 0x62, 0x74, 0xff]);

export const PSBT_GLOBAL = { UNSIGNED_TX: 0x00, XPUB: 0x01, VERSION: 0xfb, PROPRIETARY: 0xfc } as const;
export const PSBT_IN = {
  NON_WITNESS_UTXO: 0x00,
  WITNESS_UTXO: 0x01,
  PARTIAL_SIG: 0x02,
  SIGHASH_TYPE: 0x03,
  REDEEM_SCRIPT: 0x04,
  WITNESS_SCRIPT: 0x05,
  BIP32_DERIVATION: 0x06,
  FINAL_SCRIPTSIG: 0x07,
  FINAL_SCRIPTWITNESS: 0x08,
  TAP_KEY_SIG: 0x13,
  TAP_INTERNAL_KEY: 0x17,
  TAP_MERKLE_ROOT: 0x18,
} as const;
export const PSBT_OUT = {
  REDEEM_SCRIPT: 0x00,
  WITNESS_SCRIPT: 0x01,
  BIP32_DERIVATION: 0x02,
  TAP_INTERNAL_KEY: 0x05,
} as const;

export interface KeyOrigin {
  /** First 4 bytes of the master key's hash160. */
  readonly fingerprint: Uint8Array;
  /** BIP32 path; hardened steps have bit 31 set. */
  readonly path: readonly number[];
}

export interface Bip32Derivation extends KeyOrigin {
  readonly pubkey: Uint8Array;
}

export interface PartialSig {
  readonly pubkey: Uint8Array;
  /** DER signature with the sighash byte. */
  readonly signature: Uint8Array;
}

export interface UnknownField {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

export interface PsbtInput {
  readonly nonWitnessUtxo?: Transaction;
  readonly witnessUtxo?: TxOut;
  readonly partialSigs: readonly PartialSig[];
  readonly sighashType?: number;
  readonly redeemScript?: Uint8Array;
  readonly witnessScript?: Uint8Array;
  readonly bip32Derivations: readonly Bip32Derivation[];
  readonly finalScriptSig?: Uint8Array;
  readonly finalScriptWitness?: readonly Uint8Array[];
  /** BIP371 key-path Schnorr signature (64 bytes, or 65 with a hash type). */
  readonly tapKeySig?: Uint8Array;
  /** BIP371 x-only internal key. */
  readonly tapInternalKey?: Uint8Array;
  /** BIP371 script tree root the output key commits to. */
  readonly tapMerkleRoot?: Uint8Array;
  /** Other fields (including the rest of BIP371), kept verbatim. */
  readonly unknown: readonly UnknownField[];
}

export interface PsbtOutput {
  readonly redeemScript?: Uint8Array;
  readonly witnessScript?: Uint8Array;
  readonly bip32Derivations: readonly Bip32Derivation[];
  readonly tapInternalKey?: Uint8Array;
  readonly unknown: readonly UnknownField[];
}

export interface GlobalXpub extends KeyOrigin {
  /** 78-byte serialized extended public key. */
  readonly xpub: Uint8Array;
}

export interface Psbt {
  readonly tx: Transaction;
  readonly xpubs: readonly GlobalXpub[];
  /** PSBT_GLOBAL_VERSION when present (only 0 is supported). */
  readonly version?: number;
  readonly unknown: readonly UnknownField[];
  readonly inputs: readonly PsbtInput[];
  readonly outputs: readonly PsbtOutput[];
}

export type PsbtError =
  | { readonly kind: 'bad-magic' }
  | { readonly kind: 'truncated'; readonly detail: string }
  | { readonly kind: 'trailing-bytes' }
  | { readonly kind: 'duplicate-key'; readonly map: string; readonly key: string }
  | { readonly kind: 'missing-unsigned-tx' }
  | { readonly kind: 'unsigned-tx-not-empty' }
  | { readonly kind: 'unsupported-version'; readonly version: number }
  | { readonly kind: 'bad-field'; readonly map: string; readonly field: string; readonly detail: string }
  | { readonly kind: 'utxo-mismatch'; readonly input: number }
  | { readonly kind: 'not-base64' };

export function psbtErrorString(e: PsbtError): string {
  switch (e.kind) {
    case 'bad-magic':
      return 'not a PSBT (bad magic bytes)';
    case 'truncated':
      return `PSBT is truncated or malformed: ${e.detail}`;
    case 'trailing-bytes':
      return 'PSBT has bytes after its last map';
    case 'duplicate-key':
      return `PSBT ${e.map} map repeats key ${e.key}`;
    case 'missing-unsigned-tx':
      return 'PSBT has no unsigned transaction';
    case 'unsigned-tx-not-empty':
      return 'PSBT unsigned transaction has scriptSigs or witnesses';
    case 'unsupported-version':
      return `PSBT version ${e.version} is not supported (only version 0)`;
    case 'bad-field':
      return `PSBT ${e.map} field ${e.field} is invalid: ${e.detail}`;
    case 'utxo-mismatch':
      return `PSBT input ${e.input} non-witness UTXO does not match its outpoint`;
    case 'not-base64':
      return 'PSBT text is not base64';
    default:
      return assertNever(e, 'psbt error');
  }
}

class PsbtFail {
  constructor(readonly error: PsbtError) {}
}
function bad(map: string, field: string, detail: string): never {
  throw new PsbtFail({ kind: 'bad-field', map, field, detail });
}

interface RawPair {
  readonly type: number;
  readonly keyData: Uint8Array;
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

function readMap(r: ByteReader, name: string): RawPair[] {
  const pairs: RawPair[] = [];
  const seen = new Set<string>();
  for (;;) {
    const keyLen = r.compactSize();
    if (keyLen === 0) return pairs;
    const key = r.take(keyLen);
    const kr = new ByteReader(key);
    const type = kr.compactSize();
    const keyData = key.subarray(kr.offset);
    const value = r.varBytes();
    const id = hex(key);
    if (seen.has(id)) throw new PsbtFail({ kind: 'duplicate-key', map: name, key: id });
    seen.add(id);
    pairs.push({ type, keyData, key, value });
  }
}

function noKeyData(p: RawPair, map: string, field: string): void {
  if (p.keyData.length !== 0) bad(map, field, 'unexpected key data');
}

function u32(value: Uint8Array, map: string, field: string): number {
  if (value.length !== 4) bad(map, field, 'expected 4 bytes');
  return new DataView(value.buffer, value.byteOffset, 4).getUint32(0, true);
}

function keyOrigin(value: Uint8Array, map: string, field: string): KeyOrigin {
  if (value.length < 4 || value.length % 4 !== 0)
    bad(map, field, 'key origin must be a fingerprint and 4-byte steps');
  const path: number[] = [];
  for (let i = 4; i < value.length; i += 4) path.push(u32(value.subarray(i, i + 4), map, field));
  return { fingerprint: value.slice(0, 4), path };
}

function pubkeyKey(p: RawPair, map: string, field: string): Uint8Array {
  const k = p.keyData;
  const ok33 = k.length === 33 && (k[0] === 2 || k[0] === 3);
  const ok65 = k.length === 65 && k[0] === 4;
  if (!ok33 && !ok65) bad(map, field, 'key data must be a public key');
  return k.slice();
}

function parseWholeTx(bytes: Uint8Array, map: string, field: string): Transaction {
  const r = new ByteReader(bytes);
  let tx: Transaction;
  try {
    tx = readTx(r);
  } catch (e) {
    if (e instanceof TxParseError) bad(map, field, e.message);
    throw e;
  }
  if (r.remaining !== 0) bad(map, field, 'trailing bytes after transaction');
  return tx;
}

function parseWitness(bytes: Uint8Array, map: string, field: string): Uint8Array[] {
  const r = new ByteReader(bytes);
  const items: Uint8Array[] = [];
  const n = r.compactSize();
  for (let i = 0; i < n; i++) items.push(r.varBytes());
  if (r.remaining !== 0) bad(map, field, 'trailing bytes after witness');
  return items;
}

function parseInput(pairs: RawPair[], index: number, outpoint: TxIn['prevout']): PsbtInput {
  const map = `input ${index}`;
  const input: {
    -readonly [K in keyof PsbtInput]: PsbtInput[K];
  } = { partialSigs: [], bip32Derivations: [], unknown: [] };
  const partialSigs: PartialSig[] = [];
  const derivations: Bip32Derivation[] = [];
  const unknown: UnknownField[] = [];
  for (const p of pairs) {
    switch (p.type) {
      case PSBT_IN.NON_WITNESS_UTXO: {
        noKeyData(p, map, 'non_witness_utxo');
        const utxo = parseWholeTx(p.value, map, 'non_witness_utxo');
        if (!equal(txid(utxo), outpoint.txid) || outpoint.vout >= utxo.outputs.length) {
          throw new PsbtFail({ kind: 'utxo-mismatch', input: index });
        }
        input.nonWitnessUtxo = utxo;
        break;
      }
      case PSBT_IN.WITNESS_UTXO: {
        noKeyData(p, map, 'witness_utxo');
        const r = new ByteReader(p.value);
        const value = r.u64le() as Sat;
        const script = r.varBytes();
        if (r.remaining !== 0) bad(map, 'witness_utxo', 'trailing bytes');
        input.witnessUtxo = { value, script };
        break;
      }
      case PSBT_IN.PARTIAL_SIG:
        partialSigs.push({ pubkey: pubkeyKey(p, map, 'partial_sig'), signature: p.value.slice() });
        break;
      case PSBT_IN.SIGHASH_TYPE:
        noKeyData(p, map, 'sighash_type');
        input.sighashType = u32(p.value, map, 'sighash_type');
        break;
      case PSBT_IN.REDEEM_SCRIPT:
        noKeyData(p, map, 'redeem_script');
        input.redeemScript = p.value.slice();
        break;
      case PSBT_IN.WITNESS_SCRIPT:
        noKeyData(p, map, 'witness_script');
        input.witnessScript = p.value.slice();
        break;
      case PSBT_IN.BIP32_DERIVATION:
        derivations.push({
          pubkey: pubkeyKey(p, map, 'bip32_derivation'),
          ...keyOrigin(p.value, map, 'bip32_derivation'),
        });
        break;
      case PSBT_IN.FINAL_SCRIPTSIG:
        noKeyData(p, map, 'final_scriptsig');
        input.finalScriptSig = p.value.slice();
        break;
      case PSBT_IN.FINAL_SCRIPTWITNESS:
        noKeyData(p, map, 'final_scriptwitness');
        input.finalScriptWitness = parseWitness(p.value, map, 'final_scriptwitness');
        break;
      case PSBT_IN.TAP_KEY_SIG:
        noKeyData(p, map, 'tap_key_sig');
        if (p.value.length !== 64 && p.value.length !== 65)
          bad(map, 'tap_key_sig', 'expected 64 or 65 bytes');
        input.tapKeySig = p.value.slice();
        break;
      case PSBT_IN.TAP_INTERNAL_KEY:
        noKeyData(p, map, 'tap_internal_key');
        if (p.value.length !== 32) bad(map, 'tap_internal_key', 'expected a 32-byte x-only key');
        input.tapInternalKey = p.value.slice();
        break;
      case PSBT_IN.TAP_MERKLE_ROOT:
        noKeyData(p, map, 'tap_merkle_root');
        if (p.value.length !== 32) bad(map, 'tap_merkle_root', 'expected 32 bytes');
        input.tapMerkleRoot = p.value.slice();
        break;
      default:
        unknown.push({ key: p.key.slice(), value: p.value.slice() });
    }
  }
  input.partialSigs = partialSigs;
  input.bip32Derivations = derivations;
  input.unknown = unknown;
  return input;
}

function parseOutput(pairs: RawPair[], index: number): PsbtOutput {
  const map = `output ${index}`;
  let redeemScript: Uint8Array | undefined;
  let witnessScript: Uint8Array | undefined;
  let tapInternalKey: Uint8Array | undefined;
  const derivations: Bip32Derivation[] = [];
  const unknown: UnknownField[] = [];
  for (const p of pairs) {
    switch (p.type) {
      case PSBT_OUT.REDEEM_SCRIPT:
        noKeyData(p, map, 'redeem_script');
        redeemScript = p.value.slice();
        break;
      case PSBT_OUT.WITNESS_SCRIPT:
        noKeyData(p, map, 'witness_script');
        witnessScript = p.value.slice();
        break;
      case PSBT_OUT.BIP32_DERIVATION:
        derivations.push({
          pubkey: pubkeyKey(p, map, 'bip32_derivation'),
          ...keyOrigin(p.value, map, 'bip32_derivation'),
        });
        break;
      case PSBT_OUT.TAP_INTERNAL_KEY:
        noKeyData(p, map, 'tap_internal_key');
        if (p.value.length !== 32) bad(map, 'tap_internal_key', 'expected a 32-byte x-only key');
        tapInternalKey = p.value.slice();
        break;
      default:
        unknown.push({ key: p.key.slice(), value: p.value.slice() });
    }
  }
  return {
    ...(tapInternalKey !== undefined ? { tapInternalKey } : {}),
    ...(redeemScript !== undefined ? { redeemScript } : {}),
    ...(witnessScript !== undefined ? { witnessScript } : {}),
    bip32Derivations: derivations,
    unknown,
  };
}

function parseOrThrow(bytes: Uint8Array): Psbt {
  if (bytes.length < MAGIC.length || !equal(bytes.subarray(0, MAGIC.length), MAGIC))
    throw new PsbtFail({ kind: 'bad-magic' });
  const r = new ByteReader(bytes);
  r.offset = MAGIC.length;
  let tx: Transaction | undefined;
  let version: number | undefined;
  const xpubs: GlobalXpub[] = [];
  const unknown: UnknownField[] = [];
  for (const p of readMap(r, 'global')) {
    switch (p.type) {
      case PSBT_GLOBAL.UNSIGNED_TX: {
        noKeyData(p, 'global', 'unsigned_tx');
        // The unsigned tx is in legacy form; a 0-input tx would read as a segwit marker, which BIP174 forbids anyway.
        tx = parseWholeTx(p.value, 'global', 'unsigned_tx');
        if (tx.inputs.some((i) => i.scriptSig.length > 0 || i.witness.length > 0)) {
          throw new PsbtFail({ kind: 'unsigned-tx-not-empty' });
        }
        break;
      }
      case PSBT_GLOBAL.XPUB:
        if (p.keyData.length !== 78) bad('global', 'xpub', 'extended key must be 78 bytes');
        xpubs.push({ xpub: p.keyData.slice(), ...keyOrigin(p.value, 'global', 'xpub') });
        break;
      case PSBT_GLOBAL.VERSION:
        noKeyData(p, 'global', 'version');
        version = u32(p.value, 'global', 'version');
        if (version !== 0) throw new PsbtFail({ kind: 'unsupported-version', version });
        break;
      default:
        unknown.push({ key: p.key.slice(), value: p.value.slice() });
    }
  }
  if (tx === undefined) throw new PsbtFail({ kind: 'missing-unsigned-tx' });
  const inputs = tx.inputs.map((i, n) => parseInput(readMap(r, `input ${n}`), n, i.prevout));
  const outputs = tx.outputs.map((_, n) => parseOutput(readMap(r, `output ${n}`), n));
  if (r.remaining !== 0) throw new PsbtFail({ kind: 'trailing-bytes' });
  return { tx, xpubs, ...(version !== undefined ? { version } : {}), unknown, inputs, outputs };
}

/** Parses a binary PSBT. */
export function parsePsbt(bytes: Uint8Array): Result<Psbt, PsbtError> {
  try {
    return ok(parseOrThrow(bytes));
  } catch (e) {
    if (e instanceof PsbtFail) return err(e.error);
    if (e instanceof TxParseError) return err({ kind: 'truncated', detail: e.message });
    throw e;
  }
}

export function parsePsbtBase64(text: string): Result<Psbt, PsbtError> {
  let bytes: Uint8Array;
  try {
    bytes = base64.decode(text.trim());
  } catch {
    return err({ kind: 'not-base64' });
  }
  return parsePsbt(bytes);
}

// ---------------------------------------------------------------------------------------------
// Serialization: fields in key order, so equal PSBTs serialize to equal bytes.

function pair(type: number, keyData: Uint8Array, value: Uint8Array): { key: Uint8Array; value: Uint8Array } {
  return { key: concat(encodeCompactSize(type), keyData), value };
}

function originBytes(o: KeyOrigin): Uint8Array {
  return concat(o.fingerprint, ...o.path.map(u32le));
}

function writeMap(fields: { key: Uint8Array; value: Uint8Array }[]): Uint8Array {
  const sorted = [...fields].sort((a, b) => compare(a.key, b.key));
  return concat(...sorted.flatMap((f) => [varBytes(f.key), varBytes(f.value)]), new Uint8Array([0]));
}

function serializeWitness(items: readonly Uint8Array[]): Uint8Array {
  return concat(encodeCompactSize(items.length), ...items.map(varBytes));
}

export function serializePsbt(psbt: Psbt): Uint8Array {
  const global = [pair(PSBT_GLOBAL.UNSIGNED_TX, new Uint8Array(0), serializeTx(psbt.tx, false))];
  for (const x of psbt.xpubs) global.push(pair(PSBT_GLOBAL.XPUB, x.xpub, originBytes(x)));
  if (psbt.version !== undefined)
    global.push(pair(PSBT_GLOBAL.VERSION, new Uint8Array(0), u32le(psbt.version)));
  global.push(...psbt.unknown);
  const parts: Uint8Array[] = [MAGIC, writeMap(global)];
  const none = new Uint8Array(0);
  for (const i of psbt.inputs) {
    const f: { key: Uint8Array; value: Uint8Array }[] = [];
    if (i.nonWitnessUtxo) f.push(pair(PSBT_IN.NON_WITNESS_UTXO, none, serializeTx(i.nonWitnessUtxo)));
    if (i.witnessUtxo) f.push(pair(PSBT_IN.WITNESS_UTXO, none, serializeOutput(i.witnessUtxo)));
    for (const s of i.partialSigs) f.push(pair(PSBT_IN.PARTIAL_SIG, s.pubkey, s.signature));
    if (i.sighashType !== undefined) f.push(pair(PSBT_IN.SIGHASH_TYPE, none, u32le(i.sighashType)));
    if (i.redeemScript) f.push(pair(PSBT_IN.REDEEM_SCRIPT, none, i.redeemScript));
    if (i.witnessScript) f.push(pair(PSBT_IN.WITNESS_SCRIPT, none, i.witnessScript));
    for (const d of i.bip32Derivations) f.push(pair(PSBT_IN.BIP32_DERIVATION, d.pubkey, originBytes(d)));
    if (i.finalScriptSig) f.push(pair(PSBT_IN.FINAL_SCRIPTSIG, none, i.finalScriptSig));
    if (i.finalScriptWitness)
      f.push(pair(PSBT_IN.FINAL_SCRIPTWITNESS, none, serializeWitness(i.finalScriptWitness)));
    if (i.tapKeySig) f.push(pair(PSBT_IN.TAP_KEY_SIG, none, i.tapKeySig));
    if (i.tapInternalKey) f.push(pair(PSBT_IN.TAP_INTERNAL_KEY, none, i.tapInternalKey));
    if (i.tapMerkleRoot) f.push(pair(PSBT_IN.TAP_MERKLE_ROOT, none, i.tapMerkleRoot));
    f.push(...i.unknown);
    parts.push(writeMap(f));
  }
  for (const o of psbt.outputs) {
    const f: { key: Uint8Array; value: Uint8Array }[] = [];
    if (o.redeemScript) f.push(pair(PSBT_OUT.REDEEM_SCRIPT, none, o.redeemScript));
    if (o.witnessScript) f.push(pair(PSBT_OUT.WITNESS_SCRIPT, none, o.witnessScript));
    for (const d of o.bip32Derivations) f.push(pair(PSBT_OUT.BIP32_DERIVATION, d.pubkey, originBytes(d)));
    if (o.tapInternalKey) f.push(pair(PSBT_OUT.TAP_INTERNAL_KEY, none, o.tapInternalKey));
    f.push(...o.unknown);
    parts.push(writeMap(f));
  }
  return concat(...parts);
}

export function serializePsbtBase64(psbt: Psbt): string {
  return base64.encode(serializePsbt(psbt));
}

// ---------------------------------------------------------------------------------------------
// Roles: creator, updater, signer's bookkeeping, finalizer, extractor.

/** Creator: a PSBT for `tx` with empty maps; scriptSigs and witnesses are cleared. */
export function createPsbt(tx: Transaction): Psbt {
  const unsigned: Transaction = {
    ...tx,
    inputs: tx.inputs.map((i) => ({ ...i, scriptSig: new Uint8Array(0), witness: [] })),
  };
  return {
    tx: unsigned,
    xpubs: [],
    unknown: [],
    inputs: unsigned.inputs.map(() => ({ partialSigs: [], bip32Derivations: [], unknown: [] })),
    outputs: unsigned.outputs.map(() => ({ bip32Derivations: [], unknown: [] })),
  };
}

function replaceAt<T>(items: readonly T[], index: number, item: T): T[] {
  if (index < 0 || index >= items.length) throw new RangeError(`no entry ${index}`);
  return items.map((x, i) => (i === index ? item : x));
}

/** Updater: merges fields into input `index`. */
export function updateInput(psbt: Psbt, index: number, fields: Partial<PsbtInput>): Psbt {
  const current = psbt.inputs[index];
  if (current === undefined) throw new RangeError(`no input ${index}`);
  return { ...psbt, inputs: replaceAt(psbt.inputs, index, { ...current, ...fields }) };
}

/** Updater: merges fields into output `index`. */
export function updateOutput(psbt: Psbt, index: number, fields: Partial<PsbtOutput>): Psbt {
  const current = psbt.outputs[index];
  if (current === undefined) throw new RangeError(`no output ${index}`);
  return { ...psbt, outputs: replaceAt(psbt.outputs, index, { ...current, ...fields }) };
}

/** Records a signature for `pubkey` on input `index`, replacing an earlier one for the same key. */
export function addPartialSig(psbt: Psbt, index: number, sig: PartialSig): Psbt {
  const current = psbt.inputs[index];
  if (current === undefined) throw new RangeError(`no input ${index}`);
  const others = current.partialSigs.filter((s) => !equal(s.pubkey, sig.pubkey));
  return updateInput(psbt, index, { partialSigs: [...others, sig] });
}

/** The output an input spends, from witness_utxo or non_witness_utxo. */
export function spentOutput(psbt: Psbt, index: number): TxOut | undefined {
  const input = psbt.inputs[index];
  if (input === undefined) return undefined;
  if (input.witnessUtxo) return input.witnessUtxo;
  const vout = psbt.tx.inputs[index]!.prevout.vout;
  return input.nonWitnessUtxo?.outputs[vout];
}

export type FinalizeError =
  | { readonly kind: 'missing-utxo' }
  | { readonly kind: 'missing-signature' }
  | { readonly kind: 'missing-script' }
  | { readonly kind: 'unsupported-script' };

/**
 * Finalizer for single-key P2WPKH (native or P2SH-wrapped), P2TR key path (from tap_key_sig), and
 * P2WSH (native or wrapped) whose witness the caller builds from the partial signatures
 * (`witnessStack`, without the script itself). Clears the signing fields as BIP174 asks.
 */
export function finalizeInput(
  psbt: Psbt,
  index: number,
  witnessStack?: (input: PsbtInput) => Uint8Array[] | null,
): Result<Psbt, FinalizeError> {
  const input = psbt.inputs[index];
  if (input === undefined) throw new RangeError(`no input ${index}`);
  const spent = spentOutput(psbt, index);
  if (spent === undefined) return err({ kind: 'missing-utxo' });
  let program = spent.script;
  let scriptSig: Uint8Array = new Uint8Array(0);
  if (isP2SH(spent.script)) {
    if (!input.redeemScript || !equal(hash160(input.redeemScript), spent.script.subarray(2, 22))) {
      return err({ kind: 'missing-script' });
    }
    program = input.redeemScript;
    scriptSig = pushDataRaw(input.redeemScript);
  }
  let witness: Uint8Array[];
  if (isP2WPKH(program)) {
    const sig = input.partialSigs.find((s) => equal(hash160(s.pubkey), program.subarray(2)));
    if (sig === undefined) return err({ kind: 'missing-signature' });
    witness = [sig.signature, sig.pubkey];
  } else if (isP2TR(program) && scriptSig.length === 0) {
    if (input.tapKeySig === undefined) return err({ kind: 'missing-signature' });
    witness = [input.tapKeySig];
  } else if (isP2WSH(program)) {
    if (!input.witnessScript || !equal(sha256(input.witnessScript), program.subarray(2)))
      return err({ kind: 'missing-script' });
    if (witnessStack === undefined) return err({ kind: 'unsupported-script' });
    const items = witnessStack(input);
    if (items === null) return err({ kind: 'missing-signature' });
    witness = [...items, input.witnessScript];
  } else {
    return err({ kind: 'unsupported-script' });
  }
  const finalized: PsbtInput = {
    ...(input.nonWitnessUtxo ? { nonWitnessUtxo: input.nonWitnessUtxo } : {}),
    ...(input.witnessUtxo ? { witnessUtxo: input.witnessUtxo } : {}),
    partialSigs: [],
    bip32Derivations: [],
    ...(scriptSig.length > 0 ? { finalScriptSig: scriptSig } : {}),
    finalScriptWitness: witness,
    unknown: input.unknown,
  };
  return ok({ ...psbt, inputs: replaceAt(psbt.inputs, index, finalized) });
}

/** Extractor: the network transaction, once every input is finalized. */
export function extractTransaction(
  psbt: Psbt,
): Result<Transaction, { readonly kind: 'not-finalized'; readonly input: number }> {
  const inputs: TxIn[] = [];
  for (let n = 0; n < psbt.tx.inputs.length; n++) {
    const p = psbt.inputs[n]!;
    if (p.finalScriptSig === undefined && p.finalScriptWitness === undefined)
      return err({ kind: 'not-finalized', input: n });
    inputs.push({
      ...psbt.tx.inputs[n]!,
      scriptSig: p.finalScriptSig ?? new Uint8Array(0),
      witness: p.finalScriptWitness ?? [],
    });
  }
  return ok({ ...psbt.tx, inputs });
}
