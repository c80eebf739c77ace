// Bitcoin scripts: the opcode table, a builder with minimal pushes, a parser into ops, Core's asm and
// ParseScript text forms, CScriptNum, output templates and classifiers.
import { concat, fromHex, hex } from '../core/bytes.ts';
import { err, ok, type Result } from '../core/result.ts';
import { hash160, sha256 } from '../crypto/hash.ts';
import { isValidSignatureEncoding } from './signature-encoding.ts';

/** Opcodes with Bitcoin Core's names (script/script.h). */
export const OP = {
  OP_0: 0x00,
  OP_FALSE: 0x00,
  OP_PUSHDATA1: 0x4c,
  OP_PUSHDATA2: 0x4d,
  OP_PUSHDATA4: 0x4e,
  OP_1NEGATE: 0x4f,
  OP_RESERVED: 0x50,
  OP_1: 0x51,
  OP_TRUE: 0x51,
  OP_2: 0x52,
  OP_3: 0x53,
  OP_4: 0x54,
  OP_5: 0x55,
  OP_6: 0x56,
  OP_7: 0x57,
  OP_8: 0x58,
  OP_9: 0x59,
  OP_10: 0x5a,
  OP_11: 0x5b,
  OP_12: 0x5c,
  OP_13: 0x5d,
  OP_14: 0x5e,
  OP_15: 0x5f,
  OP_16: 0x60,
  OP_NOP: 0x61,
  OP_VER: 0x62,
  OP_IF: 0x63,
  OP_NOTIF: 0x64,
  OP_VERIF: 0x65,
  OP_VERNOTIF: 0x66,
  OP_ELSE: 0x67,
  OP_ENDIF: 0x68,
  OP_VERIFY: 0x69,
  OP_RETURN: 0x6a,
  OP_TOALTSTACK: 0x6b,
  OP_FROMALTSTACK: 0x6c,
  OP_2DROP: 0x6d,
  OP_2DUP: 0x6e,
  OP_3DUP: 0x6f,
  OP_2OVER: 0x70,
  OP_2ROT: 0x71,
  OP_2SWAP: 0x72,
  OP_IFDUP: 0x73,
  OP_DEPTH: 0x74,
  OP_DROP: 0x75,
  OP_DUP: 0x76,
  OP_NIP: 0x77,
  OP_OVER: 0x78,
  OP_PICK: 0x79,
  OP_ROLL: 0x7a,
  OP_ROT: 0x7b,
  OP_SWAP: 0x7c,
  OP_TUCK: 0x7d,
  OP_CAT: 0x7e,
  OP_SUBSTR: 0x7f,
  OP_LEFT: 0x80,
  OP_RIGHT: 0x81,
  OP_SIZE: 0x82,
  OP_INVERT: 0x83,
  OP_AND: 0x84,
  OP_OR: 0x85,
  OP_XOR: 0x86,
  OP_EQUAL: 0x87,
  OP_EQUALVERIFY: 0x88,
  OP_RESERVED1: 0x89,
  OP_RESERVED2: 0x8a,
  OP_1ADD: 0x8b,
  OP_1SUB: 0x8c,
  OP_2MUL: 0x8d,
  OP_2DIV: 0x8e,
  OP_NEGATE: 0x8f,
  OP_ABS: 0x90,
  OP_NOT: 0x91,
  OP_0NOTEQUAL: 0x92,
  OP_ADD: 0x93,
  OP_SUB: 0x94,
  OP_MUL: 0x95,
  OP_DIV: 0x96,
  OP_MOD: 0x97,
  OP_LSHIFT: 0x98,
  OP_RSHIFT: 0x99,
  OP_BOOLAND: 0x9a,
  OP_BOOLOR: 0x9b,
  OP_NUMEQUAL: 0x9c,
  OP_NUMEQUALVERIFY: 0x9d,
  OP_NUMNOTEQUAL: 0x9e,
  OP_LESSTHAN: 0x9f,
  OP_GREATERTHAN: 0xa0,
  OP_LESSTHANOREQUAL: 0xa1,
  OP_GREATERTHANOREQUAL: 0xa2,
  OP_MIN: 0xa3,
  OP_MAX: 0xa4,
  OP_WITHIN: 0xa5,
  OP_RIPEMD160: 0xa6,
  OP_SHA1: 0xa7,
  OP_SHA256: 0xa8,
  OP_HASH160: 0xa9,
  OP_HASH256: 0xaa,
  OP_CODESEPARATOR: 0xab,
  OP_CHECKSIG: 0xac,
  OP_CHECKSIGVERIFY: 0xad,
  OP_CHECKMULTISIG: 0xae,
  OP_CHECKMULTISIGVERIFY: 0xaf,
  OP_NOP1: 0xb0,
  OP_CHECKLOCKTIMEVERIFY: 0xb1,
  OP_NOP2: 0xb1,
  OP_CHECKSEQUENCEVERIFY: 0xb2,
  OP_NOP3: 0xb2,
  OP_NOP4: 0xb3,
  OP_NOP5: 0xb4,
  OP_NOP6: 0xb5,
  OP_NOP7: 0xb6,
  OP_NOP8: 0xb7,
  OP_NOP9: 0xb8,
  OP_NOP10: 0xb9,
  OP_CHECKSIGADD: 0xba,
  OP_INVALIDOPCODE: 0xff,
} as const;

