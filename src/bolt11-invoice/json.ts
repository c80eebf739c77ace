// RPC-shaped view of a decoded invoice, using Core Lightning's `decode` / `decodepay` field names.
// Amounts are bigint (msat can exceed 2^53): the RPC layer must print them as JSON integers.
import { hex } from '../core/bytes.ts';
import { err, ok, type Result } from '../core/result.ts';
import type { Msat } from '../core/units.ts';
import { signatureToDer } from '../crypto/secp256k1.ts';
import { type InvoiceError, invoiceError } from './errors.ts';
import { type Fallback, fallbackAddress, fallbackScriptPubKey } from './fallback.ts';
import { formatShortChannelId, tagLetter } from './fields.ts';
import { type DecodeOptions, decodeInvoice, descriptionMatches, type Invoice } from './invoice.ts';
import { BECH32_ALPHABET } from './words.ts';

export interface InvoiceJsonFallback {
  readonly type: 'P2PKH' | 'P2SH' | 'P2WPKH' | 'P2WSH' | 'P2TR' | 'WITNESS';
  readonly addr: string;
  /** The output script, hex. */
  readonly hex: string;
}

export interface InvoiceJsonRouteHop {
  readonly pubkey: string;
  readonly short_channel_id: string;
  readonly fee_base_msat: Msat;
  readonly fee_proportional_millionths: number;
  readonly cltv_expiry_delta: number;
}

export interface InvoiceJson {
  readonly type: 'bolt11 invoice';
  readonly valid: true;
  readonly currency: string;
  readonly created_at: number;
  readonly expiry: number;
  readonly payee: string;
  readonly amount_msat?: Msat;
  readonly payment_hash: string;
  /** DER-encoded, hex, as Core Lightning prints it. */
  readonly signature: string;
  readonly description?: string;
  readonly description_hash?: string;
  readonly min_final_cltv_expiry: number;
  readonly payment_secret: string;
  readonly features?: string;
  readonly payment_metadata?: string;
  readonly fallbacks?: readonly InvoiceJsonFallback[];
  readonly routes?: readonly (readonly InvoiceJsonRouteHop[])[];
  /** Fields this reader skipped (unknown tag, wrong length, unknown fallback version). */
  readonly extra?: readonly { readonly tag: string; readonly data: string }[];
}

function fallbackType(f: Fallback): InvoiceJsonFallback['type'] {
  switch (f.kind) {
    case 'p2pkh':
      return 'P2PKH';
    case 'p2sh':
      return 'P2SH';
    case 'witness':
      if (f.version === 0) return f.program.length === 20 ? 'P2WPKH' : 'P2WSH';
      if (f.version === 1 && f.program.length === 32) return 'P2TR';
      return 'WITNESS';
  }
}

export function decodeToJson(inv: Invoice): InvoiceJson {
  const extra = inv.fields.flatMap((f) =>
    f.type === 'skipped'
      ? [{ tag: tagLetter(f.tag), data: Array.from(f.words, (w) => BECH32_ALPHABET[w]).join('') }]
      : [],
  );
  let signature: string;
  try {
    signature = hex(signatureToDer(inv.signature.compact));
  } catch {
    signature = hex(inv.signature.compact);
  }
  return {
    type: 'bolt11 invoice',
    valid: true,
    currency: inv.currency,
    created_at: inv.timestamp,
    expiry: inv.expiry,
    payee: hex(inv.payee),
    ...(inv.amount !== undefined ? { amount_msat: inv.amount } : {}),
    payment_hash: hex(inv.paymentHash),
    signature,
    ...(inv.description !== undefined ? { description: inv.description } : {}),
    ...(inv.descriptionHash !== undefined ? { description_hash: hex(inv.descriptionHash) } : {}),
    min_final_cltv_expiry: inv.minFinalCltvExpiryDelta,
    payment_secret: hex(inv.paymentSecret),
    ...(inv.features.length > 0 ? { features: hex(inv.features) } : {}),
    ...(inv.metadata !== undefined ? { payment_metadata: hex(inv.metadata) } : {}),
    ...(inv.fallbacks.length > 0
      ? {
          fallbacks: inv.fallbacks.map((f) => ({
            type: fallbackType(f),
            addr: fallbackAddress(f, inv.network),
            hex: hex(fallbackScriptPubKey(f)),
          })),
        }
      : {}),
    ...(inv.routeHints.length > 0
      ? {
          routes: inv.routeHints.map((r) =>
            r.map((h) => ({
              pubkey: hex(h.pubkey),
              short_channel_id: formatShortChannelId(h.shortChannelId),
              fee_base_msat: h.feeBaseMsat,
              fee_proportional_millionths: h.feeProportionalMillionths,
              cltv_expiry_delta: h.cltvExpiryDelta,
            })),
          ),
        }
      : {}),
    ...(extra.length > 0 ? { extra } : {}),
  };
}

/**
 * Core Lightning's `decode` / `decodepay <bolt11> [description]`: decodes and, when a description
 * is given, checks that the invoice's `d` equals it or its `h` commits to it.
 */
export function decodeInvoiceJson(
  text: string,
  options: DecodeOptions & { readonly description?: string } = {},
): Result<InvoiceJson, InvoiceError> {
  const r = decodeInvoice(text, options);
  if (!r.ok) return r;
  if (options.description !== undefined && !descriptionMatches(r.value, options.description)) {
    return err(invoiceError('description_mismatch', 'the given description does not match the invoice'));
  }
  return ok(decodeToJson(r.value));
}
