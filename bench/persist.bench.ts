// Persistence cost of one channel state write with many HTLCs in flight: bytes per write and CPU ms to
// encode / decode it (the channel record as the driver writes it), at N pending adds with full onions.
import { decodeChannelState, detachOnions, encodeChannelState } from '../src/bolt02-channel/index.ts';
import type { ChannelState } from '../src/bolt02-channel/state.ts';
import type { Msat } from '../src/core/units.ts';
import { sha256 } from '../src/crypto/index.ts';
import { decodeRecord, encodeBinaryRecord } from '../src/store/store.ts';
import { ChannelPair } from '../src/testing/channel-harness.ts';

const N = Number(process.env.PERSIST_BENCH_HTLCS ?? 483);

/** a has offered N HTLCs, signed them, and b has acked (b's state holds them all in its commitment). */
function stateWithHtlcs(n: number): ChannelState[] {
  const pair = ChannelPair.open({ seed: 7, keys: 'hashed', fundingAmount: 10_000_000n as never });
  for (let i = 0; i < n; i++) {
    const onion = new Uint8Array(1366);
    for (let j = 0; j < onion.length; j++) onion[j] = (i * 31 + j * 7) & 0xff;
    pair.must(pair.a, {
      kind: 'command',
      cmd: {
        kind: 'add_htlc',
        amount: 1_000_000n as Msat,
        paymentHash: sha256(new Uint8Array([i & 0xff, i >> 8])),
        cltvExpiry: 800_100,
        onion,
      },
    });
  }
  pair.must(pair.a, { kind: 'command', cmd: { kind: 'sign' } });
  pair.deliverAll();
  // The largest states: those that hold every add with its onion (a after signing, b after acking).
  const biggest = (h: ChannelState[]) =>
    h.reduce((x, y) => (encodeChannelState(y).length > encodeChannelState(x).length ? y : x));
  return [biggest(pair.a.history.slice(-8)), biggest(pair.b.history.slice(-8)), pair.a.state];
}

function cpuMs(f: () => void, rounds: number): number {
  const t = process.cpuUsage();
  for (let i = 0; i < rounds; i++) f();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / 1000 / rounds;
}

const states = stateWithHtlcs(N);
// As the driver writes it: the state with its pending onions detached (they are written once each, at
// the state write that first holds them: 1,366 bytes per new add, not counted here).
const record = (s: ChannelState) =>
  encodeBinaryRecord(2, {
    peerId: '02'.repeat(33),
    keyIndex: 0,
    state: encodeChannelState(detachOnions(s).state),
    meta: {},
  });
for (const [who, s] of [
  ['a (offered, in flight)', states[0]!],
  ['b (received, in flight)', states[1]!],
  ['a (settled in both commitments)', states[2]!],
] as const) {
  const bytes = record(s);
  const enc = cpuMs(() => record(s), 20);
  const dec = cpuMs(() => {
    const r = decodeRecord<{ state: Uint8Array }>(bytes);
    if (!decodeChannelState(r.state).ok) throw new Error('decode failed');
  }, 20);
  console.log(
    `${who}: ${N} HTLCs in flight: ${bytes.length} bytes per state write, encode ${enc.toFixed(2)} ms, decode ${dec.toFixed(2)} ms (CPU)`,
  );
}

// An outbox event as the executor writes it (htlc_received carries the add with its onion).
const event = {
  key: 'c/0000000000',
  n: {
    kind: 'htlc_received',
    htlc: {
      type: 'update_add_htlc',
      channel_id: new Uint8Array(32),
      id: 12345n,
      amount_msat: 1_000_000n,
      payment_hash: new Uint8Array(32).fill(1),
      cltv_expiry: 800_100,
      onion_routing_packet: new Uint8Array(1366).fill(2),
      tlvs: {},
    },
    dustExposureExceeded: false,
  },
};
const perEvent = cpuMs(() => encodeBinaryRecord(2, { key: 'c/0000000000', event }), 20_000);
console.log(
  `outbox event (htlc_received): ${encodeBinaryRecord(2, { key: 'c', event }).length} bytes, encode ${(perEvent * 1000).toFixed(1)} µs (CPU)`,
);
