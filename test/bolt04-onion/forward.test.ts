import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createErrorPacket,
  decodeErrorPacket,
  wrapErrorPacket,
} from '../../src/bolt04-onion/error-packet.ts';
import { processIncomingOnion } from '../../src/bolt04-onion/forward.ts';
import { ecdhWithSecret } from '../../src/bolt04-onion/keys.ts';
import { encodeHopPayload } from '../../src/bolt04-onion/payload.ts';
import { buildOnion } from '../../src/bolt04-onion/sphinx.ts';
import { fromHex, hex } from '../../src/core/bytes.ts';
import { type Msat, msat } from '../../src/core/units.ts';
import { publicKeyOf, sha256 } from '../../src/crypto/index.ts';
import { type Json, loadVector } from './vectors.ts';

const bp = loadVector('blinded-payment-onion-test.json');
const ov = loadVector('onion-test.json');

test('processIncomingOnion walks the blinded-payment vector: plain forward, introduction, blinded hops, receive', () => {
  const ad = fromHex(bp.generate.associated_data);
  const hops: Json[] = bp.decrypt.hops;
  // What Alice receives is not in the vector; give her enough to forward what the sender asked.
  let amount: Msat = msat(120_000);
  let cltv = 749_200;
  let pathKey: Uint8Array | undefined;
  for (const [i, h] of hops.entries()) {
    const v = processIncomingOnion(
      {
        onion: fromHex(h.onion),
        paymentHash: ad,
        amountMsat: amount,
        cltvExpiry: cltv,
        ...(pathKey ? { pathKey } : {}),
      },
      ecdhWithSecret(fromHex(h.node_privkey)),
    );
    if (i < hops.length - 1) {
      assert.equal(
        v.type,
        'forward',
        `${h.alias}: ${JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? String(x) : x))}`,
      );
      if (v.type !== 'forward') return;
      assert.equal(hex(v.nextOnion), hops[i + 1].onion);
      assert.equal(v.blinded, i > 0);
      if (i > 0) assert.equal(hex(v.nextPathKey!), h.next_path_key);
      amount = v.amtToForward;
      cltv = v.outgoingCltvValue;
      pathKey = v.nextPathKey ?? undefined;
    } else {
      assert.equal(v.type, 'receive');
      if (v.type !== 'receive') return;
      assert.equal(v.amtToForward, 100_000n);
      assert.equal(v.totalMsat, 150_000n);
      assert.equal(hex(v.pathId!), 'c9cf92f45ade68345bc20ae672e2012f4af487ed4415');
    }
  }
});

