// encodeChannelState / decodeChannelState: every state a channel goes through survives the round
// trip exactly, and a restarted node carries on from what it persisted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CHANNEL_STATE_VERSION,
  decodeChannelState,
  encodeChannelState,
} from '../../src/bolt02-channel/index.ts';
import type { Msat } from '../../src/core/units.ts';
import { sha256 } from '../../src/crypto/index.ts';
import { ChannelPair } from '../../src/testing/channel-harness.ts';

test('every state of a channel life round-trips through encodeChannelState', () => {
  const pair = ChannelPair.open({ seed: 41 });
  const pre = sha256(new Uint8Array([1]));
  pair.must(pair.a, {
    kind: 'command',
    cmd: {
      kind: 'add_htlc',
      amount: 7_000_000n as Msat,
      paymentHash: sha256(pre),
      cltvExpiry: 800_100,
      onion: new Uint8Array(1366),
    },
  });
  pair.must(pair.a, { kind: 'command', cmd: { kind: 'sign' } });
  pair.deliverAll();
  pair.must(pair.b, { kind: 'command', cmd: { kind: 'fulfill_htlc', id: 0n, preimage: pre } });
  pair.must(pair.b, { kind: 'command', cmd: { kind: 'sign' } });
  pair.deliverAll();
  pair.must(pair.a, {
    kind: 'command',
    cmd: { kind: 'shutdown', script: new Uint8Array([0, 20, ...new Uint8Array(20)]) },
  });
  pair.deliverAll();
  let n = 0;
  for (const node of [pair.a, pair.b]) {
    for (const s of node.history) {
      const text = encodeChannelState(s);
      const back = decodeChannelState(text);
      assert.ok(back.ok, back.ok ? '' : back.error);
      assert.deepEqual(stripUndefined(back.value), stripUndefined(s));
      assert.equal(encodeChannelState(back.value), text);
      n++;
    }
  }
  assert.ok(n > 20, `${n} states`);
});

test('decodeChannelState refuses other versions and garbage', () => {
  assert.equal(decodeChannelState('nope').ok, false);
  assert.equal(decodeChannelState('{"version":999,"state":{"phase":"normal"}}').ok, false);
  assert.equal(
    decodeChannelState(`{"version":${CHANNEL_STATE_VERSION},"state":{"phase":"weird"}}`).ok,
    false,
  );
});

test('a node restarted from its persisted state carries on', () => {
  const pair = ChannelPair.open({ seed: 42 });
  const pre = sha256(new Uint8Array([2]));
  pair.must(pair.a, {
    kind: 'command',
    cmd: {
      kind: 'add_htlc',
      amount: 9_000_000n as Msat,
      paymentHash: sha256(pre),
      cltvExpiry: 800_100,
      onion: new Uint8Array(1366),
    },
  });
  pair.must(pair.a, { kind: 'command', cmd: { kind: 'sign' } });
  pair.deliverAll();
  pair.disconnect();
  for (const node of [pair.a, pair.b]) {
    const back = decodeChannelState(encodeChannelState(node.persisted!));
    assert.ok(back.ok);
    node.state = back.value;
  }
  pair.reconnect();
  pair.deliverAll();
  pair.b.events = [];
  pair.must(pair.b, { kind: 'command', cmd: { kind: 'fulfill_htlc', id: 0n, preimage: pre } });
  pair.must(pair.b, { kind: 'command', cmd: { kind: 'sign' } });
  pair.deliverAll();
  assert.ok(pair.a.events.some((e) => e.kind === 'htlc_fulfilled'));
});

/** JSON cannot carry a property set to undefined; reading a missing property gives the same. */
function stripUndefined(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripUndefined);
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = stripUndefined(x);
  return out;
}
