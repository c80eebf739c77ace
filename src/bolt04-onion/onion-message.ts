// Onion messages (BOLT 4 "Onion Messages"): the same Sphinx over blinded node ids with an empty associated
// data and a variable size, and the reader's rules for forwarding or accepting one. Errors are never
// returned for onion messages, so every failure here is a reason to ignore the message.

import {
  decodeSubtype,
  decodeTlvStream,
  describeWireError,
  encodeSubtype,
  encodeTlvStream,
  type TlvStreamValue,
} from '../bolt01-wire/index.ts';
import { concat, readU64be, u64be } from '../core/bytes.ts';
import { err, ok, type Result } from '../core/result.ts';
import {
  type BlindedPath,
  createBlindedPath,
  decryptRecipientData,
  type EncryptedData,
  encodeEncryptedData,
} from './blinding.ts';
import type { EcdhFn } from './keys.ts';
import type { ShortChannelId } from './payload.ts';
import { buildOnion, HOP_PAYLOADS_SIZE, type PeelError, peelOnion } from './sphinx.ts';

/** The larger size the spec suggests when 1300 bytes do not fit (32834 - 66). */
export const LARGE_ONION_MESSAGE_PAYLOADS_SIZE = 32768;

// BOLT #4:
// 1. `tlv_stream`: `onionmsg_tlv`
export const ONIONMSG_TYPES = {
  reply_path: 2n,
  encrypted_recipient_data: 4n,
  invoice_request: 64n,
  invoice: 66n,
  invoice_error: 68n,
} as const;

// BOLT #4:
// Field numbers 64 and above are reserved for payloads for the final
// hop, though these are not explicitly refused by non-final hops (unless
// even, of course!).
const FINAL_PAYLOAD_MIN_TYPE = 64n;

export type SciddirOrPubkey =
  | { readonly type: 'pubkey'; readonly nodeId: Uint8Array }
  | { readonly type: 'scid'; readonly direction: 0 | 1; readonly shortChannelId: ShortChannelId };

/** `blinded_path` as carried on the wire (e.g. in `reply_path`). */
export interface WireBlindedPath {
  readonly firstNode: SciddirOrPubkey;
  readonly firstPathKey: Uint8Array;
  readonly hops: BlindedPath['hops'];
}

export function toWireBlindedPath(p: BlindedPath): WireBlindedPath {
  return { firstNode: { type: 'pubkey', nodeId: p.firstNodeId }, firstPathKey: p.firstPathKey, hops: p.hops };
}

/** `blinded_path` through the shared codec (subtype `blinded_path`). */
export function encodeBlindedPath(p: WireBlindedPath): Uint8Array {
  if (p.hops.length === 0 || p.hops.length > 255) throw new RangeError('blinded path needs 1..255 hops');
  const first =
    p.firstNode.type === 'pubkey'
      ? p.firstNode.nodeId
      : concat(new Uint8Array([p.firstNode.direction]), u64be(p.firstNode.shortChannelId));
  return encodeSubtype('blinded_path', {
    first_node_id: first,
    first_path_key: p.firstPathKey,
    path: p.hops.map((h) => ({
      blinded_node_id: h.blindedNodeId,
      encrypted_recipient_data: h.encryptedRecipientData,
    })),
  });
}

type WireBlindedPathValue = TlvStreamValue<'onionmsg_tlv'>['reply_path'] extends infer R
  ? R extends { path: infer P }
    ? P
    : never
  : never;

function fromWirePath(v: WireBlindedPathValue): Result<WireBlindedPath, string> {
  if (v.path.length === 0) return err('blinded_path without hops');
  const f = v.first_node_id;
  const firstNode: SciddirOrPubkey =
    f.length === 9
      ? { type: 'scid', direction: f[0] as 0 | 1, shortChannelId: readU64be(f, 1) }
      : { type: 'pubkey', nodeId: f };
  return ok({
    firstNode,
    firstPathKey: v.first_path_key,
    hops: v.path.map((h) => ({
      blindedNodeId: h.blinded_node_id,
      encryptedRecipientData: h.encrypted_recipient_data,
    })),
  });
}

/** Decodes one `blinded_path` filling `b` exactly. */
export function decodeBlindedPath(b: Uint8Array): Result<WireBlindedPath, string> {
  const d = decodeSubtype('blinded_path', b);
  if (!d.ok) return err(describeWireError(d.error));
  return fromWirePath(d.value);
}

/**
 * The sender's side of "MUST prepend its own onion payloads to reach the `first_node_id`" for onion
 * messages: blinds its own route to the introduction node (`nodeIds`, the first peer first, the
 * introduction node not included) and joins it to `path` with `next_path_key_override`.
 */
