// A compact binary encoding of plain data (what channel states, outbox events and records hold):
// undefined, null, booleans, numbers, bigints, strings, Uint8Arrays, arrays and objects of those.
// Written for durable records, so the format is ours and fixed (not V8's serializer, whose writer
// changes with Node versions): a tag byte per value, unsigned LEB128 varints for lengths, zigzag for
// signed integers, raw bytes for Uint8Array (no hex), and names (object keys and short strings) sent
// once per value tree and then referred to by index (a state repeats the same few dozen keys and
// strings such as 'update_add_htlc' thousands of times).
// Decoding never throws: bad bytes come back as an error Result.
import { err, ok, type Result } from './result.ts';

const T_UNDEFINED = 0;
const T_NULL = 1;
const T_FALSE = 2;
const T_TRUE = 3;
/** An integer within +-2^52 (its zigzag form is still a safe integer), zigzag varint. */
const T_INT = 4;
/** Any other number, float64 little-endian. */
const T_FLOAT = 5;
/** A bigint within +-2^52, zigzag varint. */
const T_BIGINT_SMALL = 6;
/** Any other bigint: sign byte, then its magnitude as a hex string. */
const T_BIGINT_BIG = 7;
/** A string of more than NAME_MAX_LENGTH units: byte length, UTF-8. */
const T_STRING = 8;
const T_BYTES = 9;
const T_ARRAY = 10;
const T_OBJECT = 11;
/** A short string, written as a name (see Writer.name). */
const T_NAME = 12;

/** Deeper than any state we keep: corrupt input cannot exhaust the stack. */
const MAX_DEPTH = 200;
const SMALL_INT = 2 ** 52;
const SMALL_BIGINT = 2n ** 52n;
/** Strings up to this many UTF-16 units go into the name table. */
const NAME_MAX_LENGTH = 40;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Float64 bytes are written through this, little-endian whatever the platform. */
const floatScratch = new DataView(new ArrayBuffer(8));
const floatBytes = new Uint8Array(floatScratch.buffer);

class Writer {
  // Small to start: most records (events, small states) are a few hundred bytes.
  buf = new Uint8Array(512);
  pos = 0;
  readonly names = new Map<string, number>();

  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  /** Unsigned varint of a non-negative safe integer (arithmetic, not bitwise: values exceed 32 bits). */
  varint(n: number): void {
    this.room(8);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }

  zigzag(n: number): void {
    this.varint(n >= 0 ? n * 2 : -n * 2 - 1);
  }

