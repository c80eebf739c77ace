// The HTLC switch (shell). When a channel reports an incoming HTLC irrevocably committed, the switch
// peels its onion and either forwards it (adding the HTLC on the outgoing channel) or hands it to the
// receiver (invoices). Results travel back: a fulfilled outgoing HTLC settles the incoming one, a failed
// one fails it with the error packet wrapped once more. Local payments start here too.
//
// Exactly once across restarts: the incoming<->outgoing pairing and every resolution are written to the
// store (one synchronous batch) before the channel command that reveals them is run. A resolution stays
// queued until its channel no longer holds the HTLC: one not taken yet (peer offline, crash), or taken
// but forgotten by the channel (a disconnect drops updates not yet signed), is run again once the link
// is up. The channel refuses a second removal of the same HTLC, and we only re-run when it carries none.
//
// Route blinding: an incoming path_key (or current_path_key) is peeled with the blinded key, forwarded
// with the next path key, and every failure of such an HTLC leaves as invalid_onion_blinding
// (switch-blinded.ts). An onion already seen in another HTLC is refused (onion-replay.ts).
import type { FailureMessageInput } from '../bolt01-wire/index.ts';
import {
  type ChannelNotification,
  commitmentsOf,
  latestRemoteCommit,
  removalPending,
} from '../bolt02-channel/index.ts';
import {
  blindedForward,
  createErrorPacket,
  ecdhWithSecret,
  type FailureInput,
  failureCode,
  type NextHop,
  type OnionVerdict,
  peelOnion,
  processIncomingOnion,
  wrapErrorPacket,
} from '../bolt04-onion/index.ts';
import { formatShortChannelId } from '../bolt11-invoice/index.ts';
import { equal, hex } from '../core/bytes.ts';
import { assertNever } from '../core/result.ts';
import { type Msat, msat } from '../core/units.ts';
import { sha256 } from '../crypto/index.ts';
import { decodeRecord, del, encodeRecord, put, type Store, type StoreOp } from '../store/store.ts';
import { decodePlain, encodePlain } from './channel-codec.ts';
import type { Channel, ChannelDriver } from './channel-driver.ts';
import type { Clock, TimerHandle } from './clock.ts';
import { unknownDetails } from './htlc-switch.ts';
import type { Logger } from './logger.ts';
import { OnionReplayLog } from './onion-replay.ts';
import { BlindedPathBook, type BlindRole, BlindTags } from './switch-blinded.ts';
import { finalHopPayloadOf, readPayloadWithKeysend } from './switch-keysend.ts';
import {
  checkForward,
  type ForwardingPolicy,
  linkStatus,
  PolicyBook,
  scidOf,
  spendableMsat,
} from './switch-policy.ts';

const NS = 'switch';
const FWD_NS = 'switch-forwards';
const RETRY_MS = 500;

export interface HtlcRef {
  readonly ch: string;
  readonly id: bigint;
}

const refKey = (r: HtlcRef) => `${r.ch}/${r.id.toString().padStart(20, '0')}`;

export type Resolution =
  | { readonly kind: 'fulfill'; readonly preimage: Uint8Array }
  | { readonly kind: 'fail'; readonly reason: Uint8Array }
  | { readonly kind: 'malformed'; readonly code: number; readonly sha256OfOnion: Uint8Array };

interface InRecord {
  state: 'forwarded' | 'receiving' | 'resolved';
  sharedSecret: Uint8Array | null;
  out: HtlcRef | null;
  res: Resolution | null;
  fwd: number | null;
  /** For a received HTLC: what recovery after a restart needs. */
  hash?: Uint8Array;
  amount?: bigint;
  final?: StoredFinal;
}

/** A received HTLC's final-hop details, kept until it is answered, to hand it back after a restart. */
type StoredFinal = Omit<FinalHtlc, 'ref' | 'paymentHash' | 'amountMsat' | 'height'>;

type OutRecord =
  | { readonly origin: 'forward'; readonly in: HtlcRef }
  | { readonly origin: 'local'; readonly tag: string };

/** Final-hop details the receiver needs. */
export interface FinalHtlc {
  readonly ref: HtlcRef;
  readonly paymentHash: Uint8Array;
  readonly amountMsat: Msat;
  readonly cltvExpiry: number;
  readonly height: number;
  readonly amtToForward: Msat;
  readonly outgoingCltvValue: number;
  readonly totalMsat: Msat;
  readonly paymentSecret: Uint8Array | null;
  /** Keysend: the preimage the payer sent in the onion. */
  readonly keysendPreimage: Uint8Array | null;
  readonly paymentMetadata?: Uint8Array | null;
}

