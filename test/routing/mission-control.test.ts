import assert from 'node:assert/strict';
import { test } from 'node:test';
import { msat } from '../../src/core/units.ts';
import {
  DEFAULT_MISSION_CONTROL,
  decodeMissionControl,
  emptyMissionControl,
  encodeMissionControl,
  missionControlPenalty,
  pruneMissionControl,
  recordChannelFailure,
  recordChannelSuccess,
  recordNodeFailure,
  successProbability,
} from '../../src/routing/mission-control.ts';
import { findPath } from '../../src/routing/pathfind.ts';
import { diamond, key } from './helpers.ts';

const HOUR = 3_600_000;
const edge4 = { scid: 4n, direction: 0 as const, from: key('C') };

test('a fresh failure excludes the channel direction at that amount or more, not less', () => {
  const mc = recordChannelFailure(emptyMissionControl, 4n, 0, msat(50_000_000), 1_000);
  assert.ok(successProbability(mc, edge4, msat(60_000_000), 1_000) < DEFAULT_MISSION_CONTROL.minProbability);
  assert.equal(
    successProbability(mc, edge4, msat(40_000_000), 1_000),
    DEFAULT_MISSION_CONTROL.aprioriProbability,
  );
  const g = diamond();
  const q = {
    source: key('A'),
    destination: key('D'),
    amountMsat: msat(100_000_000),
    finalCltvDelta: 18,
  };
  const r = findPath(g, { ...q, penalty: missionControlPenalty(mc, 2_000) });
  assert.ok(r.ok);
  assert.deepEqual(
    r.value.map((e) => e.scid),
    [1n, 2n],
  );
  // After many half-lives the channel is cheap enough again.
  const later = findPath(g, { ...q, penalty: missionControlPenalty(mc, 1_000 + 20 * HOUR) });
  assert.ok(later.ok);
  assert.deepEqual(
    later.value.map((e) => e.scid),
    [3n, 4n],
  );
});

test('failure memory decays with the half-life', () => {
  const mc = recordChannelFailure(emptyMissionControl, 4n, 0, msat(1), 0);
  const p = (t: number) => successProbability(mc, edge4, msat(10), t);
  assert.equal(p(0), 0);
  assert.ok(Math.abs(p(HOUR) - 0.6 * 0.5) < 1e-9);
  assert.ok(Math.abs(p(2 * HOUR) - 0.6 * 0.75) < 1e-9);
  assert.ok(p(3 * HOUR) > p(2 * HOUR));
});

test('a success raises the estimate and clears an older failure at or below its amount', () => {
  let mc = recordChannelFailure(emptyMissionControl, 4n, 0, msat(1000), 0);
  mc = recordChannelSuccess(mc, 4n, 0, msat(5000), 10);
  assert.ok(successProbability(mc, edge4, msat(4000), 10) > 0.9);
  assert.equal(mc.channels.get('4/0')?.failAmountMsat, undefined);
  // A failure below the success amount keeps the smaller failing amount.
  mc = recordChannelFailure(mc, 4n, 0, msat(3000), 20);
  assert.equal(mc.channels.get('4/0')?.failAmountMsat, 3000n);
  assert.equal(mc.channels.get('4/0')?.successAmountMsat, undefined);
});

test('node failures penalise every channel out of the node; pruning forgets old history', () => {
  const mc = recordNodeFailure(emptyMissionControl, key('C'), 0);
  assert.equal(successProbability(mc, edge4, msat(1), 0), 0);
  assert.equal(successProbability(mc, { scid: 1n, direction: 0, from: key('A') }, msat(1), 0), 0.6);
  const pruned = pruneMissionControl(recordChannelFailure(mc, 4n, 0, msat(1), 0), 11 * HOUR);
  assert.equal(pruned.channels.size, 0);
  assert.equal(pruned.nodes.size, 0);
  const kept = pruneMissionControl(recordChannelFailure(mc, 4n, 0, msat(1), 0), 9 * HOUR);
  assert.equal(kept.channels.size, 1);
});

test('local channels carry no mission-control penalty', () => {
  const mc = recordChannelFailure(emptyMissionControl, 4n, 0, msat(1), 0);
  const pen = missionControlPenalty(mc, 0);
  const g = diamond();
  const e = g.edge(4n, 0)!;
  assert.equal(pen(e, 10), Number.POSITIVE_INFINITY);
  assert.equal(pen({ ...e, source: 'local' }, 10), 0);
});

test('mission control round-trips through its store record', () => {
  let mc = recordChannelFailure(emptyMissionControl, 4n, 0, msat(123), 5);
  mc = recordChannelSuccess(mc, 7n, 1, msat(456), 6);
  mc = recordNodeFailure(mc, key('C'), 7);
  const back = decodeMissionControl(encodeMissionControl(mc));
  assert.deepEqual(back, mc);
  assert.equal(back.channels.get('4/0')?.failAmountMsat, 123n);
});
