// Sphinx packets (BOLT 4 "Packet Construction" and "Onion Decryption"): build at the origin, peel at each
// hop. Payloads are opaque bytes here; payload.ts gives them meaning. No randomness inside: the session key
// is an argument, and the node key is reached only through an ECDH callback.

import { BigSizeError, decodeBigSize, encodeBigSize } from '../core/bigsize.ts';
import { concat, equal } from '../core/bytes.ts';
import { err, ok, type Result } from '../core/result.ts';
import { hmacSha256, isPublicKey, pubkeyTweakMul, sha256 } from '../crypto/index.ts';
import {
  blindEphemeralKey,
  cipherStream,
  type EcdhFn,
  generateKey,
  type HopKeys,
  hmacEqual,
  sharedSecretsAlongRoute,
} from './keys.ts';

export const ONION_VERSION = 0;
/** `hop_payloads` size of a payment onion. */
export const HOP_PAYLOADS_SIZE = 1300;
export const HMAC_SIZE = 32;
/** version + public_key + hmac around the hop payloads. */
export const ONION_OVERHEAD = 1 + 33 + HMAC_SIZE;
/** The 1366-byte `onion_routing_packet` of `update_add_htlc`. */
export const PAYMENT_ONION_SIZE = ONION_OVERHEAD + HOP_PAYLOADS_SIZE;

/**
 * A payment onion has exactly 1300 bytes of hop payloads and reserves payload lengths 0 and 1; an onion
 * message takes its size from the packet and allows an empty payload.
 */
export type OnionKind = 'payment' | 'message';

export interface SphinxHop {
  /** The key the hop is encrypted to: its node id, or its blinded node id inside a blinded path. */
  readonly publicKey: Uint8Array;
  /** The hop's TLV payload, without the bigsize length prefix. */
  readonly payload: Uint8Array;
}

export interface BuildOnionOptions {
  readonly sessionKey: Uint8Array;
  readonly hops: readonly SphinxHop[];
  /** The payment hash for payments; empty for onion messages. */
  readonly associatedData: Uint8Array;
  readonly kind?: OnionKind;
  /** Defaults to 1300; onion messages may use a larger size (e.g. 32768). */
  readonly hopPayloadsSize?: number;
}

export interface BuiltOnion {
  readonly packet: Uint8Array;
  /** Per hop, kept by the origin to attribute returned errors. */
  readonly hopKeys: readonly HopKeys[];
}

export type BuildError =
  | { readonly code: 'empty_route' }
  | { readonly code: 'payload_too_short'; readonly hop: number }
  | { readonly code: 'route_too_large'; readonly needed: number; readonly available: number }
  | { readonly code: 'bad_key'; readonly message: string };

function frameSize(payloadLength: number): number {
  return encodeBigSize(BigInt(payloadLength)).length + payloadLength + HMAC_SIZE;
}

// The filler reproduces what the hops' own zero-padding turns into after each of them has XORed its rho
// stream, so the origin can compute HMACs covering the tail the later hops will see.
function generateFiller(
  rhoKeys: readonly Uint8Array[],
  frameSizes: readonly number[],
  size: number,
): Uint8Array {
  let fillerLength = 0;
  for (let i = 0; i < frameSizes.length - 1; i++) fillerLength += frameSizes[i]!;
  const filler = new Uint8Array(fillerLength);
  let used = 0;
  for (let i = 0; i < frameSizes.length - 1; i++) {
    const start = size - used;
    const end = size + frameSizes[i]!;
    const stream = cipherStream(rhoKeys[i]!, end);
    for (let j = 0; j < end - start; j++) filler[j]! ^= stream[start + j]!;
    used += frameSizes[i]!;
  }
  return filler;
}

