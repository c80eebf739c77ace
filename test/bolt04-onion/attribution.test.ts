// BOLT 4 "Test Vector" (in 04-onion-routing.md itself): returning errors with attribution data, and
// returning success. Parsed from the markdown, unchanged.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  ATTRIBUTION_DATA_SIZE,
  addAttribution,
  holdTimesFromAttribution,
  unwrapAttribution,
} from '../../src/bolt04-onion/attribution.ts';
import { decodeErrorPacket, rawErrorPacket, wrapErrorPacket } from '../../src/bolt04-onion/error-packet.ts';
import { encodeFailure } from '../../src/bolt04-onion/failure.ts';
import { sharedSecretsAlongRoute } from '../../src/bolt04-onion/keys.ts';
import { fromHex, hex } from '../../src/core/bytes.ts';
import { msat } from '../../src/core/units.ts';
import { sha256 } from '../../src/crypto/index.ts';
import { readBolt } from '../../src/testing/spec.ts';

const md = readBolt('04-onion-routing.md');
const section = md.slice(md.indexOf('# Test Vector'), md.indexOf('# References'));
const errorPart = section.slice(0, section.indexOf('## Returning success'));
const successPart = section.slice(section.indexOf('## Returning success'));

function all(re: RegExp, text: string): RegExpExecArray[] {
  return [...text.matchAll(new RegExp(re.source, 'g'))];
}
const one = (re: RegExp, text = errorPart) => {
  const m = re.exec(text);
  assert.ok(m, `vector field ${re.source}`);
  return m[1]!;
};

const pubkeys = all(/pubkey\[(\d)\] = 0x([0-9a-f]{66})/, errorPart).map((m) => fromHex(m[2]!));
// htlc_hold_time[k] is the k-th node to handle the return: the erring node (hop 4) first.
const holdTimes = all(/htlc_hold_time\[(\d)\] = (\d+)/, errorPart).map((m) => Number(m[2]));
const holdTimeOfHop = (hop: number) => holdTimes[pubkeys.length - 1 - hop]!;
const session = fromHex(one(/sessionkey = 0x([0-9a-f]{64})/));
const nodes = all(/error packet for node (\d): ([0-9a-f]+)/, errorPart).map((m) => ({
  node: Number(m[1]),
  packet: m[2]!,
}));
const attributions = new Map(
  all(/attribution data for node (\d): ([0-9a-f]+)/, errorPart).map((m) => [Number(m[1]), m[2]!] as const),
);
const successAttributions = new Map(
  all(/attribution data for node (\d):\s*\n([0-9a-f]+)/, successPart).map(
    (m) => [Number(m[1]), m[2]!] as const,
  ),
);

/**
 * Attribution data for a success, built hop by hop from the last node back to the first; `after` sees
 * (and may replace) what each node passes upstream.
 */
function successAttribution(
  secrets: Uint8Array[],
  after: (node: number, attribution: Uint8Array) => Uint8Array,
): Uint8Array {
  let attribution: Uint8Array | null = null;
  for (let node = 4; node >= 0; node--) {
    attribution = after(
      node,
      addAttribution({
        previous: attribution,
        returnPacket: new Uint8Array(0),
        holdTime: holdTimeOfHop(node),
        sharedSecret: secrets[node]!,
      }),
    );
  }
  return attribution!;
}

test('BOLT 4 test vector (markdown): the vector parses completely', () => {
  assert.equal(pubkeys.length, 5);
  assert.deepEqual(holdTimes, [1, 2, 3, 4, 5]);
  assert.equal(nodes.length, 5);
  assert.equal(attributions.size, 5);
  assert.equal(successAttributions.size, 5);
  for (const a of [...attributions.values(), ...successAttributions.values()]) {
    assert.equal(a.length / 2, ATTRIBUTION_DATA_SIZE);
  }
});

