// New blocks: an offered HTLC at its expiry, or a fulfilled one close to it, sends the channel on
// chain; a fundee forgets a funding transaction that did not confirm in 2016 blocks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FULFILL_SAFETY_BLOCKS, FUNDING_TIMEOUT_BLOCKS } from '../../src/bolt02-channel/index.ts';
import type { Msat } from '../../src/core/units.ts';
import { sha256 } from '../../src/crypto/index.ts';
import { ChannelPair } from '../../src/testing/channel-harness.ts';

const PRE = sha256(new Uint8Array([5]));
const EXPIRY = 800_100;

function withHtlc(seed: number): ChannelPair {
  const pair = ChannelPair.open({ seed });
  pair.must(pair.a, {
    kind: 'command',
    cmd: {
      kind: 'add_htlc',
      amount: 20_000_000n as Msat,
      paymentHash: sha256(PRE),
      cltvExpiry: EXPIRY,
      onion: new Uint8Array(1366),
    },
  });
  pair.must(pair.a, { kind: 'command', cmd: { kind: 'sign' } });
  pair.deliverAll();
  return pair;
}

test('an offered HTLC reaching its expiry fails the channel and publishes our commitment', () => {
  const pair = withHtlc(51);
  pair.tolerateFailures = true;
  pair.must(pair.a, { kind: 'block', height: EXPIRY - 1 });
  assert.equal(pair.a.state.phase, 'normal');
  pair.must(pair.a, { kind: 'block', height: EXPIRY });
  assert.equal(pair.a.state.phase, 'closing');
  assert.equal(pair.a.broadcasts.length, 2); // funding, then our commitment
});

test('a fulfilled HTLC the peer does not remove goes on chain before its expiry', () => {
  const pair = withHtlc(52);
  pair.tolerateFailures = true;
  pair.b.events = [];
  pair.must(pair.b, { kind: 'command', cmd: { kind: 'fulfill_htlc', id: 0n, preimage: PRE } });
  pair.must(pair.b, { kind: 'block', height: EXPIRY - FULFILL_SAFETY_BLOCKS - 1 });
  assert.equal(pair.b.state.phase, 'normal');
  pair.must(pair.b, { kind: 'block', height: EXPIRY - FULFILL_SAFETY_BLOCKS });
  assert.equal(pair.b.state.phase, 'closing');
  assert.equal(pair.b.broadcasts.length, 1);
});

test('the fundee forgets a channel whose funding never confirmed; the funder keeps waiting', () => {
  const pair = ChannelPair.open({ seed: 53 });
  const ready = pair.b.history.find((s) => s.phase === 'wait_channel_ready')!;
  const readyA = pair.a.history.find((s) => s.phase === 'wait_channel_ready')!;
  assert.ok(ready.phase === 'wait_channel_ready');
  pair.b.state = ready;
  pair.a.state = readyA;
  pair.must(pair.b, { kind: 'block', height: ready.createdAtHeight + FUNDING_TIMEOUT_BLOCKS - 1 });
  assert.equal(pair.b.state.phase, 'wait_channel_ready');
  pair.must(pair.b, { kind: 'block', height: ready.createdAtHeight + FUNDING_TIMEOUT_BLOCKS });
  assert.equal(pair.b.state.phase, 'closed');
  pair.must(pair.a, { kind: 'block', height: ready.createdAtHeight + FUNDING_TIMEOUT_BLOCKS + 10 });
  assert.equal(pair.a.state.phase, 'wait_channel_ready');
});
