// Cross-check with Electrum's independent BOLT 11 codec (electrum.lnaddr from Debian's
// python3-electrum, run by tools/electrum_invoice.py under /usr/bin/python3): invoices we write
// decode there with the same fields, invoices Electrum writes decode here with the same fields.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  type BitcoinNetwork,
  bytesToWords,
  createInvoice,
  currencyOfNetwork,
  decodeInvoice,
  fallbackAddress,
  featureBits,
  featuresFromBits,
  type Invoice,
  type InvoiceParams,
  MAX_INVOICE_MSAT,
  networkOfCurrency,
  privateKeySigner,
} from '../../src/bolt11-invoice/index.ts';
import { hex, utf8 } from '../../src/core/bytes.ts';
import { msat } from '../../src/core/units.ts';
import { publicKeyOf, sha256 } from '../../src/crypto/index.ts';
import { repoRoot } from '../../src/testing/spec.ts';
import { fallbackArb, paramsArb, privKeyArb } from './arbitraries.ts';
import { loadSpecExamples } from './spec-examples.ts';

const PYTHON = '/usr/bin/python3';
const TOOL = join(repoRoot, 'tools', 'electrum_invoice.py');

interface ElectrumDecoded {
  ok: boolean;
  error?: string;
  network: BitcoinNetwork;
  currency: string;
  amount_msat: number | null;
  timestamp: number;
  payment_hash: string;
  payment_secret: string | null;
  payee: string;
  expiry: number;
  min_final_cltv_expiry: number;
  signature: string;
  description: string | null;
  description_hash: string | null;
  features: string | null;
  fallbacks: string[];
  routes: {
    pubkey: string;
    short_channel_id: string;
    fee_base_msat: number;
    fee_proportional_millionths: number;
    cltv_expiry_delta: number;
  }[][];
  unknown_tags: { tag: string; bits: string }[];
}

let electrumChecked = false;

function electrum(mode: 'decode' | 'encode', lines: string[]): ElectrumDecoded[] & { invoice?: string }[] {
  if (!electrumChecked) {
    const pre = spawnSync(PYTHON, ['-c', 'import electrum.lnaddr'], { cwd: repoRoot, encoding: 'utf8' });
    if (pre.status !== 0) {
      assert.fail(
        `Electrum cross-check cannot run: ${PYTHON} cannot import electrum.lnaddr ` +
          `(install Debian's python3-electrum): ${pre.error?.message ?? pre.stderr.trim().split('\n').pop()}`,
      );
    }
    electrumChecked = true;
  }
  // Big JSON numbers (msat amounts, scids) must survive: Electrum prints plain integers.
  const run = spawnSync(PYTHON, [TOOL, mode], {
    cwd: repoRoot,
    input: `${lines.join('\n')}\n`,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  assert.equal(run.status, 0, `electrum_invoice.py ${mode} failed: ${run.stderr}`);
  const out = run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l.replace(/"amount_msat": (\d{16,})/g, '"amount_msat": "$1"')));
  assert.equal(out.length, lines.length, 'one output line per input line');
  return out;
}

/** Words of bytes as Electrum's bit string (the field's padded bits). */
function bitsOf(bytes: Uint8Array): string {
  return Array.from(bytesToWords(bytes), (w) => w.toString(2).padStart(5, '0')).join('');
}

function compare(ours: Invoice, theirs: ElectrumDecoded, what: string): void {
  const m = (s: string) => `${what}: ${s}`;
  assert.equal(theirs.ok, true, m(`Electrum refused it: ${theirs.error}`));
  assert.equal(theirs.network, ours.network, m('network'));
  assert.equal(theirs.currency, ours.currency, m('currency'));
  assert.equal(
    theirs.amount_msat === null ? undefined : BigInt(theirs.amount_msat),
    ours.amount,
    m('amount'),
  );
  assert.equal(theirs.timestamp, ours.timestamp, m('timestamp'));
  assert.equal(theirs.payment_hash, hex(ours.paymentHash), m('payment_hash'));
  assert.equal(theirs.payment_secret, hex(ours.paymentSecret), m('payment_secret'));
  assert.equal(theirs.payee, hex(ours.payee), m('payee'));
  assert.equal(theirs.expiry, ours.expiry, m('expiry'));
  assert.equal(theirs.min_final_cltv_expiry, ours.minFinalCltvExpiryDelta, m('min_final_cltv_expiry'));
  assert.equal(
    theirs.signature,
    hex(ours.signature.compact) + ours.signature.recid.toString(16).padStart(2, '0'),
    m('signature'),
  );
  assert.equal(theirs.description ?? undefined, ours.description, m('description'));
  assert.equal(
    theirs.description_hash ?? undefined,
    ours.descriptionHash && hex(ours.descriptionHash),
    m('description_hash'),
  );
  assert.deepEqual(
    theirs.features === null
      ? []
      : featureBits(
          featuresFromBits(
            [...BigInt(`0x${theirs.features}`).toString(2)]
              .reverse()
              .flatMap((c, i) => (c === '1' ? [i] : [])),
          ),
        ),
    featureBits(ours.features),
    m('features'),
  );
  assert.deepEqual(
    theirs.fallbacks,
    ours.fallbacks.map((f) => fallbackAddress(f, ours.network)),
    m('fallbacks'),
  );
  assert.deepEqual(
    theirs.routes,
    ours.routeHints.map((r) =>
      r.map((h) => ({
        pubkey: hex(h.pubkey),
        short_channel_id: h.shortChannelId.toString(16).padStart(16, '0'),
        fee_base_msat: Number(h.feeBaseMsat),
        fee_proportional_millionths: h.feeProportionalMillionths,
        cltv_expiry_delta: h.cltvExpiryDelta,
      })),
    ),
    m('routes'),
  );
  assert.deepEqual(
    theirs.unknown_tags,
    ours.metadata === undefined ? [] : [{ tag: 'm', bits: bitsOf(ours.metadata) }],
    m('unknown tags'),
  );
}

