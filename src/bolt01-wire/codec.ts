// The one generic codec engine: it reads the generated table (spec-table.ts) and encodes/decodes fields,
// subtypes and TLV streams. There are no per-message serializers anywhere (DESIGN.md rule 4).
//
// Values: integers up to 32 bits are numbers; u64, s64, tu64, bigsize and short_channel_id are bigints;
// `N*byte` arrays and fixed-size types (point, sha256, ...) are Uint8Array; `*utf8` arrays are strings;
// other arrays are JS arrays; subtypes are objects keyed by field name; TLV streams are objects keyed by
// record name (each record an object of its fields) plus `unknown` for unknown odd records.
import { BigSizeError, decodeBigSize, encodeBigSize } from '../core/bigsize.ts';
import { readU16be, readU32be, readU64be } from '../core/bytes.ts';
import { isPublicKey } from '../crypto/index.ts';
import { DecodeFail, WireEncodeError, type WireError } from './errors.ts';
import { specTable } from './spec-table.ts';
import type { FieldDef, UnknownTlv } from './types.ts';

type Obj = Record<string, unknown>;

// ---- compiled view of the table ---------------------------------------------------------------------------

type RecordDef = { readonly name: string; readonly type: bigint; readonly fields: readonly FieldDef[] };
export type StreamDef = {
  readonly name: string;
  readonly byType: ReadonlyMap<bigint, RecordDef>;
  readonly byName: ReadonlyMap<string, RecordDef>;
};

const FIXED_SIZE: Readonly<Record<string, number>> = {
  byte: 1,
  u8: 1,
  s8: 1,
  utf8: 1,
  u16: 2,
  s16: 2,
  u32: 4,
  s32: 4,
  u64: 8,
  s64: 8,
  short_channel_id: 8,
  chain_hash: 32,
  channel_id: 32,
  sha256: 32,
  point: 33,
  signature: 64,
  bip340sig: 64,
};

const TRUNCATED_MAX: Readonly<Record<string, number>> = { tu16: 2, tu32: 4, tu64: 8 };

const subtypes = specTable.subtypes as unknown as Readonly<Record<string, { fields: readonly FieldDef[] }>>;
const rawStreams = specTable.tlvStreams as unknown as Readonly<
  Record<string, { records: Readonly<Record<string, { type: number; fields: readonly FieldDef[] }>> }>
>;

/** The records of one TLV stream as the table spells them: record name to wire type and fields. */
export type StreamRecords = Readonly<
  Record<string, { readonly type: number; readonly fields: readonly FieldDef[] }>
>;

/** Compiles a stream's records for the engine (also for streams that are not in the spec table). */
export function compileStream(name: string, records: StreamRecords): StreamDef {
  const byType = new Map<bigint, RecordDef>();
  const byName = new Map<string, RecordDef>();
  for (const [recName, r] of Object.entries(records)) {
    const def: RecordDef = { name: recName, type: BigInt(r.type), fields: r.fields };
    byType.set(def.type, def);
    byName.set(recName, def);
  }
  return { name, byType, byName };
}

// Derived once from the constant table; never mutated afterwards.
const STREAMS: ReadonlyMap<string, StreamDef> = new Map(
  Object.entries(rawStreams).map(([n, raw]) => [n, compileStream(n, raw.records)] as const),
);
/** The extension of a message without a declared stream: BOLT 1's rules with no known records. */
export const EMPTY_STREAM: StreamDef = { name: 'extension', byType: new Map(), byName: new Map() };

export function streamDef(name: string): StreamDef | undefined {
  return STREAMS.get(name);
}

/** Byte size of one element of `type`, or null when variable (subtypes with arrays, bigsize, ...). */
function elementSize(type: string, trunc: number | undefined): number | null {
  if (trunc !== undefined) return trunc;
  const fixed = FIXED_SIZE[type];
  if (fixed !== undefined) return fixed;
  const sub = subtypes[type];
  if (sub) return fieldsSize(sub.fields);
  return null;
}

function fieldsSize(fields: readonly FieldDef[]): number | null {
  let total = 0;
  for (const f of fields) {
    const size = fieldSize(f);
    if (size === null) return null;
    total += size;
  }
  return total;
}

function fieldSize(f: FieldDef): number | null {
  const el = elementSize(f.type, f.trunc);
  if (el === null) return null;
  if (f.count === undefined) return el;
  return typeof f.count === 'number' ? f.count * el : null;
}

