// Forwarding checks in BOLT 4's order, the fee formula and policy persistence.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Msat, msat } from '../../src/core/units.ts';
import type { Channel } from '../../src/node/channel-driver.ts';
import {
  checkForward,
  DEFAULT_POLICY,
  type ForwardingPolicy,
  feeFor,
  PolicyBook,
} from '../../src/node/switch-policy.ts';
import { memoryStore } from '../../src/store/sqlite.ts';

/** Just the fields of a channel the checks read. */
function fakeChannel(o: {
  link?: 'up' | 'down';
  shutdown?: boolean;
  toLocal?: bigint;
  peerMin?: bigint;
  phase?: string;
}): Channel {
  return {
    key: 'c/1',
    state: {
      phase: o.phase ?? 'normal',
      link: o.link ?? 'up',
      shutdown: o.shutdown ? {} : undefined,
      commitments: {
        remote: { htlcMinimum: msat(o.peerMin ?? 1n), channelReserve: 5000n },
        localChanges: { proposed: [] },
        localCommit: { spec: { toLocal: o.toLocal ?? 100_000_000n } },
      },
    },
  } as unknown as Channel;
}

const req = (
  over: Partial<{ inAmt: bigint; inCltv: number; out: bigint; outCltv: number; height: number }> = {},
) => ({
  incomingAmountMsat: msat(over.inAmt ?? 1_001_010n),
  incomingCltvExpiry: over.inCltv ?? 200,
  amtToForward: msat(over.out ?? 1_000_000n),
  outgoingCltvValue: over.outCltv ?? 166,
  height: over.height ?? 100,
});

const name = (v: ReturnType<typeof checkForward>) => (v.ok ? 'ok' : v.failure.failure);

test('fee: base + proportional, rounded down', () => {
  assert.equal(feeFor(DEFAULT_POLICY, msat(1_000_000n)), 1010n);
  assert.equal(feeFor(DEFAULT_POLICY, msat(99_999n)), 1000n);
  assert.equal(feeFor({ feeBaseMsat: msat(0n), feePpm: 1_000_000 }, msat(7n)), 7n);
});

test('forward checks, each failure in its place', () => {
  const out = (o: Parameters<typeof fakeChannel>[0] = {}, p: Partial<ForwardingPolicy> = {}) => ({
    ch: fakeChannel(o),
    policy: { ...DEFAULT_POLICY, ...p },
  });
  const okv = checkForward(req(), out());
  assert.ok(okv.ok);
  assert.equal(okv.feeMsat, 1010n);
  assert.equal(name(checkForward(req(), undefined)), 'unknown_next_peer');
  assert.equal(name(checkForward(req(), out({ shutdown: true }))), 'permanent_channel_failure');
  assert.equal(name(checkForward(req(), out({ phase: 'closing' }))), 'permanent_channel_failure');
  assert.equal(name(checkForward(req(), out({ peerMin: 2_000_000n }))), 'amount_below_minimum');
  assert.equal(
    name(checkForward(req(), out({}, { htlcMinimumMsat: msat(2_000_000n) }))),
    'amount_below_minimum',
  );
  assert.equal(name(checkForward(req({ inAmt: 1_001_009n }), out())), 'fee_insufficient');
  assert.equal(name(checkForward(req({ inCltv: 199 }), out())), 'incorrect_cltv_expiry');
  assert.equal(name(checkForward(req({ inCltv: 139, outCltv: 105 }), out())), 'expiry_too_soon');
  assert.equal(name(checkForward(req({ inCltv: 2200, outCltv: 2000 }), out())), 'expiry_too_far');
  assert.equal(name(checkForward(req(), out({ link: 'down' }))), 'temporary_channel_failure');
  assert.equal(name(checkForward(req(), out({ toLocal: 5_900_000n }))), 'temporary_channel_failure');
  assert.equal(
    name(checkForward(req(), out({}, { htlcMaximumMsat: msat(999_999n) }))),
    'temporary_channel_failure',
  );
  // Fee and delta follow setchannel's policy.
  assert.equal(name(checkForward(req(), out({}, { feeBaseMsat: msat(2000n) }))), 'fee_insufficient');
  assert.ok(checkForward(req({ inAmt: 1_000_000n }), out({}, { feeBaseMsat: msat(0n), feePpm: 0 })).ok);
});

test('forward checks: every boundary passes (exact fee and delta, exactly the minimum, maximum and spendable)', () => {
  const out = (o: Parameters<typeof fakeChannel>[0] = {}, p: Partial<ForwardingPolicy> = {}) => ({
    ch: fakeChannel(o),
    policy: { ...DEFAULT_POLICY, ...p },
  });
  // req(): 1,001,010 in, 1,000,000 out = the default fee (1000 + 10 ppm) exactly; cltv 200 -> 166 = delta 34.
  assert.ok(checkForward(req(), out()).ok);
  const exact = { htlcMinimumMsat: msat(1_000_000n), htlcMaximumMsat: msat(1_000_000n) };
  assert.ok(checkForward(req(), out({ peerMin: 1_000_000n }, exact)).ok);
  // Spendable: to_local minus the 5,000 sat reserve is exactly the amount.
  assert.ok(checkForward(req(), out({ toLocal: 6_000_000n })).ok);
  // Outgoing expiry exactly MIN_OUTGOING_CLTV_BLOCKS (6) ahead; incoming exactly MAX_CLTV_EXPIRY_BLOCKS.
  assert.ok(checkForward(req({ inCltv: 140, outCltv: 106 }), out()).ok);
  assert.ok(checkForward(req({ inCltv: 2116, outCltv: 2082 }), out()).ok);
});

test('policy book persists per channel and defaults to Core Lightning values', () => {
  const store = memoryStore();
  const book = new PolicyBook(store);
  assert.deepEqual(book.get('c/1'), DEFAULT_POLICY);
  assert.equal(DEFAULT_POLICY.feeBaseMsat, 1000n);
  assert.equal(DEFAULT_POLICY.feePpm, 10);
  assert.equal(DEFAULT_POLICY.cltvExpiryDelta, 34);
  const p: ForwardingPolicy = {
    ...DEFAULT_POLICY,
    feeBaseMsat: msat(5n) as Msat,
    feePpm: 77,
    htlcMaximumMsat: msat(9n),
  };
  book.set('c/1', p);
  assert.deepEqual(new PolicyBook(store).get('c/1'), p);
  assert.deepEqual(new PolicyBook(store).get('c/2'), DEFAULT_POLICY);
});