export type OpcodeName = keyof typeof OP;

// Canonical names (GetOpName), aliases excluded.
const ALIASES = new Set<string>(['OP_FALSE', 'OP_TRUE', 'OP_NOP2', 'OP_NOP3']);
const NAMES: string[] = [];
for (const [name, code] of Object.entries(OP)) if (!ALIASES.has(name)) NAMES[code] = name;

/** Bitcoin Core's GetOpName: "0", "-1", "1".."16" for small numbers, "OP_UNKNOWN" for unassigned bytes. */
export function opcodeName(op: number): string {
  if (op === OP.OP_0) return '0';
  if (op === OP.OP_1NEGATE) return '-1';
  if (op >= OP.OP_1 && op <= OP.OP_16) return String(op - OP.OP_1 + 1);
  return NAMES[op] ?? 'OP_UNKNOWN';
}

export const MAX_SCRIPT_ELEMENT_SIZE = 520;
export const MAX_SCRIPT_SIZE = 10_000;
export const MAX_OPS_PER_SCRIPT = 201;
export const MAX_PUBKEYS_PER_MULTISIG = 20;
export const MAX_STACK_SIZE = 1000;

// ---------------------------------------------------------------------------------------------
// Script numbers (CScriptNum): little-endian sign-magnitude, minimal when required.

export function encodeScriptNum(n: bigint): Uint8Array {
  if (n === 0n) return new Uint8Array(0);
  const negative = n < 0n;
  let abs = negative ? -n : n;
  const out: number[] = [];
  while (abs > 0n) {
    out.push(Number(abs & 0xffn));
    abs >>= 8n;
  }
  // The top bit carries the sign: add a byte when the magnitude already uses it.
  if (out[out.length - 1]! & 0x80) out.push(negative ? 0x80 : 0x00);
  else if (negative) out[out.length - 1] = out[out.length - 1]! | 0x80;
  return Uint8Array.from(out);
}

export type ScriptNumError = 'overflow' | 'non-minimal';

/** True when `b` is the shortest encoding of its value (CScriptNum's fRequireMinimal check). */
export function isMinimalScriptNum(b: Uint8Array): boolean {
  if (b.length === 0) return true;
  // The last byte may be 0x00/0x80 only when the byte before needs its top bit for magnitude.
  if ((b[b.length - 1]! & 0x7f) === 0) {
    if (b.length <= 1 || (b[b.length - 2]! & 0x80) === 0) return false;
  }
  return true;
}

export function decodeScriptNum(
  b: Uint8Array,
  requireMinimal: boolean,
  maxSize = 4,
): Result<bigint, ScriptNumError> {
  if (b.length > maxSize) return err('overflow');
  if (requireMinimal && !isMinimalScriptNum(b)) return err('non-minimal');
  if (b.length === 0) return ok(0n);
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  const signBit = 0x80n << BigInt(8 * (b.length - 1));
  if (v & signBit) return ok(-(v & ~signBit));
  return ok(v);
}

// ---------------------------------------------------------------------------------------------
// Builder.

/** An opcode (number), a data push (Uint8Array, minimally encoded) or a script number (bigint). */
export type ScriptItem = number | Uint8Array | bigint;

function pushPrefix(length: number): Uint8Array {
  if (length < OP.OP_PUSHDATA1) return new Uint8Array([length]);
  if (length <= 0xff) return new Uint8Array([OP.OP_PUSHDATA1, length]);
  if (length <= 0xffff) return new Uint8Array([OP.OP_PUSHDATA2, length & 0xff, length >>> 8]);
  const out = new Uint8Array(5);
  out[0] = OP.OP_PUSHDATA4;
  new DataView(out.buffer).setUint32(1, length, true);
  return out;
}