/** Every field list in the table, so derived facts about them are computed once, at load. */
function allFieldLists(): (readonly FieldDef[])[] {
  const t = specTable as unknown as {
    messages: Record<string, { fields: readonly FieldDef[] }>;
    failures: Record<string, { fields: readonly FieldDef[] }>;
  };
  return [
    ...Object.values(t.messages).map((m) => m.fields),
    ...Object.values(t.failures).map((f) => f.fields),
    ...Object.values(subtypes).map((s) => s.fields),
    ...Object.values(rawStreams).flatMap((s) => Object.values(s.records).map((r) => r.fields)),
  ];
}

function computeLengthFields(fields: readonly FieldDef[]): ReadonlySet<string> {
  return new Set(fields.flatMap((f) => (typeof f.count === 'string' && f.count !== '...' ? [f.count] : [])));
}

const LENGTH_FIELDS: ReadonlyMap<readonly FieldDef[], ReadonlySet<string>> = new Map(
  allFieldLists().map((fields) => [fields, computeLengthFields(fields)] as const),
);

/** Names of the fields that only carry the length of a later array: the encoder fills them in. */
export function lengthFields(fields: readonly FieldDef[]): ReadonlySet<string> {
  return LENGTH_FIELDS.get(fields) ?? computeLengthFields(fields);
}

// ---- reading ----------------------------------------------------------------------------------------------

export class Reader {
  constructor(
    readonly buf: Uint8Array,
    public pos: number,
    public end: number,
  ) {}
  get remaining(): number {
    return this.end - this.pos;
  }
  take(n: number, at: string): Uint8Array {
    if (n > this.end - this.pos) fail({ kind: 'truncated', at });
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  /** Consumes n bytes and returns where they start in `buf`: for integers read in place, with no copy. */
  skip(n: number, at: string): number {
    if (n > this.end - this.pos) fail({ kind: 'truncated', at });
    const start = this.pos;
    this.pos += n;
    return start;
  }
}

function fail(error: WireError): never {
  throw new DecodeFail(error);
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

export function readScalar(r: Reader, type: string, at: string): unknown {
  switch (type) {
    case 'byte':
    case 'u8':
    case 'utf8':
      return r.buf[r.skip(1, at)]!;
    case 's8':
      return (r.buf[r.skip(1, at)]! << 24) >> 24;
    case 'u16':
      return readU16be(r.buf, r.skip(2, at));
    case 's16':
      return (readU16be(r.buf, r.skip(2, at)) << 16) >> 16;
    case 'u32':
    case 's32': {
      const v = readU32be(r.buf, r.skip(4, at));
      return type === 'u32' ? v : v | 0;
    }
    case 'u64':
    case 's64':
    case 'short_channel_id': {
      const v = readU64be(r.buf, r.skip(8, at));
      return type === 's64' ? BigInt.asIntN(64, v) : v;
    }
    case 'tu16':
    case 'tu32':
    case 'tu64': {
      // A truncated integer is the final value of a TLV record: it takes every byte left in it.
      const n = r.remaining;
      if (n > TRUNCATED_MAX[type]!) fail({ kind: 'truncated_int_too_long', at });
      const b = r.take(n, at);
      if (n > 0 && b[0] === 0) fail({ kind: 'non_minimal_truncated_int', at });
      let v = 0n;
      for (const byte of b) v = (v << 8n) | BigInt(byte);
      return type === 'tu64' ? v : Number(v);
    }
    case 'bigsize': {
      // Fast path for the common one-byte form; everything else goes through core/bigsize.
      if (r.pos < r.end && r.buf[r.pos]! < 0xfd) return BigInt(r.buf[r.pos++]!);
      try {
        const { value, length } = decodeBigSize(r.buf.subarray(0, r.end), r.pos);
        r.pos += length;
        return value;
      } catch (e) {
        if (e instanceof BigSizeError)
          fail({ kind: e.message.includes('canonical') ? 'non_minimal_bigsize' : 'truncated', at });
        throw e;
      }
    }
    case 'point': {
      const p = r.take(33, at);
      if ((p[0] !== 2 && p[0] !== 3) || !isPublicKey(p)) fail({ kind: 'invalid_point', at });
      return p;
    }
    case 'sciddir_or_pubkey': {
      if (r.remaining < 1) fail({ kind: 'truncated', at });
      const first = r.buf[r.pos]!;
      if (first === 0 || first === 1) return r.take(9, at);
      if (first === 2 || first === 3) return readScalar(r, 'point', at);
      return fail({ kind: 'invalid_sciddir_or_pubkey', at });
    }
    default: {
      const size = FIXED_SIZE[type];
      if (size !== undefined) return r.take(size, at);
      const sub = subtypes[type];
      if (sub) return readFields(r, sub.fields, at);
      const stream = STREAMS.get(type);
      if (stream) return readStream(r, stream, at);
      throw new Error(`codec: type ${type} is not in the table`);
    }
  }
}

function readArray(r: Reader, f: FieldDef, count: number | null, limit: number, at: string): unknown {
  const bytewise = f.type === 'byte' || f.type === 'u8' || f.type === 'utf8';
  if (bytewise && f.trunc === undefined) {
    const n = count ?? limit - r.pos;
    if (n > limit - r.pos) fail({ kind: 'truncated', at });
    const bytes = r.take(n, at);
    if (f.type !== 'utf8') return bytes;
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      return fail({ kind: 'invalid_utf8', at });
    }
  }
  const out: unknown[] = [];
  const size = elementSize(f.type, f.trunc);
  if (count === null) {
    // `...*T`: as many elements as fit, exactly.
    if (size !== null && (limit - r.pos) % size !== 0) fail({ kind: 'length_not_multiple', at });
    const saved = r.end;
    r.end = limit;
    try {
      while (r.pos < limit) out.push(f.trunc !== undefined ? r.take(f.trunc, at) : readScalar(r, f.type, at));
    } finally {
      r.end = saved;
    }
    return out;
  }
  // Every element takes at least one byte: refuse absurd counts before looping.
  if (count > limit - r.pos) fail({ kind: 'truncated', at });
  for (let i = 0; i < count; i++) {
    out.push(f.trunc !== undefined ? r.take(f.trunc, at) : readScalar(r, f.type, at));
  }
  return out;
}

export function readFields(r: Reader, fields: readonly FieldDef[], at: string): Obj {
  const out: Obj = {};
  const lengths = new Map<string, number>();
  const hidden = lengthFields(fields);
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    const where = `${at}.${f.name}`;
    if (f.count === undefined) {
      const v = readScalar(r, f.type, where);
      if (hidden.has(f.name)) {
        // A bigsize/u64 length beyond any buffer is simply "truncated" when used.
        lengths.set(
          f.name,
          typeof v === 'bigint' ? (v > 0xffffffffn ? 0xffffffff : Number(v)) : (v as number),
        );
      } else {
        out[f.name] = v;
      }
      continue;
    }
    let count: number | null;
    let limit = r.end;
    if (typeof f.count === 'number') count = f.count;
    else if (f.count === '...') {
      count = null;
      const tail = fieldsSize(fields.slice(i + 1));
      if (tail === null) throw new Error(`codec: variable fields after ${where}`);
      if (tail > r.end - r.pos) fail({ kind: 'truncated', at: where });
      limit = r.end - tail;
    } else count = lengths.get(f.count)!;
    out[f.name] = readArray(r, f, count, limit, where);
  }
  return out;
}

