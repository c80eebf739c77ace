// Extracts the wire message table from the BOLT markdown (the CLN-style `1. type:` / `2. data:` blocks,
// `1. tlv_stream:` / `2. types:` blocks, subtypes and BOLT 4 failure messages) and writes ONE generated
// production module, src/bolt01-wire/spec-table.ts. Streams the spec defines only inside its test-vector
// appendices (BOLT 1 Appendix B's `n1`/`n2`) go to a separate generated test table,
// test/bolt01-wire/appendix-table.ts, so no node ever decodes them. With `--check` it only compares:
// non-zero exit if either committed table differs from what the spec says.
//
//   npx tsx tools/extract-wire.ts           # regenerate both tables
//   npx tsx tools/extract-wire.ts --check   # exit 1 if a committed table is stale
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FUNDAMENTAL_TYPES } from '../src/bolt01-wire/fundamental.ts';

const SOURCES = [
  '01-messaging.md',
  '02-peer-protocol.md',
  '04-onion-routing.md',
  '07-routing-gossip.md',
  '12-offer-encoding.md',
];

/** Types the engine implements itself (BOLT 1 "Fundamental Types", plus `u8` which BOLT 2/12 use for `byte`),
 * and `utf8`, which only appears as an array element. */
export const FUNDAMENTAL = [...FUNDAMENTAL_TYPES, 'utf8'] as const;

// BOLT 4's onionmsg_tlv names the BOLT 12 streams with a `tlv_` prefix; BOLT 12 defines them without it.
const STREAM_ALIASES: Record<string, string> = {
  tlv_invoice_request: 'invoice_request',
  tlv_invoice: 'invoice',
  tlv_invoice_error: 'invoice_error',
};

const FAILURE_FLAGS: Record<string, number> = {
  BADONION: 0x8000,
  PERM: 0x4000,
  NODE: 0x2000,
  UPDATE: 0x1000,
};

export type Count = number | string; // fixed count, or the name of an earlier length field, or '...'
export type FieldDef = { name: string; type: string; count?: Count; trunc?: number };
type Struct = { name: string; source: string; line: number; fields: FieldDef[] };
type Message = Struct & { type: number; tlvs: string | null };
type Failure = Struct & { code: number; flags: string[] };
type Rec = { name: string; type: number; fields: FieldDef[] };
type Stream = { name: string; source: string; line: number; records: Rec[] };
type Skipped = { name: string; source: string; line: number; reason: string };

export type Extracted = {
  messages: Message[];
  subtypes: Struct[];
  streams: Stream[];
  /** Streams defined in a test-vector appendix: never part of the production table. */
  testStreams: Stream[];
  failures: Failure[];
  skipped: Skipped[];
};

class SpecError extends Error {}

const FIELD_RE = /^\s*\* \[`([^`]+)`:`([a-z0-9_]+)`\]\s*$/;
const TYPE_RE = /^(?:(\d+|[a-z_][a-z0-9_]*|\.\.\.)\*)?([a-z0-9_]+)(?:\[\.\.(\d+)\])?$/;

function parseField(raw: string, name: string, where: string): FieldDef {
  const m = TYPE_RE.exec(raw);
  if (!m) throw new SpecError(`${where}: cannot parse field type \`${raw}\``);
  const f: FieldDef = { name, type: m[2]! };
  if (m[1] !== undefined) f.count = /^\d+$/.test(m[1]) ? Number(m[1]) : m[1];
  if (m[3] !== undefined) f.trunc = Number(m[3]);
  return f;
}

/** Reads the `* [...]` field lines that follow a `2. data:` line; returns the fields and the next line index. */
function readFields(
  lines: string[],
  start: number,
  where: string,
): { fields: FieldDef[]; next: number; unsupported?: string } {
  const fields: FieldDef[] = [];
  let i = start;
  let unsupported: string | undefined;
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (!/^\s*\* /.test(line)) break;
    const m = FIELD_RE.exec(line);
    if (!m) {
      // `* ...` and `* filler` describe a repeated, obfuscated structure, not a codec.
      unsupported ??= `repeated structure (${line.trim()})`;
      continue;
    }
    fields.push(parseField(m[1]!, m[2]!, `${where}:${i + 1}`));
  }
  return unsupported === undefined ? { fields, next: i } : { fields, next: i, unsupported };
}

