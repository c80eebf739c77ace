// The forward side of the HTLC switch, pure: given an incoming HTLC, its intermediate-hop payload and the
// outgoing channel's policy and state, decide to forward or which BOLT 4 failure to return. The channel
// is described by the small interface below, not by the channel state machine's internals.
import type { Failure } from '../bolt04-onion/failure.ts';
import { type Msat, msat } from '../core/units.ts';

/** Our policy on the outgoing channel, as our latest channel_update announces it. */
export interface ForwardPolicy {
  readonly feeBaseMsat: Msat;
  readonly feeProportionalMillionths: number;
  readonly cltvExpiryDelta: number;
  readonly htlcMinimumMsat: Msat;
  readonly htlcMaximumMsat: Msat;
  readonly enabled: boolean;
}

/** What the switch asks of an outgoing channel. */
export interface OutgoingChannel {
  readonly scid: bigint;
  readonly policy: ForwardPolicy;
  /** Our latest channel_update for this channel (the bytes failures carry). */
  readonly channelUpdate: Uint8Array;
  /** 'normal': can add HTLCs; 'offline': peer disconnected or not reestablished; 'closing': shutdown or closed. */
  readonly status: 'normal' | 'offline' | 'closing';
  /** What we can add to the channel now (after reserve, fees and HTLCs in flight). */
  readonly spendableMsat: Msat;
  /** The peer's htlc_minimum_msat for HTLCs we offer. */
  readonly peerHtlcMinimumMsat: Msat;
  readonly htlcsInFlight: number;
  /** The peer's max_accepted_htlcs. */
  readonly maxAcceptedHtlcs: number;
}

export interface ForwardRequest {
  readonly incomingAmountMsat: Msat;
  readonly incomingCltvExpiry: number;
  readonly shortChannelId: bigint;
  readonly amtToForward: Msat;
  readonly outgoingCltvValue: number;
  readonly height: number;
}

export interface ForwardConfig {
  /** The outgoing HTLC must expire at least this many blocks from now (else expiry_too_soon). */
  readonly minOutgoingCltvBlocks: number;
  /** No HTLC may expire more than this many blocks from now (max_htlc_cltv; else expiry_too_far). */
  readonly maxCltvExpiryBlocks: number;
}

export const DEFAULT_FORWARD_CONFIG: ForwardConfig = { minOutgoingCltvBlocks: 6, maxCltvExpiryBlocks: 2016 };

export type ForwardDecision =
  | {
      readonly type: 'forward';
      readonly scid: bigint;
      readonly amountMsat: Msat;
      readonly cltvExpiry: number;
      readonly feeMsat: Msat;
    }
  | { readonly type: 'fail'; readonly failure: Failure; readonly reason: string };

/** The fee we charge to forward `amount` under `policy` (BOLT 7 formula). */
export function forwardingFee(
  policy: Pick<ForwardPolicy, 'feeBaseMsat' | 'feeProportionalMillionths'>,
  amount: Msat,
): Msat {
  return msat(policy.feeBaseMsat + (amount * BigInt(policy.feeProportionalMillionths)) / 1_000_000n);
}

