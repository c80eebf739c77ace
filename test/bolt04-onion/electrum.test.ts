// Cross-check against Electrum's lnonion (an independent implementation), driven through
// tools/electrum_onion.py under Debian's /usr/bin/python3. If Electrum cannot be imported this FAILS.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  createErrorPacket,
  decodeErrorPacket,
  wrapErrorPacket,
} from '../../src/bolt04-onion/error-packet.ts';
import { encodeFailure, type FailureInput } from '../../src/bolt04-onion/failure.ts';
import { ecdhWithSecret } from '../../src/bolt04-onion/keys.ts';
import { decodeHopPayload, encodeHopPayload, type HopPayload } from '../../src/bolt04-onion/payload.ts';
import { buildOnion, peelOnion } from '../../src/bolt04-onion/sphinx.ts';
import { fromHex, hex, u64be, utf8 } from '../../src/core/bytes.ts';
import { msat } from '../../src/core/units.ts';
import { publicKeyOf, sha256 } from '../../src/crypto/index.ts';
import { repoRoot } from '../../src/testing/spec.ts';
import { type Json, loadVector } from './vectors.ts';

const vector = loadVector('onion-test.json');

const PYTHON = '/usr/bin/python3';
const TOOL = join(repoRoot, 'tools', 'electrum_onion.py');

