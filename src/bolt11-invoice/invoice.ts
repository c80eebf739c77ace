// BOLT 11 invoice decode (with signature check / payee recovery) and encode (signing through a
// callback, so the node key never leaves its signer). Pure: time and keys come in as arguments.
import { bech32 } from '@scure/base';
import { concat, equal, hex, utf8 } from '../core/bytes.ts';
import { err, ok, type Result } from '../core/result.ts';
import type { Msat } from '../core/units.ts';
import { sha256 } from '../crypto/hash.ts';
import { ecdsaRecover, ecdsaSign, ecdsaVerify } from '../crypto/secp256k1.ts';
import { type InvoiceError, invoiceError } from './errors.ts';
import type { Fallback } from './fallback.ts';
import { checkInvoiceFeatures, KNOWN_INVOICE_FEATURES } from './features.ts';
import {
  DEFAULT_EXPIRY_SECONDS,
  DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA,
  decodeField,
  encodeField,
  type RouteHintHop,
  type TaggedField,
} from './fields.ts';
import {
  type BitcoinNetwork,
  type Currency,
  formatHrp,
  MAX_INVOICE_MSAT,
  networkOfCurrency,
  parseHrp,
} from './hrp.ts';
import { BECH32_ALPHABET, bytesToWords, uintToWordsFixed, wordsToBytesPadded, wordsToUint } from './words.ts';

const TIMESTAMP_WORDS = 7;
const SIGNATURE_WORDS = 104; // 520 bits: 64-byte R || S + 1-byte recovery id
const MAX_TIMESTAMP = 2 ** 35 - 1;
const HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e73_57a4501d_dfe92f46_681b20a0n;

export interface InvoiceSignature {
  /** 64-byte R || S exactly as written (may be high-S when the payee was recovered). */
  readonly compact: Uint8Array;
  readonly recid: number;
}

export interface Invoice {
  /** Lower-cased human-readable part, as signed. */
  readonly hrp: string;
  readonly currency: Currency;
  readonly network: BitcoinNetwork;
  /** Undefined: the payer chooses the amount. */
  readonly amount: Msat | undefined;
  /** Seconds since 1970. */
  readonly timestamp: number;
  readonly paymentHash: Uint8Array;
  readonly paymentSecret: Uint8Array;
  readonly description: string | undefined;
  readonly descriptionHash: Uint8Array | undefined;
  /** The payee's node id: the `n` field when present, else recovered from the signature. */
  readonly payee: Uint8Array;
  readonly payeeFromField: boolean;
  /** Seconds after `timestamp` (3600 when absent). */
  readonly expiry: number;
  /** 18 when absent. */
  readonly minFinalCltvExpiryDelta: number;
  readonly fallbacks: readonly Fallback[];
  /** One entry per `r` field, in preference order. */
  readonly routeHints: readonly (readonly RouteHintHop[])[];
  /** Raw BOLT 9 bitfield of the first `9` field (empty when absent). */
  readonly features: Uint8Array;
  readonly metadata: Uint8Array | undefined;
  /** Every tagged field in order, including skipped ones, so the invoice can be re-encoded. */
  readonly fields: readonly TaggedField[];
  readonly signature: InvoiceSignature;
  /** SHA-256 of hrp bytes || data bits (padded), the signed digest. */
  readonly signingHash: Uint8Array;
}

export interface DecodeOptions {
  /** Feature bits this node understands (unknown even bits fail). Default: KNOWN_INVOICE_FEATURES. */
  readonly knownFeatures?: ReadonlySet<number>;
}

