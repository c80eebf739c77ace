// Runs the sweeps of sweep.ts for the channel driver: once a funding spend confirmed, works out what of it
// is ours (our commitment's to_local, our to_remote on theirs), waits for maturity, builds, persists and
// broadcasts the sweep, sends it again on every block until the wallet sees it confirmed, and tells the
// driver when nothing is left to resolve.
import { serializeTx, type Transaction, txidHex } from '../bitcoin/tx.ts';
import type { Commitments } from '../bolt02-channel/index.ts';
import { fromHex, hex } from '../core/bytes.ts';
import type { KeyChain } from '../keys/derivation.ts';
import type { Channel } from './channel-driver.ts';
import type { Logger } from './logger.ts';
import type { Onchain } from './onchain.ts';
import {
  buildToLocalSweep,
  buildToRemoteSweep,
  findToRemote,
  ownCommitmentOutputs,
  toLocalMatureAt,
} from './sweep.ts';

/** BOLT 5: a resolving transaction 100 blocks deep is irrevocably resolved. */
export const IRREVOCABLE_DEPTH = 100;

export type SweepMeta =
  | { readonly state: 'none' }
  | { readonly state: 'waiting'; readonly kind: 'to_local' | 'to_remote'; readonly at: number }
  | { readonly state: 'sent'; readonly txid: string; readonly hex: string };

export interface SweeperDeps {
  readonly onchain: Onchain;
  readonly keys: KeyChain;
  readonly log: Logger;
  /** Makes the channel's meta (with its `sweep`) durable. */
  persistMeta(ch: Channel): void;
}

export class Sweeper {
  /** Channels whose sweep is being built (the feerate is fetched asynchronously). */
  private readonly sweeping = new Set<string>();

  constructor(private readonly deps: SweeperDeps) {}

  /** Whether the sweep (if any) is done and 100 blocks deep. */
  resolved(ch: Channel, height: number): boolean {
    const sw = ch.meta.sweep;
    if (sw === undefined || sw.state === 'waiting') return false;
    if (sw.state === 'none') return true;
    const at = this.deps.onchain.wallet.getTx(sw.txid)?.height;
    return at !== null && at !== undefined && height - at + 1 >= IRREVOCABLE_DEPTH;
  }

  /**
   * BOLT 5, our own commitment confirmed: "SHOULD spend the `to_local` output to a convenient address"
   * once the CSV delay has passed; their commitment confirmed: our to_remote (a key the wallet does not
   * know) goes to the wallet at once. The sweep pays the channel's wallet script and is sent again on
   * every block until the wallet sees it confirmed.
   */
  step(ch: Channel, height: number): void {
    const s = ch.state;
    const spent = ch.meta.spentBy;
    if (s.phase !== 'closing' || !s.commitments || !spent) return;
    let sw = ch.meta.sweep;
    if (!sw) {
      sw = this.classifySpend(ch, s.commitments, s.published, spent);
      ch.meta.sweep = sw;
      this.deps.persistMeta(ch);
      if (sw.state === 'waiting')
        this.deps.log.info(
          { channel: ch.key, output: sw.kind, at: sw.at },
          'funding spend confirmed: sweepable at height',
        );
    }
    switch (sw.state) {
      case 'none':
        return;
      case 'waiting':
        // Mined in the next block at the earliest: BIP68 counts that block's height.
        if (height + 1 >= sw.at && !this.sweeping.has(ch.key)) {
          this.sweeping.add(ch.key);
          this.sendSweep(ch, spent.txid, sw.kind).finally(() => this.sweeping.delete(ch.key));
        }
        return;
      case 'sent': {
        const t = this.deps.onchain.wallet.getTx(sw.txid);
        if (t?.height === null || t === undefined)
          this.deps.onchain.chain.broadcast(fromHex(sw.hex)).catch(() => undefined);
        return;
      }
    }
  }

  /** Our commitment with a to_local output, their commitment with our to_remote, or nothing of ours. */
  private classifySpend(
    ch: Channel,
    c: Commitments,
    published: readonly Transaction[],
    spent: { txid: string; height: number },
  ): SweepMeta {
    const confirmed = published.find((t) => txidHex(t) === spent.txid);
    if (!confirmed) return { state: 'none' };
    const own = ownCommitmentOutputs(c, ch.signer, confirmed);
    if (own?.toLocal)
      return { state: 'waiting', kind: 'to_local', at: toLocalMatureAt(spent.height, own.toSelfDelay) };
    if (own) return { state: 'none' };
    const theirs = findToRemote(c.channelType, this.deps.keys.channelKeys(ch.keyIndex), confirmed);
    return theirs
      ? { state: 'waiting', kind: 'to_remote', at: spent.height + theirs.csv }
      : { state: 'none' };
  }

  private async sendSweep(ch: Channel, spentTxid: string, kind: 'to_local' | 'to_remote'): Promise<void> {
    const s = ch.state;
    if (s.phase !== 'closing' || !s.commitments) return;
    const confirmed = s.published.find((t) => txidHex(t) === spentTxid);
    if (!confirmed) return;
    const keys = this.deps.keys.channelKeys(ch.keyIndex);
    const own = kind === 'to_local' ? ownCommitmentOutputs(s.commitments, ch.signer, confirmed) : undefined;
    const feerate = await this.deps.onchain.chain.feeratePerKw(6);
    const r = own
      ? buildToLocalSweep(own, keys, ch.meta.shutdownScript, feerate)
      : buildToRemoteSweep(s.commitments.channelType, keys, confirmed, ch.meta.shutdownScript, feerate);
    if (ch.meta.spentBy?.txid !== spentTxid) return; // reorged away meanwhile
    if (!r.ok) {
      this.deps.log.warn({ channel: ch.key, output: kind, why: r.error }, 'not swept');
      ch.meta.sweep = { state: 'none' };
      this.deps.persistMeta(ch);
      return;
    }
    const raw = serializeTx(r.value.tx);
    const txid = txidHex(r.value.tx);
    ch.meta.sweep = { state: 'sent', txid, hex: hex(raw) };
    this.deps.persistMeta(ch);
    // The wallet follows the sweep (it pays one of its scripts) from the moment we publish it.
    this.deps.onchain.wallet.addUnconfirmed(r.value.tx);
    this.deps.onchain.persist();
    try {
      await this.deps.onchain.chain.broadcast(raw);
      this.deps.log.info(
        { channel: ch.key, output: kind, txid, value_sat: r.value.value.toString() },
        'swept',
      );
    } catch (e) {
      this.deps.log.warn({ channel: ch.key, txid, err: (e as Error).message }, 'sweep refused; will retry');
    }
  }
}
