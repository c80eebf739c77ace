// A small invoice book and the final-hop receiver on top of it: BOLT 4's final-node checks, multi-part
// sets (settled together once total_msat arrived, mpp_timeout after 60 s) and keysend. The preimage is
// marked paid (durably) before any HTLC of the set is settled.
//
// Stop-gap until the payments helper's registry (invoice-store.ts / htlc-switch.ts) builds against the
// current bolt04 API; then this file's receiver should call theirs.
import {
  type Currency,
  createInvoice,
  decodeInvoice,
  privateKeySigner,
  type RouteHintHop,
} from '../bolt11-invoice/index.ts';
import { equal, fromHex, hex } from '../core/bytes.ts';
import { type Msat, msat } from '../core/units.ts';
import { sha256 } from '../crypto/index.ts';
import type { EntropySource } from '../crypto/random.ts';
import { decodeRecord, encodeRecord, put, type Store } from '../store/store.ts';
import type { Clock, TimerHandle } from './clock.ts';
import type { Logger } from './logger.ts';
import { type FinalHtlc, type HtlcRef, type PaymentSwitch, type Receiver, unknownDetails } from './switch.ts';

const NS = 'pay-invoices';
export const MPP_TIMEOUT_MS = 60_000;
export const DEFAULT_EXPIRY_S = 604_800;
export const DEFAULT_FINAL_CLTV = 18;

export interface InvoiceRec {
  label: string;
  bolt11: string;
  payment_hash: string;
  preimage: string;
  payment_secret: string;
  amount_msat: bigint | null;
  expires_at: number;
  description: string;
  cltv: number;
  status: 'unpaid' | 'paid';
  paid_at?: number;
  amount_received_msat?: bigint;
  keysend?: boolean;
}

interface PartSet {
  total: Msat;
  parts: FinalHtlc[];
  timer: TimerHandle;
}

export interface InvoiceBookDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly entropy: EntropySource;
  readonly nodeSecret: Uint8Array;
  readonly currency: Currency;
  readonly switch: PaymentSwitch;
  readonly log: Logger;
}

export class InvoiceBook implements Receiver {
  private readonly byHash = new Map<string, InvoiceRec>();
  private readonly sets = new Map<string, PartSet>();
  private waiters: { label: string; fn: (r: InvoiceRec) => void }[] = [];

  constructor(private readonly deps: InvoiceBookDeps) {
    for (const { value } of deps.store.list(NS)) {
      const r = decodeRecord<InvoiceRec>(value);
      this.byHash.set(r.payment_hash, r);
    }
    deps.switch.setReceiver(this);
  }

  private save(r: InvoiceRec): void {
    this.deps.store.batch([put(NS, r.payment_hash, encodeRecord(1, r))]);
    this.byHash.set(r.payment_hash, r);
  }

  list(): InvoiceRec[] {
    return [...this.byHash.values()];
  }

  byLabel(label: string): InvoiceRec | undefined {
    return this.list().find((r) => r.label === label);
  }

  create(p: {
    label: string;
    amountMsat: Msat | undefined;
    description: string;
    expiry?: number;
    preimage?: Uint8Array;
    cltv?: number;
    routeHints?: readonly (readonly RouteHintHop[])[];
  }): InvoiceRec {
    if (this.byLabel(p.label)) throw new Error(`Duplicate label '${p.label}'`);
    const preimage = p.preimage ?? this.deps.entropy.randomBytes(32);
    const hash = sha256(preimage);
    if (this.byHash.has(hex(hash))) throw new Error('An invoice with that preimage already exists');
    const secret = this.deps.entropy.randomBytes(32);
    const now = Math.floor(this.deps.clock.now() / 1000);
    const expiry = p.expiry ?? DEFAULT_EXPIRY_S;
    const cltv = p.cltv ?? DEFAULT_FINAL_CLTV;
    const bolt11 = createInvoice(
      {
        currency: this.deps.currency,
        amount: p.amountMsat,
        timestamp: now,
        paymentHash: hash,
        paymentSecret: secret,
        description: p.description,
        expiry,
        minFinalCltvExpiryDelta: cltv,
        routeHints: p.routeHints,
        // var_onion_optin (8) and payment_secret (14) required, basic_mpp (17) optional.
        features: Uint8Array.of(0x02, 0x41, 0x00),
      },
      privateKeySigner(this.deps.nodeSecret),
    );
    if (!bolt11.ok) throw new Error(`cannot encode the invoice: ${bolt11.error.message}`);
    const r: InvoiceRec = {
      label: p.label,
      bolt11: bolt11.value,
      payment_hash: hex(hash),
      preimage: hex(preimage),
      payment_secret: hex(secret),
      amount_msat: p.amountMsat ?? null,
      expires_at: now + expiry,
      description: p.description,
      cltv,
      status: 'unpaid',
    };
    this.save(r);
    return r;
  }

  /** Resolves when the invoice with `label` is paid. */
  waitPaid(label: string): Promise<InvoiceRec> {
    const r = this.byLabel(label);
    if (r?.status === 'paid') return Promise.resolve(r);
    return new Promise((resolve) => this.waiters.push({ label, fn: resolve }));
  }