export function decideForward(
  req: ForwardRequest,
  lookup: (scid: bigint) => OutgoingChannel | undefined,
  cfg: ForwardConfig = DEFAULT_FORWARD_CONFIG,
): ForwardDecision {
  const fail = (failure: Failure, reason: string): ForwardDecision => ({ type: 'fail', failure, reason });
  const ch = lookup(req.shortChannelId);
  // BOLT #4:
  //   - if the receiving peer specified by the onion is NOT known:
  //     - return an `unknown_next_peer` error.
  if (ch === undefined)
    return fail({ failure: 'unknown_next_peer', tlvs: {} }, 'no channel with that short_channel_id');
  const update = ch.channelUpdate;
  // BOLT #4:
  //   - if an otherwise unspecified, permanent error occurs during forwarding to its
  //   receiving peer (e.g. channel recently closed):
  //     - return a `permanent_channel_failure` error.
  if (ch.status === 'closing')
    return fail({ failure: 'permanent_channel_failure', tlvs: {} }, 'outgoing channel is closing');
  // Checked before the policy: a disabled channel's fee or delta do not matter to the sender.
  // BOLT #4:
  //   - if the channel is disabled:
  //     - report the current channel setting for the outgoing channel.
  //     - return a `channel_disabled` error.
  if (!ch.policy.enabled) {
    return fail(
      { failure: 'channel_disabled', disabled_flags: 0, channel_update: update, tlvs: {} },
      'outgoing channel is disabled',
    );
  }
  // BOLT #4:
  //   - if the HTLC amount is less than the currently specified minimum amount:
  //     - report the amount of the outgoing HTLC and the current channel setting for
  //     the outgoing channel.
  //     - return an `amount_below_minimum` error.
  let minimum = ch.policy.htlcMinimumMsat;
  if (ch.peerHtlcMinimumMsat > minimum) minimum = ch.peerHtlcMinimumMsat;
  if (req.amtToForward < minimum || req.amtToForward === 0n) {
    return fail(
      { failure: 'amount_below_minimum', htlc_msat: req.amtToForward, channel_update: update, tlvs: {} },
      `amount ${req.amtToForward} msat is below the minimum ${minimum} msat`,
    );
  }
  // BOLT #4:
  //   - if the HTLC does NOT pay a sufficient fee:
  //     - report the amount of the incoming HTLC and the current channel setting for
  //     the outgoing channel.
  //     - return a `fee_insufficient` error.
  const fee = forwardingFee(ch.policy, req.amtToForward);
  if (req.incomingAmountMsat < req.amtToForward + fee) {
    return fail(
      { failure: 'fee_insufficient', htlc_msat: req.incomingAmountMsat, channel_update: update, tlvs: {} },
      `fee ${req.incomingAmountMsat - req.amtToForward} msat is below the required ${fee} msat`,
    );
  }
  // BOLT #4:
  //  -  if the incoming `cltv_expiry` minus the `outgoing_cltv_value` is below the
  //     `cltv_expiry_delta` for the outgoing channel:
  //     - report the `cltv_expiry` of the outgoing HTLC and the current channel setting for the outgoing
  //     channel.
  //     - return an `incorrect_cltv_expiry` error.
  if (req.incomingCltvExpiry - req.outgoingCltvValue < ch.policy.cltvExpiryDelta) {
    return fail(
      {
        failure: 'incorrect_cltv_expiry',
        cltv_expiry: req.outgoingCltvValue,
        channel_update: update,
        tlvs: {},
      },
      `cltv delta ${req.incomingCltvExpiry - req.outgoingCltvValue} is below our ${ch.policy.cltvExpiryDelta}`,
    );
  }
  // BOLT #4:
  //   - if the `cltv_expiry` is unreasonably near the present:
  //     - report the current channel setting for the outgoing channel.
  //     - return an `expiry_too_soon` error.
  if (req.outgoingCltvValue < req.height + cfg.minOutgoingCltvBlocks) {
    return fail(
      { failure: 'expiry_too_soon', channel_update: update, tlvs: {} },
      `outgoing HTLC would expire at ${req.outgoingCltvValue}, too near height ${req.height}`,
    );
  }
  // BOLT #4:
  //   - if the `cltv_expiry` is more than `max_htlc_cltv` in the future:
  //     - return an `expiry_too_far` error.
  if (req.incomingCltvExpiry > req.height + cfg.maxCltvExpiryBlocks) {
    return fail(
      { failure: 'expiry_too_far', tlvs: {} },
      `HTLC expires more than ${cfg.maxCltvExpiryBlocks} blocks from now`,
    );
  }
  // BOLT #4:
  //   - if during forwarding to its receiving peer, an otherwise unspecified,
  //   transient error occurs in the outgoing channel (e.g. channel capacity reached,
  //   too many in-flight HTLCs, etc.):
  //     - return a `temporary_channel_failure` error.
  const temporary = (reason: string) =>
    fail({ failure: 'temporary_channel_failure', channel_update: update, tlvs: {} }, reason);
  if (ch.status === 'offline') return temporary('outgoing peer is not connected');
  if (req.amtToForward > ch.policy.htlcMaximumMsat) {
    return temporary(
      `amount ${req.amtToForward} msat exceeds htlc_maximum_msat ${ch.policy.htlcMaximumMsat}`,
    );
  }
  if (req.amtToForward > ch.spendableMsat)
    return temporary(`only ${ch.spendableMsat} msat can be sent on the outgoing channel`);
  if (ch.htlcsInFlight >= ch.maxAcceptedHtlcs)
    return temporary('outgoing channel has too many HTLCs in flight');
  return {
    type: 'forward',
    scid: ch.scid,
    amountMsat: req.amtToForward,
    cltvExpiry: req.outgoingCltvValue,
    feeMsat: msat(req.incomingAmountMsat - req.amtToForward),
  };
}
