// The receive stack as the switch sees it: InvoiceReceiver (htlc-switch's reducer over the invoice
// registry) behind a fake PaymentSwitch. The invoice is durably paid before any preimage goes out; MPP
// sets settle together or fail with mpp_timeout (23); keysend; hold invoices held, settled, cancelled,
// failed back HOLD_EXPIRY_MARGIN_BLOCKS before expiry; and a restart hands the unanswered HTLCs back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { privateKeySigner } from '../../src/bolt11-invoice/index.ts';
import { fromHex, hex } from '../../src/core/bytes.ts';
import { msat } from '../../src/core/units.ts';
import { publicKeyOf, sha256 } from '../../src/crypto/index.ts';
import { HOLD_EXPIRY_MARGIN_BLOCKS, MPP_TIMEOUT_MS } from '../../src/node/htlc-switch.ts';
import { InvoiceReceiver, RECEIVE_TICK_MS } from '../../src/node/invoice-receiver.ts';
import { INVOICES_NS, InvoiceRegistry } from '../../src/node/invoice-store.ts';
import type { InvoiceRecord } from '../../src/node/invoices.ts';
import { createLogger } from '../../src/node/logger.ts';
import { decodeMethods, invoiceMethods } from '../../src/node/rpc-invoices.ts';
import type { FinalDecision, FinalHtlc, HtlcRef, Receiver } from '../../src/node/switch.ts';
import { callMethod, methodTable } from '../../src/rpc/methods.ts';
import { memoryStore } from '../../src/store/sqlite.ts';
import { decodeRecord, type Store } from '../../src/store/store.ts';
import { ManualClock } from '../../src/testing/manual-clock.ts';
import { rpcRejection } from '../../src/testing/rpc-rejection.ts';

const KEY = new Uint8Array(32).fill(0x31);
const HEIGHT = 500;
const log = createLogger({ level: 'error', stderr: false });

interface Answer {
  readonly ref: string;
  readonly kind: FinalDecision['kind'];
  readonly failure?: string;
  /** The invoice's stored state when the answer was given. */
  readonly storedState: string | undefined;
}

/** Stands in for PaymentSwitch: records each answer with the invoice state the store held right then. */
class FakeSwitch {
  receiver: Receiver | null = null;
  height = HEIGHT;
  readonly answers: Answer[] = [];
  constructor(readonly store: Store) {}
  setReceiver(r: Receiver): void {
    this.receiver = r;
  }
  tipHeight(): number {
    return this.height;
  }
  settle(ref: HtlcRef, d: FinalDecision): void {
    const hashHex = d.kind === 'settle' ? hex(sha256(d.preimage)) : undefined;
    const stored = this.store
      .list(INVOICES_NS)
      .map(({ value }) => decodeRecord<InvoiceRecord>(value))
      .find((r) => r.paymentHash === hashHex);
    this.answers.push({
      ref: `${ref.ch}/${ref.id}`,
      kind: d.kind,
      ...(d.kind === 'fail' ? { failure: d.failure.failure } : {}),
      storedState: stored?.state,
    });
  }
}

function setup(store: Store = memoryStore(), clock = new ManualClock()) {
  let n = 0;
  const registry = new InvoiceRegistry({
    store,
    clock,
    entropy: { randomBytes: (len) => new Uint8Array(len).fill(++n) },
    sign: privateKeySigner(KEY),
    nodeId: publicKeyOf(KEY),
    currency: 'bcrt',
  });
  const sw = new FakeSwitch(store);
  const receiver = new InvoiceReceiver({ registry, switch: sw, clock, log });
  const table = methodTable([...decodeMethods(), ...invoiceMethods({ registry, hold: receiver })]);
  const call = (name: string, params: unknown) =>
    callMethod(table, name, params) as Promise<Record<string, unknown>>;
  return { store, clock, registry, sw, receiver, call };
}

let nextId = 0n;
function htlc(
  paymentHash: Uint8Array,
  paymentSecret: Uint8Array | null,
  amount: bigint,
  total: bigint,
  over: Partial<FinalHtlc> = {},
): FinalHtlc {
  return {
    ref: { ch: 'c1', id: nextId++ },
    paymentHash,
    amountMsat: msat(amount),
    cltvExpiry: HEIGHT + 40,
    height: HEIGHT,
    amtToForward: msat(amount),
    outgoingCltvValue: HEIGHT + 40,
    totalMsat: msat(total),
    paymentSecret,
    keysendPreimage: null,
    ...over,
  };
}