  onFinalHtlc(h: FinalHtlc): void {
    const now = Math.floor(this.deps.clock.now() / 1000);
    const fail = () =>
      this.deps.switch.settle(h.ref, { kind: 'fail', failure: unknownDetails(h.amountMsat, h.height) });
    const key = hex(h.paymentHash);
    let inv = this.byHash.get(key);
    if (h.keysendPreimage !== null) {
      if (inv !== undefined || !equal(sha256(h.keysendPreimage), h.paymentHash)) {
        fail();
        return;
      }
      inv = {
        label: `keysend-${key.slice(0, 16)}`,
        bolt11: '',
        payment_hash: key,
        preimage: hex(h.keysendPreimage),
        payment_secret: '',
        amount_msat: null,
        expires_at: now,
        description: 'keysend',
        cltv: DEFAULT_FINAL_CLTV,
        status: 'unpaid',
        keysend: true,
      };
      // The final-node CLTV check applies to keysend as well.
      if (h.cltvExpiry < h.height + DEFAULT_FINAL_CLTV) {
        fail();
        return;
      }
      this.markPaid(inv, [h], h.amountMsat);
      return;
    }
    // BOLT #4:
    //   - if the payment hash is unknown:
    //     - MUST fail the HTLC.
    //     - MUST return an `incorrect_or_unknown_payment_details` error.
    if (inv === undefined || inv.status === 'paid' || now > inv.expires_at) {
      fail();
      return;
    }
    //   - if the `payment_secret` doesn't match the expected value for that `payment_hash`,
    //     or the `payment_secret` is required and is not present:
    if (h.paymentSecret === null || hex(h.paymentSecret) !== inv.payment_secret) {
      fail();
      return;
    }
    // An HTLC whose CLTV leaves us less than the invoice's final delta to claim it on chain.
    if (h.cltvExpiry < h.height + inv.cltv) {
      fail();
      return;
    }
    if (inv.amount_msat !== null && (h.totalMsat < inv.amount_msat || h.totalMsat > inv.amount_msat * 2n)) {
      fail();
      return;
    }
    const set = this.sets.get(key);
    if (set !== undefined && set.total !== h.totalMsat) {
      fail();
      return;
    }
    const s: PartSet = set ?? {
      total: h.totalMsat,
      parts: [],
      timer: this.deps.clock.after(MPP_TIMEOUT_MS, () => this.timeout(key)),
    };
    s.parts.push(h);
    this.sets.set(key, s);
    const got = s.parts.reduce((t, x) => t + x.amountMsat, 0n);
    if (got < s.total) return;
    s.timer.cancel();
    this.sets.delete(key);
    this.markPaid(inv, s.parts, msat(got));
  }

  private markPaid(inv: InvoiceRec, parts: FinalHtlc[], received: Msat): void {
    const paid: InvoiceRec = {
      ...inv,
      status: 'paid',
      paid_at: Math.floor(this.deps.clock.now() / 1000),
      amount_received_msat: received,
    };
    // Persist before reveal: the invoice is paid before any preimage leaves.
    this.save(paid);
    const preimage = fromHex(inv.preimage);
    for (const p of parts) this.deps.switch.settle(p.ref, { kind: 'settle', preimage });
    const ready = this.waiters.filter((w) => w.label === paid.label);
    this.waiters = this.waiters.filter((w) => w.label !== paid.label);
    for (const w of ready) w.fn(paid);
  }

  private timeout(key: string): void {
    const s = this.sets.get(key);
    if (!s) return;
    this.sets.delete(key);
    this.deps.log.info({ payment_hash: key, parts: s.parts.length }, 'multi-part payment timed out');
    for (const p of s.parts)
      this.deps.switch.settle(p.ref, { kind: 'fail', failure: { failure: 'mpp_timeout' } });
  }

  paidPreimage(paymentHash: Uint8Array): Uint8Array | null {
    const r = this.byHash.get(hex(paymentHash));
    return r?.status === 'paid' ? fromHex(r.preimage) : null;
  }

  /** The parts of incomplete sets, to fail after a restart (their timers are gone). */
  pendingRefs(): HtlcRef[] {
    return [...this.sets.values()].flatMap((s) => s.parts.map((p) => p.ref));
  }
}

/** Route hints given as CLN's dev-routes: [[{id, short_channel_id, fee_base_msat, fee_proportional_millionths, cltv_expiry_delta}]]. */
export function parseDevRoutes(v: unknown): RouteHintHop[][] {
  if (!Array.isArray(v)) throw new Error('dev-routes: expected an array of routes');
  return v.map((route) => {
    if (!Array.isArray(route)) throw new Error('dev-routes: each route is an array of hops');
    return route.map((h: Record<string, unknown>) => {
      const id = String(h.id ?? '');
      const scid = /^(\d+)x(\d+)x(\d+)$/.exec(String(h.short_channel_id ?? ''));
      if (!/^0[23][0-9a-f]{64}$/.test(id) || !scid)
        throw new Error('dev-routes: hop needs id and short_channel_id');
      return {
        pubkey: fromHex(id),
        shortChannelId: (BigInt(scid[1]!) << 40n) | (BigInt(scid[2]!) << 16n) | BigInt(scid[3]!),
        feeBaseMsat: msat(BigInt(Number(h.fee_base_msat ?? 1000))),
        feeProportionalMillionths: Number(h.fee_proportional_millionths ?? 10),
        cltvExpiryDelta: Number(h.cltv_expiry_delta ?? 34),
      };
    });
  });
}

export { decodeInvoice };
