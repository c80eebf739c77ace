// The payment lifecycle as a pure state machine: pay parameters as Core Lightning takes them, then
// attempts -> results -> retries with exclusions until success, no route, or timeout. A payment
// always ends: every failure either excludes something or ends it, and nothing new starts after
// the deadline. The shell builds onions for `send_part`, feeds results back, and keeps the records.
import { type Failure, failureCode, failureFlags } from '../bolt04-onion/failure.ts';
import {
  type BitcoinNetwork,
  decodeInvoice,
  formatShortChannelId,
  type Invoice,
  isExpired,
  type RouteHintHop,
} from '../bolt11-invoice/index.ts';
import { hex } from '../core/bytes.ts';
import { err, ok, type Result } from '../core/result.ts';
import { type Msat, msat } from '../core/units.ts';
import type { NodeKey } from './graph.ts';
import { edgeId } from './pathfind.ts';
import type { FinalHopData, Route } from './route.ts';

// Core Lightning's pay error codes.
export const PAY_ROUTE_NOT_FOUND = 205;
export const PAY_ROUTE_TOO_EXPENSIVE = 206;
export const PAY_DESTINATION_PERM_FAIL = 203;
export const PAY_INVOICE_EXPIRED = 207;
export const PAY_STOPPED_RETRYING = 210;
export const PAY_INVALID_PARAMS = -32602;

export const DEFAULT_MAX_FEE_PERCENT = 0.5;
export const DEFAULT_RETRY_FOR_SECONDS = 60;
/**
 * Blocks added to the payee's min_final_cltv_expiry_delta: the payee may have seen a block or two more than
 * we have when our HTLC reaches it, and a final expiry even one block short is refused as
 * incorrect_or_unknown_payment_details (LND pads by 3 the same way).
 */
export const FINAL_CLTV_PADDING_BLOCKS = 3;
/** Core Lightning's exemptfee: fees up to this are always acceptable, whatever the percentage. */
export const DEFAULT_EXEMPT_FEE_MSAT = msat(5000);
/** A backstop beside the deadline: no payment sends more parts than this. */
export const MAX_PAYMENT_PARTS = 200;

export interface PayParams {
  readonly bolt11: string;
  /** Required for an invoice without an amount, refused for one with an amount. */
  readonly amountMsat?: Msat;
  readonly maxFeePercent?: number;
  readonly retryForSeconds?: number;
  readonly maxDelay?: number;
  readonly exemptFeeMsat?: Msat;
  /** An absolute fee limit, instead of maxFeePercent and exemptFeeMsat (Core Lightning's `maxfee`). */
  readonly maxFeeMsat?: Msat;
  /** Channel directions as `BLOCKxTXxOUT/direction`, `scid/direction` (u64) or node ids (hex). */
  readonly exclude?: readonly string[];
}

export interface PayError {
  readonly code: number;
  readonly message: string;
}

/** What the route finder is asked for one round of parts. */
export interface RouteRequest {
  readonly destination: NodeKey;
  readonly amountMsat: Msat;
  readonly finalCltvDelta: number;
  readonly maxFeeMsat: Msat;
  readonly maxCltv: number | undefined;
  readonly excludeChannels: ReadonlySet<string>;
  readonly excludeNodes: ReadonlySet<NodeKey>;
  readonly routeHints: readonly (readonly RouteHintHop[])[];
  /** Amounts already in flight per channel direction (other pending parts). */
  readonly usage: ReadonlyMap<string, Msat>;
  /** Per channel direction, a total it failed to carry in this payment (see RouteQuery.liquidityBounds). */
  readonly liquidityBounds: ReadonlyMap<string, Msat>;
}

export interface RouteFinderError {
  readonly message: string;
  /** A route exists but costs more than the fee budget. */
  readonly tooExpensive?: boolean;
}

/** Pathfinding as the payment sees it (see makeRouteFinder in route-finder.ts). */
export type RouteFinder = (req: RouteRequest) => Result<readonly Route[], RouteFinderError>;

export type PartStatus = 'pending' | 'failed' | 'complete';

export interface PaymentPart {
  readonly partId: number;
  readonly route: Route;
  readonly status: PartStatus;
  readonly createdAt: number;
  readonly failure?: string;
}

export type PaymentStatus = 'pending' | 'complete' | 'failed';

