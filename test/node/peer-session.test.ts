// The pure BOLT 1 peer session, transition by transition: every input in each phase, with a manual clock.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMessage, encodeMessage } from '../../src/bolt01-wire/messages.ts';
import { makePing } from '../../src/bolt01-wire/peer.ts';
import { concat, u16be } from '../../src/core/bytes.ts';
import { ourInitFeatures } from '../../src/node/peer-features.ts';
import {
  initialPeerState,
  type PeerAction,
  type PeerSessionConfig,
  type PeerState,
  stepPeer,
} from '../../src/node/peer-session.ts';
import { initBytes, REGTEST_CHAIN } from '../../src/testing/raw-peer.ts';

const config: PeerSessionConfig = {
  ourFeatures: ourInitFeatures(),
  chainHash: REGTEST_CHAIN,
  pingIntervalMs: 60_000,
  pingTimeoutMs: 30_000,
  initTimeoutMs: 10_000,
};

const sent = (actions: readonly PeerAction[]) =>
  actions
    .filter((a) => a.kind === 'send')
    .map((a) => {
      const d = decodeMessage((a as { bytes: Uint8Array }).bytes);
      assert.ok(d.ok);
      return d.value;
    });
const kinds = (actions: readonly PeerAction[]) => actions.map((a) => a.kind).filter((k) => k !== 'log');

function active(now = 0): PeerState {
  let s = stepPeer(config, initialPeerState(now), { kind: 'opened', now, remoteAddr: null }).state;
  s = stepPeer(config, s, { kind: 'received', now, bytes: initBytes() }).state;
  assert.equal(s.phase, 'active');
  return s;
}

test('opened: init goes out first, with our features and chain', () => {
  const r = stepPeer(config, initialPeerState(0), { kind: 'opened', now: 0, remoteAddr: null });
  const [init] = sent(r.actions);
  assert.ok(init && init.type === 'init');
  assert.deepEqual(init.tlvs.networks?.chains, [REGTEST_CHAIN]);
  assert.deepEqual(init.features, config.ourFeatures);
});

test('awaiting init: init -> ready; anything else, another chain, or silence -> close', () => {
  const s0 = initialPeerState(0);
  const ready = stepPeer(config, s0, { kind: 'received', now: 1, bytes: initBytes() });
  assert.deepEqual(kinds(ready.actions), ['ready']);
  const early = stepPeer(config, s0, { kind: 'received', now: 1, bytes: encodeMessage(makePing(1, 0)) });
  assert.deepEqual(kinds(early.actions), ['send', 'close']);
  assert.equal(early.state.phase, 'closed');
  const otherChain = encodeMessage({
    type: 'init',
    globalfeatures: new Uint8Array(),
    features: new Uint8Array([2, 0]),
    tlvs: { networks: { chains: [new Uint8Array(32).fill(1)] } },
  });
  assert.deepEqual(kinds(stepPeer(config, s0, { kind: 'received', now: 1, bytes: otherChain }).actions), [
    'send',
    'close',
  ]);
  assert.deepEqual(kinds(stepPeer(config, s0, { kind: 'tick', now: 9_999 }).actions), []);
  assert.deepEqual(kinds(stepPeer(config, s0, { kind: 'tick', now: 10_000 }).actions), ['close']);
});

test('init missing a feature dependency -> close', () => {
  // option_zeroconf (bit 51) needs option_scid_alias (bit 46/47).
  const features = new Uint8Array([0x08, 0, 0, 0, 0, 0, 0]);
  const r = stepPeer(config, initialPeerState(0), { kind: 'received', now: 0, bytes: initBytes(features) });
  assert.equal(r.state.phase, 'closed');
  const warning = sent(r.actions)[0];
  assert.ok(warning && warning.type === 'warning');
  assert.match(
    new TextDecoder().decode(warning.data),
    /option_zeroconf set without its dependency option_scid_alias/,
  );
});

