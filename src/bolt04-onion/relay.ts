// A hop inside a blinded payment path: decrypt its encrypted_recipient_data, apply the recipient's
// constraints, and compute what to forward (or what was received). The HTLC switch calls this after
// peelOnion + readHopPayload gave a blinded instruction.
import { err, ok, type Result } from '../core/result.ts';
import type { Msat } from '../core/units.ts';
import { blindedForward, decryptRecipientData, type EncryptedData } from './blinding.ts';
import type { EcdhFn } from './keys.ts';
import type { HopInstruction, ShortChannelId } from './payload.ts';

export interface IncomingHtlc {
  readonly amountMsat: Msat;
  readonly cltvExpiry: number;
}

/** Where a forwarded HTLC goes: a channel, or (inside a blinded path) a node to pick a channel to. */
export type NextHop =
  | { readonly type: 'short_channel_id'; readonly shortChannelId: ShortChannelId }
  | { readonly type: 'node_id'; readonly nodeId: Uint8Array };

export type BlindedRelayDecision =
  | {
      readonly type: 'forward';
      readonly next: NextHop;
      readonly amtToForward: Msat;
      readonly outgoingCltvValue: number;
      /** Goes in the outgoing update_add_htlc's `path_key`. */
      readonly nextPathKey: Uint8Array;
      readonly data: EncryptedData;
    }
  | {
      readonly type: 'receive';
      readonly amtToForward: Msat;
      readonly outgoingCltvValue: number;
      readonly totalAmountMsat: Msat;
      /** Must match a path this node created; otherwise ignore the payment as unknown. */
      readonly pathId: Uint8Array | null;
      readonly data: EncryptedData;
    };

export interface BlindedRelayError {
  /** invalid_onion_blinding everywhere inside the path; the normal failure only at a final introduction node. */
  readonly failure: 'invalid_onion_blinding' | 'invalid_onion_payload';
  readonly reason: string;
}

export function processBlindedHop(
  instruction: Extract<HopInstruction, { type: 'blinded_forward' | 'blinded_final' }>,
  incoming: IncomingHtlc,
  keyAccess: EcdhFn | { readonly pathKeySharedSecret: Uint8Array },
): Result<BlindedRelayDecision, BlindedRelayError> {
  const isFinal = instruction.type === 'blinded_final';
  // BOLT #4:
  //   - if `current_path_key` is set in the onion payload and it is not the
  //     final node:
  //     - MUST return an `invalid_onion_blinding` error.
  const failure =
    !instruction.isIntroduction || !isFinal ? 'invalid_onion_blinding' : 'invalid_onion_payload';
  const fail = (reason: string) => err({ failure, reason } as const);

  const unblinded = decryptRecipientData(instruction.pathKey, instruction.encryptedRecipientData, keyAccess);
  if (!unblinded.ok) return fail(`encrypted_recipient_data: ${unblinded.error.code}`);
  const data = unblinded.value.data;
  // BOLT #4:
  //     - If `payment_constraints` is present:
  //       - MUST return an error if:
  //         - the expiry is greater than `encrypted_recipient_data.payment_constraints.max_cltv_expiry`.
  //         - the amount is below `encrypted_recipient_data.payment_constraints.htlc_minimum_msat`.
  if (data.paymentConstraints !== undefined) {
    if (incoming.cltvExpiry > data.paymentConstraints.maxCltvExpiry)
      return fail('expiry above max_cltv_expiry');
    if (incoming.amountMsat < data.paymentConstraints.htlcMinimumMsat)
      return fail('amount below htlc_minimum_msat');
  }
  // BOLT #4:
  //     - MUST return an error if:
  //       - `encrypted_recipient_data.allowed_features.features` contains an unknown feature bit (even if it is odd).
  //       - `encrypted_recipient_data` contains both `short_channel_id` and `next_node_id`.
  // (No feature is defined for blinded payments yet, so every set bit is unknown.)
  if (data.allowedFeatures?.some((b) => b !== 0)) return fail('unknown feature in allowed_features');
  if (data.shortChannelId !== undefined && data.nextNodeId !== undefined) {
    return fail('both short_channel_id and next_node_id');
  }

  if (instruction.type === 'blinded_forward') {
    // BOLT #4:
    //       - MUST return an error if `encrypted_recipient_data` does not contain either `short_channel_id` or `next_node_id`.
    //       - MUST return an error if `encrypted_recipient_data` does not contain `payment_relay`.
    let next: Extract<BlindedRelayDecision, { type: 'forward' }>['next'];
    if (data.shortChannelId !== undefined)
      next = { type: 'short_channel_id', shortChannelId: data.shortChannelId };
    else if (data.nextNodeId !== undefined) next = { type: 'node_id', nodeId: data.nextNodeId };
    else return fail('no next hop');
    if (data.paymentRelay === undefined) return fail('no payment_relay');
    const out = blindedForward(incoming.amountMsat, incoming.cltvExpiry, data.paymentRelay);
    if (out === null) return fail('incoming HTLC cannot pay the relay fee or expiry delta');
    return ok({ type: 'forward', next, ...out, nextPathKey: unblinded.value.nextPathKey, data });
  }
  // BOLT #4:
  //   - If it is the final node:
  //     - MUST treat `total_msat` as if it were equal to `amt_to_forward` if it is not present.
  //     - MUST return an error if:
  //       - incoming `amount_msat` < `amt_to_forward`.
  //       - incoming `cltv_expiry` < `outgoing_cltv_value`.
  if (incoming.amountMsat < instruction.amtToForward) return fail('amount below amt_to_forward');
  if (incoming.cltvExpiry < instruction.outgoingCltvValue) return fail('expiry below outgoing_cltv_value');
  return ok({
    type: 'receive',
    amtToForward: instruction.amtToForward,
    outgoingCltvValue: instruction.outgoingCltvValue,
    totalAmountMsat: instruction.totalAmountMsat,
    pathId: data.pathId ?? null,
    data,
  });
}
