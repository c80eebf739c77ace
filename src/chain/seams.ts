// The chain seams of DESIGN.md: ChainSource, Broadcaster, FeeEstimator. Every adapter (the embedded
// devnet, Bitcoin Core over JSON-RPC) implements them and passes test/chain/conformance.ts.
// Hashes and txids are 32 bytes in internal (serialization) order, as src/bitcoin/tx.ts keeps them.
import type { Transaction, TxOut } from '../bitcoin/tx.ts';
import type { BlockHeight, FeeratePerKw } from '../core/units.ts';

export interface BlockHeaderInfo {
  readonly hash: Uint8Array;
  readonly height: BlockHeight;
  /** All zeroes for the genesis block. */
  readonly prevHash: Uint8Array;
  /** Header timestamp, seconds since the epoch. */
  readonly time: number;
  readonly medianTimePast: number;
}

export interface ChainBlock extends BlockHeaderInfo {
  readonly txs: readonly Transaction[];
}

export interface ChainTip {
  readonly hash: Uint8Array;
  readonly height: BlockHeight;
}

export interface TxLookup {
  readonly tx: Transaction;
  /** Null while the transaction is in the mempool. */
  readonly blockHash: Uint8Array | null;
  readonly blockHeight: BlockHeight | null;
  /** 0 in the mempool, 1 in the tip block. */
  readonly confirmations: number;
}

export interface UnspentOutput {
  readonly output: TxOut;
  /** 0 when the output is only in the mempool. */
  readonly confirmations: number;
  readonly coinbase: boolean;
}

export interface ChainSource {
  tip(): Promise<ChainTip>;
  /** Hash of the block at `height` on the active chain, null above the tip. */
  blockHashAt(height: number): Promise<Uint8Array | null>;
  /** A block by hash, active chain or not (null when unknown). Height is the block's own height. */
  block(hash: Uint8Array): Promise<ChainBlock | null>;
  header(hash: Uint8Array): Promise<BlockHeaderInfo | null>;
  /** A transaction in the mempool or on the active chain, null when unknown. */
  transaction(txid: Uint8Array): Promise<TxLookup | null>;
  /** An unspent output of the active chain (and of the mempool when `includeMempool`); null when spent or unknown. */
  txOut(txid: Uint8Array, vout: number, includeMempool?: boolean): Promise<UnspentOutput | null>;
}

/** A rejected broadcast: `code` is Bitcoin Core's RPC error code, `message` its reject text. */
export class BroadcastError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'BroadcastError';
  }
}

export interface Broadcaster {
  /** Resolves with the txid (internal order); rejects with a BroadcastError carrying Core's text. */
  broadcast(rawTx: Uint8Array): Promise<Uint8Array>;
}

export interface FeeEstimator {
  /** Sat per 1000 weight for confirmation within `target` blocks; never below the 253 floor. */
  feeratePerKw(target: number): Promise<FeeratePerKw>;
}

/** Events a ChainFollower delivers, strictly in chain order. */
export interface ChainListener {
  blockConnected(block: ChainBlock): void | Promise<void>;
  blockDisconnected(hash: Uint8Array, height: BlockHeight): void | Promise<void>;
}

/** The lowest feerate Lightning implementations accept (BOLT 3's 253 sat/kw). */
export const FEERATE_FLOOR_PER_KW = 253 as FeeratePerKw;