test('active: ping -> pong of the asked size; 65532+ -> nothing; a second init -> close', () => {
  const s = active();
  const pong = sent(
    stepPeer(config, s, { kind: 'received', now: 1, bytes: encodeMessage(makePing(65531, 0)) }).actions,
  )[0];
  assert.ok(pong && pong.type === 'pong' && pong.ignored.length === 65531);
  assert.deepEqual(
    kinds(
      stepPeer(config, s, { kind: 'received', now: 1, bytes: encodeMessage(makePing(65532, 0)) }).actions,
    ),
    [],
  );
  assert.equal(stepPeer(config, s, { kind: 'received', now: 1, bytes: initBytes() }).state.phase, 'closed');
});

test('active: unknown odd ignored, unknown even and malformed close', () => {
  const s = active();
  assert.deepEqual(
    kinds(
      stepPeer(config, s, { kind: 'received', now: 1, bytes: concat(u16be(0x8001), new Uint8Array(2)) })
        .actions,
    ),
    [],
  );
  assert.deepEqual(
    kinds(
      stepPeer(config, s, { kind: 'received', now: 1, bytes: concat(u16be(0x8002), new Uint8Array(2)) })
        .actions,
    ),
    ['send', 'close'],
  );
  assert.deepEqual(
    kinds(
      stepPeer(config, s, { kind: 'received', now: 1, bytes: concat(u16be(18), new Uint8Array(1)) }).actions,
    ),
    ['send', 'close'],
  );
  assert.deepEqual(
    kinds(stepPeer(config, s, { kind: 'received', now: 1, bytes: new Uint8Array(1) }).actions),
    ['send', 'close'],
  );
});

test('keep-alive: quiet for the interval -> ping; no pong within the timeout -> close; a pong clears it', () => {
  const s = active(0);
  assert.deepEqual(kinds(stepPeer(config, s, { kind: 'tick', now: 59_999 }).actions), []);
  const pinged = stepPeer(config, s, { kind: 'tick', now: 60_000 });
  assert.equal(sent(pinged.actions)[0]?.type, 'ping');
  assert.deepEqual(kinds(stepPeer(config, pinged.state, { kind: 'tick', now: 89_999 }).actions), []);
  assert.deepEqual(kinds(stepPeer(config, pinged.state, { kind: 'tick', now: 90_000 }).actions), ['close']);
  const ponged = stepPeer(config, pinged.state, {
    kind: 'received',
    now: 61_000,
    bytes: encodeMessage({ type: 'pong', ignored: new Uint8Array(0) }),
  });
  assert.equal(ponged.state.pendingPings.length, 0);
  assert.deepEqual(kinds(stepPeer(config, ponged.state, { kind: 'tick', now: 100_000 }).actions), []);
});

test('user pings: answered in order; a stray pong is logged, not fatal; a disconnect fails waiting pings', () => {
  let s = active(0);
  s = stepPeer(config, s, { kind: 'user-ping', now: 1, requestId: 7, len: 3, pongBytes: 10 }).state;
  s = stepPeer(config, s, { kind: 'user-ping', now: 1, requestId: 8, len: 3, pongBytes: 20 }).state;
  const stray = stepPeer(config, s, {
    kind: 'received',
    now: 2,
    bytes: encodeMessage({ type: 'pong', ignored: new Uint8Array(5) }),
  });
  assert.deepEqual(kinds(stray.actions), []);
  const first = stepPeer(config, s, {
    kind: 'received',
    now: 2,
    bytes: encodeMessage({ type: 'pong', ignored: new Uint8Array(10) }),
  });
  assert.deepEqual(first.actions, [{ kind: 'pong', requestId: 7, totlen: 14 }]);
  const gone = stepPeer(config, first.state, { kind: 'disconnected', reason: 'socket closed' });
  assert.deepEqual(gone.actions, [{ kind: 'ping-failed', requestId: 8, reason: 'socket closed' }]);
  assert.deepEqual(stepPeer(config, gone.state, { kind: 'tick', now: 5 }).actions, []);
});

test('a user ping before init completes fails at once', () => {
  const r = stepPeer(config, initialPeerState(0), {
    kind: 'user-ping',
    now: 0,
    requestId: 1,
    len: 0,
    pongBytes: 0,
  });
  assert.deepEqual(kinds(r.actions), ['ping-failed']);
});
