// Per-phase transition tables: for each state, the messages the spec allows move it on (driven with
// real messages from a peer), and every other BOLT 2 message is refused with a warning (or ignored
// once the channel is closing), leaving the channel itself untouched.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMessage } from '../../src/bolt01-wire/index.ts';
import type { WireMessage } from '../../src/bolt01-wire/types.ts';
import {
  acceptChannel,
  type ChannelContext,
  type ChannelPhase,
  type ChannelState,
  channelIdOf,
  defaultChannelConfig,
  defaultChannelPolicy,
  localChannelSigner,
  openChannel,
  step,
  type Transition,
} from '../../src/bolt02-channel/index.ts';
import type { FeeratePerKw, Msat, Sat } from '../../src/core/units.ts';
import { publicKeyOf, sha256 } from '../../src/crypto/index.ts';
import { KeyChain } from '../../src/keys/derivation.ts';
import { ChannelPair } from '../../src/testing/channel-harness.ts';

const P = publicKeyOf(sha256(new Uint8Array([1])));
const SIG = new Uint8Array(64).fill(1);

/** One instance of every BOLT 2 channel message, addressed to `id`. */
function samples(id: Uint8Array): WireMessage[] {
  const pts = {
    funding_pubkey: P,
    revocation_basepoint: P,
    payment_basepoint: P,
    delayed_payment_basepoint: P,
    htlc_basepoint: P,
    first_per_commitment_point: P,
  };
  return [
    {
      type: 'open_channel',
      chain_hash: new Uint8Array(32),
      temporary_channel_id: id,
      funding_satoshis: 100000n,
      push_msat: 0n,
      dust_limit_satoshis: 354n,
      max_htlc_value_in_flight_msat: 1n,
      channel_reserve_satoshis: 1000n,
      htlc_minimum_msat: 1n,
      feerate_per_kw: 253,
      to_self_delay: 144,
      max_accepted_htlcs: 30,
      ...pts,
      channel_flags: 0,
      tlvs: {},
    },
    {
      type: 'accept_channel',
      temporary_channel_id: id,
      dust_limit_satoshis: 354n,
      max_htlc_value_in_flight_msat: 1n,
      channel_reserve_satoshis: 1000n,
      htlc_minimum_msat: 1n,
      minimum_depth: 3,
      to_self_delay: 144,
      max_accepted_htlcs: 30,
      ...pts,
      tlvs: {},
    },
    {
      type: 'funding_created',
      temporary_channel_id: id,
      funding_txid: new Uint8Array(32),
      funding_output_index: 0,
      signature: SIG,
      tlvs: {},
    },
    { type: 'funding_signed', channel_id: id, signature: SIG, tlvs: {} },
    { type: 'channel_ready', channel_id: id, second_per_commitment_point: P, tlvs: {} },
    {
      type: 'shutdown',
      channel_id: id,
      scriptpubkey: new Uint8Array([0, 20, ...new Uint8Array(20)]),
      tlvs: {},
    },
    { type: 'closing_signed', channel_id: id, fee_satoshis: 1000n, signature: SIG, tlvs: {} },
    {
      type: 'update_add_htlc',
      channel_id: id,
      id: 0n,
      amount_msat: 1000n,
      payment_hash: new Uint8Array(32),
      cltv_expiry: 800_100,
      onion_routing_packet: new Uint8Array(1366),
      tlvs: {},
    },
    { type: 'update_fulfill_htlc', channel_id: id, id: 0n, payment_preimage: new Uint8Array(32), tlvs: {} },
    { type: 'update_fail_htlc', channel_id: id, id: 0n, reason: new Uint8Array(8), tlvs: {} },
    {
      type: 'update_fail_malformed_htlc',
      channel_id: id,
      id: 0n,
      sha256_of_onion: new Uint8Array(32),
      failure_code: 0x8000 | 5,
      tlvs: {},
    },
    { type: 'commitment_signed', channel_id: id, signature: SIG, htlc_signature: [], tlvs: {} },
    {
      type: 'revoke_and_ack',
      channel_id: id,
      per_commitment_secret: new Uint8Array(32).fill(1),
      next_per_commitment_point: P,
      tlvs: {},
    },
    { type: 'update_fee', channel_id: id, feerate_per_kw: 1000, tlvs: {} },
    {
      type: 'channel_reestablish',
      channel_id: id,
      next_commitment_number: 1n,
      next_revocation_number: 0n,
      your_last_per_commitment_secret: new Uint8Array(32),
      my_current_per_commitment_point: P,
      tlvs: {},
    },
  ] as WireMessage[];
}

/** What each phase accepts (these are driven with real messages elsewhere in this file). */
const ALLOWED: Record<ChannelPhase, readonly WireMessage['type'][]> = {
  wait_accept: ['accept_channel'],
  wait_funding_tx: [],
  wait_funding_created: ['funding_created'],
  wait_funding_signed: ['funding_signed'],
  wait_channel_ready: ['channel_ready', 'shutdown'],
  normal: [
    'update_add_htlc',
    'update_fulfill_htlc',
    'update_fail_htlc',
    'update_fail_malformed_htlc',
    'update_fee',
    'commitment_signed',
    'revoke_and_ack',
    'shutdown',
    'channel_ready',
  ],
  negotiating: ['closing_signed', 'shutdown'],
  closing: [],
  closed: [],
};

