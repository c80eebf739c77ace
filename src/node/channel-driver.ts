// The channel driver (shell): one BOLT 2 reducer instance per channel. It routes peer messages to their
// channel, creates channels on open_channel (accepting with our defaults), drives channel_reestablish on
// every reconnect, funds through the wallet (the funding transaction is built when funding_created is
// due and signed and broadcast only after funding_signed is received and persisted), watches the funding
// output for depth and spends, and brings every channel back from the store after a restart.
//
// All side effects go through the ActionExecutor, so DESIGN rule 2 holds here without a single check.
import {
  fromReversedHex,
  reversedHex,
  serializeTx,
  type Transaction,
  txidHex,
  txid as txidOf,
} from '../bitcoin/tx.ts';
import { decodeMessage, encodeMessage } from '../bolt01-wire/index.ts';
import type { MessageValue, WireMessage } from '../bolt01-wire/types.ts';
import { localHasChanges } from '../bolt02-channel/commitments.ts';
import {
  acceptChannel,
  attachOnions,
  type ChannelAction,
  type ChannelCommand,
  type ChannelContext,
  type ChannelEvent,
  type ChannelNotification,
  type ChannelSigner,
  type ChannelState,
  channelIdFrom,
  commitmentsOf,
  DOUBLE_SPEND_DEPTH,
  decodeChannelState,
  defaultChannelConfig,
  defaultChannelPolicy,
  detachOnions,
  encodeChannelState,
  localChannelSigner,
  openChannel,
  step,
} from '../bolt02-channel/index.ts';
import type { ChannelType } from '../bolt03-tx/index.ts';
import { Features } from '../bolt09-features/index.ts';
import { fromHex, hex } from '../core/bytes.ts';
import { err, ok, type Result } from '../core/result.ts';
import type { FeeratePerKw, Msat, Sat } from '../core/units.ts';
import type { EntropySource } from '../crypto/random.ts';
import type { KeyChain } from '../keys/derivation.ts';
import {
  decodeRecord,
  del,
  encodeBinaryRecord,
  encodeRecord,
  put,
  type Store,
  type StoreOp,
} from '../store/store.ts';
import { createFunding, releaseFunding, signFunding } from '../wallet/spend.ts';
import { walletErrorMessage } from '../wallet/types.ts';
import type { ChainWatcher, WatchEvent } from './chain-watch.ts';
import { decodePlain } from './channel-codec.ts';
import { ActionExecutor, type DeferredPut, type EmittedEvent, type ExecAction } from './channel-executor.ts';
import { DetachedOnionStore } from './channel-onions.ts';
import type { Clock, TimerHandle } from './clock.ts';
import type { NetworkParams } from './config.ts';
import type { Logger } from './logger.ts';
import { doubleSpendOf, type Onchain } from './onchain.ts';
import type { PeerManager } from './peer-manager.ts';
import type { PeerMessage } from './peer-wire.ts';
import { IRREVOCABLE_DEPTH, Sweeper, type SweepMeta } from './sweep-runner.ts';

export { IRREVOCABLE_DEPTH };

const NS = 'channels';
/** Finished channels (listclosedchannels): same records, no longer loaded or watched. */
const CLOSED_NS = 'channels-closed';
/** The largest channel without option_support_large_channel (BOLT 2: funding_satoshis < 2^24). */
const MAX_STANDARD_FUNDING = (1n << 24n) - 1n;
const NEXT_INDEX_KEY = 'next-key-index';
const RECORD_VERSION = 1;
/**
 * Channel records. 1: JSON, the state and meta as JSON text inside (still read). 2: binary plain data,
 * the state as encodeChannelState bytes and meta as plain data.
 */
const CHANNEL_RECORD_VERSION = 2;

/** Messages a channel reducer handles (open_channel creates one; error/warning come separately). */
const CHANNEL_MESSAGES = new Set<string>([
  'accept_channel',
  'funding_created',
  'funding_signed',
  'channel_ready',
  'shutdown',
  'closing_signed',
  'update_add_htlc',
  'update_fulfill_htlc',
  'update_fail_htlc',
  'update_fail_malformed_htlc',
  'commitment_signed',
  'revoke_and_ack',
  'update_fee',
  'channel_reestablish',
]);

/** What the node remembers about a channel beside the reducer's state. */
export interface ChannelMeta {
  opener: 'local' | 'remote';
  /** host:port we dialled, to reconnect after a restart. */
  peerAddress: string | undefined;
  /** Wallet id (txid) of the funding transaction while we fund it. */
  fundingId: string | undefined;
  feerate: number;
  /** The transaction that closed (or is closing) the channel, as broadcast or seen. */
  closeTx: { txid: string; hex: string; type: 'mutual' | 'unilateral' } | undefined;
  /** The confirmed spend of the funding output. */
  spentBy: { txid: string; height: number } | undefined;
  shutdownScript: Uint8Array;
  /** fundchannel ... all: the funding transaction spends every confirmed coin, no change. */
  fundAll?: boolean;
  /**
   * The peer's next HTLC id when we (last) sent shutdown: its HTLCs from this id on were added after our
   * shutdown and are not forwarded.
   */
  shutdownAtRemoteHtlcId?: bigint;
  /**
   * What of the confirmed funding spend is ours to sweep (sweep.ts): our commitment's to_local, our
   * to_remote on theirs, or nothing; then waiting for maturity, or sent.
   */
  sweep?: SweepMeta;
}

export interface Channel {
  readonly key: string;
  readonly keyIndex: number;
  readonly peerId: string;
  state: ChannelState;
  readonly signer: ChannelSigner;
  meta: ChannelMeta;
  signScheduled: boolean;
  /** The last state handed to the executor to persist (what a restart would load). */
  persisted: ChannelState | undefined;
  /** The ids last put in the byId index (the same arrays step after step: no hex per step). */
  indexed?: { readonly temporary: Uint8Array; readonly channel: Uint8Array | undefined };
}

export interface FundResult {
  readonly tx: string;
  readonly txid: string;
  readonly outnum: number;
  readonly channel_id: string;
  readonly channelType: ChannelType;
}