  raw(bytes: Uint8Array): void {
    this.varint(bytes.length);
    this.room(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** UTF-8 bytes, preceded by varint(byte length * scale + add). */
  utf8(s: string, scale: number, add: number): void {
    let ascii = true;
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (!ascii) {
      const bytes = utf8.encode(s);
      this.varint(bytes.length * scale + add);
      this.room(bytes.length);
      this.buf.set(bytes, this.pos);
      this.pos += bytes.length;
      return;
    }
    this.varint(s.length * scale + add);
    this.room(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
  }

  string(s: string): void {
    this.utf8(s, 1, 0);
  }

  /** A name seen before in this value is its index * 2; a new one is (byte length * 2 + 1), bytes. */
  name(s: string): void {
    const known = this.names.get(s);
    if (known !== undefined) this.varint(known * 2);
    else {
      this.names.set(s, this.names.size);
      this.utf8(s, 2, 1);
    }
  }

  value(v: unknown, depth: number): void {
    if (depth > MAX_DEPTH) throw new TypeError('plain value nested too deeply');
    switch (typeof v) {
      case 'undefined':
        this.byte(T_UNDEFINED);
        break;
      case 'boolean':
        this.byte(v ? T_TRUE : T_FALSE);
        break;
      case 'number':
        if (Number.isInteger(v) && v > -SMALL_INT && v < SMALL_INT && !Object.is(v, -0)) {
          this.byte(T_INT);
          this.zigzag(v);
        } else {
          this.byte(T_FLOAT);
          this.room(8);
          floatScratch.setFloat64(0, v, true);
          this.buf.set(floatBytes, this.pos);
          this.pos += 8;
        }
        break;
      case 'bigint':
        if (v > -SMALL_BIGINT && v < SMALL_BIGINT) {
          this.byte(T_BIGINT_SMALL);
          this.zigzag(Number(v));
        } else {
          this.byte(T_BIGINT_BIG);
          this.byte(v < 0n ? 1 : 0);
          this.string((v < 0n ? -v : v).toString(16));
        }
        break;
      case 'string':
        if (v.length <= NAME_MAX_LENGTH) {
          this.byte(T_NAME);
          this.name(v);
        } else {
          this.byte(T_STRING);
          this.string(v);
        }
        break;
      case 'object':
        if (v === null) this.byte(T_NULL);
        else if (v instanceof Uint8Array) {
          this.byte(T_BYTES);
          this.raw(v);
        } else if (Array.isArray(v)) {
          this.byte(T_ARRAY);
          this.varint(v.length);
          // Index access, not for-of: holes (a sparse array) are written as undefined.
          for (let i = 0; i < v.length; i++) this.value(v[i], depth + 1);
        } else this.object(v as Record<string, unknown>, depth);
        break;
      default:
        throw new TypeError(`not plain data: ${typeof v}`);
    }
  }

  object(o: Record<string, unknown>, depth: number): void {
    const proto = Object.getPrototypeOf(o);
    if (proto !== Object.prototype && proto !== null)
      throw new TypeError(`not plain data: ${proto?.constructor?.name ?? 'object'}`);
    const keys = Object.keys(o);
    this.byte(T_OBJECT);
    this.varint(keys.length);
    for (const k of keys) {
      this.name(k);
      this.value(o[k], depth + 1);
    }
  }
}

/** Encodes plain data; throws a TypeError for anything else (a class instance, a function, a symbol). */
export function encodePlainBinary(value: unknown): Uint8Array {
  const w = new Writer();
  w.value(value, 0);
  return w.buf.slice(0, w.pos);
}

class Corrupt extends Error {}

class Reader {
  pos = 0;
  readonly names: string[] = [];
  constructor(readonly buf: Uint8Array) {}

  need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Corrupt(`truncated at byte ${this.pos}`);
  }

  byte(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  varint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      n += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new Corrupt(`varint too long at byte ${this.pos}`);
    }
    if (!Number.isSafeInteger(n)) throw new Corrupt(`varint out of range at byte ${this.pos}`);
    return n;
  }

  zigzag(): number {
    const z = this.varint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  bytes(): Uint8Array {
    const n = this.varint();
    this.need(n);
    // A copy: the value must not pin (or alias) the record's buffer.
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(): string {
    return this.utf8(this.varint());
  }

  utf8(n: number): string {
    this.need(n);
    const at = this.pos;
    this.pos += n;
    try {
      return fromUtf8.decode(this.buf.subarray(at, at + n));
    } catch {
      throw new Corrupt(`bad UTF-8 at byte ${at}`);
    }
  }

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) throw new Corrupt('nested too deeply');
    const tag = this.byte();
    switch (tag) {
      case T_UNDEFINED:
        return undefined;
      case T_NULL:
        return null;
      case T_FALSE:
        return false;
      case T_TRUE:
        return true;
      case T_INT:
        return this.zigzag();
      case T_FLOAT: {
        this.need(8);
        floatBytes.set(this.buf.subarray(this.pos, this.pos + 8));
        this.pos += 8;
        return floatScratch.getFloat64(0, true);
      }
      case T_BIGINT_SMALL:
        return BigInt(this.zigzag());
      case T_BIGINT_BIG: {
        const negative = this.byte();
        const digits = this.string();
        if (negative > 1 || !/^[0-9a-f]+$/.test(digits)) throw new Corrupt('bad bigint');
        const magnitude = BigInt(`0x${digits}`);
        return negative ? -magnitude : magnitude;
      }
      case T_STRING:
        return this.string();
      case T_NAME:
        return this.name();
      case T_BYTES:
        return this.bytes();
      case T_ARRAY: {
        const n = this.varint();
        // Every element takes at least one byte: a huge count in a short record is corrupt.
        if (n > this.buf.length - this.pos) throw new Corrupt(`array of ${n} cannot fit`);
        const out = new Array<unknown>(n);
        for (let i = 0; i < n; i++) out[i] = this.value(depth + 1);
        return out;
      }
      case T_OBJECT: {
        const n = this.varint();
        if (n > this.buf.length - this.pos) throw new Corrupt(`object of ${n} keys cannot fit`);
        const out: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) {
          const k = this.name();
          const v = this.value(depth + 1);
          // '__proto__' must become an own property, never the object's prototype.
          if (k === '__proto__')
            Object.defineProperty(out, k, { value: v, enumerable: true, writable: true });
          else out[k] = v;
        }
        return out;
      }
      default:
        throw new Corrupt(`unknown tag ${tag} at byte ${this.pos - 1}`);
    }
  }

  name(): string {
    const k = this.varint();
    if (k % 2 === 0) {
      const s = this.names[k / 2];
      if (s === undefined) throw new Corrupt(`unknown name reference ${k / 2}`);
      return s;
    }
    const s = this.utf8((k - 1) / 2);
    this.names.push(s);
    return s;
  }
}

/** Decodes what encodePlainBinary wrote; the whole input must be one value. */
export function decodePlainBinary(bytes: Uint8Array): Result<unknown, string> {
  const r = new Reader(bytes);
  try {
    const v = r.value(0);
    if (r.pos !== bytes.length) return err(`${bytes.length - r.pos} bytes after the value`);
    return ok(v);
  } catch (e) {
    // Corrupt, or anything the engine threw on absurd input (an allocation it refused).
    return err(`corrupt plain data: ${(e as Error).message}`);
  }
}
