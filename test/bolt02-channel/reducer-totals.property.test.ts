// The add, fee and removal checks keep running totals (memoised per Commitments object) instead of
// rebuilding specs per update. This property test drives random channels (random limits, dust
// limits, channel types, fee updates, partial deliveries) and, at every step, runs chains of probe
// updates through both the new functions and the reference (the functions as they were before,
// reducer-reference.ts): same verdict, same error text, same resulting Commitments. Chains matter:
// the second add of a chain is answered from the memo of the first.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { MessageValue } from '../../src/bolt01-wire/types.ts';
import {
  receiveAdd,
  receiveRemoval,
  sendAdd,
  sendFee,
  sendRemoval,
} from '../../src/bolt02-channel/commitments.ts';
import { type Commitments, commitmentsOf } from '../../src/bolt02-channel/index.ts';
import { type ChannelType, htlcSuccessFee, htlcTimeoutFee } from '../../src/bolt03-tx/index.ts';
import type { FeeratePerKw, Msat, Sat } from '../../src/core/units.ts';
import { sha256 } from '../../src/crypto/index.ts';
import { ChannelPair, type HarnessNode } from '../../src/testing/channel-harness.ts';
import * as ref from './reducer-reference.ts';

const RUNS = Number(process.env.REDUCER_RUNS ?? 60);
const ONION = new Uint8Array(1366);
const preimageOf = (i: number) => sha256(new Uint8Array([i & 0xff, (i >> 8) & 0xff, 42]));

type Op =
  | { op: 'add'; from: 'a' | 'b'; amount: number }
  | { op: 'settle'; by: 'a' | 'b'; pick: number; fulfill: boolean }
  | { op: 'fee'; feerate: number }
  | { op: 'sign'; who: 'a' | 'b' }
  | { op: 'deliver'; to: 'a' | 'b'; n: number }
  | { op: 'probe'; who: 'a' | 'b'; amounts: number[]; ids: number[]; feerate: number };

const who = fc.constantFrom<'a' | 'b'>('a', 'b');
const amount = fc.oneof(
  fc.integer({ min: 1, max: 700_000 }),
  fc.integer({ min: 700_000, max: 40_000_000 }),
  fc.integer({ min: 40_000_000, max: 600_000_000 }),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('add' as const), from: who, amount }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('settle' as const),
      by: who,
      pick: fc.nat(),
      fulfill: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('fee' as const), feerate: fc.integer({ min: 253, max: 15_000 }) }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('sign' as const), who }) },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('deliver' as const), to: who, n: fc.integer({ min: 1, max: 5 }) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('probe' as const),
      who,
      amounts: fc.array(amount, { minLength: 1, maxLength: 6 }),
      ids: fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 4 }),
      feerate: fc.integer({ min: 253, max: 20_000 }),
    }),
  },
);

interface Setup {
  seed: number;
  channelType: ChannelType;
  dustA: number;
  dustB: number;
  maxAcceptedA: number;
  maxAcceptedB: number;
  inFlightB: number;
  maxDustA: number;
  maxDustB: number;
  reserveBps: number;
}

const setupArb: fc.Arbitrary<Setup> = fc.record({
  seed: fc.integer({ min: 1, max: 1_000_000 }),
  channelType: fc.constantFrom<ChannelType>('anchors_zero_fee_htlc', 'static_remotekey'),
  dustA: fc.integer({ min: 354, max: 5_000 }),
  dustB: fc.integer({ min: 354, max: 5_000 }),
  maxAcceptedA: fc.integer({ min: 5, max: 12 }),
  maxAcceptedB: fc.integer({ min: 5, max: 12 }),
  reserveBps: fc.integer({ min: 100, max: 2_000 }),
  inFlightB: fc.integer({ min: 1_000_000, max: 300_000_000 }),
  maxDustA: fc.integer({ min: 0, max: 6_000 }).map((x) => x * 1000),
  maxDustB: fc.integer({ min: 0, max: 6_000 }).map((x) => x * 1000),
});