/** Splits and checksums the bech32 string, with a typed error for each way it can be malformed. */
function bech32Words(text: string): Result<{ hrp: string; words: Uint8Array }, InvoiceError> {
  const outside = /[^\x21-\x7e]/.exec(text);
  if (outside !== null)
    return err(invoiceError('invalid_character', `character ${outside.index} is outside the bech32 range`));
  const lower = text.toLowerCase();
  if (text !== lower && text !== text.toUpperCase())
    return err(invoiceError('mixed_case', 'mixes upper and lower case'));
  const sep = lower.lastIndexOf('1');
  if (sep < 1) return err(invoiceError('no_separator', 'no "1" separator between prefix and data'));
  const data = lower.slice(sep + 1);
  const stray = /[^qpzry9x8gf2tvdw0s3jn54khce6mua7l]/.exec(data);
  if (stray !== null)
    return err(invoiceError('invalid_character', `"${stray[0]}" is not a bech32 character`));
  if (data.length < 6) return err(invoiceError('too_short', 'data part is shorter than the checksum'));
  let decoded: { prefix: string; words: number[] };
  try {
    // BOLT #11:
    // - MUST parse the address as Bech32, as specified in BIP-0173 (also without the character limit).
    decoded = bech32.decode(lower as `${string}1${string}`, false);
  } catch {
    return err(invoiceError('bad_checksum', 'bech32 checksum is invalid'));
  }
  return ok({ hrp: decoded.prefix, words: Uint8Array.from(decoded.words) });
}

/** The letter of a must-be-single field (p, s, d, h) that appears with two different values, if any. */
function conflictingField(fields: readonly TaggedField[]): string | undefined {
  const seen = new Map<string, string>();
  for (const f of fields) {
    let letter: string;
    let value: string;
    if (f.type === 'description') {
      letter = 'd';
      value = f.value;
    } else if (f.type === 'payment_hash' || f.type === 'payment_secret' || f.type === 'description_hash') {
      letter = f.type === 'payment_hash' ? 'p' : f.type === 'payment_secret' ? 's' : 'h';
      value = hex(f.value);
    } else {
      continue;
    }
    const before = seen.get(letter);
    if (before === undefined) seen.set(letter, value);
    else if (before !== value) return letter;
  }
  return undefined;
}

