// Devnet validation throughput: a block of 1,000 P2WPKH spends through connectBlock (every consensus check
// and script), the same 1,000 transactions through mempool acceptance (policy + standard-flag scripts),
// beside raw ECDSA verifications/s of src/crypto measured in the same run. The bound: one ECDSA verify per
// P2WPKH input, so tx/s can at best approach verify/s.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressFromScript } from '../src/bitcoin/address.ts';
import type { Transaction } from '../src/bitcoin/tx.ts';
import { connectBlock } from '../src/chain/devnet/connect.ts';
import { Mempool } from '../src/chain/devnet/mempool.ts';
import { Devnet } from '../src/chain/devnet/node.ts';
import { defaultScriptVerifier } from '../src/chain/devnet/scripts.ts';
import { p2wpkhScript, p2wpkhWitness, withWitness } from '../src/chain/devnet/signer.ts';
import { DevnetWallet } from '../src/chain/devnet/wallet.ts';
import { equal } from '../src/core/bytes.ts';
import type { Sat } from '../src/core/units.ts';
import { ecdsaSign, ecdsaVerify, publicKeyOf, secpBackend, sha256 } from '../src/crypto/index.ts';
import { systemEntropy } from '../src/crypto/random.ts';

const N = 1000;
const ROUNDS = 5;
const repoRoot = new URL('..', import.meta.url).pathname;

function best(fn: () => void): number {
  let min = Number.POSITIVE_INFINITY;
  for (let r = 0; r < ROUNDS; r++) {
    const t = process.hrtime.bigint();
    fn();
    min = Math.min(min, Number(process.hrtime.bigint() - t) / 1e6);
  }
  return min; // ms
}

const dir = mkdtempSync(join(tmpdir(), 'shandian-bench-'));
const node = new Devnet({ datadir: dir });
try {
  const wallet = new DevnetWallet(node, systemEntropy);
  node.mine(101, wallet.miningScript);
  const key = sha256(new TextEncoder().encode('bench key'));
  const script = p2wpkhScript(publicKeyOf(key));
  // One funding transaction with 1,000 outputs (sendtoaddress pays one; build the fan-out by hand).
  const seed = wallet.send(addressFromScript('regtest', script)!, 50_000_000n * 10n);
  if (!seed.ok) throw new Error(seed.error.message);
  node.mine(1, wallet.miningScript);
  const seedVout = seed.value.tx.outputs.findIndex((o) => equal(o.script, script));
  const each = 400_000n;
  let fan: Transaction = {
    version: 2,
    inputs: [
      {
        prevout: { txid: seed.value.txid, vout: seedVout },
        scriptSig: new Uint8Array(0),
        sequence: 0xfffffffd,
        witness: [],
      },
    ],
    outputs: Array.from({ length: N }, () => ({ value: each as Sat, script })),
    locktime: 0,
  };
  fan = withWitness(fan, 0, p2wpkhWitness(fan, 0, 500_000_000n, key));
  const fanned = node.accept(fan, { maxFeeRatePerKvb: 0n });
  if (!fanned.ok) throw new Error(fanned.error.message);
  node.mine(1, wallet.miningScript);
  const spends: Transaction[] = [];
  for (let i = 0; i < N; i++) {
    const tx: Transaction = {
      version: 2,
      inputs: [
        {
          prevout: { txid: fanned.value.txid, vout: i },
          scriptSig: new Uint8Array(0),
          sequence: 0xfffffffd,
          witness: [],
        },
      ],
      outputs: [{ value: (each - 500n) as Sat, script }],
      locktime: 0,
    };
    spends.push(withWitness(tx, 0, p2wpkhWitness(tx, 0, each, key)));
  }

  // Mempool acceptance of all 1,000 (a fresh pool each round, so every round does the same work).
  const ctx = node.mempoolContext();
  const mempoolMs = best(() => {
    const pool = new Mempool();
    for (const tx of spends) {
      const r = pool.check(tx, ctx);
      if (!r.ok) throw new Error(r.error.reason);
      pool.add(r.value);
    }
  });
  for (const tx of spends) {
    const r = node.accept(tx);
    if (!r.ok) throw new Error(r.error.message);
  }
  const block = node.template(wallet.miningScript);
  if (block.txs.length !== N + 1) throw new Error(`template has ${block.txs.length} txs`);
  const tip = node.entry(node.tipId)!;
  const height = node.height + 1;
  const blockMs = best(() => {
    const r = connectBlock(
      block,
      {
        height,
        prevHash: tip.hash,
        prevMedianTime: node.medianTimeAt(node.height),
        medianTimeOfParent: (h) => node.medianTimeAt(h - 1),
        coin: (k) => node.coin(k),
      },
      defaultScriptVerifier,
    );
    if (!r.ok) throw new Error(r.error.reason);
  });
  const submitted = node.submitBlock(block);
  if (!submitted.ok || node.tipId !== submitted.value) throw new Error('block did not connect');

  // Raw ECDSA verification of the same library on 1,000 distinct signatures.
  const sigs = Array.from({ length: N }, (_, i) => {
    const msg = sha256(new Uint8Array([i & 0xff, i >> 8]));
    return { msg, sig: ecdsaSign(msg, key).compact };
  });
  const pub = publicKeyOf(key);
  const verifyMs = best(() => {
    for (const s of sigs) if (!ecdsaVerify(s.sig, s.msg, pub)) throw new Error('verify failed');
  });

  const verifyPerS = (N / verifyMs) * 1000;
  const figures = [
    { metric: 'raw ECDSA verify (src/crypto)', value: verifyPerS, unit: 'verify/s', bound: 'reference' },
    {
      metric: `connectBlock, ${N} P2WPKH spends`,
      value: (N / blockMs) * 1000,
      unit: 'tx/s',
      bound: `${((((N / blockMs) * 1000) / verifyPerS) * 100).toFixed(0)}% of raw verify/s (1 verify per tx is the ceiling)`,
    },
    {
      metric: `mempool acceptance, ${N} P2WPKH spends`,
      value: (N / mempoolMs) * 1000,
      unit: 'tx/s',
      bound: `${((((N / mempoolMs) * 1000) / verifyPerS) * 100).toFixed(0)}% of raw verify/s`,
    },
  ];
  console.log(`secp256k1 backend: ${secpBackend}`);
  for (const f of figures)
    console.log(`${f.metric.padEnd(42)} ${f.value.toFixed(0).padStart(8)} ${f.unit.padEnd(9)} ${f.bound}`);
  const out = join(repoRoot, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, 'devnet.json'),
    `${JSON.stringify({ bench: 'devnet', node: process.version, secpBackend, n: N, rounds: ROUNDS, figures }, null, 2)}\n`,
  );
} finally {
  node.close();
  rmSync(dir, { recursive: true, force: true });
}
