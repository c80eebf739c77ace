// Wallet state as versioned records (DESIGN.md rule 9). Each record is a key, a version and a JSON
// object; readers ignore fields they do not know (the extensible tail), and refuse versions newer
// than they understand instead of guessing. Keys:
//   meta                     tip, recent block hashes, address counters
//   tx/<txid>                raw transaction, confirmation (height, block hash, index), origin
//   watch/<script hex>       a watched script and its label
//   reservation/<txid:vout>  a reserved input and who holds it until which height
//   pending/<id>             an unsigned funding transaction awaiting signature

import type { Transaction } from '../bitcoin/tx.ts';
import { parseTx, serializeTx } from '../bitcoin/tx.ts';
import { fromHex, hex } from '../core/bytes.ts';
import type { Network } from '../keys/derivation.ts';
import { isNetwork } from '../keys/derivation.ts';
import type { TrackedTx, TxOrigin } from './types.ts';

export const RECORD_VERSION = 1;

export interface WalletRecord {
  readonly key: string;
  readonly version: number;
  /** JSON-serializable; unknown fields are kept by the store and ignored by this reader. */
  readonly data: Readonly<Record<string, unknown>>;
}

export interface MetaRecord {
  readonly network: Network;
  readonly tipHeight: number | null;
  readonly tipHash: string | null;
  readonly recent: readonly { readonly height: number; readonly hash: string }[];
  readonly seq: number;
  /** Channel key indexes handed out (KeyChain.channelKeys); absent in early records = 0. */
  readonly channelIndexes: number;
  readonly receive: { readonly issued: number; readonly used: number };
  readonly change: { readonly issued: number; readonly used: number };
  readonly taprootReceive: { readonly issued: number; readonly used: number };
  readonly taprootChange: { readonly issued: number; readonly used: number };
}

/** An unsigned funding transaction and what is needed to sign it later. */
export interface PendingFunding {
  /** The txid (display hex): fixed before signing since every input is segwit. */
  readonly id: string;
  readonly tx: Transaction;
  readonly outputIndex: number;
  /** Change index issued for it, if any. */
  readonly changeIndex: number | null;
}

export type DecodedRecord =
  | { readonly kind: 'meta'; readonly value: MetaRecord }
  | { readonly kind: 'tx'; readonly value: TrackedTx }
  | { readonly kind: 'watch'; readonly script: string; readonly label: string }
  | { readonly kind: 'reservation'; readonly outpoint: string; readonly until: number; readonly by: string }
  | { readonly kind: 'pending'; readonly value: PendingFunding };

export class RecordError extends Error {}

export const metaKey = (): string => 'meta';
export const txKey = (txid: string): string => `tx/${txid}`;
export const watchKey = (script: string): string => `watch/${script}`;
export const reservationKey = (outpoint: string): string => `reservation/${outpoint}`;
export const pendingKey = (id: string): string => `pending/${id}`;

function rec(key: string, data: Record<string, unknown>): WalletRecord {
  return { key, version: RECORD_VERSION, data };
}

export function encodeMeta(m: MetaRecord): WalletRecord {
  return rec(metaKey(), {
    network: m.network,
    tipHeight: m.tipHeight,
    tipHash: m.tipHash,
    recent: m.recent.map((b) => ({ height: b.height, hash: b.hash })),
    seq: m.seq,
    channelIndexes: m.channelIndexes,
    receive: { ...m.receive },
    change: { ...m.change },
    taprootReceive: { ...m.taprootReceive },
    taprootChange: { ...m.taprootChange },
  });
}

function encodeOrigin(o: TxOrigin): Record<string, unknown> {
  return { ...o };
}

export function encodeTx(t: TrackedTx): WalletRecord {
  return rec(txKey(t.txid), {
    raw: hex(serializeTx(t.tx)),
    height: t.height,
    blockHash: t.blockHash,
    txIndex: t.txIndex,
    seq: t.seq,
    coinbase: t.coinbase,
    origin: encodeOrigin(t.origin),
  });
}

export function encodeWatch(script: string, label: string): WalletRecord {
  return rec(watchKey(script), { label });
}

export function encodeReservation(outpoint: string, until: number, by: string): WalletRecord {
  return rec(reservationKey(outpoint), { until, by });
}

export function encodePending(p: PendingFunding): WalletRecord {
  return rec(pendingKey(p.id), {
    raw: hex(serializeTx(p.tx)),
    outputIndex: p.outputIndex,
    changeIndex: p.changeIndex,
  });
}

// ---- reading, with checks: a damaged store must fail loudly, not produce a wrong balance.

