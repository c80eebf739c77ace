// Paying (shell): sendpay/waitsendpay over an explicit route, and pay/keysend, which run src/routing's
// payment state machine: routes from our channels (what each can send now) plus the invoice's route hints
// (and the gossip graph once there is one), split over several routes when one cannot carry the amount,
// retried with what failed excluded or bounded, mission control remembered across payments, until
// success, no route, or retry_for. Each part is persisted (with the onion's shared secrets, to attribute
// a returned error after a restart) before its HTLC is offered.

import { buildOnion, decodeErrorPacket, failureCode, failureName } from '../bolt04-onion/index.ts';
import { encodeHopPayload, type HopPayload } from '../bolt04-onion/payload.ts';
import {
  type BitcoinNetwork,
  decodeInvoice,
  offersFeature,
  type RouteHintHop,
} from '../bolt11-invoice/index.ts';
import { fromHex, hex } from '../core/bytes.ts';
import { assertNever } from '../core/result.ts';
import { type Msat, msat } from '../core/units.ts';
import { sha256 } from '../crypto/index.ts';
import type { EntropySource } from '../crypto/random.ts';
import { Graph } from '../routing/graph.ts';
import { makeKeysend } from '../routing/keysend.ts';
import {
  decodeMissionControl,
  emptyMissionControl,
  encodeMissionControl,
  type MissionControl,
  pruneMissionControl,
  recordChannelFailure,
  recordChannelSuccess,
  recordNodeFailure,
} from '../routing/mission-control.ts';
import type { SplitOptions } from '../routing/mpp.ts';
import {
  type Observation,
  PAY_DESTINATION_PERM_FAIL,
  PAY_INVOICE_EXPIRED,
  PAY_ROUTE_NOT_FOUND,
  PAY_ROUTE_TOO_EXPENSIVE,
  PAY_STOPPED_RETRYING,
  type PartFailure,
  type PaymentAction,
  type PaymentEvent,
  type PaymentState,
  preparePayment,
  type RouteFinder,
  stepPayment,
} from '../routing/payment.ts';
import { decodePayment, encodePayment, payResultOf } from '../routing/payment-records.ts';
import { appendTlvRecords } from '../routing/tlv-records.ts';
import { RpcError } from '../rpc/errors.ts';
import { decodeRecord, encodeRecord, put, type Store } from '../store/store.ts';
import type { Channel, ChannelDriver } from './channel-driver.ts';
import type { Clock } from './clock.ts';
import type { Logger } from './logger.ts';
import {
  type GraphSource,
  localChannelsOf,
  partFailureOf,
  payExclusions,
  payRouteFinder,
  sendpayRoute,
} from './pay-routes.ts';
import type { LocalResult, PaymentSwitch } from './switch.ts';

const NS = 'sendpays';
/** pay/keysend payment states (src/routing's PaymentState), by payment hash and groupid. */
const PAYS_NS = 'pays';
/** Mission control: what failures taught us about channels, kept across payments and restarts. */
const MC_NS = 'mission-control';
/** How long a completed pay waits for its other parts to settle before it answers. */
const SETTLE_WAIT_MS = 10_000;
/** How long past retry_for pay waits for parts still in flight before it answers "in progress". */
const IN_FLIGHT_GRACE_MS = 60_000;
/** BOLT 9's basic_mpp feature (even bit). */
const BASIC_MPP_BIT = 16;

// Core Lightning's error codes (203, 205, 206, 207 and 210 are src/routing's, which pay runs on).
export {
  PAY_DESTINATION_PERM_FAIL,
  PAY_INVOICE_EXPIRED,
  PAY_ROUTE_NOT_FOUND,
  PAY_ROUTE_TOO_EXPENSIVE,
  PAY_STOPPED_RETRYING,
};
export const PAY_IN_PROGRESS = 200;
export const PAY_RHASH_ALREADY_USED = 201;
export const PAY_UNPARSEABLE_ONION = 202;
export const PAY_TRY_OTHER_ROUTE = 204;
export const PAY_NO_SUCH_PAYMENT = 208;
export const PAY_WAIT_TIMEOUT = 200;