export interface CloseResult {
  readonly type: 'mutual' | 'unilateral';
  readonly tx: string;
  readonly txid: string;
}

type Waiter<T> = { resolve(v: T): void; reject(e: Error): void };

export class ChannelError extends Error {}

export interface ChannelDriverDeps {
  readonly store: Store;
  readonly peers: PeerManager;
  readonly onchain: Onchain;
  readonly watcher: ChainWatcher;
  readonly keys: KeyChain;
  readonly network: NetworkParams;
  readonly entropy: EntropySource;
  readonly clock: Clock;
  readonly log: Logger;
  /** Legacy closing_signed negotiation: fail the channel after this long without a closing_signed. */
  readonly closingTimeoutMs?: number;
}

/** Default wait for the peer's closing_signed before failing the channel (BOLT 2 "reasonable amount of time"). */
export const CLOSING_TIMEOUT_MS = 10 * 60_000;

const keyOf = (index: number) => `c/${index.toString().padStart(10, '0')}`;

export class ChannelDriver {
  readonly executor: ActionExecutor;
  private readonly channels = new Map<string, Channel>();
  /** channel id or temporary channel id (hex) -> channel key, per peer. */
  private readonly byId = new Map<string, string>();
  private readonly fundWaiters = new Map<string, Waiter<FundResult>>();
  private readonly closeWaiters = new Map<string, Waiter<CloseResult>[]>();
  private readonly listeners: ((ch: Channel, n: ChannelNotification) => void)[] = [];
  private nextIndex: number;
  private closed = false;
  /** Legacy negotiations in progress: the timer that fails the channel if the peer goes quiet. */
  private readonly negotiationTimers = new Map<string, TimerHandle>();
  private readonly sweeper: Sweeper;
  /** Test-only (dev-autofulfill): preimages by payment hash (hex) to settle incoming HTLCs with at once. */
  readonly devPreimages = new Map<string, Uint8Array>();
  /** The onions of live channels' pending adds, written apart from their states. */
  private readonly onions: DetachedOnionStore;
  /** Funders whose funding a wallet transaction double-spent: its depth when last logged. */
  private readonly doubleSpendDepths = new Map<string, number>();

  constructor(private readonly deps: ChannelDriverDeps) {
    this.executor = new ActionExecutor({
      store: deps.store,
      send: (peerId, bytes) => deps.peers.send(peerId, bytes),
      broadcast: async (raw) => {
        await deps.onchain.chain.broadcast(raw);
      },
      onEmit: (e) => this.onEmit(e),
      log: deps.log,
    });
    this.sweeper = new Sweeper({
      onchain: deps.onchain,
      keys: deps.keys,
      log: deps.log,
      persistMeta: (ch) => this.persistMeta(ch),
    });
    this.onions = new DetachedOnionStore(deps.store);
    const n = deps.store.get(NS, NEXT_INDEX_KEY);
    this.nextIndex = n ? decodeRecord<{ next: number }>(n).next : 0;
  }

  /** Loads every channel, replays undelivered events, and starts following peers and the chain. */
  async start(): Promise<void> {
    for (const bad of this.onions.load())
      this.deps.log.error({ record: bad.key, err: bad.error }, 'onion bundle unreadable; kept, not used');
    for (const { key, value } of this.deps.store.list(NS)) {
      if (!key.startsWith('c/')) continue;
      const ch = this.decodeChannel(key, value, (k) => this.onions.onionOf(key, k));
      this.channels.set(key, ch);
      this.index(ch);
      if (ch.keyIndex >= this.nextIndex) this.nextIndex = ch.keyIndex + 1;
    }
    // Bundles no pending add needs any more (only a failed write can leave these): removed.
    const tidy = this.onions.orphans(new Set(this.channels.keys()));
    for (const ch of this.channels.values())
      tidy.push(...this.onions.writes(ch.key, detachOnions(ch.state).onions));
    if (tidy.length > 0) this.deps.store.batch(tidy);
    this.deps.peers.onMessage((peerId, m) => this.onPeerMessage(peerId, m));
    this.deps.peers.onPeerStatus((peerId, up) => this.onPeerStatus(peerId, up));
    this.deps.watcher.onEvent((e) => this.onWatch(e));
    const replayed = await this.executor.replayOutbox();
    if (replayed > 0) this.deps.log.info({ replayed }, 'replayed channel events left by a crash');
    // Every loaded channel starts disconnected; it reestablishes when its peer is back.
    for (const ch of this.channels.values()) {
      if (ch.state.link !== 'down') this.apply(ch, { kind: 'disconnected' });
      this.watchNegotiation(ch, true);
    }
    this.deps.log.info({ channels: this.channels.size }, 'channels loaded');
    this.redial();
    this.deps.watcher.onBlock((height) => this.onBlock(height));
    this.deps.onchain.onBlock(() => this.onWalletBlock());
  }

  private decodeChannel(
    key: string,
    value: Uint8Array,
    onionOf: (k: string) => Uint8Array | undefined = () => undefined,
  ): Channel {
    const rec = decodeRecord<{
      peerId: string;
      keyIndex: number;
      state: Uint8Array | string;
      meta: ChannelMeta | string;
    }>(value);
    if (rec.v !== RECORD_VERSION && rec.v !== CHANNEL_RECORD_VERSION)
      throw new Error(`channel record ${key}: unknown version ${rec.v}`);
    const decoded = decodeChannelState(rec.state);
    const state = decoded.ok ? attachOnions(decoded.value, onionOf) : decoded;
    if (!state.ok) throw new Error(`channel record ${key}: ${state.error}`);
    return {
      key,
      keyIndex: rec.keyIndex,
      peerId: rec.peerId,
      state: state.value,
      signer: localChannelSigner(this.deps.keys.channelKeys(rec.keyIndex)),
      meta:
        rec.v === RECORD_VERSION
          ? (decodePlain(rec.meta as string) as ChannelMeta)
          : (rec.meta as ChannelMeta),
      signScheduled: false,
      persisted: state.value,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.negotiationTimers.values()) t.cancel();
    this.negotiationTimers.clear();
    await this.executor.idle();
  }

  onNotification(h: (ch: Channel, n: ChannelNotification) => void): void {
    this.listeners.push(h);
  }