export function prependBlindedHops(
  sessionKey: Uint8Array,
  nodeIds: readonly Uint8Array[],
  path: BlindedPath,
): BlindedPath {
  if (nodeIds.length === 0) return path;
  const hops = nodeIds.map((nodeId, i) => {
    const last = i === nodeIds.length - 1;
    const next = last ? path.firstNodeId : nodeIds[i + 1]!;
    // BOLT #4:
    //     - MUST set `next_path_key_override` in the prior onion payload to `first_path_key`.
    const data = last ? { nextNodeId: next, nextPathKeyOverride: path.firstPathKey } : { nextNodeId: next };
    return { nodeId, encryptedData: encodeEncryptedData(data) };
  });
  const own = createBlindedPath({ sessionKey, hops }).path;
  return { firstNodeId: own.firstNodeId, firstPathKey: own.firstPathKey, hops: [...own.hops, ...path.hops] };
}

export interface BuildOnionMessageOptions {
  readonly sessionKey: Uint8Array;
  /** The whole path to the recipient, every hop blinded (prepend your own blinded hops to reach it). */
  readonly path: BlindedPath;
  /** The recipient's payload: invoice_request / invoice / invoice_error, or unknown odd records. */
  readonly final?: Omit<OnionMessageTlvs, 'encrypted_recipient_data' | 'reply_path'>;
  readonly replyPath?: WireBlindedPath;
}

export type BuildOnionMessageError =
  | { readonly code: 'too_large' }
  | { readonly code: 'bad_route'; readonly message: string };

/** Returns the `onion_message` fields: the path_key for the first node, and the packet. */
export function buildOnionMessage(
  options: BuildOnionMessageOptions,
): Result<{ pathKey: Uint8Array; firstNodeId: Uint8Array; packet: Uint8Array }, BuildOnionMessageError> {
  const { path } = options;
  const last = path.hops.length - 1;
  const hops = path.hops.map((h, i) => {
    let tlvs: OnionMessageTlvs = {
      encrypted_recipient_data: { encrypted_recipient_data: h.encryptedRecipientData },
    };
    if (i === last) {
      tlvs = { ...options.final, ...tlvs };
      if (options.replyPath !== undefined) {
        const d = decodeSubtype('blinded_path', encodeBlindedPath(options.replyPath));
        if (!d.ok) throw new RangeError(`reply path: ${describeWireError(d.error)}`);
        tlvs.reply_path = { path: d.value };
      }
    }
    return { publicKey: h.blindedNodeId, payload: encodeTlvStream('onionmsg_tlv', tlvs) };
  });
  // BOLT #4:
  // - SHOULD set `onion_message_packet` `len` to 1366 or 32834.
  for (const size of [HOP_PAYLOADS_SIZE, LARGE_ONION_MESSAGE_PAYLOADS_SIZE]) {
    // BOLT #4:
    // - MUST NOT use any `associated_data` in the Sphinx construction.
    const r = buildOnion({
      sessionKey: options.sessionKey,
      hops,
      associatedData: new Uint8Array(0),
      kind: 'message',
      hopPayloadsSize: size,
    });
    if (r.ok)
      return ok({ pathKey: path.firstPathKey, firstNodeId: path.firstNodeId, packet: r.value.packet });
    if (r.error.code !== 'route_too_large') return err({ code: 'bad_route', message: r.error.code });
  }
  return err({ code: 'too_large' });
}

export type OnionMessageTlvs = TlvStreamValue<'onionmsg_tlv'>;

export interface OnionMessagePayload {
  readonly encryptedRecipientData?: Uint8Array;
  readonly replyPath?: WireBlindedPath;
  /** Everything as the shared codec decoded it (BOLT 12 payloads, unknown odd records). */
  readonly tlvs: OnionMessageTlvs;
}

/** How many payload fields (types 64 and above) the final node got. */
function payloadFieldCount(t: OnionMessageTlvs): number {
  const known = [t.invoice_request, t.invoice, t.invoice_error].filter((x) => x !== undefined).length;
  return known + (t.unknown ?? []).filter((u) => u.type >= FINAL_PAYLOAD_MIN_TYPE).length;
}

export function decodeOnionMessagePayload(b: Uint8Array): Result<OnionMessagePayload, string> {
  const d = decodeTlvStream('onionmsg_tlv', b);
  if (!d.ok) return err(describeWireError(d.error));
  const t = d.value;
  let replyPath: WireBlindedPath | undefined;
  if (t.reply_path !== undefined) {
    const p = fromWirePath(t.reply_path.path);
    if (!p.ok) return err(`reply_path: ${p.error}`);
    replyPath = p.value;
  }
  return ok({
    ...(t.encrypted_recipient_data
      ? { encryptedRecipientData: t.encrypted_recipient_data.encrypted_recipient_data }
      : {}),
    ...(replyPath !== undefined ? { replyPath } : {}),
    tlvs: t,
  });
}

