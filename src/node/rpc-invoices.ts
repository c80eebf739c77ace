// RPC methods about invoices in Core Lightning's shapes: invoice, listinvoices, waitinvoice,
// waitanyinvoice, delinvoice, and hold invoices (holdinvoice, holdinvoicesettle, holdinvoicecancel);
// decode and decodepay stand alone (decodeMethods), as they need no node.
import {
  decodeInvoiceJson,
  type Fallback,
  fallbackFromAddress,
  networkOfCurrency,
  type RouteHintHop,
} from '../bolt11-invoice/index.ts';
import { fromHex } from '../core/bytes.ts';
import { type Msat, msat } from '../core/units.ts';
import { sha256 } from '../crypto/index.ts';
import { invalidParams, RpcError } from '../rpc/errors.ts';
import type { MethodSpec, Params } from '../rpc/methods.ts';
import { INVOICE_NOT_FOUND, INVOICE_STATUS_UNEXPECTED, type InvoiceRegistry } from './invoice-store.ts';
import type { InvoiceStatus } from './invoices.ts';

/** How the RPC reaches the receive side of the switch for hold invoices. */
export interface HoldInvoiceHooks {
  /** Settle the held HTLCs with this preimage (the switch marks the invoice paid first). */
  settle(paymentHash: Uint8Array, preimage: Uint8Array): void | Promise<void>;
  /** Fail the held HTLCs back. */
  cancel(paymentHash: Uint8Array): void | Promise<void>;
}

export interface InvoiceRpcOptions {
  readonly registry: InvoiceRegistry;
  readonly hold: HoldInvoiceHooks;
}

function hex32(value: unknown, name: string): Uint8Array {
  if (typeof value !== 'string' || !/^[0-9a-fA-F]{64}$/.test(value)) {
    throw invalidParams(`${name}: expected 32 bytes in hex (64 characters)`);
  }
  return fromHex(value);
}

function labelOf(value: unknown): string {
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw invalidParams('label: expected a non-empty string or a number');
}

function amountOf(value: unknown): Msat | undefined {
  if (value === 'any') return undefined;
  if (typeof value !== 'bigint') throw invalidParams('amount_msat: expected an amount or "any"');
  if (value === 0n) throw invalidParams('amount_msat: must be positive, or "any"');
  return msat(value);
}

function expiryOf(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || value <= 0)
    throw invalidParams('expiry: expected a positive number of seconds');
  return value;
}

function cltvOf(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || value < 1 || value > 2016)
    throw invalidParams('cltv: expected 1 to 2016 blocks');
  return value;
}

const STATUSES: readonly InvoiceStatus[] = ['unpaid', 'accepted', 'paid', 'expired', 'canceled'];

/**
 * Route hints in Core Lightning's old test parameter `dev-routes` (also keysend's `routehints`):
 * [[{id, short_channel_id, fee_base_msat, fee_proportional_millionths, cltv_expiry_delta}]].
 */
export function parseDevRoutes(v: unknown): RouteHintHop[][] {
  if (!Array.isArray(v)) throw invalidParams('dev-routes: expected an array of routes');
  return v.map((route) => {
    if (!Array.isArray(route)) throw invalidParams('dev-routes: each route is an array of hops');
    return route.map((h: Record<string, unknown>) => {
      const id = String(h?.id ?? '');
      const scid = /^(\d+)x(\d+)x(\d+)$/.exec(String(h?.short_channel_id ?? ''));
      if (!/^0[23][0-9a-f]{64}$/.test(id) || !scid)
        throw invalidParams('dev-routes: hop needs id and short_channel_id');
      const int = (x: unknown, dflt: number, name: string): number => {
        const n = x === undefined ? dflt : Number(x);
        if (!Number.isSafeInteger(n) || n < 0) throw invalidParams(`dev-routes: bad ${name}`);
        return n;
      };
      return {
        pubkey: fromHex(id),
        shortChannelId: (BigInt(scid[1]!) << 40n) | (BigInt(scid[2]!) << 16n) | BigInt(scid[3]!),
        feeBaseMsat: msat(BigInt(int(h.fee_base_msat, 1000, 'fee_base_msat'))),
        feeProportionalMillionths: int(h.fee_proportional_millionths, 10, 'fee_proportional_millionths'),
        cltvExpiryDelta: int(h.cltv_expiry_delta, 34, 'cltv_expiry_delta'),
      };
    });
  });
}

function routesOf(value: unknown): { routeHints?: RouteHintHop[][] } {
  return value === undefined ? {} : { routeHints: parseDevRoutes(value) };
}

