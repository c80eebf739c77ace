// Core Lightning's `getroute id amount_msat riskfactor [cltv] [fromid] [fuzzpercent] [exclude] [maxhops]`
// as a pure function over the graph; the RPC layer maps its errors to codes (205: no route).
import { err, ok, type Result } from '../core/result.ts';
import type { Msat } from '../core/units.ts';
import type { Graph, LocalChannel, NodeKey } from './graph.ts';
import { edgeId, findPath, MAX_ROUTE_HOPS } from './pathfind.ts';
import { buildRoute, routeToJson } from './route.ts';

export interface GetRouteParams {
  readonly id: NodeKey;
  readonly amountMsat: Msat;
  readonly riskfactor: number;
  /** Final CLTV delta (Core Lightning's default is 9; BOLT 11's default 18 is safer). */
  readonly cltv?: number;
  readonly fromid: NodeKey;
  /** Channel directions `BLOCKxTXxOUT/dir` or node ids. */
  readonly exclude?: readonly string[];
  readonly maxhops?: number;
  /** Our channels, when routing from our own node. */
  readonly localChannels?: readonly LocalChannel[];
}

export function getRoute(
  graph: Graph,
  p: GetRouteParams,
): Result<{ route: ReturnType<typeof routeToJson> }, { code: 205 | -32602; message: string }> {
  if (!(p.riskfactor >= 0)) return err({ code: -32602, message: 'riskfactor must not be negative' });
  const excludeChannels = new Set<string>();
  const excludeNodes = new Set<NodeKey>();
  for (const x of p.exclude ?? []) {
    if (/^(02|03)[0-9a-f]{64}$/i.test(x)) {
      excludeNodes.add(x.toLowerCase());
      continue;
    }
    const m = /^(\d+)x(\d+)x(\d+)\/([01])$/.exec(x);
    if (m === null)
      return err({
        code: -32602,
        message: `exclude: '${x}' is neither a node id nor a short_channel_id/direction`,
      });
    excludeChannels.add(
      edgeId((BigInt(m[1]!) << 40n) | (BigInt(m[2]!) << 16n) | BigInt(m[3]!), Number(m[4]) as 0 | 1),
    );
  }
  const cltv = p.cltv ?? 18;
  const r = findPath(graph, {
    source: p.fromid,
    destination: p.id,
    amountMsat: p.amountMsat,
    finalCltvDelta: cltv,
    riskFactor: p.riskfactor,
    maxHops: p.maxhops ?? MAX_ROUTE_HOPS,
    excludeChannels,
    excludeNodes,
    ...(p.localChannels !== undefined ? { localChannels: p.localChannels } : {}),
  });
  if (!r.ok) return err({ code: 205, message: `Could not find a route: ${r.error.message}` });
  return ok({ route: routeToJson(buildRoute(r.value, p.amountMsat, cltv)) });
}
