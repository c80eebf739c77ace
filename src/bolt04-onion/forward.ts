// One call for the HTLC switch: peel the onion of an incoming update_add_htlc, read the payload, unblind
// if needed, and say what to do — forward, receive, or fail with exactly the message BOLT 2/4 require.
// Channel policy (fees, CLTV delta, liquidity) and invoice checks stay with the caller.
import type { FailureMessageInput } from '../bolt01-wire/index.ts';
import { failureCodeOf } from '../bolt01-wire/index.ts';
import { assertNever } from '../core/result.ts';
import type { Msat } from '../core/units.ts';
import { sha256 } from '../crypto/index.ts';
import type { EncryptedData } from './blinding.ts';
import { failureForPeelError } from './failure.ts';
import type { EcdhFn } from './keys.ts';
import { decodeHopPayload, type HopPayload, interpretHopPayload } from './payload.ts';
import { type IncomingHtlc, type NextHop, processBlindedHop } from './relay.ts';
import { peelOnion } from './sphinx.ts';

export interface IncomingOnion extends IncomingHtlc {
  readonly onion: Uint8Array;
  readonly paymentHash: Uint8Array;
  /** `path_key` TLV of the update_add_htlc, if present. */
  readonly pathKey?: Uint8Array;
}

export type OnionVerdict =
  | {
      readonly type: 'forward';
      readonly next: NextHop;
      readonly amtToForward: Msat;
      readonly outgoingCltvValue: number;
      readonly nextOnion: Uint8Array;
      /** For the outgoing update_add_htlc inside a blinded path; null otherwise. */
      readonly nextPathKey: Uint8Array | null;
      /** Keep it with the HTLC: failures coming back are wrapped with it. */
      readonly sharedSecret: Uint8Array;
      readonly blinded: boolean;
    }
  | {
      readonly type: 'receive';
      readonly amtToForward: Msat;
      readonly outgoingCltvValue: number;
      readonly totalMsat: Msat;
      readonly paymentSecret: Uint8Array | null;
      readonly paymentMetadata: Uint8Array | null;
      /** Set when the payment came through a blinded path: must match one this node created. */
      readonly pathId: Uint8Array | null;
      readonly encryptedData: EncryptedData | null;
      readonly payload: HopPayload;
      readonly sharedSecret: Uint8Array;
    }
  /** Reply with update_fail_malformed_htlc. */
  | { readonly type: 'fail_malformed'; readonly failureCode: number; readonly sha256OfOnion: Uint8Array }
  /** Reply with update_fail_htlc carrying createErrorPacket(sharedSecret, failure). */
  | { readonly type: 'fail'; readonly sharedSecret: Uint8Array; readonly failure: FailureMessageInput }
  /** Not an onion (wrong size): the peer broke the protocol. */
  | { readonly type: 'protocol_violation'; readonly message: string };

