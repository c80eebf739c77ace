// Loads the real mainnet snapshot (../shared/data/graph) and finds a route between two well-connected nodes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { msat } from '../../src/core/units.ts';
import { graphFromPolicyCsv } from '../../src/routing/graph-csv.ts';
import { findPath } from '../../src/routing/pathfind.ts';
import { buildRoute } from '../../src/routing/route.ts';
import { sharedRoot } from '../../src/testing/spec.ts';

test('mainnet 2024-09-22 snapshot: loads and routes 100k sat between two big nodes', () => {
  const dir = join(sharedRoot, 'data', 'graph');
  const csv = gunzipSync(readFileSync(join(dir, 'mainnet-2024-09-22-channel-policies.csv.gz'))).toString(
    'utf8',
  );
  const { graph, directions, unusable } = graphFromPolicyCsv(csv);
  // SOURCE.md: 118,856 directions, 74,956 usable.
  assert.equal(directions, 118_856);
  assert.equal(directions - unusable, 74_956);
  const acinq = '03864ef025fde8fb587d989186ce6a4a186895ee44a926bfc370e2c366597a3f8f';
  const oneMl = '0217890e3aad8d35bc054f43acc00084b25229ecff0ab68debd82883ad65ee8266';
  const r = findPath(graph, {
    source: oneMl,
    destination: acinq,
    amountMsat: msat(100_000_000),
    finalCltvDelta: 18,
  });
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  const route = buildRoute(r.value, msat(100_000_000), 18);
  assert.equal(route.hops.at(-1)!.nodeId, acinq);
  assert.ok(route.totalDelay <= 2016);
});
