// The channel reducer: step(state, event, ctx) -> Transition, dispatching by phase. Peer messages are
// always answered in-band (warning, error + force close); only local commands can be refused.

import type { WireMessage } from '../bolt01-wire/types.ts';
import { equal } from '../core/bytes.ts';
import { assertNever, err, ok, type Result } from '../core/result.ts';
import { onClosingSigned, onFundingSpent } from './closing.ts';
import { commitmentsOf, failChannel, warning } from './common.ts';
import { forgetOnErrorBeforeLockIn, onFundingDoubleSpent } from './double-spend.ts';
import type { ChannelContext, ChannelEvent, CommandRefused, Transition } from './events.ts';
import { onNormalCommand, onNormalMessage } from './normal.ts';
import {
  onAcceptChannel,
  onChannelReady,
  onFundingCreated,
  onFundingDepth,
  onFundingSigned,
  onFundingTxBuilt,
} from './opening.ts';
import { onConnected, onDisconnected, onReestablish } from './reestablish.ts';
import { onShutdownCommand, onShutdownMessage } from './shutdown.ts';
import { onClosingComplete, onClosingSig } from './simple-close.ts';
import type { ChannelState, NormalState, WaitChannelReadyState } from './state.ts';
import { onBlock } from './timeouts.ts';

const refuse = (reason: string): Result<never, CommandRefused> => err({ kind: 'command_refused', reason });
const same = (state: ChannelState): Transition => ({ state, actions: [] });

/** One step of the channel. */
export function step(
  state: ChannelState,
  event: ChannelEvent,
  ctx: ChannelContext,
): Result<Transition, CommandRefused> {
  switch (event.kind) {
    case 'message':
      return ok(onMessage(state, event.msg, ctx));
    case 'command':
      return onCommand(state, event.cmd, ctx);
    case 'funding_depth':
      if (state.phase === 'wait_channel_ready')
        return ok(onFundingDepth(state, event.depth, event.shortChannelId, ctx));
      if (state.phase === 'normal') return ok(same({ ...state, shortChannelId: event.shortChannelId }));
      return ok(same(state));
    case 'funding_spent': {
      const c = commitmentsOf(state);
      if (c === undefined || state.phase === 'wait_funding_signed') return ok(same(state));
      return ok(
        onFundingSpent({ ...state, commitments: c } as ChannelState & { commitments: typeof c }, event.tx),
      );
    }
    case 'block':
      return ok(onBlock(state, event.height, ctx));
    case 'connected':
      return ok(onConnected(state, ctx));
    case 'disconnected':
      return ok(onDisconnected(state));
  }
  return assertNever(event, 'channel event');
}

function onCommand(
  state: ChannelState,
  cmd: import('./events.ts').ChannelCommand,
  ctx: ChannelContext,
): Result<Transition, CommandRefused> {
  switch (cmd.kind) {
    case 'add_htlc':
    case 'fulfill_htlc':
    case 'fail_htlc':
    case 'fail_malformed_htlc':
    case 'sign':
    case 'update_fee':
      if (state.phase !== 'normal') return refuse(`cannot ${cmd.kind} in ${state.phase}`);
      return onNormalCommand(state, cmd, ctx);
    case 'shutdown':
      if (state.phase === 'wait_channel_ready')
        return onShutdownCommand(asNormal(state), cmd.script, cmd.feeRange, ctx);
      if (state.phase !== 'normal') return refuse(`cannot shut down in ${state.phase}`);
      return onShutdownCommand(state, cmd.script, cmd.feeRange, ctx);
    case 'force_close':
      if (state.phase === 'closed') return refuse('channel is closed');
      if (state.phase === 'closing') return refuse('channel is already closing');
      return ok(failChannel(state, cmd.message, ctx));
    case 'funding_tx_built':
      if (state.phase !== 'wait_funding_tx')
        return refuse(`no funding transaction expected in ${state.phase}`);
      return onFundingTxBuilt(state, cmd.tx, cmd.outputIndex, ctx);
    case 'funding_double_spent':
      return onFundingDoubleSpent(state, cmd);
  }
  return assertNever(cmd, 'command');
}

/** A channel closed before channel_ready: no HTLC can exist yet, so shutdown proceeds as in normal. */
function asNormal(s: WaitChannelReadyState): NormalState {
  return {
    phase: 'normal',
    keyIndex: s.keyIndex,
    temporaryChannelId: s.temporaryChannelId,
    link: s.link,
    commitments: s.commitments,
    localAlias: s.localAlias,
    remoteAlias: s.remoteAlias,
    shortChannelId: s.shortChannelId,
    shutdown: undefined,
  };
}