export interface PaymentState {
  readonly paymentHash: Uint8Array;
  readonly destination: NodeKey;
  readonly bolt11?: string;
  readonly amountMsat: Msat;
  readonly final: FinalHopData;
  readonly finalCltvDelta: number;
  readonly routeHints: readonly (readonly RouteHintHop[])[];
  readonly maxFeeMsat: Msat;
  readonly maxDelay: number | undefined;
  readonly createdAt: number;
  readonly deadline: number;
  readonly excludeChannels: ReadonlySet<string>;
  readonly excludeNodes: ReadonlySet<NodeKey>;
  /** Channels whose channel_update we applied once after a failure; a second failure excludes them. */
  readonly updatedChannels: ReadonlySet<string>;
  /**
   * Channel directions that answered temporary_channel_failure, with the total in flight over them
   * then: later parts keep below it instead of avoiding the channel (a smaller part may still pass).
   * Each such failure lowers a bound strictly, so retries end. Absent in records older than this field.
   */
  readonly liquidityBounds?: ReadonlyMap<string, Msat>;
  readonly parts: readonly PaymentPart[];
  readonly status: PaymentStatus;
  readonly preimage?: Uint8Array;
  readonly completedAt?: number;
  readonly error?: PayError;
  /** The most recent failure, for a message a person can read. */
  readonly lastFailure?: string;
}

/** Why one part failed, as the shell learned it. */
export type PartFailure =
  /** An error onion attributed to route hop `hopIndex` (0 = first node after us); null failure: unparsable. */
  | { readonly kind: 'remote'; readonly hopIndex: number; readonly failure: Failure | null }
  /** No hop's HMAC matched. */
  | { readonly kind: 'unattributable' }
  /** Our own channel refused the HTLC (no longer spendable, peer gone...). */
  | { readonly kind: 'local'; readonly message: string };

export type PaymentEvent =
  | { readonly type: 'start'; readonly now: number }
  | {
      readonly type: 'part_succeeded';
      readonly partId: number;
      readonly preimage: Uint8Array;
      readonly now: number;
    }
  | {
      readonly type: 'part_failed';
      readonly partId: number;
      readonly failure: PartFailure;
      readonly now: number;
    }
  | { readonly type: 'tick'; readonly now: number };

/** What the shell learns from a failure for mission control and the graph. */
export type Observation =
  | {
      readonly kind: 'channel_failed';
      readonly scid: bigint;
      readonly direction: 0 | 1;
      readonly amountMsat: Msat;
    }
  | {
      readonly kind: 'channel_succeeded';
      readonly scid: bigint;
      readonly direction: 0 | 1;
      readonly amountMsat: Msat;
    }
  | { readonly kind: 'node_failed'; readonly node: NodeKey }
  | { readonly kind: 'channel_update'; readonly update: Uint8Array };

export type PaymentAction =
  | {
      readonly type: 'send_part';
      readonly partId: number;
      readonly route: Route;
      readonly paymentHash: Uint8Array;
      readonly final: FinalHopData;
    }
  | { readonly type: 'observe'; readonly observation: Observation }
  | { readonly type: 'completed'; readonly preimage: Uint8Array }
  | { readonly type: 'failed'; readonly error: PayError };

export interface PaymentStep {
  readonly state: PaymentState;
  readonly actions: readonly PaymentAction[];
}

function parseExclusion(text: string): { channel: string } | { node: NodeKey } | undefined {
  if (/^(02|03)[0-9a-fA-F]{64}$/.test(text)) return { node: text.toLowerCase() };
  const m = /^(\d+)x(\d+)x(\d+)\/([01])$/.exec(text);
  if (m !== null) {
    const scid = (BigInt(m[1]!) << 40n) | (BigInt(m[2]!) << 16n) | BigInt(m[3]!);
    return { channel: edgeId(scid, Number(m[4]) as 0 | 1) };
  }
  const u = /^(\d+)\/([01])$/.exec(text);
  if (u !== null) return { channel: edgeId(BigInt(u[1]!), Number(u[2]) as 0 | 1) };
  return undefined;
}

export interface PayContext {
  readonly network: BitcoinNetwork;
  readonly ourNodeId: NodeKey;
  /** ms */
  readonly now: number;
}