function need<T>(cond: boolean, v: T, what: string): T {
  if (!cond) throw new RecordError(`bad wallet record: ${what}`);
  return v;
}
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const int = (v: unknown, what: string): number => need(isInt(v), v as number, what);
const intOrNull = (v: unknown, what: string): number | null => (v === null ? null : int(v, what));
const str = (v: unknown, what: string): string => need(typeof v === 'string', v as string, what);
const strOrNull = (v: unknown, what: string): string | null => (v === null ? null : str(v, what));
const obj = (v: unknown, what: string): Record<string, unknown> =>
  need(typeof v === 'object' && v !== null && !Array.isArray(v), v as Record<string, unknown>, what);

function counters(v: unknown, what: string): { issued: number; used: number } {
  const o = obj(v, what);
  return { issued: int(o.issued, `${what}.issued`), used: int(o.used, `${what}.used`) };
}

function origin(v: unknown): TxOrigin {
  const o = obj(v, 'origin');
  switch (o.kind) {
    case 'external':
      return { kind: 'external' };
    case 'withdraw':
      return { kind: 'withdraw', all: need(typeof o.all === 'boolean', o.all as boolean, 'origin.all') };
    case 'funding':
      return { kind: 'funding' };
    default:
      throw new RecordError(`bad wallet record: unknown origin ${String(o.kind)}`);
  }
}

function rawTx(v: unknown): Transaction {
  try {
    return parseTx(fromHex(str(v, 'raw')));
  } catch (e) {
    throw new RecordError(`bad wallet record: raw transaction (${(e as Error).message})`);
  }
}

export function decodeRecord(r: WalletRecord): DecodedRecord {
  if (r.version > RECORD_VERSION) {
    throw new RecordError(
      `wallet record ${r.key} has version ${r.version}, newer than this shandian (${RECORD_VERSION}): upgrade`,
    );
  }
  if (r.version < 1) throw new RecordError(`wallet record ${r.key} has unknown version ${r.version}`);
  const d = obj(r.data, `${r.key}.data`);
  const slash = r.key.indexOf('/');
  const kind = slash < 0 ? r.key : r.key.slice(0, slash);
  const id = r.key.slice(slash + 1);
  switch (kind) {
    case 'meta': {
      const network = str(d.network, 'network');
      if (!isNetwork(network)) throw new RecordError(`bad wallet record: network ${network}`);
      const recent = need(Array.isArray(d.recent), d.recent as unknown[], 'recent').map((b, i) => {
        const o = obj(b, `recent[${i}]`);
        return { height: int(o.height, 'recent.height'), hash: str(o.hash, 'recent.hash') };
      });
      return {
        kind: 'meta',
        value: {
          network,
          tipHeight: intOrNull(d.tipHeight, 'tipHeight'),
          tipHash: strOrNull(d.tipHash, 'tipHash'),
          recent,
          seq: int(d.seq, 'seq'),
          channelIndexes: d.channelIndexes === undefined ? 0 : int(d.channelIndexes, 'channelIndexes'),
          receive: counters(d.receive, 'receive'),
          change: counters(d.change, 'change'),
          // Added after the first records: absent means no taproot address was ever handed out.
          taprootReceive:
            d.taprootReceive === undefined
              ? { issued: 0, used: 0 }
              : counters(d.taprootReceive, 'taprootReceive'),
          taprootChange:
            d.taprootChange === undefined
              ? { issued: 0, used: 0 }
              : counters(d.taprootChange, 'taprootChange'),
        },
      };
    }
    case 'tx': {
      const tx = rawTx(d.raw);
      return {
        kind: 'tx',
        value: {
          txid: need(/^[0-9a-f]{64}$/.test(id), id, 'txid'),
          tx,
          height: intOrNull(d.height, 'height'),
          blockHash: strOrNull(d.blockHash, 'blockHash'),
          txIndex: intOrNull(d.txIndex, 'txIndex'),
          seq: int(d.seq, 'seq'),
          coinbase: need(typeof d.coinbase === 'boolean', d.coinbase as boolean, 'coinbase'),
          origin: origin(d.origin),
        },
      };
    }
    case 'watch':
      return {
        kind: 'watch',
        script: need(/^([0-9a-f]{2})+$/.test(id), id, 'watch script'),
        label: str(d.label, 'label'),
      };
    case 'reservation':
      return {
        kind: 'reservation',
        outpoint: need(/^[0-9a-f]{64}:\d+$/.test(id), id, 'outpoint'),
        until: int(d.until, 'until'),
        by: str(d.by, 'by'),
      };
    case 'pending':
      return {
        kind: 'pending',
        value: {
          id,
          tx: rawTx(d.raw),
          outputIndex: int(d.outputIndex, 'outputIndex'),
          changeIndex: intOrNull(d.changeIndex, 'changeIndex'),
        },
      };
    default:
      throw new RecordError(`unknown wallet record key ${r.key}`);
  }
}
