// End-to-end flows through the two-node harness: open, pay both ways, fee update, reconnect, close.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Msat } from '../../src/core/units.ts';
import { sha256 } from '../../src/crypto/index.ts';
import {
  ChannelPair,
  checkAgreement,
  checkBroadcastable,
  checkConservation,
  type HarnessNode,
} from '../../src/testing/channel-harness.ts';
import { commitmentsOf } from '../../src/bolt02-channel/index.ts';

const ONION = new Uint8Array(1366);

function preimageOf(i: number): Uint8Array {
  return sha256(new Uint8Array([i, 1, 2, 3]));
}

function add(pair: ChannelPair, from: HarnessNode, amount: bigint, i: number): bigint {
  pair.must(from, {
    kind: 'command',
    cmd: { kind: 'add_htlc', amount: amount as Msat, paymentHash: sha256(preimageOf(i)), cltvExpiry: 800_100, onion: ONION },
  });
  const e = from.events.pop();
  assert.equal(e?.kind, 'htlc_offered');
  return e.kind === 'htlc_offered' ? e.id : -1n;
}

function invariants(pair: ChannelPair): void {
  for (const n of [pair.a, pair.b]) checkConservation(commitmentsOf(n.state)!);
  checkAgreement(pair);
  checkBroadcastable(pair.a);
  checkBroadcastable(pair.b);
}

test('open, pay a -> b, fulfill, balances move', () => {
  const pair = ChannelPair.open();
  invariants(pair);
  const id = add(pair, pair.a, 50_000_000n, 1);
  pair.must(pair.a, { kind: 'command', cmd: { kind: 'sign' } });
  pair.deliverAll();
  invariants(pair);
  const recv = pair.b.events.find((e) => e.kind === 'htlc_received');
  assert.ok(recv && recv.kind === 'htlc_received');
  assert.equal(recv.htlc.id, id);
  pair.b.events = [];
  pair.must(pair.b, { kind: 'command', cmd: { kind: 'fulfill_htlc', id, preimage: preimageOf(1) } });
  pair.must(pair.b, { kind: 'command', cmd: { kind: 'sign' } });
  pair.deliverAll();
  invariants(pair);
  const ful = pair.a.events.find((e) => e.kind === 'htlc_fulfilled');
  assert.ok(ful);
  const ca = commitmentsOf(pair.a.state)!;
  const cb = commitmentsOf(pair.b.state)!;
  assert.equal(ca.localCommit.spec.htlcs.length, 0);
  assert.equal(ca.localCommit.spec.toRemote, 350_000_000n);
  assert.equal(cb.localCommit.spec.toLocal, 350_000_000n);
  assert.equal(ca.localCommit.index, cb.remoteCommit.index);
});

test('htlcs both ways with a fee update and a reconnect in the middle', () => {
  const pair = ChannelPair.open({ seed: 2 });
  const ia = add(pair, pair.a, 20_000_000n, 1);
  const ib = add(pair, pair.b, 10_000_000n, 2);
  pair.must(pair.a, { kind: 'command', cmd: { kind: 'update_fee', feerate: 3000 as never } });
  pair.must(pair.a, { kind: 'command', cmd: { kind: 'sign' } });
  pair.deliver(pair.b); // add from a
  pair.deliver(pair.b); // fee
  pair.disconnect();
  invariants(pair);
  pair.reconnect();
  pair.deliverAll();
  invariants(pair);
  // b's add was dropped by the disconnect (never signed); a's was signed, so it survives.
  assert.ok(pair.b.log.some((e) => e.kind === 'htlc_offer_cancelled' && e.id === ib));
  pair.apply(pair.a, { kind: 'command', cmd: { kind: 'sign' } });
  pair.deliverAll();
  invariants(pair);
  const ca = commitmentsOf(pair.a.state)!;
  assert.ok(ca.localCommit.spec.htlcs.some((h) => h.id === ia && h.direction === 'offered'));
});
