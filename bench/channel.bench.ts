// Channel benchmark: HTLC add + fulfill round trips per second over ONE channel between two node
// processes on loopback (a `shandian devnet` chain process beside them), every state change durable
// (SQLite synchronous=FULL, persist before reveal). Measured one at a time and with many in flight,
// beside the secp256k1 sign / verify / tweak rates of this machine measured in the same run, and the
// round-trip rate those rates bound (the crypto a round trip needs, on the two nodes' cores).
//
// A round trip: alice offers an HTLC (dev-addhtlc), bob settles it at once (dev-autofulfill), alice
// learns the preimage (dev-waithtlc resolves on update_fulfill_htlc). The commitment dances that add
// and then remove it run underneath; with many in flight they batch several updates per signature.
//
// Batched mode: alice offers N HTLCs in one burst (N RPC requests in one socket write, so they are
// taken in one turn of her event loop and go out under ONE commitment_signed), bob settles all N in one
// turn (ONE commitment_signed back); measured as HTLCs settled per second, N up to max_accepted_htlcs.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { hex } from '../src/core/bytes.ts';
import {
  ecdsaSign,
  ecdsaVerify,
  pubkeyTweakAdd,
  pubkeyTweakMul,
  publicKeyOf,
  secpBackend,
  sha256,
} from '../src/crypto/index.ts';
import { RpcClient } from '../src/rpc/client.ts';
import { JsonStreamSplitter, stringifyJson } from '../src/rpc/json.ts';
import { type NodeProcess, spawnNode } from '../src/testing/processes.ts';
import { repoRoot } from '../src/testing/spec.ts';
import { spawnDevnet, waitUntil } from '../test/channel-node/devnet-process.ts';

const SEQUENTIAL = Number(process.env.CHANNEL_BENCH_SEQ ?? 150);
const PARALLEL = Number(process.env.CHANNEL_BENCH_PAR ?? 600);
const IN_FLIGHT = Number(process.env.CHANNEL_BENCH_INFLIGHT ?? 20);
/** Batch sizes of the batched mode, each run BATCH_WARMUP + BATCH_ROUNDS times. */
const BATCHES = (process.env.CHANNEL_BENCH_BATCHES ?? '30,100,483')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const BATCH_ROUNDS = Number(process.env.CHANNEL_BENCH_BATCH_ROUNDS ?? 5);
/**
 * Batches of each size run first and left out of its figures (their times are printed beside): the
 * first few 483-HTLC batches of a fresh node run ~20% slower than the later ones (250-280 ms against
 * ~215, measured here), a start-up cost a node running for a while no longer pays.
 */
const BATCH_WARMUP = Number(process.env.CHANNEL_BENCH_BATCH_WARMUP ?? 2);
/** The goals. */
const GOAL_IN_FLIGHT = 300;
const GOAL_BATCHED = 2000;
const GOAL_BOUND_RATIO = 0.5;
const HTLC_MSAT = 1_000_000; // above the dust limit: every commitment carries an HTLC signature

/**
 * Operations per second of CPU time (this process, user + system): the machine is shared, so wall-clock
 * rates would measure the other tenants as much as the code.
 */
function rate(fn: () => void, ms: number): number {
  let n = 0;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  while (performance.now() - start < ms) {
    for (let i = 0; i < 64; i++) fn();
    n += 64;
  }
  const cpu = process.cpuUsage(cpu0);
  return (n * 1e6) / (cpu.user + cpu.system);
}

/** CPU time (user + system) a child process has used so far, in ms, from /proc. */
function cpuMsOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100;

function cryptoRates() {
  const secret = sha256(new TextEncoder().encode('bench key'));
  const pub = publicKeyOf(secret);
  const msg = sha256(new TextEncoder().encode('bench msg'));
  const sig = ecdsaSign(msg, secret).compact;
  const tweak = sha256(new TextEncoder().encode('tweak'));
  return {
    sign: rate(() => ecdsaSign(msg, secret), 400),
    verify: rate(() => ecdsaVerify(sig, msg, pub), 400),
    tweakAdd: rate(() => pubkeyTweakAdd(pub, tweak), 400),
    tweakMul: rate(() => pubkeyTweakMul(pub, tweak), 400),
    pointOf: rate(() => publicKeyOf(tweak), 400),
  };
}

