// fast-check over the in-memory N-node harness (N = 3..5, channels along a line): random payments (some
// to hashes nobody knows), link drops, node crashes and clean restarts from their stores, blocks shown
// to each node at its own moment, clock moves and partial event-loop progress in between. After
// quiescence: every HTLC resolved, both sides of every channel agree on both commitments, every
// commitment adds up to the capacity, no commitment number went back, no payment part pending, every
// invoice is paid exactly when its payer saw the payment complete, and each node's balance moved by
// exactly what it paid, received and earned forwarding (value is conserved to the msat).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { commitmentsOf } from '../../src/bolt02-channel/index.ts';
import type { Msat, Sat } from '../../src/core/units.ts';
import { sha256 } from '../../src/crypto/index.ts';
import {
  checkQuiescent,
  createInvoice,
  explicitRoute,
  invoicePaid,
  routeHints,
  totalBalance,
  type Watermarks,
} from '../../src/testing/network-checks.ts';
import { type NetNode, Network } from '../../src/testing/network-harness.ts';

const RUNS = Number(process.env.NET_RUNS ?? 5);
const STEPS = Number(process.env.NET_STEPS ?? 32);
// CI runs one fixed fast-check seed (reproducible) plus the fixed regressions below; NET_SEED=random
// explores.
const SEED = process.env.NET_SEED === 'random' ? undefined : Number(process.env.NET_SEED ?? 20261125);

type Op =
  | { op: 'pay'; from: number; to: number; amount: number; unknown: boolean }
  | { op: 'drop'; link: number }
  | { op: 'restart'; who: number; crash: boolean }
  | { op: 'mine'; n: number }
  | { op: 'block'; who: number }
  | { op: 'clock'; ms: number }
  | { op: 'turns'; n: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant('pay' as const),
      from: fc.nat(),
      to: fc.nat(),
      amount: fc.integer({ min: 1_000, max: 60_000_000 }),
      unknown: fc.integer({ min: 0, max: 4 }).map((x) => x === 0),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('drop' as const), link: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('restart' as const), who: fc.nat(), crash: fc.boolean() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('mine' as const), n: fc.integer({ min: 1, max: 2 }) }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('block' as const), who: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('clock' as const), ms: fc.integer({ min: 100, max: 3_000 }) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant('turns' as const), n: fc.integer({ min: 0, max: 60 }) }),
  },
);

const reasons = new Map<string, number>();
const stats = { runs: 0, ops: 0, payments: 0, complete: 0, failed: 0, restarts: 0, drops: 0, blocks: 0 };

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}

