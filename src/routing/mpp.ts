// A basic multi-part splitter: one route for the whole amount when there is one; otherwise halve the
// part size until parts fit, reserving each part's amounts on its channels so later parts look
// elsewhere. Fee budget is shared pro rata.
import { err, ok, type Result } from '../core/result.ts';
import { type Msat, msat } from '../core/units.ts';
import type { Graph } from './graph.ts';
import { edgeId, findPath, type NoRouteReason, type RouteQuery } from './pathfind.ts';
import { buildRoute, type Route } from './route.ts';

export interface SplitOptions {
  readonly maxParts?: number;
  /** No part smaller than this (LND's default minimum shard is 10,000 sat). */
  readonly minPartMsat?: Msat;
}

export const DEFAULT_MAX_PARTS = 16;
export const DEFAULT_MIN_PART_MSAT = msat(10_000_000);

/** Adds a route's per-channel amounts to a usage map (copy returned). */
export function addUsage(usage: ReadonlyMap<string, Msat>, route: Route): Map<string, Msat> {
  const out = new Map(usage);
  for (const h of route.hops) {
    const id = edgeId(h.scid, h.direction);
    out.set(id, msat((out.get(id) ?? 0n) + h.amountMsat));
  }
  return out;
}

function routeFor(
  graph: Graph,
  q: RouteQuery,
  amount: Msat,
  usage: ReadonlyMap<string, Msat>,
): Route | undefined {
  const maxFeeMsat = q.maxFeeMsat === undefined ? undefined : msat((q.maxFeeMsat * amount) / q.amountMsat);
  const r = findPath(graph, {
    ...q,
    amountMsat: amount,
    usage,
    ...(maxFeeMsat !== undefined ? { maxFeeMsat } : {}),
  });
  return r.ok ? buildRoute(r.value, amount, q.finalCltvDelta) : undefined;
}

/** Routes whose amounts add up to `q.amountMsat`, or why none could be found. */
export function splitPayment(
  graph: Graph,
  q: RouteQuery,
  opts: SplitOptions = {},
): Result<Route[], NoRouteReason> {
  const maxParts = opts.maxParts ?? DEFAULT_MAX_PARTS;
  const minPart = opts.minPartMsat ?? DEFAULT_MIN_PART_MSAT;
  const whole = findPath(graph, q);
  if (whole.ok) return ok([buildRoute(whole.value, q.amountMsat, q.finalCltvDelta)]);
  if (whole.error.kind !== 'no_route' || maxParts <= 1) return whole;
  // When the whole amount had a route that cost too much, say that if splitting does not help either.
  const wholeError = whole.error;
  const fail = (message: string): Result<Route[], NoRouteReason> =>
    err(wholeError.tooExpensive === true ? wholeError : { kind: 'no_route', message });
  const routes: Route[] = [];
  let usage: ReadonlyMap<string, Msat> = q.usage ?? new Map();
  let remaining = q.amountMsat;
  let part = q.amountMsat / 2n;
  while (remaining > 0n) {
    if (routes.length >= maxParts) {
      return fail(`${q.amountMsat} msat does not fit in ${maxParts} parts`);
    }
    const amount = msat(part < remaining ? part : remaining);
    // The last part may be small; any other part must be at least minPart.
    if (amount < minPart && amount < remaining) {
      return fail(`not enough liquidity for ${q.amountMsat} msat (${remaining} msat left unrouted)`);
    }
    const r = routeFor(graph, q, amount, usage);
    if (r !== undefined) {
      routes.push(r);
      usage = addUsage(usage, r);
      remaining = msat(remaining - amount);
      continue;
    }
    if (amount <= minPart || part <= 1n) {
      return fail(`not enough liquidity for ${q.amountMsat} msat (${remaining} msat left unrouted)`);
    }
    part = part / 2n;
  }
  return ok(routes);
}
