// Unit tests for the pieces: amounts, words, features, fallbacks, and every decoder error path.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  bytesToWords,
  checkInvoiceFeatures,
  createInvoice,
  decodeInvoice,
  decodeToJson,
  descriptionMatches,
  encodeInvoice,
  fallbackAddress,
  fallbackFromAddress,
  featureBits,
  featuresFromBits,
  featuresFromWords,
  featuresToWords,
  formatAmount,
  formatShortChannelId,
  hasFeature,
  type InvoiceErrorCode,
  isExpired,
  parseHrp,
  parseShortChannelId,
  privateKeySigner,
  type TaggedField,
  uintToWords,
  wordsToBytesPadded,
  wordsToBytesStrict,
  wordsToUint,
} from '../../src/bolt11-invoice/index.ts';
import { concat, fromHex, hex, utf8 } from '../../src/core/bytes.ts';
import { msat } from '../../src/core/units.ts';
import { publicKeyOf, sha256 } from '../../src/crypto/index.ts';
import { D, HASH, KEY, P, rawInvoice, S, SECRET } from './helpers.ts';

test('hrp: amounts and multipliers', () => {
  const cases: [string, bigint | undefined][] = [
    ['lnbc', undefined],
    ['lnbc1', 100_000_000_000n],
    ['lnbc2500u', 250_000_000n],
    ['lnbc20m', 2_000_000_000n],
    ['lnbc10n', 1_000n],
    ['lnbc10p', 1n],
    ['lntbs1m', 100_000_000n],
    ['lnbcrt5u', 500_000n],
    ['lntb1500n', 150_000n],
  ];
  for (const [hrp, amount] of cases) {
    const r = parseHrp(hrp);
    assert.ok(r.ok, hrp);
    assert.equal(r.value.amount, amount, hrp);
  }
  const currencyOf = (h: string) => {
    const r = parseHrp(h);
    return r.ok ? r.value.currency : r.error.code;
  };
  assert.equal(currencyOf('lnbcrt'), 'bcrt');
  assert.equal(currencyOf('lntbs'), 'tbs');
  assert.equal(currencyOf('lntb'), 'tb');
  const bad: [string, InvoiceErrorCode][] = [
    ['lnsb1m', 'unknown_prefix'],
    ['bc1m', 'unknown_prefix'],
    ['lnbcx', 'unknown_prefix'],
    ['lnbc1x', 'invalid_multiplier'],
    ['lnbc1p', 'sub_millisatoshi'],
    ['lnbc011m', 'invalid_amount'],
    ['lnbc0', 'invalid_amount'],
    ['lnbc1mm', 'invalid_amount'],
    ['lnbc1m1', 'invalid_amount'],
    ['lnbc21000001', 'amount_too_large'],
  ];
  for (const [hrp, code] of bad) {
    const r = parseHrp(hrp);
    assert.equal(r.ok ? 'ok' : r.error.code, code, hrp);
  }
});

test('hrp: formatAmount is the shortest form and parses back (property)', () => {
  assert.equal(formatAmount(msat(250_000_000n)), '2500u');
  assert.equal(formatAmount(msat(967_878_534n)), '9678785340p');
  assert.equal(formatAmount(msat(100_000_000_000n)), '1');
  fc.assert(
    fc.property(fc.bigInt({ min: 1n, max: 2_100_000_000_000_000_000n }), (m) => {
      const text = formatAmount(msat(m));
      const r = parseHrp(`lnbc${text}`);
      assert.ok(r.ok);
      assert.equal(r.value.amount, m);
      // Shortest: the next larger unit would not be whole.
      assert.ok(!/^\d*000[munp]$/.test(text) || text.endsWith('p') === false);
    }),
    { numRuns: 2000 },
  );
});