export function buildOnion(options: BuildOnionOptions): Result<BuiltOnion, BuildError> {
  const { sessionKey, hops, associatedData } = options;
  const kind = options.kind ?? 'payment';
  const size = options.hopPayloadsSize ?? HOP_PAYLOADS_SIZE;
  if (hops.length === 0) return err({ code: 'empty_route' });
  const frames: number[] = [];
  for (const [i, hop] of hops.entries()) {
    if (kind === 'payment' && hop.payload.length < 2) return err({ code: 'payload_too_short', hop: i });
    frames.push(frameSize(hop.payload.length));
  }
  const needed = frames.reduce((a, b) => a + b, 0);
  if (needed > size) return err({ code: 'route_too_large', needed, available: size });
  let hopKeys: HopKeys[];
  try {
    hopKeys = sharedSecretsAlongRoute(
      sessionKey,
      hops.map((h) => h.publicKey),
    );
  } catch (e) {
    return err({ code: 'bad_key', message: (e as Error).message });
  }
  const rhoKeys = hopKeys.map((k) => generateKey('rho', k.sharedSecret));
  const filler = generateFiller(rhoKeys, frames, size);

  // BOLT #4:
  // The packet is initialized with 1300 _random_ bytes derived from a CSPRNG
  // (ChaCha20). The _pad_ key referenced above is used to extract additional random
  // bytes from a ChaCha20 stream, using it as a CSPRNG for this purpose.
  let mix = cipherStream(generateKey('pad', sessionKey), size);
  let nextHmac: Uint8Array = new Uint8Array(HMAC_SIZE);
  for (let i = hops.length - 1; i >= 0; i--) {
    const payload = hops[i]!.payload;
    const shift = frames[i]!;
    const shifted = new Uint8Array(size);
    shifted.set(encodeBigSize(BigInt(payload.length)), 0);
    const lenBytes = shift - payload.length - HMAC_SIZE;
    shifted.set(payload, lenBytes);
    shifted.set(nextHmac, lenBytes + payload.length);
    shifted.set(mix.subarray(0, size - shift), shift);
    const stream = cipherStream(rhoKeys[i]!, size);
    for (let j = 0; j < size; j++) shifted[j]! ^= stream[j]!;
    if (i === hops.length - 1) shifted.set(filler, size - filler.length);
    mix = shifted;
    nextHmac = hmacSha256(generateKey('mu', hopKeys[i]!.sharedSecret), mix, associatedData);
  }
  const packet = concat(new Uint8Array([ONION_VERSION]), hopKeys[0]!.ephemeralPublicKey, mix, nextHmac);
  return ok({ packet, hopKeys });
}

/** Errors a forwarding node reports in `update_fail_malformed_htlc`, with the hash of the onion. */
export type BadOnionCode =
  | 'invalid_onion_version'
  | 'invalid_onion_key'
  | 'invalid_onion_hmac'
  | 'invalid_onion_blinding';

export type PeelError =
  | {
      readonly code: BadOnionCode;
      // BOLT #4:
      // * [`sha256`:`sha256_of_onion`]
      readonly sha256OfOnion: Uint8Array;
      /** What actually failed; differs from `code` inside a blinded path, where every error is blinding. */
      readonly cause: BadOnionCode;
    }
  | {
      /** The packet is authentic but its frame is malformed: fail with an encrypted error packet. */
      readonly code: 'invalid_onion_payload';
      readonly reason: 'bad_length' | 'short_payload' | 'truncated_payload' | 'truncated_hmac';
      readonly sharedSecret: Uint8Array;
    }
  | {
      /** Not an onion of this kind at all (wrong size): the wire layer should never let this through. */
      readonly code: 'bad_packet_size';
      readonly length: number;
    };

export type PeelResult =
  | {
      readonly type: 'forward';
      readonly payload: Uint8Array;
      readonly sharedSecret: Uint8Array;
      /** ECDH(path_key) when peeling inside a blinded path, to decrypt `encrypted_recipient_data` with. */
      readonly pathKeySharedSecret: Uint8Array | null;
      readonly nextOnion: Uint8Array;
    }
  | {
      readonly type: 'final';
      readonly payload: Uint8Array;
      readonly sharedSecret: Uint8Array;
      readonly pathKeySharedSecret: Uint8Array | null;
    };

export interface PeelOptions {
  readonly kind?: OnionKind;
  /** `path_key` from `update_add_htlc` / `onion_message`, when this node sits inside a blinded path. */
  readonly pathKey?: Uint8Array;
}

const BLINDED_NODE_ID_KEY = new TextEncoder().encode('blinded_node_id');

/** HMAC256("blinded_node_id", ss): the tweak between a node id and its blinded node id. */
export function blindedNodeIdTweak(pathKeySharedSecret: Uint8Array): Uint8Array {
  return hmacSha256(BLINDED_NODE_ID_KEY, pathKeySharedSecret);
}

/**
 * Peels one layer. `ecdh` multiplies a point by the node secret (in the signer). Never throws for bad
 * input: every failure is a typed error carrying what the node needs to report it.
 */
