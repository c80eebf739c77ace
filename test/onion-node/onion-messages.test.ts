// Onion messages between three in-memory messengers A -> B -> C: B forwards by next_node_id with the next
// path key, C gets the payload; a peer that is not connected, a tampered packet and a flood are dropped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMessage } from '../../src/bolt01-wire/index.ts';
import { hex } from '../../src/core/bytes.ts';
import { publicKeyOf, sha256 } from '../../src/crypto/index.ts';
import type { Clock } from '../../src/node/clock.ts';
import { createLogger } from '../../src/node/logger.ts';
import {
  ONION_MESSAGE_BURST,
  type OnionMessageOutcome,
  OnionMessenger,
} from '../../src/node/onion-messages.ts';
import { decodePeerMessage } from '../../src/node/peer-wire.ts';

const secretOf = (s: string) => sha256(new TextEncoder().encode(s));

function network(names: string[]) {
  let now = 1_700_000_000_000;
  const timers: (() => void)[] = [];
  const clock: Clock = {
    now: () => now,
    after: (_ms, fn) => {
      timers.push(fn);
      return { cancel: () => {} };
    },
  };
  const nodes = new Map<string, OnionMessenger>();
  const ids = new Map<string, string>();
  const outcomes: OnionMessageOutcome[] = [];
  /** Who is connected to whom (both ways). */
  const links = new Set<string>();
  let n = 0;
  for (const name of names) {
    const secret = secretOf(name);
    const id = hex(publicKeyOf(secret));
    ids.set(name, id);
    const m = new OnionMessenger({
      nodeSecret: secret,
      send: (peer, bytes) => {
        if (!links.has(`${id}>${peer}`)) return false;
        const msg = decodePeerMessage(bytes);
        assert.ok(msg.ok);
        const target = [...nodes.values()].find((x) => x.ourId === peer)!;
        outcomes.push(target.onPeerMessage(id, msg.value)!);
        return true;
      },
      peerOfChannel: () => undefined,
      clock,
      entropy: { randomBytes: (k) => secretOf(`r${n++}`).slice(0, k) },
      log: createLogger({ level: 'error', stderr: false }),
    });
    nodes.set(name, m);
  }
  const link = (a: string, b: string) => {
    links.add(`${ids.get(a)}>${ids.get(b)}`);
    links.add(`${ids.get(b)}>${ids.get(a)}`);
  };
  return {
    nodes,
    ids,
    outcomes,
    link,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

test('A -> B -> C: B forwards, C gets the payload and its waiter wakes', async () => {
  const net = network(['a', 'b', 'c']);
  net.link('a', 'b');
  net.link('b', 'c');
  const [A, C] = [net.nodes.get('a')!, net.nodes.get('c')!];
  const waiting = C.wait(0, 5);
  A.send(
    [Buffer.from(net.ids.get('b')!, 'hex'), Buffer.from(net.ids.get('c')!, 'hex')],
    [{ type: 65n, value: new Uint8Array([0xca, 0xfe]) }],
  );
  // (Nested calls: C's outcome is recorded inside B's send, before B's own.)
  assert.deepEqual(net.outcomes, ['delivered', 'forwarded']);
  const m = await waiting;
  assert.equal(m.index, 1);
  assert.equal(m.peer_id, net.ids.get('b'), 'C only knows the peer that handed it over');
  assert.deepEqual(m.fields, [{ type: '65', value: 'cafe' }]);
  assert.equal(m.path_id, null);
  assert.deepEqual(C.list(), [m]);
});

test('dropped: next peer not connected, even payload type refused at the sender, tampered packet', () => {
  const net = network(['a', 'b', 'c']);
  net.link('a', 'b');
  const A = net.nodes.get('a')!;
  const route = [Buffer.from(net.ids.get('b')!, 'hex'), Buffer.from(net.ids.get('c')!, 'hex')];
  A.send(route, [{ type: 65n, value: new Uint8Array([1]) }]);
  assert.deepEqual(net.outcomes, ['next_peer_offline'], 'B does not dial C for a message');
  assert.throws(() => A.send(route, [{ type: 64n, value: new Uint8Array([1]) }]), /odd/);
  // A tampered packet: B cannot peel it.
  const B = net.nodes.get('b')!;
  let captured: Uint8Array | null = null;
  const spy = new OnionMessenger({
    nodeSecret: secretOf('a'),
    send: (_p, bytes) => {
      captured = bytes;
      return true;
    },
    peerOfChannel: () => undefined,
    clock: { now: () => 0, after: () => ({ cancel: () => {} }) },
    entropy: { randomBytes: (k) => secretOf('x').slice(0, k) },
    log: createLogger({ level: 'error', stderr: false }),
  });
  spy.send(route, []);
  const d = decodeMessage(captured!);
  assert.ok(d.ok && d.value.type === 'onion_message');
  const packet = new Uint8Array(d.value.onion_message_packet);
  packet[100]! ^= 1;
  assert.equal(B.receive(net.ids.get('a')!, d.value.path_key, packet), 'ignored');
  assert.equal(
    B.receive(net.ids.get('a')!, d.value.path_key, d.value.onion_message_packet),
    'next_peer_offline',
  );
});

test('rate limit: a burst per peer, then a steady rate; other peers are not affected', () => {
  const net = network(['a', 'b', 'c']);
  const B = net.nodes.get('b')!;
  const junk = new Uint8Array(1366);
  const key = publicKeyOf(secretOf('k'));
  const from = (p: string) => B.receive(net.ids.get(p)!, key, junk);
  for (let i = 0; i < ONION_MESSAGE_BURST; i++) assert.equal(from('a'), 'ignored');
  assert.equal(from('a'), 'rate_limited');
  assert.equal(from('c'), 'ignored', 'c has its own bucket');
  net.advance(250); // 8 per second: two more
  assert.equal(from('a'), 'ignored');
  assert.equal(from('a'), 'ignored');
  assert.equal(from('a'), 'rate_limited');
});
