// Two real `shandian start` processes on loopback, driven through the RPC socket and the CLI.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type NodeProcess, SHANDIAN_BIN, spawnNode } from '../../src/testing/processes.ts';

interface Info {
  id: string;
  alias: string;
  color: string;
  num_peers: number;
  binding: { type: string; address: string; port: number }[];
  network: string;
  version: string;
  blockheight: number;
}

let base: string;
let alice: NodeProcess;
let bob: NodeProcess;
let bobInfo: Info;

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) assert.fail(`timed out: ${what}`);
    await wait(100);
  }
}

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'shandian-e2e-'));
  [alice, bob] = await Promise.all([
    spawnNode({ name: 'alice', datadir: join(base, 'alice') }),
    spawnNode({ name: 'bob', datadir: join(base, 'bob') }),
  ]);
  bobInfo = await bob.call<Info>('getinfo');
});

after(async () => {
  await Promise.all([alice?.stop(), bob?.stop()]);
  rmSync(base, { recursive: true, force: true });
});

test('getinfo has Core Lightning fields; the seed file and RPC socket are private', async () => {
  const info = await alice.call<Info>('getinfo');
  assert.match(info.id, /^0[23][0-9a-f]{64}$/);
  assert.equal(info.alias, 'alice');
  assert.match(info.color, /^[0-9a-f]{6}$/);
  assert.equal(info.network, 'regtest');
  assert.equal(info.num_peers, 0);
  assert.equal(info.binding[0]!.type, 'ipv4');
  assert.match(info.version, /^shandian v/);
  assert.equal(statSync(join(base, 'alice', 'regtest', 'seed')).mode & 0o777, 0o600);
  assert.equal(statSync(join(base, 'alice', 'devnet', 'lightning-rpc')).mode & 0o777, 0o600);
  assert.ok(
    alice.log.some((l) => /Write these 24 words down/.test(l)),
    'the mnemonic is shown at creation',
  );
});

test('connect, listpeers on both sides, ping, disconnect', async () => {
  const target = `${bobInfo.id}@127.0.0.1:${bobInfo.binding[0]!.port}`;
  const c = await alice.call<{
    id: string;
    direction: string;
    features: string;
    address: { type: string; port: number };
  }>('connect', [target]);
  assert.equal(c.id, bobInfo.id);
  assert.equal(c.direction, 'out');
  assert.match(c.features, /^[0-9a-f]+$/);
  assert.deepEqual(c.address, { type: 'ipv4', address: '127.0.0.1', port: bobInfo.binding[0]!.port });
  const aliceId = (await alice.call<Info>('getinfo')).id;
  const bp = await until('bob sees alice', async () => {
    const r = await bob.call<{ peers: { id: string; direction: string; connected: boolean }[] }>('listpeers');
    return r.peers.length === 1 ? r.peers : undefined;
  });
  assert.equal(bp[0]!.id, aliceId);
  assert.equal(bp[0]!.direction, 'in');
  assert.equal(bp[0]!.connected, true);
  const one = await alice.call<{ peers: unknown[] }>('listpeers', { id: bobInfo.id });
  assert.equal(one.peers.length, 1);
  assert.deepEqual(await alice.call('ping', { id: bobInfo.id, len: 1000, pongbytes: 500 }), { totlen: 504 });
  // Connecting again to a connected peer is not an error.
  assert.equal((await alice.call<{ id: string }>('connect', [target])).id, bobInfo.id);
  await alice.call('disconnect', [bobInfo.id]);
  await until('bob sees the disconnect', async () => {
    const r = await bob.call<{ peers: unknown[] }>('listpeers');
    return r.peers.length === 0 ? true : undefined;
  });
});

test('RPC errors are objects a person can act on', async () => {
  await assert.rejects(alice.call('connect', ['nonsense']), (e: { code: number; message: string }) => {
    return e.code === -32602 && /33-byte compressed public key/.test(e.message);
  });
  await assert.rejects(
    alice.call('connect', [`${bobInfo.id}@127.0.0.1:1`]),
    (e: { code: number; message: string }) => {
      return e.code === 401 && /Unable to connect/.test(e.message);
    },
  );
  await assert.rejects(alice.call('ping', [bobInfo.id]), (e: { code: number; message: string }) =>
    /not connected/.test(e.message),
  );
  await assert.rejects(alice.call('frobnicate'), (e: { code: number }) => e.code === -32601);
});

test('the CLI: JSON on stdout, non-zero exit with the error object, clear message without a node', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [SHANDIAN_BIN, '--datadir', join(base, 'alice'), ...args], {
      encoding: 'utf8',
    });
  const ok = cli('getinfo');
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).alias, 'alice');
  const named = cli('listpeers', `id=${bobInfo.id}`);
  assert.equal(named.status, 0, named.stderr);
  assert.deepEqual(JSON.parse(named.stdout), { peers: [] });
  const bad = cli('connect', 'zz');
  assert.equal(bad.status, 1);
  assert.equal(JSON.parse(bad.stdout).code, -32602);
  const none = spawnSync(process.execPath, [SHANDIAN_BIN, '--datadir', join(base, 'nobody'), 'getinfo'], {
    encoding: 'utf8',
  });
  assert.equal(none.status, 2);
  assert.match(none.stderr, /no node is running/);
});

test('a second node cannot take the same data folder', () => {
  const r = spawnSync(
    process.execPath,
    [SHANDIAN_BIN, 'start', '--datadir', join(base, 'alice'), '--listen', '127.0.0.1:0'],
    {
      encoding: 'utf8',
      timeout: 20_000,
    },
  );
  assert.equal(r.status, 2);
  assert.match(r.stderr, /another shandian \(pid \d+\) is using/);
});

test('reconnect with backoff: bob is killed (-9) and restarted on the same port; alice comes back by herself', async () => {
  const port = bobInfo.binding[0]!.port;
  await alice.call('connect', [`${bobInfo.id}@127.0.0.1:${port}`]);
  await bob.kill('SIGKILL');
  await until('alice notices', async () => {
    const r = await alice.call<{ peers: unknown[] }>('listpeers');
    return r.peers.length === 0 ? true : undefined;
  });
  assert.ok(alice.log.some((l) => /will reconnect/.test(l)));
  bob = await spawnNode({ name: 'bob', datadir: join(base, 'bob'), args: ['--listen', `127.0.0.1:${port}`] });
  assert.equal((await bob.call<Info>('getinfo')).id, bobInfo.id, 'same identity after restart');
  assert.ok(!bob.log.some((l) => /Write these 24 words down/.test(l)), 'the mnemonic is shown only once');
  const peers = await until('alice reconnected', async () => {
    const r = await alice.call<{ peers: { id: string; direction: string }[] }>('listpeers');
    return r.peers.length === 1 ? r.peers : undefined;
  });
  assert.equal(peers[0]!.id, bobInfo.id);
  assert.equal(peers[0]!.direction, 'out');
});