/** Decodes and verifies a BOLT 11 invoice (optionally prefixed `lightning:`). Never throws on bad input. */
export function decodeInvoice(text: string, options: DecodeOptions = {}): Result<Invoice, InvoiceError> {
  // BOLT 11 recommends a 'lightning:' URI prefix; accept it (any case) so pasted links work.
  if (typeof text !== 'string') return err(invoiceError('invalid_character', 'an invoice is a string'));
  const trimmed = text.trim();
  const b = bech32Words(/^lightning:/i.test(trimmed) ? trimmed.slice(10) : trimmed);
  if (!b.ok) return b;
  const { hrp, words } = b.value;
  const parsed = parseHrp(hrp);
  if (!parsed.ok) return parsed;
  if (words.length < TIMESTAMP_WORDS + SIGNATURE_WORDS) {
    return err(invoiceError('too_short', 'data part is too short for a timestamp and a signature'));
  }
  const end = words.length - SIGNATURE_WORDS;
  const timestamp = Number(wordsToUint(words.subarray(0, TIMESTAMP_WORDS)));

  const fields: TaggedField[] = [];
  let pos = TIMESTAMP_WORDS;
  while (pos < end) {
    if (pos + 3 > end)
      return err(invoiceError('truncated_field', 'tagged field header runs into the signature'));
    const tag = words[pos]!;
    const len = words[pos + 1]! * 32 + words[pos + 2]!;
    pos += 3;
    if (pos + len > end)
      return err(
        invoiceError('truncated_field', `field ${BECH32_ALPHABET[tag]} runs into the signature`, {
          field: BECH32_ALPHABET[tag]!,
        }),
      );
    const f = decodeField(tag, words.slice(pos, pos + len));
    if (!f.ok) return f;
    fields.push(f.value);
    pos += len;
  }

  // BOLT #11:
  // - MUST include exactly one `p` field.
  // - MUST include exactly one `s` field.
  // - MUST include either exactly one `d` or exactly one `h` field.
  // Repeats that disagree are refused rather than guessed between (two payment hashes or two
  // descriptions could show the payer one thing and pay for another). Identical repeats are read once:
  // the spec's own high-S vector repeats its `s` field.
  const conflict = conflictingField(fields);
  if (conflict !== undefined) {
    return err(invoiceError('duplicate_field', `${conflict} fields disagree`, { field: conflict }));
  }
  // For the other kinds readers use the first (most preferred) field.
  const first = <K extends TaggedField['type']>(type: K): Extract<TaggedField, { type: K }> | undefined =>
    fields.find((f): f is Extract<TaggedField, { type: K }> => f.type === type);
  const paymentHash = first('payment_hash');
  if (paymentHash === undefined)
    return err(invoiceError('missing_payment_hash', 'no valid payment hash (p) field', { field: 'p' }));
  // BOLT #11:
  // - if a valid `s` field is not provided:
  //   - MUST fail the payment.
  const paymentSecret = first('payment_secret');
  if (paymentSecret === undefined)
    return err(invoiceError('missing_payment_secret', 'no valid payment secret (s) field', { field: 's' }));
  // BOLT #11:
  // - MUST fail the payment if neither a `d` field nor a `h` field is present, or if both are present.
  const description = first('description');
  const descriptionHash = first('description_hash');
  if (description === undefined && descriptionHash === undefined) {
    return err(
      invoiceError('missing_description', 'neither a description (d) nor a description hash (h) field'),
    );
  }
  if (description !== undefined && descriptionHash !== undefined) {
    return err(
      invoiceError(
        'both_description_and_hash',
        'has both a description (d) and a description hash (h) field',
      ),
    );
  }
  for (const f of fields) {
    if (f.type !== 'features') continue;
    const problem = checkInvoiceFeatures(f.value, options.knownFeatures ?? KNOWN_INVOICE_FEATURES);
    if (problem !== undefined) return err(problem);
  }

  const sigBytes = wordsToBytesPadded(words.subarray(end));
  const compact = sigBytes.slice(0, 64);
  const recid = sigBytes[64]!;
  const signingHash = sha256(utf8(hrp), wordsToBytesPadded(words.subarray(0, end)));
  // Checked even when `n` is given. BOLT #11:
  // The signature is encoded as 64 bytes (R || S), followed by a trailing 1-byte
  // recovery id in {0,1,2,3}.
  if (recid > 3) return err(invoiceError('invalid_recovery_id', `recovery id ${recid} is not 0..3`));
  const n = first('payee');
  let payee: Uint8Array;
  if (n !== undefined) {
    // BOLT #11:
    // - if a valid `n` field is provided:
    //   - MUST use the `n` field to validate the signature instead of performing public-key recovery.
    //   - If the signature is not compliant with the low-S standard rule<sup>[low-S](https://github.com/bitcoin/bitcoin/pull/6769)</sup>:
    //     - MUST fail the payment
    let s = 0n;
    for (let i = 32; i < 64; i++) s = (s << 8n) | BigInt(compact[i]!);
    if (s > HALF_ORDER)
      return err(invoiceError('high_s_signature', 'signature is not low-S while an n field is given'));
    let valid = false;
    try {
      valid = ecdsaVerify(compact, signingHash, n.value);
    } catch {
      valid = false;
    }
    if (!valid)
      return err(invoiceError('invalid_signature', 'signature does not match the payee in the n field'));
    payee = n.value;
  } else {
    // BOLT #11:
    // - otherwise:
    //   - MUST perform ECDSA public-key recovery and accept both high-S and low-S signatures.
    try {
      payee = ecdsaRecover(compact, recid, signingHash);
    } catch {
      return err(
        invoiceError('unrecoverable_signature', 'no public key can be recovered from the signature'),
      );
    }
  }

  const features = first('features');
  const expiry = first('expiry');
  const cltv = first('min_final_cltv_expiry_delta');
  const metadata = first('metadata');
  return ok({
    hrp,
    currency: parsed.value.currency,
    network: networkOfCurrency(parsed.value.currency),
    amount: parsed.value.amount,
    timestamp,
    paymentHash: paymentHash.value,
    paymentSecret: paymentSecret.value,
    description: description?.value,
    descriptionHash: descriptionHash?.value,
    payee,
    payeeFromField: n !== undefined,
    expiry: expiry?.value ?? DEFAULT_EXPIRY_SECONDS,
    minFinalCltvExpiryDelta: cltv?.value ?? DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA,
    fallbacks: fields.flatMap((f) => (f.type === 'fallback' ? [f.value] : [])),
    routeHints: fields.flatMap((f) => (f.type === 'route_hint' ? [f.value] : [])),
    features: features?.value ?? new Uint8Array(0),
    metadata: metadata?.value,
    fields,
    signature: { compact, recid },
    signingHash,
  });
}

