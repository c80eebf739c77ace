// The `9` field as a raw BOLT 9 feature bitfield (big-endian bytes, bit 0 = least significant bit of
// the last byte), with the few helpers BOLT 11 readers need. Negotiation lives in src/bolt09-features.
import { type InvoiceError, invoiceError } from './errors.ts';
import { uintToWords, wordsToUint } from './words.ts';

/** Feature pairs BOLT 9 marks for invoices (context `9`) or ASSUMED, that this reader understands. */
export const INVOICE_FEATURE_NAMES: ReadonlyMap<number, string> = new Map([
  [8, 'var_onion_optin'],
  [14, 'payment_secret'],
  [16, 'basic_mpp'],
  [24, 'option_route_blinding'],
  [36, 'option_attribution_data'],
  [48, 'option_payment_metadata'],
]);

/** Both bits of every pair in INVOICE_FEATURE_NAMES. */
export const KNOWN_INVOICE_FEATURES: ReadonlySet<number> = new Set(
  [...INVOICE_FEATURE_NAMES.keys()].flatMap((b) => [b, b + 1]),
);

/** BOLT 9 dependencies among invoice features: feature pair -> pair it requires. */
const DEPENDENCIES: readonly (readonly [number, number])[] = [[16, 14]];

function bytesToBigint(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

function bigintToMinimalBytes(v: bigint): Uint8Array {
  const out: number[] = [];
  for (let x = v; x > 0n; x >>= 8n) out.push(Number(x & 0xffn));
  return Uint8Array.from(out.reverse());
}

/** Field words to a minimal big-endian feature vector (empty when no bit is set). */
export function featuresFromWords(words: Uint8Array): Uint8Array {
  return bigintToMinimalBytes(wordsToUint(words));
}

/** Feature vector to the minimal words a writer must use (empty when no bit is set: omit the field). */
export function featuresToWords(features: Uint8Array): Uint8Array {
  const v = bytesToBigint(features);
  return v === 0n ? new Uint8Array(0) : uintToWords(v);
}

export function hasFeature(features: Uint8Array, bit: number): boolean {
  const i = features.length - 1 - (bit >> 3);
  return i >= 0 && ((features[i]! >> (bit & 7)) & 1) === 1;
}

/** Either bit of the pair containing `bit` (a payer asks "is basic_mpp offered?"). */
export function offersFeature(features: Uint8Array, bit: number): boolean {
  const even = bit & ~1;
  return hasFeature(features, even) || hasFeature(features, even + 1);
}

/** Set bits, ascending. */
export function featureBits(features: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = features.length - 1, base = 0; i >= 0; i--, base += 8) {
    const byte = features[i]!;
    for (let k = 0; k < 8; k++) if ((byte >> k) & 1) out.push(base + k);
  }
  return out;
}

export function featuresFromBits(bits: Iterable<number>): Uint8Array {
  let v = 0n;
  for (const b of bits) {
    if (!Number.isInteger(b) || b < 0) throw new RangeError(`bad feature bit ${b}`);
    v |= 1n << BigInt(b);
  }
  return bigintToMinimalBytes(v);
}

/**
 * BOLT 11 reader rules on the `9` field: unknown odd bits are ignored, unknown even bits fail, and
 * known dependencies must be set.
 */
export function checkInvoiceFeatures(
  features: Uint8Array,
  known: ReadonlySet<number> = KNOWN_INVOICE_FEATURES,
): InvoiceError | undefined {
  for (const bit of featureBits(features)) {
    // BOLT #11:
    // - if the `9` field contains unknown _even_ bits that are non-zero:
    //   - MUST fail the payment.
    if (bit % 2 === 0 && !known.has(bit)) {
      return invoiceError('unknown_required_feature', `invoice requires unknown feature bit ${bit}`, {
        field: '9',
        bit,
      });
    }
  }
  for (const [feature, needs] of DEPENDENCIES) {
    if (offersFeature(features, feature) && !offersFeature(features, needs)) {
      return invoiceError(
        'missing_feature_dependency',
        `feature ${INVOICE_FEATURE_NAMES.get(feature)} (bit ${feature}) needs ${INVOICE_FEATURE_NAMES.get(needs)} (bit ${needs})`,
        { field: '9', bit: feature },
      );
    }
  }
  return undefined;
}
