// channel_reestablish retransmits what the peer missed, in the order it was first sent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMessage } from '../../src/bolt01-wire/index.ts';
import { commitmentsOf } from '../../src/bolt02-channel/index.ts';
import type { Msat } from '../../src/core/units.ts';
import { sha256 } from '../../src/crypto/index.ts';
import { ChannelPair, checkAgreement, type HarnessNode } from '../../src/testing/channel-harness.ts';

const ONION = new Uint8Array(1366);

function add(pair: ChannelPair, n: HarnessNode, i: number): void {
  pair.must(n, {
    kind: 'command',
    cmd: {
      kind: 'add_htlc',
      amount: 5_000_000n as Msat,
      paymentHash: sha256(new Uint8Array([i])),
      cltvExpiry: 800_100,
      onion: ONION,
    },
  });
}

function types(inbox: Uint8Array[]): string[] {
  return inbox.map((b) => {
    const r = decodeMessage(b);
    return r.ok ? r.value.type : '?';
  });
}

test('revoke_and_ack then commitment_signed, lost: retransmitted in that order', () => {
  const pair = ChannelPair.open({ seed: 61 });
  add(pair, pair.a, 1);
  pair.must(pair.a, { kind: 'command', cmd: { kind: 'sign' } });
  pair.deliver(pair.b);
  pair.deliver(pair.b); // b revokes, then signs a's add into a's commitment
  assert.deepEqual(types(pair.a.inbox), ['revoke_and_ack', 'commitment_signed']);
  pair.disconnect();
  pair.reconnect();
  pair.deliver(pair.b); // a's reestablish reaches b
  assert.deepEqual(types(pair.a.inbox), ['channel_reestablish', 'revoke_and_ack', 'commitment_signed']);
  pair.deliverAll();
  checkAgreement(pair);
  assert.equal(commitmentsOf(pair.a.state)!.localCommit.spec.htlcs.length, 1);
});

test('commitment_signed then revoke_and_ack, lost: retransmitted in that order with the updates', () => {
  const pair = ChannelPair.open({ seed: 62 });
  add(pair, pair.a, 1);
  pair.must(pair.a, { kind: 'command', cmd: { kind: 'sign' } });
  add(pair, pair.b, 2);
  pair.must(pair.b, { kind: 'command', cmd: { kind: 'sign' } }); // b signs first
  assert.deepEqual(types(pair.a.inbox), ['update_add_htlc', 'commitment_signed']);
  pair.deliver(pair.b);
  pair.deliver(pair.b); // then b receives a's commitment and revokes
  assert.deepEqual(types(pair.a.inbox), ['update_add_htlc', 'commitment_signed', 'revoke_and_ack']);
  pair.disconnect();
  pair.reconnect();
  // a's reestablish reaches b (a never got b's messages; a's own RAA for ... nothing pending).
  pair.deliver(pair.b);
  assert.deepEqual(types(pair.a.inbox), [
    'channel_reestablish',
    'update_add_htlc',
    'commitment_signed',
    'revoke_and_ack',
  ]);
  pair.deliverAll();
  checkAgreement(pair);
  const ca = commitmentsOf(pair.a.state)!;
  const cb = commitmentsOf(pair.b.state)!;
  assert.equal(ca.localCommit.index, cb.remoteCommit.index);
  assert.equal(ca.localCommit.spec.htlcs.length, 2);
});

test('channel_ready is retransmitted when no commitment was exchanged yet', () => {
  const pair = ChannelPair.open({ seed: 63 });
  pair.disconnect();
  pair.reconnect();
  pair.deliver(pair.b);
  assert.deepEqual(types(pair.a.inbox), ['channel_reestablish', 'channel_ready']);
  pair.deliverAll();
  assert.equal(pair.a.state.phase, 'normal');
});