function parseFile(file: string, text: string, out: Extracted): void {
  const lines = text.split('\n');
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^## /.test(line)) section = line.slice(3).trim();
    const where = `${file}:${i + 1}`;

    const stream = /^1\. `tlv_stream`: `([a-z0-9_]+)`\s*$/.exec(line);
    if (stream) {
      if (!/^2\. types:\s*$/.test(lines[i + 1] ?? '')) throw new SpecError(`${where}: expected "2. types:"`);
      const s: Stream = { name: stream[1]!, source: file, line: i + 1, records: [] };
      let j = i + 2;
      while (j < lines.length) {
        const rec = /^\s+1\. type: (\d+) \(`([a-z0-9_]+)`\)\s*$/.exec(lines[j]!);
        if (!rec) break;
        const r: Rec = { name: rec[2]!, type: Number(rec[1]), fields: [] };
        j++;
        if (/^\s+2\. data:\s*$/.test(lines[j] ?? '')) {
          const read = readFields(lines, j + 1, `${file}:${j + 1}`);
          if (read.unsupported) throw new SpecError(`${file}:${j + 1}: ${read.unsupported}`);
          r.fields = read.fields;
          j = read.next;
        }
        s.records.push(r);
      }
      if (s.records.length === 0) throw new SpecError(`${where}: tlv_stream ${s.name} has no records`);
      if (/^Appendix\b/.test(section)) out.testStreams.push(s);
      else out.streams.push(s);
      i = j - 1;
      continue;
    }

    const head = /^1\. (type|subtype): (.*)$/.exec(line);
    if (!head) continue;
    const kind = head[1]!;
    const rest = head[2]!.trim();
    let fields: FieldDef[] = [];
    let next = i + 1;
    let unsupported: string | undefined;
    if (/^2\. data:\s*$/.test(lines[i + 1] ?? '')) {
      const read = readFields(lines, i + 2, where);
      fields = read.fields;
      next = read.next;
      unsupported = read.unsupported;
    }
    const plainName = /^`([a-z0-9_]+)`$/.exec(rest);
    const numbered = /^((?:[A-Z]+\|)*)(\d+) \(`([a-z0-9_]+)`\)(?: \(`[a-z0-9_]+`\))?$/.exec(rest);
    if (kind === 'subtype' || plainName) {
      if (!plainName) throw new SpecError(`${where}: cannot parse subtype header "${rest}"`);
      const name = plainName[1]!;
      if (unsupported) out.skipped.push({ name, source: file, line: i + 1, reason: unsupported });
      else out.subtypes.push({ name, source: file, line: i + 1, fields });
    } else if (numbered) {
      const name = numbered[3]!;
      const flags = numbered[1]!.split('|').filter((x) => x !== '');
      const num = Number(numbered[2]);
      if (unsupported) throw new SpecError(`${where}: ${unsupported}`);
      if (file === '04-onion-routing.md' && section === 'Failure Messages') {
        let code = num;
        for (const f of flags) {
          const bit = FAILURE_FLAGS[f];
          if (bit === undefined) throw new SpecError(`${where}: unknown failure flag ${f}`);
          code |= bit;
        }
        out.failures.push({ name, source: file, line: i + 1, code, flags, fields });
      } else {
        if (flags.length > 0) throw new SpecError(`${where}: flags outside failure messages`);
        out.messages.push({ name, source: file, line: i + 1, type: num, tlvs: null, fields });
      }
    } else {
      throw new SpecError(`${where}: cannot parse type header "${rest}"`);
    }
    i = next - 1;
  }
}

/** Drops a duplicate definition only if it is identical; two different ones are a spec error. */
function dedupe<T extends { name: string; source: string; line: number }>(items: T[], what: string): T[] {
  const seen = new Map<string, T>();
  const strip = (x: T) => JSON.stringify({ ...x, source: 0, line: 0 });
  for (const item of items) {
    const prev = seen.get(item.name);
    if (!prev) seen.set(item.name, item);
    else if (strip(prev) !== strip(item))
      throw new SpecError(`${what} ${item.name} defined twice differently (${prev.source}:${prev.line})`);
  }
  return [...seen.values()];
}