// Electrum 4.3.4 implements feature bits 8/9, 14/15, 16/17 for invoices (and needs 8 or 9 with 14).
const electrumFeaturesArb = fc
  .subarray([9, 15, 16, 17, 99, 101, 255])
  .map((bits) => featuresFromBits([8, 14, ...bits]));

test('Electrum decodes the BOLT 11 spec examples to the same fields', () => {
  const valid = loadSpecExamples().valid;
  const theirs = electrum(
    'decode',
    valid.map((e) => e.invoice),
  );
  let compared = 0;
  for (const [i, e] of valid.entries()) {
    const ours = decodeInvoice(e.invoice);
    assert.ok(ours.ok);
    if (featureBits(ours.value.features).includes(48)) {
      // Electrum 4.3.4 predates option_payment_metadata and refuses its required bit.
      assert.match(theirs[i]!.error ?? '', /UnknownEvenFeatureBits: 48/, e.title);
      continue;
    }
    // Spec payment-hash-less skipped fields show up in Electrum's unknown tags; compare the rest.
    compare(
      ours.value,
      { ...theirs[i]!, unknown_tags: ours.value.metadata ? theirs[i]!.unknown_tags : [] },
      e.title,
    );
    compared++;
  }
  assert.equal(compared, valid.length - 1);
});

// At most 4 hops per route hint: Electrum 4.3.4's reader loops `while pos + 408 < len`, so a hint of
// 5 (or 10, ...) hops, whose 408-bit hops fill the field with no padding bits, loses its last hop there.
test('invoices we encode (random fields, all networks) decode in Electrum with the same fields', () => {
  const samples = fc.sample(
    fc
      .tuple(paramsArb({ hops: 4 }), electrumFeaturesArb, fc.boolean())
      .map(([p, features, withFeatures]) => ({
        ...p,
        params: { ...p.params, features: withFeatures ? features : undefined },
      })),
    { seed: 11, numRuns: 80 },
  );
  const invoices = samples.map(({ key, params }) => {
    const r = createInvoice(params, privateKeySigner(key));
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    return r.value;
  });
  assert.ok(new Set(invoices.map((s) => /^ln([a-z]+)/.exec(s)![1])).size === 4, 'all four networks covered');
  assert.ok(invoices.some((s) => s.startsWith('lnbcrt')));
  const theirs = electrum('decode', invoices);
  for (const [i, s] of invoices.entries()) {
    const ours = decodeInvoice(s);
    assert.ok(ours.ok);
    compare(ours.value, theirs[i]!, `sample ${i}`);
  }
});

