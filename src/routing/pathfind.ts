// Pathfinding: Dijkstra backwards from the payee, as LND and Core Lightning do, because each hop's
// amount and CLTV depend on everything after it. Cost = fees + a time-value risk on locked funds +
// a caller-supplied penalty (mission control). Respects htlc min/max, capacity, our exact spendable
// on local channels, a total CLTV bound and exclusions. Pure: reads the graph, never changes it.
import { err, ok, type Result } from '../core/result.ts';
import { type Msat, msat } from '../core/units.ts';
import { type Edge, forwardFee, type Graph, type LocalChannel, localEdge, type NodeKey } from './graph.ts';
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
  readonly riskFactor?: number;
  /** Extra cost in msat for sending `amount` over `edge`; Infinity excludes it. */
  readonly penalty?: (edge: Edge, amount: Msat) => number;
}

export type NoRouteReason =
  | { readonly kind: 'same_node'; readonly message: string }
  | { readonly kind: 'unknown_destination'; readonly message: string }
  | { readonly kind: 'no_route'; readonly message: string };

/** Edges from source to destination, in order. */
export type Path = readonly Edge[];

function usable(e: Edge, amount: Msat, used: Msat): boolean {
  const p = e.policy;
  if (!p.enabled) return false;
  if (amount < p.htlcMinimumMsat) return false;
  if (p.htlcMaximumMsat !== undefined && amount > p.htlcMaximumMsat) return false;
  const total = amount + used;
  if (e.capacityMsat !== undefined && total > e.capacityMsat) return false;
  if (e.spendableMsat !== undefined && total > e.spendableMsat) return false;
  return true;
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

  // Overlay: nodes and incoming edges that are not in the graph (hints, our local channels).
  const extraIndex = new Map<NodeKey, number>();
  const extraKeys: NodeKey[] = [];
  const extraIncoming = new Map<number, Edge[]>();
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
    indexOf(e.from);
    const t = indexOf(e.to);
    const list = extraIncoming.get(t);
    if (list === undefined) extraIncoming.set(t, [e]);
    else list.push(e);
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
  const cost = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  const cltv = new Int32Array(n);
  const hops = new Int32Array(n);
  const done = new Uint8Array(n);
  const amount: bigint[] = new Array(n);
  const next: (Edge | undefined)[] = new Array(n);

  cost[dst] = 0;
  cltv[dst] = q.finalCltvDelta;
  amount[dst] = q.amountMsat;
  const heap = new MinHeap();
  heap.push(0, dst);
  let rejectedForFee = false;
  while (heap.size > 0) {
    const v = heap.pop();
    if (done[v] === 1) continue;
    done[v] = 1;
    if (v === src) break;
    if (hops[v]! >= maxHops) continue;
    const amt = amount[v] as Msat;
    const incoming = v < graph.nodeCount ? graph.incomingAt(v) : [];
    const extra = extraIncoming.get(v);
    for (let pass = 0; pass < 2; pass++) {
      const list = pass === 0 ? incoming : (extra ?? []);
      for (const e of list) {
        const fromSource = e.from === q.source;
        // Our own channels: when the caller gave them, use those (exact balances), not gossip.
        if (fromSource && replaceLocal && e.source !== 'local') continue;
        if (q.excludeNodes?.has(e.from) && !fromSource) continue;
        const id = edgeId(e.scid, e.direction);
        if (q.excludeChannels?.has(id)) continue;
        const used = q.usage?.get(id) ?? msat(0);
        if (!usable(e, amt, used)) continue;
        const u = indexOf(e.from);
        if (done[u] === 1) continue;
        // The source pays no fee to itself and adds no delta of its own.
        const fee = fromSource ? 0n : forwardFee(e.policy, amt);
        const delta = fromSource ? 0 : e.policy.cltvExpiryDelta;
        const newCltv = cltv[v]! + delta;
        if (newCltv > maxCltv) continue;
        const newAmount = amt + fee;
        if (q.maxFeeMsat !== undefined && newAmount - q.amountMsat > q.maxFeeMsat) {
          rejectedForFee = true;
          continue;
        }
        const extraCost = q.penalty?.(e, amt) ?? 0;
        if (extraCost === Number.POSITIVE_INFINITY) continue;
        const c = cost[v]! + Number(fee) + Number(amt) * delta * risk + extraCost;
        if (c < cost[u]!) {
          cost[u] = c;
          cltv[u] = newCltv;
          amount[u] = newAmount;
          hops[u] = hops[v]! + 1;
          next[u] = e;
          heap.push(c, u);
        }
      }
    }
  }
  if (done[src] !== 1) {
    const why = rejectedForFee ? ' within the fee limit' : '';
    return err({
      kind: 'no_route',
      message: `no route from ${q.source} to ${q.destination} for ${q.amountMsat} msat${why}`,
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
