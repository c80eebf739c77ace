// option_simple_close: each side sends closing_complete for a closing transaction it pays for; the
// other signs it and answers closing_sig. Two conflicting closing transactions may exist; either one
// confirming closes the channel. A side may send closing_complete again (higher fee) after closing_sig.

import { classifyOutput } from '../bitcoin/script.ts';
import type { Transaction } from '../bitcoin/tx.ts';
import type { MessageValue } from '../bolt01-wire/types.ts';
import {
  buildSimpleClosing,
  DUST_P2A,
  DUST_P2PKH,
  DUST_P2SH,
  DUST_P2WPKH,
  DUST_P2WSH,
  DUST_UNKNOWN_SEGWIT,
  expectedClosingWeight,
  signedFundingSpend,
  verifyFundingInput,
} from '../bolt03-tx/index.ts';
import { equal } from '../core/bytes.ts';
import { assertNever } from '../core/result.ts';
import { feeForWeight, type Sat } from '../core/units.ts';
import { minOf } from './amounts.ts';
import { warning } from './common.ts';
import type { ChannelAction, ChannelContext, Transition } from './events.ts';
import { isValidShutdownScript } from './shutdown-script.ts';
import type { Commitments, NegotiatingState } from './state.ts';

type SigField = 'closer_output_only' | 'closee_output_only' | 'closer_and_closee_outputs';
type ClosingTlvs = MessageValue<'closing_complete'>['tlvs'];

/** Bitcoin Core's dust threshold for an output script (BOLT 3 "Dust Limits"). */
export function dustThreshold(script: Uint8Array): Sat {
  const kind = classifyOutput(script);
  switch (kind) {
    case 'p2pkh':
      return DUST_P2PKH;
    case 'p2sh':
      return DUST_P2SH;
    case 'p2wpkh':
      return DUST_P2WPKH;
    case 'p2wsh':
      return DUST_P2WSH;
    case 'p2tr':
    case 'witness_unknown':
      // P2A (OP_1 <0x4e73>) has a lower threshold.
      return script.length === 4 && script[0] === 0x51 && script[1] === 0x02 ? DUST_P2A : DUST_UNKNOWN_SEGWIT;
    case 'nulldata':
      return 0n as Sat;
    case 'nonstandard':
      return DUST_P2PKH;
  }
  return assertNever(kind, 'output type');
}

function balances(c: Commitments): { local: bigint; remote: bigint } {
  return { local: c.localCommit.spec.toLocal, remote: c.localCommit.spec.toRemote };
}

function closingFor(
  c: Commitments,
  weAreCloser: boolean,
  closerScript: Uint8Array | undefined,
  closeeScript: Uint8Array | undefined,
  fee: Sat,
  locktime: number,
) {
  const b = balances(c);
  return buildSimpleClosing({
    fundingOutpoint: c.fundingOutpoint,
    fundingAmount: c.fundingAmount,
    locktime,
    closerBalance: (weAreCloser ? b.local : b.remote) as never,
    closeeBalance: (weAreCloser ? b.remote : b.local) as never,
    closerScript,
    closeeScript,
    fee,
    localIsCloser: weAreCloser,
  });
}

/** The variant of the closing transaction a signature field signs. */
function scriptsFor(
  field: SigField,
  closer: Uint8Array,
  closee: Uint8Array,
): [Uint8Array | undefined, Uint8Array | undefined] {
  switch (field) {
    case 'closer_output_only':
      return [closer, undefined];
    case 'closee_output_only':
      return [undefined, closee];
    case 'closer_and_closee_outputs':
      return [closer, closee];
  }
}

function sign(s: NegotiatingState, tx: Transaction, ctx: ChannelContext): Uint8Array {
  const c = s.commitments;
  return ctx.signer.signClosing(tx, c.remote.basepoints.fundingPubkey, c.fundingAmount);
}

function theirSigValid(c: Commitments, tx: Transaction, sig: Uint8Array): boolean {
  const l = c.local.basepoints.fundingPubkey;
  const r = c.remote.basepoints.fundingPubkey;
  return verifyFundingInput(tx, l, r, c.fundingAmount, sig, r);
}

