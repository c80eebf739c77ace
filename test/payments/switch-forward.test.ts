import assert from 'node:assert/strict';
import { test } from 'node:test';
import { msat } from '../../src/core/units.ts';
import { decideForward, type ForwardRequest, type OutgoingChannel } from '../../src/node/switch-forward.ts';
import {
  type ForwardRecord,
  filterForwards,
  forwardFromBytes,
  forwardPut,
} from '../../src/node/switch-forwards.ts';

const UPDATE = new Uint8Array([0xca, 0xfe]);
const HEIGHT = 800_000;

const chan = (over: Partial<OutgoingChannel> = {}): OutgoingChannel => ({
  scid: 42n,
  policy: {
    feeBaseMsat: msat(1000),
    feeProportionalMillionths: 100,
    cltvExpiryDelta: 40,
    htlcMinimumMsat: msat(1000),
    htlcMaximumMsat: msat(500_000_000),
    enabled: true,
  },
  channelUpdate: UPDATE,
  status: 'normal',
  spendableMsat: msat(1_000_000_000),
  peerHtlcMinimumMsat: msat(1),
  htlcsInFlight: 0,
  maxAcceptedHtlcs: 483,
  ...over,
});

// Fee for 10_000_000 msat: 1000 + 10_000_000 * 100 / 1e6 = 2000.
const req = (over: Partial<ForwardRequest> = {}): ForwardRequest => ({
  incomingAmountMsat: msat(10_002_000),
  incomingCltvExpiry: HEIGHT + 140,
  shortChannelId: 42n,
  amtToForward: msat(10_000_000),
  outgoingCltvValue: HEIGHT + 100,
  height: HEIGHT,
  ...over,
});

const policy = chan().policy;

test('forwards when every rule passes, keeping the fee', () => {
  const d = decideForward(req(), () => chan());
  assert.deepEqual(d, {
    type: 'forward',
    scid: 42n,
    amountMsat: 10_000_000n,
    cltvExpiry: HEIGHT + 100,
    feeMsat: 2000n,
  });
});

test('each forwarding rule fails with its exact BOLT 4 failure', () => {
  const table: [string, Partial<ForwardRequest>, OutgoingChannel | undefined, unknown][] = [
    ['unknown channel', {}, undefined, { failure: 'unknown_next_peer', tlvs: {} }],
    ['closing channel', {}, chan({ status: 'closing' }), { failure: 'permanent_channel_failure', tlvs: {} }],
    [
      'disabled',
      {},
      chan({ policy: { ...policy, enabled: false } }),
      { failure: 'channel_disabled', disabled_flags: 0, channel_update: UPDATE, tlvs: {} },
    ],
    [
      'below our minimum',
      { amtToForward: msat(999), incomingAmountMsat: msat(10_000) },
      chan(),
      { failure: 'amount_below_minimum', htlc_msat: 999n, channel_update: UPDATE, tlvs: {} },
    ],
    [
      "below the peer's minimum",
      {},
      chan({ peerHtlcMinimumMsat: msat(20_000_000) }),
      { failure: 'amount_below_minimum', htlc_msat: 10_000_000n, channel_update: UPDATE, tlvs: {} },
    ],
    [
      'fee one msat short',
      { incomingAmountMsat: msat(10_001_999) },
      chan(),
      { failure: 'fee_insufficient', htlc_msat: 10_001_999n, channel_update: UPDATE, tlvs: {} },
    ],
    [
      'cltv delta 39 < 40',
      { incomingCltvExpiry: HEIGHT + 139 },
      chan(),
      { failure: 'incorrect_cltv_expiry', cltv_expiry: HEIGHT + 100, channel_update: UPDATE, tlvs: {} },
    ],
    [
      'outgoing expiry too soon',
      { outgoingCltvValue: HEIGHT + 5, incomingCltvExpiry: HEIGHT + 45 },
      chan(),
      { failure: 'expiry_too_soon', channel_update: UPDATE, tlvs: {} },
    ],
    [
      'expiry too far',
      { outgoingCltvValue: HEIGHT + 2000, incomingCltvExpiry: HEIGHT + 2040 },
      chan(),
      { failure: 'expiry_too_far', tlvs: {} },
    ],
    [
      'peer offline',
      {},
      chan({ status: 'offline' }),
      { failure: 'temporary_channel_failure', channel_update: UPDATE, tlvs: {} },
    ],
    [
      'above htlc_maximum',
      {},
      chan({ policy: { ...policy, htlcMaximumMsat: msat(9_999_999) } }),
      { failure: 'temporary_channel_failure', channel_update: UPDATE, tlvs: {} },
    ],
    [
      'not enough spendable',
      {},
      chan({ spendableMsat: msat(9_999_999) }),
      { failure: 'temporary_channel_failure', channel_update: UPDATE, tlvs: {} },
    ],
    [
      'too many HTLCs',
      {},
      chan({ htlcsInFlight: 483 }),
      { failure: 'temporary_channel_failure', channel_update: UPDATE, tlvs: {} },
    ],
  ];
  for (const [name, r, c, expected] of table) {
    const d = decideForward(req(r), () => c);
    assert.equal(d.type, 'fail', name);
    assert.deepEqual(d.type === 'fail' && d.failure, expected, name);
    assert.ok(d.type === 'fail' && d.reason.length > 0, name);
  }
});

test('boundaries pass: exact fee, exact delta, exactly the minimum, spendable and max', () => {
  const exact = decideForward(req({ incomingCltvExpiry: HEIGHT + 140 }), () =>
    chan({
      spendableMsat: msat(10_000_000),
      policy: { ...policy, htlcMinimumMsat: msat(10_000_000), htlcMaximumMsat: msat(10_000_000) },
      htlcsInFlight: 482,
    }),
  );
  assert.equal(exact.type, 'forward');
});

test('forward records round-trip through the store encoding and filter like listforwards', () => {
  const r: ForwardRecord = {
    created_index: 1,
    in_channel: '1x2x3',
    in_htlc_id: 5n,
    in_msat: msat(10_002_000),
    status: 'settled',
    received_time: 1_700_000_000.5,
    out_channel: '4x5x6',
    out_htlc_id: 9n,
    out_msat: msat(10_000_000),
    fee_msat: msat(2000),
    resolved_time: 1_700_000_001,
    style: 'tlv',
  };
  const op = forwardPut(r);
  assert.ok(op.kind === 'put');
  assert.deepEqual(forwardFromBytes(op.value), r);
  const failed: ForwardRecord = {
    ...r,
    created_index: 2,
    status: 'local_failed',
    failcode: 0x1007,
    failreason: 'WIRE_TEMPORARY_CHANNEL_FAILURE',
  };
  assert.deepEqual(filterForwards([r, failed], { status: 'settled' }), [r]);
  assert.deepEqual(filterForwards([r, failed], { in_channel: '1x2x3' }), [r, failed]);
  assert.deepEqual(filterForwards([r, failed], { out_channel: 'nope' }), []);
});