test('processIncomingOnion: failures come out as the message BOLT 2/4 require', () => {
  const ad = fromHex(bp.generate.associated_data);
  const hops: Json[] = bp.decrypt.hops;
  const alice = ecdhWithSecret(fromHex(hops[0].node_privkey));
  // Bad version: malformed with BADONION|PERM|4 and the onion's hash.
  const badVersion = fromHex(hops[0].onion);
  badVersion[0] = 2;
  let v = processIncomingOnion(
    { onion: badVersion, paymentHash: ad, amountMsat: msat(1), cltvExpiry: 1 },
    alice,
  );
  assert.ok(
    v.type === 'fail_malformed' &&
      v.failureCode === 0xc004 &&
      hex(v.sha256OfOnion) === hex(sha256(badVersion)),
  );
  // Inside the blinded path, anything wrong is invalid_onion_blinding in update_fail_malformed_htlc.
  const carol = ecdhWithSecret(fromHex(hops[2].node_privkey));
  const carolOnion = fromHex(hops[2].onion);
  const pathKey = fromHex(hops[1].next_path_key);
  v = processIncomingOnion(
    { onion: carolOnion, paymentHash: fromHex('00'.repeat(32)), amountMsat: msat(1), cltvExpiry: 1, pathKey },
    carol,
  );
  assert.ok(v.type === 'fail_malformed' && v.failureCode === 0xc018);
  v = processIncomingOnion(
    { onion: carolOnion, paymentHash: ad, amountMsat: msat(1), cltvExpiry: 1, pathKey },
    carol,
  );
  assert.ok(v.type === 'fail_malformed' && v.failureCode === 0xc018, 'below htlc_minimum_msat');
  // At the introduction node (current_path_key in its payload) the error goes in update_fail_htlc.
  const bob = ecdhWithSecret(fromHex(hops[1].node_privkey));
  v = processIncomingOnion(
    { onion: fromHex(hops[1].onion), paymentHash: ad, amountMsat: msat(1), cltvExpiry: 749_150 },
    bob,
  );
  assert.ok(v.type === 'fail' && v.failure.failure === 'invalid_onion_blinding');
  if (v.type === 'fail') {
    // ... and the origin attributes it to Bob (hop 1 of the full route).
    const keys = buildOnion({
      sessionKey: fromHex(bp.generate.session_key),
      associatedData: ad,
      hops: bp.generate.full_route.hops.map((h: Json) => ({
        publicKey: fromHex(h.pubkey),
        payload: fromHex('0000'),
      })),
    });
    assert.ok(keys.ok);
    const secrets = keys.value.hopKeys.map((k) => k.sharedSecret);
    // Alice wraps Bob's error on its way back.
    const d = decodeErrorPacket(
      secrets,
      wrapErrorPacket(secrets[0]!, createErrorPacket(v.sharedSecret, v.failure)),
    );
    assert.ok(d.ok && d.value.hopIndex === 1);
  }
  assert.equal(
    processIncomingOnion(
      { onion: new Uint8Array(10), paymentHash: ad, amountMsat: msat(1), cltvExpiry: 1 },
      alice,
    ).type,
    'protocol_violation',
  );
});

test('processIncomingOnion: final-node checks and payload errors of plain onions', () => {
  const ad = fromHex(ov.generate.associated_data);
  const key = fromHex('61'.repeat(32));
  const build = (payload: Uint8Array) => {
    const b = buildOnion({
      sessionKey: fromHex('62'.repeat(32)),
      associatedData: ad,
      hops: [{ publicKey: publicKeyOf(key), payload }],
    });
    assert.ok(b.ok);
    return b.value.packet;
  };
  const onion = build(encodeHopPayload({ amtToForward: msat(5000), outgoingCltvValue: 800 }));
  const ecdh = ecdhWithSecret(key);
  let v = processIncomingOnion({ onion, paymentHash: ad, amountMsat: msat(5000), cltvExpiry: 800 }, ecdh);
  assert.ok(v.type === 'receive' && v.totalMsat === 5000n && v.paymentSecret === null);
  v = processIncomingOnion({ onion, paymentHash: ad, amountMsat: msat(4999), cltvExpiry: 800 }, ecdh);
  assert.ok(v.type === 'fail' && v.failure.failure === 'final_incorrect_htlc_amount');
  v = processIncomingOnion({ onion, paymentHash: ad, amountMsat: msat(5000), cltvExpiry: 799 }, ecdh);
  assert.ok(v.type === 'fail' && v.failure.failure === 'final_incorrect_cltv_expiry');
  // A final payload without outgoing_cltv_value: invalid_onion_payload naming type 4.
  const missing = build(encodeHopPayload({ amtToForward: msat(5000) }));
  v = processIncomingOnion(
    { onion: missing, paymentHash: ad, amountMsat: msat(5000), cltvExpiry: 800 },
    ecdh,
  );
  assert.ok(v.type === 'fail' && v.failure.failure === 'invalid_onion_payload' && v.failure.type === 4n);
  // An unknown even record.
  const even = build(fromHex('0202138804020320' + '6401ff'));
  v = processIncomingOnion({ onion: even, paymentHash: ad, amountMsat: msat(5000), cltvExpiry: 800 }, ecdh);
  assert.ok(v.type === 'fail' && v.failure.failure === 'invalid_onion_payload' && v.failure.type === 100n);
});