export function processIncomingOnion(htlc: IncomingOnion, ecdh: EcdhFn): OnionVerdict {
  const peeled = peelOnion(htlc.onion, ecdh, htlc.paymentHash, htlc.pathKey ? { pathKey: htlc.pathKey } : {});
  if (!peeled.ok) {
    const f = failureForPeelError(peeled.error);
    switch (f.kind) {
      case 'malformed':
        return { type: 'fail_malformed', failureCode: f.failureCode, sha256OfOnion: f.sha256OfOnion };
      case 'fail':
        // Inside a blinded path even a bad payload frame is reported as blinding, malformed.
        if (htlc.pathKey !== undefined) return blindingMalformed(htlc.onion);
        return { type: 'fail', sharedSecret: f.sharedSecret, failure: f.failure };
      case 'protocol_violation':
        return { type: 'protocol_violation', message: f.message };
    }
    return assertNever(f, 'peel failure');
  }
  const p = peeled.value;
  const isFinal = p.type === 'final';
  const { sharedSecret } = p;
  const failBlinding = (): OnionVerdict =>
    // BOLT #4:
    // An _erring node_:
    //   - if `path_key` is set in the incoming `update_add_htlc`:
    //     - MUST return an `invalid_onion_blinding` error.
    htlc.pathKey !== undefined
      ? blindingMalformed(htlc.onion)
      : {
          type: 'fail',
          sharedSecret,
          failure: { failure: 'invalid_onion_blinding', sha256_of_onion: sha256(htlc.onion) },
        };

  const decoded = decodeHopPayload(p.payload);
  if (!decoded.ok) {
    if (htlc.pathKey !== undefined) return failBlinding();
    return {
      type: 'fail',
      sharedSecret,
      failure: {
        failure: 'invalid_onion_payload',
        type: decoded.error.tlvType,
        offset: decoded.error.offset,
      },
    };
  }
  const ctx = { isFinal, ...(htlc.pathKey !== undefined ? { updateAddPathKey: htlc.pathKey } : {}) };
  const instr = interpretHopPayload(decoded.value, ctx);
  if (!instr.ok) {
    if (instr.error.failure === 'invalid_onion_blinding') return failBlinding();
    return {
      type: 'fail',
      sharedSecret,
      failure: { failure: 'invalid_onion_payload', type: instr.error.tlvType, offset: instr.error.offset },
    };
  }
  const ins = instr.value;
  switch (ins.type) {
    case 'forward':
      // (Only a non-final onion gives a forward instruction; the check keeps the types honest.)
      if (p.type !== 'forward') return invalidPayload(sharedSecret, 6n);
      return {
        type: 'forward',
        next: { type: 'short_channel_id', shortChannelId: ins.shortChannelId },
        amtToForward: ins.amtToForward,
        outgoingCltvValue: ins.outgoingCltvValue,
        nextOnion: p.nextOnion,
        nextPathKey: null,
        sharedSecret,
        blinded: false,
      };
    case 'final':
      // BOLT #4:
      //   - If it is the final node:
      //     - MUST treat `total_msat` as if it were equal to `amt_to_forward` if it is not present.
      //     - MUST return an error if:
      //       - incoming `amount_msat` < `amt_to_forward`.
      //       - incoming `cltv_expiry` < `outgoing_cltv_value`.
      if (htlc.amountMsat < ins.amtToForward) {
        return {
          type: 'fail',
          sharedSecret,
          failure: { failure: 'final_incorrect_htlc_amount', incoming_htlc_amt: htlc.amountMsat },
        };
      }
      if (htlc.cltvExpiry < ins.outgoingCltvValue) {
        return {
          type: 'fail',
          sharedSecret,
          failure: { failure: 'final_incorrect_cltv_expiry', cltv_expiry: htlc.cltvExpiry },
        };
      }
      return {
        type: 'receive',
        amtToForward: ins.amtToForward,
        outgoingCltvValue: ins.outgoingCltvValue,
        totalMsat: ins.totalMsat,
        paymentSecret: ins.paymentSecret,
        paymentMetadata: ins.paymentMetadata,
        pathId: null,
        encryptedData: null,
        payload: decoded.value,
        sharedSecret,
      };
    case 'blinded_forward':
    case 'blinded_final': {
      const access = p.pathKeySharedSecret !== null ? { pathKeySharedSecret: p.pathKeySharedSecret } : ecdh;
      const d = processBlindedHop(ins, htlc, access);
      if (!d.ok) {
        if (d.error.failure === 'invalid_onion_blinding') return failBlinding();
        // A final introduction node (a one-hop blinded path) fails like a plain recipient.
        return invalidPayload(sharedSecret, 10n);
      }
      const v = d.value;
      if (v.type === 'forward') {
        if (p.type !== 'forward') return failBlinding();
        return {
          type: 'forward',
          next: v.next,
          amtToForward: v.amtToForward,
          outgoingCltvValue: v.outgoingCltvValue,
          nextOnion: p.nextOnion,
          nextPathKey: v.nextPathKey,
          sharedSecret,
          blinded: true,
        };
      }
      return {
        type: 'receive',
        amtToForward: v.amtToForward,
        outgoingCltvValue: v.outgoingCltvValue,
        totalMsat: v.totalAmountMsat,
        paymentSecret: null,
        paymentMetadata: null,
        pathId: v.pathId,
        encryptedData: v.data,
        payload: decoded.value,
        sharedSecret,
      };
    }
  }
  return assertNever(ins, 'hop instruction');
}

function invalidPayload(sharedSecret: Uint8Array, type: bigint): OnionVerdict {
  return { type: 'fail', sharedSecret, failure: { failure: 'invalid_onion_payload', type, offset: 0 } };
}

function blindingMalformed(onion: Uint8Array): OnionVerdict {
  // BOLT #2:
  //     - If `path_key` is set in the incoming `update_add_htlc`:
  //       - MUST send an `update_fail_malformed_htlc` error using the
  //         `invalid_onion_blinding` failure code for any local or downstream errors.
  //       - SHOULD use the `sha256_of_onion` of the onion it received.
  return {
    type: 'fail_malformed',
    failureCode: failureCodeOf('invalid_onion_blinding'),
    sha256OfOnion: sha256(onion),
  };
}
