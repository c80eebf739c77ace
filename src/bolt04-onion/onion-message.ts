// Onion messages (BOLT 4 "Onion Messages"): the same Sphinx over blinded node ids with an empty associated
// data and a variable size, and the reader's rules for forwarding or accepting one. Errors are never
// returned for onion messages, so every failure here is a reason to ignore the message.
import { concat, readU16be, readU64be, u16be, u64be } from '../core/bytes.ts';
import { err, ok, type Result } from '../core/result.ts';
import { isPublicKey } from '../crypto/index.ts';
import { type BlindedPath, decryptRecipientData, type EncryptedData } from './blinding.ts';
import type { EcdhFn } from './keys.ts';
import type { ShortChannelId } from './payload.ts';
import { buildOnion, HOP_PAYLOADS_SIZE, type PeelError, peelOnion } from './sphinx.ts';
import { readTlvRecords, writeTlvRecords } from './tlv.ts';

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

export function encodeBlindedPath(p: WireBlindedPath): Uint8Array {
  if (p.hops.length === 0 || p.hops.length > 255) throw new RangeError('blinded path needs 1..255 hops');
  const first =
    p.firstNode.type === 'pubkey'
      ? p.firstNode.nodeId
      : concat(new Uint8Array([p.firstNode.direction]), u64be(p.firstNode.shortChannelId));
  const parts: Uint8Array[] = [first, p.firstPathKey, new Uint8Array([p.hops.length])];
  for (const h of p.hops)
    parts.push(h.blindedNodeId, u16be(h.encryptedRecipientData.length), h.encryptedRecipientData);
  return concat(...parts);
}

/** Decodes one `blinded_path` from the front of `b`; returns it and the bytes consumed. */
export function decodeBlindedPath(b: Uint8Array): Result<{ path: WireBlindedPath; length: number }, string> {
  let o = 0;
  const need = (n: number) => o + n <= b.length;
  if (!need(1)) return err('empty blinded_path');
  let firstNode: SciddirOrPubkey;
  if (b[0] === 0 || b[0] === 1) {
    if (!need(9)) return err('truncated sciddir');
    firstNode = { type: 'scid', direction: b[0] as 0 | 1, shortChannelId: readU64be(b, 1) };
    o = 9;
  } else {
    if (!need(33) || !isPublicKey(b.subarray(0, 33))) return err('bad first_node_id');
    firstNode = { type: 'pubkey', nodeId: b.slice(0, 33) };
    o = 33;
  }
  if (!need(34)) return err('truncated first_path_key');
  const firstPathKey = b.slice(o, o + 33);
  if (!isPublicKey(firstPathKey)) return err('bad first_path_key');
  const n = b[o + 33]!;
  o += 34;
  if (n === 0) return err('blinded_path without hops');
  const hops = [];
  for (let i = 0; i < n; i++) {
    if (!need(35)) return err('truncated blinded_path_hop');
    const blindedNodeId = b.slice(o, o + 33);
    if (!isPublicKey(blindedNodeId)) return err('bad blinded_node_id');
    const len = readU16be(b, o + 33);
    o += 35;
    if (!need(len)) return err('truncated encrypted_recipient_data');
    hops.push({ blindedNodeId, encryptedRecipientData: b.slice(o, o + len) });
    o += len;
  }
  return ok({ path: { firstNode, firstPathKey, hops }, length: o });
}

export interface BuildOnionMessageOptions {
  readonly sessionKey: Uint8Array;
  /** The whole path to the recipient, every hop blinded (prepend your own blinded hops to reach it). */
  readonly path: BlindedPath;
  /** Records for the recipient: e.g. invoice_request (64), or odd custom types. */
  readonly finalRecords?: readonly { readonly type: bigint; readonly value: Uint8Array }[];
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
    const recs: { type: bigint; value: Uint8Array }[] = [
      { type: ONIONMSG_TYPES.encrypted_recipient_data, value: h.encryptedRecipientData },
    ];
    if (i === last) {
      if (options.replyPath !== undefined) {
        recs.push({ type: ONIONMSG_TYPES.reply_path, value: encodeBlindedPath(options.replyPath) });
      }
      recs.push(...(options.finalRecords ?? []));
    }
    return { publicKey: h.blindedNodeId, payload: writeTlvRecords(recs) };
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

export interface OnionMessagePayload {
  readonly encryptedRecipientData?: Uint8Array;
  readonly replyPath?: WireBlindedPath;
  /** Every record of type 64 and above, and unknown odd ones, raw. */
  readonly records: readonly { readonly type: bigint; readonly value: Uint8Array }[];
}

export function decodeOnionMessagePayload(b: Uint8Array): Result<OnionMessagePayload, string> {
  const parsed = readTlvRecords(b);
  if (!parsed.ok) return err(parsed.error.message);
  let encryptedRecipientData: Uint8Array | undefined;
  let replyPath: WireBlindedPath | undefined;
  const records: { type: bigint; value: Uint8Array }[] = [];
  for (const r of parsed.value) {
    if (r.type === ONIONMSG_TYPES.encrypted_recipient_data) {
      encryptedRecipientData = r.value.slice();
    } else if (r.type === ONIONMSG_TYPES.reply_path) {
      const p = decodeBlindedPath(r.value);
      if (!p.ok) return err(`reply_path: ${p.error}`);
      if (p.value.length !== r.value.length) return err('reply_path: trailing bytes');
      replyPath = p.value.path;
    } else if (r.type >= FINAL_PAYLOAD_MIN_TYPE || r.type % 2n === 1n) {
      // Payloads (64+) are interpreted by BOLT 12 code; unknown odd types are allowed.
      records.push({ type: r.type, value: r.value.slice() });
    } else {
      return err(`unknown even type ${r.type}`);
    }
  }
  return ok({
    ...(encryptedRecipientData !== undefined ? { encryptedRecipientData } : {}),
    ...(replyPath !== undefined ? { replyPath } : {}),
    records,
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
  // No feature bits are defined for onion messages yet, so any set bit is unknown.
  if (data.allowedFeatures?.some((b) => b !== 0)) return err({ code: 'unsupported_features' });

  if (peeled.value.type === 'forward') {
    // BOLT #4:
    //   - if the `onionmsg_tlv` contains other tlv fields than `encrypted_recipient_data`:
    //     - MUST ignore the message.
    //   - if the `encrypted_data_tlv` contains `path_id`:
    //     - MUST ignore the message.
    if (p.replyPath !== undefined || p.records.length > 0) return err({ code: 'forward_with_extra_fields' });
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
  if (p.records.filter((r) => r.type >= FINAL_PAYLOAD_MIN_TYPE).length > 1)
    return err({ code: 'multiple_payloads' });
  return ok({ type: 'final', payload: p, encryptedData: data, pathId: data.pathId ?? null });
}
