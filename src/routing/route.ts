// A route: each hop's amount and CLTV, computed backwards from what the payee must receive, and the
// onion payloads that tell each hop what to forward.
import { encodeHopPayload, type HopPayload } from '../bolt04-onion/payload.ts';
import { formatShortChannelId } from '../bolt11-invoice/fields.ts';
import { type Msat, msat } from '../core/units.ts';
import { type Edge, forwardFee, type NodeKey } from './graph.ts';
import { appendTlvRecords } from './tlv-records.ts';

export interface RouteHop {
  /** The node this hop's channel leads to. */
  readonly nodeId: NodeKey;
  readonly scid: bigint;
  readonly direction: 0 | 1;
  /** The HTLC amount on this hop's channel (what `nodeId` receives). */
  readonly amountMsat: Msat;
  /** The HTLC's CLTV on this channel, relative to the current height. */
  readonly delay: number;
}

export interface Route {
  readonly hops: readonly RouteHop[];
  /** Delivered to the payee. */
  readonly amountMsat: Msat;
  /** Sent by us: amount plus every fee. */
  readonly totalAmountMsat: Msat;
  readonly feeMsat: Msat;
  /** CLTV delta of the first HTLC. */
  readonly totalDelay: number;
}

/** Amounts and CLTVs for a path: hop i's forwarding node charges fees per its outgoing channel (hop i+1). */
export function buildRoute(path: readonly Edge[], amountMsat: Msat, finalCltvDelta: number): Route {
  if (path.length === 0) throw new RangeError('a route has at least one hop');
  const hops: RouteHop[] = new Array(path.length);
  let amount = amountMsat;
  let delay = finalCltvDelta;
  for (let i = path.length - 1; i >= 0; i--) {
    const e = path[i]!;
    hops[i] = { nodeId: e.to, scid: e.scid, direction: e.direction, amountMsat: amount, delay };
    if (i > 0) {
      amount = msat(amount + forwardFee(e.policy, amount));
      delay += e.policy.cltvExpiryDelta;
    }
  }
  const first = hops[0]!;
  return {
    hops,
    amountMsat,
    totalAmountMsat: first.amountMsat,
    feeMsat: msat(first.amountMsat - amountMsat),
    totalDelay: first.delay,
  };
}

/** What the payee's payload carries besides amount and CLTV. */
export interface FinalHopData {
  readonly paymentSecret?: Uint8Array;
  /** The whole payment's amount when this route is one part of a multi-part payment. */
  readonly totalMsat: Msat;
  readonly paymentMetadata?: Uint8Array;
  /** Further TLV records for the payee, either parity (keysend's preimage is the even 5482373484). */
  readonly extra?: readonly { readonly type: bigint; readonly value: Uint8Array }[];
}

/**
 * One onion payload per hop; CLTVs become absolute by adding the current block height. The final
 * hop's `extra` records are not included (they may be even): use routePayloadBytes for the onion.
 */
export function routePayloads(route: Route, blockHeight: number, final: FinalHopData): HopPayload[] {
  const n = route.hops.length;
  return route.hops.map((hop, i) => {
    if (i < n - 1) {
      const next = route.hops[i + 1]!;
      return {
        amtToForward: next.amountMsat,
        outgoingCltvValue: blockHeight + next.delay,
        shortChannelId: next.scid,
      };
    }
    return {
      amtToForward: hop.amountMsat,
      outgoingCltvValue: blockHeight + hop.delay,
      ...(final.paymentSecret !== undefined
        ? { paymentData: { paymentSecret: final.paymentSecret, totalMsat: final.totalMsat } }
        : {}),
      ...(final.paymentMetadata !== undefined ? { paymentMetadata: final.paymentMetadata } : {}),
    };
  });
}

/** The TLV payload bytes per hop, ready for the Sphinx builder, with the final hop's extra records merged in order. */
export function routePayloadBytes(route: Route, blockHeight: number, final: FinalHopData): Uint8Array[] {
  const payloads = routePayloads(route, blockHeight, final).map((p) => encodeHopPayload(p));
  const extra = final.extra ?? [];
  if (extra.length === 0) return payloads;
  const last = payloads.length - 1;
  payloads[last] = appendTlvRecords(payloads[last]!, extra);
  return payloads;
}

/** Core Lightning's `getroute` hop shape. */
export function routeToJson(route: Route): {
  id: string;
  channel: string;
  direction: number;
  amount_msat: Msat;
  delay: number;
  style: 'tlv';
}[] {
  return route.hops.map((h) => ({
    id: h.nodeId,
    channel: formatShortChannelId(h.scid),
    direction: h.direction,
    amount_msat: h.amountMsat,
    delay: h.delay,
    style: 'tlv' as const,
  }));
}
