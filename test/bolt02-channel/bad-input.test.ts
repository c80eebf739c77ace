// Bad input from the peer is refused as BOLT 2 requires: an error and a force close (our commitment
// broadcast) when funds are at stake, never a crash, and never a broadcast after we lost state.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMessage, encodeMessage } from '../../src/bolt01-wire/index.ts';
import type { WireMessage } from '../../src/bolt01-wire/types.ts';
import { commitmentsOf } from '../../src/bolt02-channel/index.ts';
import type { Msat } from '../../src/core/units.ts';
import { sha256 } from '../../src/crypto/index.ts';
import { ChannelPair, type HarnessNode } from '../../src/testing/channel-harness.ts';

const ONION = new Uint8Array(1366);
const PRE = sha256(new Uint8Array([42]));

function addAndSign(pair: ChannelPair, from: HarnessNode, amount: bigint): void {
  pair.must(from, {
    kind: 'command',
    cmd: {
      kind: 'add_htlc',
      amount: amount as Msat,
      paymentHash: sha256(PRE),
      cltvExpiry: 800_100,
      onion: ONION,
    },
  });
  pair.must(from, { kind: 'command', cmd: { kind: 'sign' } });
}

/** Replaces the next message waiting for `n` (which must be of `type`) by `edit(msg)`. */
function tamper<T extends WireMessage['type']>(
  n: HarnessNode,
  type: T,
  edit: (m: Extract<WireMessage, { type: T }>) => WireMessage,
): void {
  const i = n.inbox.findIndex((b) => {
    const r = decodeMessage(b);
    return r.ok && r.value.type === type;
  });
  assert.ok(i >= 0, `no ${type} waiting`);
  const r = decodeMessage(n.inbox[i]!);
  assert.ok(r.ok);
  n.inbox[i] = encodeMessage(edit(r.value as Extract<WireMessage, { type: T }>));
}

function sentTypes(n: HarnessNode, before: number): string[] {
  return n.log.slice(before).map((e) => e.kind);
}

function assertForceClosed(n: HarnessNode, peerInbox: Uint8Array[]): void {
  assert.equal(n.state.phase, 'closing');
  assert.equal(n.broadcasts.length > 0, true, 'our commitment was broadcast');
  const last = peerInbox
    .map((b) => decodeMessage(b))
    .filter((r) => r.ok)
    .map((r) => (r.ok ? r.value.type : ''));
  assert.ok(last.includes('error'), 'an error was sent');
}

test('commitment_signed with an invalid signature: error and force close', () => {
  const pair = ChannelPair.open({ seed: 11 });
  pair.tolerateFailures = true;
  addAndSign(pair, pair.a, 10_000_000n);
  tamper(pair.b, 'commitment_signed', (m) => ({
    ...m,
    signature: Uint8Array.from(m.signature, (x, i) => (i === 40 ? x ^ 1 : x)),
  }));
  pair.deliver(pair.b);
  pair.deliver(pair.b);
  assertForceClosed(pair.b, pair.a.inbox);
  // The error reaches a, which fails the channel too (publishing its own commitment).
  pair.deliverAll();
  assert.equal(pair.a.state.phase === 'closing' && pair.a.state.reason.kind, 'remote_error');
  void sentTypes;
});

test('commitment_signed with the wrong number of HTLC signatures: error and force close', () => {
  const pair = ChannelPair.open({ seed: 12 });
  pair.tolerateFailures = true;
  addAndSign(pair, pair.a, 10_000_000n);
  tamper(pair.b, 'commitment_signed', (m) => ({ ...m, htlc_signature: [] }));
  pair.deliver(pair.b); // the add
  pair.deliver(pair.b); // the bad commitment_signed
  assertForceClosed(pair.b, pair.a.inbox);
});

test('revoke_and_ack with a wrong secret: error and force close', () => {
  const pair = ChannelPair.open({ seed: 13 });
  pair.tolerateFailures = true;
  addAndSign(pair, pair.a, 10_000_000n);
  pair.deliver(pair.b);
  pair.deliver(pair.b);
  tamper(pair.a, 'revoke_and_ack', (m) => ({ ...m, per_commitment_secret: sha256(m.per_commitment_secret) }));
  pair.deliver(pair.a);
  assertForceClosed(pair.a, pair.b.inbox);
});

