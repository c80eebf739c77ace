// Pathfinding: Dijkstra backwards from the payee, as LND and Core Lightning do, because each hop's
// amount and CLTV depend on everything after it. Cost = fees + a time-value risk on locked funds +
// a caller-supplied penalty (mission control). Respects htlc min/max, capacity, our exact spendable
// on local channels, a total CLTV bound and exclusions. Pure: reads the graph, never changes it.
import { err, ok, type Result } from '../core/result.ts';
import type { Msat } from '../core/units.ts';
import {
  type CompiledEdge,
  compileEdge,
  type Edge,
  type Graph,
  type LocalChannel,
  localEdge,
  type NodeKey,
} from './graph.ts';
import { MinHeap } from './heap.ts';

/** The onion holds at most 20 hops comfortably (LND's limit; 1300 bytes / ~65 per TLV hop). */
export const MAX_ROUTE_HOPS = 20;
/** Core Lightning's default `maxdelay` (blocks of total CLTV a payment may lock up). */
export const DEFAULT_MAX_CLTV = 2016;
/** Core Lightning's default riskfactor: annual interest, in percent, on funds locked by a hop's delay. */
export const DEFAULT_RISK_FACTOR = 10;
const BLOCKS_PER_YEAR = 52_596;

/** `scid/direction`: how exclusions, usage and mission control name a channel direction. */
export function edgeId(scid: bigint, direction: 0 | 1): string {
  return `${scid}/${direction}`;
}

export interface RouteQuery {
  readonly source: NodeKey;
  readonly destination: NodeKey;
  /** What the payee must receive. */
  readonly amountMsat: Msat;
  /** The payee's min_final_cltv_expiry_delta. */
  readonly finalCltvDelta: number;
  /** Bound on the total CLTV delta of the route (Core Lightning's `maxdelay`). */
  readonly maxCltv?: number;
  readonly maxHops?: number;
  /** Upper bound on total fees; routes costing more are never returned. */
  readonly maxFeeMsat?: Msat;
  /** Channel directions (`edgeId`) not to use. */
  readonly excludeChannels?: ReadonlySet<string>;
  readonly excludeNodes?: ReadonlySet<NodeKey>;
  /** Route hints and other edges not in the graph. */
  readonly extraEdges?: readonly Edge[];
  /** When given, the only first hops: our channels with their exact spendable amounts. */
  readonly localChannels?: readonly LocalChannel[];
  /** Amounts already committed per channel direction by other parts of the same payment. */
  readonly usage?: ReadonlyMap<string, Msat>;
  /**
   * Per channel direction, an amount it failed to carry during this payment: the total over it (usage
   * plus this part) must stay below it. Learnt from temporary_channel_failure, so a smaller part may pass.
   */
  readonly liquidityBounds?: ReadonlyMap<string, Msat>;
  readonly riskFactor?: number;
  /** Extra cost in msat for `amountMsat` in flight over `edge` (this part plus usage); Infinity excludes it. */
  readonly penalty?: (edge: Edge, amountMsat: number) => number;
}

export type NoRouteReason =
  | { readonly kind: 'same_node'; readonly message: string }
  | { readonly kind: 'unknown_destination'; readonly message: string }
  /** `tooExpensive`: a route was there but cost more than maxFeeMsat (Core Lightning's 206). */
  | { readonly kind: 'no_route'; readonly message: string; readonly tooExpensive?: boolean };

/** Edges from source to destination, in order. */
export type Path = readonly Edge[];

/**
 * BOLT 7's fee, exact in doubles: the product is checked to be a safe integer, else bigint is used. A fee
 * too large to be exact as a double (over 2^53 msat, ~90,000 BTC) is Infinity: no route pays it.
 */
export function feeOf(c: Pick<CompiledEdge, 'base' | 'ppm'>, amount: number): number {
  const product = amount * c.ppm;
  let fee: number;
  if (product <= Number.MAX_SAFE_INTEGER) {
    let q = Math.floor(product / 1_000_000);
    if (q * 1_000_000 > product) q -= 1;
    fee = c.base + q;
  } else {
    const exact = BigInt(c.base) + (BigInt(amount) * BigInt(c.ppm)) / 1_000_000n;
    fee = exact > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(exact);
  }
  return fee > Number.MAX_SAFE_INTEGER ? Number.POSITIVE_INFINITY : fee;
}