/** CLN's route hop. `delay` is the CLTV delta of the HTLC arriving at `id`. */
export interface RouteHop {
  readonly id: string;
  readonly channel: string;
  readonly amount_msat: Msat;
  readonly delay: number;
}

export interface SendpayRec {
  created_index: number;
  groupid: number;
  partid: number;
  payment_hash: string;
  status: 'pending' | 'complete' | 'failed';
  destination: string;
  amount_msat: bigint;
  amount_sent_msat: bigint;
  created_at: number;
  completed_at?: number;
  bolt11?: string;
  label?: string;
  payment_preimage?: string;
  first_hop: string;
  route: string[];
  secrets: string[];
  erring_index?: number;
  failcode?: number;
  failcodename?: string;
  erring_node?: string;
  erring_channel?: string;
  failreason?: string;
  /** sendonion without shared secrets: the error packet we could not decode, for the caller. */
  onionreply?: string;
}

export interface PayDeps {
  readonly store: Store;
  readonly driver: ChannelDriver;
  readonly switch: PaymentSwitch;
  readonly entropy: EntropySource;
  readonly clock: Clock;
  readonly log: Logger;
  readonly ourId: string;
  readonly network: BitcoinNetwork;
  /** The public channel graph; until gossip feeds one, routes use our channels and route hints only. */
  readonly graph?: GraphSource;
}

/** What became of one part, before the state machine stamps the time. */
type PartEvent =
  | { readonly type: 'part_succeeded'; readonly partId: number; readonly preimage: Uint8Array }
  | { readonly type: 'part_failed'; readonly partId: number; readonly failure: PartFailure };

const parseScid = (s: string): bigint => {
  const m = /^(\d+)x(\d+)x(\d+)$/.exec(s);
  if (!m) throw new RpcError(-32602, `bad short_channel_id '${s}'`);
  return (BigInt(m[1]!) << 40n) | (BigInt(m[2]!) << 16n) | BigInt(m[3]!);
};

export class Payer {
  private readonly parts = new Map<number, SendpayRec>();
  private nextIndex = 1;
  private waiters: { index: number; fn: (r: SendpayRec) => void }[] = [];
  /** Latest pay/keysend state per payment hash. */
  private readonly pays = new Map<string, { groupid: number; state: PaymentState }>();
  /** How each part failed, for the state machine (kept only until its payment reads it). */
  private readonly failures = new Map<number, PartFailure>();
  private mc: MissionControl = emptyMissionControl;

  constructor(private readonly deps: PayDeps) {
    for (const { value } of deps.store.list(NS)) {
      const r = decodeRecord<SendpayRec>(value);
      this.parts.set(r.created_index, r);
      if (r.created_index >= this.nextIndex) this.nextIndex = r.created_index + 1;
    }
    for (const { key, value } of deps.store.list(PAYS_NS)) {
      const h = key.split('/')[0]!;
      const groupid = Number(key.split('/')[1]);
      if ((this.pays.get(h)?.groupid ?? 0) >= groupid) continue;
      const state = decodePayment(value);
      // A pay that was running when the node stopped is not resumed: its parts settle on their own and
      // listpays reports them; say why nothing retried.
      this.pays.set(h, {
        groupid,
        state:
          state.status === 'pending'
            ? {
                ...state,
                status: 'failed',
                error: {
                  code: PAY_STOPPED_RETRYING,
                  message: 'pay was interrupted by a restart; parts in flight then settle on their own',
                },
              }
            : state,
      });
    }
    const mc = deps.store.get(MC_NS, 'state');
    if (mc !== undefined) this.mc = decodeMissionControl(mc);
    deps.switch.onLocalResult((tag, res) => this.onResult(tag, res));
  }

  private save(r: SendpayRec): void {
    this.deps.store.batch([put(NS, String(r.created_index).padStart(12, '0'), encodeRecord(1, r))]);
    this.parts.set(r.created_index, r);
  }

  listSendpays(hash?: string): SendpayRec[] {
    return [...this.parts.values()].filter((p) => hash === undefined || p.payment_hash === hash);
  }

