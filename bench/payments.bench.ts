// Payments benchmark: payments per second A -> D over three hops (A-B, B-C, C-D), four `shandian start`
// processes and a `shandian devnet` chain on loopback, every state change durable. One at a time, then
// several in flight. Printed beside the single-channel round-trip rate of bench/channel.bench.ts (read
// from bench/results/channel.json): a three-hop payment needs three channel round trips in a chain, so
// the bound it is measured against is the single-channel rate divided by three.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RpcClient } from '../src/rpc/client.ts';
import { type NodeProcess, spawnNode } from '../src/testing/processes.ts';
import { repoRoot } from '../src/testing/spec.ts';
import { spawnDevnet, waitUntil } from '../test/channel-node/devnet-process.ts';

const SEQUENTIAL = Number(process.env.PAY_BENCH_SEQ ?? 40);
const PARALLEL = Number(process.env.PAY_BENCH_PAR ?? 120);
const IN_FLIGHT = Number(process.env.PAY_BENCH_INFLIGHT ?? 10);
const AMOUNT = 1_000_000;
const FEE = (a: number) => 1000 + Math.floor((a * 10) / 1_000_000);

interface Chan {
  peer_id: string;
  state: string;
  short_channel_id?: string;
  htlcs?: unknown[];
}

async function main(): Promise<void> {
  const base = mkdtempSync(join(tmpdir(), 'shandian-paybench-'));
  const chain = await spawnDevnet(join(base, 'chain'));
  const nodes: NodeProcess[] = [];
  const clients: RpcClient[] = [];
  try {
    const start = async (name: string) => {
      const n = await spawnNode({
        name,
        datadir: join(base, name),
        args: [...chain.nodeArgs, '--log-level', 'warn'],
      });
      nodes.push(n);
      return n;
    };
    const [A, B, C, D] = [await start('A'), await start('B'), await start('C'), await start('D')] as const;
    const info = (n: NodeProcess) => n.call<{ id: string; binding: { port: number }[] }>('getinfo');
    const [ib, ic, id] = [await info(B), await info(C), await info(D)];
    for (const [n, count] of [
      [A, 1],
      [C, 2],
    ] as const)
      for (let i = 0; i < count; i++)
        await chain.rpc.call('sendtoaddress', [(await n.call<{ bech32: string }>('newaddr')).bech32, 0.2]);
    await chain.mine(1);
    const confirmed = async (n: NodeProcess) =>
      (await n.call<{ outputs: { status: string }[] }>('listfunds')).outputs.filter(
        (o) => o.status === 'confirmed',
      ).length;
    await waitUntil(async () => (await confirmed(A)) >= 1 && (await confirmed(C)) >= 2, 30_000, 'funds');
    await A.call('connect', { id: ib.id, host: '127.0.0.1', port: ib.binding[0]!.port });
    await C.call('connect', { id: ib.id, host: '127.0.0.1', port: ib.binding[0]!.port });
    await C.call('connect', { id: id.id, host: '127.0.0.1', port: id.binding[0]!.port });
    await A.call('fundchannel', { id: ib.id, amount: 10_000_000 });
    await C.call('fundchannel', { id: ib.id, amount: 10_000_000, push_msat: 5_000_000_000 });
    await C.call('fundchannel', { id: id.id, amount: 10_000_000 });
    await chain.mine(6);
    const chans = async (n: NodeProcess) => (await n.call<{ channels: Chan[] }>('listpeerchannels')).channels;
    await waitUntil(
      async () => {
        for (const n of [A, B, C, D]) {
          const cs = await chans(n);
          if (cs.length === 0 || cs.some((c) => c.state !== 'CHANNELD_NORMAL' || !c.short_channel_id))
            return false;
        }
        return true;
      },
      60_000,
      'channels normal',
    );
    const scidAB = (await chans(A))[0]!.short_channel_id!;
    const scidBC = (await chans(B)).find((c) => c.peer_id === ic.id)!.short_channel_id!;
    const scidCD = (await chans(C)).find((c) => c.peer_id === id.id)!.short_channel_id!;
    const fc = FEE(AMOUNT);
    const fb = FEE(AMOUNT + fc);
    const route = [
      { id: ib.id, channel: scidAB, amount_msat: AMOUNT + fc + fb, delay: 18 + 68 },
      { id: ic.id, channel: scidBC, amount_msat: AMOUNT + fc, delay: 18 + 34 },
      { id: id.id, channel: scidCD, amount_msat: AMOUNT, delay: 18 },
    ];
    const total = SEQUENTIAL + PARALLEL;
    const invoices: { payment_hash: string; payment_secret: string }[] = [];
    for (let i = 0; i < total; i++)
      invoices.push(await D.call('invoice', { amount_msat: AMOUNT, label: `b${i}`, description: 'bench' }));

    const payOne = async (cl: RpcClient, i: number) => {
      const inv = invoices[i]!;
      await cl.call('sendpay', { route, payment_hash: inv.payment_hash, payment_secret: inv.payment_secret });
      const r = (await cl.call('waitsendpay', { payment_hash: inv.payment_hash, timeout: 120 })) as {
        status: string;
      };
      if (r.status !== 'complete') throw new Error(`payment ${i}: ${r.status}`);
    };
    for (let k = 0; k < IN_FLIGHT; k++) clients.push(new RpcClient(A.rpc.path));
    const t0 = performance.now();
    for (let i = 0; i < SEQUENTIAL; i++) await payOne(clients[0]!, i);
    const seqRate = (SEQUENTIAL * 1000) / (performance.now() - t0);
    let next = SEQUENTIAL;
    const t1 = performance.now();
    await Promise.all(
      clients.map(async (cl) => {
        for (;;) {
          const i = next++;
          if (i >= total) return;
          await payOne(cl, i);
        }
      }),
    );
    const parRate = (PARALLEL * 1000) / (performance.now() - t1);
    const fwd = (await B.call<{ forwards: { status: string }[] }>('listforwards')).forwards;
    if (fwd.filter((f) => f.status === 'settled').length !== total)
      throw new Error('B did not settle every forward');

    const chanPath = join(repoRoot, 'bench', 'results', 'channel.json');
    const single = existsSync(chanPath)
      ? (JSON.parse(readFileSync(chanPath, 'utf8')) as {
          round_trips_per_second_sequential: number;
          round_trips_per_second_in_flight: number;
        })
      : null;
    const cmp = (v: number, s: number | undefined) =>
      s === undefined
        ? '(no channel.json to compare with)'
        : `(single channel ${s.toFixed(1)}/s => 3-hop bound ~${(s / 3).toFixed(1)}/s, ${((300 * v) / s).toFixed(0)}% of it)`;
    console.log(
      `payments A->D over 3 hops, one at a time: ${seqRate.toFixed(2)}/s ${cmp(seqRate, single?.round_trips_per_second_sequential)}`,
    );
    console.log(
      `payments A->D over 3 hops, ${IN_FLIGHT} in flight: ${parRate.toFixed(2)}/s ${cmp(parRate, single?.round_trips_per_second_in_flight)}`,
    );
    const out = {
      date: new Date().toISOString(),
      hops: 3,
      processes: 4,
      amount_msat: AMOUNT,
      payments: { sequential: SEQUENTIAL, in_flight: PARALLEL },
      in_flight: IN_FLIGHT,
      payments_per_second_sequential: seqRate,
      payments_per_second_in_flight: parRate,
      single_channel_round_trips_per_second: single,
      bound_sequential: single ? single.round_trips_per_second_sequential / 3 : null,
      bound_in_flight: single ? single.round_trips_per_second_in_flight / 3 : null,
    };
    mkdirSync(join(repoRoot, 'bench', 'results'), { recursive: true });
    writeFileSync(join(repoRoot, 'bench', 'results', 'payments.json'), `${JSON.stringify(out, null, 2)}\n`);
  } finally {
    for (const cl of clients) cl.close();
    for (const n of nodes) await n.kill('SIGKILL').catch(() => {});
    await chain.stop();
    rmSync(base, { recursive: true, force: true });
  }
}

await main();
