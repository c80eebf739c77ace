import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeTlvStream } from '../../src/bolt01-wire/index.ts';
import { type BlindedHop, createBlindedPath, encodeEncryptedData } from '../../src/bolt04-onion/blinding.ts';
import { ecdhWithSecret } from '../../src/bolt04-onion/keys.ts';
import {
  buildOnionMessage,
  decodeBlindedPath,
  encodeBlindedPath,
  prependBlindedHops,
  readOnionMessage,
  toWireBlindedPath,
} from '../../src/bolt04-onion/onion-message.ts';
import { blindedNodeIdTweak, buildOnion } from '../../src/bolt04-onion/sphinx.ts';
import { concat, fromHex, hex, readU16be, u16be, utf8 } from '../../src/core/bytes.ts';
import { publicKeyOf, sha256 } from '../../src/crypto/index.ts';
import { encryptedDataFromJson, type Json, loadVector } from './vectors.ts';

const v = loadVector('blinded-onion-message-onion-test.json');

// The `onion_message` wire message (type 513) is framed here only to compare with the vector; the node's
// codec for it is the shared message table of src/bolt01-wire.
function frame(pathKey: Uint8Array, packet: Uint8Array): Uint8Array {
  return concat(u16be(513), pathKey, u16be(packet.length), packet);
}
function unframe(msg: Uint8Array): { pathKey: Uint8Array; packet: Uint8Array } {
  assert.equal(readU16be(msg, 0), 513);
  const len = readU16be(msg, 35);
  assert.equal(msg.length, 37 + len);
  return { pathKey: msg.subarray(2, 35), packet: msg.subarray(37) };
}

function buildRoute(): BlindedHop[] {
  const segments: Json[][] = [];
  let expectSecret: string | null = null;
  for (const h of v.generate.hops) {
    // A new segment starts where the previous hop overrode the next path key.
    if (segments.length === 0 || h.path_key_secret === expectSecret) segments.push([]);
    segments[segments.length - 1]!.push(h);
    expectSecret = h.tlvs.path_key_override_secret ?? null;
  }
  assert.equal(segments.length, 2);
  const hops: BlindedHop[] = [];
  for (const seg of segments) {
    const { path, details } = createBlindedPath({
      sessionKey: fromHex(seg[0].path_key_secret),
      hops: seg.map((h: Json) => ({
        nodeId: nodeIdOf(h.alias),
        encryptedData: fromHex(h.encrypted_data_tlv),
      })),
    });
    for (const [i, h] of seg.entries()) {
      const d = details[i]!;
      assert.equal(hex(d.pathPrivkey), h.path_key_secret, `${h.alias} e_i`);
      assert.equal(hex(d.pathKey), h.E, `${h.alias} E`);
      assert.equal(hex(d.sharedSecret), h.ss, `${h.alias} ss`);
      assert.equal(hex(blindedNodeIdTweak(d.sharedSecret)), h["HMAC256('blinded_node_id', ss)"]);
      assert.equal(hex(sha256(d.pathKey, d.sharedSecret)), h['H(E || ss)']);
      assert.equal(hex(d.rho), h.rho, `${h.alias} rho`);
      assert.equal(hex(path.hops[i]!.blindedNodeId), h.blinded_node_id, `${h.alias} blinded id`);
      assert.equal(hex(path.hops[i]!.encryptedRecipientData), h.encrypted_recipient_data, `${h.alias} data`);
    }
    hops.push(...path.hops);
  }
  return hops;
}

function nodeIdOf(alias: string): Uint8Array {
  const ids: Record<string, string> = {
    Alice: v.route.first_node_id,
    Bob: v.generate.hops[0].tlvs.next_node_id,
    Carol: v.generate.hops[1].tlvs.next_node_id,
    Dave: v.generate.hops[2].tlvs.next_node_id,
  };
  return fromHex(ids[alias]!);
}

test('blinded-onion-message-onion-test.json: encrypted_data_tlv encodings', () => {
  for (const h of v.generate.hops) {
    assert.equal(hex(encodeEncryptedData(encryptedDataFromJson(h.tlvs))), h.encrypted_data_tlv, h.alias);
  }
});

test('blinded-onion-message-onion-test.json: blinded route and onion message packet', () => {
  const hops = buildRoute();
  for (const [i, h] of v.route.hops.entries()) {
    assert.equal(hex(hops[i]!.blindedNodeId), h.blinded_node_id);
    assert.equal(hex(hops[i]!.encryptedRecipientData), h.encrypted_recipient_data);
  }
  const built = buildOnionMessage({
    sessionKey: fromHex(v.generate.session_key),
    path: {
      firstNodeId: fromHex(v.route.first_node_id),
      firstPathKey: fromHex(v.route.first_path_key),
      hops,
    },
    final: { unknown: [{ type: 1n, value: fromHex(v.onionmessage.unknown_tag_1) }] },
  });
  assert.ok(built.ok);
  assert.equal(hex(built.value.packet), v.onionmessage.onion_message_packet);
  assert.equal(hex(frame(built.value.pathKey, built.value.packet)), v.decrypt.hops[0].onion_message);
});

