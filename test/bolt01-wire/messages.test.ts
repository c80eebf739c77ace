// The public API: peer-message helpers, unknown-type rules, type ranges, errors, failure messages, scids.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  decodeFailureMessage,
  decodeMessage,
  decodeTlvStream,
  defineTlvStream,
  describeWireError,
  encodeFailureMessage,
  encodeMessage,
  encodeTlvStream,
  encodeTlvStreamWith,
  errorText,
  failureFlags,
  isMessage,
  makeError,
  makeInit,
  makePeerStorage,
  makePing,
  makeScid,
  makeWarning,
  mergeFeatureBytes,
  messageNameOf,
  messageTypeRange,
  parseScid,
  peekMessageType,
  pongFor,
  pongMatches,
  readInit,
  refersToAllChannels,
  scidParts,
  scidToString,
  unknownMessageAction,
  WireEncodeError,
  type WireMessage,
} from '../../src/bolt01-wire/index.ts';
import { defaultInitFeatures } from '../../src/bolt09-features/index.ts';
import { fromHex, hex } from '../../src/core/bytes.ts';
import { msat } from '../../src/core/units.ts';
import { readBolt, repoRoot } from '../../src/testing/spec.ts';
import { appendixStreams } from './appendix-table.ts';

function decodeOk(bytes: Uint8Array): WireMessage {
  const r = decodeMessage(bytes);
  assert.ok(r.ok, r.ok ? '' : describeWireError(r.error));
  return r.value;
}

const BITCOIN = fromHex('6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000');

test('init: byte layout, merged features, networks and remote_addr', () => {
  const msg = makeInit({
    features: defaultInitFeatures().toBytes(),
    networks: [BITCOIN],
    remoteAddr: fromHex('017f0000012607'),
  });
  const bytes = encodeMessage(msg);
  assert.equal(hex(bytes.subarray(0, 4)), '00100000', 'type 16, gflen 0');
  const back = decodeOk(bytes);
  assert.ok(isMessage(back, 'init'));
  const info = readInit(back);
  assert.equal(hex(info.features), hex(defaultInitFeatures().toBytes()));
  assert.deepEqual(info.networks, [BITCOIN]);
  assert.equal(hex(info.remoteAddr!), '017f0000012607');
  assert.deepEqual(info.remoteAddress, { kind: 'ipv4', addr: Uint8Array.of(127, 0, 0, 1), port: 9735 });
  const viaDescriptor = makeInit({
    features: new Uint8Array(0),
    remoteAddr: { kind: 'dns', hostname: 'a.b', port: 1 },
  });
  assert.equal(hex(viaDescriptor.tlvs!.remote_addr!.data), '0503612e620001');
  // Global and local feature bits are OR-ed, right-aligned.
  const legacy = decodeOk(
    encodeMessage({ type: 'init', globalfeatures: fromHex('2200'), features: fromHex('01') }),
  );
  assert.ok(isMessage(legacy, 'init'));
  assert.equal(hex(readInit(legacy).features), '2201');
  assert.equal(readInit(legacy).networks, null);
  assert.equal(hex(mergeFeatureBytes(fromHex('0001'), fromHex('80'))), '81');
});

test('error and warning: all-channel id, printable text, hex otherwise', () => {
  const e = decodeOk(encodeMessage(makeError('bad signature')));
  assert.ok(isMessage(e, 'error'));
  assert.ok(refersToAllChannels(e));
  assert.equal(errorText(e), 'bad signature');
  const w = decodeOk(encodeMessage(makeWarning(fromHex('00ff'), new Uint8Array(32).fill(7))));
  assert.ok(isMessage(w, 'warning'));
  assert.ok(!refersToAllChannels(w));
  assert.equal(errorText(w), '0x00ff');
  assert.equal(hex(encodeMessage(makeWarning('x')).subarray(0, 2)), '0001');
});