test('BOLT 4 test vector (markdown): error packets and attribution data at every node back to the origin', () => {
  const secrets = sharedSecretsAlongRoute(session, pubkeys).map((k) => k.sharedSecret);
  const shared = all(/shared_secret = ([0-9a-f]{64})/, errorPart).map((m) => m[1]!);
  assert.equal(shared[0], hex(secrets[4]!));
  // The failure message: incorrect_or_unknown_payment_details with a 300-byte odd TLV record.
  const failure = encodeFailure({
    failure: 'incorrect_or_unknown_payment_details',
    htlc_msat: msat(100),
    height: 800000,
    tlvs: { unknown: [{ type: 34001n, value: new Uint8Array(300).fill(128) }] },
  });
  const encoded = one(/encoded_failure_message = ([0-9a-f]+)/);
  assert.equal(hex(failure), encoded.slice(0, failure.length * 2));
  const raw = rawErrorPacket(secrets[4]!, failure, { padTo: 1024 });
  assert.equal(hex(raw), one(/raw_error_packet = ([0-9a-f]+)/));
  assert.equal(hex(raw.subarray(32)), one(/\tpayload = ([0-9a-f]+)/));

  let received = raw; // what the current node holds before its own stream
  let attribution: Uint8Array | null = null;
  for (const n of nodes) {
    const packet = wrapErrorPacket(secrets[n.node]!, received);
    assert.equal(hex(packet), n.packet, `error packet for node ${n.node}`);
    attribution = addAttribution({
      previous: attribution,
      returnPacket: received,
      holdTime: holdTimeOfHop(n.node),
      sharedSecret: secrets[n.node]!,
    });
    assert.equal(hex(attribution), attributions.get(n.node), `attribution data for node ${n.node}`);
    received = packet;
  }
  const decoded = decodeErrorPacket(secrets, received, { attributionData: attribution! });
  assert.ok(decoded.ok);
  assert.equal(decoded.value.hopIndex, 4);
  assert.deepEqual(decoded.value.holdTimes, [5, 4, 3, 2, 1]);
  assert.equal(decoded.value.attributionValidHops, 5);
});

test('BOLT 4 test vector (markdown): attribution data for a successful payment', () => {
  const secrets = sharedSecretsAlongRoute(session, pubkeys).map((k) => k.sharedSecret);
  const attribution = successAttribution(secrets, (node, a) => {
    assert.equal(hex(a), successAttributions.get(node), `success attribution for node ${node}`);
    return a;
  });
  assert.deepEqual(holdTimesFromAttribution(attribution, secrets), [5, 4, 3, 2, 1]);
});

test('attribution: a tampering hop is pinned down, the hops before it still verify', () => {
  const secrets = sharedSecretsAlongRoute(session, pubkeys).map((k) => k.sharedSecret);
  // Node 2 changes node 3's hold time in what it received, before adding its own part.
  const attribution = successAttribution(secrets, (node, a) =>
    node === 3 ? Uint8Array.from(a, (b, i) => (i === 3 ? b ^ 1 : b)) : a,
  );
  // Hops 0, 1 and 2 verify (node 2 signed the tampered bytes); node 3's HMACs then fail.
  assert.deepEqual(holdTimesFromAttribution(attribution, secrets), [5, 4, 3]);
  assert.equal(unwrapAttribution(new Uint8Array(10), new Uint8Array(0), secrets[0]!, 5), null);
});

test('property: any route up to 20 hops, any erring hop — attribution verifies every hop and returns the hold times', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 20 }),
      fc.nat(),
      fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { minLength: 20, maxLength: 20 }),
      (n, pick, times) => {
        const secrets = Array.from({ length: n }, (_, i) => sha256(new Uint8Array([n, i, 7])));
        const erring = pick % n;
        let received = rawErrorPacket(secrets[erring]!, fromHex('2002'));
        let attribution: Uint8Array | null = null;
        for (let hop = erring; hop >= 0; hop--) {
          attribution = addAttribution({
            previous: attribution,
            returnPacket: received,
            holdTime: times[hop]!,
            sharedSecret: secrets[hop]!,
          });
          received = wrapErrorPacket(secrets[hop]!, received);
        }
        const d = decodeErrorPacket(secrets, received, { attributionData: attribution! });
        assert.ok(d.ok);
        assert.equal(d.value.hopIndex, erring);
        assert.deepEqual(d.value.holdTimes, times.slice(0, erring + 1));
      },
    ),
    { numRuns: 25 },
  );
});