/** Push with the smallest PUSHDATA form, never turning data into OP_N (CScript << vector). */
export function pushDataRaw(data: Uint8Array): Uint8Array {
  return concat(pushPrefix(data.length), data);
}

/** The minimal push Core's MINIMALDATA rule asks for: OP_0, OP_1..OP_16, OP_1NEGATE, then PUSHDATA. */
export function pushData(data: Uint8Array): Uint8Array {
  if (data.length === 0) return new Uint8Array([OP.OP_0]);
  if (data.length === 1) {
    const b = data[0]!;
    if (b >= 1 && b <= 16) return new Uint8Array([OP.OP_1 + b - 1]);
    if (b === 0x81) return new Uint8Array([OP.OP_1NEGATE]);
  }
  return pushDataRaw(data);
}

/** Pushes a number as CScript << int64 does. */
export function pushNumber(n: bigint): Uint8Array {
  if (n === -1n || (n >= 1n && n <= 16n)) return new Uint8Array([Number(n) + OP.OP_1 - 1]);
  if (n === 0n) return new Uint8Array([OP.OP_0]);
  return pushDataRaw(encodeScriptNum(n));
}

export function script(...items: readonly ScriptItem[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const item of items) {
    if (typeof item === 'number') {
      if (!Number.isInteger(item) || item < 0 || item > 0xff) throw new RangeError(`not an opcode: ${item}`);
      if (item >= 1 && item <= OP.OP_PUSHDATA4) {
        throw new RangeError(`push opcode ${item} given bare; pass the data as a Uint8Array`);
      }
      parts.push(new Uint8Array([item]));
    } else if (typeof item === 'bigint') {
      parts.push(pushNumber(item));
    } else {
      parts.push(pushData(item));
    }
  }
  return concat(...parts);
}

// ---------------------------------------------------------------------------------------------
// Parser.

export interface ScriptOp {
  readonly opcode: number;
  /** Present for push opcodes (0x00..0x4e). */
  readonly data?: Uint8Array;
  /** Byte offset of the opcode in the script. */
  readonly offset: number;
}

export interface ScriptParseError {
  readonly kind: 'truncated-push';
  readonly offset: number;
}

/** Reads one op at `pc` (GetScriptOp); null when a push runs past the end. */
export function readOp(s: Uint8Array, pc: number): { op: ScriptOp; next: number } | null {
  if (pc >= s.length) return null;
  const opcode = s[pc]!;
  let at = pc + 1;
  if (opcode > OP.OP_PUSHDATA4) return { op: { opcode, offset: pc }, next: at };
  let size: number;
  if (opcode < OP.OP_PUSHDATA1) size = opcode;
  else if (opcode === OP.OP_PUSHDATA1) {
    if (at + 1 > s.length) return null;
    size = s[at]!;
    at += 1;
  } else if (opcode === OP.OP_PUSHDATA2) {
    if (at + 2 > s.length) return null;
    size = s[at]! | (s[at + 1]! << 8);
    at += 2;
  } else {
    if (at + 4 > s.length) return null;
    size = (s[at]! | (s[at + 1]! << 8) | (s[at + 2]! << 16) | (s[at + 3]! << 24)) >>> 0;
    at += 4;
  }
  if (size > s.length - at) return null;
  return { op: { opcode, data: s.subarray(at, at + size), offset: pc }, next: at + size };
}

export function parseScript(s: Uint8Array): Result<ScriptOp[], ScriptParseError> {
  const ops: ScriptOp[] = [];
  let pc = 0;
  while (pc < s.length) {
    const r = readOp(s, pc);
    if (r === null) return err({ kind: 'truncated-push', offset: pc });
    ops.push(r.op);
    pc = r.next;
  }
  return ok(ops);
}

const SIGHASH_NAMES = new Map<number, string>([
  [0x01, 'ALL'],
  [0x81, 'ALL|ANYONECANPAY'],
  [0x02, 'NONE'],
  [0x82, 'NONE|ANYONECANPAY'],
  [0x03, 'SINGLE'],
  [0x83, 'SINGLE|ANYONECANPAY'],
]);

/**
 * Core's ScriptToAsmStr: small pushes as numbers, others as hex. With `attemptSighashDecode` (Core
 * does this for scriptSigs), a push that is a strictly encoded signature shows its hash type as
 * "[ALL]" etc. instead of the last byte.
 */