/** Same verdict, same error, same state (deepEqual: bigint, bytes and arrays compared by value). */
function same<T>(what: string, got: { ok: boolean; value?: T; error?: unknown }, want: typeof got): void {
  assert.deepEqual(got, want, what);
}

function addMsg(c: Commitments, id: bigint, amountMsat: bigint): MessageValue<'update_add_htlc'> {
  return {
    type: 'update_add_htlc',
    channel_id: c.channelId,
    id,
    amount_msat: amountMsat as Msat,
    payment_hash: sha256(preimageOf(Number(id))),
    cltv_expiry: 800_144,
    onion_routing_packet: ONION,
    tlvs: {},
  };
}

/** A verdict as text: 'ok', or the error's reason or message. */
function verdictOf(r: { ok: true } | { ok: false; error: { reason: string } | { message: string } }): string {
  if (r.ok) return 'ok';
  return 'reason' in r.error ? r.error.reason : r.error.message;
}

/**
 * Amounts on both sides of where `verdict` changes within [lo, hi] (found by bisection on the
 * reference): the checks' boundaries (reserve, fee spike, dust threshold, dust exposure, negative
 * balance) are where a slip by one would show.
 */
function edges(verdict: (amount: bigint) => string, lo: bigint, hi: bigint, depth = 0): bigint[] {
  const vlo = verdict(lo);
  if (depth > 3 || vlo === verdict(hi)) return [lo, hi];
  const top = hi;
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n;
    if (verdict(mid) === vlo) lo = mid;
    else hi = mid;
  }
  // Then the next change above this one (ok -> cannot afford -> negative balance).
  const here = [lo - 1n, lo, hi, hi + 1n].filter((x) => x > 0n);
  return [...here, ...edges(verdict, hi, top, depth + 1)];
}

/** The amounts at which an HTLC stops being trimmed on either commitment, at `c`'s feerate and twice it. */
function trimEdges(c: Commitments): bigint[] {
  const f = c.localCommit.spec.feerate;
  const out = new Set<bigint>();
  for (const dust of [c.local.dustLimit, c.remote.dustLimit])
    for (const rate of [f, (f * 2) as FeeratePerKw])
      for (const fee of [htlcTimeoutFee(c.channelType, rate), htlcSuccessFee(c.channelType, rate)])
        out.add((dust + fee) * 1000n);
  return [...out];
}

/** Amounts worth probing on `c`: the random ones, the dust thresholds ±1, and every verdict edge. */
function probeAmounts(c: Commitments, random: readonly number[]): bigint[] {
  const out = random.map(BigInt);
  for (const t of trimEdges(c)) out.push(t - 1n, t, t + 1n);
  const addReq = (a: bigint) => ({
    amount: a as Msat,
    paymentHash: sha256(preimageOf(0)),
    cltvExpiry: 800_144,
    onion: ONION,
  });
  const ours = (a: bigint) => verdictOf(ref.sendAdd(c, addReq(a)));
  const theirs = (a: bigint) => verdictOf(ref.receiveAdd(c, addMsg(c, c.remoteNextHtlcId, a)));
  const cap = c.fundingAmount * 1000n;
  for (const dust of [c.local.dustLimit, c.remote.dustLimit])
    for (const v of [ours, theirs])
      out.push(...edges(v, 1n, dust * 1000n), ...edges(v, dust * 1000n, cap * 2n));
  return out;
}

