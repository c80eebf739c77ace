// BOLT 1 Appendix B (TLV), C (message extension) and D (signed integers), read from the spec markdown.
// (Appendix A, BigSize, lives in test/core/bigsize.test.ts.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeFundamental,
  decodeMessage,
  decodeTlvStreamWith,
  defineTlvStream,
  encodeFundamental,
  encodeMessage,
  encodeTlvStreamWith,
  parseScid,
  type StreamDef,
  type WireErrorKind,
} from '../../src/bolt01-wire/index.ts';
import { decodeBigSize } from '../../src/core/bigsize.ts';
import { concat, fromHex, hex } from '../../src/core/bytes.ts';
import { readBolt } from '../../src/testing/spec.ts';
import { appendixStreams } from './appendix-table.ts';

const md = readBolt('01-messaging.md');

function section(start: string, end: string): string {
  const a = md.indexOf(start);
  const b = md.indexOf(end, a + 1);
  assert.ok(a >= 0 && b > a, `section ${start} not found`);
  return md.slice(a, b);
}

const streamHex = (s: string) => fromHex(s.replace(/^0x/, '').replace(/\s+/g, ''));

type Ns = 'n1' | 'n2';
// The test namespaces come from the generated test table, not the node's production table.
const NS: Readonly<Record<Ns, StreamDef>> = {
  n1: defineTlvStream('n1', appendixStreams.n1.records),
  n2: defineTlvStream('n2', appendixStreams.n2.records),
};
type BVector = {
  namespaces: Ns[];
  bytes: Uint8Array;
  valid: boolean;
  note: string;
  values: { record: string; field: string; value: string }[];
};

function appendixB(): BVector[] {
  const text = section('## Appendix B', '## Appendix C');
  const lines = text.split('\n');
  const out: BVector[] = [];
  let scope: Ns[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^The following TLV stream/.test(line)) {
      // The scope sentence may wrap: read it with the next line.
      const sentence = `${line} ${lines[i + 1] ?? ''}`;
      if (/any namespace|either namespace/.test(sentence)) scope = ['n1', 'n2'];
      else if (/namespace `n1`|`n1` namespace/.test(sentence)) scope = ['n1'];
      else if (/namespace `n2`|`n2` namespace/.test(sentence)) scope = ['n2'];
      else assert.fail(`cannot tell the namespace of: ${sentence}`);
    }
    const m = /^1\. (Invalid|Valid) stream: (0x[0-9a-f ]*)$/.exec(line);
    if (!m) continue;
    assert.ok(scope.length > 0, `vector before any namespace sentence: ${line}`);
    const second = lines[i + 1] ?? '';
    const values: BVector['values'] = [];
    const vm = /^2\. Values: (.*)$/.exec(second);
    if (vm) {
      let record = '';
      for (const tok of vm[1]!.split(/\s+/)) {
        const rec = /^`(tlv\d)`$/.exec(tok);
        if (rec) {
          record = rec[1]!;
          continue;
        }
        const fv = /^`([a-z_0-9]+)`=(.+)$/.exec(tok);
        assert.ok(fv, `cannot parse value token ${tok}`);
        values.push({ record, field: fv[1]!, value: fv[2]! });
      }
    }
    out.push({ namespaces: scope, bytes: streamHex(m[2]!), valid: m[1] === 'Valid', note: second, values });
  }
  return out;
}

/** The error kinds a reason in the appendix can mean for this engine. */
function expectedKinds(reason: string): WireErrorKind[] {
  if (/truncated|missing/.test(reason)) return ['truncated'];
  if (/not minimally encoded/.test(reason)) return ['non_minimal_bigsize'];
  if (/unknown even/.test(reason)) return ['tlv_unknown_even'];
  if (/is not minimal/.test(reason)) return ['non_minimal_truncated_int'];
  if (/encoding length/.test(reason)) return ['tlv_length_mismatch', 'truncated_int_too_long'];
  if (/not a valid point/.test(reason)) return ['invalid_point'];
  if (/ordering|duplicate/.test(reason)) return ['tlv_not_increasing'];
  assert.fail(`unmapped reason: ${reason}`);
}

function fieldMatches(actual: unknown, expected: string): boolean {
  if (/^\d+x\d+x\d+$/.test(expected)) {
    const scid = parseScid(expected);
    return scid.ok && actual === scid.value;
  }
  if (/^[0-9a-f]{66}$/.test(expected)) return actual instanceof Uint8Array && hex(actual) === expected;
  if (/^\d+$/.test(expected)) return BigInt(actual as number | bigint) === BigInt(expected);
  return false;
}

const vectorsB = appendixB();