async function runNetwork(seed: number, size: number, ops: Op[]): Promise<void> {
  // A line: each channel funded by its left node, 40% pushed right so both directions can pay.
  const net = await Network.line({
    seed,
    nodes: size,
    amount: 1_000_000n as Sat,
    push: 400_000_000n as Msat,
  });
  try {
    const nodes = net.nodes;
    const marks: Watermarks = new Map();
    checkQuiescent(net, marks);
    const start = nodes.map((n) => totalBalance(n));
    const invoices: { payee: NetNode; label: string; hash: string; amount: Msat }[] = [];
    let counter = 0;
    for (const o of ops) {
      stats.ops++;
      switch (o.op) {
        case 'pay': {
          const from = nodes[o.from % size]!;
          const to = nodes[o.to % size]!;
          if (from === to || !from.life?.alive || !to.life?.alive) break;
          const step = to.index > from.index ? 1 : -1;
          const path: NetNode[] = [];
          for (let i = from.index; i !== to.index + step; i += step) path.push(nodes[i]!);
          const amount = BigInt(o.amount) as Msat;
          stats.payments++;
          if (o.unknown) {
            // A hash the payee never issued: it must fail back along the whole route.
            const hash = sha256(new TextEncoder().encode(`unknown/${seed}/${counter++}`));
            const route = explicitRoute(path, amount, 18);
            try {
              from.payments.payer.sendpay({
                route,
                paymentHash: hash,
                amountMsat: amount,
                paymentSecret: hash,
              });
            } catch {
              // Refused at once (first hop down or out of capacity): nothing was offered.
            }
            break;
          }
          const label = `p${counter++}`;
          const inv = createInvoice(to, { label, amountMsat: amount, routeHints: routeHints(path) });
          invoices.push({ payee: to, label, hash: inv.paymentHash, amount });
          from.payments.payer
            .pay({ bolt11: inv.bolt11, retryForS: 30 })
            .catch((e: Error) =>
              reasons.set(e.message.slice(0, 60), (reasons.get(e.message.slice(0, 60)) ?? 0) + 1),
            );
          break;
        }
        case 'drop': {
          const i = o.link % (size - 1);
          if (net.disconnect(nodes[i]!, nodes[i + 1]!) > 0) stats.drops++;
          break;
        }
        case 'restart': {
          const n = nodes[o.who % size]!;
          await net.restart(n, o.crash ? 'crash' : 'clean');
          stats.restarts++;
          break;
        }
        case 'mine':
          net.mine(o.n);
          break;
        case 'block':
          if (await net.deliverBlock(nodes[o.who % size]!)) stats.blocks++;
          break;
        case 'clock':
          net.clock.advance(o.ms);
          break;
        case 'turns':
          await turns(o.n);
          break;
      }
      // Nothing logged a warning, received an error or went unhandled so far.
      net.check();
    }
    // Quiescence: every block to everyone, then let links come back and everything resolve.
    await net.deliverAllBlocks();
    await net.settle();
    checkQuiescent(net, marks);

    // Accounting: what each node paid, received and earned, from its own records.
    const expected = nodes.map(() => 0n);
    const paidHashes = new Set<string>();
    for (const n of nodes) {
      for (const p of n.payments.payer.listSendpays()) {
        if (p.status !== 'complete') continue;
        expected[n.index]! -= p.amount_sent_msat;
        paidHashes.add(p.payment_hash);
        stats.complete++;
      }
      for (const f of n.payments.switch.listForwards()) {
        if (f.status === 'settled') expected[n.index]! += BigInt(f.fee_msat ?? 0n);
        if (f.status === 'local_failed' && process.env.NET_VERBOSE)
          console.log(`${n.name} local_failed ${f.failreason} (${f.failcode})`);
      }
    }
    for (const { payee, label, hash, amount } of invoices) {
      const complete = paidHashes.has(hash);
      const paid = invoicePaid(payee, label);
      assert.equal(
        paid,
        complete,
        `invoice ${label} at ${payee.name}: paid ${paid}, payer complete ${complete}`,
      );
      if (complete) expected[payee.index]! += amount;
      else stats.failed++;
    }
    for (const n of nodes)
      assert.equal(
        totalBalance(n) - start[n.index]!,
        expected[n.index],
        `${n.name}: balance moved by ${totalBalance(n) - start[n.index]!}, records say ${expected[n.index]}`,
      );
    stats.runs++;
  } catch (e) {
    (e as Error).message += `\n(seed ${seed}, ${size} nodes)`;
    if (process.env.NET_VERBOSE) {
      for (const l of net.logs.slice(-Number(process.env.NET_VERBOSE) || -80))
        console.log(
          `${l.node}#${l.life} ${l.level} ${l.msg} ${JSON.stringify(l.data, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`,
        );
      console.log((e as Error).stack);
      for (const n of net.nodes)
        for (const ch of n.channels.list()) {
          const c = commitmentsOf(ch.state);
          if (!c) continue;
          const hs = (x: readonly { direction: string; id: bigint; amount: bigint; cltvExpiry?: number }[]) =>
            x.map((h) => `${h.direction}#${h.id}:${h.amount}`).join(',');
          console.log(
            `${n.name} ${ch.key} peer ${net.nameOf(ch.peerId)} ${ch.state.phase}/${ch.state.link} local#${c.localCommit.index}[${hs(c.localCommit.spec.htlcs)}] remote#${c.remoteCommit.index}[${hs(c.remoteCommit.spec.htlcs)}] switch: ${n.store
              .list('switch')
              .map((r) => `${r.key}=${Buffer.from(r.value).toString('utf8').slice(0, 400)}`)
              .join(' ')}`,
          );
        }
    }
    throw e;
  } finally {
    await net.close();
  }
}

test(`random payments, drops, restarts and blocks over 3..5 nodes (${RUNS} runs)`, async () => {
  const started = performance.now();
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 1_000_000 }),
      fc.integer({ min: 3, max: 5 }),
      fc.array(opArb, { minLength: 10, maxLength: STEPS, size: 'max' }),
      (seed, size, ops) => runNetwork(seed, size, ops),
    ),
    // NET_REPLAY="<seed>:<path>" replays a failure fast-check reported.
    {
      numRuns: RUNS,
      endOnFailure: true,
      ...(process.env.NET_REPLAY
        ? { seed: Number(process.env.NET_REPLAY.split(':')[0]), path: process.env.NET_REPLAY.split(':')[1] }
        : SEED !== undefined
          ? { seed: SEED }
          : {}),
    },
  );
  if (process.env.NET_VERBOSE) console.log(JSON.stringify([...reasons]));
  assert.ok(stats.payments > 0 && stats.complete > 0, JSON.stringify(stats));
  console.log(
    `${stats.runs} networks, ${stats.ops} random steps in ${((performance.now() - started) / 1000).toFixed(1)} s: ${stats.payments} payments (${stats.complete} parts complete, ${stats.failed} invoices unpaid), ${stats.restarts} restarts, ${stats.drops} link drops, ${stats.blocks} blocks shown early`,
  );
});

