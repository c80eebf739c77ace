// Returning errors (BOLT 4 "Returning Errors"): the erring node builds and obfuscates the return packet,
// each hop back obfuscates it again with its `ammag` key, and the origin peels the layers to find which
// hop's `um` HMAC matches. Attribution data (option_attribution_data) is not handled here.

import type { WireError } from '../bolt01-wire/index.ts';
import { concat, readU16be, u16be } from '../core/bytes.ts';
import { err, ok, type Result } from '../core/result.ts';
import { hmacSha256 } from '../crypto/index.ts';
import { decodeFailure, encodeFailure, type Failure } from './failure.ts';
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
  failureMessage: Uint8Array | Failure,
): Uint8Array {
  const msg = failureMessage instanceof Uint8Array ? failureMessage : encodeFailure(failureMessage);
  if (msg.length > 0xffff) throw new RangeError('failure message longer than 65535 bytes');
  // BOLT #4:
  //   - MUST set `pad` such that the `failure_len` plus `pad_len` is at least 256.
  //   - SHOULD set `pad` such that the `failure_len` plus `pad_len` is equal to
  //     256. Deviating from this may cause older nodes to be unable to parse the
  //     return message.
  const padLen = Math.max(0, ERROR_PAD_TARGET - msg.length);
  const body = concat(u16be(msg.length), msg, u16be(padLen), new Uint8Array(padLen));
  const hmac = hmacSha256(generateKey('um', sharedSecret), body);
  return wrapErrorPacket(sharedSecret, concat(hmac, body));
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
};

export type ErrorDecodeError =
  | { readonly code: 'too_short'; readonly length: number }
  /** No hop's HMAC matched: some node corrupted the packet (blame the first hop, or use attribution data). */
  | { readonly code: 'unattributable' }
  /** The HMAC matched but the lengths inside do not add up. */
  | { readonly code: 'malformed'; readonly hopIndex: number };

/**
 * The origin's side. `hopSharedSecrets` are the secrets from building the onion, in route order. Runs the
 * full 27 rounds whatever the answer, so timing does not reveal the erring node's position.
 */
export function decodeErrorPacket(
  hopSharedSecrets: readonly Uint8Array[],
  packet: Uint8Array,
): Result<DecodedError, ErrorDecodeError> {
  if (packet.length < 32 + 2 + 2) return err({ code: 'too_short', length: packet.length });
  let current = packet;
  let found: { hopIndex: number; plain: Uint8Array } | null = null;
  const dummy = new Uint8Array(32);
  const rounds = Math.max(ERROR_DECRYPT_ROUNDS, hopSharedSecrets.length);
  for (let i = 0; i < rounds; i++) {
    // BOLT #4:
    //     - SHOULD use constant `ammag` and `um` keys to obfuscate the route length.
    const secret = i < hopSharedSecrets.length ? hopSharedSecrets[i]! : dummy;
    current = wrapErrorPacket(secret, current);
    const expected = hmacSha256(generateKey('um', secret), current.subarray(32));
    const matches = hmacEqual(expected, current.subarray(0, 32));
    if (matches && found === null && i < hopSharedSecrets.length) found = { hopIndex: i, plain: current };
  }
  if (found === null) return err({ code: 'unattributable' });
  const { hopIndex, plain } = found;
  const failureLen = readU16be(plain, 32);
  if (34 + failureLen + 2 > plain.length) return err({ code: 'malformed', hopIndex });
  const padLen = readU16be(plain, 34 + failureLen);
  if (34 + failureLen + 2 + padLen !== plain.length) return err({ code: 'malformed', hopIndex });
  const failureMessage = plain.slice(34, 34 + failureLen);
  return ok({ hopIndex, failureMessage, failure: decodeFailure(failureMessage) });
}