  list(): Channel[] {
    return [...this.channels.values()];
  }

  get(key: string): Channel | undefined {
    return this.channels.get(key);
  }

  /** A channel by channel id, short channel id ("BxTxO"), or the peer id (its only live channel). */
  find(id: string): Channel | undefined {
    const byChannelId = this.byId.get(id.toLowerCase());
    if (byChannelId) return this.channels.get(byChannelId);
    const live = this.list().filter((c) => c.state.phase !== 'closed');
    const scid = /^(\d+)x(\d+)x(\d+)$/.exec(id);
    if (scid) {
      const v = (BigInt(scid[1]!) << 40n) | (BigInt(scid[2]!) << 16n) | BigInt(scid[3]!);
      return live.find((c) => 'shortChannelId' in c.state && c.state.shortChannelId === v);
    }
    const ofPeer = live.filter((c) => c.peerId === id.toLowerCase() && c.state.phase !== 'closing');
    return ofPeer[ofPeer.length - 1];
  }

  tipHeight(): number {
    return this.deps.watcher.tipHeight ?? this.deps.onchain.tipHeight;
  }

  private ctx(ch: Channel): ChannelContext {
    return {
      signer: ch.signer,
      policy: defaultChannelPolicy(this.deps.network.chainHash),
      blockHeight: this.tipHeight(),
      shutdownScript: ch.meta.shutdownScript,
    };
  }

  private index(ch: Channel): void {
    const temporary = ch.state.temporaryChannelId;
    const channel = commitmentsOf(ch.state)?.channelId;
    if (ch.indexed?.temporary === temporary && ch.indexed.channel === channel) return;
    this.byId.set(hex(temporary), ch.key);
    if (channel) this.byId.set(hex(channel), ch.key);
    ch.indexed = { temporary, channel };
  }

  private record(ch: Channel, state: ChannelState, ns = NS): StoreOp {
    return put(
      ns,
      ch.key,
      encodeBinaryRecord(CHANNEL_RECORD_VERSION, {
        peerId: ch.peerId,
        keyIndex: ch.keyIndex,
        state: encodeChannelState(state),
        meta: ch.meta,
      }),
    );
  }

  /**
   * The write of a live channel's record, made when its batch commits: the state without its onions,
   * with the bundle of the onions the store lacks and the removal of bundles no longer needed.
   */
  private channelWrite(ch: Channel, state: ChannelState): DeferredPut {
    return {
      kind: 'deferred',
      ns: NS,
      key: ch.key,
      make: () => {
        const { state: bare, onions } = detachOnions(state);
        return [this.record(ch, bare), ...this.onions.writes(ch.key, onions)];
      },
      failed: () => this.onions.reload(ch.key),
    };
  }

  /** Writes changed meta with the last persisted state, in order after the channel's earlier steps. */
  private persistMeta(ch: Channel): void {
    const state = ch.persisted;
    if (!state) return;
    this.executor
      .submit(ch.key, [{ kind: 'persist', ops: [this.channelWrite(ch, state)] }])
      .catch((e: Error) => {
        this.deps.log.error({ channel: ch.key, err: e.message }, 'channel record could not be written');
      });
  }

  /** Durably claims a key index: a crash must never hand the same channel keys out twice. */
  private allocateIndex(): number {
    const i = this.nextIndex++;
    this.deps.store.batch([put(NS, NEXT_INDEX_KEY, encodeRecord(RECORD_VERSION, { next: this.nextIndex }))]);
    return i;
  }

  private newChannel(
    peerId: string,
    state: ChannelState | null,
    keyIndex: number,
    meta: Partial<ChannelMeta>,
  ): Channel {
    const script = this.deps.onchain.wallet.newReceiveScript().script;
    const ch: Channel = {
      key: keyOf(keyIndex),
      keyIndex,
      peerId,
      state: state as ChannelState,
      signer: localChannelSigner(this.deps.keys.channelKeys(keyIndex)),
      meta: {
        opener: 'remote',
        peerAddress: undefined,
        fundingId: undefined,
        feerate: 0,
        closeTx: undefined,
        spentBy: undefined,
        shutdownScript: script,
        ...meta,
      },
      signScheduled: false,
      persisted: undefined,
    };
    return ch;
  }

  // ---- stepping ----------------------------------------------------------------------------------

  /** Steps the channel; returns the refusal reason of a refused command, or null. */
  private apply(ch: Channel, event: ChannelEvent): string | null {
    const r = stepChannel(ch.state, event, this.ctx(ch));
    if (!r.ok) return r.error;
    const before = ch.state;
    ch.state = r.value.state;
    this.index(ch);
    this.run(ch, r.value.actions);
    this.scheduleSign(ch);
    // A message from the peer is progress; so is entering the negotiation.
    this.watchNegotiation(ch, event.kind === 'message' || before?.phase !== 'negotiating');
    return null;
  }

  /** Remembers (durably, with this step's state) from which HTLC id the peer's adds came after our shutdown. */
  private noteShutdownSent(ch: Channel): void {
    const c = commitmentsOf(ch.state);
    if (!c) return;
    const prev = ch.meta.shutdownAtRemoteHtlcId;
    // A retransmission after a reconnect may come after the peer's unsigned adds were forgotten: keep the lower.
    if (prev === undefined || c.remoteNextHtlcId < prev) {
      ch.meta.shutdownAtRemoteHtlcId = c.remoteNextHtlcId;
      this.persistMeta(ch);
    }
  }

  /**
   * Whether the peer added its HTLC `htlcId` on this channel after we sent `shutdown`. BOLT 2:
   *   - SHOULD fail to route any HTLC added after it has sent `shutdown`.
   * The switch asks before forwarding an incoming HTLC and fails it back when this is true.
   */
  addedAfterOurShutdown(ch: Channel, htlcId: bigint): boolean {
    const from = ch.meta.shutdownAtRemoteHtlcId;
    return from !== undefined && htlcId >= from;
  }