/** Checks `pay`'s parameters against the invoice and makes the initial state. */
export function preparePayment(p: PayParams, ctx: PayContext): Result<PaymentState, PayError> {
  const bad = (message: string) => err({ code: PAY_INVALID_PARAMS, message });
  const decoded = decodeInvoice(p.bolt11);
  if (!decoded.ok) return bad(`Invalid bolt11: ${decoded.error.message}`);
  const inv: Invoice = decoded.value;
  if (inv.network !== ctx.network) {
    return bad(
      `Invoice is for another network: ${inv.network} (currency ${inv.currency}), this node runs on ${ctx.network}`,
    );
  }
  if (isExpired(inv, Math.floor(ctx.now / 1000))) {
    return err({
      code: PAY_INVOICE_EXPIRED,
      message: `Invoice expired ${Math.floor(ctx.now / 1000) - (inv.timestamp + inv.expiry)} seconds ago`,
    });
  }
  let amount: Msat;
  if (inv.amount === undefined) {
    if (p.amountMsat === undefined) return bad('amount_msat parameter required: the invoice has no amount');
    if (p.amountMsat <= 0n) return bad('amount_msat must be positive');
    amount = p.amountMsat;
  } else {
    if (p.amountMsat !== undefined)
      return bad('amount_msat parameter unnecessary: the invoice has an amount');
    amount = inv.amount;
  }
  const payee = hex(inv.payee);
  if (payee === ctx.ourNodeId) return bad('This invoice is our own: cannot pay ourselves');
  if (p.maxFeeMsat !== undefined && (p.maxFeePercent !== undefined || p.exemptFeeMsat !== undefined))
    return bad('maxfee cannot be combined with maxfeepercent or exemptfee');
  if (p.maxFeeMsat !== undefined && p.maxFeeMsat < 0n) return bad('maxfee must not be negative');
  const percent = p.maxFeePercent ?? DEFAULT_MAX_FEE_PERCENT;
  if (!(percent >= 0 && percent <= 100)) return bad('maxfeepercent must be between 0 and 100');
  const retryFor = p.retryForSeconds ?? DEFAULT_RETRY_FOR_SECONDS;
  if (!(retryFor >= 0)) return bad('retry_for must not be negative');
  if (p.maxDelay !== undefined && !(Number.isInteger(p.maxDelay) && p.maxDelay > 0))
    return bad('maxdelay must be a positive number of blocks');
  const excludeChannels = new Set<string>();
  const excludeNodes = new Set<NodeKey>();
  for (const x of p.exclude ?? []) {
    const e = parseExclusion(x);
    if (e === undefined) return bad(`exclude: '${x}' is neither a node id nor a short_channel_id/direction`);
    if ('node' in e) excludeNodes.add(e.node);
    else excludeChannels.add(e.channel);
  }
  // Percent in millionths, so the arithmetic stays in bigint.
  const byPercent = (amount * BigInt(Math.round(percent * 10_000))) / 1_000_000n;
  const exempt = p.exemptFeeMsat ?? DEFAULT_EXEMPT_FEE_MSAT;
  return ok({
    paymentHash: inv.paymentHash,
    destination: payee,
    bolt11: p.bolt11,
    amountMsat: amount,
    final: {
      paymentSecret: inv.paymentSecret,
      totalMsat: amount,
      ...(inv.metadata !== undefined ? { paymentMetadata: inv.metadata } : {}),
    },
    finalCltvDelta: inv.minFinalCltvExpiryDelta + FINAL_CLTV_PADDING_BLOCKS,
    routeHints: inv.routeHints,
    maxFeeMsat: p.maxFeeMsat ?? msat(byPercent > exempt ? byPercent : exempt),
    maxDelay: p.maxDelay,
    createdAt: ctx.now,
    deadline: ctx.now + retryFor * 1000,
    excludeChannels,
    excludeNodes,
    updatedChannels: new Set(),
    liquidityBounds: new Map(),
    parts: [],
    status: 'pending',
  });
}

/** A keysend payment's initial state: the preimage travels in the onion (see keysend.ts). */
export function prepareKeysend(p: {
  readonly destination: NodeKey;
  readonly amountMsat: Msat;
  readonly paymentHash: Uint8Array;
  readonly final: FinalHopData;
  readonly maxFeeMsat: Msat;
  readonly finalCltvDelta: number;
  readonly retryForSeconds?: number;
  readonly maxDelay?: number;
  readonly now: number;
}): PaymentState {
  return {
    paymentHash: p.paymentHash,
    destination: p.destination,
    amountMsat: p.amountMsat,
    final: p.final,
    finalCltvDelta: p.finalCltvDelta,
    routeHints: [],
    maxFeeMsat: p.maxFeeMsat,
    maxDelay: p.maxDelay,
    createdAt: p.now,
    deadline: p.now + (p.retryForSeconds ?? DEFAULT_RETRY_FOR_SECONDS) * 1000,
    excludeChannels: new Set(),
    excludeNodes: new Set(),
    updatedChannels: new Set(),
    liquidityBounds: new Map(),
    parts: [],
    status: 'pending',
  };
}

