// End to end with real processes on loopback: a `shandian devnet` chain and two `shandian start` nodes
// on it. fundchannel, lock-in, HTLCs both ways, one node killed (-9) in the middle of an update and
// restarted, reestablish, cooperative close, and each wallet receiving what listpeerchannels reported.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseTx } from '../../src/bitcoin/tx.ts';
import { fromHex, hex } from '../../src/core/bytes.ts';
import { sha256 } from '../../src/crypto/index.ts';
import { type NodeProcess, spawnNode } from '../../src/testing/processes.ts';
import { type Chain, spawnDevnet, waitUntil } from './devnet-process.ts';

interface PeerChannel {
  peer_id: string;
  state: string;
  channel_id?: string;
  short_channel_id?: string;
  to_us_msat?: number;
  total_msat?: number;
  spendable_msat?: number;
  receivable_msat?: number;
  local_commitment_number?: number;
  remote_commitment_number?: number;
  htlcs?: { direction: string; id: number; amount_msat: number; payment_hash: string; state: string }[];
}

async function channelOf(n: NodeProcess): Promise<PeerChannel | undefined> {
  const r = await n.call<{ channels: PeerChannel[] }>('listpeerchannels');
  return r.channels[0];
}

async function walletSat(n: NodeProcess): Promise<bigint> {
  const f = await n.call<{ outputs: { amount_msat: number; status: string }[] }>('listfunds');
  return (
    f.outputs.filter((o) => o.status === 'confirmed').reduce((t, o) => t + BigInt(o.amount_msat), 0n) / 1000n
  );
}

function preimageOf(i: number): { preimage: string; hash: string } {
  const p = sha256(new TextEncoder().encode(`preimage ${i}`));
  return { preimage: hex(p), hash: hex(sha256(p)) };
}