  /**
   * BOLT 2 (legacy closing): if it doesn't receive a `closing_signed` response after a reasonable amount
   * of time, it MUST fail the channel. The timer restarts on every message the peer sends while we
   * negotiate; when it fires the channel goes on chain.
   */
  private watchNegotiation(ch: Channel, progress: boolean): void {
    const s = ch.state;
    const legacy = s?.phase === 'negotiating' && s.mode === 'legacy';
    const timer = this.negotiationTimers.get(ch.key);
    if (!legacy) {
      timer?.cancel();
      this.negotiationTimers.delete(ch.key);
      return;
    }
    if (timer && !progress) return;
    timer?.cancel();
    const ms = this.deps.closingTimeoutMs ?? CLOSING_TIMEOUT_MS;
    this.negotiationTimers.set(
      ch.key,
      this.deps.clock.after(ms, () => {
        this.negotiationTimers.delete(ch.key);
        if (this.closed || ch.state.phase !== 'negotiating') return;
        this.deps.log.warn(
          { channel: ch.key, after_ms: ms },
          'closing negotiation stalled: failing the channel',
        );
        this.apply(ch, {
          kind: 'command',
          cmd: { kind: 'force_close', message: 'closing_signed negotiation timed out' },
        });
      }),
    );
  }

  private run(ch: Channel, actions: readonly ChannelAction[]): Promise<void> {
    if (actions.some((a) => a.kind === 'send' && a.msg.type === 'shutdown')) this.noteShutdownSent(ch);
    const out: ExecAction[] = [];
    for (const a of broadcastBeforeError(actions)) out.push(...this.translate(ch, a));
    return this.executor.submit(ch.key, out).catch((e: Error) => {
      this.deps.log.error({ channel: ch.key, err: e.message }, 'channel step could not be made durable');
    });
  }

  private translate(ch: Channel, a: ChannelAction): ExecAction[] {
    switch (a.kind) {
      case 'send':
        return [{ kind: 'send', peerId: ch.peerId, bytes: encodeMessage(a.msg) }];
      case 'persist': {
        ch.persisted = a.state;
        // Encoded when its batch commits, and not at all if a later state of the channel replaces it.
        const state = a.state;
        return [
          {
            kind: 'persist',
            ops: [this.channelWrite(ch, state)],
          },
        ];
      }
      case 'broadcast':
        return [{ kind: 'run', what: `broadcast ${a.label}`, fn: () => this.broadcast(ch, a.tx, a.label) }];
      case 'watch_funding': {
        const txid = hex(Uint8Array.from(a.outpoint.txid).reverse());
        const until = Math.max(a.minDepth, 6);
        return [
          {
            kind: 'run',
            what: 'watch funding',
            fn: async () => {
              await this.deps.watcher.add({
                kind: 'spend',
                id: `spend/${ch.key}`,
                txid,
                vout: a.outpoint.vout,
              });
              await this.deps.watcher.add({ kind: 'confirm', id: `fund/${ch.key}`, txid, untilDepth: until });
            },
          },
        ];
      }
      case 'emit':
        return [{ kind: 'emit', event: { key: ch.key, n: a.event } }];
      case 'disconnect':
        return [
          {
            kind: 'run',
            what: 'disconnect',
            fn: () => {
              this.deps.peers.disconnect(fromHex(ch.peerId)).catch(() => undefined);
            },
          },
        ];
    }
  }

  private async broadcast(ch: Channel, tx: Transaction, label: string): Promise<void> {
    if (label === 'funding') return this.broadcastFunding(ch, tx);
    const raw = serializeTx(tx);
    const txid = txidHex(tx);
    const type = label === 'mutual close' ? 'mutual' : 'unilateral';
    const closing = label === 'mutual close' || label === 'local commitment';
    if (closing) {
      ch.meta.closeTx = { txid, hex: hex(raw), type };
      this.persistMeta(ch);
    }
    try {
      await this.deps.onchain.chain.broadcast(raw);
      this.deps.log.info({ channel: ch.key, label, txid }, 'broadcast');
    } catch (e) {
      // Kept in meta.closeTx: rebroadcast() tries again until the funding output is spent.
      this.deps.log.warn(
        { channel: ch.key, label, txid, err: (e as Error).message },
        'broadcast refused; will retry',
      );
    }
    if (closing)
      for (const w of this.closeWaiters.get(ch.key)?.splice(0) ?? []) w.resolve({ type, tx: hex(raw), txid });
  }

  /**
   * On every new block: each live channel checks its deadlines (offered HTLCs expiring, a fulfill the peer
   * never acknowledged, the fundee's funding timeout), and closing transactions not confirmed yet go out
   * again (a mempool may have dropped or refused them).
   */
  private onBlock(height: number): void {
    if (this.closed) return;
    for (const ch of this.list()) {
      if (ch.state.phase !== 'closed') this.apply(ch, { kind: 'block', height });
    }
    for (const ch of this.list()) {
      const t = ch.meta.closeTx;
      if (!t || ch.meta.spentBy) continue;
      this.deps.onchain.chain.broadcast(fromHex(t.hex)).catch(() => undefined);
    }
    for (const ch of this.list()) this.forgetIfFundingDoubleSpent(ch);
    for (const ch of this.list()) this.rebroadcastFunding(ch);
    for (const ch of this.list()) this.sweeper.step(ch, height);
    for (const ch of this.list()) if (this.isFinished(ch, height)) this.archive(ch);
  }

  /** The wallet followed a block (its poll is its own): a funding double-spend may be deep enough now. */
  private onWalletBlock(): void {
    if (this.closed) return;
    for (const ch of this.list()) this.forgetIfFundingDoubleSpent(ch);
  }

