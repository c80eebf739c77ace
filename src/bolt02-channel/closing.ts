// Legacy mutual close: closing_signed fee negotiation with fee_range, signing and broadcasting the
// agreed closing transaction.

import type { MessageValue } from '../bolt01-wire/types.ts';
import {
  buildLegacyClosing,
  type Closing,
  expectedClosingWeight,
  signedFundingSpend,
  verifyFundingInput,
} from '../bolt03-tx/index.ts';
import { feeForWeight, type Sat } from '../core/units.ts';
import { failChannel, warning } from './common.ts';
import type { ChannelAction, ChannelContext, FeeRange, Transition } from './events.ts';
import type { ChannelState, ClosingState, Commitments, NegotiatingState, NormalState } from './state.ts';

/** The closing transaction as `who` builds it (each side removes outputs below its own dust limit). */
function closingTx(c: Commitments, local: Uint8Array, remote: Uint8Array, fee: Sat, who: 'local' | 'remote'): Closing | undefined {
  const spec = c.localCommit.spec;
  const r =
    who === 'local'
      ? buildLegacyClosing({
          fundingOutpoint: c.fundingOutpoint,
          fundingAmount: c.fundingAmount,
          localBalance: spec.toLocal,
          remoteBalance: spec.toRemote,
          localScript: local,
          remoteScript: remote,
          localIsFunder: c.localIsFunder,
          fee,
          dustLimit: c.local.dustLimit,
        })
      : buildLegacyClosing({
          fundingOutpoint: c.fundingOutpoint,
          fundingAmount: c.fundingAmount,
          localBalance: spec.toRemote,
          remoteBalance: spec.toLocal,
          localScript: remote,
          remoteScript: local,
          localIsFunder: !c.localIsFunder,
          fee,
          dustLimit: c.remote.dustLimit,
        });
  return r.ok ? r.value : undefined;
}

function funderBalanceSat(c: Commitments): Sat {
  return ((c.localIsFunder ? c.localCommit.spec.toLocal : c.localCommit.spec.toRemote) / 1000n) as Sat;
}

function defaultRange(c: Commitments, local: Uint8Array, remote: Uint8Array): { target: Sat; range: FeeRange } {
  const weight = expectedClosingWeight([local, remote]);
  const target = feeForWeight(c.localCommit.spec.feerate, weight);
  const min = feeForWeight(253 as never, weight);
  const cap = funderBalanceSat(c);
  const max = (target * 3n < cap ? target * 3n : cap) as Sat;
  return { target: (target < max ? target : max) as Sat, range: { min: (min < max ? min : max) as Sat, max } };
}

function closingSignedFor(
  s: NegotiatingState,
  fee: Sat,
  ctx: ChannelContext,
): MessageValue<'closing_signed'> | undefined {
  const c = s.commitments;
  const tx = closingTx(c, s.localScript, s.remoteScript, fee, 'local');
  if (tx === undefined) return undefined;
  return {
    type: 'closing_signed',
    channel_id: c.channelId,
    fee_satoshis: fee,
    signature: ctx.signer.signClosing(tx.tx, c.remote.basepoints.fundingPubkey, c.fundingAmount),
    tlvs: { fee_range: { min_fee_satoshis: s.feeRange.min, max_fee_satoshis: s.feeRange.max } },
  };
}

export function startNegotiation(
  s: NormalState,
  localScript: Uint8Array,
  remoteScript: Uint8Array,
  feeRange: FeeRange | undefined,
  ctx: ChannelContext,
): Transition {
  const c = s.commitments;
  const d = defaultRange(c, localScript, remoteScript);
  const next: NegotiatingState = {
    phase: 'negotiating',
    keyIndex: s.keyIndex,
    temporaryChannelId: s.temporaryChannelId,
    link: s.link,
    commitments: c,
    localScript,
    remoteScript,
    lastSentFee: undefined,
    feeRange: feeRange ?? d.range,
  };
  // BOLT #2:
  // The funding node:
  //   - after `shutdown` has been received, AND no HTLCs remain in either commitment transaction:
  //     - SHOULD send a `closing_signed` message.
  if (!c.localIsFunder) return { state: next, actions: [] };
  const fee = (d.target < next.feeRange.min ? next.feeRange.min : d.target > next.feeRange.max ? next.feeRange.max : d.target) as Sat;
  const msg = closingSignedFor(next, fee, ctx);
  if (msg === undefined) return failChannel(next, 'cannot build a closing transaction', ctx);
  const sent: NegotiatingState = { ...next, lastSentFee: fee };
  return { state: sent, actions: [{ kind: 'persist', state: sent }, { kind: 'send', msg }] };
}

function finish(s: NegotiatingState, closing: Closing, theirSig: Uint8Array, extra: ChannelAction[], ctx: ChannelContext): Transition {
  const c = s.commitments;
  const ours = ctx.signer.signClosing(closing.tx, c.remote.basepoints.fundingPubkey, c.fundingAmount);
  const tx = signedFundingSpend(closing.tx, c.local.basepoints.fundingPubkey, ours, c.remote.basepoints.fundingPubkey, theirSig);
  const next: ClosingState = {
    phase: 'closing',
    keyIndex: s.keyIndex,
    temporaryChannelId: s.temporaryChannelId,
    link: s.link,
    commitments: c,
    reason: { kind: 'mutual' },
    published: [tx],
  };
  return {
    state: next,
    actions: [
      { kind: 'persist', state: next },
      ...extra,
      { kind: 'broadcast', tx, label: 'mutual close' },
      { kind: 'emit', event: { kind: 'channel_closing', reason: next.reason } },
    ],
  };
}

