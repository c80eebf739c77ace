// Signature hashes: legacy (with the SIGHASH_SINGLE bug), BIP143 segwit v0 and BIP341 taproot.
// Per-transaction midstates are computed once in a SighashCache and shared by every input.
import { concat } from '../core/bytes.ts';
import type { Sat } from '../core/units.ts';
import { sha256, sha256d, taggedHash } from '../crypto/hash.ts';
import { u32le, u64le } from './le.ts';
import { OP, readOp } from './script.ts';
import { encodeCompactSize, serializeOutput, type Transaction, type TxOut, varBytes } from './tx.ts';

export const SIGHASH_DEFAULT = 0x00;
export const SIGHASH_ALL = 0x01;
export const SIGHASH_NONE = 0x02;
export const SIGHASH_SINGLE = 0x03;
export const SIGHASH_ANYONECANPAY = 0x80;

function outpointBytes(tx: Transaction, i: number): Uint8Array {
  const p = tx.inputs[i]!.prevout;
  return concat(p.txid, u32le(p.vout));
}

/**
 * Midstates shared by all inputs of one transaction (Core's PrecomputedTransactionData). Each hash is
 * computed on first use. `prevouts` (all spent outputs, in input order) is needed only for taproot.
 */
export class SighashCache {
  private prevoutsSingle?: Uint8Array;
  private sequencesSingle?: Uint8Array;
  private outputsSingle?: Uint8Array;
  private amountsSingle?: Uint8Array;
  private scriptsSingle?: Uint8Array;
  private prevoutsV0?: Uint8Array;
  private sequencesV0?: Uint8Array;
  private outputsV0?: Uint8Array;

  constructor(
    readonly tx: Transaction,
    readonly prevouts?: readonly TxOut[],
  ) {}

  /** SHA256 of all outpoints (BIP341 sha_prevouts); BIP143's hashPrevouts is its SHA256. */
  get shaPrevouts(): Uint8Array {
    this.prevoutsSingle ??= sha256(...this.tx.inputs.map((_, i) => outpointBytes(this.tx, i)));
    return this.prevoutsSingle;
  }
  get shaSequences(): Uint8Array {
    this.sequencesSingle ??= sha256(...this.tx.inputs.map((i) => u32le(i.sequence)));
    return this.sequencesSingle;
  }
  get shaOutputs(): Uint8Array {
    this.outputsSingle ??= sha256(...this.tx.outputs.map(serializeOutput));
    return this.outputsSingle;
  }
  get shaAmounts(): Uint8Array {
    this.amountsSingle ??= sha256(...this.spent().map((o) => u64le(o.value)));
    return this.amountsSingle;
  }
  get shaScriptPubkeys(): Uint8Array {
    this.scriptsSingle ??= sha256(...this.spent().map((o) => varBytes(o.script)));
    return this.scriptsSingle;
  }
  get hashPrevouts(): Uint8Array {
    this.prevoutsV0 ??= sha256(this.shaPrevouts);
    return this.prevoutsV0;
  }
  get hashSequence(): Uint8Array {
    this.sequencesV0 ??= sha256(this.shaSequences);
    return this.sequencesV0;
  }
  get hashOutputs(): Uint8Array {
    this.outputsV0 ??= sha256(this.shaOutputs);
    return this.outputsV0;
  }
  private spent(): readonly TxOut[] {
    if (this.prevouts === undefined || this.prevouts.length !== this.tx.inputs.length) {
      throw new RangeError('taproot sighash needs every spent output, one per input');
    }
    return this.prevouts;
  }
}

// ---------------------------------------------------------------------------------------------
// Legacy.

/** The scriptCode as legacy signing serializes it: every OP_CODESEPARATOR removed. */
function withoutCodeSeparators(s: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let start = 0;
  let pc = 0;
  while (pc < s.length) {
    const r = readOp(s, pc);
    if (r === null) break; // Core copies an unparsable tail verbatim
    if (r.op.opcode === OP.OP_CODESEPARATOR) {
      parts.push(s.subarray(start, pc));
      start = r.next;
    }
    pc = r.next;
  }
  parts.push(s.subarray(start));
  return concat(...parts);
}

/** uint256 one, which Core signs for SIGHASH_SINGLE without a matching output (the "SINGLE bug"). */
export const SIGHASH_ONE: Uint8Array = (() => {
  const b = new Uint8Array(32);
  b[0] = 1;
  return b;
})();