/** listinvoices' paging: by created_index or updated_index, from `start`, at most `limit`. */
function pageOf(p: Params): { index: 'created' | 'updated'; start: number; limit: number } | undefined {
  if (p.index === undefined) {
    if (p.start !== undefined || p.limit !== undefined) throw invalidParams('start and limit need index');
    return undefined;
  }
  if (p.index !== 'created' && p.index !== 'updated')
    throw invalidParams('index: expected "created" or "updated"');
  const start = (p.start as number | undefined) ?? 0;
  const limit = (p.limit as number | undefined) ?? Number.MAX_SAFE_INTEGER;
  if (start < 0) throw invalidParams('start: must not be negative');
  if (limit < 1) throw invalidParams('limit: must be at least 1');
  return { index: p.index, start, limit };
}

export function invoiceMethods(o: InvoiceRpcOptions): MethodSpec[] {
  const reg = o.registry;
  const fallbacks = (value: unknown): Fallback[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw invalidParams('fallbacks: expected an array of addresses');
    const network = networkOfCurrency(reg.currency);
    return value.map((a) => {
      if (typeof a !== 'string') throw invalidParams('fallbacks: expected an array of addresses');
      const f = fallbackFromAddress(a, network);
      if (!f.ok) throw invalidParams(`fallbacks: ${f.error}`);
      return f.value;
    });
  };
  const created = (r: ReturnType<InvoiceRegistry['create']>) => ({
    payment_hash: r.paymentHash,
    expires_at: r.expiresAt,
    bolt11: r.bolt11,
    payment_secret: r.paymentSecret,
    created_index: r.createdIndex,
  });
  const description = (p: Params): string => {
    if (typeof p.description !== 'string') throw invalidParams('description: expected a string');
    return p.description;
  };
  return [
    {
      name: 'invoice',
      description:
        'Create an invoice: invoice amount_msat|any label description [expiry] [fallbacks] [preimage] [cltv] [dev-routes]',
      params: [
        { name: 'amount_msat', type: 'msat', required: true },
        { name: 'label', type: 'any', required: true },
        { name: 'description', type: 'string', required: true },
        { name: 'expiry', type: 'integer' },
        { name: 'fallbacks', type: 'array' },
        { name: 'preimage', type: 'string' },
        { name: 'cltv', type: 'integer' },
        { name: 'dev-routes', type: 'array' },
      ],
      handler: (p) =>
        created(
          reg.create({
            label: labelOf(p.label),
            amountMsat: amountOf(p.amount_msat),
            description: description(p),
            expirySeconds: expiryOf(p.expiry),
            fallbacks: fallbacks(p.fallbacks),
            ...(p.preimage !== undefined ? { preimage: hex32(p.preimage, 'preimage') } : {}),
            cltv: cltvOf(p.cltv),
            ...routesOf(p['dev-routes']),
          }),
        ),
    },
    {
      name: 'holdinvoice',
      description:
        'Create a hold invoice for a payment hash whose preimage you keep: holdinvoice payment_hash amount_msat|any label description [expiry] [cltv] [dev-routes]',
      params: [
        { name: 'payment_hash', type: 'string', required: true },
        { name: 'amount_msat', type: 'msat', required: true },
        { name: 'label', type: 'any', required: true },
        { name: 'description', type: 'string', required: true },
        { name: 'expiry', type: 'integer' },
        { name: 'cltv', type: 'integer' },
        { name: 'dev-routes', type: 'array' },
      ],
      handler: (p) =>
        created(
          reg.createHold({
            paymentHash: hex32(p.payment_hash, 'payment_hash'),
            label: labelOf(p.label),
            amountMsat: amountOf(p.amount_msat),
            description: description(p),
            expirySeconds: expiryOf(p.expiry),
            cltv: cltvOf(p.cltv),
            ...routesOf(p['dev-routes']),
          }),
        ),
    },
    {
      name: 'holdinvoicesettle',
      description: 'Settle an accepted hold invoice with its preimage: holdinvoicesettle preimage',
      params: [{ name: 'preimage', type: 'string', required: true }],
      handler: async (p) => {
        const preimage = hex32(p.preimage, 'preimage');
        const hash = sha256(preimage);
        const r = reg.byPaymentHash(hash);
        if (r === undefined || !r.hold)
          throw new RpcError(INVOICE_NOT_FOUND, 'No hold invoice for that preimage');
        const status = reg.status(r);
        if (status !== 'accepted') {
          throw new RpcError(
            INVOICE_STATUS_UNEXPECTED,
            `Hold invoice is ${status}: only an accepted one can be settled`,
          );
        }
        await o.hold.settle(hash, preimage);
        return reg.toJson(reg.byPaymentHash(hash) ?? r);
      },
    },
    {
      name: 'holdinvoicecancel',
      description: 'Cancel a hold invoice and fail any held payment back: holdinvoicecancel payment_hash',
      params: [{ name: 'payment_hash', type: 'string', required: true }],
      handler: async (p) => {
        const hash = hex32(p.payment_hash, 'payment_hash');
        const r = reg.byPaymentHash(hash);
        if (r === undefined || !r.hold)
          throw new RpcError(INVOICE_NOT_FOUND, 'No hold invoice for that payment_hash');
        const next = reg.cancel(hash);
        await o.hold.cancel(hash);
        return reg.toJson(next);
      },
    },
    {
      name: 'listinvoices',
      description:
        'List invoices, or those matching label, invstring or payment_hash: listinvoices [label] [invstring] [payment_hash] [index] [start] [limit]',
      params: [
        { name: 'label', type: 'any' },
        { name: 'invstring', type: 'string' },
        { name: 'payment_hash', type: 'string' },
        { name: 'index', type: 'string' },
        { name: 'start', type: 'integer' },
        { name: 'limit', type: 'integer' },
      ],
      handler: (p) => {
        const given = ['label', 'invstring', 'payment_hash'].filter((k) => p[k] !== undefined);
        if (given.length > 1) throw invalidParams('Can only specify one of label, invstring or payment_hash');
        const page = pageOf(p);
        let all = reg.list();
        if (page !== undefined) {
          const at = (r: (typeof all)[number]) =>
            page.index === 'created' ? r.createdIndex : (r.updatedIndex ?? 0);
          all = all
            .filter((r) => at(r) >= page.start && (page.index === 'created' || r.updatedIndex !== undefined))
            .sort((a, b) => at(a) - at(b))
            .slice(0, page.limit);
        }
        if (p.label !== undefined) {
          const label = labelOf(p.label);
          all = all.filter((r) => r.label === label);
        }
        if (p.invstring !== undefined) {
          const s = String(p.invstring)
            .toLowerCase()
            .replace(/^lightning:/, '');
          all = all.filter((r) => r.bolt11 === s);
        }
        if (p.payment_hash !== undefined) {
          const h = String(p.payment_hash).toLowerCase();
          all = all.filter((r) => r.paymentHash === h);
        }
        return { invoices: all.map((r) => reg.toJson(r)) };
      },
    },
    {
      name: 'waitinvoice',
      description: 'Wait until the invoice with this label is paid (error 903 if it expires first)',
      params: [{ name: 'label', type: 'any', required: true }],
      handler: (p) => reg.waitInvoice(labelOf(p.label)),
    },
    {
      name: 'waitanyinvoice',
      description: 'Wait for the next invoice paid after lastpay_index (error 904 after timeout seconds)',
      params: [
        { name: 'lastpay_index', type: 'integer' },
        { name: 'timeout', type: 'integer' },
      ],
      handler: (p) => {
        const last = p.lastpay_index as number | undefined;
        const timeout = p.timeout as number | undefined;
        if (last !== undefined && last < 0) throw invalidParams('lastpay_index: must not be negative');
        if (timeout !== undefined && timeout < 0) throw invalidParams('timeout: must not be negative');
        return reg.waitAnyInvoice(last ?? 0, timeout);
      },
    },
    {
      name: 'delinvoice',
      description: 'Delete an invoice, stating its expected status: delinvoice label status',
      params: [
        { name: 'label', type: 'any', required: true },
        { name: 'status', type: 'string', required: true },
      ],
      handler: (p) => {
        const status = p.status as InvoiceStatus;
        if (!STATUSES.includes(status)) throw invalidParams(`status: expected one of ${STATUSES.join(', ')}`);
        return reg.toJson(reg.delete(labelOf(p.label), status));
      },
    },
  ];
}

/** `decode` and `decodepay`: need nothing but the invoice text, so the node registers them on their own. */
export function decodeMethods(): MethodSpec[] {
  return [
    {
      name: 'decode',
      description: 'Decode a BOLT 11 invoice for any network',
      params: [{ name: 'string', type: 'string', required: true }],
      handler: (p) => {
        const r = decodeInvoiceJson(p.string as string);
        if (!r.ok) throw invalidParams(`Invalid bolt11: ${r.error.message}`);
        return r.value;
      },
    },
    {
      name: 'decodepay',
      description:
        'Decode a BOLT 11 invoice, checking its description if given: decodepay bolt11 [description]',
      params: [
        { name: 'bolt11', type: 'string', required: true },
        { name: 'description', type: 'string' },
      ],
      handler: (p) => {
        const r = decodeInvoiceJson(p.bolt11 as string, {
          ...(p.description !== undefined ? { description: p.description as string } : {}),
        });
        if (!r.ok) throw invalidParams(`Invalid bolt11: ${r.error.message}`);
        return r.value;
      },
    },
  ];
}
