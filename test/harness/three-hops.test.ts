// Four nodes A-B-C-D of the in-memory harness, built from the real shell pieces: A pays D's invoice over
// three hops; the forwarding fees B and C earn and every balance are checked to the msat, then the
// network is checked quiet (no HTLC left, both sides of each channel agree, nothing pending).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Msat, Sat } from '../../src/core/units.ts';
import {
  balanceOf,
  checkQuiescent,
  createInvoice,
  forwardingFees,
  invoicePaid,
  routeHints,
  type Watermarks,
} from '../../src/testing/network-checks.ts';
import { type NetNode, Network } from '../../src/testing/network-harness.ts';

test('A pays D over three hops: fees and balances to the msat', async () => {
  const net = await Network.line({ seed: 7, nodes: 4, amount: 1_000_000n as Sat, push: 0n as Msat });
  try {
    const [a, b, c, d] = net.nodes as [NetNode, NetNode, NetNode, NetNode];
    const marks: Watermarks = new Map();
    assert.equal(checkQuiescent(net, marks).channels, 3);

    const before = {
      ab: balanceOf(a, b),
      ba: balanceOf(b, a),
      bc: balanceOf(b, c),
      cb: balanceOf(c, b),
      cd: balanceOf(c, d),
      dc: balanceOf(d, c),
    };
    const amount = 12_345_678n as Msat;
    const path = [a, b, c, d];
    const inv = createInvoice(d, { label: 'three-hops', amountMsat: amount, routeHints: routeHints(path) });
    const paying = a.payments.payer.pay({ bolt11: inv.bolt11 });
    await net.settle();
    const paid = await paying;
    assert.equal(paid.status, 'complete');
    assert.equal(paid.payment_preimage, inv.preimage);
    assert.ok(invoicePaid(d, 'three-hops'));

    const fees = forwardingFees(path, amount);
    // BOLT 7 fee: base 1000 msat + 10 ppm of what is forwarded.
    assert.equal(fees[2], 1000n + (amount * 10n) / 1_000_000n);
    assert.equal(fees[1], 1000n + ((amount + fees[2]!) * 10n) / 1_000_000n);
    const sent = amount + fees[1]! + fees[2]!;
    assert.equal(paid.amount_sent_msat, sent);
    assert.equal(balanceOf(a, b), before.ab - sent);
    assert.equal(balanceOf(b, a), before.ba + sent);
    assert.equal(balanceOf(b, c), before.bc - (amount + fees[2]!));
    assert.equal(balanceOf(c, b), before.cb + (amount + fees[2]!));
    assert.equal(balanceOf(c, d), before.cd - amount);
    assert.equal(balanceOf(d, c), before.dc + amount);
    // B and C each keep exactly their fee.
    assert.equal(balanceOf(b, a) - before.ba - (before.bc - balanceOf(b, c)), fees[1]);
    assert.equal(balanceOf(c, b) - before.cb - (before.cd - balanceOf(c, d)), fees[2]);
    checkQuiescent(net, marks);
    // The forwards B and C record say the same.
    for (const [n, fee] of [
      [b, fees[1]!],
      [c, fees[2]!],
    ] as const) {
      const fw = n.payments.switch.listForwards();
      assert.equal(fw.length, 1);
      assert.equal(fw[0]!.status, 'settled');
      assert.equal(fw[0]!.fee_msat, fee);
    }
  } finally {
    await net.close();
  }
});

test('C crashes with the payment in flight and restarts from its store: the payment ends the same for everyone', async () => {
  const net = await Network.line({ seed: 8, nodes: 4, amount: 1_000_000n as Sat, push: 0n as Msat });
  try {
    const [a, b, c, d] = net.nodes as [NetNode, NetNode, NetNode, NetNode];
    const marks: Watermarks = new Map();
    checkQuiescent(net, marks);
    const start = { ab: balanceOf(a, b), dc: balanceOf(d, c) };
    const amount = 2_000_000n as Msat;
    const path = [a, b, c, d];
    const inv = createInvoice(d, { label: 'crash', amountMsat: amount, routeHints: routeHints(path) });
    let outcome = 'pending';
    void a.payments.payer.pay({ bolt11: inv.bolt11 }).then(
      () => {
        outcome = 'complete';
      },
      () => {
        outcome = 'failed';
      },
    );
    // Let the HTLC travel until C has seen it, then kill C.
    for (let i = 0; i < 200 && c.payments.switch.listForwards().length === 0; i++)
      await new Promise<void>((r) => setImmediate(r));
    assert.equal(c.payments.switch.listForwards().length, 1, 'C never saw the HTLC');
    await net.crash(c);
    await net.settle();
    await net.start(c);
    await net.settle();
    checkQuiescent(net, marks);
    assert.notEqual(outcome, 'pending');
    const paid = invoicePaid(d, 'crash');
    assert.equal(paid, outcome === 'complete');
    const fees = forwardingFees(path, amount);
    const sent = paid ? amount + fees[1]! + fees[2]! : 0n;
    assert.equal(balanceOf(a, b), start.ab - sent);
    assert.equal(balanceOf(d, c), start.dc + (paid ? amount : 0n));
    console.log(`payment ${outcome} after C's crash`);
  } finally {
    await net.close();
  }
});