test('words: bytes <-> words round trip and padding rules (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
      const w = bytesToWords(b);
      assert.equal(w.length, Math.ceil((b.length * 8) / 5));
      assert.deepEqual(wordsToBytesStrict(w), b);
      assert.deepEqual(wordsToBytesPadded(w).subarray(0, b.length), b);
    }),
  );
  // 52 words = 260 bits: the last 4 bits are padding and must be zero.
  const w = bytesToWords(HASH);
  const dirty = Uint8Array.from(w);
  dirty[51] = dirty[51]! | 1;
  assert.equal(wordsToBytesStrict(dirty), undefined);
  // A whole word of padding is not what a writer produces.
  assert.equal(wordsToBytesStrict(concat(bytesToWords(Uint8Array.of(0xab)), Uint8Array.of(0))), undefined);
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (v) => {
      const ws = uintToWords(v);
      assert.equal(wordsToUint(ws), v);
      assert.ok(ws.length === 1 || ws[0] !== 0);
    }),
  );
});

test('features: bit helpers and reader rules', () => {
  const f = featuresFromBits([8, 14, 99]);
  assert.deepEqual(featureBits(f), [8, 14, 99]);
  assert.ok(hasFeature(f, 99) && hasFeature(f, 8) && !hasFeature(f, 9) && !hasFeature(f, 1000));
  assert.deepEqual(featuresFromWords(featuresToWords(f)), f);
  assert.equal(featuresToWords(new Uint8Array(0)).length, 0);
  // The spec's "sgq" = bits 8 and 14.
  assert.deepEqual(featureBits(featuresFromWords(Uint8Array.of(16, 8, 0))), [8, 14]);
  assert.equal(checkInvoiceFeatures(featuresFromBits([8, 14, 99])), undefined);
  assert.equal(checkInvoiceFeatures(featuresFromBits([8, 14, 100]))?.code, 'unknown_required_feature');
  assert.equal(checkInvoiceFeatures(featuresFromBits([8, 14, 100]))?.bit, 100);
  assert.equal(checkInvoiceFeatures(featuresFromBits([8, 17]))?.code, 'missing_feature_dependency');
  assert.equal(checkInvoiceFeatures(featuresFromBits([8, 15, 17])), undefined);
  assert.equal(checkInvoiceFeatures(featuresFromBits([100]), new Set([100])), undefined);
});

test('fallbacks: addresses for each network, both ways', () => {
  const cases: [string, 'mainnet' | 'testnet' | 'signet' | 'regtest'][] = [
    ['1RustyRX2oai4EYYDpQGWvEL62BBGqN9T', 'mainnet'],
    ['3EktnHQD7RiAE6uzMj2ZifT9YgRrkSgzQX', 'mainnet'],
    ['bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', 'mainnet'],
    ['bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3', 'mainnet'],
    ['bc1pptdvg0d2nj99568qn6ssdy4cygnwuxgw2ukmnwgwz7jpqjz2kszse2s3lm', 'mainnet'],
    ['mk2QpYatsKicvFVuTAQLBryyccRXMUaGHP', 'testnet'],
    ['mk2QpYatsKicvFVuTAQLBryyccRXMUaGHP', 'signet'],
    ['tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx', 'testnet'],
    ['bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080', 'regtest'],
  ];
  for (const [addr, net] of cases) {
    const f = fallbackFromAddress(addr, net);
    assert.ok(f.ok, `${addr}: ${f.ok ? '' : f.error}`);
    assert.equal(fallbackAddress(f.value, net), addr);
  }
  assert.equal(fallbackFromAddress('1RustyRX2oai4EYYDpQGWvEL62BBGqN9T', 'testnet').ok, false);
  assert.equal(fallbackFromAddress('tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx', 'mainnet').ok, false);
  // bech32 (not bech32m) for a v1 program is refused (BIP 350).
  assert.equal(
    fallbackFromAddress(
      'bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx',
      'mainnet',
    ).ok,
    false,
  );
});

test('short channel ids', () => {
  assert.equal(formatShortChannelId(0x0102030405060708n), '66051x263430x1800');
  assert.equal(parseShortChannelId('66051x263430x1800'), 0x0102030405060708n);
  assert.equal(parseShortChannelId('1x2'), undefined);
  assert.equal(parseShortChannelId('16777216x0x0'), undefined);
});

test('expiry and description helpers', () => {
  const inv = { timestamp: 1000, expiry: 60 };
  assert.equal(isExpired(inv, 1060), false);
  assert.equal(isExpired(inv, 1061), true);
  const text = 'One piece of chocolate cake';
  assert.ok(descriptionMatches({ description: undefined, descriptionHash: sha256(utf8(text)) }, text));
  assert.ok(!descriptionMatches({ description: undefined, descriptionHash: sha256(utf8(text)) }, 'x'));
  assert.ok(descriptionMatches({ description: 'a', descriptionHash: undefined }, 'a'));
});

