import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeInvoice, privateKeySigner } from '../../src/bolt11-invoice/index.ts';
import { hex } from '../../src/core/bytes.ts';
import { msat } from '../../src/core/units.ts';
import { publicKeyOf, sha256 } from '../../src/crypto/index.ts';
import { emptyReceiveState, stepReceive } from '../../src/node/htlc-switch.ts';
import { InvoiceRegistry, type InvoiceRegistryOptions } from '../../src/node/invoice-store.ts';
import { decodeMethods, invoiceMethods } from '../../src/node/rpc-invoices.ts';
import { callMethod, methodTable } from '../../src/rpc/methods.ts';
import { memoryStore } from '../../src/store/sqlite.ts';
import { ManualClock } from '../../src/testing/manual-clock.ts';
import { rpcRejection } from '../../src/testing/rpc-rejection.ts';

const NODE_SECRET = new Uint8Array(32).fill(0x11);

/** Deterministic entropy: counter bytes, so every draw differs. */
function counterEntropy(start = 0) {
  let n = start;
  return {
    randomBytes: (len: number) => {
      n++;
      return new Uint8Array(len).fill(n & 0xff);
    },
  };
}

function setup(store = memoryStore(), clock = new ManualClock(), seed = 0) {
  const opts: InvoiceRegistryOptions = {
    store,
    clock,
    entropy: counterEntropy(seed),
    sign: privateKeySigner(NODE_SECRET),
    nodeId: publicKeyOf(NODE_SECRET),
    currency: 'bcrt',
  };
  const registry = new InvoiceRegistry(opts);
  const held: { settled: string[]; canceled: string[] } = { settled: [], canceled: [] };
  const table = methodTable([
    ...decodeMethods(),
    ...invoiceMethods({
      registry,
      hold: {
        settle: (h, pre) => {
          held.settled.push(hex(h));
          registry.markPaid(h, msat(5000), pre);
        },
        cancel: (h) => {
          held.canceled.push(hex(h));
        },
      },
    }),
  ]);
  const call = (name: string, params: unknown) =>
    callMethod(table, name, params) as Promise<Record<string, unknown>>;
  return { registry, clock, store, call, held, opts };
}

test('invoice: returns CLN fields, the bolt11 decodes to our node, amount, description and hash', async () => {
  const { call, clock } = setup();
  const r = await call('invoice', [12345, 'first', 'coffee', 600]);
  assert.deepEqual(Object.keys(r).sort(), [
    'bolt11',
    'created_index',
    'expires_at',
    'payment_hash',
    'payment_secret',
  ]);
  assert.equal(r.created_index, 1);
  assert.equal(r.expires_at, clock.now() / 1000 + 600);
  const inv = decodeInvoice(r.bolt11 as string);
  assert.ok(inv.ok);
  assert.equal(inv.value.amount, 12345n);
  assert.equal(inv.value.description, 'coffee');
  assert.equal(inv.value.currency, 'bcrt');
  assert.equal(hex(inv.value.payee), hex(publicKeyOf(NODE_SECRET)));
  assert.equal(hex(inv.value.paymentHash), r.payment_hash);
  assert.equal(hex(inv.value.paymentSecret), r.payment_secret);
  const any = await call('invoice', { amount_msat: 'any', label: 2, description: 'tip' });
  const anyInv = decodeInvoice(any.bolt11 as string);
  assert.ok(anyInv.ok && anyInv.value.amount === undefined);
  assert.equal(any.created_index, 2);
});

test('invoice: given preimage, fallbacks; duplicate label 900, duplicate preimage 901, bad params', async () => {
  const { call } = setup();
  const pre = 'ab'.repeat(32);
  const r = await call('invoice', {
    amount_msat: '5sat',
    label: 'a',
    description: 'd',
    preimage: pre,
    fallbacks: ['bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080'],
  });
  assert.equal(r.payment_hash, hex(sha256(Buffer.from(pre, 'hex'))));
  const inv = decodeInvoice(r.bolt11 as string);
  assert.ok(inv.ok && inv.value.fallbacks.length === 1 && inv.value.amount === 5000n);
  assert.equal((await rpcRejection(call('invoice', [1, 'a', 'again']))).code, 900);
  assert.equal(
    (await rpcRejection(call('invoice', { amount_msat: 1, label: 'b', description: 'd', preimage: pre })))
      .code,
    901,
  );
  assert.equal((await rpcRejection(call('invoice', [0, 'c', 'zero']))).code, -32602);
  assert.equal(
    (await rpcRejection(call('invoice', [1, 'c', 'bad', 60, ['bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kxxxxxx']])))
      .code,
    -32602,
  );
  assert.equal(
    (await rpcRejection(call('invoice', { amount_msat: 1, label: 'c', description: 'd', preimage: 'zz' })))
      .code,
    -32602,
  );
});