test('BOLT 1 Appendix B: every TLV vector decodes or fails as the spec says', () => {
  let checked = 0;
  for (const v of vectorsB) {
    for (const ns of v.namespaces) {
      const r = decodeTlvStreamWith(NS[ns], v.bytes);
      const label = `${ns} ${hex(v.bytes)} (${v.note})`;
      if (!v.valid) {
        assert.equal(r.ok, false, `should fail: ${label}`);
        if (!r.ok) assert.ok(expectedKinds(v.note).includes(r.error.kind), `${label}: got ${r.error.kind}`);
      } else {
        assert.ok(
          r.ok,
          `should decode: ${label}: ${r.ok ? '' : JSON.stringify(r.error, (_, x) => (typeof x === 'bigint' ? `${x}` : x))}`,
        );
        const value = r.value as Record<string, Record<string, unknown> | undefined>;
        const known = Object.keys(value).filter((k) => k !== 'unknown');
        if (v.values.length === 0) assert.deepEqual(known, [], `${label}: should be ignored`);
        for (const e of v.values) {
          assert.ok(fieldMatches(value[e.record]?.[e.field], e.value), `${label}: ${e.record}.${e.field}`);
        }
        // Unknown odd records are kept, so re-encoding reproduces the exact bytes.
        assert.equal(hex(encodeTlvStreamWith(NS[ns], r.value)), hex(v.bytes), `${label}: re-encode`);
      }
      checked++;
    }
  }
  // 9 + 4 + 19 failures in n1 (+13 in n2), 7 ignored successes in both, 12 n1 successes, 4 + 1 ordering.
  assert.ok(vectorsB.length >= 50, `only ${vectorsB.length} vectors parsed`);
  assert.ok(checked >= vectorsB.length);
});

test('BOLT 1 Appendix B: appending an invalid stream to a valid one fails', () => {
  let pairs = 0;
  for (const ns of ['n1', 'n2'] as const) {
    const valid = vectorsB.filter((v) => v.valid && v.namespaces.includes(ns));
    const invalid = vectorsB.filter((v) => !v.valid && v.namespaces.includes(ns));
    for (const a of valid) {
      for (const b of invalid) {
        const r = decodeTlvStreamWith(NS[ns], concat(a.bytes, b.bytes));
        assert.equal(r.ok, false, `${ns}: ${hex(a.bytes)} + ${hex(b.bytes)}`);
        pairs++;
      }
    }
  }
  assert.ok(pairs > 100);
});

test('BOLT 1 Appendix B: appending a higher-numbered valid stream to a lower-numbered one decodes', () => {
  let pairs = 0;
  const firstType = (b: Uint8Array) => decodeBigSize(b, 0).value;
  for (const ns of ['n1', 'n2'] as const) {
    const valid = vectorsB.filter((v) => v.valid && v.namespaces.includes(ns) && v.bytes.length > 0);
    for (const a of valid) {
      for (const b of valid) {
        if (firstType(a.bytes) >= firstType(b.bytes)) continue;
        const joined = concat(a.bytes, b.bytes);
        const r = decodeTlvStreamWith(NS[ns], joined);
        assert.ok(r.ok, `${ns}: ${hex(a.bytes)} + ${hex(b.bytes)}`);
        assert.equal(hex(encodeTlvStreamWith(NS[ns], r.value)), hex(joined));
        pairs++;
      }
    }
  }
  assert.ok(pairs > 50);
});

test('BOLT 1 Appendix C: message extension on init', () => {
  const text = section('## Appendix C', '## Appendix D');
  const validPart = text.slice(text.indexOf('are valid:'), text.indexOf('are invalid:'));
  const invalidPart = text.slice(text.indexOf('are invalid:'));
  const bullets = (s: string) => [...s.matchAll(/^- `0x([0-9a-f]+)`/gm)].map((m) => m[1]!);
  const valid = bullets(validPart);
  const invalid = bullets(invalidPart);
  assert.equal(valid.length, 2);
  assert.equal(invalid.length, 3);
  for (const h of valid) {
    const r = decodeMessage(fromHex(h));
    assert.ok(r.ok, h);
    assert.equal(r.value.type, 'init');
    assert.equal(hex(encodeMessage(r.value)), h, 'extension bytes are kept for re-encoding');
  }
  for (const h of invalid) assert.equal(decodeMessage(fromHex(h)).ok, false, h);
});

test('BOLT 1 Appendix D: signed integers', () => {
  const text = section('## Appendix D', '## Acknowledgments');
  const block = /```json\n([\s\S]*?)```/.exec(text);
  assert.ok(block);
  const vectors = JSON.parse(block[1]!.replace(/"value": (-?\d+)/g, '"value": "$1"')) as {
    value: string;
    bytes: string;
  }[];
  assert.equal(vectors.length, 23);
  const typeFor = { 1: 's8', 2: 's16', 4: 's32', 8: 's64' } as const;
  for (const v of vectors) {
    const size = v.bytes.length / 2;
    const type = typeFor[size as 1 | 2 | 4 | 8];
    assert.ok(type, `unexpected width ${size}`);
    const value = type === 's64' ? BigInt(v.value) : Number(v.value);
    assert.equal(hex(encodeFundamental(type, value)), v.bytes, `${type} ${v.value}`);
    const back = decodeFundamental(type, fromHex(v.bytes));
    assert.ok(back.ok);
    assert.equal(back.value, value, `${type} ${v.bytes}`);
    // The vector uses the narrowest type: the value must not fit the next narrower one.
    const narrower = { 2: 's8', 4: 's16', 8: 's32' }[size as 2 | 4 | 8] as 's8' | 's16' | 's32' | undefined;
    if (narrower) assert.throws(() => encodeFundamental(narrower, Number(v.value)));
  }
});