const INTEGER_TYPES = new Set(['byte', 'u8', 'u16', 'u32', 'u64', 'bigsize']);

function resolveAndCheck(x: Extracted): void {
  const subtypes = new Set(x.subtypes.map((s) => s.name));
  const streams = new Set(x.streams.map((s) => s.name));
  for (const n of subtypes) if (streams.has(n)) throw new SpecError(`${n} is both a subtype and a stream`);
  const fundamental = new Set<string>(FUNDAMENTAL);

  const checkFields = (fields: FieldDef[], where: string, inRecord: boolean) => {
    fields.forEach((f, idx) => {
      const alias = STREAM_ALIASES[f.type];
      if (alias !== undefined && streams.has(alias)) f.type = alias;
      if (!fundamental.has(f.type) && !subtypes.has(f.type) && !streams.has(f.type))
        throw new SpecError(`${where}.${f.name}: unknown type ${f.type}`);
      const last = idx === fields.length - 1;
      if (/^tu\d+$/.test(f.type) && (!inRecord || !last || f.count !== undefined))
        throw new SpecError(`${where}.${f.name}: truncated integer must be the last field of a TLV record`);
      if (streams.has(f.type) && (!last || f.count !== undefined))
        throw new SpecError(`${where}.${f.name}: a tlv stream must be the last field`);
      if (typeof f.count === 'string' && f.count !== '...') {
        const len = fields.slice(0, idx).find((g) => g.name === f.count);
        if (!len || !INTEGER_TYPES.has(len.type) || len.count !== undefined)
          throw new SpecError(`${where}.${f.name}: length ${f.count} is not an earlier integer field`);
      }
      if (f.count === '...') {
        const tail = fields.slice(idx + 1);
        if (tail.some((g) => g.count !== undefined && typeof g.count !== 'number'))
          throw new SpecError(`${where}.${f.name}: only fixed-size fields may follow a rest-of-data field`);
      }
      if (f.trunc !== undefined && (f.count === undefined || fundamental.has(f.type) === false))
        throw new SpecError(`${where}.${f.name}: truncation only applies to arrays of fixed types`);
    });
  };

  for (const m of x.messages) {
    const last = m.fields[m.fields.length - 1];
    if (last && streams.has(STREAM_ALIASES[last.type] ?? last.type)) {
      if (last.name !== 'tlvs') throw new SpecError(`${m.name}: tlv field must be named tlvs`);
      m.tlvs = last.type;
      m.fields = m.fields.slice(0, -1);
    } else if (streams.has(`${m.name}_tlvs`)) {
      // BOLT 2 declares some extensions (update_add_htlc_tlvs, ...) without listing them in `data`.
      m.tlvs = `${m.name}_tlvs`;
    }
    // Message values are `{ type: name, ...fields, tlvs }`; failure values `{ failure: name, ...fields, tlvs }`.
    if (m.fields.some((f) => f.name === 'type' || f.name === 'tlvs'))
      throw new SpecError(`${m.name}: a field name clashes with the message value's keys`);
    checkFields(m.fields, m.name, false);
  }
  for (const s of x.subtypes) checkFields(s.fields, s.name, false);
  for (const f of x.failures) {
    if (f.fields.some((g) => g.name === 'failure' || g.name === 'tlvs'))
      throw new SpecError(`${f.name}: a field name clashes with the failure value's keys`);
    checkFields(f.fields, f.name, false);
  }
  for (const s of x.testStreams) {
    if (streams.has(s.name) || subtypes.has(s.name))
      throw new SpecError(`test stream ${s.name} clashes with a production name`);
  }
  for (const s of [...x.streams, ...x.testStreams]) {
    let prev = -1;
    for (const r of s.records) {
      if (r.type <= prev) throw new SpecError(`${s.name}: record types not strictly increasing at ${r.name}`);
      if (r.name === 'unknown') throw new SpecError(`${s.name}: record name "unknown" is reserved`);
      prev = r.type;
      checkFields(r.fields, `${s.name}.${r.name}`, true);
    }
  }
  const byType = new Map<number, string>();
  for (const m of x.messages) {
    const prev = byType.get(m.type);
    if (prev) throw new SpecError(`message type ${m.type} used by ${prev} and ${m.name}`);
    byType.set(m.type, m.name);
  }
  const codes = new Map<number, string>();
  for (const f of x.failures) {
    const prev = codes.get(f.code);
    if (prev) throw new SpecError(`failure code ${f.code} used by ${prev} and ${f.name}`);
    codes.set(f.code, f.name);
  }
}

