// Binds pathfinding to one payment round: our node, our channels' exact balances, mission control
// and the invoice's route hints. Pure over the snapshot it is given.
import type { Result } from '../core/result.ts';
import type { Graph, LocalChannel, NodeKey } from './graph.ts';
import { hintEdges } from './graph.ts';
import {
  DEFAULT_MISSION_CONTROL,
  type MissionControl,
  type MissionControlConfig,
  missionControlPenalty,
} from './mission-control.ts';
import { type SplitOptions, splitPayment } from './mpp.ts';
import type { RouteFinder, RouteFinderError, RouteRequest } from './payment.ts';
import type { Route } from './route.ts';

export interface RouteFinderContext {
  readonly graph: Graph;
  readonly source: NodeKey;
  /** Our channels; when absent, gossip edges from us are used (tools, benchmarks). */
  readonly localChannels?: readonly LocalChannel[];
  readonly missionControl?: MissionControl;
  readonly missionControlConfig?: MissionControlConfig;
  /** ms, for mission control's decay. */
  readonly now: number;
  readonly split?: SplitOptions;
}

export function makeRouteFinder(ctx: RouteFinderContext): RouteFinder {
  return (req: RouteRequest): Result<readonly Route[], RouteFinderError> => {
    const r = splitPayment(
      ctx.graph,
      {
        source: ctx.source,
        destination: req.destination,
        amountMsat: req.amountMsat,
        finalCltvDelta: req.finalCltvDelta,
        maxFeeMsat: req.maxFeeMsat,
        ...(req.maxCltv !== undefined ? { maxCltv: req.maxCltv } : {}),
        excludeChannels: req.excludeChannels,
        excludeNodes: req.excludeNodes,
        extraEdges: hintEdges(req.destination, req.routeHints),
        ...(ctx.localChannels !== undefined ? { localChannels: ctx.localChannels } : {}),
        usage: req.usage,
        liquidityBounds: req.liquidityBounds,
        ...(ctx.missionControl !== undefined
          ? {
              penalty: missionControlPenalty(
                ctx.missionControl,
                ctx.now,
                ctx.missionControlConfig ?? DEFAULT_MISSION_CONTROL,
              ),
            }
          : {}),
      },
      ctx.split,
    );
    if (r.ok) return r;
    const tooExpensive = r.error.kind === 'no_route' && r.error.tooExpensive === true;
    return { ok: false, error: { message: r.error.message, ...(tooExpensive ? { tooExpensive } : {}) } };
  };
}