export function toAsm(s: Uint8Array, attemptSighashDecode = false): string {
  const words: string[] = [];
  const decodeSigs = attemptSighashDecode && !isOpReturn(s);
  let pc = 0;
  while (pc < s.length) {
    const r = readOp(s, pc);
    if (r === null) {
      words.push('[error]');
      break;
    }
    const { op } = r;
    if (op.data !== undefined) {
      if (op.data.length <= 4) {
        const n = decodeScriptNum(op.data, false);
        words.push(n.ok ? n.value.toString() : hex(op.data));
      } else {
        const name =
          decodeSigs && isValidSignatureEncoding(op.data)
            ? SIGHASH_NAMES.get(op.data[op.data.length - 1]!)
            : undefined;
        words.push(name === undefined ? hex(op.data) : `${hex(op.data.subarray(0, -1))}[${name}]`);
      }
    } else words.push(opcodeName(op.opcode));
    pc = r.next;
  }
  return words.join(' ');
}

// Names ParseScript accepts: every named opcode from OP_NOP up plus OP_RESERVED, with or without "OP_".
const PARSE_NAMES = new Map<string, number>();
for (const [name, code] of Object.entries(OP)) {
  if (code < OP.OP_NOP && code !== OP.OP_RESERVED) continue;
  PARSE_NAMES.set(name, code);
  PARSE_NAMES.set(name.slice(3), code);
}

export class ScriptTextError extends Error {}

/**
 * Bitcoin Core's ParseScript (core_read.cpp), the text form of script_tests.json: decimal numbers
 * (pushed as CScriptNum), `0x..` raw bytes inserted as-is, `'text'` pushed, opcode names with or
 * without OP_. Throws ScriptTextError on an unknown word: this is for tests and tools, not the wire.
 */
export function parseScriptText(text: string): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const w of text.split(/[ \t\n]/)) {
    if (w === '') continue;
    if (/^-?[0-9]+$/.test(w) && w !== '-') {
      const n = BigInt(w);
      if (n > 0xffffffffn || n < -0xffffffffn) {
        throw new ScriptTextError(
          `decimal numeric value only allowed in the range -0xFFFFFFFF...0xFFFFFFFF: ${w}`,
        );
      }
      parts.push(pushNumber(n));
    } else if (w.startsWith('0x') && w.length > 2 && /^([0-9a-fA-F]{2})+$/.test(w.slice(2))) {
      parts.push(fromHex(w.slice(2)));
    } else if (w.length >= 2 && w.startsWith("'") && w.endsWith("'")) {
      parts.push(pushDataRaw(new TextEncoder().encode(w.slice(1, -1))));
    } else {
      const code = PARSE_NAMES.get(w);
      if (code === undefined) throw new ScriptTextError(`script parse error: unknown opcode ${w}`);
      parts.push(new Uint8Array([code]));
    }
  }
  return concat(...parts);
}

// ---------------------------------------------------------------------------------------------
// Templates.

function requireLength(b: Uint8Array, n: number, what: string): void {
  if (b.length !== n) throw new RangeError(`${what} must be ${n} bytes, got ${b.length}`);
}

export function p2pkh(pubkeyHash: Uint8Array): Uint8Array {
  requireLength(pubkeyHash, 20, 'P2PKH hash');
  return script(OP.OP_DUP, OP.OP_HASH160, pubkeyHash, OP.OP_EQUALVERIFY, OP.OP_CHECKSIG);
}

export function p2sh(scriptHash: Uint8Array): Uint8Array {
  requireLength(scriptHash, 20, 'P2SH hash');
  return script(OP.OP_HASH160, scriptHash, OP.OP_EQUAL);
}

export function p2shOfScript(redeemScript: Uint8Array): Uint8Array {
  return p2sh(hash160(redeemScript));
}

/** Witness program output: OP_n <program>. */
export function witnessOutput(version: number, program: Uint8Array): Uint8Array {
  if (!Number.isInteger(version) || version < 0 || version > 16)
    throw new RangeError(`bad witness version ${version}`);
  if (program.length < 2 || program.length > 40)
    throw new RangeError(`bad witness program length ${program.length}`);
  return concat(new Uint8Array([version === 0 ? OP.OP_0 : OP.OP_1 + version - 1]), pushDataRaw(program));
}