test('ping/pong: pong size follows num_pong_bytes; >= 65532 means no reply', () => {
  const ping = decodeOk(encodeMessage(makePing(10, 3)));
  assert.ok(isMessage(ping, 'ping'));
  assert.equal(ping.ignored.length, 3);
  const pong = pongFor(ping);
  assert.ok(pong);
  const pongBack = decodeOk(encodeMessage(pong));
  assert.ok(isMessage(pongBack, 'pong'));
  assert.ok(pongMatches(pongBack, 10));
  assert.ok(!pongMatches(pongBack, 11));
  const big = decodeOk(encodeMessage(makePing(65532)));
  assert.ok(isMessage(big, 'ping'));
  assert.equal(pongFor(big), null);
  const edge = decodeOk(encodeMessage(makePing(65531)));
  assert.ok(isMessage(edge, 'ping'));
  assert.equal(pongFor(edge)?.ignored.length, 65531);
});

test('peer_storage: blob limit and layout', () => {
  const bytes = encodeMessage(makePeerStorage(fromHex('abcd')));
  assert.equal(hex(bytes), '00070002abcd');
  assert.throws(() => makePeerStorage(new Uint8Array(65532)), RangeError);
  const max = encodeMessage(makePeerStorage(new Uint8Array(65531)));
  assert.equal(max.length, 65535);
});

test('encoder refuses values that do not fit, and messages over 65535 bytes', () => {
  assert.throws(() => encodeMessage({ type: 'pong', ignored: new Uint8Array(65532) }), WireEncodeError);
  assert.equal(encodeMessage({ type: 'pong', ignored: new Uint8Array(65531) }).length, 65535);
  assert.throws(
    () => encodeMessage({ type: 'error', channel_id: new Uint8Array(31), data: new Uint8Array(0) }),
    WireEncodeError,
  );
  assert.throws(
    () => encodeMessage({ type: 'ping', num_pong_bytes: 70000, ignored: new Uint8Array(0) }),
    WireEncodeError,
  );
  assert.throws(() => encodeMessage({ type: 'nope' } as never), WireEncodeError);
  assert.throws(
    () =>
      encodeMessage({
        type: 'ping',
        num_pong_bytes: 1,
        ignored: new Uint8Array(0),
        tlvs: {
          unknown: [
            { type: 3n, value: new Uint8Array(0) },
            { type: 3n, value: new Uint8Array(0) },
          ],
        },
      }),
    WireEncodeError,
  );
});

test('unknown messages: odd ignored, even closes; ranges per BOLT 1', () => {
  assert.equal(unknownMessageAction(32769), 'ignore');
  assert.equal(unknownMessageAction(32768), 'close_connection');
  const r = decodeMessage(fromHex('8001aabb'));
  assert.deepEqual(r, { ok: false, error: { kind: 'unknown_message', type: 0x8001, action: 'ignore' } });
  const even = decodeMessage(fromHex('0064'));
  assert.ok(!even.ok && even.error.kind === 'unknown_message' && even.error.action === 'close_connection');
  assert.equal(messageTypeRange(16), 'setup_control');
  assert.equal(messageTypeRange(32), 'channel');
  assert.equal(messageTypeRange(127), 'channel');
  assert.equal(messageTypeRange(128), 'commitment');
  assert.equal(messageTypeRange(258), 'routing');
  assert.equal(messageTypeRange(513), 'unassigned');
  assert.equal(messageTypeRange(40000), 'custom');
  assert.equal(peekMessageType(fromHex('0010')), 16);
  assert.equal(peekMessageType(fromHex('00')), null);
  assert.equal(messageNameOf(136), 'channel_reestablish');
  assert.equal(messageNameOf(1000), undefined);
  // Every table message sits in the BOLT 1 group its number says, except onion_message (513).
  assert.equal(decodeMessage(new Uint8Array(1)).ok, false);
});

