import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  aggregateBlindedPayinfo,
  blindedForward,
  blindedNodeSecret,
  createBlindedPath,
  decodeEncryptedData,
  decryptRecipientData,
  encodeEncryptedData,
  nextPathKey,
} from '../../src/bolt04-onion/blinding.ts';
import { ecdhWithSecret } from '../../src/bolt04-onion/keys.ts';
import {
  blindedPathPayloads,
  decodeHopPayload,
  encodeHopPayload,
  type HopPayload,
  readHopPayload,
} from '../../src/bolt04-onion/payload.ts';
import { processBlindedHop } from '../../src/bolt04-onion/relay.ts';
import { buildOnion, peelOnion } from '../../src/bolt04-onion/sphinx.ts';
import { fromHex, hex } from '../../src/core/bytes.ts';
import { type Msat, msat } from '../../src/core/units.ts';
import { ecdh } from '../../src/crypto/index.ts';
import { encryptedDataFromJson, type Json, loadVector, scid, stripLengthPrefix } from './vectors.ts';

const rb = loadVector('route-blinding-test.json');

test('route-blinding-test.json: encrypted_data_tlv encodes to the vector and decodes back', () => {
  for (const h of rb.generate.hops) {
    const encoded = encodeEncryptedData(encryptedDataFromJson(h.tlvs));
    assert.equal(hex(encoded), h.encoded_tlvs, h.alias);
    const d = decodeEncryptedData(fromHex(h.encoded_tlvs));
    assert.ok(d.ok, h.alias);
    assert.equal(hex(encodeEncryptedData(d.value)), h.encoded_tlvs, `${h.alias} round trip`);
  }
});

test('route-blinding-test.json: two segments build the vector route (keys, secrets, ids, ciphertexts)', () => {
  const segments: Json[][] = [];
  for (const h of rb.generate.hops) {
    if (h.session_key !== undefined) segments.push([]);
    segments[segments.length - 1]!.push(h);
  }
  assert.equal(segments.length, 2);
  const hops = [];
  for (const seg of segments) {
    const { path, details } = createBlindedPath({
      sessionKey: fromHex(seg[0].session_key),
      hops: seg.map((h: Json) => ({ nodeId: fromHex(h.node_id), encryptedData: fromHex(h.encoded_tlvs) })),
    });
    for (const [i, h] of seg.entries()) {
      assert.equal(hex(details[i]!.pathPrivkey), h.path_privkey, `${h.alias} path_privkey`);
      assert.equal(hex(details[i]!.pathKey), h.path_key, `${h.alias} path_key`);
      assert.equal(hex(details[i]!.sharedSecret), h.shared_secret, `${h.alias} shared_secret`);
      assert.equal(hex(details[i]!.rho), h.rho, `${h.alias} rho`);
      assert.equal(hex(path.hops[i]!.encryptedRecipientData), h.encrypted_data, `${h.alias} encrypted_data`);
      assert.equal(hex(path.hops[i]!.blindedNodeId), h.blinded_node_id, `${h.alias} blinded_node_id`);
    }
    if (hops.length === 0) {
      assert.equal(hex(path.firstNodeId), rb.route.first_node_id);
      assert.equal(hex(path.firstPathKey), rb.route.first_path_key);
    }
    hops.push(...path.hops);
  }
  assert.equal(hops.length, rb.route.hops.length);
  for (const [i, h] of rb.route.hops.entries()) {
    assert.equal(hex(hops[i]!.blindedNodeId), h.blinded_node_id);
    assert.equal(hex(hops[i]!.encryptedRecipientData), h.encrypted_data);
  }
});

test('route-blinding-test.json: each hop unblinds its data and derives the next path key', () => {
  for (const [i, h] of rb.unblind.hops.entries()) {
    const k = fromHex(h.node_privkey);
    const pathKey = fromHex(h.path_key);
    assert.equal(
      hex(blindedNodeSecret(k, ecdh(pathKey, k))),
      h.blinded_privkey,
      `${h.alias} blinded_privkey`,
    );
    const r = decryptRecipientData(pathKey, fromHex(rb.route.hops[i].encrypted_data), ecdhWithSecret(k));
    assert.ok(r.ok, h.alias);
    assert.equal(hex(r.value.plaintext), h.decrypted_data, `${h.alias} decrypted_data`);
    assert.equal(hex(nextPathKey(pathKey, r.value.sharedSecret)), h.next_path_key, `${h.alias} E(i+1)`);
    const expectedNext = h.next_path_key_override ?? h.next_path_key;
    assert.equal(hex(r.value.nextPathKey), expectedNext, `${h.alias} next path key used`);
    // Tampered ciphertext is refused.
    const bad = fromHex(rb.route.hops[i].encrypted_data);
    bad[0]! ^= 1;
    const f = decryptRecipientData(pathKey, bad, ecdhWithSecret(k));
    assert.ok(!f.ok && f.error.code === 'decrypt_failed');
  }
});

