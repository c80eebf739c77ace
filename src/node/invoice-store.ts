// The invoice registry over the Store seam: unique labels, unique payment hashes, Core Lightning's
// created/updated/pay indexes, and the waits behind `waitinvoice` / `waitanyinvoice`. Every change
// is durable before the call returns (and before a waiter hears of it).
import type { Currency, Fallback, InvoiceSigner, RouteHintHop } from '../bolt11-invoice/index.ts';
import { fromHex, hex } from '../core/bytes.ts';
import type { Msat } from '../core/units.ts';
import { type EntropySource, sha256 } from '../crypto/index.ts';
import { RpcError } from '../rpc/errors.ts';
import { decodeRecord, del, encodeRecord, put, type Store } from '../store/store.ts';
import type { Clock, TimerHandle } from './clock.ts';
import type { ReceivableInvoice } from './htlc-switch.ts';
import {
  DEFAULT_INVOICE_EXPIRY_SECONDS,
  type InvoiceJson,
  type InvoiceRecord,
  type InvoiceStatus,
  invoiceStatus,
  invoiceToJson,
  makeInvoice,
  receivableOf,
} from './invoices.ts';

// Core Lightning's invoice error codes.
export const INVOICE_LABEL_ALREADY_EXISTS = 900;
export const INVOICE_PREIMAGE_ALREADY_EXISTS = 901;
export const INVOICE_EXPIRED_DURING_WAIT = 903;
export const INVOICE_WAIT_TIMED_OUT = 904;
export const INVOICE_NOT_FOUND = 905;
export const INVOICE_STATUS_UNEXPECTED = 906;

export const INVOICES_NS = 'invoices';
const META_NS = 'invoices-meta';
const META_KEY = 'counters';
const RECORD_VERSION = 1;

interface Counters {
  readonly created: number;
  readonly updated: number;
  readonly pay: number;
}

export interface InvoiceRegistryOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly entropy: EntropySource;
  readonly sign: InvoiceSigner;
  readonly nodeId: Uint8Array;
  readonly currency: Currency;
  /** Final CLTV delta we ask payers for. */
  readonly cltvFinal?: number;
  /** Route hints to add to new invoices (private channels), decided by the node. */
  readonly routeHints?: () => readonly (readonly RouteHintHop[])[];
}

export interface CreateInvoiceParams {
  readonly label: string;
  readonly amountMsat: Msat | undefined;
  readonly description: string;
  readonly expirySeconds?: number;
  readonly fallbacks?: readonly Fallback[];
  readonly preimage?: Uint8Array;
  readonly cltv?: number;
  /** Route hints for this invoice (the RPC's `dev-routes`); else the registry's own, if any. */
  readonly routeHints?: readonly (readonly RouteHintHop[])[];
}

interface Waiter {
  readonly resolve: (j: InvoiceJson) => void;
  readonly reject: (e: Error) => void;
  timer: TimerHandle | undefined;
}

export class InvoiceRegistry {
  readonly #o: InvoiceRegistryOptions;
  get currency(): Currency {
    return this.#o.currency;
  }
  readonly #byLabel = new Map<string, InvoiceRecord>();
  readonly #byHash = new Map<string, string>();
  #counters: Counters = { created: 0, updated: 0, pay: 0 };
  readonly #labelWaiters = new Map<string, Waiter[]>();
  readonly #anyWaiters: { after: number; w: Waiter }[] = [];

  constructor(o: InvoiceRegistryOptions) {
    this.#o = o;
    for (const { value } of o.store.list(INVOICES_NS)) {
      const { v: _v, ...r } = decodeRecord<InvoiceRecord>(value);
      this.#byLabel.set(r.label, r);
      this.#byHash.set(r.paymentHash, r.label);
    }
    const meta = o.store.get(META_NS, META_KEY);
    if (meta !== undefined) {
      const { v: _v, ...c } = decodeRecord<Counters>(meta);
      this.#counters = c;
    }
  }

  #nowSeconds(): number {
    return Math.floor(this.#o.clock.now() / 1000);
  }