/** How the receiver answers, now or later, through `settle`. */
export type FinalDecision =
  | { readonly kind: 'settle'; readonly preimage: Uint8Array }
  | { readonly kind: 'fail'; readonly failure: FailureInput };

export interface Receiver {
  /** Called once per final HTLC (not on replays); answer through PaymentSwitch.settle, now or later. */
  onFinalHtlc(h: FinalHtlc): void;
  /**
   * Once at start, after a restart: every final HTLC the channels still hold that was never answered
   * (held hold-invoice parts, parts of unfinished sets, parts of payments marked paid just before a
   * crash). The receiver answers each through PaymentSwitch.settle, now or later.
   */
  recover(hs: readonly FinalHtlc[]): void;
}

export type LocalResult =
  | { readonly kind: 'fulfilled'; readonly preimage: Uint8Array }
  /** `reason`: the error packet to decode with the onion's shared secrets. */
  | { readonly kind: 'failed'; readonly reason: Uint8Array }
  | { readonly kind: 'malformed'; readonly code: number; readonly sha256OfOnion: Uint8Array }
  /** The HTLC never reached the peer's commitment (disconnect before signing). */
  | { readonly kind: 'cancelled' };

export interface ForwardJson {
  created_index: number;
  in_channel: string;
  in_htlc_id: number;
  in_msat: Msat;
  out_channel?: string;
  out_htlc_id?: number;
  out_msat?: Msat;
  fee_msat?: Msat;
  status: 'offered' | 'settled' | 'failed' | 'local_failed';
  failcode?: number;
  failreason?: string;
  received_time: number;
  resolved_time?: number;
  style: 'tlv';
}

export interface SwitchDeps {
  readonly store: Store;
  readonly driver: ChannelDriver;
  readonly nodeSecret: Uint8Array;
  readonly clock: Clock;
  readonly log: Logger;
  /**
   * Test networks only: leave HTLCs whose onion is all zeros (the dummy onion of the test-only
   * dev-addhtlc) to dev-fulfillhtlc instead of failing them as malformed.
   */
  readonly leaveDummyOnions?: boolean;
}

/** Whether every byte is zero (an indexed loop: `every` with a callback was ~1,366 calls per onion). */
function isAllZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

function rec(v: unknown): Uint8Array {
  return encodeRecord(1, { d: encodePlain(v) });
}
function unrec<T>(b: Uint8Array): T {
  return decodePlain(decodeRecord<{ d: string }>(b).d) as T;
}

export class PaymentSwitch {
  readonly policies: PolicyBook;
  private receiver: Receiver | null = null;
  private readonly localListeners: ((tag: string, r: LocalResult) => void)[] = [];
  /**
   * Resolutions persisted whose HTLC their channel still holds. `taken`: the channel accepted it once
   * (it may still forget it on a disconnect, before it is signed).
   */
  private readonly pending = new Map<string, { ref: HtlcRef; res: Resolution; taken: boolean }>();
  private nextForward: number;
  private timer: TimerHandle | null = null;
  private closed = false;
  private readonly ecdh;
  private readonly replays: OnionReplayLog;
  private prunedAt = -1;
  private readonly blindTags: BlindTags;
  /** The blinded paths this node handed out for its invoices (dev-blindedpath). */
  readonly blindedPaths: BlindedPathBook;

  /**
   * The switch's own records (namespace NS), mirrored in memory: every write goes to the store first
   * (durable), then here, and every read is served from here, not by a SQLite query per HTLC.
   */
  private readonly records = new Map<string, Uint8Array>();

  constructor(private readonly deps: SwitchDeps) {
    for (const { key, value } of deps.store.list(NS)) this.records.set(key, value);
    this.policies = new PolicyBook(deps.store);
    this.replays = new OnionReplayLog(deps.store);
    this.blindTags = new BlindTags(deps.store);
    this.blindedPaths = new BlindedPathBook(deps.store);
    this.ecdh = ecdhWithSecret(deps.nodeSecret);
    const fwds = deps.store.list(FWD_NS);
    this.nextForward = fwds.length === 0 ? 1 : Number(fwds[fwds.length - 1]!.key) + 1;
    // Registered before the driver starts, so events replayed from its outbox reach us.
    deps.driver.onNotification((ch, n) => this.onChannel(ch, n));
  }