  /** Offers one part along `route`; throws RpcError when it cannot even start. */
  sendpay(p: {
    route: readonly RouteHop[];
    paymentHash: Uint8Array;
    label?: string;
    amountMsat?: Msat;
    bolt11?: string;
    paymentSecret?: Uint8Array;
    /** The invoice's `m` field, returned to the payee in the final payload (BOLT 11 MUST). */
    paymentMetadata?: Uint8Array;
    partid?: number;
    groupid?: number;
    /** Extra final-hop records (keysend). */
    finalExtra?: { type: bigint; value: Uint8Array }[];
  }): SendpayRec {
    const route = p.route;
    if (route.length === 0) throw new RpcError(-32602, 'route must not be empty');
    const partid = p.partid ?? 0;
    this.preflight(p.paymentHash, partid, route[0]!);
    const height = this.deps.driver.tipHeight();
    const last = route[route.length - 1]!;
    const total = p.amountMsat ?? last.amount_msat;
    const payloads: HopPayload[] = route.map((h, i) => {
      const next = route[i + 1];
      if (next !== undefined)
        return {
          amtToForward: msat(BigInt(next.amount_msat)),
          outgoingCltvValue: height + next.delay,
          shortChannelId: parseScid(next.channel),
        };
      return {
        amtToForward: msat(BigInt(h.amount_msat)),
        outgoingCltvValue: height + h.delay,
        ...(p.paymentSecret !== undefined
          ? { paymentData: { paymentSecret: p.paymentSecret, totalMsat: msat(BigInt(total)) } }
          : {}),
        ...(p.paymentMetadata !== undefined ? { paymentMetadata: p.paymentMetadata } : {}),
      };
    });
    const bytes = payloads.map((x) => encodeHopPayload(x));
    if (p.finalExtra !== undefined && p.finalExtra.length > 0)
      bytes[bytes.length - 1] = appendTlvRecords(bytes[bytes.length - 1]!, p.finalExtra);
    const onion = buildOnion({
      sessionKey: this.deps.entropy.randomBytes(32),
      hops: route.map((h, i) => ({ publicKey: fromHex(h.id), payload: bytes[i]! })),
      associatedData: p.paymentHash,
    });
    if (!onion.ok) throw new RpcError(-32602, `cannot build the onion: ${onion.error.code}`);
    return this.sendOnion({
      onion: onion.value.packet,
      firstHop: route[0]!,
      paymentHash: p.paymentHash,
      sharedSecrets: onion.value.hopKeys.map((k) => k.sharedSecret),
      route: route.map((h) => `${h.id}:${h.channel}`),
      destination: last.id,
      amountMsat: msat(BigInt(last.amount_msat)),
      partid,
      ...(p.groupid !== undefined ? { groupid: p.groupid } : {}),
      ...(p.bolt11 !== undefined ? { bolt11: p.bolt11 } : {}),
      ...(p.label !== undefined ? { label: p.label } : {}),
    });
  }

  /** The checks before a part starts; returns the first hop's channel. */
  private preflight(paymentHash: Uint8Array, partid: number, hop: RouteHop): Channel {
    const same = this.listSendpays(hex(paymentHash));
    if (same.some((x) => x.status === 'complete'))
      throw new RpcError(PAY_RHASH_ALREADY_USED, 'This payment was already completed');
    if (same.some((x) => x.status === 'pending' && x.partid === partid))
      throw new RpcError(PAY_IN_PROGRESS, 'This payment is still in progress');
    const first = this.deps.driver.find(hop.channel);
    if (!first || first.peerId !== hop.id.toLowerCase())
      throw new RpcError(PAY_TRY_OTHER_ROUTE, `No connection to first peer found over ${hop.channel}`);
    return first;
  }