test('listinvoices: unpaid -> expired with time; paid shows amount_received, paid_at, preimage, pay_index', async () => {
  const { call, clock, registry } = setup();
  const a = await call('invoice', [1000, 'a', 'x', 60]);
  await call('invoice', [1000, 'b', 'y', 3600]);
  let list = (await call('listinvoices', {})).invoices as Record<string, unknown>[];
  assert.deepEqual(
    list.map((i) => [i.label, i.status]),
    [
      ['a', 'unpaid'],
      ['b', 'unpaid'],
    ],
  );
  clock.advance(61_000);
  list = (await call('listinvoices', ['a'])).invoices as Record<string, unknown>[];
  assert.equal(list[0]!.status, 'expired');
  const rec = registry.get('b')!;
  registry.markPaid(Buffer.from(rec.paymentHash, 'hex'), msat(1500), Buffer.from(rec.preimage!, 'hex'));
  const b = (
    (await call('listinvoices', { payment_hash: rec.paymentHash })).invoices as Record<string, unknown>[]
  )[0]!;
  assert.equal(b.status, 'paid');
  assert.equal(b.amount_received_msat, 1500n);
  assert.equal(b.pay_index, 1);
  assert.equal(b.paid_at, Math.floor(clock.now() / 1000));
  assert.equal(b.payment_preimage, rec.preimage);
  assert.equal(
    sha256(Buffer.from(b.payment_preimage as string, 'hex')).toString(),
    sha256(Buffer.from(rec.preimage!, 'hex')).toString(),
  );
  const byInv = (await call('listinvoices', { invstring: a.bolt11 })).invoices as unknown[];
  assert.equal(byInv.length, 1);
  assert.equal(
    (await rpcRejection(call('listinvoices', { label: 'a', payment_hash: rec.paymentHash }))).code,
    -32602,
  );
});

test('listinvoices index/start/limit pages by created or updated index; bad paging is -32602', async () => {
  const { call, registry } = setup();
  for (const l of ['a', 'b', 'c', 'd']) await call('invoice', [1000, l, 'x']);
  const labels = async (p: unknown) =>
    ((await call('listinvoices', p)).invoices as { label: string }[]).map((i) => i.label);
  assert.deepEqual(await labels({ index: 'created', start: 2, limit: 2 }), ['b', 'c']);
  assert.deepEqual(await labels({ index: 'created', start: 4 }), ['d']);
  const pay = (l: string) => {
    const r = registry.get(l)!;
    registry.markPaid(Buffer.from(r.paymentHash, 'hex'), msat(1000), Buffer.from(r.preimage!, 'hex'));
  };
  pay('c');
  pay('a');
  assert.deepEqual(await labels({ index: 'updated' }), ['c', 'a']);
  assert.deepEqual(await labels({ index: 'updated', start: 2 }), ['a']);
  for (const bad of [
    { start: 1 },
    { index: 'paid' },
    { index: 'created', limit: 0 },
    { index: 'created', start: -1 },
  ])
    assert.equal((await rpcRejection(call('listinvoices', bad))).code, -32602, JSON.stringify(bad));
});

