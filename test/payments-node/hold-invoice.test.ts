// Hold invoices end to end on loopback: a `shandian devnet` chain and two `shandian start` nodes, A paying
// B over one channel. A hold invoice's payment stays pending while B holds it (listinvoices: accepted),
// holdinvoicesettle completes it with exact balances; a cancelled one fails at A with
// incorrect_or_unknown_payment_details; one stays held across B's kill -9 and restart, then settles; one
// left held is failed back HOLD_EXPIRY_MARGIN_BLOCKS before its HTLC expires; waitanyinvoice returns
// payments in pay_index order; delinvoice checks the status.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hex } from '../../src/core/bytes.ts';
import { sha256 } from '../../src/crypto/index.ts';
import { HOLD_EXPIRY_MARGIN_BLOCKS } from '../../src/node/htlc-switch.ts';
import { RpcClient } from '../../src/rpc/client.ts';
import type { NodeProcess } from '../../src/testing/processes.ts';
import { rpcRejection } from '../../src/testing/rpc-rejection.ts';
import { type Chain, type ProcessNet, waitUntil, withProcessNet } from '../channel-node/devnet-process.ts';

interface PeerChannel {
  state: string;
  to_us_msat?: number;
  htlcs?: { direction: string; expiry: number; payment_hash: string }[];
}
interface Invoice {
  label: string;
  status: string;
  pay_index?: number;
  amount_received_msat?: number;
  payment_preimage?: string;
}

async function channel(n: NodeProcess): Promise<PeerChannel> {
  const cs = (await n.call<{ channels: PeerChannel[] }>('listpeerchannels')).channels;
  assert.equal(cs.length, 1);
  return cs[0]!;
}

async function invoice(n: NodeProcess, label: string): Promise<Invoice | undefined> {
  return (await n.call<{ invoices: Invoice[] }>('listinvoices', { label })).invoices[0];
}

/** Whether `p` is still unsettled after the event loop has had a moment. */
async function stillPending(p: Promise<unknown>): Promise<boolean> {
  const marker = Symbol('pending');
  const r = await Promise.race([p.catch(() => null), new Promise((ok) => setTimeout(() => ok(marker), 300))]);
  return r === marker;
}

test('hold invoices over two processes: held, settled, cancelled, expired; waitanyinvoice; delinvoice', {
  timeout: 240_000,
}, async () => {
  await withProcessNet('shandian-hold-', async ({ chain, start, log }) => {
    // The node answers one request at a time per connection: calls that wait get their own.
    const clients: RpcClient[] = [];
    const waiting = <T>(n: NodeProcess, method: string, params: unknown): Promise<T> => {
      const c = new RpcClient(n.rpc.path);
      clients.push(c);
      return c.call<T>(method, params);
    };
    try {
      await holdInvoiceSteps(chain, start, log, waiting);
    } finally {
      for (const c of clients) c.close();
    }
  });
});