  /**
   * Offers one part whose onion is already built (sendpay, or CLN's sendonion): records it, then adds the
   * HTLC on `firstHop.channel`. Without `sharedSecrets` a returned error cannot be attributed; the part
   * then keeps the raw `onionreply`. Throws RpcError when it cannot even start.
   */
  sendOnion(p: {
    onion: Uint8Array;
    firstHop: RouteHop;
    paymentHash: Uint8Array;
    sharedSecrets?: readonly Uint8Array[];
    /** `node:channel` per hop, as far as the caller knows the route. */
    route?: readonly string[];
    destination?: string;
    /** What the destination receives. */
    amountMsat?: Msat;
    partid?: number;
    groupid?: number;
    bolt11?: string;
    label?: string;
  }): SendpayRec {
    const hop = p.firstHop;
    const hashHex = hex(p.paymentHash);
    const partid = p.partid ?? 0;
    const first = this.preflight(p.paymentHash, partid, hop);
    const height = this.deps.driver.tipHeight();
    const rec: SendpayRec = {
      created_index: this.nextIndex++,
      groupid: p.groupid ?? 1,
      partid,
      payment_hash: hashHex,
      status: 'pending',
      destination: p.destination ?? hop.id,
      amount_msat: BigInt(p.amountMsat ?? hop.amount_msat),
      amount_sent_msat: BigInt(hop.amount_msat),
      created_at: Math.floor(this.deps.clock.now() / 1000),
      ...(p.bolt11 !== undefined ? { bolt11: p.bolt11 } : {}),
      ...(p.label !== undefined ? { label: p.label } : {}),
      first_hop: hop.channel,
      route: [...(p.route ?? [`${hop.id}:${hop.channel}`])],
      secrets: (p.sharedSecrets ?? []).map((k) => hex(k)),
    };
    this.save(rec);
    const refused = this.deps.switch.sendLocal(
      first,
      msat(BigInt(hop.amount_msat)),
      height + hop.delay,
      p.paymentHash,
      p.onion,
      `sp/${rec.created_index}`,
    );
    if (refused !== null) {
      this.finish(rec, {
        status: 'failed',
        failreason: refused,
        erring_index: 0,
        erring_node: this.deps.ourId,
        erring_channel: hop.channel,
      });
      throw new RpcError(PAY_TRY_OTHER_ROUTE, `first hop refused the HTLC: ${refused}`);
    }
    return rec;
  }

  private finish(r: SendpayRec, patch: Partial<SendpayRec>): SendpayRec {
    const done: SendpayRec = { ...r, ...patch, completed_at: Math.floor(this.deps.clock.now() / 1000) };
    this.save(done);
    const ready = this.waiters.filter((w) => w.index === r.created_index);
    this.waiters = this.waiters.filter((w) => w.index !== r.created_index);
    for (const w of ready) w.fn(done);
    return done;
  }

  private onResult(tag: string, res: LocalResult): void {
    if (!tag.startsWith('sp/')) return;
    const r = this.parts.get(Number(tag.slice(3)));
    if (r?.status !== 'pending') return;
    switch (res.kind) {
      case 'fulfilled':
        if (hex(sha256(res.preimage)) !== r.payment_hash) {
          this.failures.set(r.created_index, partFailureOf({ kind: 'bad_preimage' }));
          this.finish(r, { status: 'failed', failreason: 'preimage does not match' });
          return;
        }
        this.finish(r, { status: 'complete', payment_preimage: hex(res.preimage) });
        return;
      case 'cancelled':
        this.failures.set(r.created_index, partFailureOf({ kind: 'cancelled' }));
        this.finish(r, {
          status: 'failed',
          failreason: 'HTLC dropped before commitment',
          erring_index: 0,
          erring_node: this.deps.ourId,
          erring_channel: r.first_hop,
          failcode: 0x1007,
          failcodename: 'WIRE_TEMPORARY_CHANNEL_FAILURE',
        });
        return;
      case 'malformed':
        this.failures.set(r.created_index, partFailureOf({ kind: 'malformed' }));
        this.finish(r, {
          status: 'failed',
          failreason: 'first peer could not read the onion',
          erring_index: 1,
          erring_node: r.route[0]!.split(':')[0]!,
          failcode: res.code,
        });
        return;
      case 'failed': {
        const d = decodeErrorPacket(r.secrets.map(fromHex), res.reason);
        if (!d.ok) {
          this.failures.set(r.created_index, partFailureOf({ kind: 'unattributable' }));
          this.finish(r, {
            status: 'failed',
            failreason: `unattributable error (${d.error.code})`,
            ...(r.secrets.length === 0 ? { onionreply: hex(res.reason) } : {}),
          });
          return;
        }
        const idx = d.value.hopIndex;
        const f = d.value.failure;
        const code = f.ok ? failureCode(f.value) : 0;
        const name = failureName(code);
        const node = r.route[idx]!.split(':')[0]!;
        const outChannel = r.route[idx + 1]?.split(':')[1];
        this.failures.set(
          r.created_index,
          partFailureOf({ kind: 'remote', hopIndex: idx, failure: f.ok ? f.value : null }),
        );
        this.finish(r, {
          status: 'failed',
          erring_index: idx + 1,
          erring_node: node,
          ...(outChannel !== undefined ? { erring_channel: outChannel } : {}),
          failcode: code,
          failcodename: name === null ? `0x${code.toString(16)}` : `WIRE_${name.toUpperCase()}`,
          failreason: name ?? 'unknown failure',
        });
        return;
      }
    }
  }