export function peelOnion(
  onion: Uint8Array,
  ecdh: EcdhFn,
  associatedData: Uint8Array,
  options: PeelOptions = {},
): Result<PeelResult, PeelError> {
  const kind = options.kind ?? 'payment';
  if (kind === 'payment' ? onion.length !== PAYMENT_ONION_SIZE : onion.length < ONION_OVERHEAD + 1) {
    return err({ code: 'bad_packet_size', length: onion.length });
  }
  // BOLT #4:
  //   - if `path_key` is set in the incoming `update_add_htlc`:
  //     - MUST return an `invalid_onion_blinding` error.
  const blinded = options.pathKey !== undefined;
  const bad = (cause: BadOnionCode): Result<PeelResult, PeelError> =>
    err({ code: blinded ? 'invalid_onion_blinding' : cause, cause, sha256OfOnion: sha256(onion) });
  const size = onion.length - ONION_OVERHEAD;
  // BOLT #4:
  //   - if `version` is not 0:
  //     - MUST abort processing the packet and fail.
  if (onion[0] !== ONION_VERSION) return bad('invalid_onion_version');
  const publicKey = onion.subarray(1, 34);
  // BOLT #4:
  //   - if `public_key` is not a valid pubkey:
  //     - MUST abort processing the packet and fail.
  if (!isPublicKey(publicKey)) return bad('invalid_onion_key');
  const hopPayloads = onion.subarray(34, 34 + size);
  const hmac = onion.subarray(34 + size);

  let pathKeySharedSecret: Uint8Array | null = null;
  let ecdhPoint: Uint8Array = publicKey;
  if (options.pathKey !== undefined) {
    if (!isPublicKey(options.pathKey) || options.pathKey.length !== 33) return bad('invalid_onion_blinding');
    // BOLT #4:
    //   - if `path_key` is specified:
    //     - Calculate the `blinding_ss` as ECDH(`path_key`, `node_privkey`).
    //     - Either:
    //       - Tweak `public_key` by multiplying by $`HMAC256(\text{"blinded\_node\_id"}, blinding\_ss)`$.
    pathKeySharedSecret = ecdh(options.pathKey);
    try {
      ecdhPoint = pubkeyTweakMul(publicKey, blindedNodeIdTweak(pathKeySharedSecret));
    } catch {
      return bad('invalid_onion_blinding');
    }
  }
  const sharedSecret = ecdh(ecdhPoint);
  // BOLT #4:
  //   - MUST use a constant time comparison of the computed HMAC and `hmac`.
  const expected = hmacSha256(generateKey('mu', sharedSecret), hopPayloads, associatedData);
  if (!hmacEqual(expected, hmac)) return bad('invalid_onion_hmac');

  // BOLT #4:
  //   - Derive `bytestream` of twice the length of `hop_payloads` using `rho` (see [Pseudo Random Byte Stream](pseudo-random-byte-stream)).
  //   - Set `unwrapped_payloads` to the XOR of `hop_payloads` and `bytestream`.
  const unwrapped = cipherStream(generateKey('rho', sharedSecret), 2 * size);
  for (let i = 0; i < size; i++) unwrapped[i]! ^= hopPayloads[i]!;
  const malformed = (reason: 'bad_length' | 'short_payload' | 'truncated_payload' | 'truncated_hmac') =>
    err({ code: 'invalid_onion_payload' as const, reason, sharedSecret });

  let payloadLength: number;
  let offset: number;
  try {
    const { value, length } = decodeBigSize(unwrapped, 0);
    if (value > BigInt(size)) return malformed('truncated_payload');
    payloadLength = Number(value);
    offset = length;
  } catch (e) {
    if (e instanceof BigSizeError) return malformed('bad_length');
    throw e;
  }
  // BOLT #4:
  //   - If the `payload_length` is less than two:
  //     - MUST abort processing the packet and fail.
  if (kind === 'payment' && payloadLength < 2) return malformed('short_payload');
  if (offset + payloadLength > size) return malformed('truncated_payload');
  const payload = unwrapped.slice(offset, offset + payloadLength);
  offset += payloadLength;
  if (offset + HMAC_SIZE > size) return malformed('truncated_hmac');
  const nextHmac = unwrapped.subarray(offset, offset + HMAC_SIZE);
  offset += HMAC_SIZE;

  if (equal(nextHmac, new Uint8Array(HMAC_SIZE))) {
    return ok({ type: 'final', payload, sharedSecret, pathKeySharedSecret });
  }
  // BOLT #4:
  //     - SHOULD forward an onion to the next peer with:
  //       - `version` set to 0.
  //       - `public_key` set to the incoming `public_key` multiplied by `blinding_tweak`.
  //       - `hop_payloads` set to the `unwrapped_payloads`, truncated to the incoming `hop_payloads` size.
  //       - `hmac` set to `next_hmac`.
  const nextKey = blindEphemeralKey(publicKey, sharedSecret);
  if (nextKey === null) return bad('invalid_onion_key');
  const nextOnion = concat(
    new Uint8Array([ONION_VERSION]),
    nextKey,
    unwrapped.subarray(offset, offset + size),
    nextHmac,
  );
  return ok({ type: 'forward', payload, sharedSecret, pathKeySharedSecret, nextOnion });
}
