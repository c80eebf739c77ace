// Mission control: what past attempts taught us about channel directions and nodes. A failure at an
// amount makes that amount or more unlikely to pass for a while; the memory fades with a half-life, so
// a channel that failed an hour ago is tried again. Pure: every call takes `now` (ms) and returns a new
// state. Pathfinding reads it through `missionControlPenalty`.
import type { Msat } from '../core/units.ts';
import { decodeRecord, encodeRecord } from '../store/store.ts';
import type { Edge, NodeKey } from './graph.ts';
import { edgeId } from './pathfind.ts';

export interface MissionControlConfig {
  /** How long until a failure counts half as much (LND's default penalty half-life is one hour). */
  readonly halfLifeMs: number;
  /** Probability we assume for a channel we know nothing about. */
  readonly aprioriProbability: number;
  /** Below this probability a channel direction is not tried at all. */
  readonly minProbability: number;
  /** What one failed attempt costs us, in msat, traded against fees (LND's attempt cost). */
  readonly attemptCostMsat: number;
  readonly attemptCostPpm: number;
}

export const DEFAULT_MISSION_CONTROL: MissionControlConfig = {
  halfLifeMs: 60 * 60 * 1000,
  aprioriProbability: 0.6,
  minProbability: 0.01,
  attemptCostMsat: 100_000,
  attemptCostPpm: 1_000,
};

export interface ChannelHistory {
  /** Smallest amount that failed, and when. */
  readonly failAmountMsat?: Msat;
  readonly failTime?: number;
  /** Largest amount that went through, and when. */
  readonly successAmountMsat?: Msat;
  readonly successTime?: number;
}

export interface MissionControl {
  readonly channels: ReadonlyMap<string, ChannelHistory>;
  /** When each node last failed as a node (NODE flag failures). */
  readonly nodes: ReadonlyMap<NodeKey, number>;
}

export const emptyMissionControl: MissionControl = { channels: new Map(), nodes: new Map() };

export function recordChannelFailure(
  mc: MissionControl,
  scid: bigint,
  direction: 0 | 1,
  amountMsat: Msat,
  now: number,
): MissionControl {
  const id = edgeId(scid, direction);
  const h = mc.channels.get(id) ?? {};
  // A newer failure at a larger amount still teaches that the smaller one failed recently; keep the min.
  const recent = h.failTime !== undefined && h.failAmountMsat !== undefined;
  const failAmountMsat = recent && h.failAmountMsat! < amountMsat ? h.failAmountMsat! : amountMsat;
  const next: ChannelHistory = { ...h, failAmountMsat, failTime: now };
  // A success above the failing amount is now stale knowledge.
  const cleaned: ChannelHistory =
    next.successAmountMsat !== undefined && next.successAmountMsat >= failAmountMsat
      ? { failAmountMsat, failTime: now }
      : next;
  const channels = new Map(mc.channels);
  channels.set(id, cleaned);
  return { ...mc, channels };
}

export function recordChannelSuccess(
  mc: MissionControl,
  scid: bigint,
  direction: 0 | 1,
  amountMsat: Msat,
  now: number,
): MissionControl {
  const id = edgeId(scid, direction);
  const h = mc.channels.get(id) ?? {};
  const successAmountMsat =
    h.successAmountMsat !== undefined && h.successAmountMsat > amountMsat ? h.successAmountMsat : amountMsat;
  let next: ChannelHistory = { ...h, successAmountMsat, successTime: now };
  // It carried this much just now, so a failure at or below this amount is outdated.
  if (next.failAmountMsat !== undefined && next.failAmountMsat <= amountMsat) {
    next = { successAmountMsat, successTime: now };
  }
  const channels = new Map(mc.channels);
  channels.set(id, next);
  return { ...mc, channels };
}

export function recordNodeFailure(mc: MissionControl, node: NodeKey, now: number): MissionControl {
  const nodes = new Map(mc.nodes);
  nodes.set(node, now);
  return { ...mc, nodes };
}

/** 0 just after `then`, approaching 1 as half-lives pass. */
function recovery(then: number, now: number, halfLifeMs: number): number {
  const age = Math.max(0, now - then);
  return 1 - 2 ** (-age / halfLifeMs);
}

/** Estimated chance that `amount` passes over `edge` now. */
export function successProbability(
  mc: MissionControl,
  edge: Pick<Edge, 'scid' | 'direction' | 'from'>,
  amount: Msat | number,
  now: number,
  cfg: MissionControlConfig = DEFAULT_MISSION_CONTROL,
): number {
  const amountMsat = Number(amount);
  let p = cfg.aprioriProbability;
  const h = mc.channels.get(edgeId(edge.scid, edge.direction));
  if (h !== undefined) {
    if (
      h.successAmountMsat !== undefined &&
      h.successTime !== undefined &&
      amountMsat <= h.successAmountMsat
    ) {
      // Known to have carried this much: more likely than apriori, fading back to it.
      const r = recovery(h.successTime, now, cfg.halfLifeMs);
      p = 0.95 * (1 - r) + cfg.aprioriProbability * r;
    }
    if (
      h.failAmountMsat !== undefined &&
      h.failTime !== undefined &&
      amountMsat >= Number(h.failAmountMsat)
    ) {
      p = cfg.aprioriProbability * recovery(h.failTime, now, cfg.halfLifeMs);
    }
  }
  const nodeFail = mc.nodes.get(edge.from);
  if (nodeFail !== undefined) p *= recovery(nodeFail, now, cfg.halfLifeMs);
  return p;
}

/** The penalty pathfinding adds per edge: the expected cost of failed attempts, Infinity when hopeless. */
export function missionControlPenalty(
  mc: MissionControl,
  now: number,
  cfg: MissionControlConfig = DEFAULT_MISSION_CONTROL,
): (edge: Edge, amountMsat: number) => number {
  return (edge, amountMsat) => {
    // Our own channels' balances are known exactly; their failures are handled by the payment itself.
    if (edge.source === 'local') return 0;
    const p = successProbability(mc, edge, amountMsat, now, cfg);
    if (p < cfg.minProbability) return Number.POSITIVE_INFINITY;
    const attempt = cfg.attemptCostMsat + (amountMsat * cfg.attemptCostPpm) / 1e6;
    return attempt * (1 / p - 1);
  };
}

/** Drops what has decayed to nothing (older than ten half-lives), so the state stays small. */
export function pruneMissionControl(
  mc: MissionControl,
  now: number,
  cfg: MissionControlConfig = DEFAULT_MISSION_CONTROL,
): MissionControl {
  const horizon = now - 10 * cfg.halfLifeMs;
  const channels = new Map<string, ChannelHistory>();
  for (const [k, h] of mc.channels) {
    const last = Math.max(h.failTime ?? 0, h.successTime ?? 0);
    if (last >= horizon) channels.set(k, h);
  }
  const nodes = new Map([...mc.nodes].filter(([, t]) => t >= horizon));
  return { channels, nodes };
}

/** For the store: mission control is worth keeping across restarts (its memory lasts hours). */
export function encodeMissionControl(mc: MissionControl): Uint8Array {
  return encodeRecord(1, { channels: [...mc.channels], nodes: [...mc.nodes] });
}

export function decodeMissionControl(b: Uint8Array): MissionControl {
  const r = decodeRecord<{ channels: [string, ChannelHistory][]; nodes: [NodeKey, number][] }>(b);
  if (r.v !== 1) throw new Error(`unknown mission control record version ${r.v}`);
  return { channels: new Map(r.channels), nodes: new Map(r.nodes) };
}