test("blinded-onion-message-onion-test.json: the sender prepends its own blinded hop to Dave's path", () => {
  const g = v.generate.hops;
  const dave = createBlindedPath({
    sessionKey: fromHex(g[1].path_key_secret),
    hops: g
      .slice(1)
      .map((h: Json) => ({ nodeId: nodeIdOf(h.alias), encryptedData: fromHex(h.encrypted_data_tlv) })),
  }).path;
  const full = prependBlindedHops(fromHex(g[0].path_key_secret), [nodeIdOf('Alice')], dave);
  assert.equal(hex(full.firstNodeId), v.route.first_node_id);
  assert.equal(hex(full.firstPathKey), v.route.first_path_key);
  assert.deepEqual(
    full.hops.map((h) => [hex(h.blindedNodeId), hex(h.encryptedRecipientData)]),
    v.route.hops.map((h: Json) => [h.blinded_node_id, h.encrypted_recipient_data]),
  );
  assert.equal(prependBlindedHops(fromHex(g[0].path_key_secret), [], dave), dave);
});

test('blinded-onion-message-onion-test.json: each node forwards to the next, Dave receives hello', () => {
  const hops = v.decrypt.hops;
  for (const [i, h] of hops.entries()) {
    const { pathKey, packet } = unframe(fromHex(h.onion_message));
    const r = readOnionMessage(pathKey, packet, ecdhWithSecret(fromHex(h.privkey)));
    assert.ok(r.ok, `${h.alias}: ${!r.ok && JSON.stringify(r.error)}`);
    if (i < hops.length - 1) {
      assert.equal(r.value.type, 'forward');
      if (r.value.type !== 'forward') continue;
      assert.ok(r.value.next.type === 'node_id');
      assert.equal(hex(r.value.next.nodeId), h.next_node_id);
      assert.equal(hex(frame(r.value.nextPathKey, r.value.nextPacket)), hops[i + 1].onion_message);
    } else {
      assert.equal(r.value.type, 'final');
      if (r.value.type !== 'final') continue;
      assert.deepEqual(
        (r.value.payload.tlvs.unknown ?? []).map((x) => [x.type, hex(x.value)]),
        [[1n, h.tlvs.unknown_tag_1]],
      );
      assert.equal(hex(r.value.payload.encryptedRecipientData!), h.tlvs.encrypted_recipient_data);
      assert.equal(hex(r.value.pathId!), v.generate.hops[3].tlvs.path_id);
    }
  }
});

test('onion messages: reply paths round-trip, large payloads switch to 32768 bytes, bad input is ignored', () => {
  const bobKey = fromHex('42'.repeat(32));
  const carolKey = fromHex('43'.repeat(32));
  const ids = [publicKeyOf(bobKey), publicKeyOf(carolKey)];
  const { path } = createBlindedPath({
    sessionKey: fromHex('07'.repeat(32)),
    hops: [
      { nodeId: ids[0]!, encryptedData: encodeEncryptedData({ nextNodeId: ids[1]! }) },
      { nodeId: ids[1]!, encryptedData: encodeEncryptedData({ pathId: utf8('reply-1') }) },
    ],
  });
  const wire = toWireBlindedPath(path);
  const enc = encodeBlindedPath(wire);
  const dec = decodeBlindedPath(enc);
  assert.ok(dec.ok);
  assert.equal(hex(encodeBlindedPath(dec.value)), hex(enc));
  assert.ok(!decodeBlindedPath(enc.subarray(0, enc.length - 1)).ok);

  const big = buildOnionMessage({
    sessionKey: fromHex('08'.repeat(32)),
    path,
    final: { unknown: [{ type: 65n, value: new Uint8Array(2000).fill(9) }] },
    replyPath: wire,
  });
  assert.ok(big.ok);
  assert.equal(big.value.packet.length, 32834);
  const step1 = readOnionMessage(big.value.pathKey, big.value.packet, ecdhWithSecret(bobKey));
  assert.ok(step1.ok && step1.value.type === 'forward');
  if (!step1.ok || step1.value.type !== 'forward') return;
  const step2 = readOnionMessage(step1.value.nextPathKey, step1.value.nextPacket, ecdhWithSecret(carolKey));
  assert.ok(step2.ok && step2.value.type === 'final');
  if (step2.ok && step2.value.type === 'final') {
    assert.equal(step2.value.payload.tlvs.unknown![0]!.value.length, 2000);
    assert.equal(hex(encodeBlindedPath(step2.value.payload.replyPath!)), hex(enc));
    assert.equal(hex(step2.value.pathId!), hex(utf8('reply-1')));
  }
  // Wrong node, wrong path key, tampered packet: ignored with a reason, never thrown.
  const wrong = readOnionMessage(big.value.pathKey, big.value.packet, ecdhWithSecret(carolKey));
  assert.ok(!wrong.ok && wrong.error.code === 'peel_failed');
  const tampered = Uint8Array.from(big.value.packet);
  tampered[500]! ^= 1;
  assert.ok(!readOnionMessage(big.value.pathKey, tampered, ecdhWithSecret(bobKey)).ok);
});