export function extract(boltsDir: string): Extracted {
  const out: Extracted = {
    messages: [],
    subtypes: [],
    streams: [],
    testStreams: [],
    failures: [],
    skipped: [],
  };
  for (const file of SOURCES) parseFile(file, readFileSync(join(boltsDir, file), 'utf8'), out);
  out.messages = dedupe(out.messages, 'message');
  out.subtypes = dedupe(out.subtypes, 'subtype');
  out.streams = dedupe(out.streams, 'tlv_stream');
  out.testStreams = dedupe(out.testStreams, 'tlv_stream');
  out.failures = dedupe(out.failures, 'failure');
  resolveAndCheck(out);
  return out;
}

// ---- rendering -------------------------------------------------------------------------------------------

const q = (s: string) => `'${s}'`;

function renderField(f: FieldDef): string {
  const parts = [`name: ${q(f.name)}`, `type: ${q(f.type)}`];
  if (f.count !== undefined) parts.push(`count: ${typeof f.count === 'number' ? f.count : q(f.count)}`);
  if (f.trunc !== undefined) parts.push(`trunc: ${f.trunc}`);
  return `{ ${parts.join(', ')} }`;
}

// Output is already in Biome's format (110 columns), so formatting the tree never changes the table.
const WIDTH = 110;

function renderFields(fields: FieldDef[], indent: string, prefix: string): string {
  if (fields.length === 0) return '[]';
  const inline = `[${renderField(fields[0]!)}]`;
  if (fields.length === 1 && indent.length + prefix.length + inline.length + 1 <= WIDTH) return inline;
  return `[\n${fields.map((f) => `${indent}  ${renderField(f)},`).join('\n')}\n${indent}]`;
}

function renderRecord(r: Rec, indent: string): string {
  const head = `${indent}${r.name}: { type: ${r.type}, fields: `;
  if (r.fields.length <= 1) {
    const one = `${head}${r.fields.length === 0 ? '[]' : `[${renderField(r.fields[0]!)}]`} },`;
    if (one.length <= WIDTH) return one;
  }
  const inner = `${indent}  `;
  return [
    `${indent}${r.name}: {`,
    `${inner}type: ${r.type},`,
    `${inner}fields: ${renderFields(r.fields, inner, 'fields: ')},`,
    `${indent}},`,
  ].join('\n');
}

function renderStreams(streams: Stream[], indent: string): string[] {
  const out: string[] = [];
  for (const s of streams) {
    out.push(`${indent}${s.name}: {`);
    out.push(`${indent}  source: ${q(s.source)},`);
    out.push(`${indent}  records: {`);
    for (const r of s.records) out.push(renderRecord(r, `${indent}    `));
    out.push(`${indent}  },`);
    out.push(`${indent}},`);
  }
  return out;
}

/** The test-only table: streams the spec defines inside its test-vector appendices. */
export function renderTestTable(x: Extracted): string {
  const out: string[] = [];
  out.push('// GENERATED by tools/extract-wire.ts from ../shared/spec/bolts. Do not edit by hand:');
  out.push('// run `npx tsx tools/extract-wire.ts` to regenerate, `--check` to compare (a test does).');
  out.push(
    "// TLV streams defined only in the spec's test-vector appendices: for tests, never in the node's table.",
  );
  out.push('');
  out.push('export const appendixStreams = {');
  out.push(...renderStreams(x.testStreams, '  '));
  out.push('} as const;');
  out.push('');
  return out.join('\n');
}

