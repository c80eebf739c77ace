// The onions of pending adds are written apart from the channel state, once each, and put back when the
// node restarts: the state a restarted driver loads is the one it persisted, onions included.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeChannelState } from '../../src/bolt02-channel/index.ts';
import { encodeShachain, type ShachainStore } from '../../src/bolt03-tx/index.ts';
import { hex } from '../../src/core/bytes.ts';
import type { Msat, Sat } from '../../src/core/units.ts';
import { sha256 } from '../../src/crypto/index.ts';
import { encodePlain } from '../../src/node/channel-codec.ts';
import { decodeRecord, encodeRecord, put } from '../../src/store/store.ts';
import { stripUndefined } from '../bolt02-channel/strip-undefined.ts';
import { openChannel, settle, type TestNode, twoNodes } from './driver-harness.ts';

const ONION_NS = 'channel-onions';

const onion = (i: number) => new Uint8Array(1366).fill(i + 1);

function addWithOnion(node: TestNode, i: number): void {
  const refused = node.driver.htlcCommand(node.channel(), {
    kind: 'add_htlc',
    amount: 1_000_000n as Msat,
    paymentHash: sha256(new Uint8Array([i])),
    cltvExpiry: 500,
    onion: onion(i),
  });
  assert.equal(refused, null);
}

/** alice and bob with a channel; alice's adds (one per onion number) signed, her commitment_signed lost. */
async function withPendingAdds(n: number) {
  const { net, alice, bob } = await twoNodes([1_000_000n]);
  await openChannel(net, alice, bob, 500_000n as Sat, 0n as Msat);
  // alice's commitment_signed is lost: her adds stay pending (signed, waiting for revocation).
  alice.peers.drop.add('commitment_signed');
  for (let i = 0; i < n; i++) addWithOnion(alice, i);
  await settle();
  return { net, alice, bob };
}

/** The channel's state as its record holds it (onions not attached). */
function storedState(node: TestNode) {
  const ch = node.channel();
  const rec = decodeRecord<{ state: Uint8Array }>(node.store.get('channels', ch.key)!);
  const s = decodeChannelState(rec.state);
  assert.ok(s.ok);
  return s.value;
}

test('pending onions are stored once, apart from the state, and come back after a restart', async () => {
  const { alice } = await withPendingAdds(3);
  const ch = alice.channel();
  // One bundle: the three adds went out under one commitment_signed, in one state write.
  const bundles = alice.store.list(ONION_NS);
  assert.equal(bundles.length, 1);
  assert.match(bundles[0]!.key, new RegExp(`^${ch.key}/\\d{12}$`));
  const held = decodeRecord<{ onions: Record<string, Uint8Array> }>(bundles[0]!.value).onions;
  assert.deepEqual(held, { 'l/0': onion(0), 'l/1': onion(1), 'l/2': onion(2) });
  // The record's state carries the adds without their onions.
  const bare = storedState(alice);
  assert.equal(bare.phase, 'normal');
  const signed = bare.phase === 'normal' ? bare.commitments.localChanges.signed : [];
  assert.equal(signed.length, 3);
  for (const u of signed) {
    assert.equal(u.type, 'update_add_htlc');
    assert.equal(u.type === 'update_add_htlc' ? u.onion_routing_packet.length : -1, 0);
  }

  const before = ch.persisted;
  assert.ok(before?.phase === 'normal');
  await alice.restart();
  const after = alice.channel().state;
  assert.ok(after.phase === 'normal');
  // The loaded state is the persisted one, onions attached (only the link has moved on since).
  assert.deepStrictEqual(after.commitments, before.commitments);
  const adds = after.commitments.localChanges.signed;
  assert.deepEqual(
    adds.map((u) => (u.type === 'update_add_htlc' ? u.onion_routing_packet : undefined)),
    [onion(0), onion(1), onion(2)],
  );
});

test('onions leave the store once their adds are in both commitments', async () => {
  const { net, alice, bob } = await twoNodes([1_000_000n]);
  await openChannel(net, alice, bob, 500_000n as Sat, 0n as Msat);
  for (let i = 0; i < 2; i++) addWithOnion(alice, i);
  await settle();
  // Fully committed on both sides: the adds are gone from the changes, and so are their onions.
  assert.deepEqual(alice.store.list(ONION_NS), []);
  assert.deepEqual(bob.store.list(ONION_NS), []);
  const s = alice.channel().state;
  assert.ok(s.phase === 'normal' && s.commitments.localCommit.spec.htlcs.length === 2);
});

test('a channel whose onion record is gone does not load, with an error that names it', async () => {
  const { alice } = await withPendingAdds(1);
  const key = alice.channel().key;
  const [bundle] = alice.store.list(ONION_NS);
  alice.store.batch([{ kind: 'delete', ns: ONION_NS, key: bundle!.key }]);
  await assert.rejects(alice.restart(), new RegExp(`channel record ${key}: onions missing for HTLCs l/0`));
});

/** The channel record of an older shandian: JSON, the state as JSON text with tagged bigints and bytes. */
function legacyRecord(node: TestNode): Uint8Array {
  const ch = node.channel();
  const state = JSON.stringify({ version: 1, state: ch.persisted }, (key, value: unknown) => {
    if (key === 'remoteSecrets') return { $shachain: hex(encodeShachain(value as ShachainStore)) };
    if (typeof value === 'bigint') return { $n: value.toString() };
    if (value instanceof Uint8Array) return { $b: hex(value) };
    return value;
  });
  return encodeRecord(1, { peerId: ch.peerId, keyIndex: ch.keyIndex, state, meta: encodePlain(ch.meta) });
}

test('a channel stored by an older shandian (JSON record, onions inside) loads and carries on', async () => {
  const { net, alice, bob } = await withPendingAdds(1);
  const key = alice.channel().key;
  const before = alice.channel().persisted;
  // What an older shandian left: the JSON record with the onion inside, no bundles.
  const old = legacyRecord(alice);
  await alice.stop();
  alice.store.batch([
    put('channels', key, old),
    ...alice.store.list(ONION_NS).map((r) => ({ kind: 'delete' as const, ns: ONION_NS, key: r.key })),
  ]);
  await alice.start();
  net.nodes.push(alice);
  const after = alice.channel().state;
  assert.ok(after.phase === 'normal' && before?.phase === 'normal');
  // JSON dropped the properties set to undefined; reading them gives the same.
  assert.deepStrictEqual(stripUndefined(after.commitments), stripUndefined(before.commitments));
  // The pending onion now also sits in a bundle; the next write is in the binary format.
  assert.equal(alice.store.list(ONION_NS).length, 1);
  alice.peers.drop.delete('commitment_signed');
  net.connect(alice, bob);
  await settle();
  const rec = decodeRecord<{ state: unknown }>(alice.store.get('channels', key)!);
  assert.equal(rec.v, 2);
  const s = alice.channel().state;
  assert.ok(s.phase === 'normal' && s.commitments.localCommit.spec.htlcs.length === 1);
});