  /** One durable batch; the mirror of NS follows only once the store took it. */
  private write(ops: readonly StoreOp[]): void {
    this.deps.store.batch(ops);
    for (const op of ops) {
      if (op.ns !== NS) continue;
      if (op.kind === 'put') this.records.set(op.key, op.value);
      else this.records.delete(op.key);
    }
  }

  setReceiver(r: Receiver): void {
    this.receiver = r;
  }

  /** The chain tip as the channels know it: the receiver times held HTLCs by it. */
  tipHeight(): number {
    return this.height();
  }

  onLocalResult(fn: (tag: string, r: LocalResult) => void): void {
    this.localListeners.push(fn);
  }

  /** After the driver started: queue every resolution that may not have reached its channel. */
  start(): void {
    const height = this.height();
    const unanswered: FinalHtlc[] = [];
    for (const { key, value } of this.deps.store.list(NS)) {
      if (key.startsWith('out/')) {
        this.recoverOutgoing(key, unrec<OutRecord>(value));
        continue;
      }
      if (!key.startsWith('in/')) continue;
      const r = unrec<InRecord>(value);
      const ref = parseRef(key.slice(3));
      if (!this.stillHeld(ref)) {
        if (r.res !== null || r.state === 'receiving') this.write([del(NS, key)]);
        continue;
      }
      if (r.res !== null) {
        this.pending.set(key, { ref, res: r.res, taken: false });
        continue;
      }
      if (r.state === 'receiving' && r.hash !== undefined) {
        const amountMsat = msat(r.amount ?? 0n);
        if (r.final === undefined || this.receiver === null)
          this.settle(ref, { kind: 'fail', failure: unknownDetails(amountMsat, height) });
        else unanswered.push({ ref, paymentHash: r.hash, amountMsat, height, ...r.final });
        continue;
      }
      if (r.state === 'forwarded' && r.out !== null && r.sharedSecret !== null) {
        // Crashed after pairing but before the outgoing channel made the HTLC durable: it never existed.
        const out = this.deps.driver.get(r.out.ch);
        const c = out ? commitmentsOf(out.state) : undefined;
        if (c === undefined || r.out.id >= c.localNextHtlcId) {
          this.write([del(NS, `out/${refKey(r.out)}`)]);
          this.resolve(
            ref,
            {
              kind: 'fail',
              reason: createErrorPacket(r.sharedSecret, {
                failure: 'temporary_channel_failure',
                channel_update: new Uint8Array(0),
              }),
            },
            [],
          );
        }
      }
    }
    this.receiver?.recover(unanswered);
    this.tick();
  }

  /** A local payment's HTLC that never became durable in its channel (crash in between): it failed. */
  private recoverOutgoing(key: string, o: OutRecord): void {
    if (o.origin !== 'local') return;
    const ref = parseRef(key.slice(4));
    const ch = this.deps.driver.get(ref.ch);
    const c = ch ? commitmentsOf(ch.state) : undefined;
    if (c !== undefined && ref.id < c.localNextHtlcId) return;
    this.write([del(NS, key)]);
    for (const fn of this.localListeners) fn(o.tag, { kind: 'cancelled' });
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
  }

  // ---- incoming ------------------------------------------------------------------------------------

  private onChannel(ch: Channel, n: ChannelNotification): void {
    if (this.closed) return;
    switch (n.kind) {
      case 'htlc_received':
        this.onIncoming(ch, n.htlc, n.dustExposureExceeded);
        return;
      case 'htlc_fulfilled':
        this.onOutgoingDone(ch, n.id, { kind: 'fulfilled', preimage: n.preimage });
        return;
      case 'htlc_failed':
        this.onOutgoingDone(
          ch,
          n.id,
          n.reason.kind === 'onion'
            ? { kind: 'failed', reason: n.reason.reason }
            : { kind: 'malformed', code: n.reason.failureCode, sha256OfOnion: n.reason.sha256OfOnion },
        );
        return;
      case 'htlc_offer_cancelled':
        this.onOutgoingDone(ch, n.id, { kind: 'cancelled' });
        return;
      case 'funding_needed':
      case 'channel_id_assigned':
      case 'channel_ready':
      case 'htlc_offered':
      case 'data_loss_detected':
      case 'warning_received':
      case 'channel_closing':
      case 'channel_closed':
        return;
    }
  }

  private height(): number {
    return this.deps.driver.tipHeight();
  }

