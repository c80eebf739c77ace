// The switch against a fake channel driver: a real onion is forwarded with the next onion and the
// right amount/CLTV, its fulfill settles upstream exactly once (replayed events do nothing), a failure
// is wrapped once more for the origin, a resolution made while the peer is offline survives a restart
// and runs when the peer is back, and a final HTLC is received against an invoice or failed with the
// exact BOLT 4 failure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildOnion,
  createErrorPacket,
  decodeErrorPacket,
  encodeHopPayload,
  wrapErrorPacket as wrap,
} from '../../src/bolt04-onion/index.ts';
import { privateKeySigner } from '../../src/bolt11-invoice/index.ts';
import { equal } from '../../src/core/bytes.ts';
import { msat } from '../../src/core/units.ts';
import { publicKeyOf, sha256 } from '../../src/crypto/index.ts';
import type { ChannelDriver } from '../../src/node/channel-driver.ts';
import type { Clock } from '../../src/node/clock.ts';
import { InvoiceReceiver } from '../../src/node/invoice-receiver.ts';
import { InvoiceRegistry } from '../../src/node/invoice-store.ts';
import { createLogger } from '../../src/node/logger.ts';
import { PaymentSwitch } from '../../src/node/switch.ts';
import { memoryStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/store.ts';
import { addMsg, FakeDriver, fakeChannel } from './fake-driver.ts';

const secretOf = (s: string) => sha256(new TextEncoder().encode(s));
const BOB = secretOf('bob'); // the switch under test
const CAROL = secretOf('carol');

const clock: Clock = { now: () => 1_700_000_000_000, after: () => ({ cancel: () => {} }) };
const log = createLogger({ level: 'error', stderr: false });

function makeSwitch(store: Store, driver: FakeDriver, secret = BOB): PaymentSwitch {
  return new PaymentSwitch({
    store,
    driver: driver as unknown as ChannelDriver,
    nodeSecret: secret,
    clock,
    log,
  });
}

const SCID_OUT = (700n << 40n) | (1n << 16n);
const preimage = secretOf('preimage');
const hash = sha256(preimage);

function twoHopOnion(session = 'session') {
  const built = buildOnion({
    sessionKey: secretOf(session),
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
        publicKey: publicKeyOf(CAROL),
        payload: encodeHopPayload({
          amtToForward: msat(1_000_000n),
          outgoingCltvValue: 150,
          paymentData: { paymentSecret: secretOf('ps'), totalMsat: msat(1_000_000n) },
        }),
      },
    ],
    associatedData: hash,
  });
  assert.ok(built.ok);
  return built.value;
}

test('forward: next onion out, fulfill back exactly once, replays ignored, listforwards', () => {
  const store = memoryStore();
  const inCh = fakeChannel('in', 1n << 40n, [0n]);
  const outCh = fakeChannel('out', SCID_OUT, []);
  const d = new FakeDriver([inCh, outCh]);
  const sw = makeSwitch(store, d);
  sw.start();
  const onion = twoHopOnion();
  d.emit('in', addMsg(0n, 1_001_010n, hash, 184, onion.packet));
  assert.equal(d.commands.length, 1);
  const add = d.commands[0]!;
  assert.equal(add.ch, 'out');
  assert.ok(add.cmd.kind === 'add_htlc');
  assert.equal(add.cmd.amount, 1_000_000n);
  assert.equal(add.cmd.cltvExpiry, 150);
  assert.ok(equal(add.cmd.paymentHash, hash));
  // Replay of the same incoming event: nothing new.
  d.emit('in', addMsg(0n, 1_001_010n, hash, 184, onion.packet));
  assert.equal(d.commands.length, 1);
  d.emit('out', { kind: 'htlc_fulfilled', id: 0n, preimage });
  assert.equal(d.commands.length, 2);
  const ful = d.commands[1]!;
  assert.equal(ful.ch, 'in');
  assert.ok(ful.cmd.kind === 'fulfill_htlc' && ful.cmd.id === 0n && equal(ful.cmd.preimage, preimage));
  d.emit('out', { kind: 'htlc_fulfilled', id: 0n, preimage });
  assert.equal(d.commands.length, 2, 'a replayed fulfill settles nothing twice');
  const f = sw.listForwards();
  assert.equal(f.length, 1);
  assert.equal(f[0]!.status, 'settled');
  assert.equal(f[0]!.fee_msat, 1010n);
});