/** The payer's check: `timestamp` plus `expiry` has passed. */
export function isExpired(inv: Pick<Invoice, 'timestamp' | 'expiry'>, nowSeconds: number): boolean {
  return nowSeconds > inv.timestamp + inv.expiry;
}

export function expiresAt(inv: Pick<Invoice, 'timestamp' | 'expiry'>): number {
  return inv.timestamp + inv.expiry;
}

/**
 * BOLT 11: a reader "MUST check that the SHA2 256-bit hash in the `h` field exactly matches the hashed
 * description". True when the invoice's `d` equals, or its `h` commits to, the given description.
 */
export function descriptionMatches(
  inv: Pick<Invoice, 'description' | 'descriptionHash'>,
  description: string,
): boolean {
  if (inv.description !== undefined) return inv.description === description;
  return inv.descriptionHash !== undefined && equal(inv.descriptionHash, sha256(utf8(description)));
}

// ---------------------------------------------------------------------------------------------
// Writing

export type InvoiceSigner = (digest32: Uint8Array) => InvoiceSignature;

export interface UnsignedInvoice {
  readonly currency: Currency;
  readonly amount?: Msat | undefined;
  readonly timestamp: number;
  /** In the order they will be written. */
  readonly fields: readonly TaggedField[];
}

export interface InvoiceParams {
  readonly currency: Currency;
  readonly amount?: Msat | undefined;
  readonly timestamp: number;
  readonly paymentHash: Uint8Array;
  readonly paymentSecret: Uint8Array;
  /** Exactly one of description / descriptionHash. */
  readonly description?: string | undefined;
  readonly descriptionHash?: Uint8Array | undefined;
  /** Writes an `n` field (saves the payer a key recovery). */
  readonly payee?: Uint8Array | undefined;
  readonly expiry?: number | undefined;
  readonly minFinalCltvExpiryDelta?: number | undefined;
  readonly fallbacks?: readonly Fallback[] | undefined;
  readonly routeHints?: readonly (readonly RouteHintHop[])[] | undefined;
  readonly features?: Uint8Array | undefined;
  readonly metadata?: Uint8Array | undefined;
}

/** The fields for typical invoice parameters, in a fixed order. */
export function buildInvoiceFields(p: InvoiceParams): TaggedField[] {
  const fields: TaggedField[] = [
    { type: 'payment_hash', value: p.paymentHash },
    { type: 'payment_secret', value: p.paymentSecret },
  ];
  if (p.description !== undefined) fields.push({ type: 'description', value: p.description });
  if (p.descriptionHash !== undefined) fields.push({ type: 'description_hash', value: p.descriptionHash });
  if (p.payee !== undefined) fields.push({ type: 'payee', value: p.payee });
  if (p.expiry !== undefined) fields.push({ type: 'expiry', value: p.expiry });
  if (p.minFinalCltvExpiryDelta !== undefined)
    fields.push({ type: 'min_final_cltv_expiry_delta', value: p.minFinalCltvExpiryDelta });
  for (const f of p.fallbacks ?? []) fields.push({ type: 'fallback', value: f });
  for (const r of p.routeHints ?? []) fields.push({ type: 'route_hint', value: r });
  if (p.features?.some((x) => x !== 0)) fields.push({ type: 'features', value: p.features });
  if (p.metadata !== undefined) fields.push({ type: 'metadata', value: p.metadata });
  return fields;
}