  private onIncoming(
    ch: Channel,
    htlc: {
      id: bigint;
      amount_msat: bigint;
      payment_hash: Uint8Array;
      cltv_expiry: number;
      onion_routing_packet: Uint8Array;
      tlvs?: { blinded_path?: { path_key: Uint8Array } | undefined };
    },
    dustExceeded: boolean,
  ): void {
    const ref: HtlcRef = { ch: ch.key, id: htlc.id };
    // The dummy-onion test before the store read: both only return, and this one costs no SELECT.
    if (this.deps.leaveDummyOnions === true && isAllZero(htlc.onion_routing_packet)) return;
    const key = `in/${refKey(ref)}`;
    if (this.records.get(key) !== undefined) return; // a replay: already handled
    const amount = msat(htlc.amount_msat);
    const pathKey = htlc.tlvs?.blinded_path?.path_key;
    const v = processIncomingOnion(
      {
        amountMsat: amount,
        cltvExpiry: htlc.cltv_expiry,
        onion: htlc.onion_routing_packet,
        paymentHash: htlc.payment_hash,
        ...(pathKey !== undefined ? { pathKey } : {}),
      },
      this.ecdh,
    );
    const height = this.height();
    if (v.type === 'forward' || v.type === 'receive' || v.type === 'fail') {
      // Inside a blinded path every later failure of this HTLC takes the blinded shape (see resolve).
      const role: BlindRole | null =
        pathKey !== undefined ? 'inner' : v.type === 'forward' && v.blinded ? 'introduction' : null;
      const seen = this.replays.check(v.sharedSecret, refKey(ref), htlc.cltv_expiry);
      // One durable write for both records, before anything leaves for this HTLC.
      const ops: StoreOp[] = [
        ...seen.ops,
        ...(role === null
          ? []
          : [
              this.blindTags.tagOp(
                refKey(ref),
                role,
                sha256(htlc.onion_routing_packet),
                v.sharedSecret,
                htlc.cltv_expiry,
              ),
            ]),
      ];
      if (ops.length > 0) this.write(ops);
      if (seen.verdict === 'replay') {
        this.deps.log.warn({ in: refKey(ref) }, 'replayed onion refused');
        // As LND does for a forward: a transient failure tells the replayer nothing new. A final onion
        // replayed is a payment we do not expect.
        const failure: FailureInput =
          v.type === 'forward'
            ? { failure: 'temporary_channel_failure', channel_update: new Uint8Array(0) }
            : unknownDetails(amount, height);
        this.resolve(ref, { kind: 'fail', reason: createErrorPacket(v.sharedSecret, failure) }, []);
        return;
      }
    }
    switch (v.type) {
      case 'protocol_violation':
      case 'fail_malformed': {
        const code = v.type === 'fail_malformed' ? v.failureCode : 0x8000 | 0x4000 | 5;
        this.resolve(ref, { kind: 'malformed', code, sha256OfOnion: sha256(htlc.onion_routing_packet) }, []);
        return;
      }
      case 'fail': {
        const ks = v.failure.failure === 'invalid_onion_payload' ? this.keysendFinal(htlc) : null;
        if (ks !== null) {
          this.receive(ref, htlc, amount, height, v.sharedSecret, ks);
          return;
        }
        this.resolve(ref, { kind: 'fail', reason: createErrorPacket(v.sharedSecret, v.failure) }, []);
        return;
      }
      case 'receive': {
        let paymentSecret = v.paymentSecret;
        if (v.encryptedData !== null) {
          paymentSecret = this.blindedSecret(ref, htlc, amount, height, v);
          if (paymentSecret === null) return;
        }
        if (dustExceeded) {
          this.resolve(
            ref,
            {
              kind: 'fail',
              reason: createErrorPacket(v.sharedSecret, { failure: 'temporary_node_failure' }),
            },
            [],
          );
          return;
        }
        this.receive(ref, htlc, amount, height, v.sharedSecret, {
          amtToForward: v.amtToForward,
          outgoingCltvValue: v.outgoingCltvValue,
          totalMsat: v.totalMsat,
          paymentSecret,
          keysendPreimage: null,
        });
        return;
      }
      case 'forward':
        this.forward(ch, ref, htlc, v, height);
        return;
    }
  }

