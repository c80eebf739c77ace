// End to end on a devnet process: alice funds a channel to bob, then the coin her funding transaction
// spends is spent again by another transaction (signed here with alice's own seed, replacing the funding
// in the devnet mempool) that gets mined instead. The wallet drops the dead funding at once; the channel
// waits until the double-spend is DOUBLE_SPEND_DEPTH deep, then alice forgets it and tells bob, who
// forgets it too (he has nothing in it).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeAddress } from '../../src/bitcoin/address.ts';
import { parseTx, serializeTx, type Transaction, txidHex } from '../../src/bitcoin/tx.ts';
import { DOUBLE_SPEND_DEPTH } from '../../src/bolt02-channel/index.ts';
import { fromHex, hex } from '../../src/core/bytes.ts';
import { KeyChain } from '../../src/keys/derivation.ts';
import { loadSeedFile } from '../../src/keys/seed-file.ts';
import type { NodeProcess } from '../../src/testing/processes.ts';
import { signInputs } from '../../src/wallet/spend.ts';
import { Wallet } from '../../src/wallet/wallet.ts';
import { waitUntil, withProcessNet } from './devnet-process.ts';

const channels = async (n: NodeProcess) =>
  (await n.call<{ channels: { state: string; channel_id?: string }[] }>('listpeerchannels')).channels;
const closed = async (n: NodeProcess) =>
  (
    await n.call<{ closedchannels: { channel_id?: string; close_cause: string; opener: string }[] }>(
      'listclosedchannels',
    )
  ).closedchannels;
const outputs = async (n: NodeProcess) =>
  (
    await n.call<{ outputs: { txid: string; amount_msat: number; status: string; reserved: boolean }[] }>(
      'listfunds',
    )
  ).outputs;
const heightOf = async (n: NodeProcess) => (await n.call<{ blockheight: number }>('getinfo')).blockheight;

test('process: the funding transaction is double-spent; both sides forget the channel once it is deep', {
  timeout: 300_000,
}, async () => {
  await withProcessNet('shandian-dblspend-', async ({ chain, start, log }) => {
    const alice = await start('alice');
    const bob = await start('bob');
    const bobInfo = await bob.call<{ id: string; binding: { port: number }[] }>('getinfo');
    const addr = (await alice.call<{ bech32: string }>('newaddr')).bech32;
    const faucetTxid = await chain.rpc.call<string>('sendtoaddress', [addr, 0.01]);
    const faucetTx = parseTx(fromHex(await chain.rpc.call<string>('getrawtransaction', [faucetTxid])));
    await chain.mine(1);
    await waitUntil(
      async () => (await outputs(alice)).some((o) => o.status === 'confirmed'),
      20_000,
      'alice funded',
    );
    await alice.call('connect', { id: bobInfo.id, host: '127.0.0.1', port: bobInfo.binding[0]!.port });
    const funded = await alice.call<{ tx: string; txid: string; channel_id: string }>('fundchannel', {
      id: bobInfo.id,
      amount: 500_000,
    });
    const fundingTx = parseTx(fromHex(funded.tx));
    assert.equal((await channels(alice))[0]?.state, 'CHANNELD_AWAITING_LOCKIN');
    await waitUntil(
      async () => (await channels(bob))[0]?.state === 'CHANNELD_AWAITING_LOCKIN',
      20_000,
      'bob',
    );
    log('funding broadcast');

    // The conflict: the same coin back to a fresh address of alice's, at a far higher fee (full RBF).
    const input = fundingTx.inputs[0]!;
    assert.equal(txidHex(faucetTx), faucetTxid);
    const coin = faucetTx.outputs[input.prevout.vout]!;
    const back = (await alice.call<{ bech32: string }>('newaddr')).bech32;
    const backScript = decodeAddress('regtest', back);
    assert.ok(backScript.ok);
    const unsigned: Transaction = {
      version: 2,
      inputs: [{ prevout: input.prevout, scriptSig: new Uint8Array(0), sequence: 0xfffffffd, witness: [] }],
      outputs: [{ value: (coin.value - 20_000n) as typeof coin.value, script: backScript.value }],
      locktime: 0,
    };
    const seed = loadSeedFile({ datadir: alice.datadir, network: 'regtest' }).seed;
    const signer = new Wallet('regtest', new KeyChain(seed, 'regtest'));
    assert.ok(signer.addUnconfirmed(faucetTx).ok);
    const conflict = signInputs(signer, unsigned);
    const conflictTxid = await chain.rpc.call<string>('sendrawtransaction', [hex(serializeTx(conflict))]);
    assert.equal(conflictTxid, txidHex(conflict));
    const base = await chain.height();
    await chain.mine(1);
    log('double-spend mined');

    // The wallet at once: the dead funding (and its change) is gone, the coin came back, nothing reserved.
    await waitUntil(
      async () => (await outputs(alice)).some((o) => o.txid === conflictTxid && o.status === 'confirmed'),
      20_000,
      'alice sees the double-spend',
    );
    const funds = await outputs(alice);
    assert.deepEqual(
      funds.map((o) => [o.txid, o.status, o.reserved]),
      [[conflictTxid, 'confirmed', false]],
    );
    assert.equal(funds[0]!.amount_msat, Number((coin.value - 20_000n) * 1000n));
    const txs = await alice.call<{ transactions: { hash: string }[] }>('listtransactions');
    assert.ok(txs.transactions.some((t) => t.hash === conflictTxid));
    assert.ok(!txs.transactions.some((t) => t.hash === funded.txid), 'the dead funding is not listed');

    // The channel waits for depth: a reorg could still bring the funding back.
    await chain.mine(DOUBLE_SPEND_DEPTH - 2);
    await waitUntil(
      async () => (await heightOf(alice)) === base + DOUBLE_SPEND_DEPTH - 1,
      20_000,
      'alice at depth 5',
    );
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await channels(alice))[0]?.state, 'CHANNELD_AWAITING_LOCKIN');

    await chain.mine(1);
    await waitUntil(
      async () => (await channels(alice)).length === 0 && (await channels(bob)).length === 0,
      30_000,
      'both forget the channel',
    );
    // A forgotten channel moves to the closed records on the next block: listed either way, but wait
    // out the moment of the move.
    await waitUntil(
      async () => (await closed(alice)).length === 1 && (await closed(bob)).length === 1,
      20_000,
      'listclosedchannels',
    );
    const [a] = await closed(alice);
    assert.equal(a!.opener, 'local');
    assert.equal(a!.close_cause, 'aborted');
    const [b] = await closed(bob);
    assert.equal(b!.opener, 'remote');
    assert.equal(b!.close_cause, 'remote_error');
    assert.ok(alice.log.some((l) => l.includes('double-spent')));
    // Nothing was published for the channel, and the wallet still holds exactly the coin that came back.
    assert.deepEqual(
      (await outputs(alice)).map((o) => [o.txid, o.status, o.reserved]),
      [[conflictTxid, 'confirmed', false]],
    );
    const mempool = await chain.rpc.call<string[]>('getrawmempool', []);
    assert.deepEqual(mempool, [], 'no commitment broadcast by either side');
  });
});
