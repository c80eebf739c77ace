// BOLT 7 address descriptors (node_announcement `addresses`, init `remote_addr`).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  decodeAddresses,
  encodeAddress,
  encodeAddresses,
  formatAddress,
  type NetAddress,
} from '../../src/bolt01-wire/index.ts';
import { concat, fromHex, hex } from '../../src/core/bytes.ts';

test('address descriptors: layouts and display forms', () => {
  const v4: NetAddress = { kind: 'ipv4', addr: Uint8Array.of(127, 0, 0, 1), port: 9735 };
  assert.equal(hex(encodeAddress(v4)), '017f0000012607');
  assert.equal(formatAddress(v4), '127.0.0.1:9735');
  const v6: NetAddress = { kind: 'ipv6', addr: fromHex('20010db8000000000000000000000001'), port: 9735 };
  assert.equal(formatAddress(v6), '[2001:db8:0:0:0:0:0:1]:9735');
  const dns: NetAddress = { kind: 'dns', hostname: 'node.example.com', port: 9735 };
  assert.equal(hex(encodeAddress(dns)), `0510${hex(new TextEncoder().encode('node.example.com'))}2607`);
  const tor: NetAddress = { kind: 'torv3', addr: new Uint8Array(35), port: 9735 };
  assert.equal(formatAddress(tor), `${'a'.repeat(56)}.onion:9735`);
  // Encoded in ascending type order, whatever the input order.
  const both = encodeAddresses([dns, v4]);
  assert.equal(both[0], 1);
  const back = decodeAddresses(both);
  assert.ok(back.ok);
  assert.deepEqual(back.value, { addresses: [v4, dns], unknownAt: null });
});

test('address descriptors: unknown type stops parsing, truncation and non-ASCII are errors', () => {
  const withUnknown = fromHex('017f0000012607' + '06aabbcc');
  assert.deepEqual(decodeAddresses(withUnknown), {
    ok: true,
    value: { addresses: [{ kind: 'ipv4', addr: Uint8Array.of(127, 0, 0, 1), port: 9735 }], unknownAt: 7 },
  });
  assert.deepEqual(decodeAddresses(fromHex('017f00000126')), {
    ok: false,
    error: { kind: 'truncated', at: 'addresses[0]' },
  });
  assert.deepEqual(decodeAddresses(fromHex('0501e92607')), {
    ok: false,
    error: { kind: 'invalid_address', at: 'addresses[0]' },
  });
  assert.deepEqual(decodeAddresses(new Uint8Array(0)), {
    ok: true,
    value: { addresses: [], unknownAt: null },
  });
});

test('address descriptors: round-trip property and no exceptions on random input', () => {
  const port = fc.integer({ min: 0, max: 65535 });
  const addr: fc.Arbitrary<NetAddress> = fc
    .oneof(
      fc.record({
        kind: fc.constant('ipv4' as const),
        addr: fc.uint8Array({ minLength: 4, maxLength: 4 }),
        port,
      }),
      fc.record({
        kind: fc.constant('ipv6' as const),
        addr: fc.uint8Array({ minLength: 16, maxLength: 16 }),
        port,
      }),
      fc.record({
        kind: fc.constant('torv2' as const),
        data: fc.uint8Array({ minLength: 12, maxLength: 12 }),
      }),
      fc.record({
        kind: fc.constant('torv3' as const),
        addr: fc.uint8Array({ minLength: 35, maxLength: 35 }),
        port,
      }),
      fc.record({
        kind: fc.constant('dns' as const),
        hostname: fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
        port,
      }),
    )
    .map((a) => ({ ...a }) as NetAddress);
  const order = { ipv4: 1, ipv6: 2, torv2: 3, torv3: 4, dns: 5 } as const;
  fc.assert(
    fc.property(fc.array(addr, { maxLength: 5 }), (list) => {
      const sorted = [...list].sort((x, y) => order[x.kind] - order[y.kind]);
      const r = decodeAddresses(encodeAddresses(list));
      assert.ok(r.ok);
      assert.deepEqual(r.value.addresses, sorted);
    }),
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
      const r = decodeAddresses(bytes);
      if (!r.ok) return;
      // Everything parsed re-encodes to exactly the bytes before the first unknown descriptor.
      const upto = r.value.unknownAt ?? bytes.length;
      assert.equal(hex(concat(...r.value.addresses.map(encodeAddress))), hex(bytes.subarray(0, upto)));
    }),
    { numRuns: 2000 },
  );
});
