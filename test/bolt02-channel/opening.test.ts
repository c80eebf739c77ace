// open_channel / accept_channel parameter checks, one row per rule BOLT 2 lists for the receiver,
// plus channel_type negotiation (anchors by default, static_remotekey accepted).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MessageValue } from '../../src/bolt01-wire/types.ts';
import {
  acceptChannel,
  type ChannelContext,
  channelTypeBytes,
  defaultChannelConfig,
  defaultChannelPolicy,
  localChannelSigner,
  openChannel,
  parseChannelType,
  step,
} from '../../src/bolt02-channel/index.ts';
import type { FeeratePerKw, Msat, Sat } from '../../src/core/units.ts';
import { sha256 } from '../../src/crypto/index.ts';
import { KeyChain } from '../../src/keys/derivation.ts';

const CHAIN = new Uint8Array(32).fill(6);

function ctx(seed: number): ChannelContext {
  const chain = new KeyChain(sha256(new Uint8Array([seed, 1])), 'regtest');
  return {
    signer: localChannelSigner(chain.channelKeys(0)),
    policy: defaultChannelPolicy(CHAIN),
    blockHeight: 800_000,
  };
}

const A = ctx(1);
const B = ctx(2);

function validOpen(): MessageValue<'open_channel'> {
  const r = openChannel(
    {
      keyIndex: 0,
      temporaryChannelId: new Uint8Array(32).fill(1),
      fundingAmount: 1_000_000n as Sat,
      pushMsat: 100_000_000n as Msat,
      feerate: 2000 as FeeratePerKw,
      channelType: 'anchors_zero_fee_htlc',
      config: defaultChannelConfig(),
      channelFlags: 1,
    },
    A,
  );
  assert.ok(r.ok);
  const a = r.value.actions[0]!;
  assert.ok(a.kind === 'send' && a.msg.type === 'open_channel');
  return { ...a.msg, tlvs: a.msg.tlvs ?? {} } as MessageValue<'open_channel'>;
}

const BAD_POINT = new Uint8Array(33).fill(5); // 0x05 is no compressed-point prefix

const rows: [string, (m: MessageValue<'open_channel'>) => MessageValue<'open_channel'>, RegExp][] = [
  ['unknown chain_hash', (m) => ({ ...m, chain_hash: new Uint8Array(32) }), /chain_hash/],
  [
    'push_msat above funding',
    (m) => ({ ...m, push_msat: (m.funding_satoshis * 1000n + 1n) as Msat }),
    /push_msat/,
  ],
  ['to_self_delay too large', (m) => ({ ...m, to_self_delay: 2017 }), /to_self_delay/],
  ['max_accepted_htlcs above 483', (m) => ({ ...m, max_accepted_htlcs: 484 }), /483/],
  ['feerate too small', (m) => ({ ...m, feerate_per_kw: 100 }), /feerate/],
  ['feerate unreasonably large', (m) => ({ ...m, feerate_per_kw: 1_000_000 }), /feerate/],
  ['invalid funding_pubkey', (m) => ({ ...m, funding_pubkey: BAD_POINT }), /basepoint/],
  ['invalid htlc_basepoint', (m) => ({ ...m, htlc_basepoint: BAD_POINT }), /basepoint/],
  [
    'dust_limit above channel_reserve',
    (m) => ({ ...m, dust_limit_satoshis: (m.channel_reserve_satoshis + 1n) as Sat }),
    /dust_limit/,
  ],
  ['dust_limit below 354', (m) => ({ ...m, dust_limit_satoshis: 353n as Sat }), /354/],
  [
    'funder cannot pay the fee',
    (m) => ({ ...m, push_msat: (m.funding_satoshis * 1000n - 1000n) as Msat }),
    /fee/,
  ],
  [
    'funding too small',
    (m) => ({ ...m, funding_satoshis: 10_000n as Sat, channel_reserve_satoshis: 1000n as Sat }),
    /too small/,
  ],
  [
    'large channel without option_support_large_channel',
    (m) => ({ ...m, funding_satoshis: (1n << 24n) as Sat, channel_reserve_satoshis: 200_000n as Sat }),
    /2\^24/,
  ],
  [
    'no channel_type',
    (m) => ({ ...m, tlvs: { upfront_shutdown_script: m.tlvs.upfront_shutdown_script } }),
    /channel_type/,
  ],
  [
    'unknown channel_type',
    (m) => ({ ...m, tlvs: { ...m.tlvs, channel_type: { type: new Uint8Array([0x01]) } } }),
    /channel_type/,
  ],
  ['reserve too large', (m) => ({ ...m, channel_reserve_satoshis: 500_000n as Sat }), /reserve/],
  ['htlc_minimum too large', (m) => ({ ...m, htlc_minimum_msat: 100_000_000n as Msat }), /htlc_minimum/],
  [
    'max_htlc_value_in_flight too small',
    (m) => ({ ...m, max_htlc_value_in_flight_msat: 1n as Msat }),
    /in_flight/,
  ],
  [
    'invalid upfront_shutdown_script',
    (m) => ({
      ...m,
      tlvs: { ...m.tlvs, upfront_shutdown_script: { shutdown_scriptpubkey: new Uint8Array([0x76, 0xa9]) } },
    }),
    /upfront/,
  ],
];

