// Fuzzing the decoder: 100k random and mutated inputs, each must give a value or a typed error,
// never an exception. Half the mutations re-checksum the words so they reach the field parser.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bech32 } from '@scure/base';
import {
  decodeInvoice,
  encodeInvoice,
  formatHrp,
  type InvoiceErrorCode,
  unsignedOf,
} from '../../src/bolt11-invoice/index.ts';
import { prng } from './helpers.ts';
import { loadSpecExamples } from './spec-examples.ts';

const CODES = new Set<InvoiceErrorCode>([
  'invalid_character',
  'mixed_case',
  'no_separator',
  'bad_checksum',
  'unknown_prefix',
  'invalid_amount',
  'invalid_multiplier',
  'sub_millisatoshi',
  'amount_too_large',
  'too_short',
  'truncated_field',
  'invalid_padding',
  'non_minimal_field',
  'field_overflow',
  'invalid_description',
  'invalid_payee',
  'invalid_fallback',
  'invalid_route_hint',
  'unknown_required_feature',
  'missing_feature_dependency',
  'missing_payment_hash',
  'missing_payment_secret',
  'missing_description',
  'both_description_and_hash',
  'duplicate_field',
  'invalid_recovery_id',
  'unrecoverable_signature',
  'high_s_signature',
  'invalid_signature',
]);

const ALPHABET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const seeds = loadSpecExamples().valid.map((e) => e.invoice.toLowerCase());

function mutateString(s: string, rnd: () => number): string {
  const chars = [...s];
  const n = 1 + Math.floor(rnd() * 4);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(rnd() * (chars.length + 1));
    const op = Math.floor(rnd() * 5);
    const c =
      rnd() < 0.9 ? ALPHABET[Math.floor(rnd() * 32)]! : String.fromCharCode(Math.floor(rnd() * 0x3000));
    if (op === 0) chars[at] = c;
    else if (op === 1) chars.splice(at, 0, c);
    else if (op === 2) chars.splice(at, 1);
    else if (op === 3) chars.length = at;
    else chars[at] = (chars[at] ?? 'a').toUpperCase();
  }
  return chars.join('');
}

const decodedSeeds = new Map(seeds.map((s) => [s, bech32.decode(s as `${string}1${string}`, false)]));

function mutateWords(s: string, rnd: () => number): string {
  const { prefix, words } = decodedSeeds.get(s)!;
  const w = [...words];
  const n = 1 + Math.floor(rnd() * 3);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(rnd() * w.length);
    const op = Math.floor(rnd() * 4);
    if (op === 0) w[at] = Math.floor(rnd() * 32);
    else if (op === 1) w.splice(at, 0, Math.floor(rnd() * 32));
    else if (op === 2) w.splice(at, 1);
    else w.splice(at, Math.floor(rnd() * 8));
  }
  let hrp = prefix;
  if (rnd() < 0.1)
    hrp = [
      'lnbc',
      'lntb',
      'lnbcrt',
      'lntbs',
      'lnbc1p',
      'lnbc10p',
      'lnbc0',
      'lnsb',
      'ln',
      'lnbc99999999999999999999',
    ][Math.floor(rnd() * 10)]!;
  return bech32.encode(hrp, w, false);
}

test('decoder fuzz: 100k random/mutated inputs give a value or a typed error', () => {
  const rnd = prng(0x5eed1234);
  const seen = new Map<string, number>();
  let reencoded = 0;
  const N = 100_000;
  for (let i = 0; i < N; i++) {
    const seed = seeds[Math.floor(rnd() * seeds.length)]!;
    let input: string;
    const kind = rnd();
    if (kind < 0.45) input = mutateString(seed, rnd);
    else if (kind < 0.95) input = mutateWords(seed, rnd);
    else
      input = Array.from({ length: Math.floor(rnd() * 300) }, () =>
        String.fromCharCode(32 + Math.floor(rnd() * 95)),
      ).join('');
    let r: ReturnType<typeof decodeInvoice>;
    try {
      r = decodeInvoice(input);
    } catch (e) {
      assert.fail(`decoder threw on ${JSON.stringify(input)}: ${(e as Error).stack}`);
    }
    if (r.ok) {
      seen.set('ok', (seen.get('ok') ?? 0) + 1);
      // Only canonical encodings are accepted: with its own signature, what we read re-encodes to
      // the very same string (unless the amount was written in a longer form than needed).
      if (formatHrp(r.value.currency, r.value.amount) === r.value.hrp) {
        const again = encodeInvoice(unsignedOf(r.value), () => r.value.signature);
        assert.ok(again.ok, `accepted but cannot re-encode: ${input}`);
        const expected = input
          .trim()
          .replace(/^lightning:/i, '')
          .toLowerCase();
        if (again.value === expected) {
          reencoded++;
        } else {
          // The one form we read but do not write: a zero `x` / `c` in no words (we write one zero word).
          const back = decodeInvoice(again.value);
          assert.ok(back.ok);
          assert.deepEqual(back.value.fields, r.value.fields, `re-encoding changed fields: ${input}`);
          assert.ok(
            r.value.fields.some(
              (f) => (f.type === 'expiry' || f.type === 'min_final_cltv_expiry_delta') && f.value === 0,
            ),
            `accepted a non-canonical form: ${input}`,
          );
        }
      }
    } else {
      assert.ok(CODES.has(r.error.code), `unexpected code ${r.error.code}`);
      assert.ok(r.error.message.length > 0);
      seen.set(r.error.code, (seen.get(r.error.code) ?? 0) + 1);
    }
  }
  // The mutations must reach deep into the parser, not just the checksum.
  for (const code of [
    'ok',
    'bad_checksum',
    'truncated_field',
    'missing_payment_secret',
    'invalid_padding',
    'unknown_prefix',
  ] as const) {
    assert.ok((seen.get(code) ?? 0) > 0, `fuzz never produced ${code}: ${JSON.stringify([...seen])}`);
  }
  assert.ok(reencoded > 1000, `only ${reencoded} accepted inputs were re-encoded`);
  if (process.env.BOLT11_DEBUG) console.log([...seen].sort((a, b) => b[1] - a[1]));
});