/**
 * The secp256k1 work the protocol forces for one add + fulfill round trip of ONE HTLC, on both nodes
 * together. Two commitment dances (add, then remove), each two commitment_signed (one per direction).
 * Per commitment_signed the sender builds the receiver's commitment and the receiver builds its own:
 * 8 builds, each deriving the commitment's keys at its per-commitment point (revocation key: 2
 * tweak-mul + 1 point add; delayed and both HTLC keys: 3 tweak-add; the point add is counted as a
 * tweak-add). Signatures: the commitment, plus the HTLC transaction while the HTLC is on it (both
 * commitments of the add dance): 6 signs, 6 verifies. Per revoke_and_ack (4): the received secret is
 * checked against its point, and the next point is derived (a point multiplication each).
 */
const PER_ROUND_TRIP = { sign: 6, verify: 6, tweakAdd: 8 * 4, tweakMul: 8 * 2, pointOf: 8 };
/**
 * Batched: per HTLC of a batch, only its HTLC signatures grow with N (the per-dance key derivations
 * and commitment signatures are shared by the whole batch): 2 signs and 2 verifies (its HTLC
 * transaction on each side's commitment of the add dance).
 */
const PER_BATCHED_HTLC = { sign: 2, verify: 2 };

type Rates = ReturnType<typeof cryptoRates>;

function cryptoSeconds(c: Rates, ops: Partial<Record<keyof Rates, number>>): number {
  let t = 0;
  for (const k of Object.keys(ops) as (keyof Rates)[]) t += (ops[k] ?? 0) / c[k];
  return t;
}

/** Sends JSON-RPC requests in a single socket write; resolves with their results in order. */
function rpcBurst(path: string, reqs: { method: string; params: unknown }[]): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    const results = new Map<number, unknown>();
    const splitter = new JsonStreamSplitter();
    socket.setEncoding('utf8');
    socket.on('error', reject);
    socket.on('data', (chunk: string) => {
      for (const text of splitter.push(chunk)) {
        const r = JSON.parse(text) as { id: number; result?: unknown; error?: { message: string } };
        if (r.error) {
          socket.destroy();
          reject(new Error(r.error.message));
          return;
        }
        results.set(r.id, r.result);
      }
      if (results.size === reqs.length) {
        socket.end();
        resolve(reqs.map((_, i) => results.get(i)));
      }
    });
    socket.on('connect', () =>
      socket.write(reqs.map((r, id) => stringifyJson({ jsonrpc: '2.0', id, ...r })).join('')),
    );
  });
}

