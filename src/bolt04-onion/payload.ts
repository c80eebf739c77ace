// The payment onion's per-hop `payload` TLV stream: a typed view over the shared codec engine
// (src/bolt01-wire, stream `payload`), and the reader's checks that decide forward / final / blinded and
// which failure to return when it is wrong.

import type { TlvStreamValue, UnknownTlv } from '../bolt01-wire/index.ts';
import { decodeTlvStream, describeWireError, encodeTlvStream } from '../bolt01-wire/index.ts';
import { err, ok, type Result } from '../core/result.ts';
import { type Msat, msat } from '../core/units.ts';

/** A short_channel_id as its u64 (block << 40 | tx << 16 | output). */
export type ShortChannelId = bigint;

export interface PaymentData {
  readonly paymentSecret: Uint8Array;
  readonly totalMsat: Msat;
}

export interface HopPayload {
  readonly amtToForward?: Msat;
  readonly outgoingCltvValue?: number;
  readonly shortChannelId?: ShortChannelId;
  readonly paymentData?: PaymentData;
  readonly encryptedRecipientData?: Uint8Array;
  readonly currentPathKey?: Uint8Array;
  readonly paymentMetadata?: Uint8Array;
  readonly totalAmountMsat?: Msat;
  /** Odd records this code does not interpret (e.g. keysend's preimage), passed through. */
  readonly extra?: readonly UnknownTlv[];
}

// BOLT #4:
// 1. `tlv_stream`: `payload`
export const PAYLOAD_TYPES = {
  amt_to_forward: 2n,
  outgoing_cltv_value: 4n,
  short_channel_id: 6n,
  payment_data: 8n,
  encrypted_recipient_data: 10n,
  current_path_key: 12n,
  payment_metadata: 16n,
  total_amount_msat: 18n,
} as const;

const T = PAYLOAD_TYPES;
type WirePayload = TlvStreamValue<'payload'>;

function toWire(p: HopPayload): WirePayload {
  const w: WirePayload = {};
  if (p.amtToForward !== undefined) w.amt_to_forward = { amt_to_forward: p.amtToForward };
  if (p.outgoingCltvValue !== undefined) w.outgoing_cltv_value = { outgoing_cltv_value: p.outgoingCltvValue };
  if (p.shortChannelId !== undefined) w.short_channel_id = { short_channel_id: p.shortChannelId };
  if (p.paymentData !== undefined) {
    w.payment_data = { payment_secret: p.paymentData.paymentSecret, total_msat: p.paymentData.totalMsat };
  }
  if (p.encryptedRecipientData !== undefined) {
    w.encrypted_recipient_data = { encrypted_recipient_data: p.encryptedRecipientData };
  }
  if (p.currentPathKey !== undefined) w.current_path_key = { path_key: p.currentPathKey };
  if (p.paymentMetadata !== undefined) w.payment_metadata = { payment_metadata: p.paymentMetadata };
  if (p.totalAmountMsat !== undefined) w.total_amount_msat = { total_msat: p.totalAmountMsat };
  if (p.extra !== undefined && p.extra.length > 0) w.unknown = [...p.extra];
  return w;
}

function fromWire(w: WirePayload): HopPayload {
  return {
    ...(w.amt_to_forward ? { amtToForward: msat(w.amt_to_forward.amt_to_forward) } : {}),
    ...(w.outgoing_cltv_value ? { outgoingCltvValue: w.outgoing_cltv_value.outgoing_cltv_value } : {}),
    ...(w.short_channel_id ? { shortChannelId: w.short_channel_id.short_channel_id } : {}),
    ...(w.payment_data
      ? {
          paymentData: {
            paymentSecret: w.payment_data.payment_secret,
            totalMsat: msat(w.payment_data.total_msat),
          },
        }
      : {}),
    ...(w.encrypted_recipient_data
      ? { encryptedRecipientData: w.encrypted_recipient_data.encrypted_recipient_data }
      : {}),
    ...(w.current_path_key ? { currentPathKey: w.current_path_key.path_key } : {}),
    ...(w.payment_metadata ? { paymentMetadata: w.payment_metadata.payment_metadata } : {}),
    ...(w.total_amount_msat ? { totalAmountMsat: msat(w.total_amount_msat.total_msat) } : {}),
    ...(w.unknown && w.unknown.length > 0 ? { extra: w.unknown } : {}),
  };
}

