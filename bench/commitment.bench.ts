// Commitment benchmark: what commitment_signed costs one node, without sockets or storage. For 0, 30
// and 483 HTLCs (max_accepted_htlcs): build their commitment + sign it (the sender of
// commitment_signed) and build our commitment + verify their signatures (the receiver), each from
// the channel's basepoints and a per-commitment point as the reducer does. Rates per CPU-second of
// this process (the machine is shared; user + system time, which counts a signing worker's time too)
// and wall-clock microseconds. Writes bench/results/commitment.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromReversedHex } from '../src/bitcoin/tx.ts';
import { localChannelSigner } from '../src/bolt02-channel/signer.ts';
import {
  buildHolderCommitment,
  type ChannelTxParams,
  type CommitmentHtlc,
  perCommitmentPointAt,
  verifyLocalCommitmentSignatures,
} from '../src/bolt03-tx/index.ts';
import { feeratePerKw, msat, sat } from '../src/core/units.ts';
import { publicKeyOf, secpBackend, sha256 } from '../src/crypto/index.ts';
import { signaturePool } from '../src/crypto/signature-pool.ts';
import type { ChannelKeyMaterial } from '../src/keys/derivation.ts';
import { repoRoot } from '../src/testing/spec.ts';

const ROUND_MS = Number(process.env.COMMITMENT_BENCH_MS ?? 1500);
const SIZES = (process.env.COMMITMENT_BENCH_HTLCS ?? '0,30,483').split(',').map(Number);

function keyMaterial(tag: number): ChannelKeyMaterial {
  const s = (n: number) => sha256(new Uint8Array([tag, n]));
  return {
    index: tag,
    fundingSecret: s(1),
    fundingPubkey: publicKeyOf(s(1)),
    revocationBasepointSecret: s(2),
    revocationBasepoint: publicKeyOf(s(2)),
    paymentBasepointSecret: s(3),
    paymentBasepoint: publicKeyOf(s(3)),
    delayedPaymentBasepointSecret: s(4),
    delayedPaymentBasepoint: publicKeyOf(s(4)),
    htlcBasepointSecret: s(5),
    htlcBasepoint: publicKeyOf(s(5)),
    perCommitmentSeed: s(6),
  };
}

const alice = localChannelSigner(keyMaterial(1));
const bob = localChannelSigner(keyMaterial(2));
const FUNDING = sat(10_000_000);
const aliceView: ChannelTxParams = {
  channelType: 'anchors_zero_fee_htlc',
  fundingOutpoint: {
    txid: fromReversedHex('8984484a580b825b9972d7adb15050b3ab624ccd731946b3eeddb92f4e7ef6be'),
    vout: 0,
  },
  fundingAmount: FUNDING,
  localIsFunder: true,
  local: { basepoints: alice.basepoints, dustLimit: sat(546), toSelfDelay: 144 },
  remote: { basepoints: bob.basepoints, dustLimit: sat(546), toSelfDelay: 144 },
};
const bobView: ChannelTxParams = {
  ...aliceView,
  localIsFunder: false,
  local: aliceView.remote,
  remote: aliceView.local,
};

/** Alice offered `n` HTLCs of 1,000 sat, as the channel bench's batches do. */
function states(n: number) {
  const htlcs: CommitmentHtlc[] = Array.from({ length: n }, (_, i) => ({
    direction: 'offered',
    id: BigInt(i),
    amount: msat(1_000_000n),
    paymentHash: sha256(new Uint8Array([9, i & 0xff, i >> 8])),
    cltvExpiry: 800_000 + (i % 7),
  }));
  const inHtlcs = BigInt(n) * 1_000_000n;
  const a = (FUNDING * 1000n - inHtlcs) / 2n;
  const b = FUNDING * 1000n - inHtlcs - a;
  const feerate = feeratePerKw(2500);
  const commitmentNumber = 5n;
  return {
    alice: { commitmentNumber, feerate, toLocal: msat(a), toRemote: msat(b), htlcs },
    bob: {
      commitmentNumber,
      feerate,
      toLocal: msat(b),
      toRemote: msat(a),
      htlcs: htlcs.map((h) => ({ ...h, direction: 'received' as const })),
    },
  };
}

