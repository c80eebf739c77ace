// Glue between the channel driver and src/routing for `pay` and `keysend`: our channels as the route
// finder's first hops (with what they can really carry now), routes in sendpay's hop shape, and
// exclusions as pay takes them. The graph itself comes from a GraphSource so gossip can feed it later.

import { funderCostMsat } from '../bolt02-channel/commitments.ts';
import { commitmentsOf } from '../bolt02-channel/index.ts';
import type { Failure } from '../bolt04-onion/failure.ts';
import { formatShortChannelId } from '../bolt11-invoice/index.ts';
import { type FeeratePerKw, msat } from '../core/units.ts';
import type { Graph, LocalChannel, NodeKey } from '../routing/graph.ts';
import type { MissionControl } from '../routing/mission-control.ts';
import type { SplitOptions } from '../routing/mpp.ts';
import type { PartFailure, RouteFinder } from '../routing/payment.ts';
import type { Route } from '../routing/route.ts';
import { makeRouteFinder } from '../routing/route-finder.ts';
import type { Channel } from './channel-driver.ts';
import type { RouteHop } from './pay.ts';
import { linkStatus, scidOf, spendableMsat } from './switch-policy.ts';

/** Where the public channel graph comes from; until gossip lands, none (local channels + hints only). */
export type GraphSource = () => Graph;

/**
 * One of our channels as a first hop. Funders also keep the commitment fee at twice the feerate with two
 * more HTLCs (BOLT 2's fee spike buffer), so a route the finder picks is one the channel will accept.
 */
export function localChannelOf(ch: Channel): LocalChannel | undefined {
  const scid = scidOf(ch.state);
  const c = commitmentsOf(ch.state);
  if (scid === undefined || c === undefined) return undefined;
  let spendable: bigint = spendableMsat(ch);
  if (c.localIsFunder) {
    const spec = c.localCommit.spec;
    spendable -= funderCostMsat(c, spec, 'local', (spec.feerate * 2) as FeeratePerKw, 2);
  }
  return {
    scid,
    peer: ch.peerId,
    spendableMsat: msat(spendable > 0n ? spendable : 0n),
    htlcMinimumMsat: c.remote.htlcMinimum,
    htlcMaximumMsat: c.remote.maxHtlcValueInFlight,
    capacityMsat: msat(c.fundingAmount * 1000n),
    usable: linkStatus(ch) === 'normal',
  };
}

export function localChannelsOf(channels: readonly Channel[]): LocalChannel[] {
  const out: LocalChannel[] = [];
  for (const ch of channels) {
    const l = localChannelOf(ch);
    if (l !== undefined) out.push(l);
  }
  return out;
}

/** The finder for one step of a payment: a fresh snapshot of our channels and mission control. */
export function payRouteFinder(o: {
  graph: Graph;
  ourId: NodeKey;
  localChannels: readonly LocalChannel[];
  missionControl: MissionControl;
  now: number;
  split: SplitOptions;
}): RouteFinder {
  return makeRouteFinder({
    graph: o.graph,
    source: o.ourId,
    localChannels: o.localChannels,
    missionControl: o.missionControl,
    now: o.now,
    split: o.split,
  });
}

/** sendpay's hop shape: `delay` is the CLTV delta of the HTLC arriving at `id`. */
export function sendpayRoute(route: Route): RouteHop[] {
  return route.hops.map((h) => ({
    id: h.nodeId,
    channel: formatShortChannelId(h.scid),
    amount_msat: h.amountMsat,
    delay: h.delay,
  }));
}

/**
 * pay's `exclude` entries for preparePayment. A short channel id, with or without a direction, excludes
 * both directions: a payer never needs the other one, and excluding too much never loses money.
 */
export function payExclusions(exclude: readonly string[]): string[] {
  const out: string[] = [];
  for (const x of exclude) {
    const m = /^(\d+x\d+x\d+|\d+)(?:\/[01])?$/.exec(x.trim());
    if (m === null) out.push(x);
    else out.push(`${m[1]}/0`, `${m[1]}/1`);
  }
  return out;
}

/** How the switch's result for one part reads to the payment state machine. */
export function partFailureOf(
  r:
    | { readonly kind: 'cancelled' | 'bad_preimage' }
    | { readonly kind: 'malformed' }
    | { readonly kind: 'unattributable' }
    | { readonly kind: 'remote'; readonly hopIndex: number; readonly failure: Failure | null },
): PartFailure {
  switch (r.kind) {
    case 'cancelled':
      return { kind: 'local', message: 'the HTLC was dropped before it was committed' };
    case 'bad_preimage':
      return { kind: 'local', message: 'the preimage returned does not match the payment hash' };
    case 'malformed':
      // The first peer could not read the onion we built for it.
      return { kind: 'remote', hopIndex: 0, failure: null };
    case 'unattributable':
      return { kind: 'unattributable' };
    case 'remote':
      return { kind: 'remote', hopIndex: r.hopIndex, failure: r.failure };
  }
}
