// BOLT 11 "Examples" and "Examples of Invalid Invoices", parsed from the spec markdown unchanged.
// Valid: decode, compare every field the example's breakdown describes, re-encode with the example
// key to the exact same string. Invalid: each is rejected with the reason its title gives.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeInvoice,
  decodeToJson,
  encodeInvoice,
  featureBits,
  formatShortChannelId,
  type Invoice,
  type InvoiceErrorCode,
  privateKeySigner,
  unsignedOf,
} from '../../src/bolt11-invoice/index.ts';
import { fromHex, hex, utf8 } from '../../src/core/bytes.ts';
import { ecdsaVerify, publicKeyOf, sha256, signatureNormalize } from '../../src/crypto/index.ts';
import { loadSpecExamples, type SpecExample } from './spec-examples.ts';

const ex = loadSpecExamples();
const priv = fromHex(ex.privKey);
const payee = publicKeyOf(priv);

/** Checks every value the example's text states; returns how many it checked. */
function checkBreakdown(e: SpecExample, inv: Invoice, previous: Invoice | undefined): number {
  let checks = 0;
  const text = `${e.title}\n${e.body}`;
  const eq = (actual: unknown, expected: unknown, what: string): void => {
    assert.deepEqual(actual, expected, `${e.title}: ${what}`);
    checks++;
  };
  const ts = /: timestamp \((\d+)\)/.exec(text);
  if (ts) eq(inv.timestamp, Number(ts[1]), 'timestamp');
  const amt = /^\* `(\d+[munp]?)`: amount/m.exec(text);
  if (amt) {
    eq(inv.hrp.slice(inv.hrp.indexOf(amt[1]!)), amt[1], 'amount text in hrp');
    const [, digits, unit] = /^(\d+)([munp]?)$/.exec(amt[1]!)!;
    const msatPerUnit: Record<string, bigint> = {
      '': 100_000_000_000n,
      m: 100_000_000n,
      u: 100_000n,
      n: 100n,
    };
    eq(
      inv.amount,
      unit === 'p' ? BigInt(digits!) / 10n : BigInt(digits!) * msatPerUnit[unit!]!,
      'amount msat',
    );
  } else if (/^\* `ln[a-z]+`: prefix/m.test(text) && !/amount/.test(e.body))
    eq(inv.amount, undefined, 'no amount');
  const msatInText = /= (\d+) milli satoshi/.exec(text);
  if (msatInText) eq(inv.amount, BigInt(msatInText[1]!), 'amount msat');
  const ph = /payment[ _]hash:? ([0-9a-f]{64})/.exec(text);
  if (ph) eq(hex(inv.paymentHash), ph[1], 'payment hash');
  const secret = /secret:? (?:0x)?([0-9a-f]{64})/.exec(text);
  eq(hex(inv.paymentSecret), secret ? secret[1] : ex.paymentSecret, 'payment secret');
  // Descriptions appear as `<words>`: 'text' (the markdown escapes quotes as \").
  const d = /^\s*\* `[a-z0-9]+`: '(.*)'\s*$/m.exec(e.body);
  if (d) eq(inv.description, d[1]!.replace(/\\"/g, '"'), 'description');
  const hashed = /SHA256 of '(.*?)'\s+\(SHA256 hex: `([0-9a-f]{64})`\)/.exec(text);
  if (hashed) {
    eq(hex(inv.descriptionHash ?? new Uint8Array()), hashed[2], 'description hash');
    eq(hex(sha256(utf8(hashed[1]!))), hashed[2], 'description hash commits to the quoted text');
  }
  const fb = /fallback (?:\([A-Z0-9]+\) )?address ([1-9A-Za-z]{25,90})/.exec(e.title);
  if (fb) eq(decodeToJson(inv).fallbacks?.[0]?.addr, fb[1], 'fallback address');
  const fbType = /fallback \((P2[A-Z]+)\)/.exec(e.title);
  if (fbType) eq(decodeToJson(inv).fallbacks?.[0]?.type, fbType[1], 'fallback type');
  const expiry = /: (\d+) seconds/.exec(text);
  if (expiry) eq(inv.expiry, Number(expiry[1]), 'expiry');
  const cltv = /min_final_cltv_expiry_delta = (\d+)/.exec(text);
  if (cltv) eq(inv.minFinalCltvExpiryDelta, Number(cltv[1]), 'min_final_cltv_expiry_delta');
  const meta = /payment metadata 0x([0-9a-f]+)/.exec(text);
  if (meta) eq(hex(inv.metadata ?? new Uint8Array()), meta[1], 'metadata');
  // Route hints: pubkey / short_channel_id / fees / cltv, in order, across all r fields.
  const hops = inv.routeHints.flat();
  const pubkeys = [...e.body.matchAll(/pubkey:? `?([0-9a-f]{66})`?/g)].map((m) => m[1]);
  if (pubkeys.length > 0) {
    eq(
      hops.map((h) => hex(h.pubkey)),
      pubkeys,
      'route hint pubkeys',
    );
    eq(
      hops.map((h) => formatShortChannelId(h.shortChannelId)),
      [...e.body.matchAll(/short_channel_id`?:? (\d+x\d+x\d+)/g)].map((m) => m[1]),
      'scids',
    );
    eq(
      hops.map((h) => h.feeBaseMsat),
      [...e.body.matchAll(/fee_base_msat`?(?::| =) (\d+)/g)].map((m) => BigInt(m[1]!)),
      'fee base',
    );
    eq(
      hops.map((h) => h.feeProportionalMillionths),
      [...e.body.matchAll(/fee_proportional_millionths`?(?::| =) (\d+)/g)].map((m) => Number(m[1])),
      'fee ppm',
    );
    eq(
      hops.map((h) => h.cltvExpiryDelta),
      [...e.body.matchAll(/(?<![a-z_])cltv_expiry_delta`?(?::| =) (\d+)/g)].map((m) => Number(m[1])),
      'cltv delta',
    );
  }
  const feats = /supports features ([\d, and]+)/.exec(e.title) ?? /\] = ([\d +]+)$/m.exec(e.body);
  if (feats)
    eq(
      featureBits(inv.features),
      feats[1]!
        .split(/[^\d]+/)
        .filter(Boolean)
        .map(Number),
      'feature bits',
    );
  else if (/b100000100000000/.test(e.body)) eq(featureBits(inv.features), [8, 14], 'feature bits');
  const sig = /`([0-9a-f]{128})` hex of signature data/.exec(e.body);
  if (sig) eq(hex(inv.signature.compact), sig[1], 'signature');
  const recid = /`(\d)` \(int\) recovery flag/.exec(e.body);
  if (recid) eq(inv.signature.recid, Number(recid[1]), 'recovery flag');
  const hashed2 = /`([0-9a-f]{64})` hex of SHA256 of the preimage/.exec(e.body);
  if (hashed2) eq(hex(inv.signingHash), hashed2[1], 'signing hash');
  const signedData = /`([0-9a-f]+)` hex of data for signing/.exec(e.body);
  if (signedData)
    eq(hex(sha256(fromHex(signedData[1]!))), hex(inv.signingHash), 'signed data hashes to the signing hash');
  const me = /@([0-9a-f]{66})/.exec(e.title);
  if (me) eq(hex(inv.payee), me[1], 'payee from title');
  if (/high-S/.test(e.title)) {
    // Recovery from (r, high s) with the written recid gives another key than the example's, exactly as
    // libsecp256k1's recover (used by LND, CLN, LDK, Eclair) does; the signature verifies under it.
    eq(
      ecdsaVerify(signatureNormalize(inv.signature.compact), inv.signingHash, inv.payee),
      true,
      'signature verifies under the recovered key',
    );
    eq(inv.payeeFromField, false, 'payee recovered');
  } else {
    eq(hex(inv.payee), hex(payee), 'payee is the example key');
  }
  if (/^Same, but/.test(e.title) && previous !== undefined) {
    // "Same, but ...": every interpreted field equals the previous example's.
    const known = (i: Invoice) => i.fields.filter((f) => f.type !== 'skipped');
    eq(known(inv), known(previous), 'fields equal the previous example');
    eq(inv.amount, previous.amount, 'amount equals the previous example');
  }
  if (/including fields which must be ignored/.test(e.title)) {
    eq(inv.fields.filter((f) => f.type === 'skipped').length, 10, 'skipped fields');
  }
  if (process.env.BOLT11_DEBUG) console.log(`${checks} checks: ${e.title}`);
  return checks;
}

test('BOLT 11 examples: the markdown yields the expected number of examples', () => {
  assert.equal(ex.valid.length, 16);
  assert.equal(ex.invalid.length, 10);
});

for (const [i, e] of ex.valid.entries()) {
  test(`BOLT 11 valid example: ${e.title}`, () => {
    const r = decodeInvoice(e.invoice);
    assert.ok(r.ok, r.ok ? '' : `${r.error.code}: ${r.error.message}`);
    const inv = r.value;
    const prev = i > 0 ? decodeInvoice(ex.valid[i - 1]!.invoice) : undefined;
    const checks = checkBreakdown(e, inv, prev?.ok ? prev.value : undefined);
    assert.ok(checks >= 4, `only ${checks} values checked for "${e.title}"`);
    const again = encodeInvoice(unsignedOf(inv), privateKeySigner(priv));
    assert.ok(again.ok, again.ok ? '' : again.error.message);
    if (/high-S/.test(e.title)) {
      // RFC 6979 with libsecp256k1 gives the low-S twin: the very first example.
      assert.equal(again.value, ex.valid[0]!.invoice);
      const same = encodeInvoice(unsignedOf(inv), () => inv.signature);
      assert.ok(same.ok);
      assert.equal(same.value, e.invoice);
    } else {
      assert.equal(again.value, e.invoice.toLowerCase());
    }
  });
}

const EXPECTED_ERROR: ReadonlyArray<readonly [RegExp, InvoiceErrorCode]> = [
  [/unknown feature 100/, 'unknown_required_feature'],
  [/checksum is invalid/, 'bad_checksum'],
  [/\(no 1\)/, 'no_separator'],
  [/mixed case/, 'mixed_case'],
  [/not recoverable/, 'unrecoverable_signature'],
  [/too short/, 'too_short'],
  [/Invalid multiplier/, 'invalid_multiplier'],
  [/sub-millisatoshi/, 'sub_millisatoshi'],
  [/Missing required `s`/, 'missing_payment_secret'],
  [/high-S\) with 'n'/, 'high_s_signature'],
];

for (const e of ex.invalid) {
  test(`BOLT 11 invalid example: ${e.title}`, () => {
    const expected = EXPECTED_ERROR.find(([re]) => re.test(e.title))?.[1];
    assert.ok(
      expected !== undefined,
      `no expected reason known for "${e.title}": this vector is not checked`,
    );
    const r = decodeInvoice(e.invoice);
    assert.equal(r.ok, false, 'must be rejected');
    if (!r.ok) assert.equal(r.error.code, expected, r.error.message);
    if (!r.ok && expected === 'unknown_required_feature') assert.equal(r.error.bit, 100);
  });
}
