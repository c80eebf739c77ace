// Returning errors (BOLT 4 "Returning Errors"): the erring node builds and obfuscates the return packet,
// each hop back obfuscates it again with its `ammag` key, and the origin peels the layers to find which
// hop's `um` HMAC matches, checking attribution data (attribution.ts) along the way when it is present.

import type { WireError } from '../bolt01-wire/index.ts';
import { concat, readU16be, u16be } from '../core/bytes.ts';
import { err, ok, type Result } from '../core/result.ts';
import { hmacSha256 } from '../crypto/index.ts';
import { unwrapAttribution } from './attribution.ts';
import { decodeFailure, encodeFailure, type Failure, type FailureInput } from './failure.ts';
import { generateKey, hmacEqual, xorStream } from './keys.ts';

export const ERROR_PAD_TARGET = 256;
/** hmac + failure_len + pad_len around the padded failure message. */
export const ERROR_PACKET_MIN_SIZE = 32 + 2 + 2 + ERROR_PAD_TARGET;
// BOLT #4:
//     - SHOULD continue decrypting, until the loop has been repeated 27 times
//     (maximum route length of tlv payload type).
export const ERROR_DECRYPT_ROUNDS = 27;

/** The failing node's return packet, already obfuscated with its `ammag` key (the `reason` to send). */
export function createErrorPacket(
  sharedSecret: Uint8Array,
  failureMessage: Uint8Array | FailureInput,
  options: { readonly padTo?: number } = {},
): Uint8Array {
  return wrapErrorPacket(sharedSecret, rawErrorPacket(sharedSecret, failureMessage, options));
}

/**
 * The return packet before the erring node's `ammag` stream: hmac || failure_len || failuremsg || pad_len
 * || pad. `padTo` is failure_len + pad_len (256 by default; the attribution test vector uses 1024).
 */
export function rawErrorPacket(
  sharedSecret: Uint8Array,
  failureMessage: Uint8Array | FailureInput,
  options: { readonly padTo?: number } = {},
): Uint8Array {
  const msg = failureMessage instanceof Uint8Array ? failureMessage : encodeFailure(failureMessage);
  if (msg.length > 0xffff) throw new RangeError('failure message longer than 65535 bytes');
  // BOLT #4:
  //   - MUST set `pad` such that the `failure_len` plus `pad_len` is at least 256.
  //   - SHOULD set `pad` such that the `failure_len` plus `pad_len` is equal to
  //     256. Deviating from this may cause older nodes to be unable to parse the
  //     return message.
  const target = Math.max(options.padTo ?? ERROR_PAD_TARGET, ERROR_PAD_TARGET);
  const padLen = Math.max(0, target - msg.length);
  const body = concat(u16be(msg.length), msg, u16be(padLen), new Uint8Array(padLen));
  const hmac = hmacSha256(generateKey('um', sharedSecret), body);
  return concat(hmac, body);
}

/** What every hop on the way back does to the `reason` it received. */
export function wrapErrorPacket(sharedSecret: Uint8Array, packet: Uint8Array): Uint8Array {
  return xorStream(generateKey('ammag', sharedSecret), packet);
}

export type DecodedError = {
  /** Index in the route (0 = first hop after us) of the node that created the error. */
  readonly hopIndex: number;
  readonly failureMessage: Uint8Array;
  /** The decoded failure, or why the erring node's message does not parse (still attributed to it). */
  readonly failure: Result<Failure, WireError>;
} & AttributionResult;

export interface AttributionResult {
  /** Hold times (100 ms units) proven by attribution data, hop 0 first; empty without attribution data. */
  readonly holdTimes: readonly number[];
  /**
   * How many hops' attribution HMACs verified. When it is less than the route length the first failing
   * hop, or the one before it, tampered with the failure.
   */
  readonly attributionValidHops: number;
}

export type ErrorDecodeError =
  | { readonly code: 'too_short'; readonly length: number }
  /** No hop's HMAC matched: some node corrupted the packet; attribution data narrows it to a pair. */
  | ({ readonly code: 'unattributable' } & AttributionResult)
  /** The HMAC matched but the lengths inside do not add up. */
  | ({ readonly code: 'malformed'; readonly hopIndex: number } & AttributionResult);

/**
 * The origin's side. `hopSharedSecrets` are the secrets from building the onion, in route order. Runs the
 * full 27 rounds whatever the answer, so timing does not reveal the erring node's position.
 * `attributionData` is the TLV from update_fail_htlc, when the first hop sent one.
 */
export function decodeErrorPacket(
  hopSharedSecrets: readonly Uint8Array[],
  packet: Uint8Array,
  options: { readonly attributionData?: Uint8Array } = {},
): Result<DecodedError, ErrorDecodeError> {
  if (packet.length < 32 + 2 + 2) return err({ code: 'too_short', length: packet.length });
  let current = packet;
  let found: { hopIndex: number; plain: Uint8Array } | null = null;
  const dummy = new Uint8Array(32);
  const rounds = Math.max(ERROR_DECRYPT_ROUNDS, hopSharedSecrets.length);
  let attribution: Uint8Array | null = options.attributionData ?? null;
  const holdTimes: number[] = [];
  for (let i = 0; i < rounds; i++) {
    // BOLT #4:
    //     - SHOULD use constant `ammag` and `um` keys to obfuscate the route length.
    const secret = i < hopSharedSecrets.length ? hopSharedSecrets[i]! : dummy;
    current = wrapErrorPacket(secret, current);
    const expected = hmacSha256(generateKey('um', secret), current.subarray(32));
    const matches = hmacEqual(expected, current.subarray(0, 32));
    const realHop = i < hopSharedSecrets.length && found === null;
    if (realHop && attribution !== null) {
      // Hop i signed the packet as it received it, which is what is left after removing its layer.
      const step = unwrapAttribution(attribution, current, secret, hopSharedSecrets.length - i);
      if (step === null) attribution = null;
      else {
        holdTimes.push(step.holdTime);
        attribution = step.next;
      }
    }
    if (matches && realHop) found = { hopIndex: i, plain: current };
  }
  const attr: AttributionResult = { holdTimes, attributionValidHops: holdTimes.length };
  if (found === null) return err({ code: 'unattributable', ...attr });
  const { hopIndex, plain } = found;
  const failureLen = readU16be(plain, 32);
  if (34 + failureLen + 2 > plain.length) return err({ code: 'malformed', hopIndex, ...attr });
  const padLen = readU16be(plain, 34 + failureLen);
  if (34 + failureLen + 2 + padLen !== plain.length) return err({ code: 'malformed', hopIndex, ...attr });
  const failureMessage = plain.slice(34, 34 + failureLen);
  return ok({ hopIndex, failureMessage, failure: decodeFailure(failureMessage), ...attr });
}