// Fixed cases random seeds found, replayed as they were reported (deterministic, a few seconds).
const REGRESSIONS: { why: string; seed: number; size: number; ops: Op[] }[] = [
  {
    // A fulfill taken by B's A-B channel but not yet signed when that link dropped was forgotten by the
    // channel and never re-run: A's HTLC stayed until expiry though B had the preimage (2133198125:4).
    why: 'a fulfill dropped with the link is run again once it is back',
    seed: 4,
    size: 3,
    ops: [
      { op: 'block', who: 1928897324 },
      { op: 'pay', from: 1997466637, to: 547058379, amount: 58227514, unknown: false },
      { op: 'pay', from: 1399033032, to: 1474930817, amount: 1958999, unknown: false },
      { op: 'pay', from: 1157663402, to: 1110559024, amount: 23939627, unknown: false },
      { op: 'block', who: 988754993 },
      { op: 'clock', ms: 774 },
      { op: 'block', who: 276733620 },
      { op: 'pay', from: 781584359, to: 1154621205, amount: 19056160, unknown: true },
      { op: 'clock', ms: 2978 },
      { op: 'turns', n: 41 },
      { op: 'turns', n: 3 },
      { op: 'pay', from: 856087467, to: 602882337, amount: 22597104, unknown: false },
      { op: 'mine', n: 1 },
      { op: 'pay', from: 1570866290, to: 2041528899, amount: 13387883, unknown: false },
      { op: 'drop', link: 597998802 },
      { op: 'turns', n: 34 },
      { op: 'drop', link: 396911097 },
      { op: 'pay', from: 1653575513, to: 1547427697, amount: 30148661, unknown: true },
      { op: 'block', who: 1403665864 },
      { op: 'pay', from: 273184302, to: 1610076503, amount: 44989960, unknown: true },
      { op: 'drop', link: 1091149138 },
      { op: 'turns', n: 6 },
      { op: 'turns', n: 41 },
      { op: 'turns', n: 38 },
      { op: 'pay', from: 890165495, to: 316315228, amount: 6365896, unknown: false },
      { op: 'mine', n: 1 },
      { op: 'pay', from: 602292506, to: 605534737, amount: 26022135, unknown: false },
      { op: 'pay', from: 1250086131, to: 1764298347, amount: 44356934, unknown: false },
      { op: 'turns', n: 35 },
    ],
  },
  {
    // After a clean restart the switch re-ran resolutions the channel already carried and warned
    // 'resolution not taken by the channel' (-2029676829:5).
    why: 'no resolution re-run that the channel already carries after a restart',
    seed: 481972,
    size: 3,
    ops: [
      { op: 'pay', from: 1248080941, to: 1075539193, amount: 40432202, unknown: false },
      { op: 'block', who: 829360736 },
      { op: 'mine', n: 2 },
      { op: 'clock', ms: 281 },
      { op: 'mine', n: 1 },
      { op: 'block', who: 1131155427 },
      { op: 'clock', ms: 659 },
      { op: 'pay', from: 1366334244, to: 1256002120, amount: 55554755, unknown: true },
      { op: 'turns', n: 13 },
      { op: 'pay', from: 1811542722, to: 1870510304, amount: 41300106, unknown: false },
      { op: 'block', who: 1382789810 },
      { op: 'turns', n: 26 },
      { op: 'restart', who: 141837827, crash: false },
      { op: 'mine', n: 2 },
      { op: 'turns', n: 54 },
      { op: 'pay', from: 1289484315, to: 773471546, amount: 27586628, unknown: false },
      { op: 'pay', from: 1076368885, to: 544060989, amount: 19390916, unknown: false },
      { op: 'turns', n: 23 },
      { op: 'turns', n: 31 },
      { op: 'restart', who: 91003324, crash: true },
      { op: 'clock', ms: 2440 },
      { op: 'clock', ms: 2467 },
      { op: 'mine', n: 1 },
      { op: 'drop', link: 957092903 },
      { op: 'clock', ms: 1980 },
    ],
  },
];

for (const r of REGRESSIONS)
  test(`regression: ${r.why} (seed ${r.seed}, ${r.size} nodes)`, async () => {
    const before = stats.runs;
    await runNetwork(r.seed, r.size, r.ops);
    assert.equal(stats.runs, before + 1);
  });