export function render(x: Extracted): string {
  const out: string[] = [];
  out.push('// GENERATED by tools/extract-wire.ts from ../shared/spec/bolts. Do not edit by hand:');
  out.push('// run `npx tsx tools/extract-wire.ts` to regenerate, `--check` to compare (a test does).');
  out.push(`// Sources: ${SOURCES.join(', ')}.`);
  out.push('');
  out.push('export const specTable = {');
  out.push('  messages: {');
  for (const m of [...x.messages].sort((a, b) => a.type - b.type)) {
    out.push(`    ${m.name}: {`);
    out.push(`      type: ${m.type},`);
    out.push(`      source: ${q(m.source)},`);
    out.push(`      fields: ${renderFields(m.fields, '      ', 'fields: ')},`);
    out.push(`      tlvs: ${m.tlvs === null ? 'null' : q(m.tlvs)},`);
    out.push('    },');
  }
  out.push('  },');
  out.push('  subtypes: {');
  for (const s of x.subtypes) {
    out.push(`    ${s.name}: {`);
    out.push(`      source: ${q(s.source)},`);
    out.push(`      fields: ${renderFields(s.fields, '      ', 'fields: ')},`);
    out.push('    },');
  }
  out.push('  },');
  out.push('  tlvStreams: {');
  out.push(...renderStreams(x.streams, '    '));
  out.push('  },');
  out.push('  failures: {');
  for (const f of [...x.failures].sort((a, b) => a.code - b.code)) {
    const hexCode = `0x${f.code.toString(16).padStart(4, '0')}`;
    out.push(`    ${f.name}: {`);
    out.push(`      code: ${hexCode},`);
    out.push(`      flags: [${f.flags.map(q).join(', ')}],`);
    out.push(`      source: ${q(f.source)},`);
    out.push(`      fields: ${renderFields(f.fields, '      ', 'fields: ')},`);
    out.push('    },');
  }
  out.push('  },');
  out.push(
    '  // Blocks in the spec that describe a structure but are not a codec (repeated, obfuscated data).',
  );
  out.push('  skipped: [');
  for (const s of x.skipped) {
    out.push(`    { name: ${q(s.name)}, source: ${q(s.source)}, reason: ${q(s.reason)} },`);
  }
  out.push('  ],');
  out.push('} as const;');
  out.push('');
  return out.join('\n');
}

// ---- command line ----------------------------------------------------------------------------------------

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const TABLE_PATH = join(repoRoot, 'src', 'bolt01-wire', 'spec-table.ts');
export const TEST_TABLE_PATH = join(repoRoot, 'test', 'bolt01-wire', 'appendix-table.ts');
export const BOLTS_DIR = resolve(repoRoot, '..', 'shared', 'spec', 'bolts');

/** Compares a committed file with what the spec gives; prints the first differing line. */
function checkFile(path: string, text: string): boolean {
  let committed = '';
  try {
    committed = readFileSync(path, 'utf8');
  } catch {
    console.error(`extract-wire: ${path} is missing`);
    return false;
  }
  if (committed === text) return true;
  const a = committed.split('\n');
  const b = text.split('\n');
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      console.error(`extract-wire: ${path} differs from the spec at line ${i + 1}:`);
      console.error(`  committed: ${a[i] ?? '<end>'}`);
      console.error(`  spec:      ${b[i] ?? '<end>'}`);
      break;
    }
  }
  return false;
}

function main(argv: string[]): number {
  const check = argv.includes('--check');
  let text: string;
  let testText: string;
  try {
    const x = extract(BOLTS_DIR);
    text = render(x);
    testText = renderTestTable(x);
  } catch (e) {
    if (e instanceof SpecError) {
      console.error(`extract-wire: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if (!check) {
    writeFileSync(TABLE_PATH, text);
    writeFileSync(TEST_TABLE_PATH, testText);
    console.log(`extract-wire: wrote ${TABLE_PATH} and ${TEST_TABLE_PATH}`);
    return 0;
  }
  // Both files are checked (no short-circuit) so every stale one is reported.
  const tableOk = checkFile(TABLE_PATH, text);
  const testOk = checkFile(TEST_TABLE_PATH, testText);
  if (tableOk && testOk) {
    console.log('extract-wire: table matches the spec');
    return 0;
  }
  return 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exit(main(process.argv.slice(2)));
}
