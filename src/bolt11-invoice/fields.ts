// Tagged fields: `type` (5 bits), `data_length` (10 bits), `data` (data_length x 5 bits). One decoder
// and one encoder per known tag; anything else is kept verbatim so an invoice re-encodes exactly.
import { concat, fromUtf8, readU16be, readU32be, u16be, u32be, u64be, utf8 } from '../core/bytes.ts';
import { err, ok, type Result } from '../core/result.ts';
import type { Msat } from '../core/units.ts';
import { isPublicKey } from '../crypto/secp256k1.ts';
import { type InvoiceError, invoiceError } from './errors.ts';
import { type Fallback, fallbackOf, fallbackPayload, fallbackProblem, fallbackVersion } from './fallback.ts';
import { featuresFromWords, featuresToWords } from './features.ts';
import {
  BECH32_ALPHABET,
  bytesToWords,
  isNonMinimal,
  uintToWords,
  wordsToBytesStrict,
  wordsToUint,
} from './words.ts';

/** Tag numbers (the bech32 letter's value). */
export const TAG = {
  p: 1,
  s: 16,
  d: 13,
  m: 27,
  n: 19,
  h: 23,
  x: 6,
  c: 24,
  f: 9,
  r: 3,
  features: 5, // the letter `9`
} as const;

/** The largest `data_length`: 10 bits. */
export const MAX_FIELD_WORDS = 1023;
/** 1023 words hold 639 whole bytes. */
export const MAX_FIELD_BYTES = 639;

export const DEFAULT_EXPIRY_SECONDS = 3600;
export const DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA = 18;

export interface RouteHintHop {
  /** Node id at the start of the channel. */
  readonly pubkey: Uint8Array;
  readonly shortChannelId: bigint;
  readonly feeBaseMsat: Msat;
  readonly feeProportionalMillionths: number;
  readonly cltvExpiryDelta: number;
}

export const ROUTE_HOP_BYTES = 33 + 8 + 4 + 4 + 2;

/** Why a field was kept raw instead of being interpreted. */
export type SkipReason = 'unknown_tag' | 'wrong_length' | 'unknown_fallback_version';

export type TaggedField =
  | { readonly type: 'payment_hash'; readonly value: Uint8Array }
  | { readonly type: 'payment_secret'; readonly value: Uint8Array }
  | { readonly type: 'description'; readonly value: string }
  | { readonly type: 'description_hash'; readonly value: Uint8Array }
  | { readonly type: 'payee'; readonly value: Uint8Array }
  | { readonly type: 'expiry'; readonly value: number }
  | { readonly type: 'min_final_cltv_expiry_delta'; readonly value: number }
  | { readonly type: 'fallback'; readonly value: Fallback }
  | { readonly type: 'route_hint'; readonly value: readonly RouteHintHop[] }
  | { readonly type: 'features'; readonly value: Uint8Array }
  | { readonly type: 'metadata'; readonly value: Uint8Array }
  | {
      readonly type: 'skipped';
      readonly tag: number;
      readonly words: Uint8Array;
      readonly reason: SkipReason;
    };

export function tagLetter(tag: number): string {
  return BECH32_ALPHABET[tag] ?? '?';
}

function fixed32(words: Uint8Array, letter: string): Result<Uint8Array | undefined, InvoiceError> {
  // Wrong lengths: the spec's own valid example skips such fields ("ignored"), and so do we; the invoice
  // then fails only if no field of the right length remains for a required tag. Despite:
  // BOLT #11:
  // - MUST fail the payment if any field with fixed `data_length` (`p`, `h`, `s`, `n`) does not have the correct length (52, 52, 52, 53).
  if (words.length !== 52) return ok(undefined);
  const bytes = wordsToBytesStrict(words);
  if (bytes === undefined)
    return err(
      invoiceError('invalid_padding', `field ${letter} has non-zero padding bits`, { field: letter }),
    );
  return ok(bytes);
}

function byteField(words: Uint8Array, letter: string): Result<Uint8Array, InvoiceError> {
  const bytes = wordsToBytesStrict(words);
  if (bytes === undefined)
    return err(invoiceError('invalid_padding', `field ${letter} has bad padding bits`, { field: letter }));
  return ok(bytes);
}

function intField(words: Uint8Array, letter: string): Result<number, InvoiceError> {
  // BOLT #11:
  // - if a `c`, `x`, or `9` field is provided which has a non-minimal `data_length`
  //   (i.e. begins with 0 field elements):
  //   - SHOULD treat the invoice as invalid.
  if (isNonMinimal(words))
    return err(
      invoiceError('non_minimal_field', `field ${letter} has leading zero field elements`, { field: letter }),
    );
  const v = wordsToUint(words);
  if (v > BigInt(Number.MAX_SAFE_INTEGER))
    return err(invoiceError('field_overflow', `field ${letter} value is too large`, { field: letter }));
  return ok(Number(v));
}