const bp = loadVector('blinded-payment-onion-test.json');

/** This vector's payloads carry their bigsize length prefix. */
const unframed = (h: string) => hex(stripLengthPrefix(fromHex(h)));

function payloadFromJson(t: Json, encrypted: string | undefined): HopPayload {
  return {
    ...(t.amt_to_forward !== undefined ? { amtToForward: msat(t.amt_to_forward) } : {}),
    ...(t.outgoing_cltv_value !== undefined ? { outgoingCltvValue: t.outgoing_cltv_value } : {}),
    ...(t.outgoing_channel_id !== undefined ? { shortChannelId: scid(t.outgoing_channel_id) } : {}),
    ...(encrypted !== undefined ? { encryptedRecipientData: fromHex(encrypted) } : {}),
    ...(t.current_path_key !== undefined ? { currentPathKey: fromHex(t.current_path_key) } : {}),
    ...(t.total_amount_msat !== undefined ? { totalAmountMsat: msat(t.total_amount_msat) } : {}),
  };
}

test('blinded-payment-onion-test.json: payinfo aggregation and per-hop payloads', () => {
  const g = bp.generate;
  const full = g.full_route.hops;
  const relays = full
    .slice(1, -1)
    .map((h: Json) => encryptedDataFromJson(h.tlvs.encrypted_recipient_data).paymentRelay!);
  const info = aggregateBlindedPayinfo(relays, 0);
  assert.equal(info.feeBaseMsat, BigInt(g.blinded_payinfo.fee_base_msat));
  assert.equal(info.feeProportionalMillionths, BigInt(g.blinded_payinfo.fee_proportional_millionths));
  assert.equal(info.cltvExpiryDelta, g.blinded_payinfo.cltv_expiry_delta);

  for (const [i, h] of full.entries()) {
    const enc = i === 0 ? undefined : g.blinded_route.hops[i - 1].encrypted_data;
    assert.equal(
      hex(encodeHopPayload(payloadFromJson(h.tlvs, enc))),
      unframed(h.payload),
      `${h.alias} payload`,
    );
  }
  const ours = blindedPathPayloads(
    {
      firstPathKey: fromHex(g.blinded_route.first_path_key),
      hops: g.blinded_route.hops.map((h: Json) => ({ encryptedRecipientData: fromHex(h.encrypted_data) })),
    },
    {
      amtToForward: msat(g.final_amount_msat),
      outgoingCltvValue: g.final_cltv,
      totalAmountMsat: msat(150000),
    },
  );
  for (const [i, p] of ours.entries())
    assert.equal(hex(encodeHopPayload(p)), unframed(full[i + 1].payload), `blinded hop ${i}`);
});