test('invoice dev-routes become route hints; malformed ones are -32602', async () => {
  const { call } = setup();
  const hop = {
    id: hex(publicKeyOf(new Uint8Array(32).fill(5))),
    short_channel_id: '103x1x0',
    fee_base_msat: 1000,
    fee_proportional_millionths: 10,
    cltv_expiry_delta: 34,
  };
  const r = await call('invoice', { amount_msat: 1000, label: 'r', description: 'x', 'dev-routes': [[hop]] });
  const inv = decodeInvoice(r.bolt11 as string);
  assert.ok(inv.ok);
  const hints = inv.value.routeHints;
  assert.equal(hints.length, 1);
  assert.equal(hex(hints[0]![0]!.pubkey), hop.id);
  assert.equal(hints[0]![0]!.shortChannelId, (103n << 40n) | (1n << 16n));
  assert.equal(hints[0]![0]!.cltvExpiryDelta, 34);
  for (const bad of [[hop], [[{ ...hop, short_channel_id: 'x' }]], [[{ ...hop, fee_base_msat: -1 }]]]) {
    const e = await rpcRejection(
      call('invoice', { amount_msat: 1, label: 'z', description: 'x', 'dev-routes': bad }),
    );
    assert.equal(e.code, -32602);
  }
});

test('persisted: a new registry over the same store sees the same invoices and counters', async () => {
  const s = setup();
  await s.call('invoice', [1000, 'a', 'x']);
  const rec = s.registry.get('a')!;
  s.registry.markPaid(Buffer.from(rec.paymentHash, 'hex'), msat(1000), Buffer.from(rec.preimage!, 'hex'));
  const again = setup(s.store, s.clock, 100);
  assert.equal(again.registry.get('a')?.state, 'paid');
  const r = await again.call('invoice', [1000, 'b', 'y']);
  assert.equal(r.created_index, 2);
  assert.equal(again.registry.get('a')?.payIndex, 1);
});

test('waitinvoice resolves on payment, fails 903 on expiry, 905 when unknown', async () => {
  const { call, clock, registry } = setup();
  await call('invoice', [1000, 'a', 'x', 60]);
  await call('invoice', [1000, 'b', 'y', 60]);
  const waitA = call('waitinvoice', ['a']);
  const waitB = rpcRejection(call('waitinvoice', ['b']));
  const rec = registry.get('a')!;
  registry.markPaid(Buffer.from(rec.paymentHash, 'hex'), msat(1000), Buffer.from(rec.preimage!, 'hex'));
  assert.equal((await waitA).status, 'paid');
  clock.advance(62_000);
  assert.equal((await waitB).code, 903);
  assert.equal((await rpcRejection(call('waitinvoice', ['b']))).code, 903);
  assert.equal((await rpcRejection(call('waitinvoice', ['nope']))).code, 905);
  assert.equal((await call('waitinvoice', ['a'])).status, 'paid');
});

test('waitanyinvoice: returns paid invoices in pay_index order, waits, and times out with 904', async () => {
  const { call, clock, registry } = setup();
  await call('invoice', [1000, 'a', 'x']);
  await call('invoice', [1000, 'b', 'y']);
  const pay = (label: string) => {
    const r = registry.get(label)!;
    registry.markPaid(Buffer.from(r.paymentHash, 'hex'), msat(1000), Buffer.from(r.preimage!, 'hex'));
  };
  const first = call('waitanyinvoice', []);
  pay('b');
  assert.equal((await first).label, 'b');
  const second = call('waitanyinvoice', [1]);
  pay('a');
  const s = await second;
  assert.equal(s.label, 'a');
  assert.equal(s.pay_index, 2);
  assert.equal((await call('waitanyinvoice', [0])).label, 'b');
  const timeout = rpcRejection(call('waitanyinvoice', [2, 5]));
  clock.advance(5_000);
  assert.equal((await timeout).code, 904);
  assert.equal((await rpcRejection(call('waitanyinvoice', [2, 0]))).code, 904);
});

test('delinvoice checks the stated status (906) and removes the invoice', async () => {
  const { call } = setup();
  await call('invoice', [1000, 'a', 'x']);
  const e = await rpcRejection(call('delinvoice', ['a', 'paid']));
  assert.equal(e.code, 906);
  assert.match(e.message, /unpaid not paid/);
  const d = await call('delinvoice', ['a', 'unpaid']);
  assert.equal(d.label, 'a');
  assert.equal(((await call('listinvoices', [])).invoices as unknown[]).length, 0);
  assert.equal((await rpcRejection(call('delinvoice', ['a', 'unpaid']))).code, 905);
  assert.equal((await rpcRejection(call('delinvoice', ['a', 'bogus']))).code, -32602);
});