function sumBy(parts: readonly PaymentPart[], status: PartStatus): Msat {
  return msat(parts.filter((x) => x.status === status).reduce((s, x) => s + x.route.amountMsat, 0n));
}

function feesInFlight(parts: readonly PaymentPart[]): Msat {
  return msat(parts.filter((x) => x.status !== 'failed').reduce((s, x) => s + x.route.feeMsat, 0n));
}

function usageOf(parts: readonly PaymentPart[]): Map<string, Msat> {
  const m = new Map<string, Msat>();
  for (const part of parts) {
    if (part.status !== 'pending') continue;
    for (const h of part.route.hops) {
      const id = edgeId(h.scid, h.direction);
      m.set(id, msat((m.get(id) ?? 0n) + h.amountMsat));
    }
  }
  return m;
}

function end(state: PaymentState, error: PayError, now: number): PaymentStep {
  return {
    state: { ...state, status: 'failed', error, completedAt: now },
    actions: [{ type: 'failed', error }],
  };
}

/** Routes what is neither pending nor delivered, or ends the payment when nothing can be done. */
function attempt(state: PaymentState, find: RouteFinder, now: number, actions: PaymentAction[]): PaymentStep {
  const pending = state.parts.some((x) => x.status === 'pending');
  const remaining = state.amountMsat - sumBy(state.parts, 'pending') - sumBy(state.parts, 'complete');
  if (remaining <= 0n) return { state, actions };
  const last = state.lastFailure !== undefined ? `; last error: ${state.lastFailure}` : '';
  if ((now >= state.deadline && state.parts.length > 0) || state.parts.length >= MAX_PAYMENT_PARTS) {
    if (pending) return { state, actions };
    const out = end(
      state,
      { code: PAY_STOPPED_RETRYING, message: `Ran out of time after ${state.parts.length} attempts${last}` },
      now,
    );
    return { state: out.state, actions: [...actions, ...out.actions] };
  }
  const budget = state.maxFeeMsat - feesInFlight(state.parts);
  const routes = find({
    destination: state.destination,
    amountMsat: msat(remaining),
    finalCltvDelta: state.finalCltvDelta,
    maxFeeMsat: msat(budget > 0n ? budget : 0n),
    maxCltv: state.maxDelay,
    excludeChannels: state.excludeChannels,
    excludeNodes: state.excludeNodes,
    routeHints: state.routeHints,
    usage: usageOf(state.parts),
    liquidityBounds: state.liquidityBounds ?? new Map(),
  });
  if (!routes.ok) {
    if (pending) return { state: { ...state, lastFailure: routes.error.message }, actions };
    const code =
      state.parts.length > 0
        ? PAY_STOPPED_RETRYING
        : routes.error.tooExpensive === true
          ? PAY_ROUTE_TOO_EXPENSIVE
          : PAY_ROUTE_NOT_FOUND;
    const out = end(
      state,
      {
        code,
        message: `Could not find a route: ${routes.error.message}${state.parts.length > 0 ? last : ''}`,
      },
      now,
    );
    return { state: out.state, actions: [...actions, ...out.actions] };
  }
  const parts = [...state.parts];
  for (const route of routes.value) {
    const partId = parts.length + 1;
    parts.push({ partId, route, status: 'pending', createdAt: now });
    actions.push({ type: 'send_part', partId, route, paymentHash: state.paymentHash, final: state.final });
  }
  return { state: { ...state, parts }, actions };
}

function channelAt(
  route: Route,
  i: number,
): { id: string; scid: bigint; direction: 0 | 1; amount: Msat } | undefined {
  const h = route.hops[i];
  return h === undefined
    ? undefined
    : { id: edgeId(h.scid, h.direction), scid: h.scid, direction: h.direction, amount: h.amountMsat };
}

function describe(route: Route, hopIndex: number, f: Failure | null): string {
  const who = route.hops[hopIndex]?.nodeId ?? 'unknown node';
  const chan = route.hops[hopIndex + 1];
  const via = chan !== undefined ? ` on channel ${formatShortChannelId(chan.scid)}/${chan.direction}` : '';
  return `${f === null ? 'unparsable failure' : f.failure} from ${who}${via}`;
}

