// Reads the BOLT 3 appendices from ../shared/spec/bolts/03-transactions.md, unchanged, into plain data.
// Anything the parser does not recognise is collected in `unparsed` so the tests can count it.
import { fromHex } from '../../src/core/bytes.ts';
import { readBolt } from '../../src/testing/spec.ts';

const text = readBolt('03-transactions.md');

/** The text between a top-level heading starting with `title` and the next top-level heading. */
export function appendix(title: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`# ${title}`));
  if (start < 0) throw new Error(`no section "# ${title}" in 03-transactions.md`);
  let end = lines.length;
  for (let i = start + 1; i < lines.length; i++) {
    // Top-level headings only: '# ' at column 0 outside code fences. Appendix C has '# ' lines inside
    // an HTML comment, which are not headings.
    if (/^# (Appendix|References|Authors)/.test(lines[i]!)) {
      end = i;
      break;
    }
  }
  return lines.slice(start + 1, end).join('\n');
}

/** 32-byte key from the appendix's hex, dropping the "compressed" suffix 01 and any 0x prefix. */
export function key32(h: string): Uint8Array {
  const clean = h.replace(/^0x/, '');
  if (clean.length === 66 && clean.endsWith('01')) return fromHex(clean.slice(0, 64));
  if (clean.length !== 64) throw new Error(`not a 32-byte key: ${h}`);
  return fromHex(clean);
}

export function hexOf(h: string): Uint8Array {
  return fromHex(h.replace(/^0x/, ''));
}

// ---- Appendix D ---------------------------------------------------------------------------------

export interface GenerationVector {
  readonly name: string;
  readonly seed: Uint8Array;
  readonly index: bigint;
  readonly output: Uint8Array;
}

export interface StorageStep {
  readonly index: bigint;
  readonly secret: Uint8Array;
  readonly ok: boolean;
}

export interface StorageVector {
  readonly name: string;
  readonly steps: readonly StorageStep[];
}

function kvLines(section: string): [string, string][] {
  const out: [string, string][] = [];
  for (const raw of section.split('\n')) {
    const m = /^\s+([A-Za-z_ ]+?):\s*(.*)$/.exec(raw);
    if (m) out.push([m[1]!, m[2]!.trim()]);
  }
  return out;
}

export function appendixD(): { generation: GenerationVector[]; storage: StorageVector[] } {
  const d = appendix('Appendix D');
  const [genPart, storePart] = d.split('## Storage Tests');
  if (genPart === undefined || storePart === undefined) throw new Error('Appendix D layout changed');
  const generation: GenerationVector[] = [];
  let cur: { name?: string; seed?: Uint8Array; index?: bigint } = {};
  for (const [k, v] of kvLines(genPart)) {
    if (k === 'name') cur = { name: v };
    else if (k === 'seed') cur.seed = hexOf(v);
    else if (k === 'I') cur.index = BigInt(v);
    else if (k === 'output') {
      if (cur.name === undefined || cur.seed === undefined || cur.index === undefined)
        throw new Error('bad generation vector');
      generation.push({ name: cur.name, seed: cur.seed, index: cur.index, output: hexOf(v) });
    }
  }
  const storage: { name: string; steps: StorageStep[] }[] = [];
  let index: bigint | undefined;
  let secret: Uint8Array | undefined;
  for (const [k, v] of kvLines(storePart)) {
    if (k === 'name') storage.push({ name: v, steps: [] });
    else if (k === 'I') index = BigInt(v);
    else if (k === 'secret') secret = hexOf(v);
    else if (k === 'output') {
      const last = storage[storage.length - 1];
      if (last === undefined || index === undefined || secret === undefined)
        throw new Error('bad storage vector');
      if (v !== 'OK' && v !== 'ERROR') throw new Error(`unknown storage output ${v}`);
      last.steps.push({ index, secret, ok: v === 'OK' });
    }
  }
  return { generation, storage };
}

// ---- Appendix E ---------------------------------------------------------------------------------

export interface KeyDerivationVectors {
  readonly baseSecret: Uint8Array;
  readonly perCommitmentSecret: Uint8Array;
  readonly basePoint: Uint8Array;
  readonly perCommitmentPoint: Uint8Array;
  /** name -> [field, value] of the case's one result line. */
  readonly cases: readonly { name: string; field: string; value: Uint8Array }[];
}