function broadcastSigned(
  s: NegotiatingState,
  tx: Transaction,
  ourSig: Uint8Array,
  theirSig: Uint8Array,
): { state: NegotiatingState; actions: ChannelAction[] } {
  const c = s.commitments;
  const signed = signedFundingSpend(
    tx,
    c.local.basepoints.fundingPubkey,
    ourSig,
    c.remote.basepoints.fundingPubkey,
    theirSig,
  );
  const next: NegotiatingState = { ...s, published: [...s.published, signed] };
  return {
    state: next,
    actions: [
      { kind: 'persist', state: next },
      { kind: 'broadcast', tx: signed, label: 'mutual close' },
      { kind: 'emit', event: { kind: 'channel_closing', reason: { kind: 'mutual' } } },
    ],
  };
}

/** Our closing_complete at the current feerate (none if we cannot pay for it). */
export function sendClosingComplete(s: NegotiatingState, ctx: ChannelContext): Transition {
  const c = s.commitments;
  const b = balances(c);
  const ourSat = b.local / 1000n;
  const weight = expectedClosingWeight([s.localScript, s.remoteScript]);
  // BOLT #2:
  //   - MUST set `fee_satoshis` to a fee less than or equal to its outstanding balance, rounded down to whole satoshis.
  const fee = minOf(feeForWeight(c.localCommit.spec.feerate, weight), ourSat as Sat);
  const ourOut = ourSat - fee;
  const theirOut = b.remote / 1000n;
  const ourDust = ourOut < dustThreshold(s.localScript);
  const theirDust = theirOut < dustThreshold(s.remoteScript);
  const fields: SigField[] = [];
  // BOLT #2:
  //   - If the local outstanding balance (in millisatoshi) is less than the remote outstanding balance:
  //     - MUST NOT set `closer_output_only`.
  //     - MUST set `closee_output_only` if the local output amount is dust.
  if (b.local < b.remote) fields.push(ourDust ? 'closee_output_only' : 'closer_and_closee_outputs');
  // BOLT #2:
  //     - If the closee's output amount is dust:
  //       - MUST set `closer_output_only`.
  //       - MUST NOT set `closer_and_closee_outputs`.
  //     - Otherwise:
  //       - MUST set both `closer_output_only` and `closer_and_closee_outputs`.
  else if (theirDust) fields.push('closer_output_only');
  else fields.push('closer_output_only', 'closer_and_closee_outputs');
  // Nothing for us to close with: the peer's closing_complete will do.
  if (ourDust && theirDust) return { state: s, actions: [] };
  const tlvs: ClosingTlvs = {};
  const locktime = ctx.blockHeight;
  for (const f of fields) {
    const [closer, closee] = scriptsFor(f, s.localScript, s.remoteScript);
    const tx = closingFor(c, true, closer, closee, fee, locktime);
    if (!tx.ok) return { state: s, actions: [] };
    tlvs[f] = { sig: sign(s, tx.value.tx, ctx) };
  }
  const msg: MessageValue<'closing_complete'> = {
    type: 'closing_complete',
    channel_id: c.channelId,
    closer_scriptpubkey: s.localScript,
    closee_scriptpubkey: s.remoteScript,
    fee_satoshis: fee,
    locktime,
    tlvs,
  };
  const next: NegotiatingState = { ...s, sentComplete: msg };
  return {
    state: next,
    actions: [
      { kind: 'persist', state: next },
      { kind: 'send', msg },
    ],
  };
}

const SIG_FIELDS: readonly SigField[] = [
  'closer_output_only',
  'closee_output_only',
  'closer_and_closee_outputs',
];