async function newInvoice(call: ReturnType<typeof setup>['call'], label: string, amount: number | 'any') {
  const r = await call('invoice', [amount, label, 'd']);
  return { hash: fromHex(r.payment_hash as string), secret: fromHex(r.payment_secret as string) };
}

test('single part: the invoice is stored paid before the preimage is handed to the switch', async () => {
  const { sw, receiver, call, registry } = setup();
  const { hash, secret } = await newInvoice(call, 'a', 10_000);
  receiver.onFinalHtlc(htlc(hash, secret, 10_000n, 10_000n));
  assert.deepEqual(
    sw.answers.map((a) => [a.kind, a.storedState]),
    [['settle', 'paid']],
  );
  const j = registry.toJson(registry.get('a')!);
  assert.equal(j.status, 'paid');
  assert.equal(j.amount_received_msat, 10_000n);
  assert.equal(j.pay_index, 1);
  // Paid already: a second HTLC for it is refused with BOLT 4's unknown-details failure.
  receiver.onFinalHtlc(htlc(hash, secret, 10_000n, 10_000n));
  assert.deepEqual(sw.answers[1]?.failure, 'incorrect_or_unknown_payment_details');
});

test('a wrong payment_secret or an unknown hash fails; nothing is marked paid', async () => {
  const { sw, receiver, call, registry } = setup();
  const { hash } = await newInvoice(call, 'a', 10_000);
  receiver.onFinalHtlc(htlc(hash, new Uint8Array(32), 10_000n, 10_000n));
  receiver.onFinalHtlc(htlc(sha256(Uint8Array.of(1)), new Uint8Array(32), 10_000n, 10_000n));
  assert.deepEqual(
    sw.answers.map((a) => a.failure),
    ['incorrect_or_unknown_payment_details', 'incorrect_or_unknown_payment_details'],
  );
  assert.equal(registry.get('a')?.state, 'unpaid');
});

test('multi-part: settled together once total_msat is in; an incomplete set fails with mpp_timeout', async () => {
  const { sw, receiver, call, clock, registry } = setup();
  const { hash, secret } = await newInvoice(call, 'mpp', 30_000);
  receiver.onFinalHtlc(htlc(hash, secret, 10_000n, 30_000n));
  receiver.onFinalHtlc(htlc(hash, secret, 10_000n, 30_000n));
  assert.equal(sw.answers.length, 0, 'waits for the rest');
  assert.deepEqual(receiver.waiting()[0], { paymentHash: hex(hash), status: 'accumulating', parts: 2 });
  receiver.onFinalHtlc(htlc(hash, secret, 10_000n, 30_000n));
  assert.deepEqual(
    sw.answers.map((a) => [a.kind, a.storedState]),
    [
      ['settle', 'paid'],
      ['settle', 'paid'],
      ['settle', 'paid'],
    ],
  );
  assert.equal(registry.get('mpp')?.amountReceivedMsat, 30_000n);

  const two = await newInvoice(call, 'late', 30_000);
  receiver.onFinalHtlc(htlc(two.hash, two.secret, 10_000n, 30_000n));
  clock.advance(MPP_TIMEOUT_MS - RECEIVE_TICK_MS);
  assert.equal(sw.answers.length, 3, 'not before 60 s');
  clock.advance(RECEIVE_TICK_MS);
  assert.deepEqual(sw.answers[3], {
    ref: sw.answers[3]!.ref,
    kind: 'fail',
    failure: 'mpp_timeout',
    storedState: undefined,
  });
  assert.equal(registry.get('late')?.state, 'unpaid');
  assert.deepEqual(receiver.waiting(), []);
});

test('keysend: recorded as a paid invoice before the settle; a preimage not matching the hash fails', () => {
  const { sw, receiver, registry } = setup();
  const pre = new Uint8Array(32).fill(7);
  receiver.onFinalHtlc(htlc(sha256(pre), null, 5_000n, 5_000n, { keysendPreimage: pre }));
  assert.deepEqual(
    sw.answers.map((a) => [a.kind, a.storedState]),
    [['settle', 'paid']],
  );
  const rec = registry.byPaymentHash(sha256(pre))!;
  assert.equal(registry.toJson(rec).status, 'paid');
  assert.equal(rec.amountReceivedMsat, 5_000n);
  receiver.onFinalHtlc(htlc(sha256(Uint8Array.of(2)), null, 5_000n, 5_000n, { keysendPreimage: pre }));
  assert.equal(sw.answers[1]?.failure, 'incorrect_or_unknown_payment_details');
});