test('invoices Electrum encodes decode here with the same fields (and the same bytes as ours)', () => {
  // Within Electrum's encoder limits: signed 32/16-bit route fields, no `m`.
  const hop = fc.record(
    {
      pubkey: fc.constantFrom(...[5, 6, 7].map((i) => publicKeyOf(new Uint8Array(32).fill(i)))),
      shortChannelId: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      feeBaseMsat: fc.bigInt({ min: 0n, max: 0x7fffffffn }).map(msat),
      feeProportionalMillionths: fc.nat({ max: 0x7fffffff }),
      cltvExpiryDelta: fc.nat({ max: 0x7fff }),
    },
    { noNullPrototype: true },
  );
  const specArb = fc.record(
    {
      key: privKeyArb,
      withPayee: fc.boolean(),
      network: fc.constantFrom<BitcoinNetwork>('mainnet', 'testnet', 'signet', 'regtest'),
      amount: fc.option(fc.bigInt({ min: 1n, max: MAX_INVOICE_MSAT }).map(msat), { nil: undefined }),
      timestamp: fc.integer({ min: 0, max: 2 ** 35 - 1 }),
      paymentHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      paymentSecret: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      text: fc.string({ unit: 'grapheme', maxLength: 40 }),
      hashed: fc.boolean(),
      expiry: fc.option(fc.nat({ max: 2 ** 40 }), { nil: undefined }),
      cltv: fc.option(fc.nat({ max: 2 ** 32 }), { nil: undefined }),
      fallbacks: fc.array(fallbackArb, { maxLength: 3 }),
      routes: fc.array(fc.array(hop, { minLength: 1, maxLength: 4 }), { maxLength: 3 }),
      features: fc.option(electrumFeaturesArb, { nil: undefined }),
    },
    { noNullPrototype: true },
  );
  const specs = fc.sample(specArb, { seed: 1111, numRuns: 80 });
  const ourParams: InvoiceParams[] = specs.map((s) => ({
    currency: currencyOfNetwork(s.network),
    amount: s.amount,
    timestamp: s.timestamp,
    paymentHash: s.paymentHash,
    paymentSecret: s.paymentSecret,
    description: s.hashed ? undefined : s.text,
    descriptionHash: s.hashed ? sha256(utf8(s.text)) : undefined,
    payee: s.withPayee ? publicKeyOf(s.key) : undefined,
    expiry: s.expiry,
    minFinalCltvExpiryDelta: s.cltv,
    fallbacks: s.fallbacks,
    routeHints: s.routes,
    features: s.features,
  }));
  // The same tags in our writer's order: p, s, d|h, n, x, c, f*, r*, 9.
  const lines = specs.map((s) => {
    const tags: [string, unknown][] = [[s.hashed ? 'h' : 'd', s.text]];
    if (s.withPayee) tags.push(['n', hex(publicKeyOf(s.key))]);
    if (s.expiry !== undefined) tags.push(['x', s.expiry]);
    if (s.cltv !== undefined) tags.push(['c', s.cltv]);
    for (const f of s.fallbacks) tags.push(['f', fallbackAddress(f, s.network)]);
    for (const r of s.routes) {
      tags.push([
        'r',
        r.map((h) => [
          hex(h.pubkey),
          h.shortChannelId.toString(16).padStart(16, '0'),
          Number(h.feeBaseMsat),
          h.feeProportionalMillionths,
          h.cltvExpiryDelta,
        ]),
      ]);
    }
    if (s.features !== undefined) tags.push(['9', hex(s.features)]);
    return JSON.stringify({
      network: s.network,
      privkey: hex(s.key),
      timestamp: s.timestamp,
      amount_msat: s.amount === undefined ? null : `@@${s.amount}@@`,
      payment_hash: hex(s.paymentHash),
      payment_secret: hex(s.paymentSecret),
      tags,
    }).replace(/"@@(\d+)@@"/, '$1');
  });
  const theirs = electrum('encode', lines) as unknown as { ok: boolean; invoice: string; error?: string }[];
  let identical = 0;
  for (const [i, t] of theirs.entries()) {
    assert.equal(t.ok, true, `Electrum could not encode sample ${i}: ${t.error}`);
    const ours = decodeInvoice(t.invoice);
    assert.ok(ours.ok, ours.ok ? '' : `sample ${i}: ${ours.error.code}: ${ours.error.message}`);
    const p = ourParams[i]!;
    const inv = ours.value;
    assert.equal(inv.network, specs[i]!.network);
    assert.equal(networkOfCurrency(inv.currency), specs[i]!.network);
    assert.equal(inv.amount, p.amount);
    assert.equal(inv.timestamp, p.timestamp);
    assert.deepEqual(inv.paymentHash, p.paymentHash);
    assert.deepEqual(inv.paymentSecret, p.paymentSecret);
    assert.equal(inv.description, p.description);
    assert.deepEqual(inv.descriptionHash, p.descriptionHash);
    assert.equal(hex(inv.payee), hex(publicKeyOf(specs[i]!.key)));
    assert.equal(inv.payeeFromField, specs[i]!.withPayee);
    assert.equal(inv.expiry, p.expiry ?? 3600);
    assert.equal(inv.minFinalCltvExpiryDelta, p.minFinalCltvExpiryDelta ?? 18);
    assert.deepEqual(inv.fallbacks, p.fallbacks);
    assert.deepEqual(inv.routeHints, p.routeHints);
    assert.deepEqual(inv.features, p.features ?? new Uint8Array(0));
    // Same bytes before the signature (104 words + 6 checksum characters). Both sign with RFC 6979,
    // but Electrum grinds for a low R: when our R is already low the whole string is identical.
    const mine = createInvoice(p, privateKeySigner(specs[i]!.key));
    assert.ok(mine.ok);
    assert.equal(mine.value.slice(0, -110), t.invoice.slice(0, -110), `sample ${i}: signed part differs`);
    const mineInv = decodeInvoice(mine.value);
    assert.ok(mineInv.ok);
    if (mineInv.value.signature.compact[0]! < 0x80) {
      assert.equal(mine.value, t.invoice, `sample ${i}: low-R signature differs`);
      identical++;
    }
  }
  assert.ok(identical > 10, `only ${identical} byte-identical invoices`);
});