interface Measure {
  /** Per second of this process's CPU time (all threads). */
  readonly perCpuSecond: number;
  /** Milliseconds of the calling thread's CPU time per operation: the wall time on an idle machine. */
  readonly callerCpuMs: number;
  readonly wallMicros: number;
}

/** CPU time of this process's main thread (its task id is the pid), ms, from /proc (10 ms ticks). */
function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

function measure(fn: () => void): Measure {
  fn(); // warm up
  let n = 0;
  const cpu0 = process.cpuUsage();
  const thread0 = mainThreadCpuMs();
  const start = performance.now();
  let now = start;
  while (now - start < ROUND_MS) {
    fn();
    n++;
    now = performance.now();
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    perCpuSecond: (n * 1e6) / (cpu.user + cpu.system),
    callerCpuMs: (mainThreadCpuMs() - thread0) / n,
    wallMicros: ((now - start) * 1000) / n,
  };
}

function must<T>(r: { ok: true; value: T } | { ok: false; error: unknown }): T {
  if (!r.ok) throw new Error(`bench setup failed: ${JSON.stringify(r.error)}`);
  return r.value;
}

// Start the workers before measuring (they take a few tens of ms to load).
signaturePool().start();
await new Promise((resolve) => setTimeout(resolve, 300));

// The reducer derives keys for a new per-commitment point with every commitment: the builds here
// cycle through more points than the key memo holds, so none is served from it.
const POINTS = Array.from({ length: 300 }, (_, i) =>
  perCommitmentPointAt(keyMaterial(2).perCommitmentSeed, BigInt(i)),
);
let nextPoint = 0;
const freshPoint = () => POINTS[nextPoint++ % POINTS.length]!;

const results: Record<string, Record<string, Measure>> = {};
for (const n of SIZES) {
  const s = states(n);
  // The commitment is bob's; its point is bob's per-commitment point.
  const point = POINTS[0]!;
  const theirs = must(buildHolderCommitment(aliceView, 'remote', s.alice, point));
  const ours = must(buildHolderCommitment(bobView, 'local', s.bob, point));
  const sigs = alice.signRemoteCommitment(theirs);
  const build = measure(() => {
    must(buildHolderCommitment(aliceView, 'remote', s.alice, freshPoint()));
  });
  const sign = measure(() => {
    alice.signRemoteCommitment(theirs);
  });
  const verify = measure(() => {
    if (!verifyLocalCommitmentSignatures(ours, sigs).ok) throw new Error('bench: signatures do not verify');
  });
  const buildSign = measure(() => {
    alice.signRemoteCommitment(must(buildHolderCommitment(aliceView, 'remote', s.alice, freshPoint())));
  });
  // Signatures verify for one point only: build+verify is build + verify, each measured above.
  const buildVerify: Measure = {
    perCpuSecond: 1 / (1 / build.perCpuSecond + 1 / verify.perCpuSecond),
    callerCpuMs: build.callerCpuMs + verify.callerCpuMs,
    wallMicros: build.wallMicros + verify.wallMicros,
  };
  results[String(n)] = { build, sign, verify, buildSign, buildVerify };
  const f = (m: Measure) =>
    `${m.perCpuSecond.toFixed(1).padStart(7)}/CPU-s, caller ${m.callerCpuMs.toFixed(2).padStart(6)} ms CPU, ${(m.wallMicros / 1000).toFixed(2).padStart(6)} ms wall`;
  console.log(`${String(n).padStart(3)} HTLCs: build        ${f(build)}`);
  console.log(`           sign         ${f(sign)}`);
  console.log(`           verify       ${f(verify)}`);
  console.log(`           build+sign   ${f(buildSign)}`);
  console.log(`           build+verify ${f(buildVerify)}`);
}

console.log(`secp256k1 backend: ${secpBackend}; signing workers ready: ${signaturePool().readyWorkers}`);
const out = join(repoRoot, 'bench', 'results');
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, 'commitment.json'),
  `${JSON.stringify({ secpBackend, roundMs: ROUND_MS, results }, null, 2)}\n`,
);