  private receive(
    ref: HtlcRef,
    htlc: { payment_hash: Uint8Array; cltv_expiry: number },
    amount: Msat,
    height: number,
    sharedSecret: Uint8Array,
    p: Pick<
      FinalHtlc,
      'amtToForward' | 'outgoingCltvValue' | 'totalMsat' | 'paymentSecret' | 'keysendPreimage'
    >,
  ): void {
    const r: InRecord = {
      state: 'receiving',
      sharedSecret,
      out: null,
      res: null,
      fwd: null,
      hash: htlc.payment_hash,
      amount,
      final: { cltvExpiry: htlc.cltv_expiry, ...p },
    };
    this.write([put(NS, `in/${refKey(ref)}`, rec(r))]);
    const final: FinalHtlc = {
      ref,
      paymentHash: htlc.payment_hash,
      amountMsat: amount,
      cltvExpiry: htlc.cltv_expiry,
      height,
      ...p,
    };
    if (this.receiver === null) {
      this.settle(ref, { kind: 'fail', failure: unknownDetails(amount, height) });
      return;
    }
    this.receiver.onFinalHtlc(final);
  }

  /**
   * A final hop inside a blinded path: its path_id must name a path we handed out for this payment hash.
   * Then the receiver sees a plain final HTLC carrying the invoice's payment_secret (the path_id, readable
   * only by us, proves the payer got the path from our invoice as the secret would). Null: failed here.
   */
  private blindedSecret(
    ref: HtlcRef,
    htlc: { payment_hash: Uint8Array },
    amount: Msat,
    height: number,
    v: Extract<OnionVerdict, { type: 'receive' }>,
  ): Uint8Array | null {
    const binding = v.pathId === null ? null : this.blindedPaths.lookup(v.pathId);
    // BOLT #4:
    // - If it is the final recipient:
    //   - MUST ignore the message if the `path_id` does not match the blinded route it
    //     created for this purpose
    if (binding !== null && equal(binding.paymentHash, htlc.payment_hash)) return binding.paymentSecret;
    // (An inner node's failure becomes invalid_onion_blinding through its tag, in resolve.)
    const failure = unknownDetails(amount, height);
    this.resolve(ref, { kind: 'fail', reason: createErrorPacket(v.sharedSecret, failure) }, []);
    return null;
  }

  /**
   * A final payload carrying keysend's (even) preimage record: the payload codec refuses it as an unknown
   * even type, so take the record out and read the rest. Null when this is not a keysend payload.
   */
  private keysendFinal(htlc: {
    amount_msat: bigint;
    payment_hash: Uint8Array;
    cltv_expiry: number;
    onion_routing_packet: Uint8Array;
  }): Pick<
    FinalHtlc,
    'amtToForward' | 'outgoingCltvValue' | 'totalMsat' | 'paymentSecret' | 'keysendPreimage'
  > | null {
    const peeled = peelOnion(htlc.onion_routing_packet, this.ecdh, htlc.payment_hash);
    if (!peeled.ok || peeled.value.type !== 'final') return null;
    const read = readPayloadWithKeysend(peeled.value.payload, { isFinal: true }, true);
    if (!read.ok || read.value.keysendPreimage === undefined) return null;
    const fin = finalHopPayloadOf(read.value);
    if (fin === undefined) return null;
    // As for any final hop: the incoming amount and CLTV must cover what the payload says.
    if (htlc.amount_msat < fin.amtToForward || htlc.cltv_expiry < fin.outgoingCltvValue) return null;
    return {
      amtToForward: fin.amtToForward,
      outgoingCltvValue: fin.outgoingCltvValue,
      totalMsat: fin.totalMsat,
      paymentSecret: fin.paymentSecret,
      keysendPreimage: read.value.keysendPreimage,
    };
  }

