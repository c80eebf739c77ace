// Paying (shell): sendpay/waitsendpay over an explicit route, and pay/keysend which find routes from our
// own channels plus the invoice's route hints, retrying with the failing hop excluded until success, no
// route, or the retry deadline. Each part is persisted (with the onion's shared secrets, to attribute a
// returned error after a restart) before its HTLC is offered.

import {
  buildOnion,
  decodeErrorPacket,
  FAILURE_FLAGS,
  failureCode,
  failureName,
} from '../bolt04-onion/index.ts';
import { encodeHopPayload, type HopPayload } from '../bolt04-onion/payload.ts';
import {
  type BitcoinNetwork,
  decodeInvoice,
  formatShortChannelId,
  isExpired,
  type RouteHintHop,
} from '../bolt11-invoice/index.ts';
import { fromHex, hex } from '../core/bytes.ts';
import { type Msat, msat } from '../core/units.ts';
import { sha256 } from '../crypto/index.ts';
import type { EntropySource } from '../crypto/random.ts';
import { RpcError } from '../rpc/errors.ts';
import { decodeRecord, encodeRecord, put, type Store } from '../store/store.ts';
import type { Channel, ChannelDriver } from './channel-driver.ts';
import type { Clock } from './clock.ts';
import type { Logger } from './logger.ts';
import { appendTlvs } from './payments-tlv.ts';
import { KEYSEND_TYPE, type LocalResult, type PaymentSwitch } from './switch.ts';
import { feeFor, linkStatus, scidOf, spendableMsat } from './switch-policy.ts';

const NS = 'sendpays';
// Core Lightning's error codes.
export const PAY_IN_PROGRESS = 200;
export const PAY_RHASH_ALREADY_USED = 201;
export const PAY_UNPARSEABLE_ONION = 202;
export const PAY_DESTINATION_PERM_FAIL = 203;
export const PAY_TRY_OTHER_ROUTE = 204;
export const PAY_ROUTE_NOT_FOUND = 205;
export const PAY_INVOICE_EXPIRED = 207;
export const PAY_NO_SUCH_PAYMENT = 208;
export const PAY_STOPPED_RETRYING = 210;
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
}

const parseScid = (s: string): bigint => {
  const m = /^(\d+)x(\d+)x(\d+)$/.exec(s);
  if (!m) throw new RpcError(-32602, `bad short_channel_id '${s}'`);
  return (BigInt(m[1]!) << 40n) | (BigInt(m[2]!) << 16n) | BigInt(m[3]!);
};

export class Payer {
  private readonly parts = new Map<number, SendpayRec>();
  private nextIndex = 1;
  private waiters: { index: number; fn: (r: SendpayRec) => void }[] = [];