export type OnionMessageNextHop =
  | { readonly type: 'node_id'; readonly nodeId: Uint8Array }
  | { readonly type: 'short_channel_id'; readonly shortChannelId: ShortChannelId };

export type OnionMessageStep =
  | {
      readonly type: 'forward';
      readonly next: OnionMessageNextHop;
      /** The `path_key` to put in the forwarded `onion_message`. */
      readonly nextPathKey: Uint8Array;
      readonly nextPacket: Uint8Array;
    }
  | {
      readonly type: 'final';
      readonly payload: OnionMessagePayload;
      readonly encryptedData: EncryptedData;
      /** Check against the paths this node published: a reply must use its reply path, and only it. */
      readonly pathId: Uint8Array | null;
    };

export type IgnoreReason =
  | { readonly code: 'peel_failed'; readonly error: PeelError }
  | { readonly code: 'bad_payload'; readonly message: string }
  | { readonly code: 'no_encrypted_data' }
  | { readonly code: 'bad_encrypted_data'; readonly message: string }
  | { readonly code: 'unsupported_features' }
  | { readonly code: 'forward_with_extra_fields' }
  | { readonly code: 'forward_with_path_id' }
  | { readonly code: 'no_next_hop' }
  | { readonly code: 'multiple_payloads' };

/** The reader of an `onion_message` (`path_key` + `onion_message_packet`). */
export function readOnionMessage(
  pathKey: Uint8Array,
  packet: Uint8Array,
  ecdh: EcdhFn,
): Result<OnionMessageStep, IgnoreReason> {
  // BOLT #4:
  // - MUST decrypt `onion_message_packet` using an empty `associated_data`, and `path_key`, as described in [Onion Decryption](04-onion-routing.md#onion-decryption) to extract an `onionmsg_tlv`.
  const peeled = peelOnion(packet, ecdh, new Uint8Array(0), { kind: 'message', pathKey });
  if (!peeled.ok) return err({ code: 'peel_failed', error: peeled.error });
  const payload = decodeOnionMessagePayload(peeled.value.payload);
  if (!payload.ok) return err({ code: 'bad_payload', message: payload.error });
  const p = payload.value;
  if (p.encryptedRecipientData === undefined) return err({ code: 'no_encrypted_data' });
  const ss = peeled.value.pathKeySharedSecret!;
  const unblinded = decryptRecipientData(pathKey, p.encryptedRecipientData, { pathKeySharedSecret: ss });
  if (!unblinded.ok) {
    return err({
      code: 'bad_encrypted_data',
      message: unblinded.error.code === 'bad_encrypted_data' ? unblinded.error.message : unblinded.error.code,
    });
  }
  const data = unblinded.value.data;
  // BOLT #4:
  // - if `encrypted_data_tlv` contains `allowed_features`:
  //   - MUST ignore the message if:
  //     - `encrypted_data_tlv.allowed_features.features` contains an unknown feature bit (even if it is odd).
  // (No feature bits are defined for onion messages yet, so any set bit is unknown.)
  if (data.allowedFeatures?.some((b) => b !== 0)) return err({ code: 'unsupported_features' });

  if (peeled.value.type === 'forward') {
    // BOLT #4:
    //   - if the `onionmsg_tlv` contains other tlv fields than `encrypted_recipient_data`:
    //     - MUST ignore the message.
    //   - if the `encrypted_data_tlv` contains `path_id`:
    //     - MUST ignore the message.
    const fields = Object.keys(p.tlvs).filter((k) => k !== 'encrypted_recipient_data' && k !== 'unknown');
    if (fields.length > 0 || (p.tlvs.unknown ?? []).length > 0)
      return err({ code: 'forward_with_extra_fields' });
    if (data.pathId !== undefined) return err({ code: 'forward_with_path_id' });
    let next: OnionMessageNextHop;
    if (data.nextNodeId !== undefined) next = { type: 'node_id', nodeId: data.nextNodeId };
    else if (data.shortChannelId !== undefined)
      next = { type: 'short_channel_id', shortChannelId: data.shortChannelId };
    else return err({ code: 'no_next_hop' });
    return ok({
      type: 'forward',
      next,
      nextPathKey: unblinded.value.nextPathKey,
      nextPacket: peeled.value.nextOnion,
    });
  }
  // BOLT #4:
  //   - if the `onionmsg_tlv` contains more than one payload field:
  //     - MUST ignore the message.
  if (payloadFieldCount(p.tlvs) > 1) return err({ code: 'multiple_payloads' });
  return ok({ type: 'final', payload: p, encryptedData: data, pathId: data.pathId ?? null });
}