  private forward(
    inCh: Channel,
    ref: HtlcRef,
    htlc: { amount_msat: bigint; payment_hash: Uint8Array; cltv_expiry: number },
    v: Extract<OnionVerdict, { type: 'forward' }>,
    height: number,
  ): void {
    const outCh = this.outgoingChannel(v.next);
    const scid =
      outCh !== undefined
        ? scidOf(outCh.state)
        : v.next.type === 'short_channel_id'
          ? v.next.shortChannelId
          : undefined;
    const incoming = msat(htlc.amount_msat);
    const verdict = checkForward(
      {
        incomingAmountMsat: incoming,
        incomingCltvExpiry: htlc.cltv_expiry,
        amtToForward: v.amtToForward,
        outgoingCltvValue: v.outgoingCltvValue,
        height,
      },
      outCh
        ? { ch: outCh, policy: forwardPolicy(this.policies.get(outCh.key), v, incoming, htlc.cltv_expiry) }
        : undefined,
    );
    const now = this.deps.clock.now() / 1000;
    const base: ForwardJson = {
      created_index: this.nextForward++,
      in_channel: labelOf(inCh),
      in_htlc_id: Number(ref.id),
      in_msat: incoming,
      ...(scid !== undefined ? { out_channel: formatShortChannelId(scid) } : {}),
      status: 'offered',
      received_time: now,
      style: 'tlv',
    };
    const failLocally = (failure: FailureMessageInput, reason: string) => {
      this.deps.log.info({ in: refKey(ref), reason }, 'refusing to forward');
      const fwd: ForwardJson = {
        ...base,
        status: 'local_failed',
        failcode: failureCode(failure),
        failreason: failure.failure,
        resolved_time: now,
      };
      this.resolve(ref, { kind: 'fail', reason: createErrorPacket(v.sharedSecret, failure) }, [
        put(FWD_NS, fwdKey(fwd.created_index), rec(fwd)),
      ]);
    };
    // BOLT #2:
    //   - SHOULD fail to route any HTLC added after it has sent `shutdown`.
    if (this.deps.driver.addedAfterOurShutdown(inCh, ref.id)) {
      failLocally(
        { failure: 'temporary_channel_failure', channel_update: new Uint8Array(0) },
        'incoming channel is shutting down',
      );
      return;
    }
    if (!verdict.ok || outCh === undefined || outCh.state.phase !== 'normal') {
      if (!verdict.ok) failLocally(verdict.failure, verdict.reason);
      else
        failLocally(
          { failure: 'temporary_channel_failure', channel_update: new Uint8Array(0) },
          'not normal',
        );
      return;
    }
    const outRef: HtlcRef = { ch: outCh.key, id: outCh.state.commitments.localNextHtlcId };
    const fwd: ForwardJson = {
      ...base,
      out_htlc_id: Number(outRef.id),
      out_msat: v.amtToForward,
      fee_msat: verdict.feeMsat,
    };
    const inRec: InRecord = {
      state: 'forwarded',
      sharedSecret: v.sharedSecret,
      out: outRef,
      res: null,
      fwd: fwd.created_index,
    };
    const outRec: OutRecord = { origin: 'forward', in: ref };
    // The pairing is durable before the outgoing HTLC can exist.
    this.write([
      put(NS, `in/${refKey(ref)}`, rec(inRec)),
      put(NS, `out/${refKey(outRef)}`, rec(outRec)),
      put(FWD_NS, fwdKey(fwd.created_index), rec(fwd)),
    ]);
    const refused = this.deps.driver.htlcCommand(outCh, {
      kind: 'add_htlc',
      amount: v.amtToForward,
      paymentHash: htlc.payment_hash,
      cltvExpiry: v.outgoingCltvValue,
      onion: v.nextOnion,
      // BOLT #4:
      // - MUST forward the onion and include the next `path_key` in the lightning
      //   message for the next node
      ...(v.nextPathKey !== null ? { pathKey: v.nextPathKey } : {}),
    });
    if (refused !== null) {
      this.write([del(NS, `out/${refKey(outRef)}`)]);
      const failure: FailureMessageInput = {
        failure: 'temporary_channel_failure',
        channel_update: new Uint8Array(0),
      };
      failLocally(failure, refused);
    }
  }

  /**
   * The channel for the next hop: by short_channel_id, or (inside a blinded path, `next_node_id`) the
   * usable channel to that peer with the most room.
   */
  private outgoingChannel(next: NextHop): Channel | undefined {
    const open = this.deps.driver.list().filter((c) => c.state.phase !== 'closed');
    switch (next.type) {
      case 'short_channel_id':
        return open.find((c) => scidOf(c.state) === next.shortChannelId);
      case 'node_id': {
        const peer = hex(next.nodeId);
        const cands = open.filter((c) => c.peerId === peer && scidOf(c.state) !== undefined);
        cands.sort((a, b) => {
          const d = spendableMsat(b) - spendableMsat(a);
          return d > 0n ? 1 : d < 0n ? -1 : 0;
        });
        return cands.find((c) => linkStatus(c) === 'normal') ?? cands[0];
      }
    }
    return assertNever(next, 'next hop');
  }