  constructor(private readonly deps: PayDeps) {
    for (const { value } of deps.store.list(NS)) {
      const r = decodeRecord<SendpayRec>(value);
      this.parts.set(r.created_index, r);
      if (r.created_index >= this.nextIndex) this.nextIndex = r.created_index + 1;
    }
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
      };
    });
    const bytes = payloads.map((x) => encodeHopPayload(x));
    if (p.finalExtra !== undefined && p.finalExtra.length > 0)
      bytes[bytes.length - 1] = appendTlvs(bytes[bytes.length - 1]!, p.finalExtra);
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
          this.finish(r, { status: 'failed', failreason: 'preimage does not match' });
          return;
        }
        this.finish(r, { status: 'complete', payment_preimage: hex(res.preimage) });
        return;
      case 'cancelled':
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

  private localChannelsTo(peer: string | null): Channel[] {
    return this.deps.driver
      .list()
      .filter(
        (c) =>
          (peer === null || c.peerId === peer) && linkStatus(c) === 'normal' && scidOf(c.state) !== undefined,
      );
  }

  /** Candidate routes: direct channels to the payee, then each route hint reached over our channels. */
  candidateRoutes(
    payee: string,
    amount: Msat,
    finalCltv: number,
    hints: readonly (readonly RouteHintHop[])[],
    exclude: ReadonlySet<string>,
  ): RouteHop[][] {
    const out: RouteHop[][] = [];
    const usable = (scid: string, node: string) => !exclude.has(scid) && !exclude.has(node);
    const paths: { hops: { node: string; scid: string; fee?: RouteHintHop }[] }[] = [];
    for (const c of this.localChannelsTo(payee))
      paths.push({ hops: [{ node: payee, scid: formatShortChannelId(scidOf(c.state)!) }] });
    for (const hint of hints) {
      if (hint.length === 0) continue;
      const entry = hex(hint[0]!.pubkey);
      if (entry === this.deps.ourId) continue;
      for (const c of this.localChannelsTo(entry)) {
        const hops: { node: string; scid: string; fee?: RouteHintHop }[] = [
          { node: entry, scid: formatShortChannelId(scidOf(c.state)!) },
        ];
        hint.forEach((h, i) => {
          const to = i + 1 < hint.length ? hex(hint[i + 1]!.pubkey) : payee;
          hops.push({ node: to, scid: formatShortChannelId(h.shortChannelId), fee: h });
        });
        paths.push({ hops });
      }
    }
    for (const p of paths) {
      if (!p.hops.every((h) => usable(h.scid, h.node))) continue;
      // Backwards: each hop's HTLC pays what the next forwards plus the fee its forwarder charges.
      const route: RouteHop[] = new Array(p.hops.length);
      let amt = amount;
      let delay = finalCltv;
      for (let i = p.hops.length - 1; i >= 0; i--) {
        const h = p.hops[i]!;
        route[i] = { id: h.node, channel: h.scid, amount_msat: amt, delay };
        if (i > 0 && h.fee !== undefined) {
          amt = msat(
            amt + feeFor({ feeBaseMsat: h.fee.feeBaseMsat, feePpm: h.fee.feeProportionalMillionths }, amt),
          );
          delay += h.fee.cltvExpiryDelta;
        }
      }
      const first = this.deps.driver.find(route[0]!.channel);
      if (first && spendableMsat(first) >= route[0]!.amount_msat) out.push(route);
    }
    return out;
  }

  async pay(p: {
    bolt11: string;
    amountMsat?: Msat;
    maxFeePercent?: number;
    retryForS?: number;
    maxDelay?: number;
    exclude?: string[];
  }): Promise<Record<string, unknown>> {
    const inv = decodeInvoice(p.bolt11);
    if (!inv.ok) throw new RpcError(-32602, `Invalid bolt11: ${inv.error.message}`);
    const i = inv.value;
    if (i.network !== this.deps.network)
      throw new RpcError(
        -32602,
        `Invoice is for another network: ${i.network}, this node runs on ${this.deps.network}`,
      );
    const now = Math.floor(this.deps.clock.now() / 1000);
    if (isExpired(i, now)) throw new RpcError(PAY_INVOICE_EXPIRED, 'Invoice expired');
    let amount: Msat;
    if (i.amount === undefined) {
      if (p.amountMsat === undefined) throw new RpcError(-32602, 'amount_msat parameter required');
      amount = p.amountMsat;
    } else {
      if (p.amountMsat !== undefined) throw new RpcError(-32602, 'amount_msat parameter unnecessary');
      amount = i.amount;
    }
    const payee = hex(i.payee);
    if (payee === this.deps.ourId) throw new RpcError(-32602, 'This invoice is our own');
    return this.run({
      payee,
      amount,
      hash: i.paymentHash,
      secret: i.paymentSecret,
      finalCltv: i.minFinalCltvExpiryDelta,
      hints: i.routeHints,
      bolt11: p.bolt11,
      maxFeePercent: p.maxFeePercent ?? 0.5,
      retryForS: p.retryForS ?? 60,
      ...(p.maxDelay !== undefined ? { maxDelay: p.maxDelay } : {}),
      // CLN's `scid/direction` excludes the channel here (we route over few channels, both ways alike).
      exclude: new Set((p.exclude ?? []).map((x) => x.toLowerCase().replace(/\/[01]$/, ''))),
    });
  }

  keysend(p: {
    destination: string;
    amountMsat: Msat;
    hints: RouteHintHop[][];
    maxFeePercent?: number;
    retryForS?: number;
  }) {
    const preimage = this.deps.entropy.randomBytes(32);
    return this.run({
      payee: p.destination.toLowerCase(),
      amount: p.amountMsat,
      hash: sha256(preimage),
      secret: undefined,
      finalCltv: 40,
      hints: p.hints,
      maxFeePercent: p.maxFeePercent ?? 0.5,
      retryForS: p.retryForS ?? 60,
      exclude: new Set(),
      finalExtra: [{ type: KEYSEND_TYPE, value: preimage }],
    });
  }

  private async run(o: {
    payee: string;
    amount: Msat;
    hash: Uint8Array;
    secret: Uint8Array | undefined;
    finalCltv: number;
    hints: readonly (readonly RouteHintHop[])[];
    bolt11?: string;
    maxFeePercent: number;
    retryForS: number;
    maxDelay?: number;
    exclude: Set<string>;
    finalExtra?: { type: bigint; value: Uint8Array }[];
  }): Promise<Record<string, unknown>> {
    const started = this.deps.clock.now();
    const deadline = started + o.retryForS * 1000;
    const byPercent = (o.amount * BigInt(Math.round(o.maxFeePercent * 10_000))) / 1_000_000n;
    const maxFee = byPercent > 5000n ? byPercent : 5000n;
    const hashHex = hex(o.hash);
    let attempts = 0;
    let last = 'no route';
    const groupid = 1 + Math.max(0, ...this.listSendpays(hashHex).map((x) => x.groupid));
    for (;;) {
      const routes = this.candidateRoutes(o.payee, o.amount, o.finalCltv, o.hints, o.exclude).filter(
        (r) =>
          r[0]!.amount_msat - o.amount <= maxFee && (o.maxDelay === undefined || r[0]!.delay <= o.maxDelay),
      );
      const route = routes[0];
      if (route === undefined) {
        const code = attempts === 0 ? PAY_ROUTE_NOT_FOUND : PAY_STOPPED_RETRYING;
        throw new RpcError(
          code,
          attempts === 0
            ? 'Could not find a route'
            : `Ran out of routes to try after ${attempts} attempts: ${last}`,
          { attempts },
        );
      }
      attempts++;
      let part: SendpayRec;
      try {
        part = this.sendpay({
          route,
          paymentHash: o.hash,
          ...(o.secret !== undefined ? { paymentSecret: o.secret } : {}),
          ...(o.bolt11 !== undefined ? { bolt11: o.bolt11 } : {}),
          ...(o.finalExtra !== undefined ? { finalExtra: o.finalExtra } : {}),
          amountMsat: o.amount,
          partid: attempts - 1,
          groupid,
        });
      } catch (e) {
        last = (e as Error).message;
        o.exclude.add(route[0]!.channel);
        continue;
      }
      const remaining = Math.max(1, (deadline - this.deps.clock.now()) / 1000);
      const done = await this.waitPart(part.created_index, Math.max(remaining, 120));
      if (done.status === 'complete') {
        return {
          destination: o.payee,
          payment_hash: hashHex,
          created_at: started / 1000,
          parts: 1,
          amount_msat: o.amount,
          amount_sent_msat: done.amount_sent_msat,
          payment_preimage: done.payment_preimage,
          status: 'complete',
        };
      }
      last = `${done.failcodename ?? ''} ${done.failreason ?? ''} at ${done.erring_node ?? '?'}`.trim();
      // The payee said no: retrying elsewhere cannot help.
      if (
        done.erring_node === o.payee &&
        done.failcode !== undefined &&
        (done.failcode & FAILURE_FLAGS.PERM) !== 0
      )
        throw failureError(done, PAY_DESTINATION_PERM_FAIL);
      if (done.failcode !== undefined && (done.failcode & FAILURE_FLAGS.NODE) !== 0 && done.erring_node)
        o.exclude.add(done.erring_node);
      else if (done.erring_channel) o.exclude.add(done.erring_channel);
      else if (done.erring_node) o.exclude.add(done.erring_node);
      else break;
      if (this.deps.clock.now() > deadline) break;
    }
    throw new RpcError(
      PAY_STOPPED_RETRYING,
      `Ran out of time or routes after ${attempts} attempts: ${last}`,
      { attempts },
    );
  }

  /** CLN's listpays: one entry per payment hash. */
  listPays(hash?: string): Record<string, unknown>[] {
    const groups = new Map<string, SendpayRec[]>();
    for (const p of this.listSendpays(hash))
      groups.set(p.payment_hash, [...(groups.get(p.payment_hash) ?? []), p]);
    return [...groups.entries()].map(([h, ps]) => {
      const ok = ps.filter((x) => x.status === 'complete');
      const status =
        ok.length > 0 ? 'complete' : ps.some((x) => x.status === 'pending') ? 'pending' : 'failed';
      const first = ps[0]!;
      return {
        payment_hash: h,
        status,
        destination: first.destination,
        created_at: first.created_at,
        ...(first.bolt11 !== undefined ? { bolt11: first.bolt11 } : {}),
        ...(ok.length > 0
          ? {
              amount_msat: ok.reduce((t, x) => t + x.amount_msat, 0n),
              amount_sent_msat: ok.reduce((t, x) => t + x.amount_sent_msat, 0n),
              preimage: ok[0]!.payment_preimage,
              number_of_parts: ok.length,
            }
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