test('open_channel receiver checks: each rule refuses with an error', () => {
  const ok = acceptChannel(validOpen(), { keyIndex: 0, config: defaultChannelConfig() }, B);
  assert.ok(ok.ok, ok.ok ? '' : ok.error.message);
  for (const [name, edit, reason] of rows) {
    const r = acceptChannel(edit(validOpen()), { keyIndex: 0, config: defaultChannelConfig() }, B);
    assert.equal(r.ok, false, name);
    if (!r.ok) {
      assert.equal(r.error.severity, 'error', name);
      assert.match(r.error.message, reason, name);
    }
  }
});

test('channel_type: anchors and static_remotekey (with or without scid_alias) parse, others do not', () => {
  assert.equal(parseChannelType(channelTypeBytes('anchors_zero_fee_htlc')), 'anchors_zero_fee_htlc');
  assert.equal(parseChannelType(channelTypeBytes('static_remotekey')), 'static_remotekey');
  // bit 12 + bit 46 (scid_alias)
  const alias = new Uint8Array(6);
  alias[0] = 0x40;
  alias[4] = 0x10;
  assert.equal(parseChannelType(alias), 'static_remotekey');
  assert.equal(parseChannelType(new Uint8Array([0x10, 0x00, 0x00])), undefined); // bit 20 alone
  assert.equal(parseChannelType(new Uint8Array(0)), undefined);
  // A static_remotekey open is accepted and echoed back.
  const m = validOpen();
  const open = { ...m, tlvs: { ...m.tlvs, channel_type: { type: channelTypeBytes('static_remotekey') } } };
  const r = acceptChannel(open, { keyIndex: 0, config: defaultChannelConfig() }, B);
  assert.ok(r.ok);
  const reply = r.value.actions[0]!;
  assert.ok(reply.kind === 'send' && reply.msg.type === 'accept_channel');
  assert.deepEqual(reply.msg.tlvs?.channel_type?.type, channelTypeBytes('static_remotekey'));
});

test('accept_channel receiver checks: mismatched channel_type, large minimum_depth, reserve below our dust', () => {
  const open = openChannel(
    {
      keyIndex: 0,
      temporaryChannelId: new Uint8Array(32).fill(1),
      fundingAmount: 1_000_000n as Sat,
      pushMsat: 0n as Msat,
      feerate: 2000 as FeeratePerKw,
      channelType: 'anchors_zero_fee_htlc',
      config: defaultChannelConfig(),
      channelFlags: 0,
    },
    A,
  );
  assert.ok(open.ok);
  const om = open.value.actions[0]!;
  assert.ok(om.kind === 'send' && om.msg.type === 'open_channel');
  const acc = acceptChannel(
    { ...om.msg, tlvs: om.msg.tlvs ?? {} } as MessageValue<'open_channel'>,
    { keyIndex: 0, config: defaultChannelConfig() },
    B,
  );
  assert.ok(acc.ok);
  const am = acc.value.actions[0]!;
  assert.ok(am.kind === 'send' && am.msg.type === 'accept_channel');
  const base = { ...am.msg, tlvs: am.msg.tlvs ?? {} } as MessageValue<'accept_channel'>;
  const cases: [string, MessageValue<'accept_channel'>][] = [
    [
      'channel_type mismatch',
      { ...base, tlvs: { ...base.tlvs, channel_type: { type: channelTypeBytes('static_remotekey') } } },
    ],
    ['no channel_type', { ...base, tlvs: {} }],
    ['minimum_depth too large', { ...base, minimum_depth: 1000 }],
    [
      'reserve below our dust limit',
      { ...base, channel_reserve_satoshis: 353n as Sat, dust_limit_satoshis: 353n as Sat },
    ],
    ['max_accepted_htlcs above 483', { ...base, max_accepted_htlcs: 500 }],
  ];
  for (const [name, msg] of cases) {
    const r = step(open.value.state, { kind: 'message', msg }, A);
    assert.ok(r.ok);
    assert.equal(r.value.state.phase, 'closed', name);
    assert.ok(
      r.value.actions.some((a) => a.kind === 'send' && a.msg.type === 'error'),
      name,
    );
  }
  const good = step(open.value.state, { kind: 'message', msg: base }, A);
  assert.ok(good.ok);
  assert.equal(good.value.state.phase, 'wait_funding_tx');
  assert.ok(good.value.actions.some((a) => a.kind === 'emit' && a.event.kind === 'funding_needed'));
});

test('funder refuses a push above the funding amount or a funding it cannot pay the fee from', () => {
  const base = {
    keyIndex: 0,
    temporaryChannelId: new Uint8Array(32).fill(1),
    fundingAmount: 100_000n as Sat,
    feerate: 2000 as FeeratePerKw,
    channelType: 'anchors_zero_fee_htlc' as const,
    config: defaultChannelConfig(),
    channelFlags: 0,
  };
  assert.equal(openChannel({ ...base, pushMsat: 100_000_001n as Msat }, A).ok, false);
  assert.equal(openChannel({ ...base, pushMsat: 99_999_000n as Msat }, A).ok, false);
  assert.equal(
    openChannel({ ...base, fundingAmount: (1n << 24n) as Sat, pushMsat: 0n as Msat }, A).ok,
    false,
  );
});
