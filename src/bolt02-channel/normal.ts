// The normal operation of a channel: HTLC updates, fee updates, commitment_signed and revoke_and_ack,
// in either direction. The ledger arithmetic lives in commitments.ts; this file decides what is sent,
// persisted and announced, and turns a peer's violation into a warning or a failed channel.

import type { MessageValue } from '../bolt01-wire/types.ts';
import { err, ok, type Result } from '../core/result.ts';
import {
  localHasChanges,
  receiveAdd,
  receiveCommit,
  receiveFee,
  receiveRemoval,
  receiveRevocation,
  sendAdd,
  sendCommit,
  sendFee,
  sendRemoval,
} from './commitments.ts';
import { failChannel, violation } from './common.ts';
import type {
  ChannelAction,
  ChannelCommand,
  ChannelContext,
  ChannelNotification,
  CommandRefused,
  Transition,
} from './events.ts';
import { afterCommitmentChange } from './shutdown.ts';
import type { Commitments, NormalState } from './state.ts';

const refuse = (reason: string): Result<never, CommandRefused> => err({ kind: 'command_refused', reason });

function withCommitments(s: NormalState, commitments: Commitments): NormalState {
  return { ...s, commitments };
}

/** Sign if there is anything to sign and we are not waiting for a revocation. */
function signIfNeeded(s: NormalState, ctx: ChannelContext): { state: NormalState; actions: ChannelAction[] } {
  const c = s.commitments;
  if (c.waiting !== undefined || !localHasChanges(c) || s.link !== 'up') return { state: s, actions: [] };
  const r = sendCommit(c, ctx.signer);
  if (!r.ok) return { state: s, actions: [] };
  const next = withCommitments(s, r.value.commitments);
  return { state: next, actions: [{ kind: 'send', msg: r.value.msg }] };
}

export type NormalMessage =
  | MessageValue<'update_add_htlc'>
  | MessageValue<'update_fulfill_htlc'>
  | MessageValue<'update_fail_htlc'>
  | MessageValue<'update_fail_malformed_htlc'>
  | MessageValue<'update_fee'>
  | MessageValue<'commitment_signed'>
  | MessageValue<'revoke_and_ack'>;

export function onNormalMessage(s: NormalState, m: NormalMessage, ctx: ChannelContext): Transition {
  const c = s.commitments;
  switch (m.type) {
    case 'update_add_htlc': {
      // BOLT #2:
      //   - MUST NOT send an `update_add_htlc` after a `shutdown`.
      if (s.shutdown?.remoteScript !== undefined)
        return failChannel(s, 'update_add_htlc after shutdown', ctx);
      const r = receiveAdd(c, m);
      if (!r.ok) return violation(s, r.error, ctx);
      return { state: withCommitments(s, r.value), actions: [] };
    }
    case 'update_fulfill_htlc':
    case 'update_fail_htlc':
    case 'update_fail_malformed_htlc': {
      const r = receiveRemoval(c, m);
      if (!r.ok) return violation(s, r.error, ctx);
      const next = withCommitments(s, r.value.commitments);
      // A preimage is money: make it durable before anything else happens.
      const actions: ChannelAction[] =
        r.value.notifications.length > 0 ? [{ kind: 'persist', state: next }] : [];
      for (const n of r.value.notifications) actions.push({ kind: 'emit', event: n });
      return { state: next, actions };
    }
    case 'update_fee': {
      const r = receiveFee(c, m, { min: ctx.policy.minFeerate, max: ctx.policy.maxFeerate });
      if (!r.ok) return violation(s, r.error, ctx);
      return { state: withCommitments(s, r.value), actions: [] };
    }
    case 'commitment_signed': {
      const r = receiveCommit(c, m, ctx.signer);
      if (!r.ok) return violation(s, r.error, ctx);
      const afterRevoke = withCommitments(s, r.value.commitments);
      // Answer with our revocation, then sign what we have for them (including what we just acked).
      const signed = signIfNeeded(afterRevoke, ctx);
      const t = afterCommitmentChange(signed.state, ctx);
      return {
        state: t.state,
        actions: [
          { kind: 'persist', state: t.state },
          { kind: 'send', msg: r.value.revocation },
          ...signed.actions,
          ...t.actions,
        ],
      };
    }
    case 'revoke_and_ack': {
      const r = receiveRevocation(c, m);
      if (!r.ok) return violation(s, r.error, ctx);
      const revoked = withCommitments(s, r.value.commitments);
      const signed = signIfNeeded(revoked, ctx);
      const t = afterCommitmentChange(signed.state, ctx);
      const emits: ChannelAction[] = r.value.notifications.map((event: ChannelNotification) => ({
        kind: 'emit',
        event,
      }));
      return {
        state: t.state,
        actions: [{ kind: 'persist', state: t.state }, ...emits, ...signed.actions, ...t.actions],
      };
    }
  }
}