export function appendixE(): KeyDerivationVectors {
  const e = appendix('Appendix E');
  const common = new Map<string, string>();
  const cases: { name: string; field: string; value: Uint8Array }[] = [];
  let name: string | undefined;
  for (const raw of e.split('\n')) {
    const m = /^\s+([a-z_]+):\s*(\S+.*)$/.exec(raw);
    if (!m) continue;
    const [, k, v] = m as unknown as [string, string, string];
    if (k === 'name') name = v;
    else if (name === undefined) common.set(k, v);
    else {
      cases.push({ name, field: k, value: hexOf(v) });
      name = undefined;
    }
  }
  const need = (k: string): Uint8Array => {
    const v = common.get(k);
    if (v === undefined) throw new Error(`Appendix E: missing ${k}`);
    return hexOf(v);
  };
  return {
    baseSecret: need('base_secret'),
    perCommitmentSecret: need('per_commitment_secret'),
    basePoint: need('base_point'),
    perCommitmentPoint: need('per_commitment_point'),
    cases,
  };
}

// ---- Appendix C ---------------------------------------------------------------------------------

export interface VectorHtlc {
  readonly number: number;
  /** From local's (the commitment owner's) view. */
  readonly direction: 'offered' | 'received';
  readonly amountMsat: bigint;
  readonly expiry: number;
  readonly preimage: Uint8Array;
}

export interface HtlcTxVector {
  readonly outputIndex: number;
  readonly kind: 'htlc-success' | 'htlc-timeout';
  readonly htlcNumber: number;
  readonly remoteSig: Uint8Array;
  readonly localSig: Uint8Array;
  readonly txHex: string;
}

export interface CommitmentVector {
  readonly name: string;
  readonly toLocalMsat: bigint;
  readonly toRemoteMsat: bigint;
  readonly feeratePerKw: number;
  readonly baseFee: bigint | undefined;
  readonly actualFee: bigint | undefined;
  readonly remoteSig: Uint8Array;
  readonly localSig: Uint8Array;
  readonly commitTxHex: string;
  readonly numHtlcs: number;
  readonly htlcTxs: readonly HtlcTxVector[];
}

export interface AppendixC {
  readonly params: ReadonlyMap<string, string>;
  readonly htlcs: readonly VectorHtlc[];
  readonly cases: readonly CommitmentVector[];
  /** Lines inside the case list that the parser did not understand. */
  readonly unparsed: readonly string[];
}

