// The binary plain-data format: every kind of value round-trips exactly, and corrupt bytes come back as
// an error, never a throw.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodePlainBinary, encodePlainBinary } from '../../src/core/plain-binary.ts';

const roundTrip = (v: unknown): unknown => {
  const r = decodePlainBinary(encodePlainBinary(v));
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.value;
};

test('every kind of value round-trips exactly', () => {
  const values: unknown[] = [
    undefined,
    null,
    true,
    false,
    0,
    -0,
    1,
    -1,
    127,
    128,
    2 ** 31,
    -(2 ** 31) - 1,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
    2 ** 60,
    0.5,
    -1e-300,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    0n,
    -1n,
    2n ** 53n - 1n,
    -(2n ** 53n) + 1n,
    2n ** 53n,
    -(2n ** 53n),
    2n ** 64n - 1n,
    -(2n ** 200n),
    '',
    'a',
    'é中😀',
    'x'.repeat(100_000),
    new Uint8Array(),
    new Uint8Array([0, 1, 255]),
    new Uint8Array(1366).fill(9),
    [],
    [1, [2, [3]], undefined, null],
    {},
    { a: 1, b: undefined, c: { a: 2, d: [{ a: 3 }] } },
    { __proto__key: 1, constructor: 'x', ['__proto__']: 5 },
  ];
  for (const v of values) assert.deepStrictEqual(roundTrip(v), v);
  assert.ok(Object.is(roundTrip(-0), -0));
});

test('Buffers come back as plain Uint8Arrays that own their bytes', () => {
  const back = roundTrip({ b: Buffer.from([1, 2, 3]) }) as { b: Uint8Array };
  assert.equal(back.b.constructor, Uint8Array);
  assert.deepEqual([...back.b], [1, 2, 3]);
  const enc = encodePlainBinary(new Uint8Array([4, 5]));
  const r = decodePlainBinary(enc);
  assert.ok(r.ok);
  enc.fill(0);
  assert.deepEqual([...(r.value as Uint8Array)], [4, 5]);
});

test('a sparse array comes back with undefined in its holes', () => {
  // biome-ignore lint/suspicious/noSparseArray: the hole is the point
  assert.deepEqual(roundTrip([1, , 3]), [1, undefined, 3]);
});

test('a "__proto__" key stays an own property and never sets the prototype', () => {
  const v = JSON.parse('{"__proto__": {"polluted": true}}');
  const back = roundTrip(v) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
  assert.equal((back as { polluted?: boolean }).polluted, undefined);
  assert.deepEqual(Object.keys(back), ['__proto__']);
});

test('repeated keys and short strings are written once', () => {
  const values = encodePlainBinary(Array.from({ length: 100 }, () => 'update_add_htlc')).length;
  assert.ok(values < 100 * 2 + 20, `${values} bytes`);
  const long = 'x'.repeat(41);
  assert.ok(encodePlainBinary([long, long]).length > 2 * 41, 'long strings are not interned');
  const many = encodePlainBinary(Array.from({ length: 100 }, () => ({ paymentHash: 1 }))).length;
  // Per object: its tag, key count, key reference, value tag, value (the key's 11 letters only once).
  assert.ok(many < 100 * 5 + 20, `${many} bytes`);
});

test('anything that is not plain data is refused when writing', () => {
  assert.throws(() => encodePlainBinary(new Map()), TypeError);
  assert.throws(() => encodePlainBinary({ f: () => 1 }), TypeError);
  assert.throws(() => encodePlainBinary(Symbol('s')), TypeError);
  assert.throws(() => encodePlainBinary(new Date()), TypeError);
  let deep: unknown = 1;
  for (let i = 0; i < 1000; i++) deep = [deep];
  assert.throws(() => encodePlainBinary(deep), TypeError);
});

test('corrupt bytes give a clear error, never a throw', () => {
  const good = encodePlainBinary({ a: [1n, 'x', new Uint8Array(40)], b: { a: 2 ** 40 } });
  const cases: Uint8Array[] = [
    new Uint8Array(),
    new Uint8Array([200]),
    Uint8Array.from([...good, 0]),
    new Uint8Array([10, 0xff, 0xff, 0xff, 0xff, 0x7f]), // an array of 34 billion items
    new Uint8Array([11, 1, 2, 0]), // a reference to a key never sent
    new Uint8Array([8, 2, 0xff, 0xfe]), // bad UTF-8
    new Uint8Array([12, 5, 0xff, 0xfe]), // bad UTF-8 in a name
    new Uint8Array([12, 4]), // a reference to a name never sent
    new Uint8Array([7, 0, 8, 2, 0x7a, 0x7a]), // big bigint with non-hex digits
    new Uint8Array([4, ...new Array(12).fill(0xff), 1]), // varint too long
    new Uint8Array(5000).fill(10).map((b, i) => (i % 2 ? 1 : b)), // arrays nested too deeply
  ];
  for (let n = 0; n < good.length; n++) cases.push(good.subarray(0, n));
  for (const c of cases) {
    const r = decodePlainBinary(c);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error, /^corrupt plain data: |bytes after the value/);
  }
});

test('random bytes never throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      decodePlainBinary(bytes);
    }),
    { numRuns: 3000 },
  );
});

test('random plain values round-trip (property)', () => {
  const plain = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.constant(undefined),
      fc.constant(null),
      fc.boolean(),
      fc.double(),
      fc.integer(),
      fc.bigInt(),
      fc.string({ unit: 'grapheme' }),
      fc.uint8Array(),
      fc.array(tie('value')),
      fc.dictionary(fc.string(), tie('value'), { noNullPrototype: true }),
    ),
  })).value;
  fc.assert(
    fc.property(plain, (v) => {
      assert.deepStrictEqual(roundTrip(v), v);
    }),
    { numRuns: 500 },
  );
});