test('hold invoice: created from a hash, accepted by the switch, settled with its preimage or canceled', async () => {
  const { call, registry, held, clock } = setup();
  const preimage = new Uint8Array(32).fill(0x42);
  const hash = sha256(preimage);
  const r = await call('holdinvoice', [hex(hash), 5000, 'h', 'held']);
  assert.equal(r.payment_hash, hex(hash));
  const rec = registry.get('h')!;
  assert.equal(rec.preimage, undefined);
  assert.equal(rec.hold, true);
  // Not settleable before the HTLCs are held.
  assert.equal((await rpcRejection(call('holdinvoicesettle', [hex(preimage)]))).code, 906);
  // The switch holds a complete set.
  const inv = registry.receivable(hash)!;
  const step = stepReceive({ keysendEnabled: false }, emptyReceiveState, {
    type: 'htlc',
    htlc: { channel: '1x1x1', htlcId: 0n, amountMsat: msat(5000), cltvExpiry: 1000, paymentHash: hash },
    payload: {
      amtToForward: msat(5000),
      outgoingCltvValue: 1000,
      totalMsat: msat(5000),
      paymentSecret: inv.paymentSecret,
      paymentMetadata: null,
    },
    invoice: inv,
    height: 900,
    now: clock.now(),
  });
  assert.ok(!('error' in step));
  assert.deepEqual(
    step.actions.map((a) => a.type),
    ['held'],
  );
  registry.markAccepted(hash, msat(5000));
  assert.equal(
    ((await call('listinvoices', ['h'])).invoices as Record<string, unknown>[])[0]!.status,
    'accepted',
  );
  assert.equal((await rpcRejection(call('holdinvoicesettle', ['00'.repeat(32)]))).code, 905);
  const settled = await call('holdinvoicesettle', [hex(preimage)]);
  assert.equal(settled.status, 'paid');
  assert.deepEqual(held.settled, [hex(hash)]);
  assert.equal((await rpcRejection(call('holdinvoicecancel', [hex(hash)]))).code, 906);
  // A second hold invoice is canceled.
  const pre2 = new Uint8Array(32).fill(0x43);
  await call('holdinvoice', [hex(sha256(pre2)), 'any', 'h2', 'held']);
  const c = await call('holdinvoicecancel', [hex(sha256(pre2))]);
  assert.equal(c.status, 'canceled');
  assert.deepEqual(held.canceled, [hex(sha256(pre2))]);
  assert.equal(registry.receivable(sha256(pre2))?.paid, true); // refused from now on
});

test('keysend payments are recorded as paid invoices', () => {
  const { registry } = setup();
  const pre = new Uint8Array(32).fill(9);
  const r = registry.recordKeysend(sha256(pre), msat(777), pre);
  assert.equal(r.state, 'paid');
  assert.equal(registry.toJson(r).amount_received_msat, 777n);
  assert.equal(registry.toJson(r).status, 'paid');
});

test('decode and decodepay: any network, reports currency; description check; bad input is -32602', async () => {
  const { call } = setup();
  const made = await call('invoice', [1000, 'a', 'hello']);
  const d = await call('decode', [made.bolt11]);
  assert.equal(d.currency, 'bcrt');
  assert.equal(d.amount_msat, 1000n);
  assert.equal(d.description, 'hello');
  assert.equal((await call('decodepay', [made.bolt11, 'hello'])).payment_hash, made.payment_hash);
  assert.equal((await rpcRejection(call('decodepay', [made.bolt11, 'other']))).code, -32602);
  assert.equal((await rpcRejection(call('decode', ['lnbc1garbage']))).code, -32602);
  // A mainnet invoice from BOLT 11's examples decodes too.
  const mainnet =
    'lnbc2500u1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpu9qrsgquk0rl77nj30yxdy8j9vdx85fkpmdla2087ne0xh8nhedh8w27kyke0lp53ut353s06fv3qfegext0eh0ymjpf39tuven09sam30g4vgpfna3rh';
  const m = await call('decode', [mainnet]);
  assert.equal(m.currency, 'bc');
  assert.equal(m.amount_msat, 250_000_000n);
});
