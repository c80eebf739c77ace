// Interop with Electrum's independent BOLT 8 implementation (Debian python3-electrum, run through
// tools/electrum_peer.py), in both directions: init, then pings and pongs across key rotations,
// including a pong of 65535 bytes. Fails (does not skip) when Electrum cannot be imported.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fromHex, hex } from '../../src/core/bytes.ts';
import { publicKeyOf, systemEntropy } from '../../src/crypto/index.ts';
import { connect, type NoiseConnection } from '../../src/node/noise-connection.ts';
import { listen } from '../../src/node/noise-listener.ts';
import { repoRoot } from '../../src/testing/spec.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(repoRoot, 'tools', 'electrum_peer.py');
// 600 pings each way plus their pongs: > 1200 messages per direction, two key rotations or more.
const PINGS = 600;
const OUR_SECRET = new Uint8Array(32).fill(0x41);
const OUR_ID = publicKeyOf(OUR_SECRET);
const OUR_FEATURES = '02a2';

let electrumCheck: { status: number | null; detail: string } | null = null;

/** Checked once per file (importing electrum takes seconds); every interop test fails if it is missing. */
function requireElectrum(): void {
  if (electrumCheck === null) {
    const r = spawnSync(PYTHON, ['-c', 'import electrum.lntransport'], { encoding: 'utf8' });
    electrumCheck = { status: r.status, detail: r.error?.message ?? r.stderr };
  }
  assert.equal(
    electrumCheck.status,
    0,
    `Electrum interop needs Debian's python3-electrum importable from ${PYTHON} (apt-get install python3-electrum): ${electrumCheck.detail}`,
  );
}

// ---- hand-encoded BOLT 1 messages (until the wire codec is wired in) ----
const u16 = (n: number): number[] => [n >> 8, n & 0xff];
const initMsg = (): Uint8Array =>
  Uint8Array.from([...u16(16), ...u16(0), ...u16(2), ...fromHex(OUR_FEATURES)]);
const pingMsg = (numPongBytes: number, ignored: number): Uint8Array =>
  Uint8Array.from([...u16(18), ...u16(numPongBytes), ...u16(ignored), ...new Uint8Array(ignored)]);
const pongMsg = (n: number): Uint8Array => Uint8Array.from([...u16(19), ...u16(n), ...new Uint8Array(n)]);
const typeOf = (m: Uint8Array): number => ((m[0] ?? 0) << 8) | (m[1] ?? 0);
const u16At = (m: Uint8Array, o: number): number => ((m[o] ?? 0) << 8) | (m[o + 1] ?? 0);

interface PeerSummary {
  remoteFeatures: string;
  pongLengths: number[];
  answered: number;
}

/** Our side of the script electrum_peer.py runs: init, then pings; answer pings; count pongs. */
function runOurSide(conn: NoiseConnection, pings: number, expectPings: number): Promise<PeerSummary> {
  return new Promise((resolve, reject) => {
    const s: PeerSummary = { remoteFeatures: '', pongLengths: [], answered: 0 };
    const asked: number[] = [];
    let gotInit = false;
    const check = (): void => {
      if (gotInit && s.pongLengths.length === pings && s.answered >= expectPings) resolve(s);
    };
    conn.on('close', (r) => reject(new Error(`connection closed early: ${JSON.stringify(r)}`)));
    conn.on('message', (m) => {
      const t = typeOf(m);
      if (t === 16) {
        const gflen = u16At(m, 2);
        const flen = u16At(m, 4 + gflen);
        s.remoteFeatures = hex(m.subarray(6 + gflen, 6 + gflen + flen));
        gotInit = true;
        for (let i = 0; i < pings; i++) {
          const n = i === 0 ? 65531 : (i * 13) % 300;
          asked.push(n);
          conn.send(pingMsg(n, i % 5));
        }
      } else if (t === 18) {
        const n = u16At(m, 2);
        if (n < 65532) conn.send(pongMsg(n));
        s.answered++;
      } else if (t === 19) {
        const n = u16At(m, 2);
        const want = asked[s.pongLengths.length];
        if (n !== want || m.length !== 4 + n)
          reject(new Error(`pong ${s.pongLengths.length}: ${n} bytes, asked ${want}`));
        s.pongLengths.push(m.length);
      }
      check();
    });
    conn.send(initMsg());
  });
}

interface PyEvent {
  event: string;
  [k: string]: unknown;
}