  #persist(r: InvoiceRecord, counters: Counters): void {
    this.#o.store.batch([
      put(INVOICES_NS, r.label, encodeRecord(RECORD_VERSION, r)),
      put(META_NS, META_KEY, encodeRecord(1, counters)),
    ]);
    this.#counters = counters;
    this.#byLabel.set(r.label, r);
    this.#byHash.set(r.paymentHash, r.label);
  }

  #insert(
    params: CreateInvoiceParams,
    secret: { preimage: Uint8Array } | { paymentHash: Uint8Array },
  ): InvoiceRecord {
    if (this.#byLabel.has(params.label)) {
      throw new RpcError(INVOICE_LABEL_ALREADY_EXISTS, `Duplicate label '${params.label}'`);
    }
    const hash = 'preimage' in secret ? sha256(secret.preimage) : secret.paymentHash;
    if (this.#byHash.has(hex(hash))) {
      throw new RpcError(
        INVOICE_PREIMAGE_ALREADY_EXISTS,
        'An invoice with that preimage or payment_hash already exists',
      );
    }
    const counters = { ...this.#counters, created: this.#counters.created + 1 };
    const r = makeInvoice(
      {
        label: params.label,
        amountMsat: params.amountMsat,
        description: params.description,
        expirySeconds: params.expirySeconds ?? DEFAULT_INVOICE_EXPIRY_SECONDS,
        fallbacks: params.fallbacks ?? [],
        cltv: params.cltv ?? this.#o.cltvFinal ?? 18,
        secret,
        paymentSecret: this.#o.entropy.randomBytes(32),
        ...(params.routeHints !== undefined
          ? { routeHints: params.routeHints }
          : this.#o.routeHints !== undefined
            ? { routeHints: this.#o.routeHints() }
            : {}),
      },
      {
        currency: this.#o.currency,
        nodeId: this.#o.nodeId,
        sign: this.#o.sign,
        nowSeconds: this.#nowSeconds(),
        createdIndex: counters.created,
      },
    );
    if (!r.ok) throw new RpcError(-32602, r.error);
    this.#persist(r.value, counters);
    return r.value;
  }

  /** `invoice`: the preimage is drawn from the EntropySource unless given. */
  create(params: CreateInvoiceParams): InvoiceRecord {
    const preimage = params.preimage ?? this.#o.entropy.randomBytes(32);
    return this.#insert(params, { preimage });
  }

  /** `holdinvoice`: only the hash is known; the payment is held until settled with its preimage. */
  createHold(
    params: Omit<CreateInvoiceParams, 'preimage'> & { readonly paymentHash: Uint8Array },
  ): InvoiceRecord {
    return this.#insert(params, { paymentHash: params.paymentHash });
  }

  get(label: string): InvoiceRecord | undefined {
    return this.#byLabel.get(label);
  }

  byPaymentHash(paymentHash: Uint8Array | string): InvoiceRecord | undefined {
    const label = this.#byHash.get(typeof paymentHash === 'string' ? paymentHash : hex(paymentHash));
    return label === undefined ? undefined : this.#byLabel.get(label);
  }

  status(r: InvoiceRecord): InvoiceStatus {
    return invoiceStatus(r, this.#nowSeconds());
  }

  toJson(r: InvoiceRecord): InvoiceJson {
    return invoiceToJson(r, this.#nowSeconds());
  }

  /** In creation order. */
  list(): InvoiceRecord[] {
    return [...this.#byLabel.values()].sort((a, b) => a.createdIndex - b.createdIndex);
  }

  /** For the receive side of the switch. */
  receivable(paymentHash: Uint8Array): ReceivableInvoice | undefined {
    const r = this.byPaymentHash(paymentHash);
    return r === undefined ? undefined : receivableOf(r, fromHex);
  }

  #update(r: InvoiceRecord, change: Partial<InvoiceRecord>, paid: boolean): InvoiceRecord {
    const counters = {
      ...this.#counters,
      updated: this.#counters.updated + 1,
      pay: this.#counters.pay + (paid ? 1 : 0),
    };
    const next: InvoiceRecord = {
      ...r,
      ...change,
      updatedIndex: counters.updated,
      ...(paid ? { payIndex: counters.pay } : {}),
    };
    this.#persist(next, counters);
    return next;
  }

  /** The switch's `paid` action: durable before the HTLCs are settled. Idempotent. */
  markPaid(paymentHash: Uint8Array, amountReceivedMsat: Msat, preimage: Uint8Array): InvoiceRecord {
    const r = this.byPaymentHash(paymentHash);
    if (r === undefined) throw new RpcError(INVOICE_NOT_FOUND, 'Unknown invoice');
    if (r.state === 'paid') return r;
    const next = this.#update(
      r,
      { state: 'paid', amountReceivedMsat, paidAt: this.#nowSeconds(), preimage: hex(preimage) },
      true,
    );
    this.#notify(next);
    return next;
  }

  /** A keysend payment has no invoice: record one so listinvoices shows it (as Core Lightning does). */
  recordKeysend(paymentHash: Uint8Array, amountReceivedMsat: Msat, preimage: Uint8Array): InvoiceRecord {
    const existing = this.byPaymentHash(paymentHash);
    if (existing !== undefined) return existing;
    const now = this.#nowSeconds();
    const counters = { ...this.#counters, created: this.#counters.created + 1 };
    const r: InvoiceRecord = {
      label: `keysend-${hex(paymentHash)}`,
      bolt11: '',
      paymentHash: hex(paymentHash),
      paymentSecret: '',
      preimage: hex(preimage),
      description: 'keysend',
      createdAt: now,
      expiresAt: now,
      minFinalCltvExpiryDelta: 0,
      hold: false,
      state: 'unpaid',
      createdIndex: counters.created,
    };
    this.#persist(r, counters);
    return this.markPaid(paymentHash, amountReceivedMsat, preimage);
  }

  /** A hold invoice's HTLC set is complete and waits for holdinvoicesettle / holdinvoicecancel. */
  markAccepted(paymentHash: Uint8Array, amountReceivedMsat: Msat): InvoiceRecord {
    const r = this.byPaymentHash(paymentHash);
    if (r === undefined) throw new RpcError(INVOICE_NOT_FOUND, 'Unknown invoice');
    if (r.state !== 'unpaid') return r;
    return this.#update(r, { state: 'accepted', amountReceivedMsat }, false);
  }

  /**
   * A hold invoice's held HTLCs were failed back (they neared expiry, or were gone after a restart):
   * it is unpaid again and may be paid anew.
   */
  markUnaccepted(paymentHash: Uint8Array): InvoiceRecord {
    const r = this.byPaymentHash(paymentHash);
    if (r === undefined) throw new RpcError(INVOICE_NOT_FOUND, 'Unknown invoice');
    if (r.state !== 'accepted') return r;
    const { amountReceivedMsat: _received, ...rest } = r;
    return this.#update(rest, { state: 'unpaid' }, false);
  }

  /** holdinvoicecancel: never payable again. */
  cancel(paymentHash: Uint8Array): InvoiceRecord {
    const r = this.byPaymentHash(paymentHash);
    if (r === undefined) throw new RpcError(INVOICE_NOT_FOUND, 'Unknown invoice');
    if (r.state === 'paid') throw new RpcError(INVOICE_STATUS_UNEXPECTED, 'Invoice is already paid');
    if (r.state === 'canceled') return r;
    const next = this.#update(r, { state: 'canceled' }, false);
    this.#rejectLabel(r.label, new RpcError(INVOICE_STATUS_UNEXPECTED, 'Invoice was canceled'));
    return next;
  }

  /** `delinvoice label status`: the caller states the status it expects, to avoid races. */
  delete(label: string, expected: InvoiceStatus): InvoiceRecord {
    const r = this.#byLabel.get(label);
    if (r === undefined) throw new RpcError(INVOICE_NOT_FOUND, 'Unknown invoice');
    const actual = this.status(r);
    if (actual !== expected) {
      throw new RpcError(INVOICE_STATUS_UNEXPECTED, `Invoice status is ${actual} not ${expected}`);
    }
    // Its HTLCs are still held: deleting it would leave them to wait for their expiry.
    if (actual === 'accepted') {
      throw new RpcError(
        INVOICE_STATUS_UNEXPECTED,
        'Invoice has accepted HTLCs: holdinvoicecancel or holdinvoicesettle it first',
      );
    }
    this.#o.store.batch([del(INVOICES_NS, label)]);
    this.#byLabel.delete(label);
    this.#byHash.delete(r.paymentHash);
    this.#rejectLabel(label, new RpcError(INVOICE_NOT_FOUND, 'Invoice deleted during wait'));
    return r;
  }

  #rejectLabel(label: string, e: Error): void {
    const ws = this.#labelWaiters.get(label) ?? [];
    this.#labelWaiters.delete(label);
    for (const w of ws) {
      w.timer?.cancel();
      w.reject(e);
    }
  }

  #notify(r: InvoiceRecord): void {
    const json = this.toJson(r);
    const ws = this.#labelWaiters.get(r.label) ?? [];
    this.#labelWaiters.delete(r.label);
    for (const w of ws) {
      w.timer?.cancel();
      w.resolve(json);
    }
    for (let i = this.#anyWaiters.length - 1; i >= 0; i--) {
      const a = this.#anyWaiters[i]!;
      if ((r.payIndex ?? 0) > a.after) {
        this.#anyWaiters.splice(i, 1);
        a.w.timer?.cancel();
        a.w.resolve(json);
      }
    }
  }

  /** `waitinvoice label`: resolves when paid; fails with 903 when it expires first. */
  waitInvoice(label: string): Promise<InvoiceJson> {
    const r = this.#byLabel.get(label);
    if (r === undefined) return Promise.reject(new RpcError(INVOICE_NOT_FOUND, 'Unknown invoice'));
    const status = this.status(r);
    switch (status) {
      case 'paid':
        return Promise.resolve(this.toJson(r));
      case 'expired':
        return Promise.reject(new RpcError(INVOICE_EXPIRED_DURING_WAIT, 'invoice expired during wait'));
      case 'canceled':
        return Promise.reject(new RpcError(INVOICE_STATUS_UNEXPECTED, 'Invoice was canceled'));
      case 'unpaid':
      case 'accepted':
        break;
    }
    return new Promise((resolve, reject) => {
      const w: Waiter = { resolve, reject, timer: undefined };
      // Wake just after expiry: 'accepted' hold invoices do not expire, so check again then.
      const wakeAt = (r.expiresAt + 1) * 1000;
      const arm = (): void => {
        w.timer = this.#o.clock.after(Math.max(0, wakeAt - this.#o.clock.now()), () => {
          const cur = this.#byLabel.get(label);
          if (cur === undefined || this.status(cur) !== 'expired') return;
          const list = this.#labelWaiters.get(label) ?? [];
          this.#labelWaiters.set(
            label,
            list.filter((x) => x !== w),
          );
          reject(new RpcError(INVOICE_EXPIRED_DURING_WAIT, 'invoice expired during wait'));
        });
      };
      if (status === 'unpaid') arm();
      const list = this.#labelWaiters.get(label) ?? [];
      list.push(w);
      this.#labelWaiters.set(label, list);
    });
  }

  /** `waitanyinvoice [lastpay_index] [timeout]`: the next invoice paid with pay_index above lastpay_index. */
  waitAnyInvoice(lastpayIndex = 0, timeoutSeconds?: number): Promise<InvoiceJson> {
    const next = this.list()
      .filter((r) => r.state === 'paid' && (r.payIndex ?? 0) > lastpayIndex)
      .sort((a, b) => (a.payIndex ?? 0) - (b.payIndex ?? 0))[0];
    if (next !== undefined) return Promise.resolve(this.toJson(next));
    if (timeoutSeconds === 0) return Promise.reject(new RpcError(INVOICE_WAIT_TIMED_OUT, 'Timed out'));
    return new Promise((resolve, reject) => {
      const w: Waiter = { resolve, reject, timer: undefined };
      const entry = { after: lastpayIndex, w };
      if (timeoutSeconds !== undefined) {
        w.timer = this.#o.clock.after(timeoutSeconds * 1000, () => {
          const at = this.#anyWaiters.indexOf(entry);
          if (at >= 0) this.#anyWaiters.splice(at, 1);
          reject(new RpcError(INVOICE_WAIT_TIMED_OUT, 'Timed out'));
        });
      }
      this.#anyWaiters.push(entry);
    });
  }

  /** Ends every wait (node shutdown). */
  close(): void {
    const e = new RpcError(-1, 'node is shutting down');
    for (const label of [...this.#labelWaiters.keys()]) this.#rejectLabel(label, e);
    for (const a of this.#anyWaiters.splice(0)) {
      a.w.timer?.cancel();
      a.w.reject(e);
    }
  }
}