test('two processes: fund, lock in, HTLCs both ways, kill -9 mid-update, reestablish, mutual close', {
  timeout: 240_000,
}, async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'shandian-chan-'));
  const logs: string[] = [];
  let chain: Chain | null = null;
  const nodes: NodeProcess[] = [];
  try {
    chain = await spawnDevnet(join(base, 'chain'));
    const args = chain.nodeArgs;
    const start = async (name: string) => {
      const n = await spawnNode({
        name,
        datadir: join(base, name),
        args,
        echo: (l) => logs.push(`${name}: ${l}`),
      });
      nodes.push(n);
      return n;
    };
    let alice = await start('alice');
    const bob = await start('bob');
    const bobInfo = await bob.call<{ id: string; binding: { address: string; port: number }[] }>('getinfo');
    const aliceId = (await alice.call<{ id: string }>('getinfo')).id;

    // Fund alice's wallet from the devnet's.
    const addr = (await alice.call<{ bech32: string }>('newaddr')).bech32;
    await chain.rpc.call('sendtoaddress', [addr, 0.01]);
    await chain.mine(1);
    await waitUntil(async () => (await walletSat(alice)) === 1_000_000n, 20_000, 'alice funded');

    await alice.call('connect', { id: bobInfo.id, host: '127.0.0.1', port: bobInfo.binding[0]!.port });
    const funded = await alice.call<{
      txid: string;
      outnum: number;
      channel_id: string;
      tx: string;
      channel_type: { names: string[] };
    }>('fundchannel', { id: bobInfo.id, amount: 500_000, push_msat: 100_000_000 });
    assert.match(funded.txid, /^[0-9a-f]{64}$/);
    assert.equal((await channelOf(alice))?.state, 'CHANNELD_AWAITING_LOCKIN');
    await chain.mine(3);
    await waitUntil(
      async () =>
        (await channelOf(alice))?.state === 'CHANNELD_NORMAL' &&
        (await channelOf(bob))?.state === 'CHANNELD_NORMAL',
      30_000,
      'lock-in',
    );
    const a0 = (await channelOf(alice))!;
    assert.equal(a0.channel_id, funded.channel_id);
    assert.equal(a0.total_msat, 500_000_000);
    assert.match(a0.short_channel_id!, /^\d+x\d+x\d+$/);
    assert.equal((await channelOf(bob))!.to_us_msat, 100_000_000);

    const height = await chain.height();
    // alice -> bob: 10,000 sat, settled.
    const p1 = preimageOf(1);
    await alice.call('dev-addhtlc', {
      id: bobInfo.id,
      amount_msat: 10_000_000,
      payment_hash: p1.hash,
      cltv_expiry: height + 50,
    });
    await waitUntil(
      async () =>
        (await channelOf(bob))?.htlcs?.some(
          (h) => h.payment_hash === p1.hash && h.state === 'RCVD_ADD_ACK_REVOCATION',
        ) === true,
      20_000,
      'bob holds htlc 1',
    );
    await bob.call('dev-fulfillhtlc', { id: aliceId, preimage: p1.preimage });
    await waitUntil(
      async () =>
        (await channelOf(alice))?.htlcs?.length === 0 && (await channelOf(bob))?.htlcs?.length === 0,
      20_000,
      'htlc 1 settled',
    );
    assert.equal((await channelOf(bob))!.to_us_msat, 110_000_000);

    // bob -> alice: 3,000 sat.
    const p2 = preimageOf(2);
    await bob.call('dev-addhtlc', {
      id: aliceId,
      amount_msat: 3_000_000,
      payment_hash: p2.hash,
      cltv_expiry: height + 60,
    });
    await waitUntil(
      async () =>
        (await channelOf(alice))?.htlcs?.some(
          (h) => h.payment_hash === p2.hash && h.state === 'RCVD_ADD_ACK_REVOCATION',
        ) === true,
      20_000,
      'alice holds htlc 2',
    );
    await alice.call('dev-fulfillhtlc', { id: bobInfo.id, preimage: p2.preimage });
    await waitUntil(
      async () =>
        (await channelOf(bob))?.htlcs?.length === 0 && (await channelOf(alice))?.htlcs?.length === 0,
      20_000,
      'htlc 2 settled',
    );
    assert.equal((await channelOf(bob))!.to_us_msat, 107_000_000);

    // Kill alice right after she offers an HTLC: mid-update (before or after her commitment_signed left).
    const p3 = preimageOf(3);
    await alice.call('dev-addhtlc', {
      id: bobInfo.id,
      amount_msat: 20_000_000,
      payment_hash: p3.hash,
      cltv_expiry: height + 70,
    });
    await alice.kill('SIGKILL');
    nodes.splice(nodes.indexOf(alice), 1);
    alice = await start('alice');
    // She redials bob (the address is kept with the channel) and both reestablish.
    await waitUntil(
      async () =>
        (await channelOf(alice))?.state === 'CHANNELD_NORMAL' &&
        (await alice.call<{ num_peers: number }>('getinfo')).num_peers === 1,
      30_000,
      'alice back',
    );
    // The HTLC either survived (it was signed before the kill) or was dropped: either way both sides agree.
    await waitUntil(
      async () => {
        const a = await channelOf(alice);
        const b = await channelOf(bob);
        return (
          a !== undefined &&
          b !== undefined &&
          a.to_us_msat! + b.to_us_msat! + (a.htlcs ?? []).reduce((t, h) => t + h.amount_msat, 0) ===
            500_000_000 &&
          (a.htlcs ?? []).length === (b.htlcs ?? []).length &&
          a.local_commitment_number === b.remote_commitment_number
        );
      },
      30_000,
      'sides agree after restart',
    );
    const survived = ((await channelOf(bob))!.htlcs ?? []).some((h) => h.payment_hash === p3.hash);
    if (survived) {
      await waitUntil(
        async () =>
          (await channelOf(bob))?.htlcs?.some(
            (h) => h.payment_hash === p3.hash && h.state === 'RCVD_ADD_ACK_REVOCATION',
          ) === true,
        20_000,
        'bob holds htlc 3',
      );
      await bob.call('dev-fulfillhtlc', { id: aliceId, preimage: p3.preimage });
      await waitUntil(
        async () =>
          (await channelOf(alice))?.htlcs?.length === 0 && (await channelOf(bob))?.htlcs?.length === 0,
        20_000,
        'htlc 3 settled',
      );
    }
    t.diagnostic(`htlc 3 ${survived ? 'survived the kill' : 'was dropped by the kill'}`);

    const aFinal = (await channelOf(alice))!;
    const bFinal = (await channelOf(bob))!;
    assert.equal(aFinal.to_us_msat! + bFinal.to_us_msat!, 500_000_000);
    const aliceBefore = await walletSat(alice);
    const bobBefore = await walletSat(bob);

    const closed = await alice.call<{ type: string; txid: string; tx: string }>('close', { id: bobInfo.id });
    assert.equal(closed.type, 'mutual');
    await waitUntil(
      async () => (await chain!.rpc.call<string[]>('getrawmempool')).includes(closed.txid),
      20_000,
      'closing tx in mempool',
    );
    await chain.mine(1);
    await waitUntil(
      async () => (await alice.call<{ channels: unknown[] }>('listpeerchannels')).channels.length === 0,
      20_000,
      'alice sees the close',
    );
    await waitUntil(
      async () => (await bob.call<{ channels: unknown[] }>('listpeerchannels')).channels.length === 0,
      20_000,
      'bob sees the close',
    );
    const closedList = await alice.call<{ closedchannels: { closing_txid: string; close_cause: string }[] }>(
      'listclosedchannels',
    );
    assert.equal(closedList.closedchannels[0]!.closing_txid, closed.txid);
    // Bob (not the funder) pays no fee: he receives exactly his balance. Alice gets hers minus the closing fee.
    await waitUntil(
      async () => (await walletSat(bob)) === bobBefore + BigInt(bFinal.to_us_msat!) / 1000n,
      20_000,
      'bob paid his balance',
    );
    const closingTx = parseTx(fromHex(closed.tx));
    const fee = 500_000n - closingTx.outputs.reduce((t, o) => t + o.value, 0n);
    assert.ok(fee > 0n && fee < 5_000n, `closing fee ${fee}`);
    await waitUntil(
      async () => (await walletSat(alice)) === aliceBefore + BigInt(aFinal.to_us_msat!) / 1000n - fee,
      20_000,
      'alice paid her balance less the fee',
    );
  } catch (e) {
    console.error(logs.slice(-150).join('\n'));
    throw e;
  } finally {
    for (const n of nodes) await n.kill('SIGKILL').catch(() => {});
    await chain?.stop();
    rmSync(base, { recursive: true, force: true });
  }
});
