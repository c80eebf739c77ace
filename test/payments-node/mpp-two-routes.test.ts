// End to end on loopback: A has channels to B (700k sat) and C (300k sat); B and C each have a channel to
// D; D's invoice carries route hints for B->D and C->D. 800k sat fits neither of A's channels, so `pay`
// splits it: 400k then 200k over B, 200k over C (the halving splitter against A's exact spendable
// amounts). Balances move by exactly amount + fees. Then payments that cannot succeed end failed, within
// retry_for, with a status that says why: no route (205), and every route failing (210).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { hex } from '../../src/core/bytes.ts';
import { sha256 } from '../../src/crypto/index.ts';
import { type PaymentsNetwork, rpcError, startPaymentsNetwork } from '../../src/testing/payments-network.ts';
import { waitUntil } from '../../src/testing/processes.ts';

// B's and C's forwarding policy (the node's defaults), which the hints must state.
const FEE = (amt: bigint) => 1000n + (amt * 10n) / 1_000_000n;

interface Sendpay {
  partid: number;
  groupid: number;
  status: string;
  amount_msat: number;
  amount_sent_msat: number;
  first_hop: string;
  erring_node?: string;
  failcodename?: string;
}

interface Pay {
  payment_hash: string;
  status: string;
  number_of_parts?: number;
  amount_msat?: number;
  amount_sent_msat?: number;
  failure?: { code: number; message: string };
}

function hint(net: PaymentsNetwork, from: string, scid: string) {
  return [
    {
      id: net.node(from).id,
      short_channel_id: scid,
      fee_base_msat: 1000,
      fee_proportional_millionths: 10,
      cltv_expiry_delta: 34,
    },
  ];
}