/** Chains of probe updates on `n`'s state, old against new; the pair is left as it was. */
function probe(n: HarnessNode, o: Extract<Op, { op: 'probe' }>): void {
  const start = commitmentsOf(n.state);
  if (start === undefined) return;
  const amounts = probeAmounts(start, o.amounts);
  // Each amount alone on the start state (cold memo), then chains (warm memo).
  for (const a of amounts) {
    const req = { amount: a as Msat, paymentHash: sha256(preimageOf(1)), cltvExpiry: 800_144, onion: ONION };
    same('sendAdd', sendAdd(start, req), ref.sendAdd(start, req));
    const msg = addMsg(start, start.remoteNextHtlcId, a);
    same('receiveAdd', receiveAdd(start, msg), ref.receiveAdd(start, msg));
  }
  // Our adds, one after another (the memo answers from the second on); each chain step probes edges.
  // Chains start with HTLCs exactly at the trim thresholds (counted untrimmed, not as dust).
  const chain = [...trimEdges(start), ...o.amounts.map(BigInt)];
  let c = start;
  for (const [i, a] of chain.entries()) {
    const req = {
      amount: a as Msat,
      paymentHash: sha256(preimageOf(i)),
      cltvExpiry: 800_144,
      onion: ONION,
    };
    const got = sendAdd(c, req);
    same('sendAdd', got, ref.sendAdd(c, req));
    if (got.ok) {
      c = got.value.commitments;
      for (const e of probeAmounts(c, [])) {
        const r2 = { ...req, amount: e as Msat };
        same('sendAdd chained', sendAdd(c, r2), ref.sendAdd(c, r2));
      }
    }
  }
  // Their adds, as a peer that does not check affordability would send them.
  c = start;
  for (const a of chain) {
    const msg = addMsg(c, c.remoteNextHtlcId, a);
    const got = receiveAdd(c, msg);
    same('receiveAdd', got, ref.receiveAdd(c, msg));
    if (got.ok) {
      c = got.value;
      for (const e of probeAmounts(c, [])) {
        const m2 = addMsg(c, c.remoteNextHtlcId, e);
        same('receiveAdd chained', receiveAdd(c, m2), ref.receiveAdd(c, m2));
      }
    }
  }
  // Ours and theirs interleaved on one state.
  c = start;
  for (const [i, a] of o.amounts.entries()) {
    if (i % 2 === 0) {
      const req = {
        amount: BigInt(a) as Msat,
        paymentHash: sha256(preimageOf(i)),
        cltvExpiry: 800_144,
        onion: ONION,
      };
      const got = sendAdd(c, req);
      same('sendAdd interleaved', got, ref.sendAdd(c, req));
      if (got.ok) c = got.value.commitments;
    } else {
      const msg = addMsg(c, c.remoteNextHtlcId, BigInt(a));
      const got = receiveAdd(c, msg);
      same('receiveAdd interleaved', got, ref.receiveAdd(c, msg));
      if (got.ok) c = got.value;
    }
  }
  if (start.localIsFunder) {
    const f = o.feerate as FeeratePerKw;
    same('sendFee', sendFee(start, f), ref.sendFee(start, f));
    const after = sendFee(start, f);
    if (after.ok) {
      // An add after a fee update: the memo must not serve the pre-fee totals.
      const req = {
        amount: BigInt(o.amounts[0]!) as Msat,
        paymentHash: sha256(preimageOf(0)),
        cltvExpiry: 800_144,
        onion: ONION,
      };
      same(
        'sendAdd after fee',
        sendAdd(after.value.commitments, req),
        ref.sendAdd(after.value.commitments, req),
      );
    }
  }
  // Removals of random ids (known, unknown, already being removed), in chains.
  let s = start;
  let r = start;
  for (const id of o.ids) {
    const fulfill: MessageValue<'update_fulfill_htlc'> = {
      type: 'update_fulfill_htlc',
      channel_id: start.channelId,
      id: BigInt(id),
      payment_preimage: preimageOf(id),
      tlvs: {},
    };
    const fl: MessageValue<'update_fail_htlc'> = {
      type: 'update_fail_htlc',
      channel_id: start.channelId,
      id: BigInt(id),
      reason: new Uint8Array(8),
      tlvs: {},
    };
    const msg = id % 3 === 0 ? fl : fulfill;
    const gs = sendRemoval(s, msg);
    same('sendRemoval', gs, ref.sendRemoval(s, msg));
    if (gs.ok) s = gs.value;
    const gr = receiveRemoval(r, msg);
    same('receiveRemoval', gr, ref.receiveRemoval(r, msg));
    if (gr.ok) r = gr.value.commitments;
  }
}

