// The devnet seen through the chain seams, in process (no HTTP): what tests and the demo use when the
// node and the chain share a process. Same conformance suite as the Bitcoin Core adapter.

import {
  fromReversedHex,
  parseTx,
  reversedHex,
  type Transaction,
  TxParseError,
  txid as txidOf,
} from '../../bitcoin/tx.ts';
import { type BlockHeight, blockHeight, type FeeratePerKw, satPerVbyteToPerKw } from '../../core/units.ts';
import {
  type BlockHeaderInfo,
  BroadcastError,
  type Broadcaster,
  type ChainBlock,
  type ChainSource,
  type ChainTip,
  type FeeEstimator,
  type TxLookup,
  type UnspentOutput,
} from '../seams.ts';
import { type Devnet, type IndexEntry, RPC } from './node.ts';
import { devnetFeerate } from './rpc.ts';

export class DevnetChain implements ChainSource, Broadcaster, FeeEstimator {
  constructor(private readonly node: Devnet) {}

  private info(e: IndexEntry): BlockHeaderInfo {
    return {
      hash: e.hash,
      height: blockHeight(e.height),
      prevHash: e.header.prevHash,
      time: e.header.time,
      medianTimePast: this.node.medianTimeOfEntry(e),
    };
  }

  async tip(): Promise<ChainTip> {
    const e = this.node.entry(this.node.tipId)!;
    return { hash: e.hash, height: blockHeight(e.height) };
  }

  async blockHashAt(height: number): Promise<Uint8Array | null> {
    const id = this.node.idAt(height);
    return id ? fromReversedHex(id) : null;
  }

  async header(hash: Uint8Array): Promise<BlockHeaderInfo | null> {
    const e = this.node.entry(reversedHex(hash));
    return e ? this.info(e) : null;
  }

  async block(hash: Uint8Array): Promise<ChainBlock | null> {
    const id = reversedHex(hash);
    const e = this.node.entry(id);
    const b = this.node.block(id);
    return e && b ? { ...this.info(e), txs: b.txs } : null;
  }

  async transaction(txid: Uint8Array): Promise<TxLookup | null> {
    const found = this.node.findTx(reversedHex(txid));
    if (!found) return null;
    if (!found.block) return { tx: found.tx, blockHash: null, blockHeight: null, confirmations: 0 };
    const e = this.node.entry(found.block)!;
    return {
      tx: found.tx,
      blockHash: e.hash,
      blockHeight: e.height as BlockHeight,
      confirmations: this.node.confirmations(e.id),
    };
  }

  async txOut(txid: Uint8Array, vout: number, includeMempool = true): Promise<UnspentOutput | null> {
    const out = this.node.txOut(reversedHex(txid), vout, includeMempool);
    return out
      ? { output: out.coin.output, confirmations: out.confirmations, coinbase: out.coin.coinbase }
      : null;
  }

  async broadcast(rawTx: Uint8Array): Promise<Uint8Array> {
    let tx: Transaction;
    try {
      tx = parseTx(rawTx);
    } catch (e) {
      if (e instanceof TxParseError)
        throw new BroadcastError(
          RPC.DESERIALIZATION_ERROR,
          'TX decode failed. Make sure the tx has at least one input.',
        );
      throw e;
    }
    const r = this.node.accept(tx);
    if (!r.ok) {
      // Core answers a resend of a mempool transaction with its txid.
      if (r.error.rejectReason === 'txn-already-in-mempool') return txidOf(tx);
      throw new BroadcastError(r.error.code, r.error.message);
    }
    return r.value.txid;
  }

  async feeratePerKw(target: number): Promise<FeeratePerKw> {
    const t = Math.min(1008, Math.max(1, Math.floor(target)));
    return satPerVbyteToPerKw(Number(devnetFeerate(t)) / 1000);
  }
}