test('hold invoice: held as accepted, settled only after it is stored paid; another cancelled', async () => {
  const { sw, receiver, call, registry } = setup();
  const pre = new Uint8Array(32).fill(0x42);
  const made = await call('holdinvoice', [hex(sha256(pre)), 20_000, 'h', 'held']);
  const secret = fromHex(made.payment_secret as string);
  // Not settleable before the HTLCs are in.
  assert.equal((await rpcRejection(call('holdinvoicesettle', [hex(pre)]))).code, 906);
  receiver.onFinalHtlc(htlc(sha256(pre), secret, 12_000n, 20_000n));
  receiver.onFinalHtlc(htlc(sha256(pre), secret, 8_000n, 20_000n));
  assert.equal(sw.answers.length, 0, 'held, not answered');
  const listed = (await call('listinvoices', { label: 'h' })).invoices as Record<string, unknown>[];
  assert.equal(listed[0]?.status, 'accepted');
  assert.equal(listed[0]?.amount_received_msat, 20_000n);
  assert.equal((await rpcRejection(call('delinvoice', ['h', 'accepted']))).code, 906);
  // A wrong preimage names no hold invoice.
  assert.equal((await rpcRejection(call('holdinvoicesettle', ['11'.repeat(32)]))).code, 905);
  const settled = await call('holdinvoicesettle', [hex(pre)]);
  assert.equal(settled.status, 'paid');
  assert.equal(settled.payment_preimage, hex(pre));
  assert.deepEqual(
    sw.answers.map((a) => [a.kind, a.storedState]),
    [
      ['settle', 'paid'],
      ['settle', 'paid'],
    ],
  );
  assert.equal((await rpcRejection(call('holdinvoicecancel', [hex(sha256(pre))]))).code, 906);

  const pre2 = new Uint8Array(32).fill(0x43);
  const m2 = await call('holdinvoice', [hex(sha256(pre2)), 'any', 'h2', 'held too']);
  receiver.onFinalHtlc(htlc(sha256(pre2), fromHex(m2.payment_secret as string), 3_000n, 3_000n));
  assert.equal(registry.get('h2')?.state, 'accepted');
  const c = await call('holdinvoicecancel', [hex(sha256(pre2))]);
  assert.equal(c.status, 'canceled');
  assert.equal(sw.answers[2]?.failure, 'incorrect_or_unknown_payment_details');
  // Refused from now on.
  receiver.onFinalHtlc(htlc(sha256(pre2), fromHex(m2.payment_secret as string), 3_000n, 3_000n));
  assert.equal(sw.answers[3]?.failure, 'incorrect_or_unknown_payment_details');
  assert.equal((await call('delinvoice', ['h2', 'canceled'])).label, 'h2');
});

test('held HTLCs are failed back HOLD_EXPIRY_MARGIN_BLOCKS before their expiry; the invoice is payable again', async () => {
  const { sw, receiver, call, registry, clock } = setup();
  const pre = new Uint8Array(32).fill(0x44);
  const made = await call('holdinvoice', [hex(sha256(pre)), 20_000, 'h', 'held']);
  const secret = fromHex(made.payment_secret as string);
  receiver.onFinalHtlc(
    htlc(sha256(pre), secret, 20_000n, 20_000n, { cltvExpiry: HEIGHT + 30, outgoingCltvValue: HEIGHT + 30 }),
  );
  sw.height = HEIGHT + 30 - HOLD_EXPIRY_MARGIN_BLOCKS - 1;
  clock.advance(RECEIVE_TICK_MS);
  assert.equal(sw.answers.length, 0);
  sw.height += 1;
  clock.advance(RECEIVE_TICK_MS);
  assert.deepEqual(
    sw.answers.map((a) => a.failure),
    ['incorrect_or_unknown_payment_details'],
  );
  assert.equal(registry.get('h')?.state, 'unpaid');
  assert.equal(registry.get('h')?.amountReceivedMsat, undefined);
  assert.equal((await rpcRejection(call('holdinvoicesettle', [hex(pre)]))).code, 906);
});