  /** Resolves with the part once it is no longer pending. */
  waitPart(index: number, timeoutS: number): Promise<SendpayRec> {
    const r = this.parts.get(index);
    if (!r) return Promise.reject(new RpcError(PAY_NO_SUCH_PAYMENT, 'no such payment'));
    if (r.status !== 'pending') return Promise.resolve(r);
    return new Promise((resolve, reject) => {
      const t = this.deps.clock.after(timeoutS * 1000, () => {
        this.waiters = this.waiters.filter((w) => w.fn !== fn);
        reject(new RpcError(PAY_WAIT_TIMEOUT, 'Timed out while waiting'));
      });
      const fn = (x: SendpayRec) => {
        t.cancel();
        resolve(x);
      };
      this.waiters.push({ index, fn });
    });
  }

  /** waitsendpay: the latest part (or `partid`) of the payment, in CLN's shape, or its failure as an error. */
  async waitsendpay(hash: string, timeoutS: number, partid?: number): Promise<Record<string, unknown>> {
    const cand = this.listSendpays(hash).filter((p) => partid === undefined || p.partid === partid);
    const r = cand[cand.length - 1];
    if (!r) throw new RpcError(PAY_NO_SUCH_PAYMENT, 'Never attempted payment part');
    const done = await this.waitPart(r.created_index, timeoutS);
    if (done.status === 'complete') return sendpayJson(done);
    throw failureError(done);
  }

  // ---- pay / keysend ---------------------------------------------------------------------------
  // Both run src/routing's payment state machine; each part goes out through sendpay above.

  /** pay: routes from our channels and the invoice's hints, split over several routes when needed. */
  async pay(p: {
    bolt11: string;
    amountMsat?: Msat;
    maxFeePercent?: number;
    retryForS?: number;
    maxDelay?: number;
    exclude?: string[];
    maxFeeMsat?: Msat;
    exemptFeeMsat?: Msat;
  }): Promise<Record<string, unknown>> {
    const prepared = preparePayment(
      {
        bolt11: p.bolt11,
        ...(p.amountMsat !== undefined ? { amountMsat: p.amountMsat } : {}),
        ...(p.maxFeePercent !== undefined ? { maxFeePercent: p.maxFeePercent } : {}),
        ...(p.retryForS !== undefined ? { retryForSeconds: p.retryForS } : {}),
        ...(p.maxDelay !== undefined ? { maxDelay: p.maxDelay } : {}),
        ...(p.exclude !== undefined ? { exclude: payExclusions(p.exclude) } : {}),
        ...(p.maxFeeMsat !== undefined ? { maxFeeMsat: p.maxFeeMsat } : {}),
        ...(p.exemptFeeMsat !== undefined ? { exemptFeeMsat: p.exemptFeeMsat } : {}),
      },
      { network: this.deps.network, ourNodeId: this.deps.ourId, now: this.deps.clock.now() },
    );
    if (!prepared.ok) throw new RpcError(prepared.error.code, prepared.error.message);
    const inv = decodeInvoice(p.bolt11);
    // Split only when the payee said it can put the parts back together (basic_mpp).
    const mpp = inv.ok && offersFeature(inv.value.features, BASIC_MPP_BIT);
    return this.drive(prepared.value, mpp ? {} : { maxParts: 1 });
  }

