// Property round trips: random invoice parameters -> encode -> decode gives every field back, and
// decode -> re-encode gives the same string.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  buildInvoiceFields,
  createInvoice,
  decodeInvoice,
  decodeToJson,
  encodeInvoice,
  networkOfCurrency,
  privateKeySigner,
  unsignedOf,
} from '../../src/bolt11-invoice/index.ts';
import { hex } from '../../src/core/bytes.ts';
import { publicKeyOf } from '../../src/crypto/index.ts';
import { paramsArb } from './arbitraries.ts';

test('encode -> decode returns every field; decode -> encode returns the same string', () => {
  fc.assert(
    fc.property(paramsArb(), ({ key, params, withPayee }) => {
      const text = createInvoice(params, privateKeySigner(key));
      assert.ok(text.ok, text.ok ? '' : text.error.message);
      const r = decodeInvoice(text.value);
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      const inv = r.value;
      assert.equal(inv.currency, params.currency);
      assert.equal(inv.network, networkOfCurrency(params.currency));
      assert.equal(inv.amount, params.amount);
      assert.equal(inv.timestamp, params.timestamp);
      assert.deepEqual(inv.paymentHash, params.paymentHash);
      assert.deepEqual(inv.paymentSecret, params.paymentSecret);
      assert.equal(inv.description, params.description);
      assert.deepEqual(inv.descriptionHash, params.descriptionHash);
      assert.equal(hex(inv.payee), hex(publicKeyOf(key)));
      assert.equal(inv.payeeFromField, withPayee);
      assert.equal(inv.expiry, params.expiry ?? 3600);
      assert.equal(inv.minFinalCltvExpiryDelta, params.minFinalCltvExpiryDelta ?? 18);
      assert.deepEqual(inv.fallbacks, params.fallbacks);
      assert.deepEqual(inv.routeHints, params.routeHints);
      assert.deepEqual(inv.features, params.features ?? new Uint8Array(0));
      assert.deepEqual(inv.metadata, params.metadata);
      assert.deepEqual(inv.fields, buildInvoiceFields(params));
      const again = encodeInvoice(unsignedOf(inv), privateKeySigner(key));
      assert.ok(again.ok);
      assert.equal(again.value, text.value);
      // Upper case (for QR codes) reads the same.
      const upper = decodeInvoice(text.value.toUpperCase());
      assert.ok(upper.ok);
      assert.deepEqual(upper.value.fields, inv.fields);
      // The JSON view is total.
      const json = decodeToJson(inv);
      assert.equal(json.payment_hash, hex(params.paymentHash));
      assert.equal(json.fallbacks?.length ?? 0, params.fallbacks?.length ?? 0);
    }),
    { numRuns: 300 },
  );
});