  /**
   * Funder: a confirmed transaction spends an input of our unconfirmed funding transaction in its place
   * (the wallet tracks it: the inputs are ours). Once it is DOUBLE_SPEND_DEPTH deep the channel is
   * forgotten and the peer told (double-spend.ts); until then a reorg may still bring the funding back.
   * Checked on every block from the wallet's view, so a restart or a reorg needs nothing remembered here.
   */
  private forgetIfFundingDoubleSpent(ch: Channel): void {
    const s = ch.state;
    if (s.phase !== 'wait_channel_ready' || !s.commitments.localIsFunder || !s.fundingTx) return;
    const spend = doubleSpendOf(this.deps.onchain.wallet, s.fundingTx);
    if (!spend || spend.confirmations === 0) {
      this.doubleSpendDepths.delete(ch.key); // none, or a reorg took it out
      return;
    }
    const fundingTxid = s.commitments.fundingOutpoint.txid;
    const about = {
      channel: ch.key,
      funding_txid: reversedHex(fundingTxid),
      spent_by: spend.txid,
      confirmations: spend.confirmations,
    };
    if (spend.confirmations < DOUBLE_SPEND_DEPTH) {
      // Both the wallet's and the watcher's blocks look: say it once per depth.
      if (this.doubleSpendDepths.get(ch.key) === spend.confirmations) return;
      this.doubleSpendDepths.set(ch.key, spend.confirmations);
      this.deps.log.warn(
        { ...about, forget_at: DOUBLE_SPEND_DEPTH },
        'funding transaction double-spent: the channel is forgotten once the double-spend is deep enough',
      );
      return;
    }
    this.doubleSpendDepths.delete(ch.key);
    const refused = this.apply(ch, {
      kind: 'command',
      cmd: {
        kind: 'funding_double_spent',
        fundingTxid,
        spenderTxid: fromReversedHex(spend.txid),
        depth: spend.confirmations,
      },
    });
    if (refused !== null) this.deps.log.warn({ ...about, refused }, 'funding double-spend not applied');
    else this.deps.log.warn(about, 'funding transaction double-spent: channel forgotten');
  }

  /** Ours and not confirmed yet: a mempool may have dropped it (or refused it before). */
  private rebroadcastFunding(ch: Channel): void {
    if (ch.state.phase !== 'wait_channel_ready' || !ch.state.commitments.localIsFunder) return;
    const txid = reversedHex(ch.state.commitments.fundingOutpoint.txid);
    const t = this.deps.onchain.wallet.getTx(txid);
    if (!t || t.height !== null) return;
    this.deps.onchain.chain.broadcast(serializeTx(t.tx)).catch((e: Error) => {
      // Usually "already in the chain": this block confirmed it and the wallet has not seen it yet.
      this.deps.log.debug({ channel: ch.key, txid, err: e.message }, 'funding rebroadcast refused');
    });
  }
  /**
   * Nothing left to watch: closed before funding (or forgotten by the fundee), or the funding spend is
   * irrevocably deep (BOLT 5: 100 blocks).
   */
  private isFinished(ch: Channel, height: number): boolean {
    if (ch.state.phase === 'closed') return true;
    const spent = ch.meta.spentBy;
    if (spent === undefined || height - spent.height + 1 < IRREVOCABLE_DEPTH) return false;
    return this.sweeper.resolved(ch, height);
  }

  /**
   * Moves a finished channel out of the live set: its chain watches are dropped, its record moves to the
   * closed namespace (listclosedchannels reads it from there), and memory no longer holds it.
   */
  private archive(ch: Channel): void {
    const state = ch.persisted ?? ch.state;
    this.deps.watcher.remove(`spend/${ch.key}`);
    this.deps.watcher.remove(`fund/${ch.key}`);
    const negotiation = this.negotiationTimers.get(ch.key);
    negotiation?.cancel();
    this.negotiationTimers.delete(ch.key);
    this.channels.delete(ch.key);
    for (const [id, key] of this.byId) if (key === ch.key) this.byId.delete(id);
    ch.indexed = undefined;
    // The closed record keeps its onions inside; the channel's detached ones go with its live record.
    const archived: DeferredPut = {
      kind: 'deferred',
      ns: NS,
      key: ch.key,
      make: () => [this.record(ch, state, CLOSED_NS), del(NS, ch.key), ...this.onions.forget(ch.key)],
      failed: () => this.onions.reload(ch.key),
    };
    this.executor.submit(ch.key, [{ kind: 'persist', ops: [archived] }]).catch((e: Error) => {
      this.deps.log.error({ channel: ch.key, err: e.message }, 'closed channel could not be archived');
    });
    this.deps.log.info({ channel: ch.key, phase: state.phase }, 'channel archived: watches dropped');
  }

  /** Channels moved out of the live set (listclosedchannels), read from the store on demand. */
  archived(): Channel[] {
    return this.deps.store.list(CLOSED_NS).map(({ key, value }) => this.decodeChannel(key, value));
  }

  /** funding_signed is in and persisted: now sign the wallet's inputs and publish. */
  private async broadcastFunding(ch: Channel, unsigned: Transaction): Promise<void> {
    const w = this.deps.onchain.wallet;
    const id = ch.meta.fundingId ?? txidHex(unsigned);
    const signed = signFunding(w, id);
    const waiter = this.fundWaiters.get(ch.key);
    if (!signed.ok) {
      this.deps.log.error(
        { channel: ch.key, err: walletErrorMessage(signed.error) },
        'cannot sign the funding transaction',
      );
      waiter?.reject(
        new ChannelError(`cannot sign the funding transaction: ${walletErrorMessage(signed.error)}`),
      );
      this.fundWaiters.delete(ch.key);
      return;
    }
    const raw = serializeTx(signed.value.tx);
    // The peer holds our commitment for this funding transaction: it is kept (never abandoned) and sent
    // again on every block until it confirms (rebroadcastFunding), also after a restart.
    this.deps.onchain.persist();
    const sent = await this.deps.onchain.chain.broadcast(raw).then(
      () => ({ ok: true as const }),
      (e: Error) => ({ ok: false as const, message: e.message }),
    );
    if (!sent.ok)
      this.deps.log.error({ channel: ch.key, err: sent.message }, 'funding broadcast refused; will retry');
    else this.deps.log.info({ channel: ch.key, txid: signed.value.txid }, 'funding transaction broadcast');
    const c = commitmentsOf(ch.state);
    if (waiter && c) {
      this.fundWaiters.delete(ch.key);
      if (!sent.ok)
        waiter.reject(
          new ChannelError(
            `the chain refused the funding transaction (${sent.message}); it is sent again on every block`,
          ),
        );
      else
        waiter.resolve({
          tx: hex(raw),
          txid: signed.value.txid,
          outnum: c.fundingOutpoint.vout,
          channel_id: hex(c.channelId),
          channelType: c.channelType,
        });
    }
  }