test('known message too short: truncated, naming the field', () => {
  const r = decodeMessage(fromHex('0012000a0005aa'));
  assert.deepEqual(r, { ok: false, error: { kind: 'truncated', at: 'ping.ignored' } });
  assert.equal(describeWireError(r.ok ? (undefined as never) : r.error), 'truncated input at ping.ignored');
});

test('messages without a declared stream still take BOLT 1 extensions (odd kept, even refused)', () => {
  const base = encodeMessage({ type: 'update_fee', channel_id: new Uint8Array(32), feerate_per_kw: 253 });
  const withOdd = new Uint8Array([...base, 0x0b, 0x01, 0x2a]);
  const r = decodeOk(withOdd);
  assert.ok(isMessage(r, 'update_fee'));
  assert.deepEqual(r.tlvs, { unknown: [{ type: 11n, value: fromHex('2a') }] });
  assert.equal(hex(encodeMessage(r)), hex(withOdd));
  const withEven = new Uint8Array([...base, 0x0a, 0x00]);
  const e = decodeMessage(withEven);
  assert.ok(!e.ok && e.error.kind === 'tlv_unknown_even');
});

test('BOLT 2 tlvs attached by name: update_add_htlc path_key, channel_reestablish next_funding', () => {
  const point = fromHex('023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb');
  const add = {
    type: 'update_add_htlc' as const,
    channel_id: new Uint8Array(32),
    id: 5n,
    amount_msat: msat(1000n),
    payment_hash: new Uint8Array(32).fill(1),
    cltv_expiry: 800000,
    onion_routing_packet: new Uint8Array(1366),
    tlvs: { blinded_path: { path_key: point } },
  };
  const bytes = encodeMessage(add);
  assert.equal(bytes.length, 2 + 32 + 8 + 8 + 32 + 4 + 1366 + 2 + 33);
  assert.deepEqual(decodeOk(bytes), add);
});

test('BOLT 4 failure messages: codes, flags, data and extension', () => {
  const f = {
    failure: 'incorrect_or_unknown_payment_details' as const,
    htlc_msat: msat(1000n),
    height: 800000,
  };
  const bytes = encodeFailureMessage(f);
  assert.equal(hex(bytes), `400f${'00000000000003e8'}${'000c3500'}`);
  assert.deepEqual(decodeFailureMessage(bytes), { ok: true, value: { ...f, tlvs: {} } });
  const upd = encodeFailureMessage({ failure: 'temporary_channel_failure', channel_update: fromHex('0102') });
  assert.equal(hex(upd), '100700020102');
  assert.deepEqual(failureFlags(0xc005), { badonion: true, perm: true, node: false, update: false });
  assert.deepEqual(decodeFailureMessage(fromHex('4099')), {
    ok: false,
    error: { kind: 'unknown_failure', code: 0x4099 },
  });
  const payload = decodeFailureMessage(fromHex('4016fd01000002'));
  assert.ok(payload.ok);
  assert.deepEqual(payload.value, { failure: 'invalid_onion_payload', type: 256n, offset: 2, tlvs: {} });
});

test('BOLT 4 onion payload stream: tu64/tu32 minimal, payment_data', () => {
  const payload = {
    amt_to_forward: { amt_to_forward: msat(1000n) },
    outgoing_cltv_value: { outgoing_cltv_value: 144 },
    payment_data: { payment_secret: new Uint8Array(32).fill(9), total_msat: msat(5000n) },
  };
  const bytes = encodeTlvStream('payload', payload);
  assert.equal(hex(bytes.subarray(0, 8)), '020203e804019008');
  assert.deepEqual(decodeTlvStream('payload', bytes), { ok: true, value: payload });
  const nonMinimal = decodeTlvStream('payload', fromHex('02020001'));
  assert.ok(!nonMinimal.ok && nonMinimal.error.kind === 'non_minimal_truncated_int');
});

