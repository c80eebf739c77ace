// fast-check arbitraries generated from the message table: one for every message, failure, subtype and
// TLV stream, so a new row in the spec gets property tests without anyone writing a generator.
import fc from 'fast-check';
import { specTable } from '../../src/bolt01-wire/index.ts';
import type { FieldDef } from '../../src/bolt01-wire/types.ts';
import { publicKeyOf } from '../../src/crypto/index.ts';

type Obj = Record<string, unknown>;
const subtypes = specTable.subtypes as unknown as Record<string, { fields: readonly FieldDef[] }>;
const streams = specTable.tlvStreams as unknown as Record<
  string,
  { records: Record<string, { type: number; fields: readonly FieldDef[] }> }
>;

// Valid points: a few fixed secret keys are enough; the codec only checks the encoding.
const POINTS = Array.from({ length: 16 }, (_, i) => {
  const k = new Uint8Array(32);
  k[31] = i + 1;
  k[0] = 0x11;
  return new Uint8Array(publicKeyOf(k));
});
const point = fc.constantFrom(...POINTS);
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

const LENGTH_MAX: Record<string, number> = { byte: 255, u8: 255, u16: 65535, u32: 2 ** 32 - 1 };

function scalar(type: string): fc.Arbitrary<unknown> {
  switch (type) {
    case 'byte':
    case 'u8':
      return fc.integer({ min: 0, max: 255 });
    case 's8':
      return fc.integer({ min: -128, max: 127 });
    case 'u16':
    case 'tu16':
      return fc.integer({ min: 0, max: 65535 });
    case 's16':
      return fc.integer({ min: -32768, max: 32767 });
    case 'u32':
    case 'tu32':
      return fc.integer({ min: 0, max: 2 ** 32 - 1 });
    case 's32':
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case 'u64':
    case 'tu64':
    case 'bigsize':
    case 'short_channel_id':
      return fc.oneof(fc.bigInt({ min: 0n, max: 300n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));
    case 's64':
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case 'chain_hash':
    case 'channel_id':
    case 'sha256':
      return bytes(32);
    case 'signature':
    case 'bip340sig':
      return bytes(64);
    case 'point':
      return point;
    case 'sciddir_or_pubkey':
      return fc.oneof(
        fc.tuple(fc.integer({ min: 0, max: 1 }), bytes(8)).map(([d, s]) => Uint8Array.of(d, ...s)),
        point,
      );
    default: {
      if (type in subtypes) return fields(subtypes[type]!.fields);
      if (type in streams) return stream(type);
      throw new Error(`no arbitrary for ${type}`);
    }
  }
}

function array(f: FieldDef, maxFromLength: number): fc.Arbitrary<unknown> {
  const fixed = typeof f.count === 'number' ? f.count : undefined;
  const bytewise = (f.type === 'byte' || f.type === 'u8') && f.trunc === undefined;
  if (f.type === 'utf8') {
    return fc
      .string({ unit: 'grapheme', maxLength: 12 })
      .filter((s) => new TextEncoder().encode(s).length <= maxFromLength);
  }
  if (bytewise) {
    if (fixed !== undefined) return bytes(fixed);
    return fc.uint8Array({ maxLength: Math.min(40, maxFromLength) });
  }
  const element = f.trunc !== undefined ? bytes(f.trunc) : scalar(f.type);
  if (fixed !== undefined) return fc.array(element, { minLength: fixed, maxLength: fixed });
  return fc.array(element, { maxLength: Math.min(3, maxFromLength) });
}

export function fields(defs: readonly FieldDef[]): fc.Arbitrary<Obj> {
  const lengthType = new Map<string, string>();
  for (const f of defs) if (typeof f.count === 'string' && f.count !== '...') lengthType.set(f.count, '');
  for (const f of defs) if (lengthType.has(f.name)) lengthType.set(f.name, f.type);
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of defs) {
    if (lengthType.has(f.name)) continue;
    if (f.count === undefined) model[f.name] = scalar(f.type);
    else {
      const lt = typeof f.count === 'string' && f.count !== '...' ? lengthType.get(f.count)! : '';
      model[f.name] = array(f, LENGTH_MAX[lt] ?? 1_000_000);
    }
  }
  // fc.record builds null-prototype objects; decoders return plain ones.
  return fc.record(model).map((o) => ({ ...o }) as Obj);
}

/** Unknown odd records (types the stream does not define), sorted and unique like a decoder returns them. */
function unknownRecords(known: Set<bigint>): fc.Arbitrary<{ type: bigint; value: Uint8Array }[]> {
  const oddType = fc
    .oneof(fc.bigInt({ min: 0n, max: 600n }), fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }))
    .map((n) => n * 2n + 1n)
    .filter((t) => !known.has(t));
  return fc
    .uniqueArray(oddType, { maxLength: 3 })
    .chain((types) =>
      fc.tuple(
        ...types
          .sort((a, b) => (a < b ? -1 : 1))
          .map((type) => fc.uint8Array({ maxLength: 8 }).map((value) => ({ type, value }))),
      ),
    );
}

export function stream(name: string): fc.Arbitrary<Obj> {
  const recs = streams[name]!.records;
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [rec, def] of Object.entries(recs)) model[rec] = fields(def.fields);
  const known = new Set(Object.values(recs).map((r) => BigInt(r.type)));
  return fc.tuple(fc.record(model, { requiredKeys: [] }), unknownRecords(known)).map(([value, unknown]) => {
    const out: Obj = { ...value };
    if (unknown.length > 0) out.unknown = unknown;
    return out;
  });
}

/** An extension (no declared stream): only unknown odd records. */
export function extension(): fc.Arbitrary<Obj> {
  return unknownRecords(new Set()).map((unknown) => (unknown.length > 0 ? { unknown } : {}));
}

export function message(name: string): fc.Arbitrary<Obj> {
  const def = (
    specTable.messages as unknown as Record<string, { fields: readonly FieldDef[]; tlvs: string | null }>
  )[name]!;
  return fc
    .tuple(fields(def.fields), def.tlvs === null ? extension() : stream(def.tlvs))
    .map(([f, tlvs]) => ({ type: name, ...f, tlvs }));
}

export function failure(name: string): fc.Arbitrary<Obj> {
  const def = (specTable.failures as unknown as Record<string, { fields: readonly FieldDef[] }>)[name]!;
  return fc.tuple(fields(def.fields), extension()).map(([f, tlvs]) => ({ failure: name, ...f, tlvs }));
}

export function subtype(name: string): fc.Arbitrary<Obj> {
  return fields(subtypes[name]!.fields);
}