  /** Commits pending updates in one commitment_signed once the current burst of events is handled. */
  private scheduleSign(ch: Channel): void {
    if (ch.signScheduled) return;
    const c = ch.state.phase === 'normal' ? ch.state.commitments : undefined;
    if (!c || ch.state.link !== 'up' || c.waiting || !c.remoteNextPoint || !localHasChanges(c)) return;
    ch.signScheduled = true;
    setImmediate(() => {
      ch.signScheduled = false;
      const s = ch.state;
      if (s.phase !== 'normal' || s.link !== 'up' || s.commitments.waiting || !localHasChanges(s.commitments))
        return;
      this.apply(ch, { kind: 'command', cmd: { kind: 'sign' } });
      // The commitment_signed leaves as soon as it is durable, not after whatever the next poll brings.
      this.executor.commitNow();
    });
  }

  // ---- events from the executor's outbox -------------------------------------------------------------

  private onEmit(e: EmittedEvent): void {
    const { key, n } = e.event as { key: string; n: ChannelNotification };
    const ch = this.channels.get(key);
    if (!ch) return;
    switch (n.kind) {
      case 'funding_needed':
        if (ch.state.phase === 'wait_funding_tx') this.fund(ch, n.script, n.amount);
        return;
      case 'channel_id_assigned':
        this.byId.set(hex(n.channelId), ch.key);
        break;
      case 'channel_ready':
        this.deps.log.info({ channel: ch.key, channel_id: hex(n.channelId) }, 'channel ready');
        break;
      case 'channel_closed':
      case 'channel_closing': {
        this.deps.log.info(
          { channel: ch.key, reason: n.reason },
          n.kind === 'channel_closed' ? 'channel closed' : 'channel closing',
        );
        // An opening abandoned before funding_signed: the wallet gets its reserved inputs back.
        const fundingId = ch.meta.fundingId;
        if (n.reason.kind === 'aborted' && fundingId && this.deps.onchain.wallet.getPending(fundingId)) {
          releaseFunding(this.deps.onchain.wallet, fundingId);
          this.deps.onchain.persist();
        }
        const w = this.fundWaiters.get(ch.key);
        if (
          w &&
          (n.reason.kind === 'aborted' || n.reason.kind === 'remote_error' || n.reason.kind === 'local_force')
        ) {
          this.fundWaiters.delete(ch.key);
          const why =
            n.reason.kind === 'aborted' || n.reason.kind === 'remote_error' || n.reason.kind === 'local_force'
              ? n.reason.message
              : '';
          w.reject(new ChannelError(`channel opening failed: ${why}`));
        }
        break;
      }
      case 'warning_received':
        this.deps.log.warn({ channel: ch.key, peer: ch.peerId, message: n.message }, 'peer warning');
        break;
      case 'data_loss_detected':
        this.deps.log.error(
          { channel: ch.key },
          'the peer proved we lost channel state: not broadcasting our commitment',
        );
        break;
      case 'htlc_received': {
        const preimage = this.devPreimages.get(hex(n.htlc.payment_hash));
        if (preimage && ch.state.phase === 'normal') {
          const refused = this.apply(ch, {
            kind: 'command',
            cmd: { kind: 'fulfill_htlc', id: n.htlc.id, preimage },
          });
          if (refused !== null) this.deps.log.warn({ channel: ch.key, refused }, 'dev-autofulfill refused');
        }
        break;
      }
      case 'htlc_offered':
      case 'htlc_offer_cancelled':
      case 'htlc_fulfilled':
      case 'htlc_failed':
        break;
    }
    for (const h of this.listeners) h(ch, n);
  }

  private fund(ch: Channel, script: Uint8Array, amount: Sat): void {
    const w = this.deps.onchain.wallet;
    const opts = { feerate: ch.meta.feerate as FeeratePerKw, minConf: 1 };
    let r = createFunding(w, script, ch.meta.fundAll === true ? 'all' : amount, opts);
    if (r.ok && r.value.amount !== amount) {
      // The wallet changed since open_channel announced the amount: refuse rather than fund another one.
      releaseFunding(w, r.value.id);
      r = err({ kind: 'insufficient-funds', available: r.value.amount, needed: amount });
    }
    if (!r.ok) {
      const message = `cannot fund the channel: ${walletErrorMessage(r.error)}`;
      const waiter = this.fundWaiters.get(ch.key);
      this.fundWaiters.delete(ch.key);
      waiter?.reject(new ChannelError(message));
      this.apply(ch, { kind: 'command', cmd: { kind: 'force_close', message } });
      return;
    }
    ch.meta.fundingId = r.value.id;
    this.deps.onchain.persist();
    this.persistMeta(ch);
    // funding_signed carries the real channel id before channel_id_assigned is emitted.
    this.byId.set(hex(channelIdFrom(txidOf(r.value.tx), r.value.outputIndex)), ch.key);
    const refused = this.apply(ch, {
      kind: 'command',
      cmd: { kind: 'funding_tx_built', tx: r.value.tx, outputIndex: r.value.outputIndex },
    });
    if (refused !== null) {
      releaseFunding(w, r.value.id);
      this.deps.onchain.persist();
      this.deps.log.warn({ channel: ch.key, refused }, 'funding transaction not used');
    }
  }

  // ---- peers -------------------------------------------------------------------------------------

  private ofPeer(peerId: string): Channel[] {
    return this.list().filter((c) => c.peerId === peerId && c.state.phase !== 'closed');
  }

  private onPeerStatus(peerId: string, up: boolean): void {
    if (this.closed) return;
    for (const ch of this.ofPeer(peerId)) this.apply(ch, { kind: up ? 'connected' : 'disconnected' });
  }

  private redial(): void {
    const targets = new Map<string, string>();
    for (const ch of this.list()) {
      if (ch.state.phase === 'closed' || !ch.meta.peerAddress) continue;
      targets.set(ch.peerId, ch.meta.peerAddress);
    }
    for (const [id, addr] of targets) this.dial(id, addr, 1000);
  }

