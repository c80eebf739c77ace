import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fromHex, hex } from '../../src/core/bytes.ts';
import { appendTlvRecords, readRawTlvRecords, writeRawTlvRecords } from '../../src/routing/tlv-records.ts';

test('raw TLV records: even unknown types (keysend) are kept, with their offsets', () => {
  // Record 2 takes 3 bytes (type, length, value), so keysend's record starts at offset 3.
  const ks = 5482373484n;
  const bytes = writeRawTlvRecords([
    { type: ks, value: new Uint8Array([0xaa, 0xbb]) },
    { type: 2n, value: new Uint8Array([7]) },
  ]);
  const r = readRawTlvRecords(bytes);
  assert.ok(r.ok);
  assert.deepEqual(
    r.value.map((x) => [x.type, hex(x.value), x.offset]),
    [
      [2n, '07', 0],
      [ks, 'aabb', 3],
    ],
  );
});

test('raw TLV records: BOLT 1 stream rules are enforced', () => {
  assert.equal(readRawTlvRecords(fromHex('0201000201ff')).ok, false, 'duplicate type');
  assert.equal(readRawTlvRecords(fromHex('04010002010f')).ok, false, 'decreasing types');
  assert.equal(readRawTlvRecords(fromHex('fd000101ff')).ok, false, 'non-minimal type');
  assert.equal(readRawTlvRecords(fromHex('0203ffff')).ok, false, 'length past the end');
  assert.equal(readRawTlvRecords(fromHex('02')).ok, false, 'missing length');
  const e = readRawTlvRecords(fromHex('0201000101ff'));
  assert.ok(!e.ok && e.error.offset === 3 && e.error.type === 1n);
  assert.throws(() =>
    writeRawTlvRecords([
      { type: 1n, value: new Uint8Array() },
      { type: 1n, value: new Uint8Array() },
    ]),
  );
});

test('raw TLV records: write then read is the identity', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(
        fc.record({
          type: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
          value: fc.uint8Array({ maxLength: 300 }),
        }),
        { selector: (r) => r.type, maxLength: 8 },
      ),
      (recs) => {
        const r = readRawTlvRecords(writeRawTlvRecords(recs));
        assert.ok(r.ok);
        const sorted = [...recs].sort((a, b) => (a.type < b.type ? -1 : 1));
        assert.deepEqual(
          r.value.map((x) => [x.type, hex(x.value)]),
          sorted.map((x) => [x.type, hex(x.value)]),
        );
      },
    ),
    { numRuns: 300 },
  );
});

test('raw TLV records: appended records land in type order; a clash or a bad payload throws', () => {
  const recs = fc.uniqueArray(
    fc.record({ type: fc.bigInt({ min: 0n, max: 2n ** 40n }), value: fc.uint8Array({ maxLength: 40 }) }),
    { selector: (r) => r.type, minLength: 2, maxLength: 8 },
  );
  fc.assert(
    fc.property(recs, fc.nat(), (rs, k) => {
      // Any split of the records into a payload and extras gives the same stream as writing them all.
      const cut = k % rs.length;
      const appended = appendTlvRecords(writeRawTlvRecords(rs.slice(cut)), rs.slice(0, cut));
      assert.equal(hex(appended), hex(writeRawTlvRecords(rs)));
      assert.throws(() => appendTlvRecords(writeRawTlvRecords(rs), [rs[0]!]), /clashes/);
    }),
    { numRuns: 300 },
  );
  assert.throws(() => appendTlvRecords(Uint8Array.of(2, 5, 1), []), /does not parse/);
});