export function onClosingComplete(
  s: NegotiatingState,
  m: MessageValue<'closing_complete'>,
  ctx: ChannelContext,
): Transition {
  const c = s.commitments;
  const b = balances(c);
  // BOLT #2:
  //   - If `fee_satoshis` is greater than the closer's outstanding balance:
  //     - MUST either send a `warning` and close the connection, or send an `error` and fail the channel.
  if (m.fee_satoshis * 1000n > b.remote) return warning(s, 'closing fee above the closer balance');
  // BOLT #2:
  //   - If `closee_scriptpubkey` does not match the last script it sent (from `closing_complete` or from the initial `shutdown`):
  //     - SHOULD ignore `closing_complete`.
  //     - SHOULD send a `warning`.
  if (!equal(m.closee_scriptpubkey, s.localScript))
    return warning(s, 'closee_scriptpubkey is not our script');
  // BOLT #2:
  //   - If `closer_scriptpubkey` is invalid (as detailed in the [`shutdown` requirements](#closing-initiation-shutdown)):
  if (!isValidShutdownScript(m.closer_scriptpubkey, { anysegwit: true, simpleClose: true }))
    return warning(s, 'invalid closer_scriptpubkey');
  const ourOut = b.local / 1000n;
  // BOLT #2:
  //   - Select a signature for validation:
  //     - If the local output amount is dust:
  //       - MUST use `closer_output_only`.
  //     - Otherwise, if `closer_and_closee_outputs` is present:
  //       - MUST use `closer_and_closee_outputs`.
  //     - Otherwise:
  //       - MUST use `closee_output_only`.
  const field: SigField =
    ourOut < dustThreshold(s.localScript)
      ? 'closer_output_only'
      : m.tlvs.closer_and_closee_outputs !== undefined
        ? 'closer_and_closee_outputs'
        : 'closee_output_only';
  const theirSig = m.tlvs[field]?.sig;
  // BOLT #2:
  //   - If the selected signature field does not exist:
  if (theirSig === undefined) return warning(s, `closing_complete without ${field}`);
  const [closer, closee] = scriptsFor(field, m.closer_scriptpubkey, m.closee_scriptpubkey);
  const tx = closingFor(c, false, closer, closee, m.fee_satoshis as Sat, m.locktime);
  // BOLT #2:
  //   - If the signature field is not valid for the corresponding closing transaction specified in [BOLT #3](03-transactions.md#closing-transaction):
  if (!tx.ok || !theirSigValid(c, tx.value.tx, theirSig))
    return warning(s, 'invalid closing_complete signature');
  const ours = sign(s, tx.value.tx, ctx);
  // BOLT #2:
  //   - MUST use `closer_scriptpubkey` for its own future `closing_complete` messages.
  const withScript: NegotiatingState = { ...s, remoteScript: m.closer_scriptpubkey };
  const done = broadcastSigned(withScript, tx.value.tx, ours, theirSig);
  const reply: MessageValue<'closing_sig'> = {
    type: 'closing_sig',
    channel_id: c.channelId,
    closer_scriptpubkey: m.closer_scriptpubkey,
    closee_scriptpubkey: m.closee_scriptpubkey,
    fee_satoshis: m.fee_satoshis,
    locktime: m.locktime,
    // BOLT #2:
    //   - MUST send `closing_sig` with a single valid signature in the same TLV field as the `closing_complete`.
    tlvs: { [field]: { sig: ours } },
  };
  return { state: done.state, actions: [...done.actions, { kind: 'send', msg: reply }] };
}

export function onClosingSig(
  s: NegotiatingState,
  m: MessageValue<'closing_sig'>,
  ctx: ChannelContext,
): Transition {
  const sent = s.sentComplete;
  if (sent === undefined) return warning(s, 'closing_sig without closing_complete');
  // BOLT #2:
  //   - If `closer_scriptpubkey`, `closee_scriptpubkey`, `fee_satoshis` or `locktime` don't match what was sent in `closing_complete`:
  if (
    !equal(m.closer_scriptpubkey, sent.closer_scriptpubkey) ||
    !equal(m.closee_scriptpubkey, sent.closee_scriptpubkey) ||
    m.fee_satoshis !== sent.fee_satoshis ||
    m.locktime !== sent.locktime
  )
    return warning(s, 'closing_sig does not match our closing_complete');
  const present = SIG_FIELDS.filter((f) => m.tlvs[f] !== undefined);
  // BOLT #2:
  //   - If `tlvs` does not contain exactly one signature:
  //   - If `tlvs` does not contain one of the TLV fields sent in `closing_complete`:
  const field = present[0];
  if (present.length !== 1 || field === undefined || sent.tlvs[field] === undefined)
    return warning(s, 'closing_sig must carry exactly one of the signatures we asked for');
  const [closer, closee] = scriptsFor(field, sent.closer_scriptpubkey, sent.closee_scriptpubkey);
  const tx = closingFor(s.commitments, true, closer, closee, sent.fee_satoshis as Sat, sent.locktime);
  const theirSig = m.tlvs[field]!.sig;
  if (!tx.ok || !theirSigValid(s.commitments, tx.value.tx, theirSig))
    return warning(s, 'invalid closing_sig signature');
  const done = broadcastSigned(
    { ...s, sentComplete: undefined },
    tx.value.tx,
    sign(s, tx.value.tx, ctx),
    theirSig,
  );
  return { state: done.state, actions: done.actions };
}
