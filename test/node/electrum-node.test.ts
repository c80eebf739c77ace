// Interop with an implementation nobody here wrote: Electrum's electrum.lntransport (Debian python3-electrum,
// driven by tools/electrum_peer.py) against a running `shandian start`, in both directions: the Noise
// handshake, init, and pings answered each way. Fails, never skips, when Electrum cannot be imported.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { type NodeProcess, spawnNode } from '../../src/testing/processes.ts';
import { repoRoot } from '../../src/testing/spec.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(repoRoot, 'tools', 'electrum_peer.py');

type Event = { event: string; [k: string]: unknown };

function electrum(args: string[]): {
  child: ChildProcess;
  next: (pred: (e: Event) => boolean) => Promise<Event>;
  events: Event[];
} {
  const child = spawn(PYTHON, [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Event[] = [];
  const waiters: { pred: (e: Event) => boolean; resolve: (e: Event) => void }[] = [];
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const e = JSON.parse(line) as Event;
    events.push(e);
    for (const w of [...waiters]) {
      if (w.pred(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  });
  const next = (pred: (e: Event) => boolean) =>
    new Promise<Event>((resolve, reject) => {
      const seen = events.find(pred);
      if (seen) return resolve(seen);
      const t = setTimeout(
        () => reject(new Error(`electrum peer: timed out; events ${JSON.stringify(events)} ${stderr}`)),
        20_000,
      );
      waiters.push({
        pred,
        resolve: (e) => {
          clearTimeout(t);
          resolve(e);
        },
      });
      child.once('exit', () =>
        setTimeout(() => reject(new Error(`electrum peer exited: ${JSON.stringify(events)} ${stderr}`)), 100),
      );
    });
  return { child, next, events };
}

let base: string;
let node: NodeProcess;
let info: { id: string; binding: { port: number }[] };

before(async () => {
  const r = spawnSync(PYTHON, ['-c', 'import electrum.lntransport'], { encoding: 'utf8' });
  assert.equal(
    r.status,
    0,
    `needs Debian's python3-electrum importable from ${PYTHON} (apt-get install python3-electrum): ${r.stderr}`,
  );
  base = mkdtempSync(join(tmpdir(), 'shandian-electrum-'));
  node = await spawnNode({ name: 'shandian', datadir: join(base, 'node') });
  info = await node.call('getinfo');
});

after(async () => {
  await node?.stop();
  rmSync(base, { recursive: true, force: true });
});

test('Electrum dials shandian: handshake, init both ways, its pings answered, our ping answered', async () => {
  const e = electrum([
    'connect',
    '--port',
    String(info.binding[0]!.port),
    '--pubkey',
    info.id,
    '--pings',
    '3',
    '--expect-pings',
    '1',
  ]);
  try {
    const theirInit = await e.next((x) => x.event === 'recv' && x.type === 16);
    assert.match(String(theirInit.features), /^[0-9a-f]+$/, 'Electrum decoded our init');
    await e.next((x) => x.event === 'recv' && x.type === 19 && x.pongs === 3);
    const peers = await node.call<{ peers: { id: string; direction: string }[] }>('listpeers');
    assert.equal(peers.peers.length, 1);
    assert.equal(peers.peers[0]!.direction, 'in');
    const r = await node.call<{ totlen: number }>('ping', { id: peers.peers[0]!.id, len: 16, pongbytes: 32 });
    assert.equal(r.totlen, 36);
    const done = await e.next((x) => x.event === 'done' || x.event === 'error');
    assert.equal(done.event, 'done', JSON.stringify(done));
  } finally {
    e.child.kill();
  }
});

test('shandian dials Electrum: connect RPC, init both ways, pings each way', async () => {
  const e = electrum(['listen', '--port', '0', '--pings', '2', '--expect-pings', '1']);
  try {
    const listening = await e.next((x) => x.event === 'listening');
    const c = await node.call<{ id: string; direction: string; features: string }>('connect', [
      `${listening.pubkey}@127.0.0.1:${listening.port}`,
    ]);
    assert.equal(c.id, listening.pubkey);
    assert.equal(c.direction, 'out');
    assert.equal(c.features, '0202', "Electrum's init features as it sent them");
    await e.next((x) => x.event === 'recv' && x.type === 19 && x.pongs === 2);
    const r = await node.call<{ totlen: number }>('ping', { id: c.id, len: 0, pongbytes: 100 });
    assert.equal(r.totlen, 104);
    const done = await e.next((x) => x.event === 'done' || x.event === 'error');
    assert.equal(done.event, 'done', JSON.stringify(done));
  } finally {
    e.child.kill();
  }
});
