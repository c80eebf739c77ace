// Closing initiation: shutdown with upfront_shutdown_script and shutdown_anysegwit rules, then waiting
// for every HTLC to clear before closing_signed negotiation (closing.ts) starts.

import type { MessageValue } from '../bolt01-wire/types.ts';
import { equal } from '../core/bytes.ts';
import { err, ok, type Result } from '../core/result.ts';
import { startNegotiation } from './closing.ts';
import { warning } from './common.ts';
import { hasHtlcs, hasPendingChanges, localHasChanges, sendCommit } from './commitments.ts';
import type { ChannelAction, ChannelContext, CommandRefused, FeeRange, Transition } from './events.ts';
import { isValidShutdownScript } from './shutdown-script.ts';
import type { ChannelState, NormalState, ShutdownInfo } from './state.ts';

const SCRIPT_OPTS = { anysegwit: true, simpleClose: false };

const NO_SHUTDOWN: ShutdownInfo = {
  localScript: undefined,
  remoteScript: undefined,
  pendingLocalScript: undefined,
  feeRange: undefined,
};

/**
 * After any change to the commitments: send our pending shutdown once our updates are signed, and
 * start negotiating once both shutdowns are out and no HTLC or update is left.
 */
export function afterCommitmentChange(
  s: NormalState,
  ctx: ChannelContext,
): { state: ChannelState; actions: ChannelAction[] } {
  let sd = s.shutdown;
  if (sd === undefined) return { state: s, actions: [] };
  const actions: ChannelAction[] = [];
  let state = s;
  if (sd.pendingLocalScript !== undefined && s.link === 'up') {
    if (localHasChanges(state.commitments) && state.commitments.waiting === undefined) {
      const r = sendCommit(state.commitments, ctx.signer);
      if (r.ok) {
        state = { ...state, commitments: r.value.commitments };
        actions.push({ kind: 'send', msg: r.value.msg });
      }
    }
    // BOLT #2:
    //   - if there are updates pending on the receiving node's commitment transaction:
    //     - MUST NOT send a `shutdown`.
    if (state.commitments.localChanges.proposed.length === 0) {
      const script = sd.pendingLocalScript;
      sd = { ...sd, localScript: script, pendingLocalScript: undefined };
      state = { ...state, shutdown: sd };
      actions.push({ kind: 'send', msg: { type: 'shutdown', channel_id: s.commitments.channelId, scriptpubkey: script } });
    }
  }
  if (sd.remoteScript === undefined || sd.localScript === undefined) return { state, actions };
  const c = state.commitments;
  // BOLT #2:
  //   - if no HTLCs remain in either commitment transaction (including dust HTLCs)
  //     and neither side has a pending `revoke_and_ack` to send:
  //     - MUST NOT send any `update` message after that point.
  if (hasHtlcs(c) || hasPendingChanges(c)) return { state, actions };
  const t = startNegotiation(state, sd.localScript, sd.remoteScript, sd.feeRange, ctx);
  return { state: t.state, actions: [...actions, ...t.actions] };
}

export function onShutdownCommand(
  s: NormalState,
  script: Uint8Array | undefined,
  feeRange: FeeRange | undefined,
  ctx: ChannelContext,
): Result<Transition, CommandRefused> {
  const refuse = (reason: string) => err<CommandRefused>({ kind: 'command_refused', reason });
  // BOLT #2:
  //   - MUST NOT send multiple `shutdown` messages.
  if (s.shutdown?.localScript !== undefined || s.shutdown?.pendingLocalScript !== undefined)
    return refuse('shutdown already sent');
  if (s.link !== 'up') return refuse('peer is not connected');
  const upfront = s.commitments.local.upfrontShutdownScript;
  // BOLT #2:
  //   - if it sent a non-zero-length `shutdown_scriptpubkey` in `open_channel` or `accept_channel`:
  //     - MUST send the same value in `scriptpubkey`.
  if (upfront.length > 0 && script !== undefined && !equal(script, upfront))
    return refuse('the upfront shutdown script must be used');
  const chosen = upfront.length > 0 ? upfront : script;
  if (chosen === undefined) return refuse('a shutdown script is needed');
  if (!isValidShutdownScript(chosen, SCRIPT_OPTS)) return refuse('invalid shutdown script');
  const next: NormalState = {
    ...s,
    shutdown: { ...(s.shutdown ?? NO_SHUTDOWN), pendingLocalScript: chosen, feeRange },
  };
  const t = afterCommitmentChange(next, ctx);
  return ok({ state: t.state, actions: [{ kind: 'persist', state: t.state }, ...t.actions] });
}

export function onShutdownMessage(s: NormalState, m: MessageValue<'shutdown'>, ctx: ChannelContext): Transition {
  // BOLT #2:
  //   - if the `scriptpubkey` is not in one of the above forms:
  //     - SHOULD send a `warning`.
  if (!isValidShutdownScript(m.scriptpubkey, SCRIPT_OPTS)) return warning(s, 'invalid shutdown scriptpubkey');
  const upfront = s.commitments.remote.upfrontShutdownScript;
  // BOLT #2:
  //   - if both nodes advertised the `option_upfront_shutdown_script` feature, and the receiving node received a non-zero-length `shutdown_scriptpubkey` in `open_channel` or `accept_channel`, and that `shutdown_scriptpubkey` is not equal to `scriptpubkey`:
  //     - MAY send a `warning`.
  //     - MUST fail the connection.
  if (upfront.length > 0 && !equal(upfront, m.scriptpubkey))
    return warning(s, 'shutdown script differs from upfront_shutdown_script');
  if (s.shutdown?.remoteScript !== undefined) return warning(s, 'second shutdown');
  let sd: ShutdownInfo = { ...(s.shutdown ?? NO_SHUTDOWN), remoteScript: m.scriptpubkey };
  // BOLT #2:
  //   - once there are no outstanding updates on the peer, UNLESS it has already sent a `shutdown`:
  //     - MUST reply to a `shutdown` message with a `shutdown`
  if (sd.localScript === undefined && sd.pendingLocalScript === undefined) {
    const local = s.commitments.local.upfrontShutdownScript;
    const ours = local.length > 0 ? local : ctx.shutdownScript;
    if (ours !== undefined) sd = { ...sd, pendingLocalScript: ours };
  }
  const t = afterCommitmentChange({ ...s, shutdown: sd }, ctx);
  return { state: t.state, actions: [{ kind: 'persist', state: t.state }, ...t.actions] };
}
