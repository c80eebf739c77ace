// Disconnection and channel_reestablish (with option_data_loss_protect): forget unsigned updates on
// disconnect; on reconnect retransmit channel_ready, the last commitment_signed and revoke_and_ack in
// the order they were first sent; detect that either side lost state.

import type { MessageValue } from '../bolt01-wire/types.ts';
import { shachainGetCommitment } from '../bolt03-tx/index.ts';
import { equal } from '../core/bytes.ts';
import { failChannel } from './common.ts';
import { discardUnsigned, localHasChanges, revocationFor, sendCommit } from './commitments.ts';
import type { ChannelAction, ChannelContext, Transition } from './events.ts';
import { channelReadyMessage } from './opening.ts';
import type { ChannelState, Commitments, NegotiatingState, NormalState, WaitChannelReadyState } from './state.ts';

type Reestablishable = WaitChannelReadyState | NormalState | NegotiatingState;

export function reestablishMessage(c: Commitments, ctx: ChannelContext): MessageValue<'channel_reestablish'> {
  const theirLast = c.remoteCommit.index;
  return {
    type: 'channel_reestablish',
    channel_id: c.channelId,
    next_commitment_number: c.localCommit.index + 1n,
    next_revocation_number: c.remoteCommit.index,
    // BOLT #2:
    //     - MUST set `your_last_per_commitment_secret` to all zeroes
    your_last_per_commitment_secret: theirLast === 0n ? new Uint8Array(32) : lastSecretOf(c, theirLast - 1n),
    my_current_per_commitment_point: ctx.signer.perCommitmentPoint(c.localCommit.index),
    tlvs: {},
  };
}

function lastSecretOf(c: Commitments, n: bigint): Uint8Array {
  return shachainGetCommitment(c.remoteSecrets, n) ?? new Uint8Array(32);
}

export function onDisconnected(s: ChannelState): Transition {
  switch (s.phase) {
    case 'wait_accept':
    case 'wait_funding_tx':
    case 'wait_funding_created':
    case 'wait_funding_signed': {
      // Nothing is at stake before funding_signed: the channel is forgotten.
      const next: ChannelState = {
        phase: 'closed',
        keyIndex: s.keyIndex,
        temporaryChannelId: s.temporaryChannelId,
        link: 'down',
        reason: { kind: 'aborted', message: 'disconnected during opening' },
      };
      return { state: next, actions: [{ kind: 'emit', event: { kind: 'channel_closed', reason: next.reason } }] };
    }
    case 'wait_channel_ready':
    case 'negotiating':
    case 'closing':
    case 'closed':
      return { state: { ...s, link: 'down' }, actions: [] };
    case 'normal': {
      const d = discardUnsigned(s.commitments);
      const next: NormalState = { ...s, link: 'down', commitments: d.commitments };
      const actions: ChannelAction[] = d.dropped.map((id) => ({
        kind: 'emit',
        event: { kind: 'htlc_offer_cancelled', id },
      }));
      return { state: next, actions };
    }
  }
}

export function onConnected(s: ChannelState, ctx: ChannelContext): Transition {
  switch (s.phase) {
    case 'wait_channel_ready':
    case 'normal':
    case 'negotiating':
      return {
        state: { ...s, link: 'reestablishing' },
        actions: [{ kind: 'send', msg: reestablishMessage(s.commitments, ctx) }],
      };
    case 'wait_accept':
    case 'wait_funding_tx':
    case 'wait_funding_created':
    case 'wait_funding_signed':
    case 'closing':
    case 'closed':
      return { state: { ...s, link: 'up' }, actions: [] };
  }
}

