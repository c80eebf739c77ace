// A funding transaction that can never confirm. The funder learns that a confirmed transaction spends one
// of its funding inputs (the user spent the coins elsewhere, or a replacement won): it forgets the channel
// and tells the peer with an `error`. The fundee cannot see the inputs; it forgets the channel when the
// funder fails it before lock-in and it has nothing in it (BOLT 5), or after 2016 blocks (timeouts.ts).
//
// How deep the double-spend must be: Eclair forgets at the first confirmation of the conflicting
// transaction (it checks every few blocks); LND and Core Lightning leave the channel pending until the
// user abandons it. Forgetting drops our commitment, so if a reorg brought the funding transaction back
// the funds would sit in the 2-of-2 with no signed way out: we wait until the double-spend is
// DOUBLE_SPEND_DEPTH blocks deep, the depth at which we also treat the funding itself as settled.

import { reversedHex } from '../bitcoin/tx.ts';
import { equal, utf8 } from '../core/bytes.ts';
import { err, ok, type Result } from '../core/result.ts';
import type { ChannelAction, CommandRefused, Transition } from './events.ts';
import type { ChannelState, CloseReason } from './state.ts';

/** Confirmations of the conflicting transaction before the funder forgets the channel. */
export const DOUBLE_SPEND_DEPTH = 6;

const refuse = (reason: string): Result<never, CommandRefused> => err({ kind: 'command_refused', reason });

/** The channel is forgotten: nothing was ever on chain, so nothing is published. */
export function forgetChannel(
  s: ChannelState,
  reason: CloseReason,
  before: readonly ChannelAction[] = [],
): Transition {
  const next: ChannelState = {
    phase: 'closed',
    keyIndex: s.keyIndex,
    temporaryChannelId: s.temporaryChannelId,
    link: s.link,
    reason,
  };
  return {
    state: next,
    actions: [
      { kind: 'persist', state: next },
      ...before,
      { kind: 'emit', event: { kind: 'channel_closed', reason } },
    ],
  };
}

/** Funder, waiting for the funding to confirm: a deep enough double-spend ends the channel. */
export function onFundingDoubleSpent(
  s: ChannelState,
  cmd: { readonly fundingTxid: Uint8Array; readonly spenderTxid: Uint8Array; readonly depth: number },
): Result<Transition, CommandRefused> {
  if (s.phase !== 'wait_channel_ready') return refuse(`no unconfirmed funding transaction in ${s.phase}`);
  const c = s.commitments;
  if (!c.localIsFunder)
    return refuse('the fundee cannot see the funding inputs; it forgets the channel after 2016 blocks');
  if (!equal(cmd.fundingTxid, c.fundingOutpoint.txid))
    return refuse(`not this channel's funding transaction: ${reversedHex(cmd.fundingTxid)}`);
  if (equal(cmd.spenderTxid, c.fundingOutpoint.txid))
    return refuse('the funding transaction does not double-spend itself');
  if (!Number.isInteger(cmd.depth) || cmd.depth < DOUBLE_SPEND_DEPTH)
    return refuse(`the double-spend is ${cmd.depth} deep; the channel is forgotten at ${DOUBLE_SPEND_DEPTH}`);
  const message = `funding transaction double-spent by ${reversedHex(cmd.spenderTxid)}`;
  // An error naming the channel: the peer fails that channel only (BOLT 1).
  const error: ChannelAction = {
    kind: 'send',
    msg: { type: 'error', channel_id: c.channelId, data: utf8(message) },
  };
  return ok(forgetChannel(s, { kind: 'aborted', message }, [error]));
}

/**
 * The fundee receiving an `error` before lock-in with nothing of its own in the channel: it forgets the
 * channel instead of publishing a commitment that may spend an output that will never exist (the funder
 * fails the channel this way when its funding was double-spent). Undefined when this does not apply.
 */
export function forgetOnErrorBeforeLockIn(s: ChannelState, message: string): Transition | undefined {
  if (s.phase !== 'wait_channel_ready' || s.commitments.localIsFunder) return undefined;
  const c = s.commitments;
  // Specs are from our view in both commitments: toLocal is ours.
  // BOLT #5:
  //   - if a *local commitment transaction* has NOT ever contained a `to_local`
  //   or HTLC output:
  //     - MAY simply forget the channel.
  const nothingOurs =
    c.localCommit.index === 0n &&
    c.localCommit.spec.toLocal === 0n &&
    c.localCommit.spec.htlcs.length === 0 &&
    c.remoteCommit.spec.toLocal === 0n &&
    c.remoteCommit.spec.htlcs.length === 0;
  if (!nothingOurs) return undefined;
  return forgetChannel(s, { kind: 'remote_error', message });
}
