// End to end on a devnet process: fundchannel all, force close, and after to_self_delay blocks the
// to_local output of our commitment comes back to the wallet (the devnet checks the CSV and the witness).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTx, reversedHex } from '../../src/bitcoin/tx.ts';
import { fromHex } from '../../src/core/bytes.ts';
import { confirmedWalletSat, waitUntil, withProcessNet } from './devnet-process.ts';

test('process: fundchannel all, force close, to_local swept to the wallet after to_self_delay', {
  timeout: 240_000,
}, async () => {
  await withProcessNet('shandian-sweep-', async ({ chain, start }) => {
    const alice = await start('alice');
    const bob = await start('bob');
    const bobInfo = await bob.call<{ id: string; binding: { port: number }[] }>('getinfo');
    for (const amount of [0.006, 0.004]) {
      const addr = (await alice.call<{ bech32: string }>('newaddr')).bech32;
      await chain.rpc.call('sendtoaddress', [addr, amount]);
    }
    await chain.mine(1);
    await waitUntil(async () => (await confirmedWalletSat(alice)) === 1_000_000n, 20_000, 'alice funded');
    await alice.call('connect', { id: bobInfo.id, host: '127.0.0.1', port: bobInfo.binding[0]!.port });

    const funded = await alice.call<{ tx: string; outnum: number }>('fundchannel', {
      id: bobInfo.id,
      amount: 'all',
    });
    const fundingTx = parseTx(fromHex(funded.tx));
    assert.equal(fundingTx.outputs.length, 1, 'all: no change');
    const capacity = fundingTx.outputs[0]!.value;
    assert.ok(capacity > 995_000n && capacity < 1_000_000n, `capacity ${capacity}`);
    await chain.mine(3);
    await waitUntil(
      async () =>
        (await alice.call<{ channels: { state: string }[] }>('listpeerchannels')).channels[0]?.state ===
        'CHANNELD_NORMAL',
      30_000,
      'lock-in',
    );
    assert.equal(await confirmedWalletSat(alice), 0n);

    const closed = await alice.call<{ type: string; txid: string; tx: string }>('close', {
      id: bobInfo.id,
      unilateraltimeout: 0,
    });
    assert.equal(closed.type, 'unilateral');
    await waitUntil(
      async () => (await chain.rpc.call<string[]>('getrawmempool')).includes(closed.txid),
      20_000,
      'commitment in mempool',
    );
    await chain.mine(1);
    const commitTx = parseTx(fromHex(closed.tx));
    const mempoolSweep = async () => {
      for (const id of await chain.rpc.call<string[]>('getrawmempool')) {
        const raw = await chain.rpc.call<string>('getrawtransaction', [id]);
        const tx = parseTx(fromHex(raw));
        if (tx.inputs.some((i) => reversedHex(i.prevout.txid) === closed.txid)) return tx;
      }
      return undefined;
    };
    // to_self_delay (bob's, 144): nothing before the commitment is 143 deep.
    await chain.mine(142);
    const tip = await chain.height();
    await waitUntil(
      async () => (await alice.call<{ blockheight: number }>('getinfo')).blockheight >= tip,
      120_000,
      'alice follows the chain',
    );
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(await mempoolSweep(), undefined, 'no sweep before the CSV delay');
    await chain.mine(1);
    await waitUntil(async () => (await mempoolSweep()) !== undefined, 120_000, 'sweep in mempool');
    const sweep = await mempoolSweep();
    const spent = commitTx.outputs[sweep!.inputs[0]!.prevout.vout]!;
    const fee = spent.value - sweep!.outputs[0]!.value;
    assert.ok(fee > 0n && fee < 3_000n, `sweep fee ${fee}`);
    await chain.mine(1);
    await waitUntil(
      async () => (await confirmedWalletSat(alice)) === sweep!.outputs[0]!.value,
      20_000,
      'alice received to_local minus the fee',
    );
  });
});