/**
 * Legacy (pre-segwit) signature hash. `hashType` is the full 32-bit value (it is serialized as is);
 * the caller has already removed the signature from `scriptCode` (FindAndDelete) where consensus does.
 */
export function legacySighash(
  tx: Transaction,
  inputIndex: number,
  scriptCode: Uint8Array,
  hashType: number,
): Uint8Array {
  if (inputIndex >= tx.inputs.length) return SIGHASH_ONE.slice();
  const base = hashType & 0x1f;
  const anyoneCanPay = (hashType & SIGHASH_ANYONECANPAY) !== 0;
  const single = base === SIGHASH_SINGLE;
  const none = base === SIGHASH_NONE;
  if (single && inputIndex >= tx.outputs.length) return SIGHASH_ONE.slice();
  const code = withoutCodeSeparators(scriptCode);

  const parts: Uint8Array[] = [u32le(tx.version)];
  const inputs = anyoneCanPay ? [inputIndex] : tx.inputs.map((_, i) => i);
  parts.push(encodeCompactSize(inputs.length));
  for (const i of inputs) {
    const input = tx.inputs[i]!;
    parts.push(outpointBytes(tx, i));
    parts.push(i === inputIndex ? varBytes(code) : new Uint8Array([0]));
    parts.push(u32le(i !== inputIndex && (single || none) ? 0 : input.sequence));
  }
  if (none) parts.push(new Uint8Array([0]));
  else if (single) {
    parts.push(encodeCompactSize(inputIndex + 1));
    for (let i = 0; i < inputIndex; i++) parts.push(u64le(-1n), new Uint8Array([0]));
    parts.push(serializeOutput(tx.outputs[inputIndex]!));
  } else {
    parts.push(encodeCompactSize(tx.outputs.length));
    for (const o of tx.outputs) parts.push(serializeOutput(o));
  }
  parts.push(u32le(tx.locktime), u32le(hashType));
  return sha256d(concat(...parts));
}

// ---------------------------------------------------------------------------------------------
// BIP143 (segwit v0).

const ZERO32: Uint8Array = new Uint8Array(32);

/** BIP143 preimage; exposed for tests and for signers that want to show what they sign. */
export function segwitV0Preimage(
  tx: Transaction,
  inputIndex: number,
  scriptCode: Uint8Array,
  amount: Sat,
  hashType: number,
  cache: SighashCache = new SighashCache(tx),
): Uint8Array {
  const input = tx.inputs[inputIndex];
  if (input === undefined) throw new RangeError(`no input ${inputIndex}`);
  const base = hashType & 0x1f;
  const anyoneCanPay = (hashType & SIGHASH_ANYONECANPAY) !== 0;
  const hashPrevouts = anyoneCanPay ? ZERO32 : cache.hashPrevouts;
  const hashSequence =
    !anyoneCanPay && base !== SIGHASH_SINGLE && base !== SIGHASH_NONE ? cache.hashSequence : ZERO32;
  let hashOutputs: Uint8Array = ZERO32;
  if (base !== SIGHASH_SINGLE && base !== SIGHASH_NONE) hashOutputs = cache.hashOutputs;
  else if (base === SIGHASH_SINGLE && inputIndex < tx.outputs.length) {
    hashOutputs = sha256d(serializeOutput(tx.outputs[inputIndex]!));
  }
  // One buffer written in place: this runs once per HTLC transaction signed or checked (483 per
  // commitment at most), where the concatenation of ten small arrays showed in profiles.
  const codeLength = encodeCompactSize(scriptCode.length);
  const out = new Uint8Array(156 + codeLength.length + scriptCode.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, tx.version >>> 0, true);
  out.set(hashPrevouts, 4);
  out.set(hashSequence, 36);
  const prevout = input.prevout;
  if (prevout.txid.length !== 32) throw new RangeError('outpoint txid must be 32 bytes');
  out.set(prevout.txid, 68);
  view.setUint32(100, prevout.vout >>> 0, true);
  out.set(codeLength, 104);
  let at = 104 + codeLength.length;
  out.set(scriptCode, at);
  at += scriptCode.length;
  view.setBigUint64(at, BigInt.asUintN(64, amount), true);
  view.setUint32(at + 8, input.sequence >>> 0, true);
  out.set(hashOutputs, at + 12);
  view.setUint32(at + 44, tx.locktime >>> 0, true);
  view.setUint32(at + 48, hashType >>> 0, true);
  return out;
}

