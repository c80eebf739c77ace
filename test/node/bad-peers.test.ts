// A real `shandian start` process against broken and hostile peers over loopback TCP. Each bad input must
// get exactly what BOLT 1/8 require (ignore, warning + close, or close), the node must log why, and a
// well-behaved peer connected the whole time must keep being served.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decodeMessage, encodeMessage } from '../../src/bolt01-wire/messages.ts';
import { makePing } from '../../src/bolt01-wire/peer.ts';
import { concat, fromHex, u16be } from '../../src/core/bytes.ts';
import { type NodeProcess, spawnNode } from '../../src/testing/processes.ts';
import { initBytes, type RawPeer, rawConnect } from '../../src/testing/raw-peer.ts';

let base: string;
let node: NodeProcess;
let good: NodeProcess;
let nodeId: Uint8Array;
let port: number;

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'shandian-badpeers-'));
  [node, good] = await Promise.all([
    spawnNode({ name: 'target', datadir: join(base, 'target'), args: ['--log-level', 'debug'] }),
    spawnNode({ name: 'good', datadir: join(base, 'good') }),
  ]);
  const info = await node.call<{ id: string; binding: { port: number }[] }>('getinfo');
  nodeId = fromHex(info.id);
  port = info.binding[0]!.port;
  await good.call('connect', [`${info.id}@127.0.0.1:${port}`]);
});

after(async () => {
  await Promise.all([node?.stop(), good?.stop()]);
  rmSync(base, { recursive: true, force: true });
});

async function logMentions(pattern: RegExp, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (node.log.some((l) => pattern.test(l))) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`node log never matched ${pattern}:\n${node.log.slice(-15).join('\n')}`);
}

async function goodPeerStillServed(): Promise<void> {
  const { id } = await node.call<{ id: string }>('getinfo');
  const r = await good.call<{ totlen: number }>('ping', { id, len: 10, pongbytes: 20 });
  assert.equal(r.totlen, 24);
  const peers = await node.call<{ peers: unknown[] }>('listpeers');
  assert.ok(peers.peers.length >= 1);
}

/** Connects, and completes the init exchange unless told not to. */
async function peer(sendInit = true): Promise<RawPeer> {
  const p = await rawConnect('127.0.0.1', port, nodeId);
  const theirInit = await p.next();
  assert.ok(theirInit, 'node sends init first');
  const d = decodeMessage(theirInit);
  assert.ok(d.ok && d.value.type === 'init', 'the first message is init');
  if (sendInit) p.send(initBytes());
  return p;
}

function warningText(msg: Uint8Array | null): string {
  assert.ok(msg, 'expected a warning before the close');
  const d = decodeMessage(msg);
  assert.ok(d.ok && d.value.type === 'warning', `expected a warning, got ${d.ok ? d.value.type : 'garbage'}`);
  return new TextDecoder().decode(d.value.data);
}

test('garbage before the handshake: the connection is closed and the reason logged', async () => {
  const s = connect({ host: '127.0.0.1', port });
  await new Promise((r) => s.once('connect', r));
  s.write(Buffer.alloc(50, 0x42)); // act one must start with version 0
  await new Promise((r) => s.once('close', r));
  await logMentions(/incoming handshake failed.*(version|ACT1)/i);
  await goodPeerStillServed();
});

test('garbage after the handshake: closed (bad length MAC)', async () => {
  const p = await peer();
  p.sendRaw(new Uint8Array(64).fill(7));
  await p.closed;
  await logMentions(/connection closed.*MAC/i);
  await goodPeerStillServed();
});

test('a frame with a wrong MAC: closed', async () => {
  const p = await peer(false);
  const frame = p.encryptor.encrypt(initBytes());
  assert.ok(frame.ok);
  frame.value[frame.value.length - 1]! ^= 0x01;
  p.sendRaw(frame.value);
  await p.closed;
  await goodPeerStillServed();
});

test('a maximal length header followed by a forged body: closed', async () => {
  const p = await peer(false);
  // Encrypt a real 65535-byte message, then replace its body: the length is authentic, the body is not.
  const frame = p.encryptor.encrypt(new Uint8Array(65535));
  assert.ok(frame.ok);
  frame.value.fill(0x55, 18);
  p.sendRaw(frame.value);
  await p.closed;
  await goodPeerStillServed();
});