export function readStream(r: Reader, stream: StreamDef, at: string): Obj {
  const out: Obj = {};
  const unknown: UnknownTlv[] = [];
  let prev = -1n;
  while (r.pos < r.end) {
    const type = readScalar(r, 'bigsize', `${at}.type`) as bigint;
    if (type <= prev) fail({ kind: 'tlv_not_increasing', at, tlvType: type });
    prev = type;
    const length = readScalar(r, 'bigsize', `${at}.length`) as bigint;
    if (length > BigInt(r.remaining)) fail({ kind: 'truncated', at: `${at}.value` });
    const len = Number(length);
    const rec = stream.byType.get(type);
    if (!rec) {
      if ((type & 1n) === 0n) fail({ kind: 'tlv_unknown_even', at, tlvType: type });
      unknown.push({ type, value: r.take(len, at) });
      continue;
    }
    const sub = new Reader(r.buf, r.pos, r.pos + len);
    const where = `${at}.${rec.name}`;
    try {
      out[rec.name] = readFields(sub, rec.fields, where);
    } catch (e) {
      // Inside a known record, running out of bytes means the record's length was wrong.
      if (e instanceof DecodeFail && e.error.kind === 'truncated')
        fail({ kind: 'tlv_length_mismatch', at: where, tlvType: type });
      throw e;
    }
    if (sub.pos !== sub.end) fail({ kind: 'tlv_length_mismatch', at: where, tlvType: type });
    r.pos += len;
  }
  if (unknown.length > 0) out.unknown = unknown;
  return out;
}