test('blinded-payment-onion-test.json: onion built, then forwarded through the blinded hops', () => {
  const g = bp.generate;
  const ad = fromHex(g.associated_data);
  const built = buildOnion({
    sessionKey: fromHex(g.session_key),
    associatedData: ad,
    hops: g.full_route.hops.map((h: Json) => ({
      publicKey: fromHex(h.pubkey),
      payload: stripLengthPrefix(fromHex(h.payload)),
    })),
  });
  assert.ok(built.ok);
  assert.equal(hex(built.value.packet), g.onion);

  let pathKey: Uint8Array | undefined;
  let amount: Msat = msat(g.full_route.hops[0].tlvs.amt_to_forward);
  let cltv: number = g.full_route.hops[0].tlvs.outgoing_cltv_value;
  const hops = bp.decrypt.hops;
  for (const [i, h] of hops.entries()) {
    const onion = fromHex(h.onion);
    const ecdhFn = ecdhWithSecret(fromHex(h.node_privkey));
    const peeled = peelOnion(onion, ecdhFn, ad, pathKey === undefined ? {} : { pathKey });
    assert.ok(peeled.ok, `${h.alias} peels`);
    const isFinal = peeled.value.type === 'final';
    assert.equal(isFinal, i === hops.length - 1);
    if (peeled.value.type === 'forward') assert.equal(hex(peeled.value.nextOnion), hops[i + 1].onion);
    const instr = readHopPayload(peeled.value.payload, {
      isFinal,
      ...(pathKey ? { updateAddPathKey: pathKey } : {}),
    });
    assert.ok(instr.ok, `${h.alias} payload valid: ${!instr.ok && instr.error.message}`);
    const ins = instr.value;
    if (i === 0) {
      assert.equal(ins.type, 'forward');
      continue;
    }
    assert.ok(ins.type === 'blinded_forward' || ins.type === 'blinded_final');
    assert.equal(ins.isIntroduction, i === 1);
    const access =
      peeled.value.pathKeySharedSecret !== null
        ? { pathKeySharedSecret: peeled.value.pathKeySharedSecret }
        : ecdhFn;
    const unblinded = decryptRecipientData(ins.pathKey, ins.encryptedRecipientData, access);
    assert.ok(unblinded.ok, `${h.alias} decrypts`);
    assert.equal(hex(unblinded.value.nextPathKey), h.next_path_key, `${h.alias} next_path_key`);
    const c = unblinded.value.data.paymentConstraints!;
    assert.ok(cltv <= c.maxCltvExpiry && amount >= c.htlcMinimumMsat, `${h.alias} within constraints`);
    const decision = processBlindedHop(ins, { amountMsat: amount, cltvExpiry: cltv }, access);
    assert.ok(decision.ok, `${h.alias}: ${!decision.ok && decision.error.reason}`);
    // The constraints are enforced: one block past max_cltv_expiry, or one msat below the minimum, fails.
    const late = processBlindedHop(ins, { amountMsat: amount, cltvExpiry: c.maxCltvExpiry + 1 }, access);
    assert.ok(!late.ok && late.error.failure === 'invalid_onion_blinding');
    const small = processBlindedHop(
      ins,
      { amountMsat: msat(c.htlcMinimumMsat - 1n), cltvExpiry: cltv },
      access,
    );
    assert.ok(!small.ok);
    if (decision.value.type === 'forward') {
      assert.equal(ins.type, 'blinded_forward');
      assert.equal(decision.value.next.type, 'short_channel_id');
      assert.equal(hex(decision.value.nextPathKey), h.next_path_key);
      const manual = blindedForward(amount, cltv, unblinded.value.data.paymentRelay!);
      assert.deepEqual(manual, {
        amtToForward: decision.value.amtToForward,
        outgoingCltvValue: decision.value.outgoingCltvValue,
      });
      amount = decision.value.amtToForward;
      cltv = decision.value.outgoingCltvValue;
      pathKey = decision.value.nextPathKey;
    } else {
      assert.equal(ins.type, 'blinded_final');
      assert.equal(decision.value.amtToForward, amount, 'recipient gets what the relays computed');
      assert.equal(decision.value.outgoingCltvValue, cltv);
      assert.equal(decision.value.totalAmountMsat, 150000n);
      assert.equal(hex(decision.value.pathId!), 'c9cf92f45ade68345bc20ae672e2012f4af487ed4415');
      const short = processBlindedHop(ins, { amountMsat: msat(amount - 1n), cltvExpiry: cltv }, access);
      assert.ok(!short.ok && short.error.failure === 'invalid_onion_blinding');
    }
  }
  assert.equal(amount, BigInt(g.final_amount_msat));
});

