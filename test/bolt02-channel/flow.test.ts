// End-to-end flows through the two-node harness: open, pay both ways, fee update, reconnect, close.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commitmentsOf } from '../../src/bolt02-channel/index.ts';
import type { Msat } from '../../src/core/units.ts';
import { sha256 } from '../../src/crypto/index.ts';
import {
  ChannelPair,
  checkAgreement,
  checkBroadcastable,
  checkConservation,
  type HarnessNode,
} from '../../src/testing/channel-harness.ts';

const ONION = new Uint8Array(1366);

function preimageOf(i: number): Uint8Array {
  return sha256(new Uint8Array([i, 1, 2, 3]));
}

function add(pair: ChannelPair, from: HarnessNode, amount: bigint, i: number): bigint {
  pair.must(from, {
    kind: 'command',
    cmd: {
      kind: 'add_htlc',
      amount: amount as Msat,
      paymentHash: sha256(preimageOf(i)),
      cltvExpiry: 800_100,
      onion: ONION,
    },
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

test('mutual close: shutdown, closing_signed, a closing tx that verifies and pays each side', async () => {
  const { verifyInput } = await import('../../src/bitcoin/interpreter.ts');
  const { STANDARD_SCRIPT_VERIFY_FLAGS } = await import('../../src/bitcoin/script-error.ts');
  const { fundingOutputScript } = await import('../../src/bolt03-tx/index.ts');
  const pair = ChannelPair.open({ seed: 5 });
  const id = add(pair, pair.a, 30_000_000n, 9);
  pair.must(pair.a, { kind: 'command', cmd: { kind: 'sign' } });
  pair.deliverAll();
  pair.b.events = [];
  // Shutdown with an HTLC still pending: no closing_signed until it clears.
  pair.must(pair.a, {
    kind: 'command',
    cmd: { kind: 'shutdown', script: new Uint8Array([0, 20, ...new Uint8Array(20).fill(7)]) },
  });
  pair.deliverAll();
  assert.equal(pair.a.state.phase, 'normal');
  assert.ok(
    pair.apply(pair.a, {
      kind: 'command',
      cmd: {
        kind: 'add_htlc',
        amount: 1_000_000n as Msat,
        paymentHash: new Uint8Array(32),
        cltvExpiry: 800_100,
        onion: ONION,
      },
    }).ok === false,
  );
  pair.must(pair.b, { kind: 'command', cmd: { kind: 'fulfill_htlc', id, preimage: preimageOf(9) } });
  pair.must(pair.b, { kind: 'command', cmd: { kind: 'sign' } });
  pair.deliverAll();
  assert.equal(pair.a.state.phase, 'closing');
  assert.equal(pair.b.state.phase, 'closing');
  const tx = pair.a.broadcasts.at(-1)!;
  assert.deepEqual(tx, pair.b.broadcasts.at(-1));
  const c = commitmentsOf(pair.a.state)!;
  const prev = {
    value: c.fundingAmount,
    script: fundingOutputScript(c.local.basepoints.fundingPubkey, c.remote.basepoints.fundingPubkey),
  };
  assert.equal(verifyInput(tx, 0, [prev], STANDARD_SCRIPT_VERIFY_FLAGS), null);
  const values = tx.outputs.map((o): bigint => o.value).sort((x, y) => (x < y ? -1 : 1));
  assert.equal(values.length, 2);
  assert.equal(values[0], 330_000n); // b: pushed 300_000 sat + the 30_000 sat HTLC
  assert.ok(values[1]! < 670_000n && values[1]! > 660_000n); // a pays the closing fee
});

test('option_simple_close: both send closing_complete, both closing txs verify, each pays its own fee', async () => {
  const { verifyInput } = await import('../../src/bitcoin/interpreter.ts');
  const { STANDARD_SCRIPT_VERIFY_FLAGS } = await import('../../src/bitcoin/script-error.ts');
  const { fundingOutputScript } = await import('../../src/bolt03-tx/index.ts');
  const pair = ChannelPair.open({ seed: 6, simpleClose: true });
  const opReturn = new Uint8Array([0x6a, 6, 1, 2, 3, 4, 5, 6]);
  pair.must(pair.a, {
    kind: 'command',
    cmd: { kind: 'shutdown', script: new Uint8Array([0x51, 32, ...new Uint8Array(32).fill(3)]) },
  });
  pair.deliverAll();
  assert.equal(pair.a.state.phase, 'negotiating');
  const c = commitmentsOf(pair.a.state)!;
  const prev = {
    value: c.fundingAmount,
    script: fundingOutputScript(c.local.basepoints.fundingPubkey, c.remote.basepoints.fundingPubkey),
  };
  // Each side broadcast the transaction it was closee for and the one it was closer for.
  const txs = [...pair.a.broadcasts.slice(1), ...pair.b.broadcasts];
  assert.equal(txs.length, 4);
  for (const tx of txs) assert.equal(verifyInput(tx, 0, [prev], STANDARD_SCRIPT_VERIFY_FLAGS), null);
  const { txidHex } = await import('../../src/bitcoin/tx.ts');
  const idsA = new Set(pair.a.broadcasts.slice(1).map(txidHex));
  const idsB = new Set(pair.b.broadcasts.map(txidHex));
  assert.equal(idsA.size, 2, 'two conflicting closing transactions');
  assert.deepEqual(idsA, idsB, 'both sides hold both');
  // In each, the closee's output is its whole balance: a has 700_000 sat, b 300_000 sat.
  const values = pair.b.broadcasts.map((tx) => tx.outputs.map((o): bigint => o.value));
  assert.ok(
    values.some((v) => v.includes(700_000n) && !v.includes(300_000n)),
    'b paid the fee of its own closing',
  );
  assert.ok(
    values.some((v) => v.includes(300_000n) && !v.includes(700_000n)),
    'a paid the fee of its own closing',
  );
  void opReturn;
});

test('shutdown before channel_ready closes mutually without ever reaching normal', () => {
  const pair = ChannelPair.open({ seed: 8 });
  const wa = pair.a.history.find((s) => s.phase === 'wait_channel_ready')!;
  const wb = pair.b.history.find((s) => s.phase === 'wait_channel_ready')!;
  pair.a.state = wa;
  pair.b.state = wb;
  pair.a.broadcasts = [];
  pair.must(pair.a, {
    kind: 'command',
    cmd: { kind: 'shutdown', script: new Uint8Array([0, 20, ...new Uint8Array(20).fill(1)]) },
  });
  pair.deliverAll();
  assert.equal(pair.a.state.phase, 'closing');
  assert.equal(pair.b.state.phase, 'closing');
  assert.equal(pair.a.broadcasts.length, 1);
  assert.deepEqual(pair.a.broadcasts[0], pair.b.broadcasts.at(-1));
});
