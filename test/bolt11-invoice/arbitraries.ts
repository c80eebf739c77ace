// fast-check generators for invoice parameters (shared by the property and Electrum tests).
import fc from 'fast-check';
import {
  type Currency,
  type Fallback,
  featuresFromBits,
  type InvoiceParams,
  MAX_INVOICE_MSAT,
  type RouteHintHop,
} from '../../src/bolt11-invoice/index.ts';
import { msat } from '../../src/core/units.ts';
import { isPrivateKey, publicKeyOf } from '../../src/crypto/index.ts';

export const privKeyArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((k) => isPrivateKey(k));

// A few fixed node ids keep generation cheap (no point multiplication per hop).
const NODE_IDS = [1, 2, 3, 4].map((i) => publicKeyOf(new Uint8Array(32).fill(i)));

export const hopArb: fc.Arbitrary<RouteHintHop> = fc.record(
  {
    pubkey: fc.constantFrom(...NODE_IDS),
    shortChannelId: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    feeBaseMsat: fc.bigInt({ min: 0n, max: 0xffffffffn }).map(msat),
    feeProportionalMillionths: fc.nat({ max: 0xffffffff }),
    cltvExpiryDelta: fc.nat({ max: 0xffff }),
  },
  { noNullPrototype: true },
);

export const fallbackArb: fc.Arbitrary<Fallback> = fc.oneof(
  fc.uint8Array({ minLength: 20, maxLength: 20 }).map((hash): Fallback => ({ kind: 'p2pkh', hash })),
  fc.uint8Array({ minLength: 20, maxLength: 20 }).map((hash): Fallback => ({ kind: 'p2sh', hash })),
  fc
    .constantFrom(20, 32)
    .chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))
    .map((program): Fallback => ({ kind: 'witness', version: 0, program })),
  fc
    .uint8Array({ minLength: 32, maxLength: 32 })
    .map((program): Fallback => ({ kind: 'witness', version: 1, program })),
  fc
    .record({
      version: fc.integer({ min: 2, max: 16 }),
      program: fc.uint8Array({ minLength: 2, maxLength: 40 }),
    })
    .map((w): Fallback => ({ kind: 'witness', version: w.version, program: w.program })),
);

/** Known invoice features (with payment_secret so basic_mpp's dependency holds) plus unknown odd bits. */
export const featuresArb = fc
  .subarray([8, 9, 16, 17, 24, 25, 48, 49, 99, 101, 255])
  .map((bits) => featuresFromBits([14, ...bits.filter((b) => !(bits.includes(b - 1) && b % 2 === 1))]));

export function paramsArb(
  opts: { currencies?: Currency[]; metadata?: boolean; hops?: number } = {},
): fc.Arbitrary<{ key: Uint8Array; params: InvoiceParams; withPayee: boolean }> {
  return fc
    .record(
      {
        key: privKeyArb,
        withPayee: fc.boolean(),
        currency: fc.constantFrom<Currency>(...(opts.currencies ?? ['bc', 'tb', 'tbs', 'bcrt'])),
        amount: fc.option(fc.bigInt({ min: 1n, max: MAX_INVOICE_MSAT }).map(msat), { nil: undefined }),
        timestamp: fc.integer({ min: 0, max: 2 ** 35 - 1 }),
        paymentHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
        paymentSecret: fc.uint8Array({ minLength: 32, maxLength: 32 }),
        desc: fc.oneof(
          fc.string({ unit: 'grapheme', maxLength: 40 }).map((d) => ({ description: d })),
          fc.uint8Array({ minLength: 32, maxLength: 32 }).map((h) => ({ descriptionHash: h })),
        ),
        expiry: fc.option(fc.nat({ max: 2 ** 40 }), { nil: undefined }),
        minFinalCltvExpiryDelta: fc.option(fc.nat({ max: 2 ** 32 }), { nil: undefined }),
        fallbacks: fc.array(fallbackArb, { maxLength: 3 }),
        routeHints: fc.array(fc.array(hopArb, { minLength: 1, maxLength: opts.hops ?? 4 }), { maxLength: 3 }),
        features: fc.option(featuresArb, { nil: undefined }),
        metadata:
          opts.metadata === false
            ? fc.constant(undefined)
            : fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined }),
      },
      { noNullPrototype: true },
    )
    .map(({ key, withPayee, desc, ...rest }) => ({
      key,
      withPayee,
      params: { ...rest, ...desc, payee: withPayee ? publicKeyOf(key) : undefined },
    }));
}
