// Invoices we issue: the stored record, its status at a given time, and Core Lightning's JSON shapes
// (`invoice`, `listinvoices`). Pure: time, randomness and signing come in as arguments.
import {
  type Currency,
  createInvoice,
  DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA,
  type Fallback,
  featuresFromBits,
  type InvoiceSigner,
  type RouteHintHop,
} from '../bolt11-invoice/index.ts';
import { hex } from '../core/bytes.ts';
import { err, ok, type Result } from '../core/result.ts';
import { type Msat, msat } from '../core/units.ts';
import { sha256 } from '../crypto/index.ts';
import type { ReceivableInvoice } from './htlc-switch.ts';

/** Core Lightning's default invoice expiry: one week. */
export const DEFAULT_INVOICE_EXPIRY_SECONDS = 604_800;

/** var_onion_optin and payment_secret required, basic_mpp optional (as Core Lightning writes them). */
export const INVOICE_FEATURE_BITS: readonly number[] = [8, 14, 17];

/** Stored state; 'accepted' and 'canceled' only happen to hold invoices. */
export type InvoiceState = 'unpaid' | 'accepted' | 'paid' | 'canceled';
export type InvoiceStatus = 'unpaid' | 'accepted' | 'paid' | 'expired' | 'canceled';

export interface InvoiceRecord {
  readonly label: string;
  readonly bolt11: string;
  /** hex */
  readonly paymentHash: string;
  readonly paymentSecret: string;
  /** hex; absent for a hold invoice until it is settled. */
  readonly preimage?: string;
  readonly amountMsat?: Msat;
  readonly description: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly minFinalCltvExpiryDelta: number;
  readonly hold: boolean;
  readonly state: InvoiceState;
  readonly createdIndex: number;
  readonly updatedIndex?: number;
  readonly payIndex?: number;
  readonly amountReceivedMsat?: Msat;
  readonly paidAt?: number;
}

/** What a person sees: expiry is decided at read time, except for money already received. */
export function invoiceStatus(r: InvoiceRecord, nowSeconds: number): InvoiceStatus {
  switch (r.state) {
    case 'paid':
    case 'canceled':
    case 'accepted':
      return r.state;
    case 'unpaid':
      return nowSeconds > r.expiresAt ? 'expired' : 'unpaid';
  }
}

export interface InvoiceJson {
  readonly label: string;
  readonly bolt11: string;
  readonly payment_hash: string;
  readonly status: InvoiceStatus;
  readonly expires_at: number;
  readonly amount_msat?: Msat;
  readonly description: string;
  readonly created_index: number;
  readonly updated_index?: number;
  readonly pay_index?: number;
  readonly amount_received_msat?: Msat;
  readonly paid_at?: number;
  readonly payment_preimage?: string;
}

/** The `listinvoices` entry (Core Lightning's field names). */
export function invoiceToJson(r: InvoiceRecord, nowSeconds: number): InvoiceJson {
  const status = invoiceStatus(r, nowSeconds);
  return {
    label: r.label,
    bolt11: r.bolt11,
    payment_hash: r.paymentHash,
    status,
    expires_at: r.expiresAt,
    ...(r.amountMsat !== undefined ? { amount_msat: r.amountMsat } : {}),
    description: r.description,
    created_index: r.createdIndex,
    ...(r.updatedIndex !== undefined ? { updated_index: r.updatedIndex } : {}),
    ...(status === 'paid' && r.payIndex !== undefined ? { pay_index: r.payIndex } : {}),
    ...(r.amountReceivedMsat !== undefined ? { amount_received_msat: r.amountReceivedMsat } : {}),
    ...(status === 'paid' && r.paidAt !== undefined ? { paid_at: r.paidAt } : {}),
    ...(status === 'paid' && r.preimage !== undefined ? { payment_preimage: r.preimage } : {}),
  };
}