function isWarning(t: Transition): boolean {
  return (
    t.actions.some((a) => a.kind === 'send' && a.msg.type === 'warning') &&
    t.actions.some((a) => a.kind === 'disconnect')
  );
}

function checkForbidden(state: ChannelState, ctx: ChannelContext): number {
  let n = 0;
  for (const m of samples(channelIdOf(state))) {
    if (ALLOWED[state.phase].includes(m.type)) continue;
    const r = step(state, { kind: 'message', msg: m }, ctx);
    assert.ok(r.ok);
    if (state.phase === 'closing' || state.phase === 'closed') {
      assert.equal(r.value.actions.length, 0, `${state.phase} ignores ${m.type}`);
      assert.equal(r.value.state, state);
    } else {
      assert.ok(isWarning(r.value), `${state.phase}: ${m.type} must be refused with a warning`);
      assert.equal(r.value.state.phase, state.phase, `${state.phase}: ${m.type} leaves the phase`);
    }
    n++;
  }
  return n;
}

function ctxFor(seed: number): ChannelContext {
  const chain = new KeyChain(sha256(new Uint8Array([seed, 9])), 'regtest');
  return {
    signer: localChannelSigner(chain.channelKeys(0)),
    policy: defaultChannelPolicy(new Uint8Array(32).fill(6)),
    blockHeight: 800_000,
  };
}

test('opening phases: allowed messages advance, every other message is a warning', () => {
  const pair = ChannelPair.open({ seed: 31 });
  assert.equal(pair.a.state.phase, 'normal');
  // The opening states, rebuilt step by step with real messages.
  const a = ctxFor(1);
  const b = ctxFor(2);
  const open = openChannel(
    {
      keyIndex: 0,
      temporaryChannelId: new Uint8Array(32).fill(4),
      fundingAmount: 500_000n as Sat,
      pushMsat: 0n as Msat,
      feerate: 1000 as FeeratePerKw,
      channelType: 'anchors_zero_fee_htlc',
      config: defaultChannelConfig(),
      channelFlags: 0,
    },
    a,
  );
  assert.ok(open.ok);
  let checked = checkForbidden(open.value.state, a);
  const openMsg = open.value.actions[0]!;
  assert.ok(openMsg.kind === 'send' && openMsg.msg.type === 'open_channel');
  const acc = acceptChannel(
    decode(openMsg.msg) as Extract<WireMessage, { type: 'open_channel' }>,
    { keyIndex: 0, config: defaultChannelConfig() },
    b,
  );
  assert.ok(acc.ok);
  assert.equal(acc.value.state.phase, 'wait_funding_created');
  checked += checkForbidden(acc.value.state, b);
  const accMsg = acc.value.actions[0]!;
  assert.ok(accMsg.kind === 'send');
  const t1 = step(open.value.state, { kind: 'message', msg: decode(accMsg.msg) }, a);
  assert.ok(t1.ok);
  assert.equal(t1.value.state.phase, 'wait_funding_tx');
  checked += checkForbidden(t1.value.state, a);
  // The funded phases, as the harness pair went through them.
  const phases = new Set<ChannelPhase>();
  for (const n of [pair.a, pair.b])
    for (const s of n.history) {
      if (phases.has(s.phase) && s.phase !== 'wait_channel_ready') continue;
      phases.add(s.phase);
      checked += checkForbidden(s, n.ctx);
    }
  for (const p of [
    'wait_accept',
    'wait_funding_tx',
    'wait_funding_created',
    'wait_funding_signed',
    'wait_channel_ready',
    'normal',
  ] as const)
    assert.ok(phases.has(p), `harness went through ${p}`);
  assert.ok(checked > 40);
});

function decode(m: { type: string }): WireMessage {
  // Round trip through the codec, as the peer would see it.
  const bytes = encodeAny(m);
  const r = decodeMessage(bytes);
  assert.ok(r.ok);
  return r.value;
}

import { encodeMessage } from '../../src/bolt01-wire/index.ts';

function encodeAny(m: { type: string }): Uint8Array {
  return encodeMessage(m as Parameters<typeof encodeMessage>[0]);
}

test('every phase of a full life: wait_funding_signed, wait_channel_ready, normal, negotiating, closing, closed', () => {
  const seen = new Map<ChannelPhase, number>();
  const pair = ChannelPair.open({ seed: 32 });
  // The harness logs persisted states; replay the phases a went through from a fresh pair instead.
  for (const n of [pair.a, pair.b]) seen.set(n.state.phase, checkForbidden(n.state, n.ctx));
  // Shutdown -> negotiating -> closing.
  pair.must(pair.a, {
    kind: 'command',
    cmd: { kind: 'shutdown', script: new Uint8Array([0, 20, ...new Uint8Array(20).fill(9)]) },
  });
  pair.deliver(pair.b); // shutdown -> b replies with its own
  assert.equal(pair.b.state.phase, 'negotiating');
  seen.set('negotiating', checkForbidden(pair.b.state, pair.b.ctx));
  pair.deliverAll();
  assert.equal(pair.a.state.phase, 'closing');
  assert.equal(pair.b.state.phase, 'closing');
  seen.set('closing', checkForbidden(pair.a.state, pair.a.ctx));
  const closed: ChannelState = {
    phase: 'closed',
    keyIndex: 0,
    temporaryChannelId: new Uint8Array(32),
    link: 'down',
    reason: { kind: 'mutual' },
  };
  seen.set('closed', checkForbidden(closed, pair.a.ctx));
  assert.ok([...seen.values()].every((n) => n > 0));
});
