// End to end on loopback: a `shandian devnet` chain and four `shandian start` nodes A, B, C, D with
// channels A-B, B-C, C-D. A pays D through B and C; fees and balances are checked to the msat; then an
// unknown payment hash, C offline, C killed (-9) mid-payment and restarted, a 3-part MPP, keysend and
// bad input to `pay`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createInvoice, privateKeySigner } from '../../src/bolt11-invoice/index.ts';
import { hex } from '../../src/core/bytes.ts';
import { msat } from '../../src/core/units.ts';
import { sha256 } from '../../src/crypto/index.ts';
import type { NodeProcess } from '../../src/testing/processes.ts';
import { rpcRejection } from '../../src/testing/rpc-rejection.ts';
import { confirmedWalletSat, waitUntil, withProcessNet } from '../channel-node/devnet-process.ts';

interface PeerChannel {
  peer_id: string;
  state: string;
  short_channel_id?: string;
  to_us_msat?: number;
  htlcs?: unknown[];
}

const FEE = (amt: bigint) => 1000n + (amt * 10n) / 1_000_000n;

async function channels(n: NodeProcess): Promise<PeerChannel[]> {
  return (await n.call<{ channels: PeerChannel[] }>('listpeerchannels')).channels;
}

async function toUs(n: NodeProcess, peer: string): Promise<bigint> {
  const c = (await channels(n)).find((x) => x.peer_id === peer);
  return BigInt(c?.to_us_msat ?? -1);
}

