// End to end on loopback: a devnet process and three nodes A, B, C with channels A-B and B-C. C makes an
// invoice and a blinded path through B (dev-blindedpath); the test builds the onion itself with
// src/bolt04-onion (B the introduction node, C blinded) and A sends it with `sendonion`. The payment
// completes with exact balances; a tampered encrypted_recipient_data for C comes back from B as
// invalid_onion_blinding (C answers B with update_fail_malformed_htlc, B turns it into an error for A);
// sent without shared_secrets, the raw onionreply comes back for the caller to decode.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { decodeErrorPacket } from '../../src/bolt04-onion/index.ts';
import { fromHex, hex } from '../../src/core/bytes.ts';
import { sha256 } from '../../src/crypto/index.ts';
import type { BlindedPathJson } from '../../src/node/switch-blinded.ts';
import type { NodeProcess } from '../../src/testing/processes.ts';
import { waitUntil, withProcessNet } from '../channel-node/devnet-process.ts';
import { blindedPaymentOnion } from './blinded-onion.ts';

interface PeerChannel {
  peer_id: string;
  state: string;
  short_channel_id?: string;
  to_us_msat?: number;
  htlcs?: unknown[];
}

async function channels(n: NodeProcess): Promise<PeerChannel[]> {
  return (await n.call<{ channels: PeerChannel[] }>('listpeerchannels')).channels;
}
async function toUs(n: NodeProcess, peer: string): Promise<bigint> {
  const c = (await channels(n)).find((x) => x.peer_id === peer);
  return BigInt(c?.to_us_msat ?? -1);
}