export function onClosingSigned(s: NegotiatingState, m: MessageValue<'closing_signed'>, ctx: ChannelContext): Transition {
  const c = s.commitments;
  const fee = m.fee_satoshis as Sat;
  // BOLT #2:
  //   - if the `signature` is not valid for either variant of closing transaction
  //   specified in [BOLT #3](03-transactions.md#closing-transaction) OR non-compliant with LOW-S-standard rule<sup>[LOWS](https://github.com/bitcoin/bitcoin/pull/6769)</sup>:
  //     - MUST send a `warning` and close the connection, or send an
  //       `error` and fail the channel.
  const theirs = closingTx(c, s.localScript, s.remoteScript, fee, 'remote');
  const valid =
    theirs !== undefined &&
    verifyFundingInput(
      theirs.tx,
      c.local.basepoints.fundingPubkey,
      c.remote.basepoints.fundingPubkey,
      c.fundingAmount,
      m.signature,
      c.remote.basepoints.fundingPubkey,
    );
  if (!valid || theirs === undefined) return warning(s, 'invalid closing_signed signature');
  // BOLT #2:
  //   - if `fee_satoshis` is equal to its previously sent `fee_satoshis`:
  //     - SHOULD sign and broadcast the final closing transaction.
  if (s.lastSentFee === fee) return finish(s, theirs, m.signature, [], ctx);
  const ourRange = s.feeRange;
  const theirRange = m.tlvs.fee_range;
  // BOLT #2:
  //   - if `fee_satoshis` matches its previously sent `fee_range`:
  //     - SHOULD use `fee_satoshis` to sign and broadcast the final closing transaction
  //     - SHOULD reply with a `closing_signed` with the same `fee_satoshis` value if it is different from its previously sent `fee_satoshis`
  if (fee >= ourRange.min && fee <= ourRange.max) {
    const reply = closingSignedFor(s, fee, ctx);
    if (reply === undefined) return failChannel(s, 'cannot build the closing transaction', ctx);
    return finish(s, theirs, m.signature, [{ kind: 'send', msg: reply }], ctx);
  }
  if (theirRange !== undefined) {
    const lo = theirRange.min_fee_satoshis > ourRange.min ? theirRange.min_fee_satoshis : ourRange.min;
    const hi = theirRange.max_fee_satoshis < ourRange.max ? theirRange.max_fee_satoshis : ourRange.max;
    // BOLT #2:
    //     - if there is no overlap between that and its own `fee_range`:
    //       - SHOULD send a warning
    if (lo > hi) return warning(s, 'no overlap between closing fee ranges');
    // BOLT #2:
    //       - if it is the funder:
    //         - if `fee_satoshis` is not in the overlap between the sent and received `fee_range`:
    //           - MUST fail the channel
    if (c.localIsFunder) return failChannel(s, 'closing fee outside the overlapping fee_range', ctx);
    // BOLT #2:
    //         - if it has already sent a `closing_signed`:
    //           - if `fee_satoshis` is not the same as the value it sent:
    //             - MUST fail the channel
    if (s.lastSentFee !== undefined) return failChannel(s, 'closing fee changed', ctx);
    const proposal = (fee < lo ? lo : fee > hi ? hi : fee) as Sat;
    const msg = closingSignedFor(s, proposal, ctx);
    if (msg === undefined) return failChannel(s, 'cannot build the closing transaction', ctx);
    const next: NegotiatingState = { ...s, lastSentFee: proposal };
    return { state: next, actions: [{ kind: 'persist', state: next }, { kind: 'send', msg }] };
  }
  // No fee_range: move halfway towards their fee (strictly between, as the legacy rule asks).
  const last = s.lastSentFee ?? (fee < ourRange.min ? ourRange.min : ourRange.max);
  let proposal = ((last + fee) / 2n) as Sat;
  if (proposal === last || proposal === fee) proposal = fee;
  const msg = closingSignedFor(s, proposal, ctx);
  if (msg === undefined) return failChannel(s, 'cannot build the closing transaction', ctx);
  if (proposal === fee) return finish(s, theirs, m.signature, [{ kind: 'send', msg }], ctx);
  const next: NegotiatingState = { ...s, lastSentFee: proposal };
  return { state: next, actions: [{ kind: 'persist', state: next }, { kind: 'send', msg }] };
}

/** Funding output spent on chain: the on-chain monitor takes over; the channel is closing. */
export function onFundingSpent(s: ChannelState & { commitments: Commitments }, tx: import('../bitcoin/tx.ts').Transaction): Transition {
  const next: ClosingState = {
    phase: 'closing',
    keyIndex: s.keyIndex,
    temporaryChannelId: s.temporaryChannelId,
    link: s.link,
    commitments: s.commitments,
    reason: s.phase === 'closing' ? s.reason : { kind: 'funding_spent' },
    published: s.phase === 'closing' ? [...s.published, tx] : [tx],
  };
  return {
    state: next,
    actions: [{ kind: 'persist', state: next }, { kind: 'emit', event: { kind: 'channel_closed', reason: next.reason } }],
  };
}
