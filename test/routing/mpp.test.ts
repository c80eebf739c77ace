import assert from 'node:assert/strict';
import { test } from 'node:test';
import { msat } from '../../src/core/units.ts';
import { Graph, type LocalChannel } from '../../src/routing/graph.ts';
import { splitPayment } from '../../src/routing/mpp.ts';
import { channel, key } from './helpers.ts';

// A has two channels (to B and C), both lead to D; neither alone can carry 150k sat.
function twoWays(): { g: Graph; locals: LocalChannel[] } {
  const g = new Graph();
  channel(g, 1, 'A', 'B', 100_000);
  channel(g, 2, 'B', 'D', 100_000);
  channel(g, 3, 'A', 'C', 100_000);
  channel(g, 4, 'C', 'D', 100_000);
  const locals: LocalChannel[] = [
    {
      scid: 1n,
      peer: key('B'),
      spendableMsat: msat(90_000_000),
      htlcMinimumMsat: msat(1),
      capacityMsat: msat(100_000_000),
      usable: true,
    },
    {
      scid: 3n,
      peer: key('C'),
      spendableMsat: msat(90_000_000),
      htlcMinimumMsat: msat(1),
      capacityMsat: msat(100_000_000),
      usable: true,
    },
  ];
  return { g, locals };
}

const q = (amount: number, locals: LocalChannel[]) => ({
  source: key('A'),
  destination: key('D'),
  amountMsat: msat(amount),
  finalCltvDelta: 18,
  localChannels: locals,
});

test('one route when one suffices', () => {
  const { g, locals } = twoWays();
  const r = splitPayment(g, q(50_000_000, locals));
  assert.ok(r.ok);
  assert.equal(r.value.length, 1);
});

test('splits over both channels when neither alone has the liquidity; parts add up', () => {
  const { g, locals } = twoWays();
  const r = splitPayment(g, q(150_000_000, locals));
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  assert.ok(r.value.length >= 2);
  const total = r.value.reduce((s, x) => s + x.amountMsat, 0n);
  assert.equal(total, 150_000_000n);
  // Per first hop, never more than its spendable.
  const perFirst = new Map<bigint, bigint>();
  for (const route of r.value) {
    const h = route.hops[0]!;
    perFirst.set(h.scid, (perFirst.get(h.scid) ?? 0n) + h.amountMsat);
  }
  for (const [, v] of perFirst) assert.ok(v <= 90_000_000n);
  assert.equal(perFirst.size, 2);
});

test('fails with a reason when total liquidity is short, or parts are capped', () => {
  const { g, locals } = twoWays();
  const r = splitPayment(g, q(185_000_000, locals));
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.error.message : '', /liquidity/);
  const one = splitPayment(g, q(150_000_000, locals), { maxParts: 1 });
  assert.equal(one.ok, false);
});
