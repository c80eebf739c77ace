// End to end, real processes: the fundee is killed (-9) right after an HTLC is offered to it and
// restarted; the funder reconnects by itself, both reestablish and agree; then a unilateral close.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { hex } from '../../src/core/bytes.ts';
import { sha256 } from '../../src/crypto/index.ts';
import { type NodeProcess, spawnNode } from '../../src/testing/processes.ts';
import { type Chain, spawnDevnet, waitUntil } from './devnet-process.ts';

interface PeerChannel {
  state: string;
  peer_connected?: boolean;
  to_us_msat?: number;
  local_commitment_number?: number;
  remote_commitment_number?: number;
  htlcs?: { amount_msat: number; payment_hash: string; state: string }[];
}

const channelOf = async (n: NodeProcess) =>
  (await n.call<{ channels: PeerChannel[] }>('listpeerchannels')).channels[0];

test('fundee killed -9 with an HTLC in flight: funder reconnects, both reestablish and agree; unilateral close', {
  timeout: 240_000,
}, async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'shandian-chan2-'));
  const logs: string[] = [];
  let chain: Chain | null = null;
  const nodes: NodeProcess[] = [];
  try {
    chain = await spawnDevnet(join(base, 'chain'));
    const start = async (name: string, extra: string[] = []) => {
      const n = await spawnNode({
        name,
        datadir: join(base, name),
        args: [...chain!.nodeArgs, ...extra],
        echo: (l) => logs.push(`${name}: ${l}`),
      });
      nodes.push(n);
      return n;
    };
    const alice = await start('alice');
    let bob = await start('bob');
    const bobInfo = await bob.call<{ id: string; binding: { port: number }[] }>('getinfo');
    const aliceId = (await alice.call<{ id: string }>('getinfo')).id;
    const addr = (await alice.call<{ bech32: string }>('newaddr')).bech32;
    await chain.rpc.call('sendtoaddress', [addr, 0.01]);
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
    await alice.call('fundchannel', { id: bobInfo.id, amount: 400_000 });
    await chain.mine(3);
    await waitUntil(
      async () =>
        (await channelOf(alice))?.state === 'CHANNELD_NORMAL' &&
        (await channelOf(bob))?.state === 'CHANNELD_NORMAL',
      30_000,
      'lock-in',
    );

    const pre = sha256(new TextEncoder().encode('restart preimage'));
    const hash = hex(sha256(pre));
    await alice.call('dev-addhtlc', {
      id: bobInfo.id,
      amount_msat: 50_000_000,
      payment_hash: hash,
      cltv_expiry: (await chain.height()) + 80,
    });
    // Kill bob as soon as he has seen anything of it (or straight away).
    await waitUntil(
      async () => ((await channelOf(bob))?.htlcs ?? []).length > 0,
      5_000,
      'bob sees the htlc',
    ).catch(() => {});
    await bob.kill('SIGKILL');
    nodes.splice(nodes.indexOf(bob), 1);
    // Same address as before (a node's listening port is part of its configuration).
    bob = await start('bob', ['--listen', `127.0.0.1:${bobInfo.binding[0]!.port}`]);
    // alice dialled bob, so she reconnects by herself (with back-off); both reestablish.
    await waitUntil(
      async () => {
        const a = await channelOf(alice);
        const b = await channelOf(bob);
        return (
          a?.state === 'CHANNELD_NORMAL' &&
          b?.state === 'CHANNELD_NORMAL' &&
          a.peer_connected === true &&
          b.peer_connected === true &&
          (a.htlcs ?? []).every((h) => h.state === 'SENT_ADD_ACK_REVOCATION') &&
          (b.htlcs ?? []).length === (a.htlcs ?? []).length &&
          a.local_commitment_number === b.remote_commitment_number &&
          b.local_commitment_number === a.remote_commitment_number
        );
      },
      120_000, // alice's reconnect back-off doubles up to 32 s under load
      'reestablished and agreeing',
    );
    const a = (await channelOf(alice))!;
    const b = (await channelOf(bob))!;
    const inFlight = (a.htlcs ?? []).reduce((t, h) => t + h.amount_msat, 0);
    assert.equal(a.to_us_msat! + b.to_us_msat! + inFlight, 400_000_000);
    t.diagnostic(
      inFlight > 0
        ? 'the HTLC survived the kill (it was committed before)'
        : 'the HTLC was dropped by the kill (never committed)',
    );
    if (inFlight > 0) {
      await bob.call('dev-fulfillhtlc', { id: aliceId, preimage: hex(pre) });
      await waitUntil(
        async () =>
          ((await channelOf(alice))?.htlcs ?? []).length === 0 &&
          ((await channelOf(bob))?.htlcs ?? []).length === 0,
        20_000,
        'settled',
      );
      assert.equal((await channelOf(bob))!.to_us_msat, 50_000_000);
    }

    // Unilateral close at once: alice's commitment goes to the chain.
    const closed = await alice.call<{ type: string; txid: string }>('close', {
      id: bobInfo.id,
      unilateraltimeout: 0,
    });
    assert.equal(closed.type, 'unilateral');
    assert.equal((await channelOf(alice))?.state, 'AWAITING_UNILATERAL');
    // alice's error makes bob fail the channel too (BOLT 1), so either commitment may win the mempool race.
    let mempool: string[] = [];
    await waitUntil(
      async () => {
        mempool = await chain!.rpc.call<string[]>('getrawmempool');
        return mempool.length > 0;
      },
      20_000,
      'a commitment in the mempool',
    );
    await chain.mine(1);
    const closingOf = async (n: NodeProcess) =>
      (await n.call<{ closedchannels: { closing_txid?: string }[] }>('listclosedchannels')).closedchannels[0]
        ?.closing_txid;
    await waitUntil(
      async () => (await closingOf(alice)) !== undefined && (await closingOf(bob)) !== undefined,
      20_000,
      'both see the close confirmed',
    );
    const spent = await closingOf(alice);
    assert.equal(await closingOf(bob), spent);
    assert.ok(
      spent === closed.txid || mempool.includes(spent!),
      'the funding output was spent by a commitment of this channel',
    );
    t.diagnostic(
      spent === closed.txid
        ? "alice's commitment confirmed"
        : "bob's commitment confirmed (it reached the mempool first)",
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