function unexpected(state: ChannelState, m: WireMessage): Transition {
  return warning(state, `unexpected ${m.type} in ${state.phase}`);
}

function onMessage(state: ChannelState, m: WireMessage, ctx: ChannelContext): Transition {
  if (m.type === 'error') {
    const message = new TextDecoder().decode(m.data);
    if (state.phase === 'closing' || state.phase === 'closed') return same(state);
    const forgotten = forgetOnErrorBeforeLockIn(state, message);
    if (forgotten !== undefined) return forgotten;
    // An error from the peer fails the channel: we publish our commitment.
    const t = failChannel(state, message, ctx, { kind: 'remote_error', message });
    // Do not answer an error with an error.
    return {
      state: t.state,
      actions: t.actions.filter((a) => !(a.kind === 'send' && a.msg.type === 'error')),
    };
  }
  if (m.type === 'warning') {
    return {
      state,
      actions: [
        { kind: 'emit', event: { kind: 'warning_received', message: new TextDecoder().decode(m.data) } },
      ],
    };
  }
  // The shell routes by channel_id; a message for another channel is a peer bug, not ours to apply.
  const c = commitmentsOf(state);
  if (c !== undefined && 'channel_id' in m && !equal(m.channel_id, c.channelId)) return unexpected(state, m);
  if (state.link === 'reestablishing') {
    if (m.type !== 'channel_reestablish') return unexpected(state, m);
    switch (state.phase) {
      case 'wait_channel_ready':
      case 'normal':
      case 'negotiating':
        if (!equal(m.channel_id, state.commitments.channelId)) return unexpected(state, m);
        return onReestablish(state, m, ctx);
      case 'wait_accept':
      case 'wait_funding_tx':
      case 'wait_funding_created':
      case 'wait_funding_signed':
      case 'closing':
      case 'closed':
        return unexpected(state, m);
    }
  }
  switch (state.phase) {
    case 'wait_accept':
      return m.type === 'accept_channel' ? onAcceptChannel(state, m, ctx) : unexpected(state, m);
    case 'wait_funding_tx':
      return unexpected(state, m);
    case 'wait_funding_created':
      return m.type === 'funding_created' ? onFundingCreated(state, m, ctx) : unexpected(state, m);
    case 'wait_funding_signed':
      return m.type === 'funding_signed' ? onFundingSigned(state, m, ctx) : unexpected(state, m);
    case 'wait_channel_ready':
      if (m.type === 'channel_ready') return onChannelReady(state, m, ctx);
      // BOLT #2:
      //   - MAY send a `shutdown` before a `channel_ready`, i.e. before the funding transaction has reached `minimum_depth`.
      if (m.type === 'shutdown') return onShutdownMessage(asNormal(state), m, ctx);
      return unexpected(state, m);
    case 'normal':
      switch (m.type) {
        case 'update_add_htlc':
        case 'update_fulfill_htlc':
        case 'update_fail_htlc':
        case 'update_fail_malformed_htlc':
        case 'update_fee':
        case 'commitment_signed':
        case 'revoke_and_ack':
          return onNormalMessage(state, m, ctx);
        case 'shutdown':
          return onShutdownMessage(state, m, ctx);
        case 'channel_ready':
          // A retransmission after reconnecting: harmless if it repeats what we know.
          if (state.commitments.localCommit.index === 0n)
            return same({ ...state, remoteAlias: m.tlvs.short_channel_id?.alias ?? state.remoteAlias });
          return same(state);
        default:
          return unexpected(state, m);
      }
    case 'negotiating':
      if (state.mode === 'legacy' && m.type === 'closing_signed') return onClosingSigned(state, m, ctx);
      if (state.mode === 'simple' && m.type === 'closing_complete') return onClosingComplete(state, m, ctx);
      if (state.mode === 'simple' && m.type === 'closing_sig') return onClosingSig(state, m, ctx);
      // The peer repeats its shutdown after a reconnection.
      if (m.type === 'shutdown' && equal(m.scriptpubkey, state.remoteScript)) return same(state);
      return unexpected(state, m);
    case 'closing':
    case 'closed':
      return same(state);
  }
  return assertNever(state, 'state');
}