function electrum(requests: Json[]): Json[] {
  const r = spawnSync(PYTHON, [TOOL], {
    input: JSON.stringify(requests),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.error !== undefined) assert.fail(`cannot run ${PYTHON} ${TOOL}: ${r.error.message}`);
  if (r.status !== 0) {
    assert.fail(
      `Electrum cross-check unavailable (exit ${r.status}): ${r.stderr.trim()} — install python3-electrum`,
    );
  }
  const answers = JSON.parse(r.stdout) as Json[];
  assert.equal(answers.length, requests.length);
  return answers;
}

/** Deterministic key material per scenario, so failures reproduce. */
const det = (...parts: string[]) => sha256(utf8(parts.join('/')));

interface Scenario {
  keys: Uint8Array[];
  session: Uint8Array;
  ad: Uint8Array;
  payloads: HopPayload[];
}

const AMOUNTS = [0n, 1n, 255n, 256n, 65_535n, 1n << 32n, (1n << 40n) + 7n, 21_000_000n * 100_000_000_000n];

function scenario(n: number): Scenario {
  const keys = Array.from({ length: n }, (_, i) => det('electrum', String(n), 'node', String(i)));
  const payloads: HopPayload[] = keys.map((_, i) => {
    const amt = msat(AMOUNTS[(i + n) % AMOUNTS.length]!);
    const cltv = (700_000 + i * 40 + n) % 2 ** 32;
    if (i < n - 1)
      return { amtToForward: amt, outgoingCltvValue: cltv, shortChannelId: BigInt(n * 1000 + i) << 20n };
    return {
      amtToForward: amt,
      outgoingCltvValue: cltv,
      paymentData: { paymentSecret: det('secret', String(n)), totalMsat: msat(amt + BigInt(n)) },
    };
  });
  return { keys, session: det('session', String(n)), ad: det('payment-hash', String(n)), payloads };
}

function toElectrumFields(p: HopPayload): Json {
  return {
    ...(p.amtToForward !== undefined ? { amt_to_forward: p.amtToForward.toString() } : {}),
    ...(p.outgoingCltvValue !== undefined ? { outgoing_cltv_value: String(p.outgoingCltvValue) } : {}),
    ...(p.shortChannelId !== undefined ? { short_channel_id: hex(u64be(p.shortChannelId)) } : {}),
    ...(p.paymentData !== undefined
      ? {
          payment_data: {
            payment_secret: hex(p.paymentData.paymentSecret),
            total_msat: p.paymentData.totalMsat.toString(),
          },
        }
      : {}),
  };
}

const SIZES = [1, 2, 3, 5, 9, 14, 20];
const scenarios = SIZES.map(scenario);

function ours(s: Scenario) {
  const built = buildOnion({
    sessionKey: s.session,
    associatedData: s.ad,
    hops: s.keys.map((k, i) => ({ publicKey: publicKeyOf(k), payload: encodeHopPayload(s.payloads[i]!) })),
  });
  assert.ok(built.ok);
  return built.value;
}

const FAILURES: FailureInput[] = [
  { failure: 'temporary_node_failure' },
  { failure: 'incorrect_or_unknown_payment_details', htlc_msat: msat(123_456), height: 800_123 },
  { failure: 'fee_insufficient', htlc_msat: msat(99_000), channel_update: fromHex('0102'.repeat(65)) },
  { failure: 'invalid_onion_payload', type: 8n, offset: 3 },
  { failure: 'final_incorrect_cltv_expiry', cltv_expiry: 812_000 },
];

interface ErrorCase {
  s: Scenario;
  at: number;
  failure: Uint8Array;
  secrets: Uint8Array[];
}

/** One Electrum process for the whole file: its import alone takes about a second. */
function batch(): { answers: Json[]; errorCases: ErrorCase[] } {
  const requests: Json[] = [];
  for (const s of scenarios) {
    const common = { associated_data: hex(s.ad) };
    requests.push({
      op: 'build',
      pubkeys: s.keys.map((k) => hex(publicKeyOf(k))),
      session_key: hex(s.session),
      payloads: s.payloads.map(toElectrumFields),
      ...common,
    });
    requests.push({ op: 'peel_chain', onion: hex(ours(s).packet), privkeys: s.keys.map(hex), ...common });
    requests.push({
      op: 'shared_secrets',
      pubkeys: s.keys.map((k) => hex(publicKeyOf(k))),
      session_key: hex(s.session),
    });
  }
  const s4 = scenarios[4]!;
  requests.push({
    op: 'build',
    pubkeys: s4.keys.map((k) => hex(publicKeyOf(k))),
    session_key: hex(det('other-session')),
    payloads: s4.payloads.map(toElectrumFields),
    associated_data: hex(s4.ad),
  });
  const tampered = ours(s4).packet.slice();
  tampered[700]! ^= 0x80;
  requests.push({
    op: 'peel_chain',
    onion: hex(tampered),
    privkeys: [hex(s4.keys[0]!)],
    associated_data: hex(s4.ad),
  });
  const errorCases = errorRequests(requests);
  // Last: Electrum peels the spec's onion-test.json vector with the vector's node keys.
  requests.push({
    op: 'peel_chain',
    onion: vector.onion,
    privkeys: vector.decode,
    associated_data: vector.generate.associated_data,
  });
  return { answers: electrum(requests), errorCases };
}

let cached: ReturnType<typeof batch> | null = null;
const results = () => {
  cached ??= batch();
  return cached;
};
const ROUTE_ANSWERS = 3 * SIZES.length;

test('Electrum: onions built here and there are identical; Electrum peels ours hop by hop', () => {
  const { answers } = results();
  let hopsChecked = 0;
  for (const [si, s] of scenarios.entries()) {
    const [build, peel, secrets] = answers.slice(si * 3, si * 3 + 3);
    const mine = ours(s);
    assert.equal(build.onion, hex(mine.packet), `${s.keys.length} hops: same packet`);
    assert.deepEqual(
      secrets.secrets,
      mine.hopKeys.map((k) => hex(k.sharedSecret)),
    );
    assert.equal(peel.hops.length, s.keys.length);
    let onion = mine.packet;
    for (const [i, hop] of peel.hops.entries()) {
      assert.equal(hop.error, undefined, `Electrum peel hop ${i}: ${hop.error}`);
      const r = peelOnion(onion, ecdhWithSecret(s.keys[i]!), s.ad);
      assert.ok(r.ok);
      assert.equal(hop.final, r.value.type === 'final', `hop ${i} finality`);
      assert.deepEqual(
        hop.payload,
        toElectrumFields(s.payloads[i]!),
        `hop ${i} payload as Electrum reads it`,
      );
      const decoded = decodeHopPayload(r.value.payload);
      assert.ok(decoded.ok);
      assert.deepEqual(toElectrumFields(decoded.value), hop.payload, `hop ${i} payload as we read it`);
      if (r.value.type === 'forward') {
        assert.equal(hop.next_onion, hex(r.value.nextOnion), `hop ${i} next onion`);
        onion = r.value.nextOnion;
      }
      hopsChecked++;
    }
  }
  assert.equal(
    hopsChecked,
    SIZES.reduce((a, b) => a + b, 0),
  );
});

test('Electrum: onions built by Electrum peel here, and tampering is refused on both sides', () => {
  const s = scenarios[4]!;
  const [build, peel] = results().answers.slice(ROUTE_ANSWERS, ROUTE_ANSWERS + 2);
  assert.notEqual(build.onion, hex(ours(s).packet), 'a different session key gives a different onion');
  let onion = fromHex(build.onion);
  for (const [i, k] of s.keys.entries()) {
    const r = peelOnion(onion, ecdhWithSecret(k), s.ad);
    assert.ok(r.ok, `hop ${i}`);
    const d = decodeHopPayload(r.value.payload);
    assert.ok(d.ok);
    assert.deepEqual(toElectrumFields(d.value), toElectrumFields(s.payloads[i]!));
    if (r.value.type === 'forward') onion = r.value.nextOnion;
    else assert.equal(i, s.keys.length - 1);
  }
  const tampered = ours(s).packet.slice();
  tampered[700]! ^= 0x80;
  assert.equal(peel.hops[0].error, 'InvalidOnionMac');
  const r = peelOnion(tampered, ecdhWithSecret(s.keys[0]!), s.ad);
  assert.ok(!r.ok && r.error.code === 'invalid_onion_hmac');
});

function errorRequests(requests: Json[]): ErrorCase[] {
  const cases: ErrorCase[] = [];
  for (const [si, s] of scenarios.entries()) {
    const secrets = ours(s).hopKeys.map((k) => k.sharedSecret);
    for (const at of new Set([0, Math.floor(s.keys.length / 2), s.keys.length - 1])) {
      const failure = encodeFailure(FAILURES[(si + at) % FAILURES.length]!);
      cases.push({ s, at, failure, secrets });
      // Here -> Electrum: we create at hop `at` and wrap back, Electrum decodes.
      let packet = createErrorPacket(secrets[at]!, failure);
      for (let i = at - 1; i >= 0; i--) packet = wrapErrorPacket(secrets[i]!, packet);
      requests.push({
        op: 'error_decode',
        packet: hex(packet),
        pubkeys: s.keys.map((k) => hex(publicKeyOf(k))),
        session_key: hex(s.session),
      });
      // Electrum -> here: Electrum creates at hop `at` from the onion that hop received, wraps back.
      let onion = ours(s).packet;
      for (let i = 0; i < at; i++) {
        const r = peelOnion(onion, ecdhWithSecret(s.keys[i]!), s.ad);
        assert.ok(r.ok && r.value.type === 'forward');
        onion = r.value.nextOnion;
      }
      requests.push({
        op: 'error_return',
        onion: hex(onion),
        privkey: hex(s.keys[at]!),
        failure_message: hex(failure),
        upstream_secrets: secrets.slice(0, at).reverse().map(hex),
      });
    }
  }
  return cases;
}

test('Electrum: it peels the onion-test.json vector to the same payloads and next onions as we do', () => {
  const { answers } = results();
  const theirs = answers[answers.length - 1]!;
  assert.equal(theirs.hops.length, vector.decode.length);
  let onion = fromHex(vector.onion);
  const ad = fromHex(vector.generate.associated_data);
  for (const [i, hop] of theirs.hops.entries()) {
    assert.equal(hop.error, undefined, `Electrum peels vector hop ${i}`);
    const r = peelOnion(onion, ecdhWithSecret(fromHex(vector.decode[i])), ad);
    assert.ok(r.ok);
    assert.equal(hop.final, r.value.type === 'final');
    const d = decodeHopPayload(r.value.payload);
    assert.ok(d.ok);
    assert.deepEqual(toElectrumFields(d.value), hop.payload, `vector hop ${i} payload`);
    if (r.value.type === 'forward') {
      assert.equal(hop.next_onion, hex(r.value.nextOnion));
      onion = r.value.nextOnion;
    }
  }
});

test('Electrum: error packets made here are attributed there, and vice versa', () => {
  const { answers: all, errorCases: cases } = results();
  const answers = all.slice(ROUTE_ANSWERS + 2, all.length - 1);
  for (const [ci, c] of cases.entries()) {
    const theirs = answers[ci * 2]!;
    assert.equal(theirs.error, undefined, `Electrum decodes our error: ${theirs.error}`);
    assert.equal(theirs.index, c.at);
    assert.equal(theirs.failure_message, hex(c.failure));
    const decoded = decodeErrorPacket(c.secrets, fromHex(answers[ci * 2 + 1]!.packet));
    assert.ok(decoded.ok, 'we decode Electrum error');
    assert.equal(decoded.value.hopIndex, c.at);
    assert.equal(hex(decoded.value.failureMessage), hex(c.failure));
    assert.ok(decoded.value.failure.ok);
  }
  assert.ok(cases.length >= 15);
});