/** Writer rules on the field set, then the bits, then the signature; the result is decoded back as a self-check. */
export function encodeInvoice(
  u: UnsignedInvoice,
  sign: InvoiceSigner,
  options: DecodeOptions = {},
): Result<string, InvoiceError> {
  if (!Number.isSafeInteger(u.timestamp) || u.timestamp < 0 || u.timestamp > MAX_TIMESTAMP) {
    return err(invoiceError('invalid_field', `timestamp ${u.timestamp} does not fit 35 bits`));
  }
  if (u.amount !== undefined && (u.amount <= 0n || u.amount > MAX_INVOICE_MSAT)) {
    return err(
      invoiceError(
        'invalid_amount',
        `amount ${u.amount} msat must be positive and at most 21 million bitcoin`,
      ),
    );
  }
  const has = (t: TaggedField['type']): boolean => u.fields.some((f) => f.type === t);
  // BOLT #11:
  // - MUST include exactly one `p` field.
  // - MUST include exactly one `s` field.
  // - MUST include either exactly one `d` or exactly one `h` field.
  // (buildInvoiceFields writes one of each; a field list from a decoded invoice may repeat a field
  // with the same value, which readers accept, so that still re-encodes.)
  if (!has('payment_hash'))
    return err(invoiceError('invalid_field', 'must have a payment hash (p)', { field: 'p' }));
  if (!has('payment_secret'))
    return err(invoiceError('invalid_field', 'must have a payment secret (s)', { field: 's' }));
  if (has('description') === has('description_hash')) {
    return err(
      invoiceError('invalid_field', 'must have exactly one of description (d) or description hash (h)'),
    );
  }
  const conflict = conflictingField(u.fields);
  if (conflict !== undefined)
    return err(invoiceError('invalid_field', `${conflict} fields disagree`, { field: conflict }));
  const hrp = formatHrp(u.currency, u.amount);
  const parts: Uint8Array[] = [uintToWordsFixed(BigInt(u.timestamp), TIMESTAMP_WORDS)];
  for (const f of u.fields) {
    const e = encodeField(f);
    if (!e.ok) return e;
    const len = e.value.words.length;
    parts.push(Uint8Array.of(e.value.tag, len >> 5, len & 31), e.value.words);
  }
  const data = concat(...parts);
  const digest = sha256(utf8(hrp), wordsToBytesPadded(data));
  let sig: InvoiceSignature;
  try {
    sig = sign(digest);
  } catch (e) {
    return err(invoiceError('signer_failed', `signer failed: ${(e as Error).message}`));
  }
  if (sig.compact.length !== 64 || !Number.isInteger(sig.recid) || sig.recid < 0 || sig.recid > 3) {
    return err(invoiceError('signer_failed', 'signer returned a malformed signature'));
  }
  const text = bech32.encode(
    hrp,
    Array.from(concat(data, bytesToWords(concat(sig.compact, Uint8Array.of(sig.recid))))),
    false,
  );
  const check = decodeInvoice(text, options);
  if (!check.ok)
    return err(
      invoiceError(check.error.code, `encoded invoice does not decode: ${check.error.message}`, {
        field: check.error.field,
        bit: check.error.bit,
      }),
    );
  return ok(text);
}

export function createInvoice(
  p: InvoiceParams,
  sign: InvoiceSigner,
  options: DecodeOptions = {},
): Result<string, InvoiceError> {
  return encodeInvoice(
    { currency: p.currency, amount: p.amount, timestamp: p.timestamp, fields: buildInvoiceFields(p) },
    sign,
    options,
  );
}

/** The unsigned content of a decoded invoice, to re-encode it. */
export function unsignedOf(inv: Invoice): UnsignedInvoice {
  return { currency: inv.currency, amount: inv.amount, timestamp: inv.timestamp, fields: inv.fields };
}

/** A signer over a raw private key, for tests, tools and devnet (a node passes its NodeSigner instead). */
export function privateKeySigner(secret: Uint8Array): InvoiceSigner {
  return (digest) => ecdsaSign(digest, secret);
}