  private dial(id: string, addr: string, delayMs: number): void {
    if (this.closed || this.deps.peers.list().some((p) => p.id === id)) return;
    const m = /^(.*):(\d+)$/.exec(addr);
    if (!m) return;
    const host = m[1]!.replace(/^\[|\]$/g, '');
    this.deps.peers.connect(fromHex(id), host, Number(m[2])).catch((e: Error) => {
      this.deps.log.info(
        { peer: id, err: e.message, retry_ms: delayMs },
        'channel peer unreachable; will retry',
      );
      this.deps.clock.after(delayMs, () => this.dial(id, addr, Math.min(delayMs * 2, 60_000)));
    });
  }

  private onPeerMessage(peerId: string, m: PeerMessage): void {
    if (this.closed) return;
    if (m.type === 'error' || m.type === 'warning') {
      const wire = decodeMessage(
        encodeMessage({ type: m.type, channel_id: m.channelId, data: new TextEncoder().encode(m.text) }),
      );
      if (!wire.ok) return;
      const all = m.channelId.every((b) => b === 0);
      const targets = all
        ? this.ofPeer(peerId)
        : [this.channelFor(peerId, m.channelId)].filter((c) => c !== undefined);
      for (const ch of targets) this.apply(ch, { kind: 'message', msg: wire.value });
      return;
    }
    if (m.type !== 'other') return;
    const msg = m.message;
    if (msg.type === 'open_channel') {
      this.onOpenChannel(peerId, msg);
      return;
    }
    if (!CHANNEL_MESSAGES.has(msg.type)) return;
    const id = channelIdField(msg);
    if (!id) return;
    const ch = this.channelFor(peerId, id);
    if (!ch) {
      this.deps.log.info(
        { peer: peerId, type: msg.type, channel_id: hex(id) },
        'message for an unknown channel',
      );
      if (msg.type === 'channel_reestablish') this.sendError(peerId, id, 'unknown channel');
      return;
    }
    this.apply(ch, { kind: 'message', msg });
  }

  private channelFor(peerId: string, id: Uint8Array): Channel | undefined {
    const key = this.byId.get(hex(id));
    const ch = key ? this.channels.get(key) : undefined;
    return ch && ch.peerId === peerId ? ch : undefined;
  }

  private sendError(peerId: string, channelId: Uint8Array, text: string): void {
    this.deps.peers.send(
      peerId,
      encodeMessage({ type: 'error', channel_id: channelId, data: new TextEncoder().encode(text) }),
    );
  }

  private onOpenChannel(peerId: string, open: MessageValue<'open_channel'>): void {
    if (this.byId.has(hex(open.temporary_channel_id))) {
      this.sendError(peerId, open.temporary_channel_id, 'temporary_channel_id already in use');
      return;
    }
    const keyIndex = this.allocateIndex();
    const ch = this.newChannel(peerId, null, keyIndex, { opener: 'remote' });
    const r = acceptChannel(open, { keyIndex, config: defaultChannelConfig() }, this.ctx(ch));
    if (!r.ok) {
      this.deps.log.info({ peer: peerId, reason: r.error.message }, 'refused open_channel');
      this.sendError(peerId, open.temporary_channel_id, r.error.message);
      return;
    }
    ch.state = r.value.state;
    this.channels.set(ch.key, ch);
    this.index(ch);
    this.deps.log.info(
      { peer: peerId, channel: ch.key, amount_sat: open.funding_satoshis.toString() },
      'accepting a channel',
    );
    this.run(ch, r.value.actions);
  }

  // ---- commands (RPC) ------------------------------------------------------------------------------

  /** Opens a channel with a connected peer; resolves once the funding transaction is broadcast. */
  open(
    peerId: string,
    req: { amount: Sat | 'all'; feerate: FeeratePerKw; announce: boolean; pushMsat: Msat },
  ): Promise<FundResult> {
    const peer = this.deps.peers.list().find((p) => p.id === peerId);
    if (!peer) return Promise.reject(new ChannelError(`Peer ${peerId} is not connected`));
    let amount: Sat;
    let fundAll = false;
    if (req.amount === 'all') {
      const all = this.fundableAll(req.feerate);
      if (!all.ok) return Promise.reject(new ChannelError(`cannot fund the channel: ${all.error}`));
      // Without option_support_large_channel the channel is capped; the rest stays in the wallet as change.
      fundAll = all.value <= MAX_STANDARD_FUNDING;
      amount = (fundAll ? all.value : MAX_STANDARD_FUNDING) as Sat;
    } else amount = req.amount;
    const theirs = Features.fromBytes(fromHex(peer.features));
    const channelType: ChannelType =
      theirs.has(22) || theirs.has(23) ? 'anchors_zero_fee_htlc' : 'static_remotekey';
    const keyIndex = this.allocateIndex();
    const ch = this.newChannel(peerId, null, keyIndex, {
      opener: 'local',
      feerate: req.feerate,
      fundAll,
      peerAddress: peer.direction === 'out' ? peer.netaddr[0] : undefined,
    });
    const r = openChannel(
      {
        keyIndex,
        temporaryChannelId: this.deps.entropy.randomBytes(32),
        fundingAmount: amount,
        pushMsat: req.pushMsat,
        feerate: req.feerate,
        channelType,
        config: defaultChannelConfig(),
        channelFlags: req.announce ? 1 : 0,
      },
      this.ctx(ch),
    );
    if (!r.ok) return Promise.reject(new ChannelError(r.error.reason));
    ch.state = r.value.state;
    this.channels.set(ch.key, ch);
    this.index(ch);
    const done = new Promise<FundResult>((resolve, reject) =>
      this.fundWaiters.set(ch.key, { resolve, reject }),
    );
    this.run(ch, r.value.actions);
    return done;
  }

  /**
   * What a funding transaction spending every confirmed coin would put in the channel at `feerate`
   * (fee deducted): built against a stand-in P2WSH output of the same size, then released.
   */
  private fundableAll(feerate: FeeratePerKw): Result<Sat, string> {
    const w = this.deps.onchain.wallet;
    const standIn = new Uint8Array(34);
    standIn[1] = 0x20;
    const r = createFunding(w, standIn, 'all', { feerate, minConf: 1 });
    if (!r.ok) return err(walletErrorMessage(r.error));
    releaseFunding(w, r.value.id);
    this.deps.onchain.persist();
    return ok(r.value.amount);
  }

