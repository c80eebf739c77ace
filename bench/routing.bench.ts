// Routing benchmark on the real mainnet graph snapshot (../shared/data/graph, 2024-09-22): load time,
// graph size, and pathfinding time per query (median / p99) over a few hundred random node pairs,
// for two amounts. Pairs are drawn with a fixed-seed generator so runs compare.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { type Msat, msat } from '../src/core/units.ts';
import { graphFromPolicyCsv } from '../src/routing/graph-csv.ts';
import { findPath } from '../src/routing/pathfind.ts';
import { buildRoute } from '../src/routing/route.ts';
import { repoRoot, sharedRoot } from '../src/testing/spec.ts';

const QUERIES = 300;
const SEED = 0x5eed;

/** mulberry32: a small seeded generator, for reproducible pairs. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

interface Figure {
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  readonly bound: string;
  readonly pass: boolean | null;
}
const figures: Figure[] = [];
function report(f: Figure): void {
  figures.push(f);
  const v = f.value >= 100 ? f.value.toFixed(0) : f.value.toFixed(2);
  const verdict = f.pass === null ? '' : f.pass ? '  ok' : '  ABOVE BOUND';
  console.log(`${f.metric.padEnd(48)} ${v.padStart(10)} ${f.unit.padEnd(6)} ${f.bound}${verdict}`);
}

const dir = join(sharedRoot, 'data', 'graph');
const t0 = performance.now();
const csv = gunzipSync(readFileSync(join(dir, 'mainnet-2024-09-22-channel-policies.csv.gz'))).toString(
  'utf8',
);
const { graph, directions, unusable } = graphFromPolicyCsv(csv);
const loadMs = performance.now() - t0;
console.log(
  `node ${process.version}; graph: ${graph.nodeCount} nodes, ${graph.channelCount} channels, ${directions - unusable} usable directions of ${directions}`,
);
report({
  metric: 'load + parse snapshot',
  value: loadMs,
  unit: 'ms',
  bound: 'no bound (startup cost)',
  pass: null,
});
report({
  metric: 'nodes with a usable channel',
  value: graph.nodeCount,
  unit: 'nodes',
  bound: 'snapshot: 18,212 nodes listed',
  pass: null,
});
report({
  metric: 'usable channel directions',
  value: directions - unusable,
  unit: 'dirs',
  bound: 'SOURCE.md: 74,956',
  pass: directions - unusable === 74_956,
});

const rand = rng(SEED);
const pairs: [string, string][] = [];
while (pairs.length < QUERIES) {
  const a = graph.keyAt(Math.floor(rand() * graph.nodeCount));
  const b = graph.keyAt(Math.floor(rand() * graph.nodeCount));
  if (a !== b) pairs.push([a, b]);
}

// Warm up the JIT.
for (const [a, b] of pairs.slice(0, 20))
  findPath(graph, { source: a, destination: b, amountMsat: msat(1_000_000), finalCltvDelta: 18 });

for (const [label, amount] of [
  ['10k sat', msat(10_000_000)],
  ['1M sat', msat(1_000_000_000)],
] as [string, Msat][]) {
  const times: number[] = [];
  let found = 0;
  let hops = 0;
  for (const [a, b] of pairs) {
    const s = performance.now();
    const r = findPath(graph, { source: a, destination: b, amountMsat: amount, finalCltvDelta: 18 });
    times.push(performance.now() - s);
    if (r.ok) {
      found++;
      hops += buildRoute(r.value, amount, 18).hops.length;
    }
  }
  const med = quantile(times, 0.5);
  const p99 = quantile(times, 0.99);
  report({
    metric: `findPath ${label}: median per query`,
    value: med,
    unit: 'ms',
    bound: 'bound 50 ms',
    pass: med <= 50,
  });
  report({
    metric: `findPath ${label}: p99 per query`,
    value: p99,
    unit: 'ms',
    bound: 'bound 250 ms',
    pass: p99 <= 250,
  });
  report({
    metric: `findPath ${label}: routes found`,
    value: (100 * found) / pairs.length,
    unit: '%',
    bound: `of ${pairs.length} random pairs (many nodes are leaves with little capacity)`,
    pass: null,
  });
  report({
    metric: `findPath ${label}: mean hops of found routes`,
    value: found > 0 ? hops / found : 0,
    unit: 'hops',
    bound: 'no bound',
    pass: null,
  });
}

const out = join(repoRoot, 'bench', 'results');
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, 'routing.json'),
  `${JSON.stringify({ bench: 'routing', node: process.version, queries: QUERIES, seed: SEED, nodes: graph.nodeCount, channels: graph.channelCount, figures }, null, 2)}\n`,
);
console.log('wrote bench/results/routing.json');