async function main(): Promise<void> {
  const c = cryptoRates();
  const cryptoSecondsPerTrip = cryptoSeconds(c, PER_ROUND_TRIP);
  // The two nodes are two processes: at best their crypto runs on both cores at once.
  const bound = 2 / cryptoSecondsPerTrip;
  const batchedBound = 2 / cryptoSeconds(c, PER_BATCHED_HTLC);
  console.log(`secp256k1 backend: ${secpBackend} (rates per CPU-second of this process)`);
  console.log(
    `  sign ${c.sign.toFixed(0)}/s  verify ${c.verify.toFixed(0)}/s  tweak-add ${c.tweakAdd.toFixed(0)}/s  tweak-mul ${c.tweakMul.toFixed(0)}/s  point ${c.pointOf.toFixed(0)}/s`,
  );
  console.log(
    `  crypto per round trip ${(cryptoSecondsPerTrip * 1000).toFixed(2)} ms => bound ${bound.toFixed(0)} round trips/s on 2 cores; batched bound ${batchedBound.toFixed(0)} HTLC/s`,
  );

  const base = mkdtempSync(join(tmpdir(), 'shandian-chanbench-'));
  const nodes: NodeProcess[] = [];
  const chain = await spawnDevnet(join(base, 'chain'));
  const clients: RpcClient[] = [];
  try {
    const alice = await spawnNode({
      name: 'alice',
      datadir: join(base, 'alice'),
      args: [...chain.nodeArgs, '--log-level', 'warn'],
    });
    nodes.push(alice);
    const bob = await spawnNode({
      name: 'bob',
      datadir: join(base, 'bob'),
      args: [...chain.nodeArgs, '--log-level', 'warn'],
    });
    nodes.push(bob);
    const bobInfo = await bob.call<{ id: string; binding: { port: number }[] }>('getinfo');
    const addr = (await alice.call<{ bech32: string }>('newaddr')).bech32;
    await chain.rpc.call('sendtoaddress', [addr, 0.2]);
    await chain.mine(1);
    await waitUntil(
      async () =>
        (await alice.call<{ outputs: { status: string }[] }>('listfunds')).outputs.some(
          (o) => o.status === 'confirmed',
        ),
      20_000,
      'funds',
    );
    await alice.call('connect', { id: bobInfo.id, host: '127.0.0.1', port: bobInfo.binding[0]!.port });
    await alice.call('fundchannel', { id: bobInfo.id, amount: 10_000_000 });
    await chain.mine(3);
    await waitUntil(
      async () =>
        (await alice.call<{ channels: { state: string }[] }>('listpeerchannels')).channels[0]?.state ===
          'CHANNELD_NORMAL' &&
        (await bob.call<{ channels: { state: string }[] }>('listpeerchannels')).channels[0]?.state ===
          'CHANNELD_NORMAL',
      30_000,
      'lock-in',
    );
    const height = await chain.height();
    const batchTotal = BATCHES.reduce((t, n) => t + n * (BATCH_WARMUP + BATCH_ROUNDS), 0);
    const total = SEQUENTIAL + PARALLEL + batchTotal;
    const preimages = Array.from({ length: total }, (_, i) =>
      sha256(new TextEncoder().encode(`bench preimage ${i}`)),
    );
    await bob.call('dev-autofulfill', { preimages: preimages.map(hex) });

    let refusedFull = 0;
    const tripOn = async (client: RpcClient, i: number) => {
      let added: { id: number };
      for (;;) {
        try {
          added = (await client.call('dev-addhtlc', {
            id: bobInfo.id,
            amount_msat: HTLC_MSAT,
            payment_hash: hex(sha256(preimages[i]!)),
            cltv_expiry: height + 100,
          })) as { id: number };
          break;
        } catch (e) {
          // Settled HTLCs stay on the commitments until their removal is signed: back off while full.
          if (!/at most \d+ HTLCs/.test((e as Error).message)) throw e;
          refusedFull++;
          await new Promise((r) => setTimeout(r, 2));
        }
      }
      const r = (await client.call('dev-waithtlc', { id: bobInfo.id, htlc_id: added.id })) as {
        outcome: string;
      };
      if (r.outcome !== 'fulfilled') throw new Error(`htlc ${i}: ${r.outcome}`);
    };

    for (let k = 0; k < IN_FLIGHT; k++) clients.push(new RpcClient(alice.rpc.path));
    // CPU time both node processes spent (the machine is shared: wall time also measures the others).
    const nodesCpuMs = () => cpuMsOf(alice.child.pid) + cpuMsOf(bob.child.pid);
    // Background CPU of the two idle nodes (chain polling, timers), to tell it apart from the work.
    const idle0 = nodesCpuMs();
    const idleT = performance.now();
    await new Promise((r) => setTimeout(r, 3000));
    const idleCpuPerSecond = ((nodesCpuMs() - idle0) * 1000) / (performance.now() - idleT);
    // One at a time.
    const t0 = performance.now();
    const cpu0 = nodesCpuMs();
    for (let i = 0; i < SEQUENTIAL; i++) await tripOn(clients[0]!, i);
    const seqRate = (SEQUENTIAL * 1000) / (performance.now() - t0);
    const seqCpuPerTrip = (nodesCpuMs() - cpu0) / SEQUENTIAL;
    const seqIdleShare = (idleCpuPerSecond * (performance.now() - t0)) / 1000 / SEQUENTIAL;

    // Many in flight.
    let next = SEQUENTIAL;
    const t1 = performance.now();
    const cpu1 = nodesCpuMs();
    await Promise.all(
      clients.map(async (cl) => {
        for (;;) {
          const i = next++;
          if (i >= SEQUENTIAL + PARALLEL) return;
          await tripOn(cl, i);
        }
      }),
    );
    const parRate = (PARALLEL * 1000) / (performance.now() - t1);
    const parCpuPerTrip = (nodesCpuMs() - cpu1) / PARALLEL;
    // The same figures without the nodes' background CPU (chain polling, timers) over the phase.
    const parNetCpuPerTrip = parCpuPerTrip - (idleCpuPerSecond * (PARALLEL / parRate)) / PARALLEL;
    const seqNetCpuPerTrip = seqCpuPerTrip - seqIdleShare;

    // Batched: N adds in one burst, then N settles in one burst.
    const commitmentNumber = async () =>
      (await bob.call<{ channels: { local_commitment_number: number }[] }>('listpeerchannels')).channels[0]!
        .local_commitment_number;
    // No HTLC left in either node's view of either commitment: the last removal signed both ways, so a
    // batch's dances do not merge with the previous batch's (commitments per batch stays 2).
    const htlcsLeft = async (n: NodeProcess) =>
      (await n.call<{ channels: { htlcs: unknown[] }[] }>('listpeerchannels')).channels[0]!.htlcs.length;
    const settledEmpty = async () => (await htlcsLeft(alice)) === 0 && (await htlcsLeft(bob)) === 0;
    const batched: {
      n: number;
      rounds: number;
      htlcs_per_second: number;
      commitments_per_batch: number;
      cpu_ms_per_htlc: number;
      net_cpu_ms_per_htlc: number;
      bench_client_cpu_ms_per_htlc: number;
      round_ms: number[];
      warmup_ms: number[];
    }[] = [];
    let nextBatch = SEQUENTIAL + PARALLEL;
    for (const n of BATCHES) {
      let ms = 0;
      let cpuMs = 0;
      let commitments = 0;
      let clientCpuMs = 0;
      const roundMs: number[] = [];
      const warmupMs: number[] = [];
      for (let r = -BATCH_WARMUP; r < BATCH_ROUNDS; r++) {
        // Start from a channel with no HTLC left on it (the last removal fully signed).
        await waitUntil(settledEmpty, 30_000, 'empty channel');
        const before = await commitmentNumber();
        const first = nextBatch;
        nextBatch += n;
        const t = performance.now();
        const cpuStart = nodesCpuMs();
        const clientCpu0 = process.cpuUsage();
        // All N requests in ONE write: the node reads them in one turn of its event loop, so its
        // "sign once the burst is handled" policy puts all N under one commitment_signed.
        const ids = await rpcBurst(
          alice.rpc.path,
          Array.from({ length: n }, (_, k) => ({
            method: 'dev-addhtlc',
            params: {
              id: bobInfo.id,
              amount_msat: HTLC_MSAT,
              payment_hash: hex(sha256(preimages[first + k]!)),
              cltv_expiry: height + 100,
            },
          })),
        );
        const outcomes = await Promise.all(
          (ids as { id: number }[]).map(
            (a, k) =>
              clients[1 + (k % (clients.length - 1))]!.call('dev-waithtlc', {
                id: bobInfo.id,
                htlc_id: a.id,
              }) as Promise<{ outcome: string }>,
          ),
        );
        const took = performance.now() - t;
        const cpuTook = nodesCpuMs() - cpuStart;
        const cc = process.cpuUsage(clientCpu0);
        for (const o of outcomes) if (o.outcome !== 'fulfilled') throw new Error(`batch: ${o.outcome}`);
        await waitUntil(settledEmpty, 30_000, 'batch settled');
        if (r < 0) {
          warmupMs.push(took);
          continue;
        }
        roundMs.push(took);
        ms += took;
        cpuMs += cpuTook;
        clientCpuMs += (cc.user + cc.system) / 1000;
        commitments += (await commitmentNumber()) - before;
      }
      batched.push({
        n,
        rounds: BATCH_ROUNDS,
        htlcs_per_second: (n * BATCH_ROUNDS * 1000) / ms,
        commitments_per_batch: commitments / BATCH_ROUNDS,
        cpu_ms_per_htlc: cpuMs / (n * BATCH_ROUNDS),
        net_cpu_ms_per_htlc: (cpuMs - (idleCpuPerSecond * ms) / 1000) / (n * BATCH_ROUNDS),
        bench_client_cpu_ms_per_htlc: clientCpuMs / (n * BATCH_ROUNDS),
        round_ms: roundMs,
        warmup_ms: warmupMs,
      });
    }
    // Let the last removals settle and check both sides agree on the result.
    let lastSeen = {};
    await waitUntil(
      async () => {
        const a = (
          await alice.call<{ channels: { to_us_msat: number; htlcs: unknown[] }[] }>('listpeerchannels')
        ).channels[0]!;
        lastSeen = { htlcs: a.htlcs.length, to_us_msat: a.to_us_msat };
        return a.htlcs.length === 0 && a.to_us_msat === 10_000_000_000 - total * HTLC_MSAT;
      },
      30_000,
      'settled',
    ).catch((e: Error) => {
      throw new Error(
        `${e.message}: alice ${JSON.stringify(lastSeen)}, expected ${10_000_000_000 - total * HTLC_MSAT}`,
      );
    });
    const b = (
      await bob.call<{ channels: { to_us_msat: number; local_commitment_number: number }[] }>(
        'listpeerchannels',
      )
    ).channels[0]!;
    if (b.to_us_msat !== total * HTLC_MSAT)
      throw new Error(`bob holds ${b.to_us_msat} msat, expected ${total * HTLC_MSAT}`);

    // "CPU-limited": the rate the two nodes' CPU time per round trip allows on 2 free cores, the
    // figure comparable with the crypto bound on a shared machine.
    const cpuLimited = (cpuMsPerUnit: number) => 2000 / cpuMsPerUnit;
    const pct = (x: number, of: number) => `${((100 * x) / of).toFixed(1)}%`;
    console.log(
      `  idle nodes use ${idleCpuPerSecond.toFixed(1)} ms CPU per second together (${seqIdleShare.toFixed(2)} ms of each one-at-a-time trip below)`,
    );
    console.log(
      `round trips one at a time: ${seqRate.toFixed(1)}/s wall; nodes' CPU ${seqCpuPerTrip.toFixed(2)} ms per trip => ${cpuLimited(seqCpuPerTrip).toFixed(0)}/s CPU-limited, ${pct(cpuLimited(seqCpuPerTrip), bound)} of the bound ${bound.toFixed(0)}/s (goal ${100 * GOAL_BOUND_RATIO}%)`,
    );
    console.log(
      `round trips ${IN_FLIGHT} in flight: ${parRate.toFixed(1)}/s wall (goal ${GOAL_IN_FLIGHT}/s); nodes' CPU ${parCpuPerTrip.toFixed(2)} ms per trip => ${cpuLimited(parCpuPerTrip).toFixed(0)}/s CPU-limited, ${pct(cpuLimited(parCpuPerTrip), bound)} of the bound ${bound.toFixed(0)}/s (goal ${100 * GOAL_BOUND_RATIO}%)`,
    );
    console.log(
      `  without the idle background: one at a time ${seqNetCpuPerTrip.toFixed(2)} ms per trip => ${cpuLimited(seqNetCpuPerTrip).toFixed(0)}/s, ${pct(cpuLimited(seqNetCpuPerTrip), bound)} of the bound; in flight ${parNetCpuPerTrip.toFixed(2)} ms per trip => ${cpuLimited(parNetCpuPerTrip).toFixed(0)}/s, ${pct(cpuLimited(parNetCpuPerTrip), bound)} of the bound`,
    );
    for (const b of batched)
      console.log(
        `batched, ${b.n} adds per commitment_signed: ${b.htlcs_per_second.toFixed(0)} HTLC/s wall (goal ${GOAL_BATCHED}/s); nodes' CPU ${b.cpu_ms_per_htlc.toFixed(3)} ms per HTLC => ${cpuLimited(b.cpu_ms_per_htlc).toFixed(0)}/s CPU-limited, ${pct(cpuLimited(b.cpu_ms_per_htlc), batchedBound)} of the batched bound ${batchedBound.toFixed(0)}/s; ${b.commitments_per_batch.toFixed(1)} commitments per batch (2 = one signature per direction per dance); without the idle background ${b.net_cpu_ms_per_htlc.toFixed(3)} ms => ${cpuLimited(b.net_cpu_ms_per_htlc).toFixed(0)}/s; this bench's own RPC client used ${b.bench_client_cpu_ms_per_htlc.toFixed(3)} ms CPU per HTLC on the same cores`,
      );
    for (const b of batched)
      console.log(
        `  batches of ${b.n}: ${b.round_ms.map((x) => x.toFixed(0)).join(', ')} ms (${BATCH_ROUNDS} measured); warm-up ${b.warmup_ms.map((x) => x.toFixed(0)).join(', ')} ms (not counted)`,
      );
    console.log(`  ${refusedFull} adds waited for room (max_accepted_htlcs)`);
    console.log(
      `  ${total} HTLCs settled; bob's commitment number ${b.local_commitment_number} (updates batched per signature with many in flight)`,
    );
    const out = {
      date: new Date().toISOString(),
      secpBackend,
      crypto_ops_per_second: c,
      crypto_per_round_trip_estimate: PER_ROUND_TRIP,
      crypto_bound_round_trips_per_second_2_cores: bound,
      round_trips_per_second_sequential: seqRate,
      round_trips_per_second_in_flight: parRate,
      in_flight: IN_FLIGHT,
      htlcs: { sequential: SEQUENTIAL, in_flight: PARALLEL, batched: batchTotal, amount_msat: HTLC_MSAT },
      ratio_sequential_to_bound: seqRate / bound,
      ratio_in_flight_to_bound: parRate / bound,
      nodes_cpu_ms_per_round_trip: { sequential: seqCpuPerTrip, in_flight: parCpuPerTrip },
      nodes_cpu_ms_per_round_trip_without_idle: { sequential: seqNetCpuPerTrip, in_flight: parNetCpuPerTrip },
      idle_nodes_cpu_ms_per_second: idleCpuPerSecond,
      cpu_limited_round_trips_per_second: {
        sequential: cpuLimited(seqCpuPerTrip),
        in_flight: cpuLimited(parCpuPerTrip),
      },
      cpu_limited_ratio_to_bound: {
        sequential: cpuLimited(seqCpuPerTrip) / bound,
        in_flight: cpuLimited(parCpuPerTrip) / bound,
      },
      crypto_per_batched_htlc: PER_BATCHED_HTLC,
      crypto_bound_batched_htlcs_per_second_2_cores: batchedBound,
      batched,
      load_average: loadavg(),
      goals: {
        in_flight_round_trips_per_second: GOAL_IN_FLIGHT,
        batched_htlcs_per_second: GOAL_BATCHED,
        ratio_to_crypto_bound: GOAL_BOUND_RATIO,
      },
      goals_met_wall_clock: {
        in_flight: parRate >= GOAL_IN_FLIGHT,
        batched: batched.some((b) => b.htlcs_per_second >= GOAL_BATCHED),
        ratio_to_bound: parRate / bound >= GOAL_BOUND_RATIO,
      },
      goals_met_cpu_limited: {
        in_flight: cpuLimited(parCpuPerTrip) >= GOAL_IN_FLIGHT,
        batched: batched.some((b) => cpuLimited(b.cpu_ms_per_htlc) >= GOAL_BATCHED),
        ratio_to_bound: cpuLimited(parCpuPerTrip) / bound >= GOAL_BOUND_RATIO,
      },
      bob_commitment_number: b.local_commitment_number,
      adds_waiting_for_room: refusedFull,
    };
    mkdirSync(join(repoRoot, 'bench', 'results'), { recursive: true });
    writeFileSync(join(repoRoot, 'bench', 'results', 'channel.json'), `${JSON.stringify(out, null, 2)}\n`);
  } finally {
    for (const cl of clients) cl.close();
    for (const n of nodes) await n.kill('SIGTERM').catch(() => {});
    await chain.stop();
    rmSync(base, { recursive: true, force: true });
  }
}

await main();
