// Channel benchmark: HTLC add + fulfill round trips per second over ONE channel between two node
// processes on loopback (a `shandian devnet` chain process beside them), every state change durable
// (SQLite synchronous=FULL, persist before reveal). Measured one at a time and with many in flight,
// beside the secp256k1 sign / verify / tweak rates of this machine measured in the same run, and the
// round-trip rate those rates bound (the crypto a round trip needs, on the two nodes' cores).
//
// A round trip: alice offers an HTLC (dev-addhtlc), bob settles it at once (dev-autofulfill), alice
// learns the preimage (dev-waithtlc resolves on update_fulfill_htlc). The commitment dances that add
// and then remove it run underneath; with many in flight they batch several updates per signature.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
import { type NodeProcess, spawnNode } from '../src/testing/processes.ts';
import { repoRoot } from '../src/testing/spec.ts';
import { spawnDevnet, waitUntil } from '../test/channel-node/devnet-process.ts';

const SEQUENTIAL = Number(process.env.CHANNEL_BENCH_SEQ ?? 150);
const PARALLEL = Number(process.env.CHANNEL_BENCH_PAR ?? 600);
const IN_FLIGHT = Number(process.env.CHANNEL_BENCH_INFLIGHT ?? 20);
const HTLC_MSAT = 1_000_000; // above the dust limit: every commitment carries an HTLC signature

function rate(fn: () => void, ms: number): number {
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 64; i++) fn();
    n += 64;
    now = performance.now();
  }
  return (n * 1000) / (now - start);
}

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
 * The secp256k1 work of one round trip on both nodes (an estimate from the BOLT 3 construction):
 * two commitment dances (add, remove); each side builds its own commitment (to verify) and the other's
 * (to sign) per dance. Per build: 3 basepoint tweaks (delayed, both HTLC keys) and a revocation key
 * (2 tweak-mul + 1 add), plus our per-commitment point for our own. Signatures: the commitment, and
 * the HTLC signature while the HTLC is on it (the add dance).
 */
const PER_ROUND_TRIP = { sign: 6, verify: 6, tweakAdd: 8 * 4, tweakMul: 8 * 2, pointOf: 4 };

async function main(): Promise<void> {
  const c = cryptoRates();
  const cryptoSecondsPerTrip =
    PER_ROUND_TRIP.sign / c.sign +
    PER_ROUND_TRIP.verify / c.verify +
    PER_ROUND_TRIP.tweakAdd / c.tweakAdd +
    PER_ROUND_TRIP.tweakMul / c.tweakMul +
    PER_ROUND_TRIP.pointOf / c.pointOf;
  // The two nodes are two processes: at best their crypto runs on both cores at once.
  const bound = 2 / cryptoSecondsPerTrip;
  console.log(`secp256k1 backend: ${secpBackend}`);
  console.log(
    `  sign ${c.sign.toFixed(0)}/s  verify ${c.verify.toFixed(0)}/s  tweak-add ${c.tweakAdd.toFixed(0)}/s  tweak-mul ${c.tweakMul.toFixed(0)}/s  point ${c.pointOf.toFixed(0)}/s`,
  );
  console.log(
    `  crypto per round trip ~${(cryptoSecondsPerTrip * 1000).toFixed(2)} ms => bound ~${bound.toFixed(0)} round trips/s on 2 cores`,
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
    const total = SEQUENTIAL + PARALLEL;
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
    // One at a time.
    const t0 = performance.now();
    for (let i = 0; i < SEQUENTIAL; i++) await tripOn(clients[0]!, i);
    const seqRate = (SEQUENTIAL * 1000) / (performance.now() - t0);

    // Many in flight.
    let next = SEQUENTIAL;
    const t1 = performance.now();
    await Promise.all(
      clients.map(async (cl) => {
        for (;;) {
          const i = next++;
          if (i >= total) return;
          await tripOn(cl, i);
        }
      }),
    );
    const parRate = (PARALLEL * 1000) / (performance.now() - t1);
    // Let the last removals settle and check both sides agree on the result.
    await waitUntil(
      async () => {
        const a = (
          await alice.call<{ channels: { to_us_msat: number; htlcs: unknown[] }[] }>('listpeerchannels')
        ).channels[0]!;
        return a.htlcs.length === 0 && a.to_us_msat === 10_000_000_000 - total * HTLC_MSAT;
      },
      30_000,
      'settled',
    );
    const b = (
      await bob.call<{ channels: { to_us_msat: number; local_commitment_number: number }[] }>(
        'listpeerchannels',
      )
    ).channels[0]!;
    if (b.to_us_msat !== total * HTLC_MSAT)
      throw new Error(`bob holds ${b.to_us_msat} msat, expected ${total * HTLC_MSAT}`);

    console.log(
      `round trips one at a time: ${seqRate.toFixed(1)}/s   (bound ~${bound.toFixed(0)}/s, ${((100 * seqRate) / bound).toFixed(1)}% of it)`,
    );
    console.log(
      `round trips ${IN_FLIGHT} in flight:  ${parRate.toFixed(1)}/s   (bound ~${bound.toFixed(0)}/s, ${((100 * parRate) / bound).toFixed(1)}% of it)`,
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
      htlcs: { sequential: SEQUENTIAL, in_flight: PARALLEL, amount_msat: HTLC_MSAT },
      ratio_sequential_to_bound: seqRate / bound,
      ratio_in_flight_to_bound: parRate / bound,
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
