// Per-channel forwarding policy (setchannel) and the checks an intermediate node makes before it
// forwards an HTLC, in BOLT 4's order. The channel is seen through the small OutgoingView below.
import type { FailureMessageInput } from '../bolt01-wire/index.ts';
import { type ChannelState, commitmentsOf } from '../bolt02-channel/index.ts';
import { type Msat, msat } from '../core/units.ts';
import { decodeRecord, encodeRecord, put, type Store } from '../store/store.ts';
import type { Channel } from './channel-driver.ts';

/** Core Lightning's defaults. */
export const DEFAULT_FEE_BASE_MSAT = msat(1000);
export const DEFAULT_FEE_PPM = 10;
export const DEFAULT_CLTV_EXPIRY_DELTA = 34;
/** An outgoing HTLC must expire at least this many blocks from now. */
export const MIN_OUTGOING_CLTV_BLOCKS = 6;
/** No HTLC may expire more than this many blocks from now. */
export const MAX_CLTV_EXPIRY_BLOCKS = 2016;

export interface ForwardingPolicy {
  readonly feeBaseMsat: Msat;
  readonly feePpm: number;
  readonly cltvExpiryDelta: number;
  readonly htlcMinimumMsat: Msat;
  /** Undefined: no maximum besides what the channel can carry. */
  readonly htlcMaximumMsat: Msat | undefined;
}

export const DEFAULT_POLICY: ForwardingPolicy = {
  feeBaseMsat: DEFAULT_FEE_BASE_MSAT,
  feePpm: DEFAULT_FEE_PPM,
  cltvExpiryDelta: DEFAULT_CLTV_EXPIRY_DELTA,
  htlcMinimumMsat: msat(0),
  htlcMaximumMsat: undefined,
};

const NS = 'switch-policy';

/** Policies by channel key, persisted. */
export class PolicyBook {
  private readonly policies = new Map<string, ForwardingPolicy>();

  constructor(private readonly store: Store) {
    for (const { key, value } of store.list(NS)) {
      const r = decodeRecord<{ base: bigint; ppm: number; delta: number; min: bigint; max: bigint | null }>(
        value,
      );
      this.policies.set(key, {
        feeBaseMsat: msat(r.base),
        feePpm: r.ppm,
        cltvExpiryDelta: r.delta,
        htlcMinimumMsat: msat(r.min),
        htlcMaximumMsat: r.max === null ? undefined : msat(r.max),
      });
    }
  }

  get(channelKey: string): ForwardingPolicy {
    return this.policies.get(channelKey) ?? DEFAULT_POLICY;
  }

  set(channelKey: string, p: ForwardingPolicy): void {
    this.store.batch([
      put(
        NS,
        channelKey,
        encodeRecord(1, {
          base: p.feeBaseMsat,
          ppm: p.feePpm,
          delta: p.cltvExpiryDelta,
          min: p.htlcMinimumMsat,
          max: p.htlcMaximumMsat ?? null,
        }),
      ),
    ]);
    this.policies.set(channelKey, p);
  }
}

/** BOLT 7: fee_base_msat + amount * fee_proportional_millionths / 1,000,000. */
export function feeFor(p: Pick<ForwardingPolicy, 'feeBaseMsat' | 'feePpm'>, amount: Msat): Msat {
  return msat(p.feeBaseMsat + (amount * BigInt(p.feePpm)) / 1_000_000n);
}

export function scidOf(s: ChannelState): bigint | undefined {
  return 'shortChannelId' in s ? s.shortChannelId : undefined;
}

export type LinkStatus = 'normal' | 'offline' | 'closing';

export function linkStatus(ch: Channel): LinkStatus {
  const s = ch.state;
  if (s.phase !== 'normal' || s.shutdown !== undefined) return 'closing';
  return s.link === 'up' ? 'normal' : 'offline';
}

/** What we may still offer on the channel: our balance above the reserve, minus adds not yet signed. */
export function spendableMsat(ch: Channel): Msat {
  const c = commitmentsOf(ch.state);
  if (!c) return msat(0);
  const pendingOut = c.localChanges.proposed.reduce(
    (t, u) => t + (u.type === 'update_add_htlc' ? u.amount_msat : 0n),
    0n,
  );
  const v = c.localCommit.spec.toLocal - c.remote.channelReserve * 1000n - pendingOut;
  return msat(v > 0n ? v : 0n);
}

export interface ForwardCheck {
  readonly incomingAmountMsat: Msat;
  readonly incomingCltvExpiry: number;
  readonly amtToForward: Msat;
  readonly outgoingCltvValue: number;
  readonly height: number;
}

export type ForwardVerdict =
  | { readonly ok: true; readonly feeMsat: Msat }
  | { readonly ok: false; readonly failure: FailureMessageInput; readonly reason: string };

