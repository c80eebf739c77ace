// Helpers every phase uses: warnings, failing the channel (send error, publish our commitment), and
// signing our own commitment for broadcast.

import type { Transaction } from '../bitcoin/tx.ts';
import { signedFundingSpend } from '../bolt03-tx/index.ts';
import { utf8 } from '../core/bytes.ts';
import type { ChannelAction, ChannelContext, Transition } from './events.ts';
import { buildLocal, type ProtocolViolation } from './commitments.ts';
import type { ChannelSigner } from './signer.ts';
import type { ChannelState, CloseReason, Commitments } from './state.ts';

/** channel_id of a state (the temporary one before funding_created). */
export function channelIdOf(state: ChannelState): Uint8Array {
  switch (state.phase) {
    case 'wait_funding_signed':
    case 'wait_channel_ready':
    case 'normal':
    case 'negotiating':
      return state.commitments.channelId;
    case 'closing':
      return state.commitments?.channelId ?? state.temporaryChannelId;
    case 'wait_accept':
    case 'wait_funding_tx':
    case 'wait_funding_created':
    case 'closed':
      return state.temporaryChannelId;
  }
}

export function commitmentsOf(state: ChannelState): Commitments | undefined {
  switch (state.phase) {
    case 'wait_funding_signed':
    case 'wait_channel_ready':
    case 'normal':
    case 'negotiating':
    case 'closing':
      return state.commitments;
    case 'wait_accept':
    case 'wait_funding_tx':
    case 'wait_funding_created':
    case 'closed':
      return undefined;
  }
}

/** Send a warning and close the connection: the channel itself is unchanged. */
export function warning(state: ChannelState, message: string): Transition {
  return {
    state: { ...state, link: 'down' } as ChannelState,
    actions: [
      { kind: 'send', msg: { type: 'warning', channel_id: channelIdOf(state), data: utf8(message) } },
      { kind: 'disconnect' },
    ],
  };
}

/** Our latest commitment with both signatures: what we broadcast when we fail the channel. */
export function signedLocalCommitment(c: Commitments, signer: ChannelSigner): Transaction | undefined {
  const local = buildLocal(c, c.localCommit.spec, c.localCommit.index, signer);
  if (!local.ok || c.localCommit.remoteSig.length !== 64) return undefined;
  const ours = signer.signLocalCommitment(local.value);
  return signedFundingSpend(
    local.value.commitment.tx,
    c.local.basepoints.fundingPubkey,
    ours,
    c.remote.basepoints.fundingPubkey,
    c.localCommit.remoteSig,
  );
}

/**
 * Fail the channel: send `error`, persist the closing state, publish our commitment (unless we must
 * not: before funding, or after losing state).
 */
export function failChannel(
  state: ChannelState,
  message: string,
  ctx: ChannelContext,
  reason: CloseReason = { kind: 'local_force', message },
  publish = true,
): Transition {
  const c = commitmentsOf(state);
  const actions: ChannelAction[] = [
    { kind: 'send', msg: { type: 'error', channel_id: channelIdOf(state), data: utf8(message) } },
  ];
  const fundingKnown = c !== undefined && state.phase !== 'wait_funding_signed';
  if (!fundingKnown) {
    const next: ChannelState = {
      phase: 'closed',
      keyIndex: state.keyIndex,
      temporaryChannelId: state.temporaryChannelId,
      link: 'down',
      reason: { kind: 'aborted', message },
    };
    actions.push({ kind: 'persist', state: next }, { kind: 'emit', event: { kind: 'channel_closed', reason: next.reason } });
    return { state: next, actions };
  }
  const tx = publish ? signedLocalCommitment(c, ctx.signer) : undefined;
  const next: ChannelState = {
    phase: 'closing',
    keyIndex: state.keyIndex,
    temporaryChannelId: state.temporaryChannelId,
    link: state.link,
    commitments: c,
    reason,
    published: tx === undefined ? [] : [tx],
  };
  actions.push({ kind: 'persist', state: next });
  if (tx !== undefined) actions.push({ kind: 'broadcast', tx, label: 'local commitment' });
  actions.push({ kind: 'emit', event: { kind: 'channel_closing', reason } });
  return { state: next, actions };
}

/** Turn a peer's protocol violation into the spec's response. */
export function violation(state: ChannelState, v: ProtocolViolation, ctx: ChannelContext): Transition {
  return v.severity === 'warning' ? warning(state, v.message) : failChannel(state, v.message, ctx);
}