  /** The receiver's answer for a final HTLC. */
  settle(ref: HtlcRef, d: FinalDecision): void {
    const key = `in/${refKey(ref)}`;
    const b = this.records.get(key);
    if (b === undefined) return;
    const r = unrec<InRecord>(b);
    if (r.res !== null || r.sharedSecret === null) return;
    const res: Resolution =
      d.kind === 'settle'
        ? { kind: 'fulfill', preimage: d.preimage }
        : { kind: 'fail', reason: createErrorPacket(r.sharedSecret, d.failure) };
    this.resolve(ref, res, []);
  }

  /** Persists the resolution (with `ops`), then runs it on the incoming channel. */
  private resolve(ref: HtlcRef, res: Resolution, ops: StoreOp[]): void {
    const key = `in/${refKey(ref)}`;
    const b = this.records.get(key);
    const prev = b === undefined ? null : unrec<InRecord>(b);
    // Inside a blinded path, failures leave as invalid_onion_blinding (switch-blinded.ts).
    const blind = this.blindTags.apply(refKey(ref), res);
    const r: InRecord = {
      state: 'resolved',
      sharedSecret: prev?.sharedSecret ?? null,
      out: prev?.out ?? null,
      res: blind.res,
      fwd: prev?.fwd ?? null,
    };
    this.write([put(NS, key, rec(r)), ...ops, ...blind.ops]);
    this.pending.set(key, { ref, res: blind.res, taken: false });
    this.runPending(key);
  }

  private runPending(key: string): void {
    const p = this.pending.get(key);
    if (!p) return;
    const ch = this.deps.driver.get(p.ref.ch);
    if (!ch || !this.stillHeld(p.ref)) {
      this.pending.delete(key);
      return;
    }
    if (p.taken && ch.state.phase !== 'normal') {
      // Taken, then the channel went to close: from now on the chain resolves the HTLC.
      this.pending.delete(key);
      return;
    }
    const c = commitmentsOf(ch.state);
    if (c !== undefined && removalPending(c.localChanges, p.ref.id)) return; // the channel carries it: wait
    const res = p.res;
    const refused = this.deps.driver.htlcCommand(
      ch,
      res.kind === 'fulfill'
        ? { kind: 'fulfill_htlc', id: p.ref.id, preimage: res.preimage }
        : res.kind === 'fail'
          ? { kind: 'fail_htlc', id: p.ref.id, reason: res.reason }
          : {
              kind: 'fail_malformed_htlc',
              id: p.ref.id,
              sha256OfOnion: res.sha256OfOnion,
              failureCode: res.code,
            },
    );
    if (refused === null) {
      // Kept until the HTLC leaves the channel: a disconnect may drop it before it is signed.
      p.taken = true;
      return;
    }
    if (linkStatus(ch) === 'offline') return; // retried by the timer once the peer is back
    this.deps.log.warn({ htlc: key, refused }, 'resolution not taken by the channel');
    this.pending.delete(key);
  }

  private tick(): void {
    if (this.closed) return;
    const height = this.height();
    if (height > this.prunedAt) {
      this.prunedAt = height;
      this.replays.prune(height);
      this.blindTags.prune(height);
    }
    for (const key of [...this.pending.keys()]) this.runPending(key);
    this.timer = this.deps.clock.after(RETRY_MS, () => this.tick());
  }

  /** Whether the channel still holds the incoming HTLC (in our commitment or their next one). */
  private stillHeld(ref: HtlcRef): boolean {
    const ch = this.deps.driver.get(ref.ch);
    const c = ch ? commitmentsOf(ch.state) : undefined;
    if (!c) return false;
    const has = (hs: readonly { id: bigint; direction: string }[]) =>
      hs.some((h) => h.id === ref.id && h.direction === 'received');
    return has(c.localCommit.spec.htlcs) || has(latestRemoteCommit(c).spec.htlcs);
  }

  // ---- outgoing ------------------------------------------------------------------------------------

  /** Adds a local payment's HTLC on `ch`; the result reaches onLocalResult listeners with `tag`. */
  sendLocal(
    ch: Channel,
    amount: Msat,
    cltvExpiry: number,
    paymentHash: Uint8Array,
    onion: Uint8Array,
    tag: string,
  ): string | null {
    if (ch.state.phase !== 'normal') return `channel is ${ch.state.phase}`;
    if (linkStatus(ch) !== 'normal') return 'first peer is not connected';
    const outRef: HtlcRef = { ch: ch.key, id: ch.state.commitments.localNextHtlcId };
    const outRec: OutRecord = { origin: 'local', tag };
    this.write([put(NS, `out/${refKey(outRef)}`, rec(outRec))]);
    const refused = this.deps.driver.htlcCommand(ch, {
      kind: 'add_htlc',
      amount,
      paymentHash,
      cltvExpiry,
      onion,
    });
    if (refused !== null) this.write([del(NS, `out/${refKey(outRef)}`)]);
    return refused;
  }

