// The devnet as its own process (src/chain/devnet/main.ts), driven over JSON-RPC like bitcoind: timelocks
// (CSV/BIP68, CLTV), coinbase maturity, decode errors, and a restart that resumes at the same tip.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { addressFromScript } from '../../src/bitcoin/address.ts';
import { OP, script } from '../../src/bitcoin/script.ts';
import { serializeTx, type Transaction, txidHex } from '../../src/bitcoin/tx.ts';
import { BitcoindRpc, RpcCallError } from '../../src/chain/bitcoind.ts';
import { p2wshScript, signSegwitV0, withWitness } from '../../src/chain/devnet/signer.ts';
import { hex } from '../../src/core/bytes.ts';
import type { Sat } from '../../src/core/units.ts';
import { publicKeyOf, sha256 } from '../../src/crypto/index.ts';
import { fromHexId, spend, TEST_SCRIPT } from './conformance.ts';

const root = new URL('../..', import.meta.url).pathname;

interface Proc {
  child: ChildProcess;
  rpc: BitcoindRpc;
  cookie: string;
}

async function launch(datadir: string): Promise<Proc> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'src/chain/devnet/main.ts'), '--datadir', datadir],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (l) => {
      rl.close();
      resolve(l);
    });
    child.once('exit', (code) => reject(new Error(`devnet exited early with ${code}`)));
  });
  const ready = JSON.parse(line) as { url: string; cookie: string };
  const url = new URL(ready.url);
  return {
    child,
    cookie: ready.cookie,
    rpc: new BitcoindRpc({ rpcconnect: url.hostname, rpcport: Number(url.port), cookieFile: ready.cookie }),
  };
}

async function terminate(p: Proc): Promise<number | null> {
  if (p.child.exitCode !== null) return p.child.exitCode;
  const exited = new Promise<number | null>((resolve) => p.child.once('exit', (code) => resolve(code)));
  p.child.kill('SIGTERM');
  return exited;
}

async function rpcError(p: Promise<unknown>): Promise<RpcCallError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof RpcCallError, String(e));
    return e;
  }
  assert.fail('call succeeded');
}

const KEY = sha256(new TextEncoder().encode('timelock key'));
const PUB = publicKeyOf(KEY);

/** A P2WSH spend of `witnessScript` with a single signature, paying to TEST_SCRIPT. */
function spendScript(
  prev: { txid: Uint8Array; vout: number; value: bigint },
  witnessScript: Uint8Array,
  opts: { sequence: number; locktime: number },
): Transaction {
  const tx: Transaction = {
    version: 2,
    inputs: [
      {
        prevout: { txid: prev.txid, vout: prev.vout },
        scriptSig: new Uint8Array(0),
        sequence: opts.sequence,
        witness: [],
      },
    ],
    outputs: [{ value: (prev.value - 1_000n) as Sat, script: TEST_SCRIPT }],
    locktime: opts.locktime,
  };
  return withWitness(tx, 0, [signSegwitV0(tx, 0, witnessScript, prev.value, KEY), witnessScript]);
}