interface Blame {
  readonly excludeChannels: readonly string[];
  readonly excludeNodes: readonly NodeKey[];
  readonly observations: readonly Observation[];
  readonly updatedChannel?: string;
  /** A channel direction that lacked liquidity for the amount in flight over it. */
  readonly liquidity?: { readonly id: string; readonly totalMsat: Msat };
  /** The payee refused: no retry can help. */
  readonly fatal?: PayError;
  readonly reason: string;
}

/** What a failure tells us, following how Core Lightning and LND read BOLT 4 failures. */
function blame(state: PaymentState, part: PaymentPart, f: PartFailure): Blame {
  const route = part.route;
  const last = route.hops.length - 1;
  switch (f.kind) {
    case 'local': {
      const c = channelAt(route, 0)!;
      return {
        excludeChannels: [c.id],
        excludeNodes: [],
        observations: [],
        reason: `our channel ${formatShortChannelId(c.scid)} refused the HTLC: ${f.message}`,
      };
    }
    case 'unattributable': {
      // Someone on the route garbled the error: avoid every channel of this route for this payment.
      const ids = route.hops.map((_, i) => channelAt(route, i)!.id);
      return {
        excludeChannels: ids,
        excludeNodes: [],
        observations: [],
        reason: 'an unreadable error came back from the route',
      };
    }
    case 'remote':
      break;
  }
  const { hopIndex, failure } = f;
  const reason = describe(route, hopIndex, failure);
  const erring = route.hops[hopIndex]?.nodeId;
  if (erring === undefined)
    return {
      excludeChannels: route.hops.map((_, i) => channelAt(route, i)!.id),
      excludeNodes: [],
      observations: [],
      reason,
    };
  if (hopIndex === last) {
    // The payee answered.
    const code = failure === null ? 0 : failureCode(failure);
    const type = failure?.failure;
    if (type === 'mpp_timeout') return { excludeChannels: [], excludeNodes: [], observations: [], reason };
    if (type === 'final_incorrect_cltv_expiry' || type === 'final_incorrect_htlc_amount') {
      // The hop before the payee changed the HTLC: avoid its channel to the payee.
      const c = channelAt(route, last)!;
      return {
        excludeChannels: [c.id],
        excludeNodes: [],
        observations: [
          { kind: 'channel_failed', scid: c.scid, direction: c.direction, amountMsat: c.amount },
        ],
        reason,
      };
    }
    if (failure === null || failureFlags(code).perm || type === 'incorrect_or_unknown_payment_details') {
      const message =
        type === 'incorrect_or_unknown_payment_details'
          ? 'The payee rejected the payment: unknown payment hash, wrong amount or secret, or too close to expiry'
          : `The payee failed the payment: ${reason}`;
      return {
        excludeChannels: [],
        excludeNodes: [],
        observations: [],
        fatal: { code: PAY_DESTINATION_PERM_FAIL, message },
        reason,
      };
    }
    // A transient failure at the payee (temporary_node_failure...): try other routes to it.
    const c = channelAt(route, last)!;
    return { excludeChannels: [c.id], excludeNodes: [], observations: [], reason };
  }
  const out = channelAt(route, hopIndex + 1)!;
  const chanFail: Observation = {
    kind: 'channel_failed',
    scid: out.scid,
    direction: out.direction,
    amountMsat: out.amount,
  };
  if (failure === null)
    return {
      excludeChannels: [],
      excludeNodes: [erring],
      observations: [{ kind: 'node_failed', node: erring }],
      reason,
    };
  if (failure.failure === 'temporary_channel_failure') {
    // Usually liquidity: the channel could not carry what was in flight over it. Keep later parts below
    // that (the channel may still carry a smaller one), as LND and Core Lightning do.
    const inFlight = usageOf(state.parts).get(out.id) ?? out.amount;
    const failed: Observation = { ...chanFail, amountMsat: inFlight };
    const observations: Observation[] =
      failure.channel_update.length > 0
        ? [{ kind: 'channel_update', update: failure.channel_update }, failed]
        : [failed];
    return {
      excludeChannels: [],
      excludeNodes: [],
      observations,
      liquidity: { id: out.id, totalMsat: inFlight },
      reason,
    };
  }
  const flags = failureFlags(failureCode(failure));
  if (flags.badonion || failure.failure === 'invalid_onion_payload' || flags.node) {
    return {
      excludeChannels: [],
      excludeNodes: [erring],
      observations: [{ kind: 'node_failed', node: erring }],
      reason,
    };
  }
  if (flags.update && 'channel_update' in failure && failure.channel_update.length > 0) {
    const observations: Observation[] = [{ kind: 'channel_update', update: failure.channel_update }];
    // A policy mismatch (fees, delta, minimum) may be fixed by the update: retry once with it.
    const policyOnly =
      failure.failure === 'fee_insufficient' ||
      failure.failure === 'incorrect_cltv_expiry' ||
      failure.failure === 'amount_below_minimum';
    if (policyOnly && !state.updatedChannels.has(out.id)) {
      return { excludeChannels: [], excludeNodes: [], observations, updatedChannel: out.id, reason };
    }
    return { excludeChannels: [out.id], excludeNodes: [], observations: [...observations, chanFail], reason };
  }
  return { excludeChannels: [out.id], excludeNodes: [], observations: [chanFail], reason };
}