function run(setup: Setup, ops: Op[]): void {
  const pair = ChannelPair.open({
    seed: setup.seed,
    keys: 'hashed',
    fundingAmount: 2_000_000n as Sat,
    pushMsat: 700_000_000n as Msat,
    channelType: setup.channelType,
    configA: {
      dustLimit: BigInt(setup.dustA) as Sat,
      maxAcceptedHtlcs: setup.maxAcceptedA,
      maxDustExposure: BigInt(setup.maxDustA) as Msat,
    },
    configB: {
      dustLimit: BigInt(setup.dustB) as Sat,
      maxAcceptedHtlcs: setup.maxAcceptedB,
      reserveBasisPoints: setup.reserveBps,
      maxHtlcValueInFlight: BigInt(setup.inFlightB) as Msat,
      maxDustExposure: BigInt(setup.maxDustB) as Msat,
    },
  });
  pair.tolerateFailures = true;
  let counter = 0;
  for (const o of ops) {
    if (pair.a.state.phase !== 'normal' || pair.b.state.phase !== 'normal') return;
    switch (o.op) {
      case 'add':
        pair.apply(pair.node(o.from), {
          kind: 'command',
          cmd: {
            kind: 'add_htlc',
            amount: BigInt(o.amount) as Msat,
            paymentHash: sha256(preimageOf(counter++)),
            cltvExpiry: 800_144,
            onion: ONION,
          },
        });
        break;
      case 'settle': {
        const n = pair.node(o.by);
        const htlcs = commitmentsOf(n.state)!.localCommit.spec.htlcs.filter(
          (h) => h.direction === 'received',
        );
        const h = htlcs[o.pick % Math.max(1, htlcs.length)];
        if (h === undefined) break;
        const preimage = Array.from({ length: counter }, (_, i) => preimageOf(i)).find(
          (p) => Buffer.compare(sha256(p), h.paymentHash) === 0,
        );
        pair.apply(n, {
          kind: 'command',
          cmd:
            o.fulfill && preimage !== undefined
              ? { kind: 'fulfill_htlc', id: h.id, preimage }
              : { kind: 'fail_htlc', id: h.id, reason: new Uint8Array(32) },
        });
        break;
      }
      case 'fee':
        pair.apply(pair.a, {
          kind: 'command',
          cmd: { kind: 'update_fee', feerate: o.feerate as FeeratePerKw },
        });
        break;
      case 'sign':
        pair.apply(pair.node(o.who), { kind: 'command', cmd: { kind: 'sign' } });
        break;
      case 'deliver':
        for (let i = 0; i < o.n; i++) {
          const n = pair.node(o.to);
          if (n.inbox.length === 0 || n.state.phase !== 'normal') break;
          pair.deliver(n);
        }
        break;
      case 'probe':
        probe(pair.node(o.who), o);
        break;
    }
    for (const n of [pair.a, pair.b]) n.events = [];
  }
}

test('running-total add, fee and removal checks equal the rebuild-every-spec reference', () => {
  fc.assert(
    fc.property(setupArb, fc.array(opArb, { minLength: 5, maxLength: 40 }), (setup, ops) => run(setup, ops)),
    { numRuns: RUNS },
  );
});

test('a batch of adds answered from the memo equals the reference all the way to max_accepted_htlcs', () => {
  const pair = ChannelPair.open({ keys: 'hashed', fundingAmount: 16_000_000n as Sat });
  let a = commitmentsOf(pair.a.state)!;
  let b = commitmentsOf(pair.b.state)!;
  let refused = 0;
  for (let i = 0; i < 490; i++) {
    const req = {
      amount: 1_000_000n as Msat,
      paymentHash: sha256(preimageOf(i)),
      cltvExpiry: 800_144,
      onion: ONION,
    };
    const got = sendAdd(a, req);
    same(`sendAdd #${i}`, got, ref.sendAdd(a, req));
    if (!got.ok) {
      refused++;
      continue;
    }
    const msg = got.value.msg;
    a = got.value.commitments;
    const r = receiveAdd(b, msg);
    same(`receiveAdd #${i}`, r, ref.receiveAdd(b, msg));
    if (r.ok) b = r.value;
  }
  // The 484th and later adds are refused by both: the peer accepts at most 483.
  assert.equal(refused, 490 - 483);
});
