// The payee has seen a block the payer has not: the payer's final CLTV padding keeps the final HTLC's
// expiry above the payee's minimum, so the payment succeeds instead of failing as
// incorrect_or_unknown_payment_details (found by the N-node harness).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Msat, Sat } from '../../src/core/units.ts';
import { createInvoice, invoicePaid, routeHints } from '../../src/testing/network-checks.ts';
import { type NetNode, Network } from '../../src/testing/network-harness.ts';

test('a payer one block behind its payee still pays', async () => {
  const net = await Network.create({ seed: 3, nodes: 2 });
  try {
    const [a, b] = net.nodes as [NetNode, NetNode];
    await net.openChannel(a, b, 1_000_000n as Sat, 0n as Msat);
    net.mine(1);
    await net.deliverBlock(b);
    assert.equal(b.channels.tipHeight(), a.channels.tipHeight() + 1, 'b is one block ahead of a');
    const inv = createInvoice(b, {
      label: 'ahead',
      amountMsat: 5_000_000n as Msat,
      routeHints: routeHints([a, b]),
    });
    const paying = a.payments.payer.pay({ bolt11: inv.bolt11 });
    await net.settle();
    const paid = await paying;
    assert.equal(paid.status, 'complete');
    assert.ok(invoicePaid(b, 'ahead'));
  } finally {
    await net.close();
  }
});
