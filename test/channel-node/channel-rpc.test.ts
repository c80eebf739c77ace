// listpeerchannels' view of real reducer states (the in-memory two-node harness drives them).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hex } from '../../src/core/bytes.ts';
import type { Msat } from '../../src/core/units.ts';
import { sha256 } from '../../src/crypto/index.ts';
import type { Channel, ChannelMeta } from '../../src/node/channel-driver.ts';
import { channelJson, clnState, scidString } from '../../src/node/channel-rpc.ts';
import { ChannelPair, type HarnessNode } from '../../src/testing/channel-harness.ts';

const meta = (): ChannelMeta => ({
  opener: 'local',
  peerAddress: undefined,
  fundingId: undefined,
  feerate: 2500,
  closeTx: undefined,
  spentBy: undefined,
  shutdownScript: new Uint8Array(22),
});

function view(n: HarnessNode): Record<string, unknown> {
  const ch: Channel = {
    key: 'c/0',
    keyIndex: 0,
    peerId: 'peer',
    state: n.state,
    signer: n.ctx.signer,
    meta: meta(),
    signScheduled: false,
    persisted: n.state,
  };
  return channelJson(ch, true);
}

test('listpeerchannels: balances, commitment numbers and HTLC states follow the commitment dance', () => {
  const pair = ChannelPair.open({ fundingAmount: 1_000_000n as never, pushMsat: 300_000_000n as Msat });
  let a = view(pair.a);
  assert.equal(a.state, 'CHANNELD_NORMAL');
  assert.equal(a.total_msat, 1_000_000_000);
  assert.equal(a.to_us_msat, 700_000_000);
  assert.equal(view(pair.b).to_us_msat, 300_000_000);
  assert.match(a.short_channel_id as string, /^800000x0x\d+$/);
  assert.deepEqual(a.htlcs, []);

  const preimage = sha256(new Uint8Array([1]));
  const hash = sha256(preimage);
  pair.must(pair.a, {
    kind: 'command',
    cmd: {
      kind: 'add_htlc',
      amount: 5_000_000n as Msat,
      paymentHash: hash,
      cltvExpiry: 800_100,
      onion: new Uint8Array(1366),
    },
  });
  // Proposed only: not on any commitment yet, but no longer spendable.
  a = view(pair.a);
  assert.deepEqual(a.htlcs, []);
  assert.equal(a.spendable_msat, 700_000_000 - 10_000_000 - 5_000_000);
  pair.must(pair.a, { kind: 'command', cmd: { kind: 'sign' } });
  a = view(pair.a);
  assert.deepEqual(
    (a.htlcs as { state: string }[]).map((h) => h.state),
    ['SENT_ADD_COMMIT'],
  );
  pair.deliverAll();
  pair.apply(pair.b, { kind: 'command', cmd: { kind: 'sign' } });
  pair.deliverAll();
  a = view(pair.a);
  const b = view(pair.b);
  assert.deepEqual(a.htlcs, [
    {
      direction: 'out',
      id: 0,
      amount_msat: 5_000_000,
      expiry: 800_100,
      payment_hash: hex(hash),
      state: 'SENT_ADD_ACK_REVOCATION',
    },
  ]);
  assert.equal((b.htlcs as { direction: string; state: string }[])[0]!.direction, 'in');
  assert.equal((b.htlcs as { direction: string; state: string }[])[0]!.state, 'RCVD_ADD_ACK_REVOCATION');
  assert.equal(a.local_commitment_number, b.remote_commitment_number);
  assert.equal(b.local_commitment_number, a.remote_commitment_number);
  assert.equal((a.to_us_msat as number) + (b.to_us_msat as number) + 5_000_000, 1_000_000_000);
});

test('state names and short channel ids in Core Lightning form', () => {
  const pair = ChannelPair.open();
  const ch = { state: pair.a.state, meta: meta() } as unknown as Channel;
  assert.equal(clnState(ch), 'CHANNELD_NORMAL');
  assert.equal(scidString((103n << 40n) | (1n << 16n) | 0n), '103x1x0');
});