function decodeCode(s: string): string {
  const r = decodeInvoice(s);
  return r.ok ? 'ok' : r.error.code;
}

test('decoder: each error path has its typed reason', () => {
  const pub = publicKeyOf(KEY);
  const other = publicKeyOf(new Uint8Array(32).fill(7));
  const good = rawInvoice('lnbc1m', [P, S, D('ok')]);
  assert.equal(decodeCode(good), 'ok');
  assert.equal(decodeCode(good.toUpperCase()), 'ok');
  const cases: [string, string][] = [
    [rawInvoice('lnbc1m', [S, D('x')]), 'missing_payment_hash'],
    [rawInvoice('lnbc1m', [P, D('x')]), 'missing_payment_secret'],
    [rawInvoice('lnbc1m', [P, S]), 'missing_description'],
    [rawInvoice('lnbc1m', [P, S, D('x'), [1, bytesToWords(SECRET)]]), 'duplicate_field'],
    [rawInvoice('lnbc1m', [P, S, [16, bytesToWords(HASH)], D('x')]), 'duplicate_field'],
    [rawInvoice('lnbc1m', [P, S, D('x'), D('')]), 'duplicate_field'],
    [rawInvoice('lnbc1m', [P, S, [23, bytesToWords(HASH)], [23, bytesToWords(SECRET)]]), 'duplicate_field'],
    [rawInvoice('lnbc1m', [P, S, D('x'), P, S, D('x')]), 'ok'],
    [rawInvoice('lnbc1m', [P, S, [23, bytesToWords(HASH)], [23, bytesToWords(HASH)]]), 'ok'],
    [rawInvoice('lnbc1m', [P, S, D('x'), [5, new Uint8Array(0)]]), 'ok'],
    [rawInvoice('lnbc1m', [P, S, D('x'), [5, Uint8Array.of(0)]]), 'ok'],
    [rawInvoice('lnbc1m', [P, S, D('x'), [6, new Uint8Array(0)], [24, new Uint8Array(0)]]), 'ok'],
    [rawInvoice('lnbc1m', [P, S, D('x'), [6, Uint8Array.of(1)], [6, Uint8Array.of(2)]]), 'ok'],
    [rawInvoice('lnbc1m', [P, S, D('x'), [23, bytesToWords(HASH)]]), 'both_description_and_hash'],
    [rawInvoice('lnbc1m', [P, S, [13, bytesToWords(Uint8Array.of(0xff, 0xfe))]]), 'invalid_description'],
    [rawInvoice('lnbc1m', [P, S, D('x'), [6, Uint8Array.of(0, 1)]]), 'non_minimal_field'],
    [rawInvoice('lnbc1m', [P, S, D('x'), [24, Uint8Array.of(0, 1)]]), 'non_minimal_field'],
    [rawInvoice('lnbc1m', [P, S, D('x'), [5, Uint8Array.of(0, 16, 8, 0)]]), 'non_minimal_field'],
    [rawInvoice('lnbc1m', [P, S, D('x'), [6, new Uint8Array(12).fill(31)]]), 'field_overflow'],
    [
      rawInvoice('lnbc1m', [P, S, D('x'), [9, concat(Uint8Array.of(17), bytesToWords(new Uint8Array(19)))]]),
      'invalid_fallback',
    ],
    [
      rawInvoice('lnbc1m', [P, S, D('x'), [9, concat(Uint8Array.of(0), bytesToWords(new Uint8Array(25)))]]),
      'invalid_fallback',
    ],
    [rawInvoice('lnbc1m', [P, S, D('x'), [9, new Uint8Array(0)]]), 'invalid_fallback'],
    [rawInvoice('lnbc1m', [P, S, D('x'), [3, bytesToWords(new Uint8Array(50))]]), 'invalid_route_hint'],
    [rawInvoice('lnbc1m', [P, S, D('x'), [3, bytesToWords(new Uint8Array(51))]]), 'invalid_route_hint'],
    [rawInvoice('lnbc1m', [P, S, D('x'), [19, bytesToWords(new Uint8Array(33).fill(5))]]), 'invalid_payee'],
    [rawInvoice('lnbc1m', [P, S, D('x'), [19, bytesToWords(other)]]), 'invalid_signature'],
    [rawInvoice('lnbc1m', [P, S, D('x'), [5, featuresToWords(featuresFromBits([8, 14, 99]))]]), 'ok'],
    [rawInvoice('lnbc1m', [P, S, D('x'), [6, Uint8Array.of(0)], [24, Uint8Array.of(0)]]), 'ok'],
    [
      rawInvoice('lnbc1m', [P, S, D('x'), [5, featuresToWords(featuresFromBits([8, 14, 102]))]]),
      'unknown_required_feature',
    ],
    [
      rawInvoice('lnbc1m', [P, S, D('x'), [5, featuresToWords(featuresFromBits([8, 16]))]]),
      'missing_feature_dependency',
    ],
    [
      rawInvoice('lnbc1m', [P, S, D('x')], { sig: (c) => concat(c, Uint8Array.of(4)) }),
      'invalid_recovery_id',
    ],
    [
      rawInvoice('lnbc1m', [P, S, D('x'), [19, bytesToWords(pub)]], {
        sig: (c) => concat(c, Uint8Array.of(4)),
      }),
      'invalid_recovery_id',
    ],
    [rawInvoice('lnbc1m', [P, S, D('x')], { sig: () => new Uint8Array(65) }), 'unrecoverable_signature'],
    [
      rawInvoice('lnbc1m', [P, S, D('x'), [1, concat(bytesToWords(HASH).subarray(0, 51), Uint8Array.of(1))]]),
      'invalid_padding',
    ],
    [rawInvoice('lnbc01m', [P, S, D('x')]), 'invalid_amount'],
    [rawInvoice('lnxy1m', [P, S, D('x')]), 'unknown_prefix'],
    [`${good.slice(0, 20)}é${good.slice(21)}`, 'invalid_character'],
    [`${good.slice(0, 20)}b${good.slice(21)}`, 'invalid_character'],
    [bech32.encode('lnbc', [1, 2, 3], false), 'too_short'],
    [bech32.encode('lnbc', new Array(110).fill(0), false), 'too_short'],
  ];
  for (const [i, [s, code]] of cases.entries()) assert.equal(decodeCode(s), code, `case ${i}`);
  // A field whose length runs into the signature.
  const words = [...bech32.decode(good as `${string}1${string}`, false).words];
  words.splice(7 + 52 + 3 + 52 + 3 + 7, 0, 6, 31, 31);
  assert.equal(decodeCode(bech32.encode('lnbc1m', words, false)), 'truncated_field');
  // With a valid n field the payee is taken from it, not recovered.
  const withN = decodeInvoice(rawInvoice('lnbc1m', [P, S, D('x'), [19, bytesToWords(pub)]]));
  assert.ok(withN.ok && withN.value.payeeFromField && hex(withN.value.payee) === hex(pub));
  // Unknown tags and unknown fallback versions are kept, not interpreted.
  const skip = decodeInvoice(
    rawInvoice('lnbc1m', [P, S, D('x'), [0, Uint8Array.of(1, 2)], [9, Uint8Array.of(19, 0, 0)]]),
  );
  assert.ok(skip.ok);
  assert.deepEqual(
    skip.value.fields.filter((f) => f.type === 'skipped').map((f) => f.type === 'skipped' && f.reason),
    ['unknown_tag', 'unknown_fallback_version'],
  );
  assert.deepEqual(decodeToJson(skip.value).extra, [
    { tag: 'q', data: 'pz' },
    { tag: 'f', data: 'nqq' },
  ]);
});