  /** keysend: the preimage travels in the onion; one part (a keysend payee cannot join parts). */
  keysend(p: {
    destination: string;
    amountMsat: Msat;
    hints: RouteHintHop[][];
    maxFeePercent?: number;
    retryForS?: number;
    maxDelay?: number;
  }): Promise<Record<string, unknown>> {
    const destination = p.destination.toLowerCase();
    if (!/^0[23][0-9a-f]{64}$/.test(destination))
      throw new RpcError(-32602, 'destination: expected a 33-byte node id in hex');
    if (destination === this.deps.ourId) throw new RpcError(-32602, 'cannot keysend to ourselves');
    if (p.amountMsat <= 0n) throw new RpcError(-32602, 'amount_msat must be positive');
    if (p.maxFeePercent !== undefined && !(p.maxFeePercent >= 0 && p.maxFeePercent <= 100))
      throw new RpcError(-32602, 'maxfeepercent must be between 0 and 100');
    const { state } = makeKeysend(
      {
        destination,
        amountMsat: p.amountMsat,
        ...(p.maxFeePercent !== undefined ? { maxFeePercent: p.maxFeePercent } : {}),
        ...(p.retryForS !== undefined ? { retryForSeconds: p.retryForS } : {}),
        ...(p.maxDelay !== undefined ? { maxDelay: p.maxDelay } : {}),
      },
      this.deps.entropy,
      this.deps.clock.now(),
    );
    return this.drive({ ...state, routeHints: p.hints }, { maxParts: 1 });
  }

  /** Runs a payment until it is complete or failed; returns pay's result or throws its error. */
  private async drive(start: PaymentState, split: SplitOptions): Promise<Record<string, unknown>> {
    const hashHex = hex(start.paymentHash);
    const earlier = this.listSendpays(hashHex);
    if (earlier.some((x) => x.status === 'complete'))
      throw new RpcError(PAY_RHASH_ALREADY_USED, 'This payment was already completed');
    if (earlier.some((x) => x.status === 'pending'))
      throw new RpcError(PAY_IN_PROGRESS, 'This payment is still in progress');
    const groupid = 1 + Math.max(0, ...earlier.map((x) => x.groupid), this.pays.get(hashHex)?.groupid ?? 0);
    const run = this.run(start, split, groupid);
    // Parts can stay in flight for long (a peer holding an HTLC until it times out): answer by retry_for
    // plus a grace period at the latest; the payment goes on and listpays shows how it ends.
    let cancel = () => {};
    const late = new Promise<null>((resolve) => {
      const wait = Math.max(0, start.deadline - this.deps.clock.now()) + IN_FLIGHT_GRACE_MS;
      const t = this.deps.clock.after(wait, () => resolve(null));
      cancel = () => t.cancel();
    });
    const state = await Promise.race([run, late]).finally(cancel);
    if (state === null)
      throw new RpcError(PAY_IN_PROGRESS, 'Parts are still in flight after retry_for: see listpays', {
        payment_hash: hashHex,
        status: 'pending',
      });
    if (state.status === 'complete') return payResultOf(state);
    const e = state.error ?? { code: PAY_STOPPED_RETRYING, message: 'payment failed' };
    // As Core Lightning does: the data names the last failure (who, where, which code).
    const last = this.listSendpays(hashHex)
      .filter((x) => x.groupid === groupid && x.status === 'failed' && x.failcode !== undefined)
      .at(-1);
    throw new RpcError(e.code, e.message, {
      payment_hash: hashHex,
      status: 'failed',
      attempts: state.parts.length,
      ...(last === undefined
        ? {}
        : {
            erring_index: last.erring_index,
            erring_node: last.erring_node,
            erring_channel: last.erring_channel,
            failcode: last.failcode,
            failcodename: last.failcodename,
          }),
    });
  }