// ---- writing ----------------------------------------------------------------------------------------------

export class Writer {
  private chunks: Uint8Array[] = [];
  length = 0;
  push(b: Uint8Array): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

function bad(at: string, what: string): never {
  throw new WireEncodeError(`${at}: ${what}`);
}

function intBytes(v: unknown, bytes: number, signed: boolean, at: string): Uint8Array {
  let n: bigint;
  if (typeof v === 'number' && Number.isInteger(v)) n = BigInt(v);
  else if (typeof v === 'bigint') n = v;
  else return bad(at, `expected an integer, got ${typeof v}`);
  const bits = BigInt(bytes * 8);
  const min = signed ? -(1n << (bits - 1n)) : 0n;
  const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  if (n < min || n > max) bad(at, `${n} out of range for ${bytes * 8}-bit ${signed ? 'signed' : 'unsigned'}`);
  const u = BigInt.asUintN(Number(bits), n);
  const out = new Uint8Array(bytes);
  let x = u;
  for (let i = bytes - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

function fixedBytes(v: unknown, size: number, at: string): Uint8Array {
  if (!(v instanceof Uint8Array)) return bad(at, 'expected a Uint8Array');
  if (v.length !== size) bad(at, `expected ${size} bytes, got ${v.length}`);
  return v;
}

export function writeScalar(w: Writer, type: string, v: unknown, at: string): void {
  switch (type) {
    case 'byte':
    case 'u8':
    case 'utf8':
      w.push(intBytes(v, 1, false, at));
      return;
    case 's8':
      w.push(intBytes(v, 1, true, at));
      return;
    case 'u16':
      w.push(intBytes(v, 2, false, at));
      return;
    case 's16':
      w.push(intBytes(v, 2, true, at));
      return;
    case 'u32':
      w.push(intBytes(v, 4, false, at));
      return;
    case 's32':
      w.push(intBytes(v, 4, true, at));
      return;
    case 'u64':
    case 'short_channel_id':
      w.push(intBytes(v, 8, false, at));
      return;
    case 's64':
      w.push(intBytes(v, 8, true, at));
      return;
    case 'tu16':
    case 'tu32':
    case 'tu64': {
      const full = intBytes(v, TRUNCATED_MAX[type]!, false, at);
      let i = 0;
      while (i < full.length && full[i] === 0) i++;
      w.push(full.subarray(i));
      return;
    }
    case 'bigsize': {
      if (typeof v !== 'bigint' && !(typeof v === 'number' && Number.isInteger(v)))
        bad(at, 'expected an integer');
      const n = BigInt(v);
      if (n < 0n || n > 0xffffffffffffffffn) bad(at, 'bigsize out of range');
      w.push(encodeBigSize(n));
      return;
    }
    case 'point': {
      // Refuse what the decoder would refuse: encodings must always decode.
      const p = fixedBytes(v, 33, at);
      if ((p[0] !== 2 && p[0] !== 3) || !isPublicKey(p)) bad(at, 'not a valid compressed point');
      w.push(p);
      return;
    }
    case 'sciddir_or_pubkey': {
      if (!(v instanceof Uint8Array)) bad(at, 'expected a Uint8Array');
      const first = v[0];
      const scid = v.length === 9 && (first === 0 || first === 1);
      const point = v.length === 33 && (first === 2 || first === 3);
      if (!scid && !point) bad(at, 'expected 9 bytes starting 0/1 or a 33-byte point');
      if (point && !isPublicKey(v)) bad(at, 'not a valid compressed point');
      w.push(v);
      return;
    }
    default: {
      const size = FIXED_SIZE[type];
      if (size !== undefined) {
        w.push(fixedBytes(v, size, at));
        return;
      }
      const sub = subtypes[type];
      if (sub) {
        writeFields(w, sub.fields, asObj(v, at), at);
        return;
      }
      const stream = STREAMS.get(type);
      if (stream) {
        writeStream(w, stream, asObj(v, at), at);
        return;
      }
      throw new Error(`codec: type ${type} is not in the table`);
    }
  }
}

function asObj(v: unknown, at: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array)
    return bad(at, 'expected an object');
  return v as Obj;
}

/** Elements in an array field: bytes for byte arrays, UTF-8 bytes for utf8 arrays, else entries. */
function arrayLength(f: FieldDef, v: unknown, at: string): number {
  if (f.type === 'utf8' && f.trunc === undefined) {
    if (typeof v !== 'string') return bad(at, 'expected a string');
    return utf8Encoder.encode(v).length;
  }
  if ((f.type === 'byte' || f.type === 'u8') && f.trunc === undefined) {
    if (!(v instanceof Uint8Array)) return bad(at, 'expected a Uint8Array');
    return v.length;
  }
  if (!Array.isArray(v)) return bad(at, 'expected an array');
  return v.length;
}

function writeArray(w: Writer, f: FieldDef, v: unknown, at: string): void {
  if (f.trunc === undefined && f.type === 'utf8') {
    w.push(utf8Encoder.encode(v as string));
    return;
  }
  if (f.trunc === undefined && (f.type === 'byte' || f.type === 'u8')) {
    w.push(v as Uint8Array);
    return;
  }
  const items = v as unknown[];
  for (let i = 0; i < items.length; i++) {
    if (f.trunc !== undefined) w.push(fixedBytes(items[i], f.trunc, `${at}[${i}]`));
    else writeScalar(w, f.type, items[i], `${at}[${i}]`);
  }
}

export function writeFields(w: Writer, fields: readonly FieldDef[], value: Obj, at: string): void {
  const hidden = lengthFields(fields);
  // Length fields come from the arrays that name them; arrays sharing one length must agree.
  const lengths = new Map<string, number>();
  for (const f of fields) {
    const where = `${at}.${f.name}`;
    if (f.count === undefined) continue;
    const n = arrayLength(f, value[f.name], where);
    if (typeof f.count === 'number') {
      if (n !== f.count) bad(where, `expected ${f.count} elements, got ${n}`);
    } else if (f.count !== '...') {
      const prev = lengths.get(f.count);
      if (prev !== undefined && prev !== n) bad(where, `length ${f.count} disagrees with another array`);
      lengths.set(f.count, n);
    }
  }
  for (const f of fields) {
    const where = `${at}.${f.name}`;
    if (hidden.has(f.name)) {
      writeScalar(w, f.type, lengths.get(f.name)!, where);
    } else if (f.count === undefined) {
      if (!(f.name in value)) bad(where, 'missing field');
      writeScalar(w, f.type, value[f.name], where);
    } else {
      writeArray(w, f, value[f.name], where);
    }
  }
}

function recordBytes(rec: RecordDef, value: unknown, at: string): Uint8Array {
  const w = new Writer();
  writeFields(w, rec.fields, asObj(value, at), at);
  return w.bytes();
}

export function writeStream(w: Writer, stream: StreamDef, value: Obj, at: string): void {
  const records: { type: bigint; bytes: Uint8Array }[] = [];
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (key === 'unknown') {
      if (!Array.isArray(v)) bad(`${at}.unknown`, 'expected an array');
      for (const u of v as UnknownTlv[]) {
        if (typeof u?.type !== 'bigint' || !(u.value instanceof Uint8Array))
          bad(`${at}.unknown`, 'expected { type: bigint, value: Uint8Array }');
        if (u.type < 0n || u.type > 0xffffffffffffffffn) bad(`${at}.unknown`, 'type out of range');
        if (stream.byType.has(u.type)) bad(`${at}.unknown`, `type ${u.type} is a known record`);
        records.push({ type: u.type, bytes: u.value });
      }
      continue;
    }
    const rec = stream.byName.get(key);
    if (!rec) bad(`${at}.${key}`, `no record ${key} in stream ${stream.name}`);
    records.push({ type: rec.type, bytes: recordBytes(rec, v, `${at}.${key}`) });
  }
  records.sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  for (let i = 1; i < records.length; i++) {
    if (records[i]!.type === records[i - 1]!.type) bad(at, `duplicate TLV type ${records[i]!.type}`);
  }
  for (const rec of records) {
    w.push(encodeBigSize(rec.type));
    w.push(encodeBigSize(BigInt(rec.bytes.length)));
    w.push(rec.bytes);
  }
}

// ---- boundary ---------------------------------------------------------------------------------------------

/** Runs a decoder body, turning DecodeFail into an error value (any other exception is a bug and escapes). */
export function guard<T>(body: () => T): { ok: true; value: T } | { ok: false; error: WireError } {
  try {
    return { ok: true, value: body() };
  } catch (e) {
    if (e instanceof DecodeFail) return { ok: false, error: e.error };
    throw e;
  }
}