test('restart: held parts are held again and settle after; paid ones settle; an accepted invoice without parts is unpaid again', async () => {
  const store = memoryStore();
  const clock = new ManualClock();
  const first = setup(store, clock);
  const pre = new Uint8Array(32).fill(0x45);
  const made = await first.call('holdinvoice', [hex(sha256(pre)), 20_000, 'h', 'held']);
  const secret = fromHex(made.payment_secret as string);
  const parts = [htlc(sha256(pre), secret, 15_000n, 20_000n), htlc(sha256(pre), secret, 5_000n, 20_000n)];
  for (const p of parts) first.receiver.onFinalHtlc(p);
  const gone = new Uint8Array(32).fill(0x46);
  const m2 = await first.call('holdinvoice', [hex(sha256(gone)), 1_000, 'gone', 'x']);
  first.receiver.onFinalHtlc(htlc(sha256(gone), fromHex(m2.payment_secret as string), 1_000n, 1_000n));
  // Paid, but "crashed" before its HTLC was answered.
  const paid = await newInvoice(first.call, 'p', 4_000);
  const paidPart = htlc(paid.hash, paid.secret, 4_000n, 4_000n);
  first.registry.markPaid(paid.hash, msat(4_000n), new Uint8Array(32).fill(2));
  // An MPP part whose set was not complete at the crash: it waits again, from now.
  const mpp = await newInvoice(first.call, 'm', 8_000);
  const mppPart = htlc(mpp.hash, mpp.secret, 4_000n, 8_000n);
  first.receiver.close();

  const second = setup(store, clock);
  assert.equal(second.registry.get('h')?.state, 'accepted');
  second.receiver.recover([...parts, paidPart, mppPart]);
  assert.deepEqual(
    second.sw.answers.map((a) => [a.ref, a.kind]),
    [[`${paidPart.ref.ch}/${paidPart.ref.id}`, 'settle']],
  );
  assert.equal(second.registry.get('gone')?.state, 'unpaid', 'its HTLC did not survive');
  assert.equal(second.registry.get('h')?.state, 'accepted');
  await second.call('holdinvoicesettle', [hex(pre)]);
  assert.deepEqual(
    second.sw.answers.slice(1).map((a) => [a.ref, a.kind, a.storedState]),
    parts.map((p) => [`${p.ref.ch}/${p.ref.id}`, 'settle', 'paid']),
  );
  second.receiver.onFinalHtlc(htlc(mpp.hash, mpp.secret, 4_000n, 8_000n));
  assert.equal(second.registry.get('m')?.state, 'paid');
});

test('if the invoice cannot be stored paid, its HTLCs are failed, never settled', async () => {
  const { sw, receiver, call, registry } = setup();
  const { hash, secret } = await newInvoice(call, 'a', 10_000);
  registry.markPaid = () => {
    throw new Error('disk full');
  };
  receiver.onFinalHtlc(htlc(hash, secret, 10_000n, 10_000n));
  assert.deepEqual(
    sw.answers.map((a) => [a.kind, a.failure]),
    [['fail', 'incorrect_or_unknown_payment_details']],
  );
});

test('waitanyinvoice returns payments in pay_index order; waitinvoice resolves on payment', async () => {
  const { receiver, call } = setup();
  const a = await newInvoice(call, 'a', 1_000);
  const b = await newInvoice(call, 'b', 1_000);
  const waitB = call('waitinvoice', ['b']);
  const next = call('waitanyinvoice', [0]);
  receiver.onFinalHtlc(htlc(b.hash, b.secret, 1_000n, 1_000n));
  receiver.onFinalHtlc(htlc(a.hash, a.secret, 1_000n, 1_000n));
  assert.equal((await waitB).label, 'b');
  assert.deepEqual([(await next).label, (await next).pay_index], ['b', 1]);
  const second = await call('waitanyinvoice', [1]);
  assert.deepEqual([second.label, second.pay_index], ['a', 2]);
  assert.equal((await rpcRejection(call('waitanyinvoice', [2, 0]))).code, 904);
});

test('restart: a held set missing a part (its channel closed) is failed back, never settled short', async () => {
  const store = memoryStore();
  const clock = new ManualClock();
  const first = setup(store, clock);
  const pre = new Uint8Array(32).fill(0x47);
  const made = await first.call('holdinvoice', [hex(sha256(pre)), 20_000, 'h', 'held']);
  const secret = fromHex(made.payment_secret as string);
  const kept = htlc(sha256(pre), secret, 15_000n, 20_000n);
  first.receiver.onFinalHtlc(kept);
  first.receiver.onFinalHtlc(htlc(sha256(pre), secret, 5_000n, 20_000n));
  assert.equal(first.registry.get('h')?.state, 'accepted');
  first.receiver.close();

  const second = setup(store, clock);
  second.receiver.recover([kept]);
  assert.deepEqual(
    second.sw.answers.map((a) => [a.ref, a.kind, a.failure]),
    [[`${kept.ref.ch}/${kept.ref.id}`, 'fail', 'incorrect_or_unknown_payment_details']],
  );
  assert.equal(second.registry.get('h')?.state, 'unpaid');
  assert.deepEqual(second.receiver.waiting(), []);
});
