// The funder's funding transaction double-spent by a confirmed transaction: only a funder waiting for
// lock-in acts (forgets the channel once the double-spend is DOUBLE_SPEND_DEPTH deep, sends the peer an
// error, publishes nothing); every other phase refuses the command. The fundee, told by that error and
// with nothing of its own in the channel, forgets it too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type ChannelEvent,
  type ChannelPhase,
  type ChannelState,
  DOUBLE_SPEND_DEPTH,
  step,
  type WaitChannelReadyState,
} from '../../src/bolt02-channel/index.ts';
import type { Msat } from '../../src/core/units.ts';
import { sha256 } from '../../src/crypto/index.ts';
import { ChannelPair } from '../../src/testing/channel-harness.ts';

const SPENDER = sha256(new TextEncoder().encode('the conflicting transaction'));

function doubleSpent(fundingTxid: Uint8Array, depth = DOUBLE_SPEND_DEPTH, spender = SPENDER): ChannelEvent {
  return { kind: 'command', cmd: { kind: 'funding_double_spent', fundingTxid, spenderTxid: spender, depth } };
}

/** A pair put back to where both wait for lock-in (the harness confirms the funding at once). */
function waitingForLockIn(seed: number, pushMsat = 0n as Msat): ChannelPair {
  const pair = ChannelPair.open({ seed, pushMsat });
  for (const n of [pair.a, pair.b]) {
    const s = n.history.find((h) => h.phase === 'wait_channel_ready');
    assert.ok(s);
    n.state = { ...s, sentReady: false, shortChannelId: undefined };
    n.events = [];
    n.broadcasts = [];
  }
  pair.tolerateFailures = true;
  return pair;
}

function fundingTxidOf(s: ChannelState): Uint8Array {
  assert.equal(s.phase, 'wait_channel_ready');
  return (s as WaitChannelReadyState).commitments.fundingOutpoint.txid;
}

test('the funder forgets the channel once the double-spend is deep enough, and the fundee follows', () => {
  const pair = waitingForLockIn(71);
  const txid = fundingTxidOf(pair.a.state);
  const channelId = (pair.a.state as WaitChannelReadyState).commitments.channelId;

  const early = step(pair.a.state, doubleSpent(txid, DOUBLE_SPEND_DEPTH - 1), pair.a.ctx);
  assert.ok(!early.ok);
  assert.match(early.error.reason, /deep/);

  const r = step(pair.a.state, doubleSpent(txid), pair.a.ctx);
  assert.ok(r.ok);
  const next = r.value.state;
  assert.equal(next.phase, 'closed');
  assert.ok(next.phase === 'closed' && next.reason.kind === 'aborted');
  assert.match(next.reason.message, /double-spent by [0-9a-f]{64}/);
  assert.deepEqual(
    r.value.actions.map((a) => a.kind),
    ['persist', 'send', 'emit'],
  );
  const send = r.value.actions[1]!;
  assert.ok(send.kind === 'send' && send.msg.type === 'error');
  assert.deepEqual(send.msg.channel_id, channelId, 'the error names the channel');
  assert.ok(!r.value.actions.some((a) => a.kind === 'broadcast'), 'the funding output never existed');
  const emitted = r.value.actions[2]!;
  assert.ok(emitted.kind === 'emit' && emitted.event.kind === 'channel_closed');

  // Through the harness: the fundee receives the error and forgets the channel, publishing nothing.
  pair.must(pair.a, doubleSpent(txid));
  assert.equal(pair.b.inbox.length, 1);
  pair.deliver(pair.b);
  assert.equal(pair.b.state.phase, 'closed');
  assert.ok(pair.b.state.phase === 'closed' && pair.b.state.reason.kind === 'remote_error');
  assert.equal(pair.b.broadcasts.length, 0);
  assert.equal(pair.a.inbox.length, 0, 'an error is not answered with an error');
  assert.ok(pair.b.events.some((e) => e.kind === 'channel_closed'));
});