export function appendixC(): AppendixC {
  const c = appendix('Appendix C');
  const params = new Map<string, string>();
  const htlcParts = new Map<number, Record<string, string>>();
  const cases: CommitmentVector[] = [];
  const unparsed: string[] = [];
  const lines = c.split('\n');
  const firstCase = lines.findIndex((l) => /^\s+name:/.test(l));
  for (const raw of lines.slice(0, firstCase)) {
    const h = /^\s*htlc (\d+) ([a-z_]+):\s*(\S+)\s*$/.exec(raw);
    if (h) {
      const n = Number(h[1]);
      const rec = htlcParts.get(n) ?? {};
      rec[h[2]!] = h[3]!;
      htlcParts.set(n, rec);
      continue;
    }
    const kv = /^\s*(?:INTERNAL: )?([a-z_]+):\s*([0-9a-fx]+)\s*$/.exec(raw);
    if (kv) params.set(kv[1]!, kv[2]!);
  }
  const htlcs: VectorHtlc[] = [...htlcParts.entries()].map(([n, r]) => {
    const dir = r.direction;
    if (dir !== 'remote->local' && dir !== 'local->remote') throw new Error(`htlc ${n}: direction ${dir}`);
    return {
      number: n,
      direction: dir === 'local->remote' ? 'offered' : 'received',
      amountMsat: BigInt(r.amount_msat ?? 'x'),
      expiry: Number(r.expiry),
      preimage: hexOf(r.payment_preimage ?? ''),
    };
  });

  type Draft = {
    name: string;
    fields: Map<string, string>;
    htlcTxs: HtlcTxVector[];
    pending?: {
      outputIndex: number;
      kind: 'htlc-success' | 'htlc-timeout';
      htlcNumber: number;
      remote?: string;
      local?: string;
    };
  };
  const drafts: Draft[] = [];
  // One rule per line shape of a case; the first matching rule handles the line.
  type Rule = readonly [RegExp, (m: RegExpExecArray, d: Draft, line: string) => void];
  const rules: readonly Rule[] = [
    [
      /^# signature for output #(\d+) \((htlc-success|htlc-timeout) for htlc #(\d+)\)$/,
      (m, d) => {
        d.pending = {
          outputIndex: Number(m[1]),
          kind: m[2] as 'htlc-success' | 'htlc-timeout',
          htlcNumber: Number(m[3]),
        };
      },
    ],
    [
      /^remote_htlc_signature = ([0-9a-f]+)$/,
      (m, d, line) => {
        if (d.pending) d.pending.remote = m[1]!;
        else unparsed.push(line);
      },
    ],
    [
      /^# local_htlc_signature = ([0-9a-f]+)$/,
      (m, d, line) => {
        if (d.pending) d.pending.local = m[1]!;
        else unparsed.push(line);
      },
    ],
    [
      /^(htlc_success_tx|htlc_timeout_tx) \(htlc #(\d+)\): ([0-9a-f]+)$/,
      (m, d, line) => {
        const p = d.pending;
        const kind = m[1] === 'htlc_success_tx' ? 'htlc-success' : 'htlc-timeout';
        if (
          p === undefined ||
          p.remote === undefined ||
          p.local === undefined ||
          kind !== p.kind ||
          Number(m[2]) !== p.htlcNumber
        ) {
          unparsed.push(line);
        } else {
          d.htlcTxs.push({
            outputIndex: p.outputIndex,
            kind,
            htlcNumber: p.htlcNumber,
            remoteSig: hexOf(p.remote),
            localSig: hexOf(p.local),
            txHex: m[3]!,
          });
        }
        delete d.pending;
      },
    ],
    [/^# (base|actual) commitment transaction fee = (\d+)$/, (m, d) => d.fields.set(`${m[1]}_fee`, m[2]!)],
    [
      /^(remote_signature|# local_signature) = ([0-9a-f]+)$/,
      (m, d) => d.fields.set(m[1]!.replace('# ', ''), m[2]!),
    ],
    [
      /^(to_local_msat|to_remote_msat|local_feerate_per_kw|num_htlcs|output commit_tx): ([0-9a-f]+)$/,
      (m, d) => d.fields.set(m[1]!, m[2]!),
    ],
    // Descriptive comments; the transactions themselves are checked.
    [/^# (HTLC #\d+ (offered|received) amount|to_local amount|to_remote amount|HTLC #5 and 6)/, () => {}],
  ];
  for (const raw of lines.slice(firstCase)) {
    const line = raw.trim();
    if (line === '') continue;
    const name = /^name: (.*)$/.exec(line);
    if (name) {
      drafts.push({ name: name[1]!, fields: new Map(), htlcTxs: [] });
      continue;
    }
    const d = drafts[drafts.length - 1];
    const rule = rules.map(([re, f]) => [re.exec(line), f] as const).find(([m]) => m !== null);
    if (d === undefined || rule === undefined) unparsed.push(line);
    else rule[1](rule[0]!, d, line);
  }
  for (const d of drafts) {
    const f = (k: string): string => {
      const v = d.fields.get(k);
      if (v === undefined) throw new Error(`Appendix C "${d.name}": missing ${k}`);
      return v;
    };
    const opt = (k: string): bigint | undefined => {
      const v = d.fields.get(k);
      return v === undefined ? undefined : BigInt(v);
    };
    cases.push({
      name: d.name,
      toLocalMsat: BigInt(f('to_local_msat')),
      toRemoteMsat: BigInt(f('to_remote_msat')),
      feeratePerKw: Number(f('local_feerate_per_kw')),
      baseFee: opt('base_fee'),
      actualFee: opt('actual_fee'),
      remoteSig: hexOf(f('remote_signature')),
      localSig: hexOf(f('local_signature')),
      commitTxHex: f('output commit_tx'),
      numHtlcs: Number(f('num_htlcs')),
      htlcTxs: d.htlcTxs,
    });
  }
  return { params, htlcs, cases, unparsed };
}

// ---- Appendix F ---------------------------------------------------------------------------------

export interface AnchorVector {
  readonly Name: string;
  readonly LocalBalance: number;
  readonly RemoteBalance: number;
  readonly DustLimitSatoshis: number;
  readonly FeePerKw: number;
  readonly UseTestHtlcs: boolean;
  readonly HtlcDescs: readonly { RemoteSigHex: string; ResolutionTxHex: string }[];
  readonly ExpectedCommitmentTxHex: string;
  readonly RemoteSigHex: string;
}

export function appendixF(): AnchorVector[] {
  const f = appendix('Appendix F');
  const m = /```yaml\n([\s\S]*?)```/.exec(f);
  if (!m) throw new Error('Appendix F: no yaml block');
  // The block is JSON (a YAML subset); balances fit in a double exactly (< 2^53).
  return JSON.parse(m[1]!) as AnchorVector[];
}
