// Parses BOLT 8 Appendix A (read unchanged from ../shared) into vector records.
import { readBolt } from '../../src/testing/spec.ts';

export interface Step {
  /** Which `# Act ...` heading the line sat under (0 before any heading). */
  readonly act: 0 | 1 | 2 | 3;
  readonly kind: 'input' | 'output';
  readonly value: string;
}

export interface Comment {
  readonly act: 0 | 1 | 2 | 3;
  readonly text: string;
}

export interface HandshakeVector {
  readonly name: string;
  readonly fields: ReadonlyMap<string, string>;
  readonly steps: readonly Step[];
  readonly comments: readonly Comment[];
}

export interface MessageVector {
  readonly name: string;
  readonly fields: ReadonlyMap<string, string>;
  /** `output N: 0x...` lines. */
  readonly outputs: ReadonlyMap<number, string>;
  readonly comments: readonly string[];
}

function section(md: string, heading: string): string {
  const start = md.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`BOLT 8: section ${heading} not found`);
  const rest = md.slice(start + heading.length + 2);
  const next = rest.search(/\n#{1,2} /);
  return next < 0 ? rest : rest.slice(0, next);
}

const ACTS: Record<string, 1 | 2 | 3> = { 'Act One': 1, 'Act Two': 2, 'Act Three': 3 };

function strip0x(v: string): string {
  return v.startsWith('0x') ? v.slice(2) : v;
}

function parseHandshakeSection(text: string): HandshakeVector[] {
  const out: HandshakeVector[] = [];
  let cur: { name: string; fields: Map<string, string>; steps: Step[]; comments: Comment[] } | null = null;
  let act: 0 | 1 | 2 | 3 = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('```')) continue;
    if (line.startsWith('name:')) {
      cur = { name: line.slice(5).trim(), fields: new Map(), steps: [], comments: [] };
      out.push(cur);
      act = 0;
      continue;
    }
    if (cur === null) continue;
    if (line.startsWith('#')) {
      const c = line.slice(1).trim();
      const a = ACTS[c];
      if (a !== undefined) act = a;
      else cur.comments.push({ act, text: c });
      continue;
    }
    const m = /^([A-Za-z.]+)\s*[:=]\s*(.*)$/.exec(line);
    if (m === null) throw new Error(`BOLT 8 vector ${cur.name}: cannot parse line: ${line}`);
    const key = m[1] as string;
    const value = (m[2] as string).trim();
    if (key === 'input' || key === 'output') cur.steps.push({ act, kind: key, value });
    else cur.fields.set(key, strip0x(value));
  }
  return out;
}

function parseMessageSection(text: string): MessageVector[] {
  const out: MessageVector[] = [];
  let cur: {
    name: string;
    fields: Map<string, string>;
    outputs: Map<number, string>;
    comments: string[];
  } | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('name:')) {
      cur = { name: line.slice(5).trim(), fields: new Map(), outputs: new Map(), comments: [] };
      out.push(cur);
      continue;
    }
    if (cur === null) continue;
    if (line.startsWith('#')) {
      cur.comments.push(line.slice(1).trim());
      continue;
    }
    const o = /^output (\d+):\s*(0x[0-9a-f]+)$/.exec(line);
    if (o !== null) {
      cur.outputs.set(Number(o[1]), strip0x(o[2] as string));
      continue;
    }
    const f = /^([a-z]+)=(0x[0-9a-f]+)$/.exec(line);
    if (f !== null) {
      cur.fields.set(f[1] as string, strip0x(f[2] as string));
      continue;
    }
    throw new Error(`BOLT 8 vector ${cur.name}: cannot parse line: ${line}`);
  }
  return out;
}

export function loadAppendixA(): {
  initiator: HandshakeVector[];
  responder: HandshakeVector[];
  messages: MessageVector[];
} {
  const md = readBolt('08-transport.md');
  return {
    initiator: parseHandshakeSection(section(md, '## Initiator Tests')),
    responder: parseHandshakeSection(section(md, '## Responder Tests')),
    messages: parseMessageSection(section(md, '## Message Encryption Tests')),
  };
}

/** `ERROR (ACT2_BAD_VERSION 1)` -> `ACT2_BAD_VERSION 1`, or null for a hex output. */
export function errorName(output: string): string | null {
  const m = /^ERROR \((.+)\)$/.exec(output);
  return m === null ? null : (m[1] as string);
}

/** `# name=0x...` or `# a,b=0x..,0x..` comment lines as a map (later ones win). */
export function commentValues(comments: readonly { text: string }[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const { text } of comments) {
    const m = /^([a-z_0-9,]+)=(0x[0-9a-f]+(?:,0x[0-9a-f]+)*|[0-9a-f]+)$/.exec(text);
    if (m === null) continue;
    const names = (m[1] as string).split(',');
    const values = (m[2] as string).split(',');
    names.forEach((n, i) => {
      const v = values[i];
      if (v !== undefined) out.set(n, strip0x(v));
    });
  }
  return out;
}
