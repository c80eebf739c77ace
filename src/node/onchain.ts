// The on-chain wallet as a running service (shell): loads the wallet from its SQLite records, follows the
// chain block by block (reorgs included), persists every change before anything leaves the node, and
// broadcasts what the wallet signs.
import { reversedHex, serializeTx, type Transaction, txidHex } from '../bitcoin/tx.ts';
import { ChainFollower } from '../chain/follower.ts';
import type { ChainBlock } from '../chain/seams.ts';
import type { KeyChain } from '../keys/derivation.ts';
import { WalletStore } from '../wallet/sqlite-store.ts';
import type { WalletError } from '../wallet/types.ts';
import { outpointKey, Wallet } from '../wallet/wallet.ts';
import type { ChainBackend } from './chain-backend.ts';
import type { Logger } from './logger.ts';

export class Onchain {
  private readonly follower: ChainFollower;
  private readonly blockListeners: (() => void)[] = [];
  private constructor(
    readonly wallet: Wallet,
    private readonly store: WalletStore,
    readonly chain: ChainBackend,
    private readonly log: Logger,
    start: { hash: Uint8Array; height: number } | undefined,
  ) {
    this.follower = new ChainFollower(chain, {
      ...(start ? { start: { hash: start.hash, height: start.height as never } } : {}),
      onError: (e) => this.log.warn({ err: (e as Error).message }, 'chain poll failed; will retry'),
    });
    this.follower.subscribe({
      blockConnected: (b) => this.connected(b),
      blockDisconnected: (hash, height) => this.disconnected(hash, height),
    });
  }

  static async open(opts: {
    chain: ChainBackend;
    keys: KeyChain;
    path: string;
    log: Logger;
  }): Promise<Onchain> {
    const store = WalletStore.open(opts.path);
    const records = store.load();
    const wallet =
      records.length > 0 ? Wallet.fromRecords(records, opts.keys) : new Wallet(opts.keys.network, opts.keys);
    let start: { hash: Uint8Array; height: number } | undefined;
    if (wallet.tipHeight !== null && wallet.tipHash !== null) {
      start = {
        hash: Uint8Array.from(Buffer.from(wallet.tipHash, 'hex')).reverse(),
        height: wallet.tipHeight,
      };
    } else {
      // A new wallet has no history before now: its keys did not exist.
      const tip = await opts.chain.tip();
      start = { hash: tip.hash, height: tip.height };
    }
    const service = new Onchain(wallet, store, opts.chain, opts.log, start);
    service.persist();
    await service.rebroadcast();
    return service;
  }

  get tipHeight(): number {
    return this.follower.tip?.height ?? this.wallet.tipHeight ?? 0;
  }

  /** Polls now (tests and RPC calls that want the freshest view call this). */
  sync(): Promise<void> {
    return this.follower.poll();
  }

  start(pollMs: number): void {
    this.follower.start(pollMs);
  }

  /**
   * Told after each block the wallet applied or undid, once persisted. The wallet follows the chain on
   * its own poll: what it learns (a funding double-spent, doubleSpendOf) may come after the channel
   * watcher's block, so the channel driver looks again from here.
   */
  onBlock(h: () => void): void {
    this.blockListeners.push(h);
  }

  /** Writes the wallet's pending changes durably (e.g. a funding reservation before it is used). */
  persist(): void {
    this.store.apply(this.wallet.takeChanges());
  }

  private connected(b: ChainBlock): void {
    const hash = reversedHex(b.hash);
    const r = this.wallet.applyBlock({ height: b.height, hash, txs: b.txs });
    if (!r.ok) {
      if (r.error.kind === 'block-out-of-order' && this.wallet.tipHash === hash) return; // redelivered
      throw new Error(`wallet refused block ${b.height} ${hash}: ${r.error.kind}`);
    }
    this.persist();
    if (r.value.relevant.length > 0)
      this.log.info({ height: b.height, txs: r.value.relevant }, 'wallet transactions confirmed');
    // A channel's funding among them: the channel driver forgets that channel once the double-spend is
    // deep enough (doubleSpendOf, looked at from onBlock).
    if (r.value.conflicted.length > 0)
      this.log.warn({ txs: r.value.conflicted }, 'wallet transactions double-spent by a block');
    this.tellBlock();
  }

  private disconnected(hash: Uint8Array, height: number): void {
    const r = this.wallet.disconnectBlock(reversedHex(hash));
    if (!r.ok) throw new Error(`wallet could not disconnect block ${height}: ${r.error.kind}`);
    this.persist();
    this.log.info(
      { height, unconfirmed: r.value.unconfirmed, dropped: r.value.dropped },
      'block disconnected (reorg)',
    );
    this.tellBlock();
  }

  private tellBlock(): void {
    for (const h of this.blockListeners) {
      try {
        h();
      } catch (e) {
        // The wallet's block is applied and durable whatever a listener does.
        this.log.error({ err: (e as Error).message }, 'wallet block listener failed');
      }
    }
  }

  /** Our unconfirmed transactions may have left the mempools while we were down: send them again. */
  private async rebroadcast(): Promise<void> {
    for (const t of this.wallet.unconfirmedOwn()) {
      try {
        await this.chain.broadcast(serializeTx(t.tx));
      } catch (e) {
        this.log.info({ txid: t.txid, reason: (e as Error).message }, 'rebroadcast refused');
      }
    }
  }

  /**
   * Persists the wallet's new transaction, then broadcasts it. A refused broadcast abandons the
   * transaction (its inputs come back) and the error is returned for the caller to report.
   */
  async persistAndBroadcast(
    txid: string,
    raw: Uint8Array,
  ): Promise<{ ok: true } | { ok: false; message: string }> {
    this.persist();
    try {
      await this.chain.broadcast(raw);
      return { ok: true };
    } catch (e) {
      this.wallet.abandon(txid);
      this.persist();
      return { ok: false, message: (e as Error).message };
    }
  }

  async close(): Promise<void> {
    await this.follower.stop();
    this.store.close();
  }
}

export type { WalletError };

/**
 * A transaction of the wallet spending one of `tx`'s inputs in its place (a double-spend of `tx`), with
 * its confirmations: the deepest if there are several. The wallet tracks it when the inputs are ours; a
 * reorg that un-confirms it brings its confirmations back to 0.
 */
export function doubleSpendOf(
  wallet: Wallet,
  tx: Transaction,
): { txid: string; confirmations: number } | undefined {
  const own = txidHex(tx);
  let deepest: { txid: string; confirmations: number } | undefined;
  for (const i of tx.inputs) {
    const spender = wallet.spenderOf(outpointKey(reversedHex(i.prevout.txid), i.prevout.vout));
    const t = spender === undefined || spender === own ? undefined : wallet.getTx(spender);
    if (t === undefined) continue;
    const confirmations = wallet.confirmations(t);
    if (deepest === undefined || confirmations > deepest.confirmations)
      deepest = { txid: t.txid, confirmations };
  }
  return deepest;
}