/** The cheapest path for the query, or why there is none. */
export function findPath(graph: Graph, q: RouteQuery): Result<Path, NoRouteReason> {
  if (q.source === q.destination) return err({ kind: 'same_node', message: 'the destination is this node' });
  const maxCltv = q.maxCltv ?? DEFAULT_MAX_CLTV;
  const maxHops = q.maxHops ?? MAX_ROUTE_HOPS;
  const risk = (q.riskFactor ?? DEFAULT_RISK_FACTOR) / (BLOCKS_PER_YEAR * 100);
  if (q.finalCltvDelta > maxCltv) {
    return err({
      kind: 'no_route',
      message: `the payee's final CLTV delta ${q.finalCltvDelta} exceeds maxdelay ${maxCltv}`,
    });
  }
  // Beyond 2^53 msat (90,000 BTC) no channel could carry it anyway.
  if (q.amountMsat > BigInt(Number.MAX_SAFE_INTEGER)) {
    return err({ kind: 'no_route', message: `${q.amountMsat} msat is more than any channel can carry` });
  }

  // Overlay: nodes and incoming edges that are not in the graph (hints, our local channels).
  const extraIndex = new Map<NodeKey, number>();
  const extraKeys: NodeKey[] = [];
  const extraIncoming = new Map<number, CompiledEdge[]>();
  const indexOf = (k: NodeKey): number => {
    const i = graph.indexOf(k);
    if (i !== undefined) return i;
    let j = extraIndex.get(k);
    if (j === undefined) {
      j = graph.nodeCount + extraKeys.length;
      extraIndex.set(k, j);
      extraKeys.push(k);
    }
    return j;
  };
  const addExtra = (e: Edge): void => {
    const from = indexOf(e.from);
    const t = indexOf(e.to);
    const list = extraIncoming.get(t);
    const c = compileEdge(e, from);
    if (list === undefined) extraIncoming.set(t, [c]);
    else list.push(c);
  };
  for (const e of q.extraEdges ?? []) addExtra(e);
  const replaceLocal = q.localChannels !== undefined;
  for (const c of q.localChannels ?? []) addExtra(localEdge(q.source, c));

  const src = indexOf(q.source);
  const dst = graph.indexOf(q.destination) ?? extraIndex.get(q.destination);
  if (dst === undefined) {
    return err({ kind: 'unknown_destination', message: `no known channel reaches ${q.destination}` });
  }
  const n = graph.nodeCount + extraKeys.length;
  const excludedNode = new Uint8Array(n);
  for (const k of q.excludeNodes ?? []) {
    const i = graph.indexOf(k) ?? extraIndex.get(k);
    if (i !== undefined && i !== src) excludedNode[i] = 1;
  }
  const excludeChannels =
    q.excludeChannels !== undefined && q.excludeChannels.size > 0 ? q.excludeChannels : undefined;
  const usage = q.usage !== undefined && q.usage.size > 0 ? q.usage : undefined;
  const bounds =
    q.liquidityBounds !== undefined && q.liquidityBounds.size > 0 ? q.liquidityBounds : undefined;
  const penalty = q.penalty;
  const maxFee = q.maxFeeMsat === undefined ? Number.POSITIVE_INFINITY : Number(q.maxFeeMsat);
  const target = Number(q.amountMsat);

  const cost = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  const cltv = new Int32Array(n);
  const hops = new Int32Array(n);
  const done = new Uint8Array(n);
  const amount = new Float64Array(n);
  const next: (Edge | undefined)[] = new Array(n);

  cost[dst] = 0;
  cltv[dst] = q.finalCltvDelta;
  amount[dst] = target;
  const heap = new MinHeap();
  heap.push(0, dst);
  let rejectedForFee = false;
  const empty: readonly CompiledEdge[] = [];
  while (heap.size > 0) {
    const v = heap.pop();
    if (done[v] === 1) continue;
    done[v] = 1;
    if (v === src) break;
    if (hops[v]! >= maxHops) continue;
    const amt = amount[v]!;
    const costV = cost[v]!;
    const cltvV = cltv[v]!;
    const incoming = v < graph.nodeCount ? graph.incomingAt(v) : empty;
    const extra = extraIncoming.get(v) ?? empty;
    for (let pass = 0; pass < 2; pass++) {
      const list = pass === 0 ? incoming : extra;
      for (let k = 0; k < list.length; k++) {
        const c = list[k]!;
        const u = c.from;
        if (done[u] === 1 || excludedNode[u] === 1 || !c.enabled) continue;
        const fromSource = u === src;
        // Our own channels: when the caller gave them, use those (exact balances), not gossip.
        if (fromSource && replaceLocal && c.edge.source !== 'local') continue;
        if (amt < c.min || amt > c.max) continue;
        let total = amt;
        if (excludeChannels !== undefined || usage !== undefined || bounds !== undefined) {
          const id = edgeId(c.edge.scid, c.edge.direction);
          if (excludeChannels?.has(id)) continue;
          const used = usage?.get(id);
          if (used !== undefined) total += Number(used);
          const bound = bounds?.get(id);
          if (bound !== undefined && total >= Number(bound)) continue;
        }
        if (total > c.capacity || total > c.spendable) continue;
        // The source pays no fee to itself and adds no delta of its own.
        const fee = fromSource ? 0 : feeOf(c, amt);
        const delta = fromSource ? 0 : c.delta;
        const newCltv = cltvV + delta;
        if (newCltv > maxCltv) continue;
        const newAmount = amt + fee;
        if (newAmount - target > maxFee) {
          rejectedForFee = true;
          continue;
        }
        let extraCost = 0;
        if (penalty !== undefined) {
          extraCost = penalty(c.edge, total);
          if (extraCost === Number.POSITIVE_INFINITY) continue;
        }
        const newCost = costV + fee + amt * delta * risk + extraCost;
        if (newCost < cost[u]!) {
          cost[u] = newCost;
          cltv[u] = newCltv;
          amount[u] = newAmount;
          hops[u] = hops[v]! + 1;
          next[u] = c.edge;
          heap.push(newCost, u);
        }
      }
    }
  }
  if (done[src] !== 1) {
    const why = rejectedForFee ? ' within the fee limit' : '';
    return err({
      kind: 'no_route',
      message: `no route from ${q.source} to ${q.destination} for ${q.amountMsat} msat${why}`,
      ...(rejectedForFee ? { tooExpensive: true } : {}),
    });
  }
  const path: Edge[] = [];
  for (let at = src; at !== dst; ) {
    const e = next[at]!;
    path.push(e);
    at = indexOf(e.to);
    if (path.length > maxHops) throw new Error('pathfinding produced a loop');
  }
  return ok(path);
}