async function holdInvoiceSteps(
  chain: Chain,
  start: ProcessNet['start'],
  log: ProcessNet['log'],
  waiting: <T>(n: NodeProcess, method: string, params: unknown) => Promise<T>,
): Promise<void> {
  const A = await start('A');
  let B = await start('B');
  const ia = await A.call<{ id: string; binding: { port: number }[] }>('getinfo');
  const ib = await B.call<{ id: string }>('getinfo');
  const addr = (await A.call<{ bech32: string }>('newaddr')).bech32;
  await chain.rpc.call('sendtoaddress', [addr, 0.01]);
  await chain.mine(1);
  await waitUntil(
    async () =>
      (await A.call<{ outputs: { status: string }[] }>('listfunds')).outputs.some(
        (o) => o.status === 'confirmed',
      ),
    30_000,
    'A funded',
  );
  const dialA = () => B.call('connect', { id: ia.id, host: '127.0.0.1', port: ia.binding[0]!.port });
  await dialA();
  await A.call('fundchannel', { id: ib.id, amount: 500_000 });
  await chain.mine(6);
  await waitUntil(
    async () =>
      (await channel(A)).state === 'CHANNELD_NORMAL' && (await channel(B)).state === 'CHANNELD_NORMAL',
    60_000,
    'channel normal',
  );
  // Both nodes at the chain's tip, so the payer's CLTV meets the payee's final-hop check.
  const synced = async () => {
    const h = await chain.height();
    for (const n of [A, B])
      if ((await n.call<{ blockheight: number }>('getinfo')).blockheight !== h) return false;
    return true;
  };
  await waitUntil(synced, 20_000, 'nodes at the tip');
  const balances = async () => ({
    a: BigInt((await channel(A)).to_us_msat!),
    b: BigInt((await channel(B)).to_us_msat!),
  });
  const noHtlcs = async () =>
    ((await channel(A)).htlcs ?? []).length === 0 && ((await channel(B)).htlcs ?? []).length === 0;

  // 1. A hold invoice: A's payment stays pending while B holds it; settled, both balances move exactly.
  const pre1 = sha256(Buffer.from('hold one'));
  const h1 = await B.call<{ bolt11: string; payment_hash: string }>('holdinvoice', {
    payment_hash: hex(sha256(pre1)),
    amount_msat: 10_000_000,
    label: 'hold1',
    description: 'held',
  });
  const before = await balances();
  const paying1 = waiting<{ status: string; payment_preimage: string }>(A, 'pay', { bolt11: h1.bolt11 });
  await waitUntil(async () => (await invoice(B, 'hold1'))?.status === 'accepted', 30_000, 'hold1 accepted');
  assert.equal((await invoice(B, 'hold1'))?.amount_received_msat, 10_000_000);
  assert.ok(await stillPending(paying1), 'pay waits while the payment is held');
  const pays = (await A.call<{ pays: { payment_hash: string; status: string }[] }>('listpays')).pays;
  assert.deepEqual(
    pays.map((p) => [p.payment_hash, p.status]),
    [[h1.payment_hash, 'pending']],
  );
  assert.equal(((await channel(B)).htlcs ?? []).length, 1, 'B holds the HTLC');
  const firstPaid = waiting<Invoice>(B, 'waitanyinvoice', { lastpay_index: 0 });
  const settled = await B.call<Invoice>('holdinvoicesettle', { preimage: hex(pre1) });
  assert.equal(settled.status, 'paid');
  const paid1 = await paying1;
  assert.equal(paid1.status, 'complete');
  assert.equal(paid1.payment_preimage, hex(pre1));
  await waitUntil(noHtlcs, 20_000, 'hold1 settled in the channel');
  const after = await balances();
  assert.equal(before.a - after.a, 10_000_000n, 'A paid exactly the amount (no hop, no fee)');
  assert.equal(after.b - before.b, 10_000_000n, 'B received it');
  assert.deepEqual([(await firstPaid).label, (await firstPaid).pay_index], ['hold1', 1]);
  log('step 1 done');

  // 2. Cancelled: A's pay fails with incorrect_or_unknown_payment_details; no money moves.
  const pre2 = sha256(Buffer.from('hold two'));
  const h2 = await B.call<{ bolt11: string }>('holdinvoice', [hex(sha256(pre2)), 2_000_000, 'hold2', 'x']);
  const paying2 = rpcRejection(waiting(A, 'pay', { bolt11: h2.bolt11 }));
  await waitUntil(async () => (await invoice(B, 'hold2'))?.status === 'accepted', 30_000, 'hold2 accepted');
  const canceled = await B.call<Invoice>('holdinvoicecancel', { payment_hash: hex(sha256(pre2)) });
  assert.equal(canceled.status, 'canceled');
  const e2 = await paying2;
  assert.equal(e2.code, 203, e2.message);
  assert.equal(e2.data?.failcodename, 'WIRE_INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS');
  await waitUntil(noHtlcs, 20_000, 'hold2 failed back in the channel');
  assert.deepEqual(await balances(), after);
  assert.equal((await rpcRejection(B.call('holdinvoicesettle', [hex(pre2)]))).code, 906);
  log('step 2 done');

  // 3. An ordinary invoice paid next: waitanyinvoice walks the pay_index order.
  const plain = await B.call<{ bolt11: string }>('invoice', [1_000_000, 'plain', 'x']);
  assert.equal((await A.call<{ status: string }>('pay', [plain.bolt11])).status, 'complete');
  const next = await B.call<Invoice>('waitanyinvoice', [1]);
  assert.deepEqual([next.label, next.pay_index], ['plain', 2]);
  assert.equal((await rpcRejection(B.call('waitanyinvoice', { lastpay_index: 2, timeout: 0 }))).code, 904);
  log('step 3 done');

  // 4. B killed (-9) while holding, restarted: still accepted, the HTLC still held, then settled.
  const pre5 = sha256(Buffer.from('hold five'));
  const h5 = await B.call<{ bolt11: string }>('holdinvoice', [hex(sha256(pre5)), 4_000_000, 'hold5', 'x']);
  const paying5 = waiting<{ status: string; payment_preimage: string }>(A, 'pay', { bolt11: h5.bolt11 });
  await waitUntil(async () => (await invoice(B, 'hold5'))?.status === 'accepted', 30_000, 'hold5 accepted');
  await B.kill('SIGKILL');
  B = await start('B');
  // The channel's acceptor does not redial by itself (only an opener that dialled does).
  await dialA();
  await waitUntil(
    async () => {
      const c = (await B.call<{ channels: { state: string; peer_connected: boolean }[] }>('listpeerchannels'))
        .channels[0];
      return c?.state === 'CHANNELD_NORMAL' && c.peer_connected;
    },
    60_000,
    'B back and reconnected',
  );
  assert.equal((await invoice(B, 'hold5'))?.status, 'accepted');
  assert.ok(await stillPending(paying5), 'still held after the restart');
  const before5 = await balances();
  assert.equal((await B.call<Invoice>('holdinvoicesettle', [hex(pre5)])).status, 'paid');
  const paid5 = await paying5;
  assert.equal(paid5.status, 'complete');
  assert.equal(paid5.payment_preimage, hex(pre5));
  await waitUntil(noHtlcs, 20_000, 'hold5 settled in the channel');
  const after5 = await balances();
  assert.equal(after5.b - before5.b, 4_000_000n);
  log('step 4 done');

  // 5. Held until near expiry: B fails it back HOLD_EXPIRY_MARGIN_BLOCKS before, the invoice is unpaid again.
  const pre4 = sha256(Buffer.from('hold four'));
  const h4 = await B.call<{ bolt11: string }>('holdinvoice', [hex(sha256(pre4)), 3_000_000, 'hold4', 'x']);
  const paying4 = rpcRejection(waiting(A, 'pay', { bolt11: h4.bolt11 }));
  await waitUntil(async () => (await invoice(B, 'hold4'))?.status === 'accepted', 30_000, 'hold4 accepted');
  const expiry = (await channel(B)).htlcs![0]!.expiry;
  const margin = expiry - (await chain.height());
  assert.ok(margin > HOLD_EXPIRY_MARGIN_BLOCKS, `HTLC expires in ${margin} blocks`);
  await chain.mine(margin - HOLD_EXPIRY_MARGIN_BLOCKS - 1);
  await waitUntil(synced, 20_000, 'nodes at the tip');
  await new Promise((r) => setTimeout(r, 1500)); // the receiver looks every second
  assert.ok(await stillPending(paying4), 'still held one block before the margin');
  assert.equal((await invoice(B, 'hold4'))?.status, 'accepted');
  await chain.mine(1);
  const e4 = await paying4;
  assert.equal(e4.data?.failcodename, 'WIRE_INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS', e4.message);
  await waitUntil(async () => (await invoice(B, 'hold4'))?.status === 'unpaid', 10_000, 'hold4 unpaid');
  await waitUntil(noHtlcs, 20_000, 'hold4 failed back in the channel');
  log('step 5 done');

  // 6. delinvoice: the stated status must be the real one (906), then it is gone.
  assert.equal((await rpcRejection(B.call('delinvoice', ['plain', 'unpaid']))).code, 906);
  assert.equal((await B.call<Invoice>('delinvoice', ['plain', 'paid'])).label, 'plain');
  assert.equal((await B.call<Invoice>('delinvoice', ['hold2', 'canceled'])).label, 'hold2');
  assert.equal((await rpcRejection(B.call('delinvoice', ['hold2', 'canceled']))).code, 905);
  const left = (await B.call<{ invoices: Invoice[] }>('listinvoices')).invoices.map((i) => i.label);
  assert.deepEqual(left, ['hold1', 'hold5', 'hold4']);
}