  /** Steps the payment until it is complete or failed, sending its parts; resolves with the last state. */
  private async run(start: PaymentState, split: SplitOptions, groupid: number): Promise<PaymentState> {
    let state = start;
    const inFlight = new Map<number, Promise<PartEvent>>();
    const apply = (ev: PaymentEvent): void => {
      const step = stepPayment(state, ev, this.finder(split));
      state = step.state;
      this.savePayment(state, groupid);
      for (const a of step.actions) {
        switch (a.type) {
          case 'send_part':
            inFlight.set(a.partId, this.sendPart(state, a, groupid));
            break;
          case 'observe':
            this.observe(a.observation);
            break;
          case 'completed':
          case 'failed':
            break;
          default:
            assertNever(a);
        }
      }
    };
    apply({ type: 'start', now: this.deps.clock.now() });
    while (state.status === 'pending') {
      if (inFlight.size === 0) {
        apply({ type: 'tick', now: this.deps.clock.now() });
        if (state.status === 'pending' && inFlight.size === 0) {
          // Cannot happen (every step either sends or ends); never leave a payment pending if it does.
          const error = { code: PAY_STOPPED_RETRYING, message: 'internal error: nothing left in flight' };
          state = { ...state, status: 'failed', error, completedAt: this.deps.clock.now() };
          this.savePayment(state, groupid);
        }
        continue;
      }
      const ev = await Promise.race(inFlight.values());
      inFlight.delete(ev.partId);
      apply({ ...ev, now: this.deps.clock.now() });
    }
    // The payee released the preimage for the whole set: the other parts settle now. Wait a little for
    // them, so listpays and listsendpays agree with pay's result as soon as it is returned.
    if (state.status === 'complete') await this.settle(inFlight, apply);
    return state;
  }

  private async settle(
    inFlight: Map<number, Promise<PartEvent>>,
    apply: (ev: PaymentEvent) => void,
  ): Promise<void> {
    let cancel = () => {};
    const stop = new Promise<null>((resolve) => {
      const t = this.deps.clock.after(SETTLE_WAIT_MS, () => resolve(null));
      cancel = () => t.cancel();
    });
    try {
      while (inFlight.size > 0) {
        const ev = await Promise.race([...inFlight.values(), stop]);
        if (ev === null) return;
        inFlight.delete(ev.partId);
        apply({ ...ev, now: this.deps.clock.now() });
      }
    } finally {
      cancel();
    }
  }

  private finder(split: SplitOptions): RouteFinder {
    const now = this.deps.clock.now();
    return payRouteFinder({
      graph: this.deps.graph?.() ?? new Graph(),
      ourId: this.deps.ourId,
      localChannels: localChannelsOf(this.deps.driver.list()),
      missionControl: this.mc,
      now,
      split,
    });
  }

  /** Offers one part through sendpay and resolves with what became of it. */
  private sendPart(
    state: PaymentState,
    a: Extract<PaymentAction, { type: 'send_part' }>,
    groupid: number,
  ): Promise<PartEvent> {
    const failed = (failure: PartFailure): PartEvent => ({ type: 'part_failed', partId: a.partId, failure });
    let rec: SendpayRec;
    try {
      rec = this.sendpay({
        route: sendpayRoute(a.route),
        paymentHash: a.paymentHash,
        amountMsat: a.final.totalMsat,
        partid: a.partId,
        groupid,
        ...(a.final.paymentSecret !== undefined ? { paymentSecret: a.final.paymentSecret } : {}),
        ...(a.final.paymentMetadata !== undefined ? { paymentMetadata: a.final.paymentMetadata } : {}),
        ...(state.bolt11 !== undefined ? { bolt11: state.bolt11 } : {}),
        ...(a.final.extra !== undefined ? { finalExtra: [...a.final.extra] } : {}),
      });
    } catch (e) {
      return Promise.resolve(failed({ kind: 'local', message: (e as Error).message }));
    }
    return this.whenDone(rec.created_index).then((done) => {
      if (done.status === 'complete' && done.payment_preimage !== undefined)
        return { type: 'part_succeeded', partId: a.partId, preimage: fromHex(done.payment_preimage) };
      const f = this.failures.get(done.created_index);
      this.failures.delete(done.created_index);
      return failed(f ?? { kind: 'local', message: done.failreason ?? 'the part failed' });
    });
  }