/** One step of the payment. `find` is consulted only when new parts must be routed. */
export function stepPayment(state: PaymentState, ev: PaymentEvent, find: RouteFinder): PaymentStep {
  if (state.status !== 'pending') {
    // Late results of parts after the end: record them, start nothing.
    if (ev.type === 'part_succeeded' || ev.type === 'part_failed') {
      const parts = state.parts.map((x) =>
        x.partId === ev.partId && x.status === 'pending'
          ? { ...x, status: ev.type === 'part_succeeded' ? ('complete' as const) : ('failed' as const) }
          : x,
      );
      return { state: { ...state, parts }, actions: [] };
    }
    return { state, actions: [] };
  }
  switch (ev.type) {
    case 'start':
      if (state.parts.length > 0) return { state, actions: [] };
      return attempt(state, find, ev.now, []);
    case 'tick':
      if (
        ev.now >= state.deadline &&
        !state.parts.some((x) => x.status === 'pending') &&
        state.parts.length > 0
      ) {
        return attempt(state, find, ev.now, []);
      }
      return { state, actions: [] };
    case 'part_succeeded': {
      const part = state.parts.find((x) => x.partId === ev.partId);
      if (part === undefined || part.status !== 'pending') return { state, actions: [] };
      const parts = state.parts.map((x) =>
        x.partId === ev.partId ? { ...x, status: 'complete' as const } : x,
      );
      const observations: PaymentAction[] = part.route.hops.slice(1).map((h) => ({
        type: 'observe',
        observation: {
          kind: 'channel_succeeded',
          scid: h.scid,
          direction: h.direction,
          amountMsat: h.amountMsat,
        },
      }));
      // The preimage is proof of payment: the payee has released it for the whole set.
      return {
        state: { ...state, parts, status: 'complete', preimage: ev.preimage, completedAt: ev.now },
        actions: [...observations, { type: 'completed', preimage: ev.preimage }],
      };
    }
    case 'part_failed': {
      const part = state.parts.find((x) => x.partId === ev.partId);
      if (part === undefined || part.status !== 'pending') return { state, actions: [] };
      const b = blame(state, part, ev.failure);
      const parts = state.parts.map((x) =>
        x.partId === ev.partId ? { ...x, status: 'failed' as const, failure: b.reason } : x,
      );
      const excludeChannels = new Set([...state.excludeChannels, ...b.excludeChannels]);
      const excludeNodes = new Set([...state.excludeNodes, ...b.excludeNodes]);
      const updatedChannels =
        b.updatedChannel !== undefined
          ? new Set([...state.updatedChannels, b.updatedChannel])
          : state.updatedChannels;
      const liquidityBounds = new Map(state.liquidityBounds ?? []);
      if (b.liquidity !== undefined) {
        const old = liquidityBounds.get(b.liquidity.id);
        if (old === undefined || b.liquidity.totalMsat < old)
          liquidityBounds.set(b.liquidity.id, b.liquidity.totalMsat);
      }
      const next: PaymentState = {
        ...state,
        parts,
        excludeChannels,
        excludeNodes,
        updatedChannels,
        liquidityBounds,
        lastFailure: b.reason,
      };
      const actions: PaymentAction[] = b.observations.map((observation) => ({
        type: 'observe',
        observation,
      }));
      if (b.fatal !== undefined) {
        const out = end(next, b.fatal, ev.now);
        return { state: out.state, actions: [...actions, ...out.actions] };
      }
      // Nothing new was learnt (e.g. mpp_timeout): still progress, since parts are re-split from scratch.
      return attempt(next, find, ev.now, actions);
    }
  }
}