test('four processes: A pays D through B and C, failures, restart, MPP, keysend', {
  timeout: 300_000,
}, async () => {
  await withProcessNet('shandian-pay-', async ({ chain, start, log }) => {
    const A = await start('A');
    const B = await start('B');
    let C = await start('C');
    const D = await start('D');
    const info = async (n: NodeProcess) => n.call<{ id: string; binding: { port: number }[] }>('getinfo');
    const [ia, ib, ic, id] = [await info(A), await info(B), await info(C), await info(D)];

    // A funds A-B; C funds C-B (pushing B half) and C-D, dialling both, so C redials after a restart.
    for (const [n, count] of [
      [A, 1],
      [C, 2],
    ] as const) {
      for (let i = 0; i < count; i++) {
        const addr = (await n.call<{ bech32: string }>('newaddr')).bech32;
        await chain.rpc.call('sendtoaddress', [addr, 0.01]);
      }
    }
    await chain.mine(1);
    await waitUntil(
      async () =>
        (await confirmedWalletSat(A)) === 1_000_000n && (await confirmedWalletSat(C)) === 2_000_000n,
      30_000,
      'wallets funded',
    );
    await A.call('connect', { id: ib.id, host: '127.0.0.1', port: ib.binding[0]!.port });
    await C.call('connect', { id: ib.id, host: '127.0.0.1', port: ib.binding[0]!.port });
    await C.call('connect', { id: id.id, host: '127.0.0.1', port: id.binding[0]!.port });
    await A.call('fundchannel', { id: ib.id, amount: 500_000 });
    await C.call('fundchannel', { id: ib.id, amount: 500_000, push_msat: 250_000_000 });
    await C.call('fundchannel', { id: id.id, amount: 500_000 });
    await chain.mine(6);
    const allNormal = async () => {
      for (const n of [A, B, C, D]) {
        const cs = await channels(n);
        if (
          cs.length === 0 ||
          cs.some((c) => c.state !== 'CHANNELD_NORMAL' || c.short_channel_id === undefined)
        )
          return false;
      }
      return true;
    };
    await waitUntil(allNormal, 60_000, 'all channels normal');
    const scidBC = (await channels(B)).find((c) => c.peer_id === ic.id)!.short_channel_id!;
    const scidCD = (await channels(C)).find((c) => c.peer_id === id.id)!.short_channel_id!;
    const scidAB = (await channels(A)).find((c) => c.peer_id === ib.id)!.short_channel_id!;
    const hints = [
      [
        {
          id: ib.id,
          short_channel_id: scidBC,
          fee_base_msat: 1000,
          fee_proportional_millionths: 10,
          cltv_expiry_delta: 34,
        },
        {
          id: ic.id,
          short_channel_id: scidCD,
          fee_base_msat: 1000,
          fee_proportional_millionths: 10,
          cltv_expiry_delta: 34,
        },
      ],
    ];
    const snapshot = async () => ({
      a: await toUs(A, ib.id),
      bA: await toUs(B, ia.id),
      bC: await toUs(B, ic.id),
      cB: await toUs(C, ib.id),
      cD: await toUs(C, id.id),
      d: await toUs(D, ic.id),
    });
    const noHtlcs = async () => {
      for (const n of [A, B, C, D])
        if ((await channels(n)).some((c) => (c.htlcs ?? []).length > 0)) return false;
      return true;
    };

    // 1. A pays D's invoice through B and C.
    const amount = 10_000_000n;
    const feeC = FEE(amount);
    const feeB = FEE(amount + feeC);
    const before = await snapshot();
    const inv = await D.call<{ bolt11: string; payment_hash: string }>('invoice', {
      amount_msat: Number(amount),
      label: 'one',
      description: 'A to D',
      'dev-routes': hints,
    });
    const paid = await A.call<{ status: string; payment_preimage: string; amount_sent_msat: number }>('pay', {
      bolt11: inv.bolt11,
    });
    assert.equal(paid.status, 'complete');
    assert.equal(hex(sha256(Buffer.from(paid.payment_preimage, 'hex'))), inv.payment_hash);
    assert.equal(BigInt(paid.amount_sent_msat), amount + feeB + feeC);
    await waitUntil(noHtlcs, 20_000, 'payment settled everywhere');
    const after = await snapshot();
    assert.equal(before.a - after.a, amount + feeB + feeC, 'A paid amount and both fees');
    assert.equal(after.bA - before.bA - (before.bC - after.bC), feeB, 'B earned its fee');
    assert.equal(after.cB - before.cB - (before.cD - after.cD), feeC, 'C earned its fee');
    assert.equal(after.d - before.d, amount, 'D received the amount');
    const fwdB = (
      await B.call<{
        forwards: { status: string; fee_msat: number; in_channel: string; out_channel: string }[];
      }>('listforwards')
    ).forwards;
    assert.deepEqual(
      fwdB.map((f) => [f.status, BigInt(f.fee_msat), f.in_channel, f.out_channel]),
      [['settled', feeB, scidAB, scidBC]],
    );
    const invD = (await D.call<{ invoices: { status: string }[] }>('listinvoices', { label: 'one' }))
      .invoices;
    assert.equal(invD[0]!.status, 'paid');
    const pays = (await A.call<{ pays: { status: string; payment_hash: string }[] }>('listpays')).pays;
    assert.deepEqual(
      pays.map((p) => [p.payment_hash, p.status]),
      [[inv.payment_hash, 'complete']],
    );
    log('step 1 done');

    // The route A uses, in sendpay's shape.
    const route = (deliver: bigint, finalCltv = 18) => {
      const fc = FEE(deliver);
      const fb = FEE(deliver + fc);
      return [
        { id: ib.id, channel: scidAB, amount_msat: Number(deliver + fc + fb), delay: finalCltv + 68 },
        { id: ic.id, channel: scidBC, amount_msat: Number(deliver + fc), delay: finalCltv + 34 },
        { id: id.id, channel: scidCD, amount_msat: Number(deliver), delay: finalCltv },
      ];
    };

    // 2. An unknown payment hash at D: incorrect_or_unknown_payment_details from D (hop 3).
    const unknownHash = hex(sha256(Buffer.from('nobody knows this')));
    await A.call('sendpay', {
      route: route(1_000_000n),
      payment_hash: unknownHash,
      payment_secret: hex(sha256(Buffer.from('s'))),
    });
    const e2 = await rpcRejection(A.call('waitsendpay', { payment_hash: unknownHash, timeout: 30 }));
    assert.equal(e2.code, 204);
    assert.equal(e2.data?.failcode, 0x400f);
    assert.equal(e2.data?.erring_node, id.id);
    assert.equal(e2.data?.erring_index, 3);
    await waitUntil(noHtlcs, 20_000, 'unknown-hash HTLCs failed back');
    log('step 2 done');

    // 3. 3-part MPP over the same route.
    const inv3 = await D.call<{ payment_hash: string; payment_secret: string }>('invoice', {
      amount_msat: 30_000_000,
      label: 'mpp',
      description: 'mpp',
    });
    for (let part = 1; part <= 3; part++)
      await A.call('sendpay', {
        route: route(10_000_000n),
        payment_hash: inv3.payment_hash,
        payment_secret: inv3.payment_secret,
        amount_msat: 30_000_000,
        partid: part,
      });
    for (let part = 1; part <= 3; part++) {
      const r = await A.call<{ status: string }>('waitsendpay', {
        payment_hash: inv3.payment_hash,
        timeout: 30,
        partid: part,
      });
      assert.equal(r.status, 'complete');
    }
    const mppInv = (
      await D.call<{ invoices: { status: string; amount_received_msat: number }[] }>('listinvoices', {
        label: 'mpp',
      })
    ).invoices[0]!;
    assert.equal(mppInv.status, 'paid');
    assert.equal(mppInv.amount_received_msat, 30_000_000);
    await waitUntil(noHtlcs, 20_000, 'mpp settled');
    log('step 3 done');

    // 4. keysend A -> D.
    const dBefore = await toUs(D, ic.id);
    const ks = await A.call<{ status: string }>('keysend', {
      destination: id.id,
      amount_msat: 5_000_000,
      routehints: hints,
    });
    assert.equal(ks.status, 'complete');
    await waitUntil(async () => (await toUs(D, ic.id)) === dBefore + 5_000_000n, 20_000, 'keysend received');
    log('step 4 done');

    // 5. Bad input: an amount for an invoice that has one, an expired invoice, another network's invoice.
    const inv5 = await D.call<{ bolt11: string }>('invoice', {
      amount_msat: 1000,
      label: 'five',
      description: 'x',
      'dev-routes': hints,
    });
    assert.equal(
      (await rpcRejection(A.call('pay', { bolt11: inv5.bolt11, amount_msat: 2000 }))).code,
      -32602,
    );
    const exp = await D.call<{ bolt11: string }>('invoice', {
      amount_msat: 1000,
      label: 'exp',
      description: 'x',
      expiry: 1,
      'dev-routes': hints,
    });
    await new Promise((r) => setTimeout(r, 2100));
    assert.equal((await rpcRejection(A.call('pay', { bolt11: exp.bolt11 }))).code, 207);
    const mainnet = createInvoice(
      {
        currency: 'bc',
        amount: msat(1000n),
        timestamp: Math.floor(Date.now() / 1000),
        paymentHash: sha256(Buffer.from('m')),
        paymentSecret: sha256(Buffer.from('n')),
        description: 'x',
      },
      privateKeySigner(sha256(Buffer.from('key'))),
    );
    assert.ok(mainnet.ok);
    const eNet = await rpcRejection(A.call('pay', { bolt11: mainnet.value }));
    assert.equal(eNet.code, -32602);
    assert.match(eNet.message, /another network/);
    // exclude: the only route goes over B-C, so excluding it leaves none.
    assert.equal(
      (await rpcRejection(A.call('pay', { bolt11: inv5.bolt11, exclude: [`${scidBC}/0`] }))).code,
      205,
    );
    log('step 5 done');

    // 6. C offline: B reports temporary_channel_failure for its channel to C.
    await C.kill('SIGKILL');
    const inv6 = await D.call<{ bolt11: string; payment_hash: string }>('invoice', {
      amount_msat: 1_000_000,
      label: 'six',
      description: 'x',
      'dev-routes': hints,
    });
    const e6 = await rpcRejection(A.call('pay', { bolt11: inv6.bolt11, retry_for: 5 }));
    assert.ok(e6.code === 210 || e6.code === 205, `pay failed with ${e6.code} ${e6.message}`);
    const parts6 = (
      await A.call<{ payments: { erring_node?: string; failcodename?: string; erring_channel?: string }[] }>(
        'listsendpays',
        { payment_hash: inv6.payment_hash },
      )
    ).payments;
    assert.equal(parts6[0]?.erring_node, ib.id);
    assert.equal(parts6[0]?.failcodename, 'WIRE_TEMPORARY_CHANNEL_FAILURE');
    assert.equal(parts6[0]?.erring_channel, scidBC);
    log('step 6 done');

    // 7. C restarted; then killed (-9) while an HTLC from A sits in its channels, and restarted again: the
    // payment completes or fails, and no HTLC is left anywhere. D holds the HTLC (a hold invoice), so the
    // payment cannot finish before C is killed.
    C = await start('C');
    await waitUntil(allNormalLinked(A, B, C, D), 60_000, 'C back');
    const pre7 = sha256(Buffer.from('seven'));
    const inv7 = await D.call<{ payment_hash: string; payment_secret: string }>('holdinvoice', {
      payment_hash: hex(sha256(pre7)),
      amount_msat: 2_000_000,
      label: 'seven',
      description: 'x',
    });
    await A.call('sendpay', {
      route: route(2_000_000n),
      payment_hash: inv7.payment_hash,
      payment_secret: inv7.payment_secret,
    });
    await waitUntil(
      async () => (await channels(C)).some((c) => (c.htlcs ?? []).length > 0),
      20_000,
      'C holds the HTLC',
    );
    await C.kill('SIGKILL');
    C = await start('C');
    // Once the HTLC reached D (before the kill, or forwarded by C after its restart), D releases it.
    const accepted = await waitUntil(
      async () =>
        (await D.call<{ invoices: { status: string }[] }>('listinvoices', { label: 'seven' })).invoices[0]
          ?.status === 'accepted',
      60_000,
      'D holds the HTLC',
    ).then(
      () => true,
      () => false,
    );
    log(`seven held at D after C's restart: ${accepted}`);
    if (accepted) await D.call('holdinvoicesettle', { preimage: hex(pre7) });
    const r7 = await A.call<{ status: string }>('waitsendpay', {
      payment_hash: inv7.payment_hash,
      timeout: 90,
    }).catch((e: { code: number }) => ({ status: `failed ${e.code}` }));
    log(`payment through a killed C: ${r7.status}`);
    assert.ok(r7.status === 'complete' || r7.status.startsWith('failed'));
    await waitUntil(noHtlcs, 60_000, 'no HTLC stuck after the restart');
    // Payer and payee agree on the outcome.
    const seven = (await D.call<{ invoices: { status: string }[] }>('listinvoices', { label: 'seven' }))
      .invoices[0]!;
    assert.equal(seven.status, r7.status === 'complete' ? 'paid' : 'unpaid');
    const parts7 = (
      await A.call<{ payments: { status: string }[] }>('listsendpays', { payment_hash: inv7.payment_hash })
    ).payments;
    assert.equal(parts7[0]?.status, r7.status === 'complete' ? 'complete' : 'failed');
  });
});

function allNormalLinked(...ns: NodeProcess[]) {
  return async () => {
    for (const n of ns) {
      const r = await n.call<{ channels: { state: string; peer_connected: boolean }[] }>('listpeerchannels');
      if (r.channels.some((c) => c.state !== 'CHANNELD_NORMAL' || !c.peer_connected)) return false;
    }
    return true;
  };
}