/** Throws WireEncodeError on values that do not fit (e.g. a 31-byte payment secret): a caller bug. */
export function encodeHopPayload(p: HopPayload): Uint8Array {
  return encodeTlvStream('payload', toWire(p));
}

/** Where and why a payload failed: becomes `invalid_onion_payload` with `type` and `offset`. */
export interface PayloadDecodeError {
  readonly tlvType: bigint;
  readonly offset: number;
  readonly message: string;
}

export interface DecodedHopPayload extends HopPayload {
  /** Types of the records present, in order (unknown odd ones included). */
  readonly types: readonly bigint[];
}

function presentTypes(p: HopPayload): bigint[] {
  const known: [bigint, unknown][] = [
    [T.amt_to_forward, p.amtToForward],
    [T.outgoing_cltv_value, p.outgoingCltvValue],
    [T.short_channel_id, p.shortChannelId],
    [T.payment_data, p.paymentData],
    [T.encrypted_recipient_data, p.encryptedRecipientData],
    [T.current_path_key, p.currentPathKey],
    [T.payment_metadata, p.paymentMetadata],
    [T.total_amount_msat, p.totalAmountMsat],
  ];
  const types = known.filter(([, v]) => v !== undefined).map(([t]) => t);
  for (const e of p.extra ?? []) types.push(e.type);
  return types.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Byte offset of record `type` in a payload that decoded: decoding is strict (minimal encodings, ordered
 * records), so re-encoding the records before it gives exactly their length in the input.
 */
export function recordOffset(p: HopPayload, type: bigint): number {
  const before: HopPayload = {
    ...(T.amt_to_forward < type && p.amtToForward !== undefined ? { amtToForward: p.amtToForward } : {}),
    ...(T.outgoing_cltv_value < type && p.outgoingCltvValue !== undefined
      ? { outgoingCltvValue: p.outgoingCltvValue }
      : {}),
    ...(T.short_channel_id < type && p.shortChannelId !== undefined
      ? { shortChannelId: p.shortChannelId }
      : {}),
    ...(T.payment_data < type && p.paymentData !== undefined ? { paymentData: p.paymentData } : {}),
    ...(T.encrypted_recipient_data < type && p.encryptedRecipientData !== undefined
      ? { encryptedRecipientData: p.encryptedRecipientData }
      : {}),
    ...(T.current_path_key < type && p.currentPathKey !== undefined
      ? { currentPathKey: p.currentPathKey }
      : {}),
    ...(T.payment_metadata < type && p.paymentMetadata !== undefined
      ? { paymentMetadata: p.paymentMetadata }
      : {}),
    ...(T.total_amount_msat < type && p.totalAmountMsat !== undefined
      ? { totalAmountMsat: p.totalAmountMsat }
      : {}),
    extra: (p.extra ?? []).filter((e) => e.type < type),
  };
  return encodeHopPayload(before).length;
}

export function decodeHopPayload(b: Uint8Array): Result<DecodedHopPayload, PayloadDecodeError> {
  const d = decodeTlvStream('payload', b);
  if (!d.ok) {
    // The engine names the failing type for ordering/unknown-even/length errors; the offset is not
    // known then, and BOLT 4 makes both optional ("may include").
    let tlvType = 'tlvType' in d.error ? d.error.tlvType : 0n;
    const record = 'at' in d.error ? /^payload\.([a-z_]+)/.exec(d.error.at)?.[1] : undefined;
    if (tlvType === 0n && record !== undefined && record in PAYLOAD_TYPES) {
      tlvType = PAYLOAD_TYPES[record as keyof typeof PAYLOAD_TYPES];
    }
    return err({ tlvType, offset: 0, message: describeWireError(d.error) });
  }
  const p = fromWire(d.value);
  return ok({ ...p, types: presentTypes(p) });
}

/** What the reader learned from a valid payload. */
export type HopInstruction =
  | {
      readonly type: 'forward';
      readonly amtToForward: Msat;
      readonly outgoingCltvValue: number;
      readonly shortChannelId: ShortChannelId;
    }
  | {
      readonly type: 'final';
      readonly amtToForward: Msat;
      readonly outgoingCltvValue: number;
      // BOLT #4:
      //     - MUST treat `total_msat` as if it were equal to `amt_to_forward` if it is not present.
      readonly totalMsat: Msat;
      readonly paymentSecret: Uint8Array | null;
      readonly paymentMetadata: Uint8Array | null;
    }
  | {
      /** Inside a blinded route: amounts and next hop come from the decrypted recipient data. */
      readonly type: 'blinded_forward';
      readonly encryptedRecipientData: Uint8Array;
      /** The key to decrypt with: from update_add_htlc, or `current_path_key` at the introduction node. */
      readonly pathKey: Uint8Array;
      readonly isIntroduction: boolean;
    }
  | {
      readonly type: 'blinded_final';
      readonly encryptedRecipientData: Uint8Array;
      readonly pathKey: Uint8Array;
      readonly isIntroduction: boolean;
      readonly amtToForward: Msat;
      readonly outgoingCltvValue: number;
      readonly totalAmountMsat: Msat;
    };

export interface PayloadValidationError {
  readonly failure: 'invalid_onion_payload' | 'invalid_onion_blinding';
  readonly tlvType: bigint;
  readonly offset: number;
  readonly message: string;
}

export interface PayloadContext {
  /** True when the onion's next HMAC was all zero. */
  readonly isFinal: boolean;
  /** `path_key` from the incoming update_add_htlc, if any. */
  readonly updateAddPathKey?: Uint8Array;
}

/**
 * The reader's requirements of BOLT 4 "payload format". Checks against the HTLC itself (amounts, expiry,
 * channel) belong to the forwarding logic; this decides the shape and the error to return.
 */
export function interpretHopPayload(
  p: DecodedHopPayload,
  ctx: PayloadContext,
): Result<HopInstruction, PayloadValidationError> {
  const inBlindedRoute = ctx.updateAddPathKey !== undefined;
  const failure = (tlvType: bigint, message: string, blinding: boolean) =>
    err({
      failure: blinding ? ('invalid_onion_blinding' as const) : ('invalid_onion_payload' as const),
      tlvType,
      offset: p.types.includes(tlvType) ? recordOffset(p, tlvType) : 0,
      message,
    });
  if (p.encryptedRecipientData !== undefined) {
    // BOLT #4:
    // An _erring node_:
    //   - if `path_key` is set in the incoming `update_add_htlc`:
    //     - MUST return an `invalid_onion_blinding` error.
    //   - if `current_path_key` is set in the onion payload and it is not the
    //     final node:
    //     - MUST return an `invalid_onion_blinding` error.
    const blinding = inBlindedRoute || (p.currentPathKey !== undefined && !ctx.isFinal);
    let pathKey: Uint8Array;
    if (ctx.updateAddPathKey !== undefined) {
      if (p.currentPathKey !== undefined) {
        return failure(T.current_path_key, 'current_path_key with path_key in update_add_htlc', blinding);
      }
      pathKey = ctx.updateAddPathKey;
    } else {
      if (p.currentPathKey === undefined) {
        return failure(T.encrypted_recipient_data, 'encrypted_recipient_data without any path key', blinding);
      }
      pathKey = p.currentPathKey;
    }
    const isIntroduction = ctx.updateAddPathKey === undefined;
    const allowed: bigint[] = ctx.isFinal
      ? [
          T.encrypted_recipient_data,
          T.current_path_key,
          T.amt_to_forward,
          T.outgoing_cltv_value,
          T.total_amount_msat,
        ]
      : [T.encrypted_recipient_data, T.current_path_key];
    for (const type of p.types) {
      if (!allowed.includes(type)) return failure(type, 'field not allowed in a blinded payload', blinding);
    }
    if (!ctx.isFinal) {
      return ok({
        type: 'blinded_forward',
        encryptedRecipientData: p.encryptedRecipientData,
        pathKey,
        isIntroduction,
      });
    }
    if (p.amtToForward === undefined) return failure(T.amt_to_forward, 'missing amt_to_forward', blinding);
    if (p.outgoingCltvValue === undefined) {
      return failure(T.outgoing_cltv_value, 'missing outgoing_cltv_value', blinding);
    }
    if (p.totalAmountMsat === undefined)
      return failure(T.total_amount_msat, 'missing total_amount_msat', blinding);
    return ok({
      type: 'blinded_final',
      encryptedRecipientData: p.encryptedRecipientData,
      pathKey,
      isIntroduction,
      amtToForward: p.amtToForward,
      outgoingCltvValue: p.outgoingCltvValue,
      totalAmountMsat: p.totalAmountMsat,
    });
  }
  // BOLT #4:
  //   - Otherwise (it is not part of a blinded route):
  //     - MUST return an error if `path_key` is set in the incoming `update_add_htlc` or `current_path_key` is present.
  //     - MUST return an error if `amt_to_forward` or `outgoing_cltv_value` are not present.
  if (inBlindedRoute)
    return failure(T.encrypted_recipient_data, 'path_key without encrypted_recipient_data', true);
  if (p.currentPathKey !== undefined) {
    return failure(T.current_path_key, 'current_path_key without encrypted_recipient_data', !ctx.isFinal);
  }
  if (p.amtToForward === undefined) return failure(T.amt_to_forward, 'missing amt_to_forward', false);
  if (p.outgoingCltvValue === undefined)
    return failure(T.outgoing_cltv_value, 'missing outgoing_cltv_value', false);
  if (!ctx.isFinal) {
    if (p.shortChannelId === undefined) return failure(T.short_channel_id, 'missing short_channel_id', false);
    return ok({
      type: 'forward',
      amtToForward: p.amtToForward,
      outgoingCltvValue: p.outgoingCltvValue,
      shortChannelId: p.shortChannelId,
    });
  }
  return ok({
    type: 'final',
    amtToForward: p.amtToForward,
    outgoingCltvValue: p.outgoingCltvValue,
    totalMsat: p.paymentData?.totalMsat ?? p.amtToForward,
    paymentSecret: p.paymentData?.paymentSecret ?? null,
    paymentMetadata: p.paymentMetadata ?? null,
  });
}

/** Decode then interpret: the one call a forwarding node makes on a peeled payload. */
export function readHopPayload(
  b: Uint8Array,
  ctx: PayloadContext,
): Result<HopInstruction, PayloadValidationError> {
  const d = decodeHopPayload(b);
  if (!d.ok) {
    return err({
      failure: ctx.updateAddPathKey !== undefined ? 'invalid_onion_blinding' : 'invalid_onion_payload',
      ...d.error,
    });
  }
  return interpretHopPayload(d.value, ctx);
}

/**
 * The sender's payloads for the hops of a blinded path (payments): the introduction node gets
 * `current_path_key`, every hop its `encrypted_recipient_data`, the recipient the amounts.
 */
export function blindedPathPayloads(
  path: {
    readonly firstPathKey: Uint8Array;
    readonly hops: readonly { readonly encryptedRecipientData: Uint8Array }[];
  },
  final: { readonly amtToForward: Msat; readonly outgoingCltvValue: number; readonly totalAmountMsat: Msat },
): HopPayload[] {
  return path.hops.map((h, i) => {
    const base: HopPayload = {
      encryptedRecipientData: h.encryptedRecipientData,
      ...(i === 0 ? { currentPathKey: path.firstPathKey } : {}),
    };
    return i === path.hops.length - 1 ? { ...base, ...final } : base;
  });
}