test('short_channel_id helpers (BOLT 7 format)', () => {
  const s = makeScid({ block: 539268, txIndex: 845, outputIndex: 1 });
  assert.equal(scidToString(s), '539268x845x1');
  assert.deepEqual(scidParts(s), { block: 539268, txIndex: 845, outputIndex: 1 });
  assert.deepEqual(parseScid('539268x845x1'), { ok: true, value: s });
  assert.equal(parseScid('16777216x0x0').ok, false);
  assert.equal(parseScid('1x2').ok, false);
});

test('every `BOLT #n:` comment in our code quotes the spec exactly (whitespace aside)', () => {
  const norm = (s: string) => s.replace(/\s+/g, ' ').trim();
  const files = ['src/bolt01-wire', 'src/bolt09-features'].flatMap((d) =>
    readdirSync(join(repoRoot, d)).map((f) => join(repoRoot, d, f)),
  );
  let quotes = 0;
  for (const file of files) {
    const lines = readFileSync(file, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const m = /^\s*\/\/ BOLT #(\d+):\s*$/.exec(lines[i]!);
      if (!m) continue;
      const quoted: string[] = [];
      for (let j = i + 1; j < lines.length && /^\s*\/\/ /.test(lines[j]!); j++) {
        quoted.push(lines[j]!.replace(/^\s*\/\/ /, ''));
      }
      const n = m[1]!.padStart(2, '0');
      const bolt = readdirSync(join(repoRoot, '..', 'shared', 'spec', 'bolts')).find((f) =>
        f.startsWith(`${n}-`),
      )!;
      const spec = norm(readBolt(bolt));
      for (const q of quoted)
        assert.ok(spec.includes(norm(q)), `${file}:${i + 1}: not in BOLT #${m[1]}: ${q}`);
      quotes++;
    }
  }
  assert.ok(quotes >= 5, `only ${quotes} quotes found`);
});

test('encoder refuses invalid points (encodings always decode)', () => {
  // BOLT 1 Appendix B's n1 (from the test table): tlv3 carries a point.
  const n1 = defineTlvStream('n1', appendixStreams.n1.records);
  const notOnCurve = fromHex(`02${'00'.repeat(32)}`);
  assert.throws(
    () => encodeTlvStreamWith(n1, { tlv3: { node_id: notOnCurve, amount_msat_1: 1n, amount_msat_2: 2n } }),
    WireEncodeError,
  );
  assert.throws(
    () =>
      encodeTlvStreamWith(n1, {
        tlv3: { node_id: new Uint8Array(33), amount_msat_1: 1n, amount_msat_2: 2n },
      }),
    WireEncodeError,
  );
  const long = errorText({ data: new Uint8Array(65000).fill(0x41) });
  assert.equal(long.length, 65000);
});

test('ignoreInvalidExtension: non-TLV trailing bytes on a stream-less message are ignored on request', () => {
  const base = encodeMessage({ type: 'update_fee', channel_id: new Uint8Array(32), feerate_per_kw: 253 });
  const garbage = new Uint8Array([...base, 0x02, 0x05, 0x01]);
  assert.equal(decodeMessage(garbage).ok, false, 'strict by default');
  const lenient = decodeMessage(garbage, { ignoreInvalidExtension: true });
  assert.ok(lenient.ok && isMessage(lenient.value, 'update_fee'));
  assert.deepEqual(lenient.value.tlvs, {});
  assert.equal(lenient.value.feerate_per_kw, 253);
  // A declared stream (init) is still validated: an invalid init extension is refused either way.
  assert.equal(decodeMessage(fromHex('001000000000ca012a'), { ignoreInvalidExtension: true }).ok, false);
  // A valid extension is still read.
  const odd = decodeMessage(new Uint8Array([...base, 0x0b, 0x00]), { ignoreInvalidExtension: true });
  assert.ok(odd.ok);
  assert.deepEqual(odd.value.tlvs, { unknown: [{ type: 11n, value: new Uint8Array(0) }] });
});