function spawnPeer(args: string[]): {
  child: ChildProcess;
  events: PyEvent[];
  next: (ev: string) => Promise<PyEvent>;
  exit: Promise<number | null>;
} {
  const child = spawn(PYTHON, [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: PyEvent[] = [];
  const waiters: { ev: string; res: (e: PyEvent) => void }[] = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const e = JSON.parse(line) as PyEvent;
    events.push(e);
    for (const w of waiters.filter((x) => x.ev === e.event)) w.res(e);
  });
  const exit = new Promise<number | null>((res) =>
    child.on('exit', (code) => {
      if (code !== 0)
        console.error(
          `electrum_peer.py exited ${code}: ${stderr}\n${events.map((e) => JSON.stringify(e)).join('\n')}`,
        );
      res(code);
    }),
  );
  const next = (ev: string): Promise<PyEvent> => {
    const seen = events.find((e) => e.event === ev);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((res) => waiters.push({ ev, res }));
  };
  return { child, events, next, exit };
}

function checkPythonSaw(events: PyEvent[]): void {
  const err = events.find((e) => e.event === 'error');
  assert.equal(err, undefined, `Electrum reported: ${JSON.stringify(err)}`);
  const hs = events.find((e) => e.event === 'handshake');
  assert.equal(hs?.remote_pubkey, hex(OUR_ID));
  const init = events.find((e) => e.event === 'recv' && e.type === 16);
  assert.equal(init?.features, OUR_FEATURES);
  const done = events.find((e) => e.event === 'done');
  assert.deepEqual([done?.pongs, done?.answered], [PINGS, PINGS]);
  const bigPong = events.find((e) => e.event === 'recv' && e.type === 19 && e.pongs === 1);
  assert.equal(bigPong?.length, 65535);
}

function checkWeSaw(s: PeerSummary): void {
  assert.equal(s.remoteFeatures, '0202');
  assert.equal(s.pongLengths.length, PINGS);
  assert.equal(s.pongLengths[0], 65535);
  assert.equal(s.answered, PINGS);
}

test('Electrum is importable from /usr/bin/python3', () => {
  requireElectrum();
});

test('interop: shandian connects to an Electrum responder (LNResponderTransport)', {
  timeout: 60_000,
}, async () => {
  requireElectrum();
  const secret = new Uint8Array(32).fill(0x52);
  const py = spawnPeer([
    'listen',
    '--privkey',
    hex(secret),
    '--pings',
    String(PINGS),
    '--expect-pings',
    String(PINGS),
  ]);
  try {
    const ready = await py.next('listening');
    assert.equal(ready.pubkey, hex(publicKeyOf(secret)));
    const conn = await connect({
      host: '127.0.0.1',
      port: ready.port as number,
      localSecret: OUR_SECRET,
      remotePubkey: fromHex(ready.pubkey as string),
      entropy: systemEntropy,
    });
    const ours = await runOurSide(conn, PINGS, PINGS);
    assert.equal(await py.exit, 0);
    checkPythonSaw(py.events);
    checkWeSaw(ours);
    conn.close();
  } finally {
    py.child.kill();
  }
});

test('interop: an Electrum initiator (LNTransport) connects to a shandian listener', {
  timeout: 60_000,
}, async () => {
  requireElectrum();
  const accepted: Promise<NoiseConnection>[] = [];
  let resolveConn: (c: NoiseConnection) => void = () => {};
  accepted.push(new Promise((r) => (resolveConn = r)));
  const failures: string[] = [];
  const listener = await listen({
    port: 0,
    localSecret: OUR_SECRET,
    entropy: systemEntropy,
    onConnection: (c) => resolveConn(c),
    onHandshakeError: (r) => failures.push(JSON.stringify(r)),
  });
  const py = spawnPeer([
    'connect',
    '--port',
    String(listener.port),
    '--pubkey',
    hex(OUR_ID),
    '--privkey',
    '63'.repeat(32),
    '--pings',
    String(PINGS),
    '--expect-pings',
    String(PINGS),
  ]);
  try {
    const conn = await Promise.race([
      accepted[0] as Promise<NoiseConnection>,
      py.exit.then((code) => {
        throw new Error(`electrum_peer.py exited ${code} before the handshake: ${failures.join('; ')}`);
      }),
    ]);
    assert.equal(hex(conn.remotePubkey), hex(publicKeyOf(fromHex('63'.repeat(32)))));
    const ours = await runOurSide(conn, PINGS, PINGS);
    assert.equal(await py.exit, 0);
    checkPythonSaw(py.events);
    checkWeSaw(ours);
    assert.deepEqual(failures, []);
  } finally {
    py.child.kill();
    await listener.close();
  }
});