export function onNormalCommand(
  s: NormalState,
  cmd: Exclude<
    ChannelCommand,
    { kind: 'shutdown' | 'force_close' | 'funding_tx_built' | 'funding_double_spent' }
  >,
  ctx: ChannelContext,
): Result<Transition, CommandRefused> {
  if (s.link !== 'up') return refuse('peer is not connected');
  const c = s.commitments;
  switch (cmd.kind) {
    case 'add_htlc': {
      // BOLT #2:
      //   - MUST NOT send an `update_add_htlc` after a `shutdown`.
      if (s.shutdown !== undefined) return refuse('channel is shutting down');
      const r = sendAdd(c, cmd);
      if (!r.ok) return r;
      const next = withCommitments(s, r.value.commitments);
      return ok({
        state: next,
        actions: [
          { kind: 'send', msg: r.value.msg },
          {
            kind: 'emit',
            event: {
              kind: 'htlc_offered',
              id: r.value.msg.id,
              paymentHash: cmd.paymentHash,
              amount: cmd.amount,
            },
          },
        ],
      });
    }
    case 'fulfill_htlc': {
      const msg: MessageValue<'update_fulfill_htlc'> = {
        type: 'update_fulfill_htlc',
        channel_id: c.channelId,
        id: cmd.id,
        payment_preimage: cmd.preimage,
        tlvs: {},
      };
      const r = sendRemoval(c, msg);
      if (!r.ok) return r;
      const next = withCommitments(s, r.value);
      return ok({
        state: next,
        actions: [
          { kind: 'persist', state: next },
          { kind: 'send', msg },
        ],
      });
    }
    case 'fail_htlc': {
      const msg: MessageValue<'update_fail_htlc'> = {
        type: 'update_fail_htlc',
        channel_id: c.channelId,
        id: cmd.id,
        reason: cmd.reason,
        tlvs: {},
      };
      const r = sendRemoval(c, msg);
      if (!r.ok) return r;
      return ok({ state: withCommitments(s, r.value), actions: [{ kind: 'send', msg }] });
    }
    case 'fail_malformed_htlc': {
      const msg: MessageValue<'update_fail_malformed_htlc'> = {
        type: 'update_fail_malformed_htlc',
        channel_id: c.channelId,
        id: cmd.id,
        sha256_of_onion: cmd.sha256OfOnion,
        failure_code: cmd.failureCode,
        tlvs: {},
      };
      const r = sendRemoval(c, msg);
      if (!r.ok) return r;
      return ok({ state: withCommitments(s, r.value), actions: [{ kind: 'send', msg }] });
    }
    case 'update_fee': {
      const r = sendFee(c, cmd.feerate);
      if (!r.ok) return r;
      return ok({
        state: withCommitments(s, r.value.commitments),
        actions: [{ kind: 'send', msg: r.value.msg }],
      });
    }
    case 'sign': {
      const r = sendCommit(c, ctx.signer);
      if (!r.ok) return r;
      const next = withCommitments(s, r.value.commitments);
      return ok({
        state: next,
        actions: [
          { kind: 'persist', state: next },
          { kind: 'send', msg: r.value.msg },
        ],
      });
    }
  }
}
