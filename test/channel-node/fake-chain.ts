// A scriptable in-memory ChainSource for watcher tests: blocks carry arbitrary transactions (no
// validation), and any height can be replaced to make a reorg.
import { type Transaction, txid as txidOf } from '../../src/bitcoin/tx.ts';
import type {
  BlockHeaderInfo,
  ChainBlock,
  ChainSource,
  ChainTip,
  TxLookup,
  UnspentOutput,
} from '../../src/chain/seams.ts';
import { equal, hex } from '../../src/core/bytes.ts';
import { blockHeight, sat } from '../../src/core/units.ts';
import { sha256 } from '../../src/crypto/index.ts';

let counter = 0;

export class FakeChain implements ChainSource {
  /** Active chain, index = height. */
  active: ChainBlock[] = [];
  readonly all = new Map<string, ChainBlock>();

  constructor() {
    this.push([]);
  }

  /** Appends a block with these transactions on top of the active tip. */
  push(txs: Transaction[]): ChainBlock {
    const prev = this.active[this.active.length - 1];
    const height = this.active.length;
    const hash = sha256(new TextEncoder().encode(`block ${height} ${counter++}`));
    const b: ChainBlock = {
      hash,
      height: blockHeight(height),
      prevHash: prev ? prev.hash : new Uint8Array(32),
      time: 1_700_000_000 + height,
      medianTimePast: 1_700_000_000 + height,
      txs,
    };
    this.active.push(b);
    this.all.set(hex(hash), b);
    return b;
  }

  /** Drops the active blocks from `height` up (a reorg once new ones are pushed). */
  rewind(height: number): void {
    this.active = this.active.slice(0, height);
  }

  async tip(): Promise<ChainTip> {
    const b = this.active[this.active.length - 1]!;
    return { hash: b.hash, height: b.height };
  }
  async blockHashAt(height: number): Promise<Uint8Array | null> {
    return this.active[height]?.hash ?? null;
  }
  async block(hash: Uint8Array): Promise<ChainBlock | null> {
    return this.all.get(hex(hash)) ?? null;
  }
  async header(hash: Uint8Array): Promise<BlockHeaderInfo | null> {
    return this.all.get(hex(hash)) ?? null;
  }
  async transaction(id: Uint8Array): Promise<TxLookup | null> {
    for (const b of this.active) {
      const tx = b.txs.find((t) => equal(txidOf(t), id));
      if (tx)
        return { tx, blockHash: b.hash, blockHeight: b.height, confirmations: this.active.length - b.height };
    }
    return null;
  }
  async txOut(): Promise<UnspentOutput | null> {
    return null;
  }
}

/** A distinct dummy transaction spending `prev` (or a fresh made-up outpoint). */
export function dummyTx(prev?: { txid: Uint8Array; vout: number }): Transaction {
  const n = counter++;
  return {
    version: 2,
    inputs: [
      {
        prevout: prev ?? { txid: sha256(new TextEncoder().encode(`prev ${n}`)), vout: 0 },
        scriptSig: new Uint8Array(),
        sequence: 0xffffffff,
        witness: [],
      },
    ],
    outputs: [{ value: sat(1000n + BigInt(n)), script: new Uint8Array([0x51]) }],
    locktime: 0,
  };
}
