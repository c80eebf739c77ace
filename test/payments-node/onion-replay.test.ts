// Onion replay protection: the same onion in a second HTLC is refused, also after a restart; the same
// HTLC seen again after a crash is not a replay; entries go once the chain passes the first HTLC's
// expiry, and a replay after that is still refused by the forwarding checks (expiry too soon).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildOnion, decodeErrorPacket, encodeHopPayload } from '../../src/bolt04-onion/index.ts';
import { msat } from '../../src/core/units.ts';
import { publicKeyOf, sha256 } from '../../src/crypto/index.ts';
import { OnionReplayLog } from '../../src/node/onion-replay.ts';
import { memoryStore } from '../../src/store/sqlite.ts';
import { del } from '../../src/store/store.ts';
import { addMsg, FakeDriver, fakeChannel, fakeSwitch } from './fake-driver.ts';

const secretOf = (s: string) => sha256(new TextEncoder().encode(s));
const BOB = secretOf('bob');
const SCID_OUT = (700n << 40n) | (1n << 16n);
const hash = sha256(secretOf('preimage'));

function onion() {
  const built = buildOnion({
    sessionKey: secretOf('session'),
    hops: [
      {
        publicKey: publicKeyOf(BOB),
        payload: encodeHopPayload({
          amtToForward: msat(1_000_000n),
          outgoingCltvValue: 150,
          shortChannelId: SCID_OUT,
        }),
      },
      {
        publicKey: publicKeyOf(secretOf('carol')),
        payload: encodeHopPayload({ amtToForward: msat(1_000_000n), outgoingCltvValue: 150 }),
      },
    ],
    associatedData: hash,
  });
  assert.ok(built.ok);
  return built.value;
}

test('OnionReplayLog: fresh, replay in another HTLC, same HTLC again, pruned by height', () => {
  const store = memoryStore();
  const log = new OnionReplayLog(store);
  const ss = secretOf('ss');
  const check = (l: OnionReplayLog, s: Uint8Array, htlc: string, expiry: number) => {
    const r = l.check(s, htlc, expiry);
    store.batch(r.ops);
    return r.verdict;
  };
  assert.equal(check(log, ss, 'a/1', 150), 'fresh');
  assert.equal(check(log, ss, 'a/1', 150), 'fresh', 'the same HTLC is not a replay');
  assert.equal(check(log, ss, 'b/7', 200), 'replay');
  assert.equal(check(new OnionReplayLog(store), ss, 'b/7', 200), 'replay', 'durable');
  assert.equal(check(log, secretOf('other'), 'c/1', 300), 'fresh');
  assert.equal(log.prune(149), 0);
  assert.equal(log.prune(150), 1, 'gone once the chain reaches its expiry');
  assert.equal(log.size(), 1);
  assert.equal(check(log, ss, 'b/7', 200), 'fresh');
});

test('switch: a replayed onion is refused with temporary_channel_failure, before and after a restart', () => {
  const store = memoryStore();
  const chans = () => [fakeChannel('in', 1n << 40n, [0n, 1n, 2n, 3n]), fakeChannel('out', SCID_OUT, [])];
  const d = new FakeDriver(chans());
  fakeSwitch(store, d, BOB).sw.start();
  const o = onion();
  const secrets = o.hopKeys.map((k) => k.sharedSecret);
  const refusedAsReplay = (cmd: (typeof d.commands)[number]['cmd']) => {
    assert.ok(cmd.kind === 'fail_htlc', `got ${cmd.kind}`);
    const dec = decodeErrorPacket(secrets, cmd.reason);
    assert.ok(dec.ok && dec.value.hopIndex === 0);
    assert.ok(dec.value.failure.ok && dec.value.failure.value.failure === 'temporary_channel_failure');
  };
  d.emit('in', addMsg(0n, 1_001_010n, hash, 184, o.packet));
  assert.ok(d.commands[0]!.cmd.kind === 'add_htlc');
  d.emit('in', addMsg(1n, 1_001_010n, hash, 184, o.packet));
  refusedAsReplay(d.commands[1]!.cmd);

  // Restart over the same store.
  const d2 = new FakeDriver(chans());
  const s2 = fakeSwitch(store, d2, BOB);
  s2.sw.start();
  d2.emit('in', addMsg(2n, 1_001_010n, hash, 184, o.packet));
  refusedAsReplay(d2.commands[0]!.cmd);

  // A crash after the onion was logged but before HTLC 0 was handled: it comes again, and is forwarded.
  store.batch([del('switch', `in/in/${'0'.padStart(20, '0')}`)]);
  const d3 = new FakeDriver(chans());
  const s3 = fakeSwitch(store, d3, BOB);
  s3.sw.start();
  const n = d3.commands.length; // (the start re-runs the resolutions of HTLCs 1 and 2)
  d3.emit('in', addMsg(0n, 1_001_010n, hash, 184, o.packet));
  assert.ok(d3.commands[n]!.cmd.kind === 'add_htlc', 'the same HTLC is not a replay');

  // Past the first HTLC's expiry the entry is pruned; the onion then asks for an expired HTLC.
  d3.height = 184;
  s3.tick();
  d3.emit('in', addMsg(3n, 1_001_010n, hash, 300, o.packet));
  const late = d3.commands[n + 1]!.cmd;
  assert.ok(late.kind === 'fail_htlc');
  const dec = decodeErrorPacket(secrets, late.reason);
  assert.ok(dec.ok && dec.value.failure.ok);
  assert.equal(dec.value.failure.value.failure, 'expiry_too_soon');
});
