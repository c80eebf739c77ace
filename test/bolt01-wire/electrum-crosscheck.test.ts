// Cross-check against an independent implementation: Electrum's lnmsg (python3-electrum, Debian's system
// Python) decodes what our engine encodes, field by field, and re-encodes it to the same bytes.
// Only messages whose layout in Electrum's peer_wire.csv is identical to the table are compared (Electrum's
// copy of the spec is older); the rest are counted and reported, not silently passed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  encodeFundamental,
  encodeMessage,
  type FundamentalType,
  specTable,
} from '../../src/bolt01-wire/index.ts';
import type { FieldDef } from '../../src/bolt01-wire/types.ts';
import { concat, hex } from '../../src/core/bytes.ts';
import { repoRoot } from '../../src/testing/spec.ts';
import { fields as fieldsArb } from './arbitraries.ts';

const PYTHON = '/usr/bin/python3';
const TOOL = 'tools/wire-electrum.py';
const ELECTRUM_TYPES = new Set([
  'byte',
  'u8',
  'u16',
  'u32',
  'u64',
  'tu16',
  'tu32',
  'tu64',
  'chain_hash',
  'channel_id',
  'sha256',
  'signature',
  'point',
  'short_channel_id',
]);

function python(args: string[], input = ''): string | null {
  const run = spawnSync(PYTHON, [TOOL, ...args], {
    cwd: repoRoot,
    input,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (run.status !== 0) return null;
  return run.stdout;
}

type ElectrumMessage = { type: number; fields: [string, string, string, string][]; tlvs: string | null };
type Decoded = {
  ok: boolean;
  name?: string;
  fields?: Record<string, unknown>;
  reencoded?: string;
  error?: string;
};

const available = existsSync(PYTHON) && python(['schema']) !== null;

test('cross-check with Electrum lnmsg: our encodings decode identically and re-encode byte for byte', {
  skip: available ? false : 'python3-electrum is not installed (counted as not run)',
}, (t) => {
  const schema = JSON.parse(python(['schema'])!) as { messages: Record<string, ElectrumMessage> };
  const ours = specTable.messages as unknown as Record<string, { type: number; fields: readonly FieldDef[] }>;
  const comparable: string[] = [];
  const differing: string[] = [];
  for (const [name, m] of Object.entries(ours)) {
    const e = schema.messages[name];
    if (!e) continue;
    const same =
      e.type === m.type &&
      e.fields.length === m.fields.length &&
      e.fields.every(([fname, ftype, count, option], i) => {
        const f = m.fields[i]!;
        const ourCount = f.count === undefined ? '' : String(f.count);
        return (
          fname === f.name && ftype === f.type && count === ourCount && option === '' && f.trunc === undefined
        );
      }) &&
      m.fields.every((f) => ELECTRUM_TYPES.has(f.type));
    (same ? comparable : differing).push(name);
  }
  t.diagnostic(`compared ${comparable.length} messages: ${comparable.join(', ')}`);
  t.diagnostic(`not compared (layout differs in Electrum's older CSV): ${differing.join(', ')}`);
  assert.ok(comparable.length >= 15, `only ${comparable.length} comparable messages`);

  const cases: { name: string; value: Record<string, unknown>; bytes: Uint8Array }[] = [];
  comparable.forEach((name, i) => {
    for (const v of fc.sample(fieldsArb(ours[name]!.fields), { numRuns: 15, seed: 77 + i })) {
      const value = { type: name, ...v, tlvs: {} };
      cases.push({ name, value, bytes: encodeMessage(value as never) });
    }
  });
  const out = python(['decode'], cases.map((c) => hex(c.bytes)).join('\n'));
  assert.ok(out !== null, 'electrum decode failed to run');
  const results = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Decoded);
  assert.equal(results.length, cases.length);
  cases.forEach((c, i) => {
    const r = results[i]!;
    assert.ok(r.ok, `${c.name} ${hex(c.bytes)}: ${r.error}`);
    assert.equal(r.name, c.name);
    assert.equal(r.reencoded, hex(c.bytes), `${c.name}: Electrum re-encodes the same bytes`);
    const defs = ours[c.name]!.fields;
    for (const f of defs) {
      const got = r.fields![f.name];
      const lengthOf = defs.find((g) => g.count === f.name);
      let want: string;
      if (lengthOf) {
        const arr = c.value[lengthOf.name] as Uint8Array | unknown[];
        want = String(arr.length);
      } else {
        const v = c.value[f.name];
        // Electrum reads a lone `byte` as one raw byte, other integers as ints.
        if (f.type === 'byte' && typeof v === 'number') want = hex(Uint8Array.of(v));
        // ... and short_channel_id as its 8 raw bytes.
        else if (f.type === 'short_channel_id')
          want = hex(encodeFundamental('short_channel_id', v as bigint));
        else if (typeof v === 'number' || typeof v === 'bigint') want = String(v);
        else if (v instanceof Uint8Array) want = hex(v);
        else if (Array.isArray(v))
          want = hex(concat(...v.map((x) => encodeFundamental(f.type as FundamentalType, x as never))));
        else assert.fail(`${c.name}.${f.name}: unexpected value`);
      }
      assert.equal(got, want, `${c.name}.${f.name}`);
    }
  });
  t.diagnostic(`${cases.length} encodings agreed`);
});