test('onion message reader rules: extra fields at a forward hop, path_id at a forward hop, no next hop, two payloads', () => {
  const bobKey = fromHex('42'.repeat(32));
  const carolKey = fromHex('43'.repeat(32));
  const bob = publicKeyOf(bobKey);
  const carol = publicKeyOf(carolKey);
  const send = (
    bobData: Uint8Array,
    final: Parameters<typeof buildOnionMessage>[0]['final'],
    lone = false,
  ) => {
    const { path } = createBlindedPath({
      sessionKey: fromHex('09'.repeat(32)),
      hops: lone
        ? [{ nodeId: bob, encryptedData: bobData }]
        : [
            { nodeId: bob, encryptedData: bobData },
            { nodeId: carol, encryptedData: encodeEncryptedData({ pathId: utf8('p') }) },
          ],
    });
    const b = buildOnionMessage({ sessionKey: fromHex('0a'.repeat(32)), path, ...(final ? { final } : {}) });
    assert.ok(b.ok);
    return readOnionMessage(b.value.pathKey, b.value.packet, ecdhWithSecret(bobKey));
  };
  const fwd = encodeEncryptedData({ nextNodeId: carol });
  assert.ok(send(fwd, undefined).ok);
  const pathIdAtForward = send(encodeEncryptedData({ nextNodeId: carol, pathId: utf8('x') }), undefined);
  assert.ok(!pathIdAtForward.ok && pathIdAtForward.error.code === 'forward_with_path_id');
  const nowhere = send(encodeEncryptedData({ padding: new Uint8Array(3) }), undefined);
  assert.ok(!nowhere.ok && nowhere.error.code === 'no_next_hop');
  const features = send(
    encodeEncryptedData({ nextNodeId: carol, allowedFeatures: fromHex('01') }),
    undefined,
  );
  assert.ok(!features.ok && features.error.code === 'unsupported_features');
  // Bob as the final hop receiving two payload fields (types >= 64) ignores the message.
  const two = send(
    encodeEncryptedData({ pathId: utf8('me') }),
    {
      unknown: [
        { type: 65n, value: utf8('a') },
        { type: 67n, value: utf8('b') },
      ],
    },
    true,
  );
  assert.ok(!two.ok && two.error.code === 'multiple_payloads');
  const oneField = send(
    encodeEncryptedData({ pathId: utf8('me') }),
    { unknown: [{ type: 65n, value: utf8('a') }] },
    true,
  );
  assert.ok(
    oneField.ok && oneField.value.type === 'final' && hex(oneField.value.pathId!) === hex(utf8('me')),
  );
});

test('onion message: a forward hop whose payload carries more than encrypted_recipient_data is ignored', () => {
  const bobKey = fromHex('42'.repeat(32));
  const bob = publicKeyOf(bobKey);
  const carol = publicKeyOf(fromHex('43'.repeat(32)));
  const { path } = createBlindedPath({
    sessionKey: fromHex('0b'.repeat(32)),
    hops: [{ nodeId: bob, encryptedData: encodeEncryptedData({ nextNodeId: carol }) }],
  });
  // Bob is told to forward, but the sender put an extra record in his payload and a next hop after him.
  const r = buildOnion({
    sessionKey: fromHex('0c'.repeat(32)),
    associatedData: new Uint8Array(0),
    kind: 'message',
    hops: [
      {
        publicKey: path.hops[0]!.blindedNodeId,
        payload: encodeTlvStream('onionmsg_tlv', {
          encrypted_recipient_data: { encrypted_recipient_data: path.hops[0]!.encryptedRecipientData },
          unknown: [{ type: 5n, value: utf8('x') }],
        }),
      },
      { publicKey: carol, payload: fromHex('0100') },
    ],
  });
  assert.ok(r.ok);
  const res = readOnionMessage(path.firstPathKey, r.value.packet, ecdhWithSecret(bobKey));
  assert.ok(!res.ok && res.error.code === 'forward_with_extra_fields');
});