test('the command is refused for another transaction, for the fundee, and when not waiting for lock-in', () => {
  const pair = waitingForLockIn(72);
  const txid = fundingTxidOf(pair.a.state);
  const other = sha256(txid);
  const refused = (s: ChannelState, e: ChannelEvent) => {
    const r = step(s, e, pair.a.ctx);
    assert.ok(!r.ok, `${s.phase} must refuse`);
    return r.error.reason;
  };
  assert.match(refused(pair.a.state, doubleSpent(other)), /not this channel's funding/);
  assert.match(refused(pair.a.state, doubleSpent(txid, DOUBLE_SPEND_DEPTH, txid)), /itself/);
  assert.match(refused(pair.a.state, doubleSpent(txid, Number.NaN)), /deep/);
  assert.match(refused(pair.b.state, doubleSpent(txid)), /fundee/);
});

test('every phase other than the funder waiting for lock-in refuses funding_double_spent', () => {
  const pair = ChannelPair.open({ seed: 73 });
  const txid = pair.a.state.phase === 'normal' ? pair.a.state.commitments.fundingOutpoint.txid : undefined;
  assert.ok(txid);
  const states: ChannelState[] = [...pair.a.history, ...pair.b.history];
  // Shutdown -> negotiating -> closing, then a closed channel.
  pair.must(pair.a, {
    kind: 'command',
    cmd: { kind: 'shutdown', script: new Uint8Array([0, 20, ...new Uint8Array(20).fill(9)]) },
  });
  pair.deliver(pair.b);
  states.push(pair.b.state);
  pair.deliverAll();
  states.push(pair.a.state);
  states.push({
    phase: 'closed',
    keyIndex: 0,
    temporaryChannelId: new Uint8Array(32),
    link: 'down',
    reason: { kind: 'mutual' },
  });
  const acting = new Set<string>();
  const seen = new Set<ChannelPhase>();
  for (const s of states) {
    seen.add(s.phase);
    const r = step(s, doubleSpent(txid), pair.a.ctx);
    const funderWaiting = s.phase === 'wait_channel_ready' && s.commitments.localIsFunder;
    if (funderWaiting) {
      assert.ok(r.ok);
      assert.equal(r.value.state.phase, 'closed');
      acting.add(s.phase);
    } else assert.ok(!r.ok, `${s.phase} (${s === pair.a.state ? 'a' : 'b'}) must refuse`);
  }
  assert.deepEqual([...acting], ['wait_channel_ready']);
  assert.equal(seen.size, 9, `every phase checked: ${[...seen].join(', ')}`);
});

test('an error before lock-in: a fundee with a push still publishes; the funder always does', () => {
  const pushed = waitingForLockIn(74, 50_000_000n as Msat);
  const txid = fundingTxidOf(pushed.a.state);
  pushed.must(pushed.a, doubleSpent(txid));
  pushed.deliver(pushed.b);
  assert.equal(pushed.b.state.phase, 'closing', 'the push belongs to the fundee: it keeps its commitment');
  assert.equal(pushed.b.broadcasts.length, 1);

  const pair = waitingForLockIn(75);
  pair.b.inbox = [];
  const error: ChannelEvent = {
    kind: 'message',
    msg: {
      type: 'error',
      channel_id: (pair.a.state as WaitChannelReadyState).commitments.channelId,
      data: new TextEncoder().encode('bye'),
      tlvs: {},
    },
  };
  const funder = step(pair.a.state, error, pair.a.ctx);
  assert.ok(funder.ok);
  assert.equal(funder.value.state.phase, 'closing');
  assert.ok(funder.value.actions.some((a) => a.kind === 'broadcast'));
  const fundee = step(pair.b.state, error, pair.b.ctx);
  assert.ok(fundee.ok);
  assert.equal(fundee.value.state.phase, 'closed');
  assert.ok(!fundee.value.actions.some((a) => a.kind === 'broadcast' || a.kind === 'send'));
});
