// The channel graph pathfinding runs over: nodes, channels with one policy per direction, capacity.
// Nodes are keyed by lower-case hex node id (Map lookups on strings are cheap; the graph can hold
// the whole public network). Built and updated by the shell from gossip; read by pure pathfinding.
import { hex } from '../core/bytes.ts';
import { type Msat, msat } from '../core/units.ts';

/** Lower-case hex of a 33-byte compressed node id. */
export type NodeKey = string;

export function nodeKey(id: Uint8Array): NodeKey {
  return hex(id);
}

/** One direction's `channel_update` fields that matter to a payer. */
export interface ChannelPolicy {
  readonly feeBaseMsat: Msat;
  readonly feeProportionalMillionths: number;
  readonly cltvExpiryDelta: number;
  readonly htlcMinimumMsat: Msat;
  /** Undefined: no maximum announced (bounded by capacity). */
  readonly htlcMaximumMsat: Msat | undefined;
  readonly enabled: boolean;
}

/** A channel direction: `from` forwards to `to` under `policy`. */
export interface Edge {
  readonly scid: bigint;
  /** BOLT 7 direction bit: 0 when `from` is node_1 (the lower node id). */
  readonly direction: 0 | 1;
  readonly from: NodeKey;
  readonly to: NodeKey;
  readonly policy: ChannelPolicy;
  /** Channel capacity; undefined when unknown (route hints). */
  readonly capacityMsat: Msat | undefined;
  /** For our own channels: exactly what we can send now (balances minus reserve and in-flight). */
  readonly spendableMsat?: Msat;
  readonly source: 'gossip' | 'local' | 'hint';
}

/**
 * BOLT #7:
 * fee_base_msat + ( amount_to_forward * fee_proportional_millionths / 1000000 )
 */
export function forwardFee(
  policy: Pick<ChannelPolicy, 'feeBaseMsat' | 'feeProportionalMillionths'>,
  amount: Msat,
): Msat {
  return msat(policy.feeBaseMsat + (amount * BigInt(policy.feeProportionalMillionths)) / 1_000_000n);
}

export function directionOf(from: NodeKey, to: NodeKey): 0 | 1 {
  return from < to ? 0 : 1;
}

/**
 * An edge with its limits as plain numbers and its source node's index, so the pathfinding loop does
 * no bigint arithmetic or map lookups. Msat amounts stay below 2^53 (90,000 BTC) in any real channel.
 */
export interface CompiledEdge {
  readonly edge: Edge;
  readonly from: number;
  readonly base: number;
  readonly ppm: number;
  readonly delta: number;
  readonly min: number;
  /** Infinity when unbounded. */
  readonly max: number;
  readonly capacity: number;
  readonly spendable: number;
  readonly enabled: boolean;
}

const toNum = (v: bigint | undefined): number => (v === undefined ? Number.POSITIVE_INFINITY : Number(v));

export function compileEdge(edge: Edge, from: number): CompiledEdge {
  const p = edge.policy;
  return {
    edge,
    from,
    base: Number(p.feeBaseMsat),
    ppm: p.feeProportionalMillionths,
    delta: p.cltvExpiryDelta,
    min: Number(p.htlcMinimumMsat),
    max: toNum(p.htlcMaximumMsat),
    capacity: toNum(edge.capacityMsat),
    spendable: toNum(edge.spendableMsat),
    enabled: p.enabled,
  };
}

/** Mutable graph owned by the shell; pathfinding only reads it. */
export class Graph {
  readonly #index = new Map<NodeKey, number>();
  readonly #keys: NodeKey[] = [];
  /** Per node index, the edges arriving at it (pathfinding walks backwards from the payee). */
  readonly #incoming: CompiledEdge[][] = [];
  readonly #byScid = new Map<bigint, [Edge | undefined, Edge | undefined]>();

  get nodeCount(): number {
    return this.#keys.length;
  }

  get channelCount(): number {
    return this.#byScid.size;
  }

  indexOf(key: NodeKey): number | undefined {
    return this.#index.get(key);
  }

  keyAt(i: number): NodeKey {
    const k = this.#keys[i];
    if (k === undefined) throw new RangeError(`no node ${i}`);
    return k;
  }