test('an HTLC that breaks the sender reserve: error and force close', () => {
  const pair = ChannelPair.open({ seed: 14 });
  pair.tolerateFailures = true;
  // b has 300_000 sat; the reserve a asks of b is 1% = 10_000 sat. Build b's add past the reserve by
  // tampering with an affordable one.
  addAndSign(pair, pair.b, 1_000_000n);
  tamper(pair.a, 'update_add_htlc', (m) => ({ ...m, amount_msat: 295_000_000n as Msat }));
  pair.deliver(pair.a);
  assertForceClosed(pair.a, pair.b.inbox);
});

test('the sender refuses an HTLC over its reserve or below htlc_minimum (command refused, nothing sent)', () => {
  const pair = ChannelPair.open({ seed: 15 });
  const cmd = (amount: bigint) => ({
    kind: 'command' as const,
    cmd: {
      kind: 'add_htlc' as const,
      amount: amount as Msat,
      paymentHash: sha256(PRE),
      cltvExpiry: 800_100,
      onion: ONION,
    },
  });
  const r1 = pair.apply(pair.b, cmd(295_000_000n));
  assert.equal(r1.ok, false);
  const r2 = pair.apply(pair.b, cmd(0n));
  assert.equal(r2.ok, false);
  assert.equal(pair.a.inbox.length, 0);
});

test('update_fulfill_htlc with a wrong preimage: error and force close', () => {
  const pair = ChannelPair.open({ seed: 16 });
  pair.tolerateFailures = true;
  addAndSign(pair, pair.a, 10_000_000n);
  pair.deliverAll();
  pair.b.events = [];
  pair.must(pair.b, { kind: 'command', cmd: { kind: 'fulfill_htlc', id: 0n, preimage: PRE } });
  tamper(pair.a, 'update_fulfill_htlc', (m) => ({ ...m, payment_preimage: new Uint8Array(32) }));
  pair.deliver(pair.a);
  assertForceClosed(pair.a, pair.b.inbox);
});

test('update_fee from the non-funder: error', () => {
  const pair = ChannelPair.open({ seed: 17 });
  pair.tolerateFailures = true;
  const cid = commitmentsOf(pair.a.state)!.channelId;
  pair.a.inbox.push(encodeMessage({ type: 'update_fee', channel_id: cid, feerate_per_kw: 5000 }));
  pair.deliver(pair.a);
  assertForceClosed(pair.a, pair.b.inbox);
});

test('channel_reestablish claiming a future commitment with proof: no broadcast, data loss reported', () => {
  const pair = ChannelPair.open({ seed: 18 });
  // Move the channel forward twice, keep an old copy of a's state.
  const old = pair.a.state;
  for (let i = 0; i < 2; i++) {
    addAndSign(pair, pair.a, 5_000_000n);
    pair.deliverAll();
  }
  pair.tolerateFailures = true;
  pair.disconnect();
  pair.a.state = old; // a restored a stale backup
  pair.a.broadcasts = [];
  pair.reconnect();
  pair.deliverAll();
  assert.equal(pair.a.state.phase, 'closing');
  assert.equal(pair.a.state.phase === 'closing' && pair.a.state.reason.kind, 'data_loss');
  assert.equal(pair.a.broadcasts.length, 0, 'a stale commitment must never be broadcast');
  assert.ok(pair.a.log.some((e) => e.kind === 'data_loss_detected'));
  // b sees a peer that lost state and publishes its own (latest) commitment.
  assert.equal(pair.b.state.phase, 'closing');
  assert.equal(pair.b.broadcasts.length, 1);
});

test('channel_reestablish with a wrong your_last_per_commitment_secret: error', () => {
  const pair = ChannelPair.open({ seed: 19 });
  addAndSign(pair, pair.a, 5_000_000n);
  pair.deliverAll();
  pair.tolerateFailures = true;
  pair.disconnect();
  pair.reconnect();
  tamper(pair.a, 'channel_reestablish', (m) => ({
    ...m,
    your_last_per_commitment_secret: new Uint8Array(32).fill(3),
  }));
  pair.deliverAll();
  assert.equal(pair.a.state.phase, 'closing');
});
