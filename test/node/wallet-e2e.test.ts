// The on-chain wallet end to end: a devnet process, a node process pointed at it with Core Lightning's
// --bitcoin-* options, funds from the faucet, withdraw, confirmation, bad input, and a reorg.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type DevnetProcess, type NodeProcess, spawnDevnet, spawnNode } from '../../src/testing/processes.ts';

interface Output {
  txid: string;
  output: number;
  amount_msat: number;
  status: string;
  reserved: boolean;
  blockheight?: number;
}

let base: string;
let devnet: DevnetProcess;
let node: NodeProcess;
let faucetAddr: string;

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) assert.fail(`timed out: ${what}`);
    await wait(100);
  }
}

const funds = async () => (await node.call<{ outputs: Output[] }>('listfunds')).outputs;
const confirmedSat = async () =>
  (await funds()).filter((o) => o.status === 'confirmed').reduce((a, o) => a + o.amount_msat, 0) / 1000;
const mine = async (n: number) => devnet.rpc.call<string[]>('generatetoaddress', [n, faucetAddr]);

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'shandian-wallet-'));
  devnet = await spawnDevnet(join(base, 'chain'));
  faucetAddr = await devnet.rpc.call<string>('getnewaddress');
  await mine(101);
  node = await spawnNode({
    name: 'w',
    datadir: join(base, 'node'),
    args: [...devnet.nodeArgs, '--chain-poll', '0.2'],
  });
});

after(async () => {
  await node?.stop();
  await devnet?.stop();
  rmSync(base, { recursive: true, force: true });
});

test('funded from the faucet: the deposit confirms and listfunds shows it', async () => {
  const { bech32 } = await node.call<{ bech32: string }>('newaddr');
  assert.match(bech32, /^bcrt1q/);
  const txid = await devnet.rpc.call<string>('sendtoaddress', [bech32, 1.0]);
  await mine(1);
  const out = await until('the deposit confirms', async () =>
    (await funds()).find((o) => o.txid === txid && o.status === 'confirmed'),
  );
  assert.equal(out.amount_msat, 100_000_000_000);
  const info = await node.call<{ blockheight: number }>('getinfo');
  assert.equal(info.blockheight, await devnet.rpc.call<number>('getblockcount'));
});

test('bad input: clear errors, nothing reserved, funds unchanged', async () => {
  const before = await funds();
  const cases: [unknown[], RegExp][] = [
    [['bcrt1qnotanaddress', 1000], /invalid address|checksum/i],
    [['bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', 10_000], /network/i],
    [[faucetAddr, 100], /dust/i],
    [[faucetAddr, 50_000_000_000], /insufficient|available/i],
    [[faucetAddr, -5], /amount|satoshi/i],
    [[faucetAddr, 10_000, 'fast-please'], /feerate/i],
  ];
  for (const [params, pattern] of cases) {
    await assert.rejects(
      node.call('withdraw', params),
      (e: { message: string }) => pattern.test(e.message),
      JSON.stringify(params),
    );
  }
  assert.deepEqual(await funds(), before);
  assert.ok(before.every((o) => !o.reserved));
});

test('withdraw: broadcast, mined, change comes back; the payee got exactly the amount', async () => {
  const start = await confirmedSat();
  const payee = await devnet.rpc.call<string>('getnewaddress');
  const w = await node.call<{ txid: string; tx: string }>('withdraw', [payee, 30_000_000]);
  assert.match(w.txid, /^[0-9a-f]{64}$/);
  assert.ok((await devnet.rpc.call<string[]>('getrawmempool')).includes(w.txid), 'in the devnet mempool');
  await mine(1);
  const tx = await devnet.rpc.call<{
    confirmations: number;
    vout: { value: number; scriptPubKey: { address?: string } }[];
  }>('getrawtransaction', [w.txid, true]);
  assert.equal(tx.confirmations, 1);
  assert.equal(tx.vout.find((v) => v.scriptPubKey.address === payee)?.value, 0.3);
  const after = await until('change confirmed', async () => {
    const f = await funds();
    return f.some((o) => o.txid === w.txid && o.status === 'confirmed') ? f : undefined;
  });
  const fee =
    start -
    30_000_000 -
    after.filter((o) => o.status === 'confirmed').reduce((a, o) => a + o.amount_msat, 0) / 1000;
  assert.ok(fee > 0 && fee < 10_000, `fee ${fee} sat`);
  const txs = await node.call<{ transactions: { hash: string; blockheight: number }[] }>('listtransactions');
  assert.ok(txs.transactions.some((t) => t.hash === w.txid && t.blockheight > 0));
});

test('reorg: the block with our withdrawal is invalidated; nothing lost or counted twice; it confirms again', async () => {
  const payee = await devnet.rpc.call<string>('getnewaddress');
  const w = await node.call<{ txid: string }>('withdraw', [payee, 1_000_000]);
  const [blockHash] = await mine(1);
  const settled = await until('confirmed', async () => {
    const f = await funds();
    return f.some((o) => o.txid === w.txid && o.status === 'confirmed') ? f : undefined;
  });
  const total = (os: Output[]) => os.reduce((a, o) => a + o.amount_msat, 0);
  await devnet.rpc.call('invalidateblock', [blockHash]);
  const reorged = await until('the change is unconfirmed again', async () => {
    const f = await funds();
    return f.some((o) => o.txid === w.txid && o.status === 'unconfirmed') ? f : undefined;
  });
  assert.equal(total(reorged), total(settled), 'the same coins, only unconfirmed');
  assert.equal(new Set(reorged.map((o) => `${o.txid}:${o.output}`)).size, reorged.length, 'no coin twice');
  assert.ok((await devnet.rpc.call<string[]>('getrawmempool')).includes(w.txid), 'back in the mempool');
  // A different coinbase address, so the new branch is not the invalidated block mined again.
  await devnet.rpc.call('generatetoaddress', [2, await devnet.rpc.call<string>('getnewaddress')]);
  const again = await until('confirmed on the new branch', async () => {
    const f = await funds();
    return f.some((o) => o.txid === w.txid && o.status === 'confirmed') ? f : undefined;
  });
  assert.equal(total(again), total(settled));
  assert.equal(
    (await node.call<{ blockheight: number }>('getinfo')).blockheight,
    await devnet.rpc.call<number>('getblockcount'),
  );
});

test('the wallet survives a restart', async () => {
  const before = await funds();
  await node.stop();
  node = await spawnNode({
    name: 'w',
    datadir: join(base, 'node'),
    args: [...devnet.nodeArgs, '--chain-poll', '0.2'],
  });
  assert.deepEqual(await funds(), before);
});