test('a message before init: warning, then closed', async () => {
  const p = await peer(false);
  p.send(encodeMessage(makePing(4, 0)));
  assert.match(warningText(await p.next()), /init must be the first message/);
  await p.closed;
  await logMentions(/closing connection: sent ping before init/);
});

test('init with an unknown even feature bit: warning, then closed', async () => {
  const p = await peer(false);
  const features = new Uint8Array(13);
  features[0] = 0x10; // bit 100
  p.send(initBytes(features));
  assert.match(warningText(await p.next()), /unknown even feature bit 100/);
  await p.closed;
  await logMentions(/closing connection: unknown even feature bit 100/);
  await goodPeerStillServed();
});

test('init whose TLV stream is truncated: closed', async () => {
  const p = await peer(false);
  // init: gflen=0, flen=0, then TLV type 1 (networks) claiming 32 bytes but carrying 5.
  p.send(concat(u16be(16), u16be(0), u16be(0), new Uint8Array([0x01, 0x20, 1, 2, 3, 4, 5])));
  assert.match(warningText(await p.next()), /malformed message type 16/);
  await p.closed;
  await logMentions(/closing connection: malformed message type 16/);
});

test('init with TLVs out of order: closed', async () => {
  const p = await peer(false);
  const chain = initBytes().subarray(-32);
  p.send(concat(u16be(16), u16be(0), u16be(0), new Uint8Array([0x03, 0x00, 0x01, 0x20]), chain));
  assert.match(warningText(await p.next()), /not strictly increasing/);
  await p.closed;
});

test('an unknown even message type: warning, then closed', async () => {
  const p = await peer();
  p.send(concat(u16be(32768), new Uint8Array([1, 2, 3])));
  assert.match(warningText(await p.next()), /unknown even message type 32768/);
  await p.closed;
  await logMentions(/closing connection: unknown even message type 32768/);
  await goodPeerStillServed();
});

test('an unknown odd message type is ignored: the connection stays and answers pings', async () => {
  const p = await peer();
  p.send(concat(u16be(32769), new Uint8Array([1, 2, 3])));
  p.send(encodeMessage(makePing(7, 3)));
  const reply = await p.next();
  assert.ok(reply);
  const d = decodeMessage(reply);
  assert.ok(d.ok && d.value.type === 'pong');
  assert.equal(d.value.ignored.length, 7);
  assert.equal(p.isClosed(), false);
  await logMentions(/ignoring unknown odd message type 32769/);
  p.close();
});

test('a ping asking for 65532 bytes or more gets no pong', async () => {
  const p = await peer();
  p.send(encodeMessage(makePing(65532, 0)));
  p.send(encodeMessage(makePing(1, 0)));
  const reply = await p.next();
  assert.ok(reply);
  const d = decodeMessage(reply);
  assert.ok(
    d.ok && d.value.type === 'pong' && d.value.ignored.length === 1,
    'only the second ping is answered',
  );
  p.close();
});

test('peer storage: the node keeps our blob and returns it after we reconnect', async () => {
  const secret = new Uint8Array(32).fill(9);
  const p1 = await rawConnect('127.0.0.1', port, nodeId, secret);
  await p1.next();
  p1.send(initBytes());
  p1.send(encodeMessage({ type: 'peer_storage', blob: new Uint8Array([1, 2, 3, 4]) }));
  p1.send(encodeMessage(makePing(1, 0)));
  assert.ok(await p1.next()); // the pong: the blob was handled before it
  p1.close();
  await p1.closed;
  const p2 = await rawConnect('127.0.0.1', port, nodeId, secret);
  await p2.next(); // init
  p2.send(initBytes());
  const back = await p2.next();
  assert.ok(back);
  const d = decodeMessage(back);
  assert.ok(d.ok && d.value.type === 'peer_storage_retrieval');
  assert.deepEqual([...d.value.blob], [1, 2, 3, 4]);
  p2.close();
});