test('blinded payload rules pick invalid_onion_blinding inside the route', () => {
  const enc = fromHex('00'.repeat(20));
  const pk = fromHex(bp.generate.blinded_route.first_path_key);
  // Inside the route, a stray amount is a blinding error.
  const p = encodeHopPayload({ encryptedRecipientData: enc, amtToForward: msat(5) });
  let r = readHopPayload(p, { isFinal: false, updateAddPathKey: pk });
  assert.ok(!r.ok && r.error.failure === 'invalid_onion_blinding' && r.error.tlvType === 2n);
  // Both path keys at once.
  r = readHopPayload(encodeHopPayload({ encryptedRecipientData: enc, currentPathKey: pk }), {
    isFinal: false,
    updateAddPathKey: pk,
  });
  assert.ok(!r.ok && r.error.failure === 'invalid_onion_blinding');
  // No path key at all: outside a blinded route, so a plain payload error.
  r = readHopPayload(encodeHopPayload({ encryptedRecipientData: enc }), { isFinal: true });
  assert.ok(!r.ok && r.error.failure === 'invalid_onion_payload');
  // Final blinded hop missing total_amount_msat.
  r = readHopPayload(
    encodeHopPayload({ encryptedRecipientData: enc, amtToForward: msat(1), outgoingCltvValue: 1 }),
    {
      isFinal: true,
      updateAddPathKey: pk,
    },
  );
  assert.ok(!r.ok && r.error.tlvType === 18n);
  // Plain forward without short_channel_id.
  r = readHopPayload(encodeHopPayload({ amtToForward: msat(1), outgoingCltvValue: 1 }), { isFinal: false });
  assert.ok(!r.ok && r.error.failure === 'invalid_onion_payload' && r.error.tlvType === 6n);
  // Final plain hop: total defaults to amt_to_forward; payment_data and metadata are read.
  const secret = fromHex('11'.repeat(32));
  r = readHopPayload(
    encodeHopPayload({
      amtToForward: msat(1000),
      outgoingCltvValue: 700,
      paymentData: { paymentSecret: secret, totalMsat: msat(3000) },
      paymentMetadata: fromHex('beef'),
    }),
    { isFinal: true },
  );
  assert.ok(r.ok && r.value.type === 'final');
  if (r.ok && r.value.type === 'final') {
    assert.equal(r.value.totalMsat, 3000n);
    assert.equal(hex(r.value.paymentSecret!), hex(secret));
    assert.equal(hex(r.value.paymentMetadata!), 'beef');
  }
  // A disallowed record is reported with its type and byte offset in the payload.
  r = readHopPayload(encodeHopPayload({ encryptedRecipientData: enc, totalAmountMsat: msat(9) }), {
    isFinal: false,
    updateAddPathKey: pk,
  });
  assert.ok(!r.ok && r.error.tlvType === 18n && r.error.offset === 2 + enc.length);
  // Unknown even type is rejected with its type; non-minimal tu64 too.
  const d = decodeHopPayload(fromHex('020101' + '0a00' + '1400'));
  assert.ok(!d.ok && d.error.tlvType === 20n);
  const nm = decodeHopPayload(fromHex('02020001'));
  assert.ok(!nm.ok && nm.error.tlvType === 2n);
});

test('property: hop payloads and encrypted_data_tlv round-trip through the shared codec', () => {
  const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
  const point = fc.constantFrom(...bp.generate.full_route.hops.map((h: Json) => fromHex(h.pubkey)));
  const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
  const payload = fc.record(
    {
      amtToForward: u64.map(msat),
      outgoingCltvValue: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      shortChannelId: u64,
      paymentData: fc.record({ paymentSecret: bytes(32, 32), totalMsat: u64.map(msat) }),
      encryptedRecipientData: bytes(0, 80),
      currentPathKey: point,
      paymentMetadata: bytes(0, 40),
      totalAmountMsat: u64.map(msat),
      extra: fc
        .uniqueArray(
          fc.record({
            type: fc.bigInt({ min: 19n, max: 1n << 40n }).map((t) => t | 1n),
            value: bytes(0, 10),
          }),
          { selector: (r) => r.type, maxLength: 3 },
        )
        .map((xs) => [...xs].sort((a, b) => (a.type < b.type ? -1 : 1))),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(payload, (p) => {
      const enc = encodeHopPayload(p);
      const d = decodeHopPayload(enc);
      assert.ok(d.ok);
      assert.equal(hex(encodeHopPayload(d.value)), hex(enc));
    }),
    { numRuns: 300 },
  );
  const data = fc.record(
    {
      padding: bytes(0, 20),
      shortChannelId: u64,
      nextNodeId: point,
      pathId: bytes(0, 32),
      nextPathKeyOverride: point,
      paymentRelay: fc.record({
        cltvExpiryDelta: fc.integer({ min: 0, max: 65535 }),
        feeProportionalMillionths: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        feeBaseMsat: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      }),
      paymentConstraints: fc.record({
        maxCltvExpiry: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        htlcMinimumMsat: u64.map(msat),
      }),
      allowedFeatures: bytes(0, 4),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(data, (x) => {
      const enc = encodeEncryptedData(x);
      const d = decodeEncryptedData(enc);
      assert.ok(d.ok);
      assert.equal(hex(encodeEncryptedData(d.value)), hex(enc));
    }),
    { numRuns: 300 },
  );
});