function skipped(tag: number, words: Uint8Array, reason: SkipReason): Result<TaggedField, InvoiceError> {
  return ok({ type: 'skipped', tag, words, reason });
}

/** Interprets one tagged field's data words. */
export function decodeField(tag: number, words: Uint8Array): Result<TaggedField, InvoiceError> {
  const letter = tagLetter(tag);
  switch (tag) {
    case TAG.p:
    case TAG.s:
    case TAG.h: {
      const r = fixed32(words, letter);
      if (!r.ok) return r;
      if (r.value === undefined) return skipped(tag, words, 'wrong_length');
      const type = tag === TAG.p ? 'payment_hash' : tag === TAG.s ? 'payment_secret' : 'description_hash';
      return ok({ type, value: r.value });
    }
    case TAG.n: {
      if (words.length !== 53) return skipped(tag, words, 'wrong_length');
      const r = byteField(words, letter);
      if (!r.ok) return r;
      if (!isPublicKey(r.value) || r.value.length !== 33)
        return err(
          invoiceError('invalid_payee', 'field n is not a valid compressed public key', { field: 'n' }),
        );
      return ok({ type: 'payee', value: r.value });
    }
    case TAG.d: {
      const r = byteField(words, letter);
      if (!r.ok) return r;
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(r.value);
      } catch {
        return err(invoiceError('invalid_description', 'field d is not valid UTF-8', { field: 'd' }));
      }
      return ok({ type: 'description', value: text });
    }
    case TAG.m: {
      const r = byteField(words, letter);
      return r.ok ? ok({ type: 'metadata', value: r.value }) : r;
    }
    case TAG.x: {
      const r = intField(words, letter);
      return r.ok ? ok({ type: 'expiry', value: r.value }) : r;
    }
    case TAG.c: {
      const r = intField(words, letter);
      return r.ok ? ok({ type: 'min_final_cltv_expiry_delta', value: r.value }) : r;
    }
    case TAG.features: {
      if (isNonMinimal(words))
        return err(
          invoiceError('non_minimal_field', 'field 9 has leading zero field elements', { field: '9' }),
        );
      return ok({ type: 'features', value: featuresFromWords(words) });
    }
    case TAG.f: {
      if (words.length === 0)
        return err(invoiceError('invalid_fallback', 'field f is empty', { field: 'f' }));
      const version = words[0]!;
      // BOLT #11:
      // - MUST skip over `f` fields that use an unknown `version`.
      if (version > 18) return skipped(tag, words, 'unknown_fallback_version');
      const payload = byteField(words.subarray(1), letter);
      if (!payload.ok) return payload;
      const f = fallbackOf(version, payload.value);
      if (f === undefined) return skipped(tag, words, 'unknown_fallback_version');
      const problem = fallbackProblem(f);
      if (problem !== undefined)
        return err(invoiceError('invalid_fallback', `field f: ${problem}`, { field: 'f' }));
      return ok({ type: 'fallback', value: f });
    }
    case TAG.r: {
      const r = byteField(words, letter);
      if (!r.ok) return r;
      const b = r.value;
      if (b.length === 0 || b.length % ROUTE_HOP_BYTES !== 0) {
        return err(
          invoiceError(
            'invalid_route_hint',
            `field r is ${b.length} bytes, not a whole number of ${ROUTE_HOP_BYTES}-byte hops`,
            { field: 'r' },
          ),
        );
      }
      const hops: RouteHintHop[] = [];
      for (let o = 0; o < b.length; o += ROUTE_HOP_BYTES) {
        const pubkey = b.slice(o, o + 33);
        if (!isPublicKey(pubkey))
          return err(
            invoiceError('invalid_route_hint', `field r hop ${hops.length} has an invalid public key`, {
              field: 'r',
            }),
          );
        let scid = 0n;
        for (let i = 0; i < 8; i++) scid = (scid << 8n) | BigInt(b[o + 33 + i]!);
        hops.push({
          pubkey,
          shortChannelId: scid,
          feeBaseMsat: BigInt(readU32be(b, o + 41)) as Msat,
          feeProportionalMillionths: readU32be(b, o + 45),
          cltvExpiryDelta: readU16be(b, o + 49),
        });
      }
      return ok({ type: 'route_hint', value: hops });
    }
    default:
      // BOLT 11 says to skip unknown fields; `tag` is a number here, so this is not a union switch.
      return skipped(tag, words, 'unknown_tag');
  }
}

function bad(letter: string, message: string): Result<never, InvoiceError> {
  return err(invoiceError('invalid_field', `field ${letter}: ${message}`, { field: letter }));
}

function safeUint(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 0;
}

/** Tag and data words for one field, enforcing the writer's rules for it. */
export function encodeField(field: TaggedField): Result<{ tag: number; words: Uint8Array }, InvoiceError> {
  const r = encodeFieldUnchecked(field);
  if (!r.ok) return r;
  if (r.value.words.length > MAX_FIELD_WORDS)
    return bad(tagLetter(r.value.tag), `data is ${r.value.words.length} words, more than ${MAX_FIELD_WORDS}`);
  return r;
}

