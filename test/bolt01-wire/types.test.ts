// Compile-time checks of the message value types (tsc runs over test/), plus a runtime use of each.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeMessage,
  encodeMessage,
  type MessageInput,
  type TlvStreamValue,
  type WireMessage,
} from '../../src/bolt01-wire/index.ts';
import { fromHex } from '../../src/core/bytes.ts';
import { msat, sat } from '../../src/core/units.ts';

const P = fromHex('023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb');

test('message values are typed from the table (length fields left out, amounts branded)', () => {
  const open: MessageInput<'open_channel'> = {
    type: 'open_channel',
    chain_hash: new Uint8Array(32),
    temporary_channel_id: new Uint8Array(32),
    funding_satoshis: sat(100_000n),
    push_msat: msat(0n),
    dust_limit_satoshis: sat(546n),
    max_htlc_value_in_flight_msat: msat(1_000_000n),
    channel_reserve_satoshis: sat(1000n),
    htlc_minimum_msat: msat(1n),
    feerate_per_kw: 253,
    to_self_delay: 144,
    max_accepted_htlcs: 483,
    funding_pubkey: P,
    revocation_basepoint: P,
    payment_basepoint: P,
    delayed_payment_basepoint: P,
    htlc_basepoint: P,
    first_per_commitment_point: P,
    channel_flags: 1,
    tlvs: { channel_type: { type: Uint8Array.of(0x10, 0, 0) } },
  };
  // @ts-expect-error a plain bigint is not an Msat
  const unbranded: MessageInput<'update_fee'> = { type: 'update_fee', channel_id: P, feerate_per_kw: 1n };
  // @ts-expect-error length fields (byteslen) are computed by the encoder, not given
  const withLength: MessageInput<'pong'> = { type: 'pong', byteslen: 0, ignored: new Uint8Array(0) };
  // @ts-expect-error records of another stream are refused
  const wrongRecord: TlvStreamValue<'init_tlvs'> = { channel_type: { type: new Uint8Array(0) } };
  void unbranded;
  void withLength;
  void wrongRecord;

  const back = decodeMessage(encodeMessage(open));
  assert.ok(back.ok);
  assert.deepEqual(back.value, open);
});

/** Narrowing by `type` gives each message's own fields. */
function describe(msg: WireMessage): string {
  if (msg.type === 'init')
    return `init ${msg.features.length} bytes, ${msg.tlvs.networks?.chains.length ?? 0} chains`;
  if (msg.type === 'ping') return `ping ${msg.num_pong_bytes}`;
  if (msg.type === 'update_add_htlc') {
    const amount: bigint = msg.amount_msat;
    return `htlc ${amount}`;
  }
  if (msg.type === 'error' || msg.type === 'warning') return `${msg.type} ${msg.data.length}`;
  return msg.type;
}

test('narrowing by message type', () => {
  const r = decodeMessage(encodeMessage({ type: 'ping', num_pong_bytes: 4, ignored: new Uint8Array(0) }));
  assert.ok(r.ok);
  assert.equal(describe(r.value), 'ping 4');
  const i = decodeMessage(
    encodeMessage({ type: 'init', globalfeatures: new Uint8Array(0), features: Uint8Array.of(2) }),
  );
  assert.ok(i.ok);
  assert.equal(describe(i.value), 'init 1 bytes, 0 chains');
});
