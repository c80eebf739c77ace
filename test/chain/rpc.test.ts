// The devnet's HTTP JSON-RPC server: auth (cookie and user/password), JSON-RPC 1.0/2.0, batches, named
// parameters, Core's error codes and result shapes, timer mining and automine.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { addressFromScript } from '../../src/bitcoin/address.ts';
import { reversedHex, serializeTx, txid } from '../../src/bitcoin/tx.ts';
import { BitcoindChain } from '../../src/chain/bitcoind.ts';
import { blockHash, parseBlock, parseHeader } from '../../src/chain/block.ts';
import { type RunningDevnet, startDevnet } from '../../src/chain/devnet/server.ts';
import { fromHex, hex } from '../../src/core/bytes.ts';
import { fromHexId, spend, TEST_SCRIPT } from './conformance.ts';

async function post(
  d: RunningDevnet,
  body: unknown,
  auth = `${d.rpcUser}:${d.rpcPassword}`,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(d.url, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(auth).toString('base64')}`,
      'Content-Type': 'application/json',
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

describe('devnet JSON-RPC server', () => {
  let dir: string;
  let d: RunningDevnet;
  let address: string;
  // biome-ignore lint/suspicious/noExplicitAny: RPC results are checked field by field below
  const call = async (method: string, params: unknown = []): Promise<any> => {
    const r = await post(d, { jsonrpc: '1.0', id: 'x', method, params });
    const body = r.json as { result: unknown; error: { code: number; message: string } | null };
    if (body.error)
      throw Object.assign(new Error(body.error.message), { code: body.error.code, status: r.status });
    return body.result;
  };
  const failure = async (
    method: string,
    params: unknown = [],
  ): Promise<{ code: number; message: string; status: number }> => {
    try {
      await call(method, params);
    } catch (e) {
      return e as { code: number; message: string; status: number };
    }
    assert.fail(`${method} succeeded`);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shandian-rpc-'));
    d = await startDevnet({ datadir: dir, rpcUser: 'alice', rpcPassword: 'secret' });
    address = await call('getnewaddress');
    await call('generatetoaddress', [101, address]);
  });
  after(async () => {
    await d.stop();
    assert.equal(existsSync(join(dir, '.cookie')), false, 'cookie removed on stop');
    rmSync(dir, { recursive: true, force: true });
  });

  test('auth: the cookie and the configured user both work; anything else is 401', async () => {
    const cookie = readFileSync(join(dir, '.cookie'), 'utf8');
    assert.match(cookie, /^__cookie__:[0-9a-f]{64}$/);
    assert.equal((await post(d, { method: 'getblockcount' }, cookie)).status, 200);
    assert.equal((await post(d, { method: 'getblockcount' }, 'alice:secret')).status, 200);
    const bad = await fetch(d.url, {
      method: 'POST',
      body: '{}',
      headers: { Authorization: `Basic ${Buffer.from('alice:wrong').toString('base64')}` },
    });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.get('www-authenticate'), 'Basic realm="jsonrpc"');
    assert.equal((await fetch(d.url, { method: 'POST', body: '{}' })).status, 401);
  });

  test('JSON-RPC 1.0 and 2.0 envelopes, batches, notifications, named parameters', async () => {
    const v1 = await post(d, { id: 7, method: 'getblockcount', params: [] });
    assert.deepEqual(v1, { status: 200, json: { result: 101, error: null, id: 7 } });
    const v2 = await post(d, { jsonrpc: '2.0', id: 8, method: 'getblockcount' });
    assert.deepEqual(v2, { status: 200, json: { jsonrpc: '2.0', result: 101, id: 8 } });
    const missing = await post(d, { jsonrpc: '2.0', id: 9, method: 'nope' });
    assert.deepEqual(missing, {
      status: 200,
      json: { jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: 9 },
    });
    const missing1 = await post(d, { id: 9, method: 'nope' });
    assert.equal(missing1.status, 404);
    const notification = await post(d, { jsonrpc: '2.0', method: 'getblockcount' });
    assert.equal(notification.status, 204);
    const batch = await post(d, [
      { jsonrpc: '2.0', id: 1, method: 'getblockhash', params: [0] },
      { jsonrpc: '2.0', id: 2, method: 'getblockhash', params: { height: 1000 } },
    ]);
    assert.equal(batch.status, 200);
    assert.deepEqual(batch.json, [
      { jsonrpc: '2.0', result: '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206', id: 1 },
      { jsonrpc: '2.0', error: { code: -8, message: 'Block height out of range' }, id: 2 },
    ]);
    const parse = await post(d, '{not json');
    assert.equal(parse.status, 500);
    assert.deepEqual((parse.json as { error: unknown }).error, { code: -32700, message: 'Parse error' });
    const named = await failure('getblockhash', { heigth: 1 });
    assert.deepEqual([named.code, named.message], [-8, 'Unknown named parameter heigth']);
  });

  test("blocks and headers in Core's shapes, verbosity 0/1/2", async () => {
    const hash = await call('getblockhash', [101]);
    const raw = await call('getblock', [hash, 0]);
    const block = parseBlock(fromHex(raw));
    assert.equal(reversedHex(blockHash(block.header)), hash);
    const v1 = await call('getblock', [hash]);
    assert.equal(v1.hash, hash);
    assert.equal(v1.height, 101);
    assert.equal(v1.confirmations, 1);
    assert.equal(v1.bits, '207fffff');
    assert.equal(v1.chainwork, (102 * 2).toString(16).padStart(64, '0'));
    assert.equal(v1.previousblockhash, await call('getblockhash', [100]));
    assert.equal(v1.nextblockhash, undefined);
    assert.deepEqual(v1.tx, [reversedHex(txid(block.txs[0]!))]);
    const v2 = await call('getblock', [hash, 2]);
    assert.equal(v2.tx[0].vin[0].coinbase.slice(0, 4), '0165', 'BIP34 height 101');
    assert.equal(v2.tx[0].vout[0].value, 50);
    assert.equal(v2.tx[0].vout[0].scriptPubKey.address, address);
    assert.equal(v2.tx[0].vout[0].scriptPubKey.type, 'witness_v0_keyhash');
    assert.equal(v2.tx[0].vout[1].scriptPubKey.type, 'nulldata', 'witness commitment');
    const header = await call('getblockheader', [hash, false]);
    assert.equal(reversedHex(blockHash(parseHeader(fromHex(header)))), hash);
    const genesis = await call('getblockheader', [
      '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206',
    ]);
    assert.equal(genesis.previousblockhash, undefined);
    assert.equal(genesis.nextblockhash, await call('getblockhash', [1]));
    const unknown = await failure('getblock', ['00'.repeat(32)]);
    assert.deepEqual([unknown.code, unknown.message, unknown.status], [-5, 'Block not found', 500]);
    const short = await failure('getblock', ['abcd']);
    assert.deepEqual([short.code, short.message], [-8, "blockhash must be of length 64 (not 4, for 'abcd')"]);
  });

  test('faucet, mempool views, gettxout, testmempoolaccept, estimatesmartfee', async () => {
    assert.equal(await call('getbalance'), 50);
    const txid = await call('sendtoaddress', [address, 1.25]);
    assert.deepEqual(await call('getrawmempool'), [txid]);
    const verbose = await call('getrawmempool', [true]);
    assert.equal(verbose[txid].fees.base > 0, true);
    const info = await call('getmempoolinfo');
    assert.equal(info.size, 1);
    assert.equal(info.minrelaytxfee, 0.00001);
    const tx = await call('getrawtransaction', [txid, true]);
    assert.equal(tx.txid, txid);
    assert.equal(tx.confirmations, undefined);
    const paid = tx.vout.find((o: { value: number }) => o.value === 1.25);
    const out = await call('gettxout', [txid, paid.n]);
    assert.equal(out.confirmations, 0);
    assert.equal(out.value, 1.25);
    assert.equal(await call('gettxout', [txid, paid.n, false]), null);
    const raw = await call('getrawtransaction', [txid]);
    const tested = await call('testmempoolaccept', [[raw]]);
    assert.equal(tested[0].allowed, false);
    assert.equal(tested[0]['reject-reason'], 'txn-already-in-mempool');
    assert.equal(await call('sendrawtransaction', [raw]), txid, 'resending a mempool tx returns its txid');
    const [mined] = await call('generatetoaddress', [1, address]);
    const confirmed = await call('getrawtransaction', [txid, true]);
    assert.equal(confirmed.blockhash, mined);
    const v3 = await call('getblock', [mined, 3]);
    assert.equal(v3.tx[1].txid, txid);
    assert.equal(v3.tx[1].fee, verbose[txid].fees.base);
    assert.equal(v3.tx[1].vin[0].prevout.generated, true, 'the faucet spent a coinbase');
    assert.equal(v3.tx[1].vin[0].prevout.value, 50);
    assert.equal((await call('getblock', [mined, 2])).tx[1].vin[0].prevout, undefined);
    assert.equal(confirmed.confirmations, 1);
    const fee = await call('estimatesmartfee', [6]);
    assert.equal(typeof fee.feerate, 'number');
    assert.ok(fee.blocks >= 2);
    const badTarget = await failure('estimatesmartfee', [0]);
    assert.deepEqual(
      [badTarget.code, badTarget.message],
      [-8, 'Invalid conf_target, must be between 1 and 1008'],
    );
    const badAddress = await failure('generatetoaddress', [1, 'bc1qnotregtest']);
    assert.deepEqual([badAddress.code, badAddress.message], [-5, 'Error: Invalid address']);
    const noTx = await failure('getrawtransaction', ['11'.repeat(32)]);
    assert.equal(noTx.code, -5);
    assert.equal(
      noTx.message,
      'No such mempool or blockchain transaction. Use gettransaction for wallet transactions.',
    );
    const tooMuch = await failure('sendtoaddress', [address, 1_000_000]);
    assert.deepEqual([tooMuch.code, tooMuch.message], [-6, 'Insufficient funds']);
  });

  test('testmempoolaccept checks a child after its parent in the same call', async () => {
    const funding = await call('sendtoaddress', [addressFromScript('regtest', TEST_SCRIPT), 0.01]);
    await call('generatetoaddress', [1, address]);
    const ftx = await call('getrawtransaction', [funding, true]);
    const vout = ftx.vout.find(
      (o: { scriptPubKey: { hex: string } }) => o.scriptPubKey.hex === hex(TEST_SCRIPT),
    ).n;
    const parent = spend(fromHexId(funding), vout, 1_000_000n, 1_000n);
    const child = spend(txid(parent), 0, 999_000n, 1_000n);
    const both = await call('testmempoolaccept', [[hex(serializeTx(parent)), hex(serializeTx(child))]]);
    assert.deepEqual(
      both.map((r: { allowed: boolean }) => r.allowed),
      [true, true],
    );
    assert.equal(both[1].txid, reversedHex(txid(child)));
    assert.equal(both[1].fees.base, 0.00001);
    const alone = await call('testmempoolaccept', [[hex(serializeTx(child))]]);
    assert.equal(alone[0]['reject-reason'], 'missing-inputs');
    assert.deepEqual(await call('getrawmempool'), [], 'nothing was added');
    const empty = await failure('testmempoolaccept', [[]]);
    assert.deepEqual([empty.code, empty.message], [-8, 'Array must contain between 1 and 25 transactions.']);
  });

  test('generateblock confirms a chosen transaction, even one that conflicts with the mempool; setmocktime', async () => {
    const funding = await call('sendtoaddress', [addressFromScript('regtest', TEST_SCRIPT), 0.02]);
    const other = await call('sendtoaddress', [address, 0.01]);
    const { hash } = await call('generateblock', [address, [funding]]);
    const block = await call('getblock', [hash, 1]);
    assert.equal(block.tx.length, 2);
    assert.equal(block.tx[1], funding);
    assert.ok((await call('getrawmempool')).includes(other), 'the other transaction waits');
    const ftx = await call('getrawtransaction', [funding, true]);
    const vout = ftx.vout.find(
      (o: { scriptPubKey: { hex: string } }) => o.scriptPubKey.hex === hex(TEST_SCRIPT),
    ).n;
    const inMempool = spend(fromHexId(funding), vout, 2_000_000n, 1_000n);
    await call('sendrawtransaction', [hex(serializeTx(inMempool))]);
    const rival = spend(fromHexId(funding), vout, 2_000_000n, 500n, {
      to: new Uint8Array([0x00, 0x14, ...new Uint8Array(20).fill(9)]),
    });
    const mined = await call('generateblock', [address, [hex(serializeTx(rival))]]);
    assert.deepEqual((await call('getblock', [mined.hash, 1])).tx.slice(1), [reversedHex(txid(rival))]);
    assert.ok(
      !(await call('getrawmempool')).includes(reversedHex(txid(inMempool))),
      'the conflicting mempool tx is gone',
    );
    const missing = await failure('generateblock', [address, ['22'.repeat(32)]]);
    assert.deepEqual([missing.code, missing.message], [-5, `Transaction ${'22'.repeat(32)} not in mempool.`]);
    const future = Math.floor(Date.now() / 1000) + 100_000;
    assert.equal(await call('setmocktime', [future]), null);
    const [later] = await call('generatetoaddress', [1, address]);
    assert.ok((await call('getblockheader', [later])).time >= future);
    await call('setmocktime', [0]);
  });

  test('invalidateblock and reconsiderblock over RPC, getchaintips', async () => {
    const height = await call('getblockcount');
    const hash = await call('getblockhash', [height]);
    assert.equal(await call('invalidateblock', [hash]), null);
    assert.equal(await call('getblockcount'), height - 1);
    const tips = await call('getchaintips');
    assert.ok(tips.some((t: { hash: string; status: string }) => t.hash === hash && t.status === 'invalid'));
    assert.equal(await call('reconsiderblock', [hash]), null);
    assert.equal(await call('getbestblockhash'), hash);
    const genesis = await failure('invalidateblock', [
      '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206',
    ]);
    assert.equal(genesis.code, -1);
  });
});

describe('bitcoind adapter startup check', () => {
  test('accepts the devnet as regtest, refuses it as signet, and fails auth cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shandian-rpc-'));
    const d = await startDevnet({ datadir: dir });
    try {
      const { hostname, port } = new URL(d.url);
      const ok = await new BitcoindChain({
        rpcconnect: hostname,
        rpcport: Number(port),
        datadir: dir,
      }).checkConnection();
      assert.deepEqual(ok, { chain: 'regtest', version: 280000, blocks: 0, initialBlockDownload: false });
      const signet = new BitcoindChain({
        rpcconnect: hostname,
        rpcport: Number(port),
        cookieFile: d.cookieFile,
        network: 'signet',
      });
      await assert.rejects(
        signet.checkConnection(),
        /bitcoind is on chain "regtest" but the node is configured for signet \("signet"\)/,
      );
      const wrong = new BitcoindChain({
        rpcconnect: hostname,
        rpcport: Number(port),
        rpcuser: 'u',
        rpcpassword: 'p',
      });
      await assert.rejects(wrong.checkConnection(), /authorisation failed/);
      const nowhere = new BitcoindChain({
        rpcconnect: hostname,
        rpcport: Number(port),
        datadir: join(dir, 'missing'),
      });
      await assert.rejects(nowhere.checkConnection(), /no rpcuser\/rpcpassword and no readable \.cookie/);
    } finally {
      await d.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('devnet mining modes', () => {
  test('automine mines a block as soon as a transaction arrives', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shandian-rpc-'));
    const d = await startDevnet({ datadir: dir, automine: true });
    try {
      const address = d.wallet.newAddress();
      d.node.mine(101, d.wallet.miningScript);
      const before = d.node.height;
      const r = d.wallet.send(address, 10_000_000n);
      assert.ok(r.ok);
      assert.equal(d.node.height, before + 1);
      assert.equal(d.node.mempool.size, 0);
      assert.equal(d.node.findTx(r.value.id)!.block, d.node.tipId);
    } finally {
      await d.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('blockTimeMs mines on a timer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shandian-rpc-'));
    const d = await startDevnet({ datadir: dir, blockTimeMs: 20 });
    try {
      const deadline = Date.now() + 5_000;
      while (d.node.height < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(d.node.height >= 3, `height ${d.node.height}`);
    } finally {
      await d.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