  #intern(key: NodeKey): number {
    let i = this.#index.get(key);
    if (i === undefined) {
      i = this.#keys.length;
      this.#index.set(key, i);
      this.#keys.push(key);
      this.#incoming.push([]);
    }
    return i;
  }

  incomingAt(i: number): readonly CompiledEdge[] {
    return this.#incoming[i] ?? [];
  }

  edge(scid: bigint, direction: 0 | 1): Edge | undefined {
    return this.#byScid.get(scid)?.[direction];
  }

  /** Adds or replaces one direction of a channel (a newer channel_update replaces the older). */
  setEdge(e: Omit<Edge, 'direction' | 'source'> & { readonly source?: Edge['source'] }): Edge {
    if (e.from === e.to) throw new RangeError('a channel joins two different nodes');
    const edge: Edge = { ...e, direction: directionOf(e.from, e.to), source: e.source ?? 'gossip' };
    const fromIdx = this.#intern(edge.from);
    const toIdx = this.#intern(edge.to);
    const pair = this.#byScid.get(edge.scid) ?? [undefined, undefined];
    const old = pair[edge.direction];
    const list = this.#incoming[toIdx]!;
    const compiled = compileEdge(edge, fromIdx);
    const at = old === undefined ? -1 : list.findIndex((c) => c.edge === old);
    if (at >= 0) list[at] = compiled;
    else list.push(compiled);
    pair[edge.direction] = edge;
    this.#byScid.set(edge.scid, pair);
    return edge;
  }

  /** Forgets a channel (closed on chain, or pruned). */
  removeChannel(scid: bigint): void {
    const pair = this.#byScid.get(scid);
    if (pair === undefined) return;
    for (const e of pair) {
      if (e === undefined) continue;
      const list = this.#incoming[this.#index.get(e.to)!]!;
      const at = list.findIndex((c) => c.edge === e);
      if (at >= 0) list.splice(at, 1);
    }
    this.#byScid.delete(scid);
  }

  *edges(): Iterable<Edge> {
    for (const pair of this.#byScid.values()) {
      if (pair[0] !== undefined) yield pair[0];
      if (pair[1] !== undefined) yield pair[1];
    }
  }
}

/** Route hints from an invoice as edges: each hop's channel leads to the next hop's node, the last to the payee. */
export function hintEdges(
  payee: NodeKey,
  hints: readonly (readonly {
    readonly pubkey: Uint8Array;
    readonly shortChannelId: bigint;
    readonly feeBaseMsat: Msat;
    readonly feeProportionalMillionths: number;
    readonly cltvExpiryDelta: number;
  }[])[],
): Edge[] {
  const out: Edge[] = [];
  for (const route of hints) {
    route.forEach((h, i) => {
      const from = nodeKey(h.pubkey);
      const to = i + 1 < route.length ? nodeKey(route[i + 1]!.pubkey) : payee;
      if (from === to) return;
      out.push({
        scid: h.shortChannelId,
        direction: directionOf(from, to),
        from,
        to,
        policy: {
          feeBaseMsat: h.feeBaseMsat,
          feeProportionalMillionths: h.feeProportionalMillionths,
          cltvExpiryDelta: h.cltvExpiryDelta,
          htlcMinimumMsat: msat(0),
          htlcMaximumMsat: undefined,
          enabled: true,
        },
        capacityMsat: undefined,
        source: 'hint',
      });
    });
  }
  return out;
}

/** What the node knows about one of its own channels, for the first hop of a route. */
export interface LocalChannel {
  readonly scid: bigint;
  readonly peer: NodeKey;
  readonly spendableMsat: Msat;
  /** The peer's htlc_minimum_msat for HTLCs we offer. */
  readonly htlcMinimumMsat: Msat;
  /** Largest single HTLC we may offer (max_htlc_value_in_flight and the like). */
  readonly htlcMaximumMsat?: Msat;
  readonly capacityMsat: Msat;
  readonly usable: boolean;
}

export function localEdge(self: NodeKey, c: LocalChannel): Edge {
  return {
    scid: c.scid,
    direction: directionOf(self, c.peer),
    from: self,
    to: c.peer,
    policy: {
      // We do not charge ourselves a fee; the delta is the payee's/next hop's business.
      feeBaseMsat: msat(0),
      feeProportionalMillionths: 0,
      cltvExpiryDelta: 0,
      htlcMinimumMsat: c.htlcMinimumMsat,
      htlcMaximumMsat: c.htlcMaximumMsat,
      enabled: c.usable,
    },
    capacityMsat: c.capacityMsat,
    spendableMsat: c.spendableMsat,
    source: 'local',
  };
}
