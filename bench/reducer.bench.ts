// Reducer benchmark: the per-update checks of one batch of N HTLCs (N = max_accepted_htlcs), in
// process, without crypto or persistence: N sendAdd on the offerer, N receiveAdd on the receiver, then
// (with all N cross-signed) N sendRemoval (fulfill) on the receiver and N receiveRemoval on the
// offerer. Reported as CPU microseconds per update (process.cpuUsage): the machine is shared.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MessageValue } from '../src/bolt01-wire/types.ts';
import { receiveAdd, receiveRemoval, sendAdd, sendRemoval } from '../src/bolt02-channel/commitments.ts';
import { type Commitments, commitmentsOf } from '../src/bolt02-channel/index.ts';
import type { Msat, Sat } from '../src/core/units.ts';
import { sha256 } from '../src/crypto/index.ts';
import { ChannelPair } from '../src/testing/channel-harness.ts';
import { repoRoot } from '../src/testing/spec.ts';

const N = Number(process.env.REDUCER_BENCH_N ?? 483);
const ROUNDS = Number(process.env.REDUCER_BENCH_ROUNDS ?? 7);
const ONION = new Uint8Array(1366);
const AMOUNT = 1_000_000n as Msat;
const preimageOf = (i: number) => sha256(new Uint8Array([i & 0xff, i >> 8, 7]));

function must<T>(r: { ok: true; value: T } | { ok: false; error: unknown }): T {
  if (!r.ok) throw new Error(`bench setup failed: ${JSON.stringify(r.error, (_, v) => String(v))}`);
  return r.value;
}

/** CPU microseconds of fn (user + system). */
function cpuUs(fn: () => void): number {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return c.user + c.system;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

const pair = ChannelPair.open({ fundingAmount: 16_000_000n as Sat, keys: 'hashed' });
const alice0 = commitmentsOf(pair.a.state) as Commitments;
const bob0 = commitmentsOf(pair.b.state) as Commitments;

// Cross-sign N HTLCs through the harness once, for the removal phases.
for (let i = 0; i < N; i++)
  pair.must(pair.a, {
    kind: 'command',
    cmd: {
      kind: 'add_htlc',
      amount: AMOUNT,
      paymentHash: sha256(preimageOf(i)),
      cltvExpiry: 800_100,
      onion: ONION,
    },
  });
pair.must(pair.a, { kind: 'command', cmd: { kind: 'sign' } });
pair.deliverAll();
const aliceSigned = commitmentsOf(pair.a.state) as Commitments;
const bobSigned = commitmentsOf(pair.b.state) as Commitments;
const firstId = aliceSigned.localNextHtlcId - BigInt(N);

const phases: Record<string, number[]> = { sendAdd: [], receiveAdd: [], sendRemoval: [], receiveRemoval: [] };
for (let round = 0; round < ROUNDS; round++) {
  let a = alice0;
  let b = bob0;
  const adds: MessageValue<'update_add_htlc'>[] = [];
  phases.sendAdd!.push(
    cpuUs(() => {
      for (let i = 0; i < N; i++) {
        const r = must(
          sendAdd(a, {
            amount: AMOUNT,
            paymentHash: sha256(preimageOf(i)),
            cltvExpiry: 800_100,
            onion: ONION,
          }),
        );
        a = r.commitments;
        adds.push(r.msg);
      }
    }),
  );
  phases.receiveAdd!.push(
    cpuUs(() => {
      for (const m of adds) b = must(receiveAdd(b, m));
    }),
  );
  let bs = bobSigned;
  let as = aliceSigned;
  const fulfills: MessageValue<'update_fulfill_htlc'>[] = [];
  for (let i = 0; i < N; i++)
    fulfills.push({
      type: 'update_fulfill_htlc',
      channel_id: bs.channelId,
      id: firstId + BigInt(i),
      payment_preimage: preimageOf(i),
      tlvs: {},
    });
  phases.sendRemoval!.push(
    cpuUs(() => {
      for (const m of fulfills) bs = must(sendRemoval(bs, m));
    }),
  );
  phases.receiveRemoval!.push(
    cpuUs(() => {
      for (const m of fulfills) as = must(receiveRemoval(as, m)).commitments;
    }),
  );
}

const result: Record<string, number> = {};
console.log(`reducer, ${N} updates per batch, median of ${ROUNDS} rounds (CPU µs per update):`);
for (const [name, xs] of Object.entries(phases)) {
  const perUpdate = median(xs) / N;
  result[`${name}_us`] = Number(perUpdate.toFixed(2));
  console.log(
    `  ${name.padEnd(15)} ${perUpdate.toFixed(2).padStart(8)} µs  (${(median(xs) / 1000).toFixed(1)} ms per batch)`,
  );
}
const dir = join(repoRoot, 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'reducer.json'), `${JSON.stringify({ n: N, ...result }, null, 2)}\n`);