test('forward refused: fee too low gives fee_insufficient attributed to us; failure from downstream is wrapped', () => {
  const store = memoryStore();
  const inCh = fakeChannel('in', 1n << 40n, [0n, 1n]);
  const outCh = fakeChannel('out', SCID_OUT, []);
  const d = new FakeDriver([inCh, outCh]);
  makeSwitch(store, d).start();
  const onion = twoHopOnion();
  const secrets = onion.hopKeys.map((k) => k.sharedSecret);
  d.emit('in', addMsg(0n, 1_001_000n, hash, 184, onion.packet));
  const fail = d.commands[0]!;
  assert.ok(fail.cmd.kind === 'fail_htlc');
  const dec = decodeErrorPacket(secrets, fail.cmd.reason);
  assert.ok(dec.ok && dec.value.hopIndex === 0);
  assert.ok(dec.value.failure.ok && dec.value.failure.value.failure === 'fee_insufficient');

  // The sender retries with a fresh onion (the same onion again would be refused as a replay).
  const retry = twoHopOnion('session2');
  const secrets2 = retry.hopKeys.map((k) => k.sharedSecret);
  d.emit('in', addMsg(1n, 1_001_010n, hash, 184, retry.packet));
  assert.equal(d.commands[1]!.cmd.kind, 'add_htlc');
  // Carol fails it: her packet, made with her shared secret, must reach the origin attributed to her.
  const carolPacket = createErrorPacket(secrets2[1]!, {
    failure: 'incorrect_or_unknown_payment_details',
    htlc_msat: msat(1_000_000n),
    height: 100,
  });
  d.emit('out', { kind: 'htlc_failed', id: 0n, reason: { kind: 'onion', reason: carolPacket } });
  const back = d.commands[2]!;
  assert.ok(back.cmd.kind === 'fail_htlc' && back.ch === 'in' && back.cmd.id === 1n);
  const dec2 = decodeErrorPacket(secrets2, back.cmd.reason);
  assert.ok(dec2.ok && dec2.value.hopIndex === 1);
  assert.ok(
    dec2.value.failure.ok && dec2.value.failure.value.failure === 'incorrect_or_unknown_payment_details',
  );
});

test('an HTLC the peer added after our shutdown is not routed: temporary_channel_failure from us', () => {
  const store = memoryStore();
  const inCh = fakeChannel('in', 1n << 40n, [0n]);
  const outCh = fakeChannel('out', SCID_OUT, []);
  const d = new FakeDriver([inCh, outCh]);
  d.shutdownAdds.add(0n);
  const sw = makeSwitch(store, d);
  sw.start();
  const onion = twoHopOnion();
  d.emit('in', addMsg(0n, 1_001_010n, hash, 184, onion.packet));
  assert.equal(d.commands.length, 1);
  const fail = d.commands[0]!;
  assert.ok(fail.ch === 'in' && fail.cmd.kind === 'fail_htlc', 'failed back, not forwarded');
  const dec = decodeErrorPacket(
    onion.hopKeys.map((k) => k.sharedSecret),
    fail.cmd.reason,
  );
  assert.ok(dec.ok && dec.value.hopIndex === 0);
  assert.ok(dec.value.failure.ok && dec.value.failure.value.failure === 'temporary_channel_failure');
  assert.equal(sw.listForwards()[0]!.status, 'local_failed');
});

test('a resolution made while the peer is offline survives a restart and runs once the peer is back', () => {
  const store = memoryStore();
  const inCh = fakeChannel('in', 1n << 40n, [0n]);
  const outCh = fakeChannel('out', SCID_OUT, []);
  const d = new FakeDriver([inCh, outCh]);
  const sw = makeSwitch(store, d);
  sw.start();
  d.emit('in', addMsg(0n, 1_001_010n, hash, 184, twoHopOnion().packet));
  (inCh.state as unknown as { link: string }).link = 'down';
  d.emit('out', { kind: 'htlc_fulfilled', id: 0n, preimage });
  assert.equal(d.commands.length, 1, 'the fulfill could not run yet');
  sw.close();
  // Restart: a new switch over the same store and channels.
  const d2 = new FakeDriver([inCh, outCh]);
  makeSwitch(store, d2).start();
  assert.equal(d2.commands.length, 0);
  (inCh.state as unknown as { link: string }).link = 'up';
  const sw3 = makeSwitch(store, d2);
  sw3.start();
  assert.equal(d2.commands.length, 1);
  assert.ok(d2.commands[0]!.cmd.kind === 'fulfill_htlc' && equal(d2.commands[0]!.cmd.preimage, preimage));
});

