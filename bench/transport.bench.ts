// BOLT 8 transport benchmark: in-memory handshakes per second (both sides), and message throughput
// through Encryptor + Decryptor beside raw node:crypto ChaCha20-Poly1305 (seal + open of the same
// size) measured in the same run. Goal: >= 70% of raw for 64 KiB messages.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeMessage, encodeMessage } from '../src/bolt01-wire/messages.ts';
import type { MessageValue } from '../src/bolt01-wire/types.ts';
import { aeadBackend } from '../src/bolt08-transport/chachapoly.ts';
import {
  Decryptor,
  Encryptor,
  initiatorActOne,
  initiatorActTwo,
  localKeyFromSecret,
  MAX_MESSAGE_LENGTH,
  responderActOne,
  responderActThree,
  responderStart,
} from '../src/bolt08-transport/index.ts';
import type { Msat } from '../src/core/units.ts';
import { secpBackend } from '../src/crypto/index.ts';
import { repoRoot } from '../src/testing/spec.ts';

const ROUNDS = 7;
const ROUND_MS = 250;

/** Runs fn in batches for about ms milliseconds; returns operations per second. */
function rate(fn: () => void, ms: number): number {
  let n = 0;
  let batch = 1;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < batch; i++) fn();
    n += batch;
    if (batch < 1024) batch *= 2;
    now = performance.now();
  }
  return (n * 1000) / (now - start);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function must<T>(r: { ok: true; value: T } | { ok: false; error: unknown }): T {
  if (!r.ok) throw new Error(`bench setup failed: ${JSON.stringify(r.error)}`);
  return r.value;
}

// ---- handshake ----
const iKey = must(localKeyFromSecret(new Uint8Array(32).fill(0x11)));
const rKey = must(localKeyFromSecret(new Uint8Array(32).fill(0x21)));
const iEph = new Uint8Array(32).fill(0x12);
const rEph = new Uint8Array(32).fill(0x22);

function handshake(): void {
  const a1 = must(initiatorActOne({ local: iKey, remotePubkey: rKey.publicKey, ephemeralSecret: iEph }));
  const r1 = must(responderActOne(must(responderStart({ local: rKey, ephemeralSecret: rEph })), a1.act));
  const a2 = must(initiatorActTwo(a1.state, r1.act));
  must(responderActThree(r1.state, a2.act));
}

// ---- framing vs raw AEAD ----
const KEY = new Uint8Array(32).fill(7);
const CK = new Uint8Array(32).fill(8);
const NONCE = new Uint8Array(12);

function rawSealOpen(msg: Uint8Array): () => void {
  return () => {
    const c = createCipheriv('chacha20-poly1305', KEY, NONCE, { authTagLength: 16 });
    const body = c.update(msg);
    c.final();
    const tag = c.getAuthTag();
    const d = createDecipheriv('chacha20-poly1305', KEY, NONCE, { authTagLength: 16 });
    d.setAuthTag(tag);
    d.update(body);
    d.final();
  };
}

function framed(msg: Uint8Array): () => void {
  const enc = new Encryptor(KEY, CK);
  const dec = new Decryptor(KEY, CK);
  return () => {
    const f = enc.encrypt(msg);
    if (!f.ok) throw new Error('encrypt failed');
    const r = dec.push(f.value);
    if (r.error !== null || r.messages.length !== 1) throw new Error('decrypt failed');
  };
}

interface Figure {
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  readonly bound: string;
  readonly pass: boolean | null;
}

const figures: Figure[] = [];
function report(f: Figure): void {
  figures.push(f);
  const v = f.value >= 100 ? f.value.toFixed(0) : f.value.toFixed(2);
  const verdict = f.pass === null ? '' : f.pass ? '  ok' : '  BELOW GOAL';
  console.log(`${f.metric.padEnd(44)} ${v.padStart(10)} ${f.unit.padEnd(8)} ${f.bound}${verdict}`);
}

// Warm up the JIT and node:crypto.
for (let i = 0; i < 200; i++) handshake();
for (const size of [100, MAX_MESSAGE_LENGTH]) {
  const m = new Uint8Array(size);
  rate(framed(m), 50);
  rate(rawSealOpen(m), 50);
}

