// ChainWatcher: the "watch outputs/txs" part of the ChainSource seam, as a ChainListener fed by a
// ChainFollower. Watch a txid (confirmed), an outpoint (spent) or an output script (paid); every match in a
// connected block is reported, and undone with the matching reverse event when that block is disconnected.
// No I/O: events go to the callback given at construction, in block order.

import { type OutPoint, type Transaction, txid } from '../bitcoin/tx.ts';
import { hex } from '../core/bytes.ts';
import type { BlockHeight, Sat } from '../core/units.ts';
import type { ChainBlock, ChainListener } from './seams.ts';

interface At {
  readonly blockHash: Uint8Array;
  readonly height: BlockHeight;
}

export type WatchEvent =
  | ({
      readonly type: 'tx-confirmed';
      readonly txid: Uint8Array;
      readonly tx: Transaction;
      readonly index: number;
    } & At)
  | ({ readonly type: 'tx-unconfirmed'; readonly txid: Uint8Array } & At)
  | ({
      readonly type: 'output-spent';
      readonly outpoint: OutPoint;
      readonly spendingTx: Transaction;
      readonly inputIndex: number;
    } & At)
  | ({ readonly type: 'output-unspent'; readonly outpoint: OutPoint } & At)
  | ({
      readonly type: 'script-paid';
      readonly script: Uint8Array;
      readonly outpoint: OutPoint;
      readonly value: Sat;
      readonly tx: Transaction;
    } & At)
  | ({ readonly type: 'script-unpaid'; readonly script: Uint8Array; readonly outpoint: OutPoint } & At);

export interface ChainWatcherOptions {
  /** How many recent blocks' matches are remembered to undo on a reorg; default 1000. */
  readonly reorgDepth?: number;
}

const key = (o: OutPoint): string => `${hex(o.txid)}:${o.vout}`;

export class ChainWatcher implements ChainListener {
  private readonly txids = new Set<string>();
  private readonly outpoints = new Set<string>();
  private readonly scripts = new Set<string>();
  /** Matches per connected block (hex hash), to reverse on disconnect. */
  private readonly matched = new Map<string, { height: number; events: WatchEvent[] }>();
  private readonly reorgDepth: number;

  constructor(
    private readonly emit: (e: WatchEvent) => void | Promise<void>,
    options: ChainWatcherOptions = {},
  ) {
    this.reorgDepth = options.reorgDepth ?? 1000;
  }

  watchTx(id: Uint8Array): void {
    this.txids.add(hex(id));
  }
  unwatchTx(id: Uint8Array): void {
    this.txids.delete(hex(id));
  }
  watchOutput(o: OutPoint): void {
    this.outpoints.add(key(o));
  }
  unwatchOutput(o: OutPoint): void {
    this.outpoints.delete(key(o));
  }
  watchScript(script: Uint8Array): void {
    this.scripts.add(hex(script));
  }
  unwatchScript(script: Uint8Array): void {
    this.scripts.delete(hex(script));
  }

  async blockConnected(block: ChainBlock): Promise<void> {
    const at: At = { blockHash: block.hash, height: block.height };
    const events: WatchEvent[] = [];
    block.txs.forEach((tx, index) => {
      const id = txid(tx);
      if (this.txids.has(hex(id))) events.push({ type: 'tx-confirmed', txid: id, tx, index, ...at });
      tx.inputs.forEach((input, inputIndex) => {
        if (this.outpoints.has(key(input.prevout))) {
          events.push({ type: 'output-spent', outpoint: input.prevout, spendingTx: tx, inputIndex, ...at });
        }
      });
      tx.outputs.forEach((o, vout) => {
        if (this.scripts.has(hex(o.script))) {
          events.push({
            type: 'script-paid',
            script: o.script,
            outpoint: { txid: id, vout },
            value: o.value,
            tx,
            ...at,
          });
        }
      });
    });
    const id = hex(block.hash);
    this.matched.set(id, { height: block.height, events });
    for (const [h, m] of this.matched) if (m.height + this.reorgDepth < block.height) this.matched.delete(h);
    for (const e of events) await this.emit(e);
  }

  async blockDisconnected(hash: Uint8Array, height: BlockHeight): Promise<void> {
    const m = this.matched.get(hex(hash));
    if (!m) return;
    this.matched.delete(hex(hash));
    const at: At = { blockHash: hash, height };
    for (const e of m.events.slice().reverse()) {
      switch (e.type) {
        case 'tx-confirmed':
          await this.emit({ type: 'tx-unconfirmed', txid: e.txid, ...at });
          break;
        case 'output-spent':
          await this.emit({ type: 'output-unspent', outpoint: e.outpoint, ...at });
          break;
        case 'script-paid':
          await this.emit({ type: 'script-unpaid', script: e.script, outpoint: e.outpoint, ...at });
          break;
        case 'tx-unconfirmed':
        case 'output-unspent':
        case 'script-unpaid':
          break; // never recorded as matches
      }
    }
  }
}