/** Carol's switch with the invoice registry and its receiver over `store`. */
function carol(store: Store, d: FakeDriver) {
  const sw = makeSwitch(store, d, CAROL);
  const book = new InvoiceRegistry({
    store,
    clock,
    entropy: { randomBytes: (n: number) => secretOf('ps').slice(0, n) },
    sign: privateKeySigner(CAROL),
    nodeId: publicKeyOf(CAROL),
    currency: 'bcrt',
  });
  const receiver = new InvoiceReceiver({ registry: book, switch: sw, clock, log });
  return { sw, book, receiver };
}

/** The two-hop onion, and its inner onion as Bob forwards it to Carol. */
function onionAtCarol() {
  const onion = twoHopOnion();
  const bobSide = new FakeDriver([fakeChannel('a', 1n << 40n, [0n]), fakeChannel('b', SCID_OUT, [])]);
  makeSwitch(memoryStore(), bobSide).start();
  bobSide.emit('a', addMsg(0n, 1_001_010n, hash, 184, onion.packet));
  const fwd = bobSide.commands[0]!.cmd;
  assert.ok(fwd.kind === 'add_htlc');
  return { onion, inner: fwd.onion };
}

test('receive: the invoice is paid and settled; an unknown hash fails with incorrect_or_unknown_payment_details', () => {
  const store = memoryStore();
  const inCh = fakeChannel('in', 1n << 40n, [0n, 1n]);
  const d = new FakeDriver([inCh]);
  const { sw, book } = carol(store, d);
  book.create({ label: 'x', amountMsat: msat(1_000_000n), description: 'd', preimage });
  sw.start();
  const { onion, inner } = onionAtCarol();
  d.emit('in', addMsg(0n, 1_000_000n, hash, 150, inner));
  const settled = d.commands[0]!;
  assert.ok(settled.cmd.kind === 'fulfill_htlc' && equal(settled.cmd.preimage, preimage));
  assert.equal(book.get('x')?.state, 'paid');
  // Same onion again under a new id: the hash is paid now, so it is "unknown".
  d.emit('in', addMsg(1n, 1_000_000n, hash, 150, inner));
  const failed = d.commands[1]!;
  assert.ok(failed.cmd.kind === 'fail_htlc');
  const dec = decodeErrorPacket(
    onion.hopKeys.map((k) => k.sharedSecret),
    wrap(onion.hopKeys[0]!.sharedSecret, failed.cmd.reason),
  );
  assert.ok(dec.ok && dec.value.hopIndex === 1);
  assert.ok(
    dec.value.failure.ok && dec.value.failure.value.failure === 'incorrect_or_unknown_payment_details',
  );
});

test('hold invoice across a restart: the switch hands the held HTLC back, settle fulfils it after', () => {
  const store = memoryStore();
  const inCh = fakeChannel('in', 1n << 40n, [0n]);
  const d = new FakeDriver([inCh]);
  const first = carol(store, d);
  first.book.createHold({ label: 'h', amountMsat: msat(1_000_000n), description: 'd', paymentHash: hash });
  first.sw.start();
  d.emit('in', addMsg(0n, 1_000_000n, hash, 150, onionAtCarol().inner));
  assert.equal(d.commands.length, 0, 'held');
  assert.equal(first.book.get('h')?.state, 'accepted');
  first.sw.close();
  first.receiver.close();

  const d2 = new FakeDriver([inCh]);
  const second = carol(store, d2);
  second.sw.start();
  assert.equal(d2.commands.length, 0, 'still held after the restart');
  assert.deepEqual(
    second.receiver.waiting().map((w) => w.status),
    ['held'],
  );
  // A replayed channel event changes nothing.
  d2.emit('in', addMsg(0n, 1_000_000n, hash, 150, onionAtCarol().inner));
  assert.equal(d2.commands.length, 0);
  second.receiver.settle(hash, preimage);
  assert.equal(second.book.get('h')?.state, 'paid');
  assert.equal(d2.commands.length, 1);
  const ful = d2.commands[0]!.cmd;
  assert.ok(ful.kind === 'fulfill_htlc' && ful.id === 0n && equal(ful.preimage, preimage));
});