/** BIP143 signature hash for a segwit v0 input spending `amount` with `scriptCode`. */
export function segwitV0Sighash(
  tx: Transaction,
  inputIndex: number,
  scriptCode: Uint8Array,
  amount: Sat,
  hashType: number,
  cache?: SighashCache,
): Uint8Array {
  return sha256d(segwitV0Preimage(tx, inputIndex, scriptCode, amount, hashType, cache));
}

/** The BIP143 scriptCode of a P2WPKH input: the P2PKH script of the key hash. */
export function p2wpkhScriptCode(pubkeyHash: Uint8Array): Uint8Array {
  return concat(
    new Uint8Array([OP.OP_DUP, OP.OP_HASH160, 20]),
    pubkeyHash,
    new Uint8Array([OP.OP_EQUALVERIFY, OP.OP_CHECKSIG]),
  );
}

// ---------------------------------------------------------------------------------------------
// BIP341 (taproot).

export interface TapscriptContext {
  /** tapleaf_hash of the executed leaf. */
  readonly leafHash: Uint8Array;
  /** Opcode position of the last executed OP_CODESEPARATOR, 0xffffffff if none. */
  readonly codeSeparatorPos: number;
  /** key_version; 0 for BIP342. */
  readonly keyVersion?: number;
}

export interface TaprootSighashOptions {
  /** The annex (including its 0x50 prefix byte) when the witness has one. */
  readonly annex?: Uint8Array;
  /** Present for script-path spends (BIP342 extension). */
  readonly tapscript?: TapscriptContext;
}

export function isValidTaprootHashType(hashType: number): boolean {
  return hashType === 0 || (hashType >= 1 && hashType <= 3) || (hashType >= 0x81 && hashType <= 0x83);
}

/**
 * BIP341 SigMsg, prefixed with the epoch byte 0x00 (as the BIP341 vectors print it). null when the hash type is invalid or SIGHASH_SINGLE
 * has no output at the input's index: such a signature can never be valid.
 */
export function taprootSigMsg(
  cache: SighashCache,
  inputIndex: number,
  hashType: number,
  options: TaprootSighashOptions = {},
): Uint8Array | null {
  const { tx } = cache;
  if (!isValidTaprootHashType(hashType)) return null;
  if (inputIndex < 0 || inputIndex >= tx.inputs.length) throw new RangeError(`no input ${inputIndex}`);
  const outputType = hashType === SIGHASH_DEFAULT ? SIGHASH_ALL : hashType & 0x03;
  const anyoneCanPay = (hashType & SIGHASH_ANYONECANPAY) !== 0;
  if (outputType === SIGHASH_SINGLE && inputIndex >= tx.outputs.length) return null;

  const parts: Uint8Array[] = [new Uint8Array([0, hashType]), u32le(tx.version), u32le(tx.locktime)];
  if (!anyoneCanPay)
    parts.push(cache.shaPrevouts, cache.shaAmounts, cache.shaScriptPubkeys, cache.shaSequences);
  if (outputType === SIGHASH_ALL) parts.push(cache.shaOutputs);
  const extFlag = options.tapscript === undefined ? 0 : 1;
  parts.push(new Uint8Array([extFlag * 2 + (options.annex === undefined ? 0 : 1)]));
  if (anyoneCanPay) {
    const prevouts = cache.prevouts;
    const spent = prevouts?.[inputIndex];
    if (spent === undefined) throw new RangeError('taproot sighash needs the spent output');
    parts.push(
      outpointBytes(tx, inputIndex),
      u64le(spent.value),
      varBytes(spent.script),
      u32le(tx.inputs[inputIndex]!.sequence),
    );
  } else {
    parts.push(u32le(inputIndex));
  }
  if (options.annex !== undefined) parts.push(sha256(varBytes(options.annex)));
  if (outputType === SIGHASH_SINGLE) parts.push(sha256(serializeOutput(tx.outputs[inputIndex]!)));
  if (options.tapscript !== undefined) {
    const t = options.tapscript;
    parts.push(t.leafHash, new Uint8Array([t.keyVersion ?? 0]), u32le(t.codeSeparatorPos));
  }
  return concat(...parts);
}

/** BIP341 signature hash: TapSighash tagged hash of epoch 0 || SigMsg; null as for taprootSigMsg. */
export function taprootSighash(
  cache: SighashCache,
  inputIndex: number,
  hashType: number,
  options: TaprootSighashOptions = {},
): Uint8Array | null {
  const msg = taprootSigMsg(cache, inputIndex, hashType, options);
  return msg === null ? null : taggedHash('TapSighash', msg);
}