/**
 * The forwarding checks. `out` is undefined when no live channel has the requested short_channel_id.
 * We do not announce channels (no gossip yet), so failures carry an empty channel_update.
 */
export function checkForward(
  req: ForwardCheck,
  out: { readonly ch: Channel; readonly policy: ForwardingPolicy } | undefined,
): ForwardVerdict {
  const update = new Uint8Array(0);
  const fail = (failure: FailureMessageInput, reason: string): ForwardVerdict => ({
    ok: false,
    failure,
    reason,
  });
  // BOLT #4:
  //   - if the receiving peer specified by the onion is NOT known:
  //     - return an `unknown_next_peer` error.
  if (out === undefined)
    return fail({ failure: 'unknown_next_peer' }, 'no channel with that short_channel_id');
  const status = linkStatus(out.ch);
  // BOLT #4:
  //   - if an otherwise unspecified, permanent error occurs during forwarding to its
  //   receiving peer (e.g. channel recently closed):
  //     - return a `permanent_channel_failure` error.
  if (status === 'closing')
    return fail({ failure: 'permanent_channel_failure' }, 'outgoing channel is closing');
  const p = out.policy;
  const c = commitmentsOf(out.ch.state);
  const peerMin = c ? c.remote.htlcMinimum : msat(0);
  // The larger of the peer's minimum and ours (bigints: no Math.max).
  let minimum = p.htlcMinimumMsat;
  if (peerMin > minimum) minimum = peerMin;
  // BOLT #4:
  //   - if the HTLC amount is less than the currently specified minimum amount:
  //     - report the amount of the outgoing HTLC and the current channel setting for
  //     the outgoing channel.
  //     - return an `amount_below_minimum` error.
  if (req.amtToForward < minimum || req.amtToForward === 0n)
    return fail(
      { failure: 'amount_below_minimum', htlc_msat: req.amtToForward, channel_update: update },
      `amount below the minimum ${minimum} msat`,
    );
  const fee = feeFor(p, req.amtToForward);
  // BOLT #4:
  //   - if the HTLC does NOT pay a sufficient fee:
  //     - report the amount of the incoming HTLC and the current channel setting for
  //     the outgoing channel.
  //     - return a `fee_insufficient` error.
  if (req.incomingAmountMsat < req.amtToForward + fee)
    return fail(
      { failure: 'fee_insufficient', htlc_msat: req.incomingAmountMsat, channel_update: update },
      `fee below the required ${fee} msat`,
    );
  // BOLT #4:
  //  -  if the incoming `cltv_expiry` minus the `outgoing_cltv_value` is below the
  //     `cltv_expiry_delta` for the outgoing channel:
  //     - report the `cltv_expiry` of the outgoing HTLC and the current channel setting for the outgoing
  //     channel.
  //     - return an `incorrect_cltv_expiry` error.
  if (req.incomingCltvExpiry - req.outgoingCltvValue < p.cltvExpiryDelta)
    return fail(
      { failure: 'incorrect_cltv_expiry', cltv_expiry: req.outgoingCltvValue, channel_update: update },
      `cltv delta below our ${p.cltvExpiryDelta}`,
    );
  // BOLT #4:
  //   - if the `cltv_expiry` is unreasonably near the present:
  //     - report the current channel setting for the outgoing channel.
  //     - return an `expiry_too_soon` error.
  if (req.outgoingCltvValue < req.height + MIN_OUTGOING_CLTV_BLOCKS)
    return fail(
      { failure: 'expiry_too_soon', channel_update: update },
      'outgoing HTLC would expire too soon',
    );
  // BOLT #4:
  //   - if the `cltv_expiry` is more than `max_htlc_cltv` in the future:
  //     - return an `expiry_too_far` error.
  if (req.incomingCltvExpiry > req.height + MAX_CLTV_EXPIRY_BLOCKS)
    return fail({ failure: 'expiry_too_far' }, 'HTLC expires too far in the future');
  // BOLT #4:
  //   - if during forwarding to its receiving peer, an otherwise unspecified,
  //   transient error occurs in the outgoing channel (e.g. channel capacity reached,
  //   too many in-flight HTLCs, etc.):
  //     - return a `temporary_channel_failure` error.
  const temporary = (reason: string) =>
    fail({ failure: 'temporary_channel_failure', channel_update: update }, reason);
  if (status === 'offline') return temporary('outgoing peer is not connected');
  if (p.htlcMaximumMsat !== undefined && req.amtToForward > p.htlcMaximumMsat)
    return temporary(`amount above our htlc_maximum_msat ${p.htlcMaximumMsat}`);
  if (req.amtToForward > spendableMsat(out.ch))
    return temporary('not enough spendable on the outgoing channel');
  return { ok: true, feeMsat: msat(req.incomingAmountMsat - req.amtToForward) };
}