  /** Cooperative close; after `unilateralTimeoutS` without agreement, a unilateral one. */
  closeChannel(
    ch: Channel,
    opts: { destination?: Uint8Array; unilateralTimeoutS: number },
  ): Promise<CloseResult> {
    if (ch.meta.closeTx) {
      const t = ch.meta.closeTx;
      return Promise.resolve({ type: t.type, tx: t.hex, txid: t.txid });
    }
    const done = new Promise<CloseResult>((resolve, reject) => {
      const list = this.closeWaiters.get(ch.key) ?? [];
      list.push({ resolve, reject });
      this.closeWaiters.set(ch.key, list);
    });
    const forceClose = () => {
      if (ch.meta.closeTx) return;
      const refused = this.apply(ch, {
        kind: 'command',
        cmd: { kind: 'force_close', message: 'closing unilaterally' },
      });
      if (refused !== null)
        for (const w of this.closeWaiters.get(ch.key)?.splice(0) ?? []) w.reject(new ChannelError(refused));
    };
    const unilateralNow = opts.unilateralTimeoutS === 0 || ch.state.link !== 'up';
    const alreadyShuttingDown =
      ch.state.phase === 'negotiating' ||
      (ch.state.phase === 'normal' && ch.state.shutdown?.localScript !== undefined);
    if (!unilateralNow && !alreadyShuttingDown) {
      const refused = this.apply(ch, {
        kind: 'command',
        cmd: { kind: 'shutdown', script: opts.destination ?? ch.meta.shutdownScript },
      });
      if (refused !== null) {
        for (const w of this.closeWaiters.get(ch.key)?.splice(0) ?? []) w.reject(new ChannelError(refused));
        return done;
      }
    }
    if (unilateralNow) forceClose();
    else this.deps.clock.after(opts.unilateralTimeoutS * 1000, forceClose);
    return done;
  }

  /** Test-only: offers an HTLC with a dummy onion; returns its id. */
  addHtlc(ch: Channel, amount: Msat, paymentHash: Uint8Array, cltvExpiry: number): bigint {
    if (ch.state.phase !== 'normal') throw new ChannelError(`channel is ${ch.state.phase}`);
    const id = ch.state.commitments.localNextHtlcId;
    const cmd: ChannelCommand = {
      kind: 'add_htlc',
      amount,
      paymentHash,
      cltvExpiry,
      onion: new Uint8Array(1366),
    };
    const refused = this.apply(ch, { kind: 'command', cmd });
    if (refused !== null) throw new ChannelError(refused);
    return id;
  }

  /** Test-only: settles the received HTLC(s) paying to sha256(preimage). */
  fulfillHtlc(ch: Channel, id: bigint, preimage: Uint8Array): void {
    const refused = this.apply(ch, { kind: 'command', cmd: { kind: 'fulfill_htlc', id, preimage } });
    if (refused !== null) throw new ChannelError(refused);
  }

  /**
   * The HTLC switch's hook (payments-node): runs one HTLC command (add/fulfill/fail/fail_malformed) on
   * the channel; returns the refusal reason, or null when the reducer took it.
   */
  htlcCommand(ch: Channel, cmd: ChannelCommand): string | null {
    return this.apply(ch, { kind: 'command', cmd });
  }

  // ---- chain -----------------------------------------------------------------------------------------

  private onWatch(e: WatchEvent): void {
    const [kind, ...rest] = e.id.split('/');
    const ch = this.channels.get(rest.join('/'));
    if (!ch) return;
    switch (e.kind) {
      case 'depth': {
        const c = commitmentsOf(ch.state);
        if (!c || kind !== 'fund') return;
        const scid =
          (BigInt(e.at.height) << 40n) | (BigInt(e.at.txIndex) << 16n) | BigInt(c.fundingOutpoint.vout);
        this.apply(ch, { kind: 'funding_depth', depth: e.depth, shortChannelId: scid });
        return;
      }
      case 'unconfirmed':
        this.deps.log.warn({ channel: ch.key, txid: e.txid }, 'funding transaction un-confirmed by a reorg');
        return;
      case 'spent':
        ch.meta.spentBy = { txid: e.spenderTxid, height: e.at.height };
        if (!ch.meta.closeTx)
          ch.meta.closeTx = { txid: e.spenderTxid, hex: hex(serializeTx(e.spender)), type: 'unilateral' };
        this.persistMeta(ch);
        this.apply(ch, { kind: 'funding_spent', tx: e.spender });
        return;
      case 'unspent':
        ch.meta.spentBy = undefined;
        ch.meta.sweep = undefined;
        this.persistMeta(ch);
        return;
    }
  }
}

/**
 * Failing a channel: our commitment goes to the chain BEFORE the `error` goes to the peer, so the peer
 * cannot race us to the chain with another state once it learns we are closing.
 */
export function broadcastBeforeError(actions: readonly ChannelAction[]): readonly ChannelAction[] {
  const at = actions.findIndex((a) => a.kind === 'broadcast' && a.label === 'local commitment');
  if (at < 0) return actions;
  const isError = (a: ChannelAction) => a.kind === 'send' && a.msg.type === 'error';
  const errors = actions.slice(0, at).filter(isError);
  if (errors.length === 0) return actions;
  const rest = actions.filter((a) => !errors.includes(a));
  const after = rest.indexOf(actions[at]!) + 1;
  return [...rest.slice(0, after), ...errors, ...rest.slice(after)];
}

type StepResult =
  | { ok: true; value: { state: ChannelState; actions: readonly ChannelAction[] } }
  | { ok: false; error: string };

function stepChannel(state: ChannelState, event: ChannelEvent, ctx: ChannelContext): StepResult {
  const r = step(state, event, ctx);
  return r.ok ? r : { ok: false, error: r.error.reason };
}

function channelIdField(m: WireMessage): Uint8Array | undefined {
  const v = m as { channel_id?: Uint8Array; temporary_channel_id?: Uint8Array };
  return v.channel_id ?? v.temporary_channel_id;
}