test('three processes: A pays C through a blinded path B->C with sendonion; tampered data fails as blinded', {
  timeout: 240_000,
}, async () => {
  await withProcessNet('shandian-blind-', async ({ chain, start }) => {
    const [A, B, C] = [await start('A'), await start('B'), await start('C')];
    const info = (n: NodeProcess) =>
      n.call<{ id: string; blockheight: number; binding: { port: number }[] }>('getinfo');
    const [ia, ib, ic] = [await info(A), await info(B), await info(C)];
    for (const n of [A, C]) {
      const addr = (await n.call<{ bech32: string }>('newaddr')).bech32;
      await chain.rpc.call('sendtoaddress', [addr, 0.01]);
    }
    await chain.mine(1);
    await waitUntil(
      async () => {
        for (const n of [A, C]) {
          const f = await n.call<{ outputs: { status: string }[] }>('listfunds');
          if (!f.outputs.some((o) => o.status === 'confirmed')) return false;
        }
        return true;
      },
      30_000,
      'wallets funded',
    );
    await A.call('connect', { id: ib.id, host: '127.0.0.1', port: ib.binding[0]!.port });
    await C.call('connect', { id: ib.id, host: '127.0.0.1', port: ib.binding[0]!.port });
    await A.call('fundchannel', { id: ib.id, amount: 500_000 });
    await C.call('fundchannel', { id: ib.id, amount: 500_000, push_msat: 250_000_000 });
    await chain.mine(6);
    await waitUntil(
      async () => {
        for (const n of [A, B, C]) {
          const cs = await channels(n);
          if (cs.length === 0 || cs.some((c) => c.state !== 'CHANNELD_NORMAL' || !c.short_channel_id))
            return false;
        }
        return true;
      },
      60_000,
      'channels normal',
    );
    const scidAB = (await channels(A)).find((c) => c.peer_id === ib.id)!.short_channel_id!;
    const tip = await chain.height();
    await waitUntil(
      async () => (await Promise.all([A, B, C].map(info))).every((i) => i.blockheight === tip),
      30_000,
      'nodes at the tip',
    );
    const noHtlcs = async () => {
      for (const n of [A, B, C])
        if ((await channels(n)).some((c) => (c.htlcs ?? []).length > 0)) return false;
      return true;
    };
    const snapshot = async () => ({
      a: await toUs(A, ib.id),
      bA: await toUs(B, ia.id),
      bC: await toUs(B, ic.id),
      c: await toUs(C, ib.id),
    });

    // The payment: C's invoice, C's blinded path through B, A's onion, A's sendonion.
    const amount = 10_000_000n;
    const pay = async (
      label: string,
      tamper: (p: BlindedPathJson) => BlindedPathJson,
      withSecrets = true,
    ) => {
      const inv = await C.call<{ payment_hash: string }>('invoice', {
        amount_msat: Number(amount),
        label,
        description: 'blinded',
      });
      const path = tamper(
        await C.call<BlindedPathJson>('dev-blindedpath', {
          payment_hash: inv.payment_hash,
          introduction_node_id: ib.id,
        }),
      );
      assert.equal(path.introduction_node_id, ib.id);
      assert.equal(path.path.length, 2);
      assert.notEqual(path.path[1]!.blinded_node_id, ic.id, 'C is hidden behind a blinded id');
      const pi = path.payinfo;
      // The sender's fee from the aggregated payinfo, rounded up as BOLT 4 says.
      const fee =
        BigInt(pi.fee_base_msat) + (amount * BigInt(pi.fee_proportional_millionths) + 999_999n) / 1_000_000n;
      const slack = 3;
      // C's own expiry: the invoice's min_final_cltv_expiry_delta, i.e. the payinfo's delta less B's 34.
      const built = blindedPaymentOnion({
        path,
        amount,
        finalCltv: tip + pi.cltv_expiry_delta - 34 + slack,
        paymentHash: fromHex(inv.payment_hash),
        sessionKey: randomBytes(32),
      });
      const o = { onion: hex(built.packet), secrets: built.hopKeys.map((k) => hex(k.sharedSecret)) };
      const sent = await A.call<{ status: string }>('sendonion', {
        onion: o.onion,
        first_hop: {
          id: ib.id,
          channel: scidAB,
          amount_msat: Number(amount + fee),
          delay: pi.cltv_expiry_delta + slack,
        },
        payment_hash: inv.payment_hash,
        ...(withSecrets ? { shared_secrets: o.secrets } : {}),
        label,
      });
      assert.equal(sent.status, 'pending');
      return { inv, fee, secrets: o.secrets };
    };

    const before = await snapshot();
    const { inv, fee } = await pay('blind-1', (p) => p);
    assert.equal(fee, 1100n, 'B charges 1000 msat + 10 ppm');
    const done = await A.call<{ status: string; payment_preimage: string }>('waitsendpay', {
      payment_hash: inv.payment_hash,
      timeout: 60,
    });
    assert.equal(done.status, 'complete');
    assert.equal(hex(sha256(fromHex(done.payment_preimage))), inv.payment_hash);
    await waitUntil(noHtlcs, 20_000, 'settled everywhere');
    const after = await snapshot();
    assert.equal(before.a - after.a, amount + fee, 'A paid the amount and B fee');
    assert.equal(after.bA - before.bA, amount + fee);
    assert.equal(before.bC - after.bC, amount, 'B forwarded exactly what the payment_relay left');
    assert.equal(after.c - before.c, amount, 'C received the amount');
    const invC = (await C.call<{ invoices: { status: string }[] }>('listinvoices', { label: 'blind-1' }))
      .invoices;
    assert.equal(invC[0]!.status, 'paid');

    // Tampered encrypted_recipient_data for C: C cannot decrypt it; the failure leaves the blinded path
    // as invalid_onion_blinding, attributed to the introduction node B.
    const flip = (p: BlindedPathJson): BlindedPathJson => {
      const d = fromHex(p.path[1]!.encrypted_recipient_data);
      d[3]! ^= 1;
      return { ...p, path: [p.path[0]!, { ...p.path[1]!, encrypted_recipient_data: hex(d) }] };
    };
    const bad = await pay('blind-2', flip);
    const failed = await A.call('waitsendpay', { payment_hash: bad.inv.payment_hash, timeout: 60 }).then(
      () => null,
      (e: { code: number; data?: Record<string, unknown> }) => e,
    );
    assert.ok(failed !== null, 'the tampered payment must fail');
    assert.equal(failed.code, 204);
    assert.equal(failed.data?.failcodename, 'WIRE_INVALID_ONION_BLINDING');
    assert.equal(failed.data?.failcode, 0x8000 | 0x4000 | 24);
    assert.equal(failed.data?.erring_node, ib.id, 'the introduction node reports it');
    await waitUntil(noHtlcs, 20_000, 'failure settled everywhere');
    const invC2 = (await C.call<{ invoices: { status: string }[] }>('listinvoices', { label: 'blind-2' }))
      .invoices;
    assert.equal(invC2[0]!.status, 'unpaid');
    // Nothing moved.
    assert.deepEqual(await snapshot(), after);

    // Without shared_secrets (Core Lightning's sendonion semantics) the node cannot read the error: it
    // hands back the raw onionreply, which the caller decodes with the secrets it kept.
    const blind3 = await pay('blind-3', flip, false);
    const failed3 = await A.call('waitsendpay', { payment_hash: blind3.inv.payment_hash, timeout: 60 }).then(
      () => null,
      (e: { data?: Record<string, unknown> }) => e,
    );
    assert.ok(failed3 !== null && typeof failed3.data?.onionreply === 'string');
    const dec = decodeErrorPacket(blind3.secrets.map(fromHex), fromHex(failed3.data.onionreply as string));
    assert.ok(dec.ok && dec.value.hopIndex === 0);
    assert.ok(dec.value.failure.ok && dec.value.failure.value.failure === 'invalid_onion_blinding');
    await waitUntil(noHtlcs, 20_000, 'third failure settled');
    assert.deepEqual(await snapshot(), after);
  });
});