export function p2wpkh(pubkeyHash: Uint8Array): Uint8Array {
  requireLength(pubkeyHash, 20, 'P2WPKH hash');
  return witnessOutput(0, pubkeyHash);
}

export function p2wpkhOfKey(pubkey: Uint8Array): Uint8Array {
  return p2wpkh(hash160(pubkey));
}

export function p2wsh(scriptHash: Uint8Array): Uint8Array {
  requireLength(scriptHash, 32, 'P2WSH hash');
  return witnessOutput(0, scriptHash);
}

export function p2wshOfScript(witnessScript: Uint8Array): Uint8Array {
  return p2wsh(sha256(witnessScript));
}

/** P2TR output for an (already tweaked) x-only output key. */
export function p2tr(outputKey: Uint8Array): Uint8Array {
  requireLength(outputKey, 32, 'P2TR output key');
  return witnessOutput(1, outputKey);
}

/** OP_RETURN <data> (an empty data gives a bare OP_RETURN). */
export function opReturn(data?: Uint8Array): Uint8Array {
  return data === undefined
    ? new Uint8Array([OP.OP_RETURN])
    : concat(new Uint8Array([OP.OP_RETURN]), pushDataRaw(data));
}

// ---------------------------------------------------------------------------------------------
// Classifiers.

export interface WitnessProgram {
  readonly version: number;
  readonly program: Uint8Array;
}

/** Core's IsWitnessProgram: OP_0..OP_16 followed by one direct push of 2..40 bytes, nothing else. */
export function witnessProgram(s: Uint8Array): WitnessProgram | null {
  if (s.length < 4 || s.length > 42) return null;
  const v = s[0]!;
  if (v !== OP.OP_0 && (v < OP.OP_1 || v > OP.OP_16)) return null;
  if (s[1]! + 2 !== s.length) return null;
  return { version: v === OP.OP_0 ? 0 : v - OP.OP_1 + 1, program: s.subarray(2) };
}

export function isP2WPKH(s: Uint8Array): boolean {
  return s.length === 22 && s[0] === OP.OP_0 && s[1] === 20;
}

export function isP2WSH(s: Uint8Array): boolean {
  return s.length === 34 && s[0] === OP.OP_0 && s[1] === 32;
}

export function isP2TR(s: Uint8Array): boolean {
  return s.length === 34 && s[0] === OP.OP_1 && s[1] === 32;
}

export function isP2PKH(s: Uint8Array): boolean {
  return (
    s.length === 25 &&
    s[0] === OP.OP_DUP &&
    s[1] === OP.OP_HASH160 &&
    s[2] === 20 &&
    s[23] === OP.OP_EQUALVERIFY &&
    s[24] === OP.OP_CHECKSIG
  );
}

/** Core's IsPayToScriptHash: exactly OP_HASH160 <20 bytes> OP_EQUAL. */
export function isP2SH(s: Uint8Array): boolean {
  return s.length === 23 && s[0] === OP.OP_HASH160 && s[1] === 20 && s[22] === OP.OP_EQUAL;
}

/** Provably unspendable (Core's IsUnspendable): starts with OP_RETURN or is over the size limit. */
export function isOpReturn(s: Uint8Array): boolean {
  return (s.length > 0 && s[0] === OP.OP_RETURN) || s.length > MAX_SCRIPT_SIZE;
}

/** Core's IsPushOnly: only push opcodes (OP_RESERVED counts, as in Core) and well-formed pushes. */
export function isPushOnly(s: Uint8Array): boolean {
  let pc = 0;
  while (pc < s.length) {
    const r = readOp(s, pc);
    if (r === null) return false;
    if (r.op.opcode > OP.OP_16) return false;
    pc = r.next;
  }
  return true;
}

export type OutputType =
  | 'p2pkh'
  | 'p2sh'
  | 'p2wpkh'
  | 'p2wsh'
  | 'p2tr'
  | 'witness_unknown'
  | 'nulldata'
  | 'nonstandard';

export function classifyOutput(s: Uint8Array): OutputType {
  if (isP2PKH(s)) return 'p2pkh';
  if (isP2SH(s)) return 'p2sh';
  if (isP2WPKH(s)) return 'p2wpkh';
  if (isP2WSH(s)) return 'p2wsh';
  if (isP2TR(s)) return 'p2tr';
  if (witnessProgram(s) !== null) return 'witness_unknown';
  if (s.length > 0 && s[0] === OP.OP_RETURN && isPushOnly(s.subarray(1))) return 'nulldata';
  return 'nonstandard';
}