test('a local HTLC lost in a crash before its channel made it durable is reported cancelled after restart', () => {
  const store = memoryStore();
  const out = fakeChannel('out', SCID_OUT, []);
  const d = new FakeDriver([out]);
  const sw = makeSwitch(store, d);
  sw.start();
  assert.equal(sw.sendLocal(out, msat(1000n), 150, hash, twoHopOnion().packet, 'sp/1'), null);
  assert.equal(d.commands.length, 1);
  sw.close();
  // After the crash the channel comes back without the add (its next id is 0 again).
  const d2 = new FakeDriver([fakeChannel('out', SCID_OUT, [])]);
  const sw2 = makeSwitch(store, d2);
  const seen: string[] = [];
  sw2.onLocalResult((tag, r) => seen.push(`${tag}:${r.kind}`));
  sw2.start();
  assert.deepEqual(seen, ['sp/1:cancelled']);
  // And only once: a further restart finds nothing to report.
  const sw3 = makeSwitch(store, d2);
  const again: string[] = [];
  sw3.onLocalResult((tag) => again.push(tag));
  sw3.start();
  assert.deepEqual(again, []);
});

test('a fulfill the channel forgot on a disconnect (unsigned) runs again once the link is back, and only then', () => {
  const store = memoryStore();
  const inCh = fakeChannel('in', 1n << 40n, [0n]);
  const outCh = fakeChannel('out', SCID_OUT, []);
  const d = new FakeDriver([inCh, outCh]);
  let timer: (() => void) | null = null;
  const manual: Clock = {
    now: clock.now,
    after: (_ms, fn) => {
      timer = fn;
      return { cancel: () => {} };
    },
  };
  const retry = () => (timer as (() => void) | null)?.();
  const sw = new PaymentSwitch({
    store,
    driver: d as unknown as ChannelDriver,
    nodeSecret: BOB,
    clock: manual,
    log,
  });
  sw.start();
  const fulfils = () => d.commands.filter((c) => c.ch === 'in' && c.cmd.kind === 'fulfill_htlc');
  d.emit('in', addMsg(0n, 1_001_010n, hash, 184, twoHopOnion().packet));
  d.emit('out', { kind: 'htlc_fulfilled', id: 0n, preimage });
  assert.equal(fulfils().length, 1);
  retry();
  assert.equal(fulfils().length, 1, 'the channel carries it: not sent again');

  // BOLT 2: on reconnection both sides forget updates not yet signed; our fulfill is gone.
  const s = inCh.state as unknown as {
    link: string;
    commitments: { localChanges: { proposed: unknown[] }; localCommit: { spec: { htlcs: unknown[] } } };
  };
  s.link = 'down';
  s.commitments.localChanges.proposed = [];
  retry();
  assert.equal(fulfils().length, 1, 'nothing while the peer is away');
  s.link = 'up';
  retry();
  assert.equal(fulfils().length, 2, 'run again from the stored resolution');
  const again = fulfils()[1]!.cmd;
  assert.ok(again.kind === 'fulfill_htlc' && again.id === 0n && equal(again.preimage, preimage));
  retry();
  assert.equal(fulfils().length, 2, 'once');

  // Settled: the HTLC left both commitments, the switch forgets it even if the channel drops changes.
  s.commitments.localCommit.spec.htlcs.length = 0;
  s.commitments.localChanges.proposed = [];
  retry();
  retry();
  assert.equal(fulfils().length, 2, 'an HTLC no longer held is never resolved again');
});

test('test networks: an all-zero (dummy) onion is left alone; one non-zero byte makes it malformed', () => {
  const store = memoryStore();
  const inCh = fakeChannel('in', 1n << 40n, [0n, 1n]);
  const d = new FakeDriver([inCh]);
  const sw = new PaymentSwitch({
    store,
    driver: d as unknown as ChannelDriver,
    nodeSecret: BOB,
    clock,
    log,
    leaveDummyOnions: true,
  });
  sw.start();
  d.emit('in', addMsg(0n, 1_000_000n, hash, 150, new Uint8Array(1366)));
  assert.equal(d.commands.length, 0);
  const almost = new Uint8Array(1366);
  almost[1365] = 1;
  d.emit('in', addMsg(1n, 1_000_000n, hash, 150, almost));
  assert.equal(d.commands.length, 1);
  assert.equal(d.commands[0]!.cmd.kind, 'fail_malformed_htlc');
});