test('pay splits over two routes (3 parts), and payments that cannot succeed end failed saying why', {
  timeout: 300_000,
}, async () => {
  const base = mkdtempSync(join(tmpdir(), 'shandian-mpp-'));
  let net: PaymentsNetwork | undefined;
  let ok = false;
  try {
    net = await startPaymentsNetwork({
      base,
      names: ['A', 'B', 'C', 'D'],
      channels: [
        { from: 'A', to: 'B', sat: 700_000 },
        { from: 'A', to: 'C', sat: 300_000 },
        { from: 'B', to: 'D', sat: 900_000 },
        { from: 'C', to: 'D', sat: 500_000 },
      ],
    });
    const n = net;
    const [A, D] = [n.node('A'), n.node('D')];
    const hints = [hint(n, 'B', n.scid('B', 'D')), hint(n, 'C', n.scid('C', 'D'))];
    const snapshot = async () => ({
      aB: await n.toUs('A', 'B'),
      aC: await n.toUs('A', 'C'),
      bA: await n.toUs('B', 'A'),
      bD: await n.toUs('B', 'D'),
      cA: await n.toUs('C', 'A'),
      cD: await n.toUs('C', 'D'),
      dB: await n.toUs('D', 'B'),
      dC: await n.toUs('D', 'C'),
    });

    // 1. 800k sat: more than either of A's channels can carry.
    const amount = 800_000_000n;
    const before = await snapshot();
    const inv = await D.call<{ bolt11: string; payment_hash: string }>('invoice', {
      amount_msat: Number(amount),
      label: 'mpp',
      description: 'two routes',
      'dev-routes': hints,
    });
    const paid = await A.call<{
      status: string;
      parts: number;
      payment_preimage: string;
      amount_msat: number;
      amount_sent_msat: number;
    }>('pay', { bolt11: inv.bolt11 });
    assert.equal(paid.status, 'complete');
    assert.equal(hex(sha256(Buffer.from(paid.payment_preimage, 'hex'))), inv.payment_hash);
    assert.ok(paid.parts >= 3, `pay used ${paid.parts} parts`);
    await waitUntil(n.noHtlcs, 30_000, 'every part settled');
    const parts = (await A.call<{ payments: Sendpay[] }>('listsendpays', { payment_hash: inv.payment_hash }))
      .payments;
    const done = parts.filter((p) => p.status === 'complete');
    assert.equal(done.length, paid.parts, 'every part the payment counted completed');
    assert.ok(done.length >= 3);
    assert.equal(
      done.reduce((t, p) => t + BigInt(p.amount_msat), 0n),
      amount,
      'parts add up to the amount',
    );
    const firstHops = new Set(done.map((p) => p.first_hop));
    assert.deepEqual(
      [...firstHops].sort(),
      [n.scid('A', 'B'), n.scid('A', 'C')].sort(),
      'two distinct routes',
    );
    const overB = done.filter((p) => p.first_hop === n.scid('A', 'B'));
    const overC = done.filter((p) => p.first_hop === n.scid('A', 'C'));
    const fees = (ps: Sendpay[]) => ps.reduce((t, p) => t + FEE(BigInt(p.amount_msat)), 0n);
    for (const p of done)
      assert.equal(BigInt(p.amount_sent_msat), BigInt(p.amount_msat) + FEE(BigInt(p.amount_msat)));
    assert.equal(BigInt(paid.amount_sent_msat), amount + fees(done));

    const after = await snapshot();
    assert.equal(before.aB + before.aC - after.aB - after.aC, amount + fees(done), 'A paid amount + fees');
    assert.equal(after.bA - before.bA - (before.bD - after.bD), fees(overB), "B earned its parts' fees");
    assert.equal(after.cA - before.cA - (before.cD - after.cD), fees(overC), "C earned its parts' fees");
    assert.equal(after.dB - before.dB + (after.dC - before.dC), amount, 'D received the amount');
    const inD = (
      await D.call<{ invoices: { status: string; amount_received_msat: number }[] }>('listinvoices', {
        label: 'mpp',
      })
    ).invoices[0]!;
    assert.equal(inD.status, 'paid');
    assert.equal(BigInt(inD.amount_received_msat), amount);
    const pays = (await A.call<{ pays: Pay[] }>('listpays', { payment_hash: inv.payment_hash })).pays;
    assert.equal(pays.length, 1);
    assert.equal(pays[0]!.status, 'complete');
    assert.equal(pays[0]!.number_of_parts, done.length);
    assert.equal(BigInt(pays[0]!.amount_msat!), amount);
    n.logs.push('step 1 done');

    // 2. More than A can send at all: no route, at once.
    const big = await D.call<{ bolt11: string; payment_hash: string }>('invoice', {
      amount_msat: 1_500_000_000,
      label: 'too-big',
      description: 'x',
      'dev-routes': hints,
    });
    const e2 = await rpcError(A.call('pay', { bolt11: big.bolt11, retry_for: 20 }));
    assert.equal(e2.code, 205, e2.message);
    assert.match(e2.message, /Could not find a route/);
    const p2 = (await A.call<{ pays: Pay[] }>('listpays', { payment_hash: big.payment_hash })).pays;
    assert.equal(p2[0]?.status, 'failed');
    assert.equal(p2[0]?.failure?.code, 205);
    n.logs.push('step 2 done');

    // 3. Hints naming channels B and C do not have: each route fails at its forwarder (unknown_next_peer),
    // is excluded, and the payment ends with 210 well within retry_for.
    const bogus = await D.call<{ bolt11: string; payment_hash: string }>('invoice', {
      amount_msat: 50_000_000,
      label: 'bogus',
      description: 'x',
      'dev-routes': [hint(n, 'B', '1x1x1'), hint(n, 'C', '1x1x2')],
    });
    const t0 = Date.now();
    const e3 = await rpcError(A.call('pay', { bolt11: bogus.bolt11, retry_for: 30 }));
    assert.ok(Date.now() - t0 < 30_000, 'ended within retry_for');
    assert.equal(e3.code, 210, e3.message);
    assert.match(e3.message, /unknown_next_peer/);
    const parts3 = (
      await A.call<{ payments: Sendpay[] }>('listsendpays', { payment_hash: bogus.payment_hash })
    ).payments;
    assert.equal(parts3.length, 2, 'one attempt per route, none repeated');
    assert.ok(parts3.every((p) => p.status === 'failed' && p.failcodename === 'WIRE_UNKNOWN_NEXT_PEER'));
    assert.deepEqual(parts3.map((p) => p.erring_node).sort(), [n.node('B').id, n.node('C').id].sort());
    const p3 = (await A.call<{ pays: Pay[] }>('listpays', { payment_hash: bogus.payment_hash })).pays;
    assert.equal(p3[0]?.status, 'failed');
    assert.equal(p3[0]?.failure?.code, 210);
    assert.match(p3[0]!.failure!.message, /unknown_next_peer/);
    await waitUntil(n.noHtlcs, 20_000, 'failed parts cleared');
    ok = true;
  } finally {
    if (!ok && net !== undefined) console.log(net.logs.slice(-150).join('\n'));
    await net?.stop();
    rmSync(base, { recursive: true, force: true });
  }
});