  /** Resolves once the part is no longer pending: an HTLC always ends (fulfilled, failed or timed out on chain). */
  private whenDone(index: number): Promise<SendpayRec> {
    const r = this.parts.get(index)!;
    if (r.status !== 'pending') return Promise.resolve(r);
    return new Promise((resolve) => this.waiters.push({ index, fn: resolve }));
  }

  private observe(o: Observation): void {
    const now = this.deps.clock.now();
    switch (o.kind) {
      case 'channel_failed':
        this.mc = recordChannelFailure(this.mc, o.scid, o.direction, o.amountMsat, now);
        break;
      case 'channel_succeeded':
        this.mc = recordChannelSuccess(this.mc, o.scid, o.direction, o.amountMsat, now);
        break;
      case 'node_failed':
        this.mc = recordNodeFailure(this.mc, o.node, now);
        break;
      case 'channel_update':
        // Applied once gossip keeps a graph; the state machine already retries policy failures once.
        return;
      default:
        assertNever(o);
    }
    this.mc = pruneMissionControl(this.mc, now);
    this.deps.store.batch([put(MC_NS, 'state', encodeMissionControl(this.mc))]);
  }

  private savePayment(s: PaymentState, groupid: number): void {
    const h = hex(s.paymentHash);
    this.deps.store.batch([put(PAYS_NS, `${h}/${String(groupid).padStart(6, '0')}`, encodePayment(s))]);
    this.pays.set(h, { groupid, state: s });
  }

  /** What mission control has learnt so far (for tests and diagnostics). */
  missionControl(): MissionControl {
    return this.mc;
  }

  /**
   * CLN's listpays: one entry per payment hash. A payment `pay` gave up on also says why (`failure`: the
   * code and message pay returned), even when no part was ever sent (no route).
   */
  listPays(hash?: string): Record<string, unknown>[] {
    const groups = new Map<string, SendpayRec[]>();
    for (const h of this.pays.keys()) if (hash === undefined || h === hash) groups.set(h, []);
    for (const p of this.listSendpays(hash))
      groups.set(p.payment_hash, [...(groups.get(p.payment_hash) ?? []), p]);
    return [...groups.entries()].map(([h, ps]) => {
      const ok = ps.filter((x) => x.status === 'complete');
      const pay = this.pays.get(h)?.state;
      const status =
        ok.length > 0
          ? 'complete'
          : ps.some((x) => x.status === 'pending') || pay?.status === 'pending'
            ? 'pending'
            : 'failed';
      const first = ps[0];
      const bolt11 = first?.bolt11 ?? pay?.bolt11;
      return {
        payment_hash: h,
        status,
        destination: first?.destination ?? pay?.destination,
        created_at: first?.created_at ?? Math.floor((pay?.createdAt ?? 0) / 1000),
        ...(bolt11 !== undefined ? { bolt11 } : {}),
        ...(ok.length > 0
          ? {
              amount_msat: ok.reduce((t, x) => t + x.amount_msat, 0n),
              amount_sent_msat: ok.reduce((t, x) => t + x.amount_sent_msat, 0n),
              preimage: ok[0]!.payment_preimage,
              number_of_parts: ok.length,
            }
          : {}),
        ...(status === 'failed' && pay?.error !== undefined
          ? { failure: { code: pay.error.code, message: pay.error.message } }
          : {}),
      };
    });
  }
}

export function sendpayJson(r: SendpayRec): Record<string, unknown> {
  const { secrets: _s, route: _r, ...rest } = r;
  return { id: r.created_index, ...rest };
}

function failureError(r: SendpayRec, code = PAY_TRY_OTHER_ROUTE): RpcError {
  return new RpcError(code, `failed: ${r.failcodename ?? ''} (${r.failreason ?? 'unknown'})`, {
    ...sendpayJson(r),
    ...(r.erring_index !== undefined ? { erring_index: r.erring_index } : {}),
  });
}
