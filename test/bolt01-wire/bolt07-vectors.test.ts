// BOLT 7 extended gossip query vectors (../shared/spec/bolts/bolt07/extended-queries.json), decoded and
// re-encoded by the generic engine. Short id and timestamp payloads are checked after inflating the zlib
// ones, to show the bytes pass through untouched.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { inflateSync } from 'node:zlib';
import { decodeMessage, encodeMessage, scidToString, type WireMessage } from '../../src/bolt01-wire/index.ts';
import { fromHex, hex, readU32be, readU64be } from '../../src/core/bytes.ts';
import { specPath } from '../../src/testing/spec.ts';

type Want = {
  type: string;
  chainHash: string;
  firstBlockNum: number;
  numberOfBlocks: number;
  complete: number;
  tlvStream: { records: unknown[] };
  shortChannelIds: { array: string[]; encoding: string };
  checksums?: { checksums: { checksum1: number; checksum2: number }[] };
  timestamps?: { encoding: string; timestamps: { timestamp1: number; timestamp2: number }[] };
};
type Vector = { hex: string; msg: Want };
const vectors = JSON.parse(
  readFileSync(specPath('bolts', 'bolt07', 'extended-queries.json'), 'utf8'),
) as Vector[];

const NAMES: Record<string, WireMessage['type']> = {
  QueryChannelRange: 'query_channel_range',
  ReplyChannelRange: 'reply_channel_range',
  QueryShortChannelIds: 'query_short_channel_ids',
};

/** BOLT 7 encoding byte: 0 uncompressed, 1 zlib (deprecated but still in the vectors). */
function payload(encoded: Uint8Array): { encoding: string; data: Uint8Array } {
  const data = encoded.subarray(1);
  if (encoded[0] === 0) return { encoding: 'UNCOMPRESSED', data };
  assert.equal(encoded[0], 1);
  return { encoding: 'COMPRESSED_ZLIB', data: new Uint8Array(inflateSync(data)) };
}

function scids(encoded: Uint8Array): { encoding: string; array: string[] } {
  const { encoding, data } = payload(encoded);
  const array: string[] = [];
  for (let i = 0; i < data.length; i += 8) array.push(scidToString(readU64be(data, i)));
  return { encoding, array };
}

test(`BOLT 7 extended-queries.json: ${vectors.length} vectors decode, match and re-encode`, () => {
  assert.equal(vectors.length, 10);
  for (const v of vectors) {
    const bytes = fromHex(v.hex);
    const r = decodeMessage(bytes);
    assert.ok(r.ok, v.hex);
    const m = r.value;
    assert.equal(m.type, NAMES[v.msg.type]);
    assert.equal(hex(encodeMessage(m)), v.hex, 're-encodes byte for byte');
    const want = v.msg;
    if (m.type === 'query_channel_range') {
      assert.equal(hex(m.chain_hash), want.chainHash);
      assert.equal(m.first_blocknum, want.firstBlockNum);
      assert.equal(m.number_of_blocks, want.numberOfBlocks);
      const records = want.tlvStream.records;
      if (records.length === 0) assert.equal(m.tlvs.query_option, undefined);
      else assert.equal(m.tlvs.query_option?.query_option_flags, 3n, 'WANT_TIMESTAMPS | WANT_CHECKSUMS');
    } else if (m.type === 'reply_channel_range') {
      assert.equal(hex(m.chain_hash), want.chainHash);
      assert.equal(m.first_blocknum, want.firstBlockNum);
      assert.equal(m.number_of_blocks, want.numberOfBlocks);
      assert.equal(m.sync_complete, want.complete);
      assert.deepEqual(scids(m.encoded_short_ids), want.shortChannelIds);
      if (want.checksums) {
        const got = m.tlvs.checksums_tlv?.checksums.map((c) => ({
          checksum1: c.checksum_node_id_1,
          checksum2: c.checksum_node_id_2,
        }));
        assert.deepEqual(got, want.checksums.checksums);
      }
      if (want.timestamps) {
        const t = m.tlvs.timestamps_tlv;
        assert.ok(t);
        const { encoding, data } = payload(Uint8Array.of(t.encoding_type, ...t.encoded_timestamps));
        const stamps = [];
        for (let i = 0; i < data.length; i += 8)
          stamps.push({ timestamp1: readU32be(data, i), timestamp2: readU32be(data, i + 4) });
        assert.deepEqual({ encoding, timestamps: stamps }, want.timestamps);
      }
    } else if (m.type === 'query_short_channel_ids') {
      assert.equal(hex(m.chain_hash), want.chainHash);
      assert.deepEqual(scids(m.encoded_short_ids), want.shortChannelIds);
      const records = want.tlvStream.records as { array: number[]; encoding: string }[];
      if (records.length === 0) assert.equal(m.tlvs.query_flags, undefined);
      else {
        const q = m.tlvs.query_flags;
        assert.ok(q);
        const { encoding, data } = payload(Uint8Array.of(q.encoding_type, ...q.encoded_query_flags));
        // Flags are bigsizes; these are all one byte.
        assert.deepEqual({ encoding, array: [...data] }, records[0]);
      }
    } else {
      assert.fail(`unexpected ${m.type}`);
    }
  }
});