export function onReestablish(
  s: Reestablishable,
  m: MessageValue<'channel_reestablish'>,
  ctx: ChannelContext,
): Transition {
  const c = s.commitments;
  const localIndex = c.localCommit.index;
  // BOLT #2:
  //     - if `next_revocation_number` is greater than expected above, AND
  //     `your_last_per_commitment_secret` is correct for that
  //     `next_revocation_number` minus 1:
  //       - MUST NOT broadcast its commitment transaction.
  if (m.next_revocation_number > localIndex) {
    const proven = equal(m.your_last_per_commitment_secret, ctx.signer.releaseCommitmentSecret(m.next_revocation_number - 1n));
    if (proven) {
      const t = failChannel(s, 'we lost channel state: please publish your commitment', ctx, { kind: 'data_loss' }, false);
      return {
        state: t.state,
        actions: [
          { kind: 'emit', event: { kind: 'data_loss_detected', remoteCurrentPoint: m.my_current_per_commitment_point } },
          ...t.actions,
        ],
      };
    }
    return failChannel(s, 'peer claims a future commitment without proof', ctx);
  }
  // BOLT #2:
  //   - if it supports `option_data_loss_protect`, AND the `option_data_loss_protect`
  //   fields are present:
  // The secret they claim to hold from us must be right, or they are not who they say.
  if (m.next_revocation_number > 0n) {
    const expected = ctx.signer.releaseCommitmentSecret(m.next_revocation_number - 1n);
    if (!equal(m.your_last_per_commitment_secret, expected)) return failChannel(s, 'wrong your_last_per_commitment_secret', ctx);
  }
  if (m.next_revocation_number + 1n < localIndex) return failChannel(s, 'peer lost state (old next_revocation_number)', ctx);
  const latestRemoteIndex = c.waiting !== undefined ? c.waiting.nextRemoteCommit.index : c.remoteCommit.index;
  if (m.next_commitment_number > latestRemoteIndex + 1n) {
    // They claim a commitment we never signed: we lost state, but without proof we must not trust it.
    return failChannel(s, 'peer claims a future commitment', ctx, { kind: 'data_loss' }, false);
  }
  if (m.next_commitment_number < latestRemoteIndex) return failChannel(s, 'peer lost state (old next_commitment_number)', ctx);

  const actions: ChannelAction[] = [];
  // BOLT #2:
  //   - if `next_commitment_number` is 1 in both the `channel_reestablish` it
  //   sent and received:
  //     - MUST retransmit `channel_ready`, otherwise it MUST NOT retransmit
  //     `channel_ready`, but it MAY send `channel_ready` with a different
  //     `short_channel_id` `alias` field.
  const sentReady = s.phase !== 'wait_channel_ready' || s.sentReady;
  if (m.next_commitment_number === 1n && localIndex === 0n && sentReady && s.phase !== 'negotiating')
    actions.push({ kind: 'send', msg: channelReadyMessage(s, ctx) });

  const resendRevoke = m.next_revocation_number + 1n === localIndex;
  const resendCommit = c.waiting !== undefined && m.next_commitment_number === c.waiting.nextRemoteCommit.index;
  const revokeMsg = resendRevoke ? revocationFor(c, ctx.signer) : undefined;
  const commitMsgs: ChannelAction[] = [];
  if (resendCommit && c.waiting !== undefined) {
    for (const u of c.localChanges.signed) commitMsgs.push({ kind: 'send', msg: u });
    commitMsgs.push({ kind: 'send', msg: c.waiting.sent });
  }
  if (revokeMsg !== undefined && c.waiting !== undefined && c.waiting.sentAfterLocalCommitIndex !== localIndex) {
    // We signed before revoking: commitment_signed first.
    actions.push(...commitMsgs, { kind: 'send', msg: revokeMsg });
  } else {
    if (revokeMsg !== undefined) actions.push({ kind: 'send', msg: revokeMsg });
    actions.push(...commitMsgs);
  }

  switch (s.phase) {
    case 'wait_channel_ready':
      return { state: { ...s, link: 'up' }, actions };
    case 'negotiating': {
      // Negotiation restarts: the funder sends closing_signed again.
      const next: NegotiatingState = { ...s, link: 'up', lastSentFee: undefined };
      return { state: next, actions: [...actions, ...resendShutdown(s.commitments, s.localScript)] };
    }
    case 'normal': {
      let next: NormalState = { ...s, link: 'up' };
      if (localHasChanges(next.commitments) && next.commitments.waiting === undefined) {
        const r = sendCommit(next.commitments, ctx.signer);
        if (r.ok) {
          next = { ...next, commitments: r.value.commitments };
          actions.push({ kind: 'send', msg: r.value.msg });
        }
      }
      const shutdown = next.shutdown?.localScript;
      if (shutdown !== undefined) actions.push(...resendShutdown(next.commitments, shutdown));
      return { state: next, actions: [{ kind: 'persist', state: next }, ...actions] };
    }
  }
}

function resendShutdown(c: Commitments, script: Uint8Array): ChannelAction[] {
  return [{ kind: 'send', msg: { type: 'shutdown', channel_id: c.channelId, scriptpubkey: script } }];
}
