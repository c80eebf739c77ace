// One node's view of a shared devnet chain in the N-node harness: the node sees the chain only up to
// its own `visible` height, which the harness raises one block at a time, node by node, in a shuffled
// order. So each node learns of a block at its own moment (funding depth, channel_ready, HTLC deadlines
// reach peers out of step, as they do on a real network). Broadcasts go to the shared mempool.
import { fromReversedHex, reversedHex } from '../bitcoin/tx.ts';
import { DevnetChain } from '../chain/devnet/adapter.ts';
import type { Devnet } from '../chain/devnet/node.ts';
import type { BlockHeaderInfo, ChainBlock, ChainTip, TxLookup, UnspentOutput } from '../chain/seams.ts';
import { blockHeight, type FeeratePerKw } from '../core/units.ts';
import type { ChainBackend } from '../node/chain-backend.ts';

export class LaggingChain implements ChainBackend {
  private readonly inner: DevnetChain;
  visible: number;

  constructor(
    private readonly devnet: Devnet,
    visible: number,
  ) {
    this.inner = new DevnetChain(devnet);
    this.visible = visible;
  }

  /** Blocks the chain has that this view does not show yet. */
  get behind(): number {
    return this.devnetHeight() - this.visible;
  }

  private devnetHeight(): number {
    return this.devnet.entry(this.devnet.tipId)!.height;
  }

  private heightOf(hash: Uint8Array): number | null {
    const e = this.devnet.entry(reversedHex(hash));
    return e ? e.height : null;
  }

  async tip(): Promise<ChainTip> {
    const id = this.devnet.idAt(this.visible);
    if (!id) throw new Error(`lagging chain: no block at ${this.visible}`);
    return { hash: fromReversedHex(id), height: blockHeight(this.visible) };
  }

  async blockHashAt(height: number): Promise<Uint8Array | null> {
    return height <= this.visible ? this.inner.blockHashAt(height) : null;
  }

  async block(hash: Uint8Array): Promise<ChainBlock | null> {
    const h = this.heightOf(hash);
    return h !== null && h <= this.visible ? this.inner.block(hash) : null;
  }

  async header(hash: Uint8Array): Promise<BlockHeaderInfo | null> {
    const h = this.heightOf(hash);
    return h !== null && h <= this.visible ? this.inner.header(hash) : null;
  }

  async transaction(txid: Uint8Array): Promise<TxLookup | null> {
    const t = await this.inner.transaction(txid);
    if (!t || t.blockHeight === null) return t;
    // Mined above what we see yet: still unconfirmed for us.
    if (t.blockHeight > this.visible)
      return { tx: t.tx, blockHash: null, blockHeight: null, confirmations: 0 };
    return { ...t, confirmations: this.visible - t.blockHeight + 1 };
  }

  async txOut(txid: Uint8Array, vout: number, includeMempool = true): Promise<UnspentOutput | null> {
    const out = await this.inner.txOut(txid, vout, includeMempool);
    if (!out || out.confirmations === 0) return out;
    const confirmations = out.confirmations - this.behind;
    if (confirmations > 0) return { ...out, confirmations };
    return includeMempool ? { ...out, confirmations: 0 } : null;
  }

  broadcast(rawTx: Uint8Array): Promise<Uint8Array> {
    return this.inner.broadcast(rawTx);
  }

  feeratePerKw(target: number): Promise<FeeratePerKw> {
    return this.inner.feeratePerKw(target);
  }
}