function encodeFieldUnchecked(field: TaggedField): Result<{ tag: number; words: Uint8Array }, InvoiceError> {
  switch (field.type) {
    case 'payment_hash':
    case 'payment_secret':
    case 'description_hash': {
      const tag = field.type === 'payment_hash' ? TAG.p : field.type === 'payment_secret' ? TAG.s : TAG.h;
      if (field.value.length !== 32)
        return bad(tagLetter(tag), `must be 32 bytes, got ${field.value.length}`);
      return ok({ tag, words: bytesToWords(field.value) });
    }
    case 'payee':
      if (field.value.length !== 33 || !isPublicKey(field.value))
        return bad('n', 'must be a 33-byte compressed public key');
      return ok({ tag: TAG.n, words: bytesToWords(field.value) });
    case 'description': {
      const bytes = utf8(field.value);
      if (fromUtf8(bytes) !== field.value) return bad('d', 'is not valid Unicode text');
      if (bytes.length > MAX_FIELD_BYTES)
        return bad('d', `is ${bytes.length} bytes; over ${MAX_FIELD_BYTES} use a description hash (h)`);
      return ok({ tag: TAG.d, words: bytesToWords(bytes) });
    }
    case 'metadata':
      return ok({ tag: TAG.m, words: bytesToWords(field.value) });
    case 'expiry':
      if (!safeUint(field.value)) return bad('x', `bad expiry ${field.value}`);
      return ok({ tag: TAG.x, words: uintToWords(BigInt(field.value)) });
    case 'min_final_cltv_expiry_delta':
      if (!safeUint(field.value)) return bad('c', `bad min_final_cltv_expiry_delta ${field.value}`);
      return ok({ tag: TAG.c, words: uintToWords(BigInt(field.value)) });
    // An empty bitfield writes an empty field: buildInvoiceFields omits it (the writer "MUST omit the
    // `9` field altogether"), but a decoded invoice that had one must re-encode as it was.
    case 'features':
      return ok({ tag: TAG.features, words: featuresToWords(field.value) });
    case 'fallback': {
      const problem = fallbackProblem(field.value);
      if (problem !== undefined) return bad('f', problem);
      return ok({
        tag: TAG.f,
        words: concat(
          Uint8Array.of(fallbackVersion(field.value)),
          bytesToWords(fallbackPayload(field.value)),
        ),
      });
    }
    case 'route_hint': {
      if (field.value.length === 0) return bad('r', 'needs at least one hop');
      const parts: Uint8Array[] = [];
      for (const hop of field.value) {
        if (hop.pubkey.length !== 33 || !isPublicKey(hop.pubkey))
          return bad('r', 'hop public key is invalid');
        if (hop.shortChannelId < 0n || hop.shortChannelId >= 1n << 64n)
          return bad('r', 'short_channel_id out of range');
        if (hop.feeBaseMsat < 0n || hop.feeBaseMsat > 0xffffffffn)
          return bad('r', 'fee_base_msat does not fit 32 bits');
        if (!safeUint(hop.feeProportionalMillionths) || hop.feeProportionalMillionths > 0xffffffff)
          return bad('r', 'fee_proportional_millionths does not fit 32 bits');
        if (!safeUint(hop.cltvExpiryDelta) || hop.cltvExpiryDelta > 0xffff)
          return bad('r', 'cltv_expiry_delta does not fit 16 bits');
        parts.push(
          hop.pubkey,
          u64be(hop.shortChannelId),
          u32be(Number(hop.feeBaseMsat)),
          u32be(hop.feeProportionalMillionths),
          u16be(hop.cltvExpiryDelta),
        );
      }
      return ok({ tag: TAG.r, words: bytesToWords(concat(...parts)) });
    }
    case 'skipped':
      if (!Number.isInteger(field.tag) || field.tag < 0 || field.tag > 31)
        return bad('?', `tag ${field.tag} is not 0..31`);
      if (field.words.some((w) => w > 31)) return bad(tagLetter(field.tag), 'words must be 5-bit values');
      return ok({ tag: field.tag, words: field.words });
  }
}

/** `BLOCKxTXxOUT`, the usual text form of a short channel id. */
export function formatShortChannelId(scid: bigint): string {
  return `${scid >> 40n}x${(scid >> 16n) & 0xffffffn}x${scid & 0xffffn}`;
}

export function parseShortChannelId(text: string): bigint | undefined {
  const m = /^(\d+)x(\d+)x(\d+)$/.exec(text);
  if (m === null) return undefined;
  const [b, t, o] = [BigInt(m[1]!), BigInt(m[2]!), BigInt(m[3]!)];
  if (b >= 1n << 24n || t >= 1n << 24n || o >= 1n << 16n) return undefined;
  return (b << 40n) | (t << 16n) | o;
}