import { bech32 } from '@scure/base';

test('encoder: writer rules are enforced', () => {
  const sign = privateKeySigner(KEY);
  const base = { currency: 'bc' as const, timestamp: 1, paymentHash: HASH, paymentSecret: SECRET };
  const code = (r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'ok' : r.error!.code);
  assert.equal(code(createInvoice({ ...base, description: 'x' }, sign)), 'ok');
  assert.equal(code(createInvoice({ ...base }, sign)), 'invalid_field');
  assert.equal(
    code(createInvoice({ ...base, description: 'x', descriptionHash: HASH }, sign)),
    'invalid_field',
  );
  assert.equal(code(createInvoice({ ...base, description: 'x'.repeat(640) }, sign)), 'invalid_field');
  assert.equal(code(createInvoice({ ...base, description: 'x'.repeat(639) }, sign)), 'ok');
  assert.equal(code(createInvoice({ ...base, description: '\ud800' }, sign)), 'invalid_field');
  assert.equal(
    code(createInvoice({ ...base, paymentHash: new Uint8Array(31), description: 'x' }, sign)),
    'invalid_field',
  );
  assert.equal(code(createInvoice({ ...base, timestamp: 2 ** 35, description: 'x' }, sign)), 'invalid_field');
  assert.equal(code(createInvoice({ ...base, amount: msat(0n), description: 'x' }, sign)), 'invalid_amount');
  assert.equal(code(createInvoice({ ...base, description: 'x', expiry: -1 }, sign)), 'invalid_field');
  assert.equal(
    code(createInvoice({ ...base, description: 'x', payee: publicKeyOf(new Uint8Array(32).fill(9)) }, sign)),
    'invalid_signature',
  );
  assert.equal(
    code(createInvoice({ ...base, description: 'x', features: featuresFromBits([100]) }, sign)),
    'unknown_required_feature',
  );
  assert.equal(
    code(createInvoice({ ...base, description: 'x' }, () => ({ compact: new Uint8Array(63), recid: 0 }))),
    'signer_failed',
  );
  assert.equal(
    code(
      createInvoice({ ...base, description: 'x' }, () => {
        throw new Error('hsm offline');
      }),
    ),
    'signer_failed',
  );
  // Conflicting repeats of p / s / d / h are refused; identical ones (as decoded) re-encode.
  const fieldsWith = (extra: TaggedField[]): TaggedField[] => [
    { type: 'payment_hash', value: HASH },
    { type: 'payment_secret', value: SECRET },
    { type: 'description', value: 'x' },
    ...extra,
  ];
  const enc = (fields: TaggedField[]) => encodeInvoice({ currency: 'bc', timestamp: 1, fields }, sign);
  assert.equal(code(enc(fieldsWith([{ type: 'payment_hash', value: new Uint8Array(32) }]))), 'invalid_field');
  assert.equal(code(enc(fieldsWith([{ type: 'description', value: 'y' }]))), 'invalid_field');
  assert.equal(code(enc(fieldsWith([{ type: 'payment_secret', value: SECRET }]))), 'ok');
  assert.equal(code(enc(fieldsWith([{ type: 'description_hash', value: HASH }]))), 'invalid_field');
  // An empty `9` field, as some decoded invoice had it, writes back as an empty field.
  const empty9 = enc(fieldsWith([{ type: 'features', value: new Uint8Array(0) }]));
  assert.ok(empty9.ok);
  const back = decodeInvoice(empty9.value);
  assert.ok(back.ok);
  assert.deepEqual(back.value.fields.at(-1), { type: 'features', value: new Uint8Array(0) });
  // createInvoice omits features with no bit set.
  const none = createInvoice({ ...base, description: 'x', features: new Uint8Array(2) }, sign);
  assert.ok(none.ok);
  const noneInv = decodeInvoice(none.value);
  assert.ok(noneInv.ok && noneInv.value.fields.every((f) => f.type !== 'features'));
  const tooMany = Array.from({ length: 13 }, () => ({
    pubkey: publicKeyOf(KEY),
    shortChannelId: 1n,
    feeBaseMsat: msat(1n),
    feeProportionalMillionths: 1,
    cltvExpiryDelta: 1,
  }));
  assert.equal(
    code(createInvoice({ ...base, description: 'x', routeHints: [tooMany] }, sign)),
    'invalid_field',
  );
  assert.equal(
    code(createInvoice({ ...base, description: 'x', routeHints: [tooMany.slice(0, 12)] }, sign)),
    'ok',
  );
  assert.equal(fromHex('00').length, 1);
});
