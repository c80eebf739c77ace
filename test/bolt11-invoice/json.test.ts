// The RPC view: Core Lightning's `decode` field names and formats, on spec examples.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeInvoice, decodeInvoiceJson, decodeToJson } from '../../src/bolt11-invoice/index.ts';
import { fromHex, hex } from '../../src/core/bytes.ts';
import { signatureFromDer } from '../../src/crypto/index.ts';
import { loadSpecExamples } from './spec-examples.ts';

const ex = loadSpecExamples();
const byTitle = (re: RegExp) => {
  const e = ex.valid.find((v) => re.test(v.title));
  assert.ok(e, `example ${re} not found`);
  const r = decodeInvoice(e.invoice);
  assert.ok(r.ok);
  return r.value;
};

test('decodeToJson: route hints, P2PKH fallback, description hash', () => {
  const inv = byTitle(/extra routing info/);
  const j = decodeToJson(inv);
  assert.equal(j.type, 'bolt11 invoice');
  assert.equal(j.valid, true);
  assert.equal(j.currency, 'bc');
  assert.equal(j.created_at, 1496314658);
  assert.equal(j.expiry, 3600);
  assert.equal(j.min_final_cltv_expiry, 18);
  assert.equal(j.amount_msat, 2_000_000_000n);
  assert.equal(j.payee, '03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad');
  assert.equal(j.payment_hash, '0001020304050607080900010203040506070809000102030405060708090102');
  assert.equal(j.payment_secret, '11'.repeat(32));
  assert.equal(j.description, undefined);
  assert.equal(j.description_hash, '3925b6f67e2c340036ed12093dd44e0368df1b6ea26c53dbe4811f58fd5db8c1');
  assert.equal(j.features, '4100'); // bits 8 and 14
  assert.deepEqual(j.fallbacks, [
    {
      type: 'P2PKH',
      addr: '1RustyRX2oai4EYYDpQGWvEL62BBGqN9T',
      hex: '76a91404b61f7dc1ea0dc99424464cc4064dc564d91e8988ac',
    },
  ]);
  assert.deepEqual(j.routes, [
    [
      {
        pubkey: '029e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255',
        short_channel_id: '66051x263430x1800',
        fee_base_msat: 1n,
        fee_proportional_millionths: 20,
        cltv_expiry_delta: 3,
      },
      {
        pubkey: '039e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255',
        short_channel_id: '197637x395016x2314',
        fee_base_msat: 2n,
        fee_proportional_millionths: 30,
        cltv_expiry_delta: 4,
      },
    ],
  ]);
  // The signature is DER, as Core Lightning prints it, and converts back to the compact form.
  assert.equal(hex(signatureFromDer(fromHex(j.signature))), hex(inv.signature.compact));
  assert.equal(j.extra, undefined);
  assert.equal(j.payment_metadata, undefined);
});

test('decodeToJson: segwit fallbacks, metadata, description, skipped fields', () => {
  assert.deepEqual(decodeToJson(byTitle(/P2WSH/)).fallbacks?.[0], {
    type: 'P2WSH',
    addr: 'bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3',
    hex: '00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262',
  });
  assert.equal(decodeToJson(byTitle(/P2TR/)).fallbacks?.[0]?.type, 'P2TR');
  assert.equal(
    decodeToJson(byTitle(/P2WPKH/)).fallbacks?.[0]?.hex,
    '0014751e76e8199196d454941c45d1b3a323f1433bd6',
  );
  const meta = decodeToJson(byTitle(/payment metadata/));
  assert.equal(meta.payment_metadata, '01fafaf0');
  assert.equal(meta.description, 'payment metadata inside');
  assert.equal(meta.features, '01000000004100');
  const ignored = decodeToJson(byTitle(/must be ignored/));
  assert.equal(ignored.extra?.length, 10);
  assert.deepEqual(ignored.extra?.[0], { tag: '2', data: 'qqq' });
  assert.equal(decodeToJson(byTitle(/pico-BTC/)).amount_msat, 967_878_534n);
  assert.equal(decodeToJson(byTitle(/donation/)).amount_msat, undefined);
});

test("decodeInvoice accepts a 'lightning:' URI prefix", () => {
  const s = ex.valid[0]!.invoice;
  for (const t of [`lightning:${s}`, `LIGHTNING:${s.toUpperCase()}`, ` ${s}\n`]) {
    const r = decodeInvoice(t);
    assert.ok(r.ok, t.slice(0, 20));
    assert.equal(
      hex(r.value.paymentHash),
      '0001020304050607080900010203040506070809000102030405060708090102',
    );
  }
  const bad = decodeInvoice(`lightning://${s}`);
  assert.equal(bad.ok, false);
});

test('decodeInvoiceJson: decodepay with an optional description to check against h', () => {
  const hashed = ex.valid.find((v) => /entire list of things/.test(v.title))!.invoice;
  const text =
    'One piece of chocolate cake, one icecream cone, one pickle, one slice of swiss cheese, one slice of salami, one lollypop, one piece of cherry pie, one sausage, one cupcake, and one slice of watermelon';
  const good = decodeInvoiceJson(hashed, { description: text });
  assert.ok(good.ok);
  assert.equal(
    good.value.description_hash,
    '3925b6f67e2c340036ed12093dd44e0368df1b6ea26c53dbe4811f58fd5db8c1',
  );
  const bad = decodeInvoiceJson(hashed, { description: `${text}!` });
  assert.equal(bad.ok ? 'ok' : bad.error.code, 'description_mismatch');
  const plain = decodeInvoiceJson(ex.valid[1]!.invoice);
  assert.ok(plain.ok);
  assert.equal(plain.value.description, '1 cup coffee');
  const broken = decodeInvoiceJson('lnbc1xyz');
  assert.equal(broken.ok, false);
});