/** What the receive side of the switch needs. */
export function receivableOf(r: InvoiceRecord, fromHex: (h: string) => Uint8Array): ReceivableInvoice {
  return {
    paymentHash: fromHex(r.paymentHash),
    paymentSecret: fromHex(r.paymentSecret),
    amountMsat: r.amountMsat,
    // Once a hold invoice has accepted its HTLCs, expiry no longer applies: the same HTLCs replayed
    // after a restart must be held again, not failed.
    expiresAt: r.state === 'accepted' ? Number.MAX_SAFE_INTEGER : r.expiresAt,
    minFinalCltvExpiryDelta: r.minFinalCltvExpiryDelta,
    paid: r.state === 'paid' || r.state === 'canceled',
    preimage: r.preimage !== undefined ? fromHex(r.preimage) : undefined,
    hold: r.hold,
  };
}

export interface NewInvoice {
  readonly label: string;
  /** Undefined: any amount. */
  readonly amountMsat: Msat | undefined;
  readonly description: string;
  readonly expirySeconds: number;
  readonly fallbacks: readonly Fallback[];
  readonly cltv: number;
  /** Exactly one: a normal invoice knows its preimage, a hold invoice only the hash. */
  readonly secret: { readonly preimage: Uint8Array } | { readonly paymentHash: Uint8Array };
  readonly paymentSecret: Uint8Array;
  readonly routeHints?: readonly (readonly RouteHintHop[])[];
}

export interface InvoiceContext {
  readonly currency: Currency;
  readonly nodeId: Uint8Array;
  readonly sign: InvoiceSigner;
  readonly nowSeconds: number;
  readonly createdIndex: number;
}

/** Signs the BOLT 11 string and makes the record. */
export function makeInvoice(p: NewInvoice, ctx: InvoiceContext): Result<InvoiceRecord, string> {
  if (p.amountMsat !== undefined && p.amountMsat <= 0n) return err('amount_msat must be positive or "any"');
  if (!Number.isSafeInteger(p.expirySeconds) || p.expirySeconds <= 0)
    return err('expiry must be a positive number of seconds');
  if (p.paymentSecret.length !== 32) return err('payment_secret must be 32 bytes');
  const preimage = 'preimage' in p.secret ? p.secret.preimage : undefined;
  if (preimage !== undefined && preimage.length !== 32) return err('preimage must be 32 bytes');
  const paymentHash =
    preimage !== undefined ? sha256(preimage) : (p.secret as { paymentHash: Uint8Array }).paymentHash;
  if (paymentHash.length !== 32) return err('payment_hash must be 32 bytes');
  const bolt11 = createInvoice(
    {
      currency: ctx.currency,
      amount: p.amountMsat,
      timestamp: ctx.nowSeconds,
      paymentHash,
      paymentSecret: p.paymentSecret,
      description: p.description,
      payee: ctx.nodeId,
      expiry: p.expirySeconds,
      minFinalCltvExpiryDelta: p.cltv,
      fallbacks: p.fallbacks,
      routeHints: p.routeHints,
      features: featuresFromBits(INVOICE_FEATURE_BITS),
    },
    ctx.sign,
  );
  if (!bolt11.ok) return err(`could not write the invoice: ${bolt11.error.message}`);
  return ok({
    label: p.label,
    bolt11: bolt11.value,
    paymentHash: hex(paymentHash),
    paymentSecret: hex(p.paymentSecret),
    ...(preimage !== undefined ? { preimage: hex(preimage) } : {}),
    ...(p.amountMsat !== undefined ? { amountMsat: msat(p.amountMsat) } : {}),
    description: p.description,
    createdAt: ctx.nowSeconds,
    expiresAt: ctx.nowSeconds + p.expirySeconds,
    minFinalCltvExpiryDelta: p.cltv || DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA,
    hold: preimage === undefined,
    state: 'unpaid',
    createdIndex: ctx.createdIndex,
  });
}