  private onOutgoingDone(ch: Channel, id: bigint, result: LocalResult): void {
    const outRef: HtlcRef = { ch: ch.key, id };
    const outKey = `out/${refKey(outRef)}`;
    const b = this.records.get(outKey);
    if (b === undefined) return; // a replay of something already handled, or not ours
    const o = unrec<OutRecord>(b);
    if (o.origin === 'local') {
      this.write([del(NS, outKey)]);
      for (const fn of this.localListeners) fn(o.tag, result);
      return;
    }
    const inKey = `in/${refKey(o.in)}`;
    const ib = this.records.get(inKey);
    const inRec = ib === undefined ? null : unrec<InRecord>(ib);
    if (inRec === null || inRec.sharedSecret === null) {
      this.write([del(NS, outKey)]);
      return;
    }
    let res: Resolution;
    switch (result.kind) {
      case 'fulfilled':
        res = { kind: 'fulfill', preimage: result.preimage };
        break;
      case 'failed':
        // Each hop on the way back obfuscates the packet once more with its own `ammag` key.
        res = { kind: 'fail', reason: wrapErrorPacket(inRec.sharedSecret, result.reason) };
        break;
      case 'malformed':
        // BOLT #2:
        //     - MUST return an error in the `update_fail_htlc` sent to the link which
        //       originally sent the HTLC, using the `failure_code` given and setting the
        //       data to `sha256_of_onion`.
        res = {
          kind: 'fail',
          reason: createErrorPacket(inRec.sharedSecret, {
            failure: 'unknown',
            code: result.code,
            data: result.sha256OfOnion,
          }),
        };
        break;
      case 'cancelled':
        res = {
          kind: 'fail',
          reason: createErrorPacket(inRec.sharedSecret, {
            failure: 'temporary_channel_failure',
            channel_update: new Uint8Array(0),
          }),
        };
        break;
    }
    const ops: StoreOp[] = [del(NS, outKey)];
    if (inRec.fwd !== null) {
      const fb = this.deps.store.get(FWD_NS, fwdKey(inRec.fwd));
      if (fb !== undefined) {
        const f = unrec<ForwardJson>(fb);
        const done: ForwardJson = {
          ...f,
          status: result.kind === 'fulfilled' ? 'settled' : 'failed',
          resolved_time: this.deps.clock.now() / 1000,
        };
        ops.push(put(FWD_NS, fwdKey(inRec.fwd), rec(done)));
      }
    }
    this.resolve(o.in, res, ops);
  }

  // ---- RPC views -----------------------------------------------------------------------------------

  listForwards(): ForwardJson[] {
    return this.deps.store.list(FWD_NS).map(({ value }) => unrec<ForwardJson>(value));
  }
}

/**
 * The policy checkForward applies. Inside a blinded path the amount forwarded comes from payment_relay
 * with BOLT 4's rounding up, which our plain fee check can miss by a msat: there our fee is enforced the
 * spec's way (we would forward at least as much under our own fees) and checkForward checks the rest.
 */
function forwardPolicy(
  p: ForwardingPolicy,
  v: Extract<OnionVerdict, { type: 'forward' }>,
  incoming: Msat,
  cltvExpiry: number,
): ForwardingPolicy {
  if (!v.blinded) return p;
  const ours = blindedForward(incoming, cltvExpiry, {
    feeBaseMsat: Number(p.feeBaseMsat),
    feeProportionalMillionths: p.feePpm,
    cltvExpiryDelta: p.cltvExpiryDelta,
  });
  // Too little fee: the plain check stays (it refuses, unless the shortfall is lost in its rounding).
  if (ours === null || ours.amtToForward < v.amtToForward) return p;
  return { ...p, feeBaseMsat: msat(0n), feePpm: 0 };
}

function fwdKey(i: number): string {
  return String(i).padStart(12, '0');
}

function parseRef(s: string): HtlcRef {
  const i = s.lastIndexOf('/');
  return { ch: s.slice(0, i), id: BigInt(s.slice(i + 1)) };
}

function labelOf(ch: Channel): string {
  const s = scidOf(ch.state);
  return s === undefined ? ch.key : formatShortChannelId(s);
}