console.log(
  `secp256k1 backend: ${secpBackend}; ChaCha20-Poly1305: ${aeadBackend}; node ${process.version}; median of ${ROUNDS} rounds of ${ROUND_MS} ms`,
);
const hs: number[] = [];
for (let r = 0; r < ROUNDS; r++) hs.push(rate(handshake, ROUND_MS));
report({
  metric: 'handshakes/s (both sides, in memory)',
  value: median(hs),
  unit: 'hs/s',
  bound: 'no fixed bound (6 ECDH, 2 keygens, 8 HKDF per handshake)',
  pass: null,
});

for (const [label, size] of [
  ['64 KiB', MAX_MESSAGE_LENGTH],
  ['100 B', 100],
] as const) {
  const msg = new Uint8Array(size).fill(0x5a);
  const ours: number[] = [];
  const raw: number[] = [];
  // Interleave so machine load hits both alike.
  const oursFn = framed(msg);
  const rawFn = rawSealOpen(msg);
  for (let r = 0; r < ROUNDS; r++) {
    ours.push(rate(oursFn, ROUND_MS));
    raw.push(rate(rawFn, ROUND_MS));
  }
  const mbps = (ops: number): number => (ops * size) / 1e6;
  const o = median(ours);
  const w = median(raw);
  report({
    metric: `raw node:crypto seal+open ${label}`,
    value: mbps(w),
    unit: 'MB/s',
    bound: `${w.toFixed(0)} msg/s (reference)`,
    pass: null,
  });
  report({
    metric: `BOLT 8 encrypt+decrypt ${label}`,
    value: mbps(o),
    unit: 'MB/s',
    bound: `${o.toFixed(0)} msg/s`,
    pass: null,
  });
  const ratio = o / w;
  report({
    metric: `ratio BOLT 8 / raw, ${label}`,
    value: ratio * 100,
    unit: '%',
    bound: size === MAX_MESSAGE_LENGTH ? 'goal >= 70%' : 'no goal (2 AEADs per message vs 1)',
    pass: size === MAX_MESSAGE_LENGTH ? ratio >= 0.7 : null,
  });
}

// ---- the per-message path of one update_add_htlc (1,452 bytes on the wire) ----
// CPU µs per message (process.cpuUsage): the machine is shared, so wall-clock rates would measure the
// other tenants too. encode -> encrypt -> decrypt -> decode is what every HTLC costs twice a batch.
function cpuUsPer(fn: () => void, n: number): number {
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}
const add: MessageValue<'update_add_htlc'> = {
  type: 'update_add_htlc',
  channel_id: new Uint8Array(32).fill(1),
  id: 123_456n,
  amount_msat: 1_000_000n as Msat,
  payment_hash: new Uint8Array(32).fill(2),
  cltv_expiry: 800_144,
  onion_routing_packet: new Uint8Array(1366).fill(3),
  tlvs: {},
};
const addBytes = encodeMessage(add);
const wireEnc = new Encryptor(KEY, CK);
const wireDec = new Decryptor(KEY, CK);
const steps: [string, () => void][] = [
  ['encode update_add_htlc', () => encodeMessage(add)],
  ['decode update_add_htlc', () => decodeMessage(addBytes)],
  [
    'encode+encrypt+decrypt+decode update_add_htlc',
    () => {
      const f = wireEnc.encrypt(encodeMessage(add));
      if (!f.ok) throw new Error('encrypt failed');
      const r = wireDec.push(f.value);
      if (r.error !== null || r.messages.length !== 1) throw new Error('decrypt failed');
      if (!decodeMessage(r.messages[0]!).ok) throw new Error('decode failed');
    },
  ],
];
for (const [label, fn] of steps) {
  cpuUsPer(fn, 2_000);
  const us: number[] = [];
  for (let r = 0; r < ROUNDS; r++) us.push(cpuUsPer(fn, 5_000));
  report({
    metric: `${label} (CPU)`,
    value: median(us),
    unit: 'µs/msg',
    bound: 'no fixed bound',
    pass: null,
  });
}

const out = join(repoRoot, 'bench', 'results');
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, 'transport.json'),
  `${JSON.stringify({ bench: 'transport', node: process.version, secpBackend, aeadBackend, rounds: ROUNDS, roundMs: ROUND_MS, figures }, null, 2)}\n`,
);
console.log(`wrote bench/results/transport.json`);