describe('devnet process over JSON-RPC', () => {
  let dir: string;
  let p: Proc;
  let faucet: string;

  const fund = async (outScript: Uint8Array, sats: bigint) => {
    const id = await p.rpc.call<string>('sendtoaddress', [
      addressFromScript('regtest', outScript),
      Number(sats) / 1e8,
    ]);
    const tx = await p.rpc.call<{ vout: { n: number; scriptPubKey: { hex: string } }[] }>(
      'getrawtransaction',
      [id, true],
    );
    const vout = tx.vout.find((o) => o.scriptPubKey.hex === hex(outScript))!.n;
    return { txid: fromHexId(id), vout, value: sats };
  };
  const mine = (n: number) => p.rpc.call<string[]>('generatetoaddress', [n, faucet]);
  const height = () => p.rpc.call<number>('getblockcount');
  const send = (tx: Transaction) => p.rpc.call<string>('sendrawtransaction', [hex(serializeTx(tx))]);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shandian-devnet-proc-'));
    p = await launch(dir);
    faucet = await p.rpc.call<string>('getnewaddress');
    await mine(101);
  });
  after(async () => {
    if (p) await terminate(p);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a second devnet on the same datadir refuses to start', async () => {
    const second = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'src/chain/devnet/main.ts'), '--datadir', dir],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    second.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const code = await new Promise<number | null>((resolve) => second.once('exit', (c) => resolve(c)));
    assert.equal(code, 1);
    assert.match(
      stderr,
      /^devnet: Cannot obtain a lock on data directory .*\. The devnet is probably already running\.\n$/,
    );
  });

  test('malformed raw transaction: -22 TX decode failed', async () => {
    const e = await rpcError(p.rpc.call('sendrawtransaction', ['02000000deadbeef']));
    assert.equal(e.code, -22);
    assert.equal(e.message, 'TX decode failed. Make sure the tx has at least one input.');
  });

  test('CSV-locked P2WSH: non-BIP68-final before maturity, script failure with a short sequence, accepted after', async () => {
    const csv = script(5n, OP.OP_CHECKSEQUENCEVERIFY, OP.OP_DROP, PUB, OP.OP_CHECKSIG);
    const prev = await fund(p2wshScript(csv), 200_000n);
    await mine(1); // confirmed at height h
    const early = await rpcError(send(spendScript(prev, csv, { sequence: 5, locktime: 0 })));
    assert.equal(early.code, -26);
    assert.equal(early.message, 'non-BIP68-final');
    await mine(3); // tip h+3: the next block is h+4 = h+5-1, still locked
    assert.equal(
      (await rpcError(send(spendScript(prev, csv, { sequence: 5, locktime: 0 })))).message,
      'non-BIP68-final',
    );
    const short = await rpcError(send(spendScript(prev, csv, { sequence: 4, locktime: 0 })));
    assert.equal(short.code, -26);
    assert.equal(short.message, 'mandatory-script-verify-flag-failed (Locktime requirement not satisfied)');
    await mine(1);
    const id = await send(spendScript(prev, csv, { sequence: 5, locktime: 0 }));
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.ok((await p.rpc.call<string[]>('getrawmempool')).includes(id));
  });

  test('CLTV-locked P2WSH: non-final before the height, accepted at it', async () => {
    const lockAt = (await height()) + 5;
    const cltv = script(BigInt(lockAt), OP.OP_CHECKLOCKTIMEVERIFY, OP.OP_DROP, PUB, OP.OP_CHECKSIG);
    const prev = await fund(p2wshScript(cltv), 200_000n);
    await mine(1);
    const nonFinal = await rpcError(
      send(spendScript(prev, cltv, { sequence: 0xfffffffe, locktime: lockAt })),
    );
    assert.equal(nonFinal.code, -26);
    assert.equal(nonFinal.message, 'non-final');
    // Final (below the next height) but below the script's lock.
    const tooLow = await rpcError(
      send(spendScript(prev, cltv, { sequence: 0xfffffffe, locktime: await height() })),
    );
    assert.equal(tooLow.message, 'mandatory-script-verify-flag-failed (Locktime requirement not satisfied)');
    const final = await rpcError(send(spendScript(prev, cltv, { sequence: 0xffffffff, locktime: lockAt })));
    assert.equal(final.message, 'mandatory-script-verify-flag-failed (Locktime requirement not satisfied)');
    while ((await height()) + 1 <= lockAt) await mine(1);
    const id = await send(spendScript(prev, cltv, { sequence: 0xfffffffe, locktime: lockAt }));
    assert.match(id, /^[0-9a-f]{64}$/);
  });

  test('coinbase maturity: refused at depth 99, accepted at 100', async () => {
    const [blockId] = await p.rpc.call<string[]>('generatetoaddress', [
      1,
      addressFromScript('regtest', TEST_SCRIPT),
    ]);
    const block = await p.rpc.call<{ tx: string[]; height: number }>('getblock', [blockId, 1]);
    const coinbase = await p.rpc.call<{ vout: { value: number }[] }>('getrawtransaction', [
      block.tx[0],
      true,
    ]);
    const value = BigInt(Math.round(coinbase.vout[0]!.value * 1e8));
    await mine(98); // the next block is at depth 99 from the coinbase
    const tx = spend(fromHexId(block.tx[0]!), 0, value, 10_000n);
    const early = await rpcError(send(tx));
    assert.equal(early.code, -26);
    assert.equal(early.message, 'bad-txns-premature-spend-of-coinbase, tried to spend coinbase at depth 99');
    await mine(1);
    assert.equal(await send(tx), txidHex(tx));
  });

  test('SIGKILL right after generatetoaddress and sendrawtransaction loses nothing they acknowledged', async () => {
    const mined = await mine(3);
    const pending = await p.rpc.call<string>('sendtoaddress', [faucet, 0.25]);
    const exited = new Promise<void>((resolve) => p.child.once('exit', () => resolve()));
    p.child.kill('SIGKILL');
    await exited;
    p = await launch(dir); // also takes over the stale .lock of the killed process
    assert.equal(await p.rpc.call<string>('getbestblockhash'), mined[2]);
    assert.ok((await p.rpc.call<string[]>('getrawmempool')).includes(pending));
  });

  test('restart resumes at the same tip with the same mempool and balance', async () => {
    const pending = await p.rpc.call<string>('sendtoaddress', [faucet, 0.5]);
    const tip = await p.rpc.call<string>('getbestblockhash');
    const count = await height();
    const balance = await p.rpc.call<number>('getbalance');
    const mempool = (await p.rpc.call<string[]>('getrawmempool')).sort();
    assert.ok(mempool.includes(pending));
    assert.equal(await terminate(p), 0, 'clean exit on SIGTERM');
    p = await launch(dir);
    assert.equal(await p.rpc.call<string>('getbestblockhash'), tip);
    assert.equal(await height(), count);
    assert.equal(await p.rpc.call<number>('getbalance'), balance);
    assert.deepEqual((await p.rpc.call<string[]>('getrawmempool')).sort(), mempool);
    const [next] = await mine(1);
    const block = await p.rpc.call<{ tx: string[] }>('getblock', [next, 1]);
    assert.ok(block.tx.includes(pending), 'the persisted mempool transaction gets mined');
  });
});
