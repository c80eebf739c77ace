// The payment onion's per-hop `payload` TLV stream: encode/decode of its fields, and the reader's checks
// that decide forward / final / blinded and which failure to return when it is wrong.
import { readU64be, u64be } from '../core/bytes.ts';
import { err, ok, type Result } from '../core/result.ts';
import { type Msat, msat } from '../core/units.ts';
import { isPublicKey } from '../crypto/index.ts';
import { decodeTu, encodeTu, readTlvRecords, type TlvRecord, writeTlvRecords } from './tlv.ts';

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
  readonly extra?: readonly { readonly type: bigint; readonly value: Uint8Array }[];
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

export function encodeHopPayload(p: HopPayload): Uint8Array {
  const recs: { type: bigint; value: Uint8Array }[] = [];
  if (p.amtToForward !== undefined) recs.push({ type: T.amt_to_forward, value: encodeTu(p.amtToForward, 8) });
  if (p.outgoingCltvValue !== undefined) {
    recs.push({ type: T.outgoing_cltv_value, value: encodeTu(BigInt(p.outgoingCltvValue), 4) });
  }
  if (p.shortChannelId !== undefined) recs.push({ type: T.short_channel_id, value: u64be(p.shortChannelId) });
  if (p.paymentData !== undefined) {
    if (p.paymentData.paymentSecret.length !== 32) throw new RangeError('payment_secret must be 32 bytes');
    const total = encodeTu(p.paymentData.totalMsat, 8);
    const v = new Uint8Array(32 + total.length);
    v.set(p.paymentData.paymentSecret, 0);
    v.set(total, 32);
    recs.push({ type: T.payment_data, value: v });
  }
  if (p.encryptedRecipientData !== undefined) {
    recs.push({ type: T.encrypted_recipient_data, value: p.encryptedRecipientData });
  }
  if (p.currentPathKey !== undefined) {
    if (p.currentPathKey.length !== 33) throw new RangeError('current_path_key must be a 33-byte point');
    recs.push({ type: T.current_path_key, value: p.currentPathKey });
  }
  if (p.paymentMetadata !== undefined) recs.push({ type: T.payment_metadata, value: p.paymentMetadata });
  if (p.totalAmountMsat !== undefined)
    recs.push({ type: T.total_amount_msat, value: encodeTu(p.totalAmountMsat, 8) });
  for (const e of p.extra ?? []) {
    if (e.type % 2n === 0n) throw new RangeError(`extra record ${e.type} must be odd`);
    recs.push(e);
  }
  return writeTlvRecords(recs);
}

/** Where and why a payload failed: becomes `invalid_onion_payload` with `type` and `offset`. */
export interface PayloadDecodeError {
  readonly tlvType: bigint;
  readonly offset: number;
  readonly message: string;
}

export interface DecodedHopPayload extends HopPayload {
  /** Offset of each known record, so validation errors can point at it. */
  readonly offsets: ReadonlyMap<bigint, number>;
}

export function decodeHopPayload(b: Uint8Array): Result<DecodedHopPayload, PayloadDecodeError> {
  const parsed = readTlvRecords(b);
  if (!parsed.ok) {
    return err({
      tlvType: parsed.error.type ?? 0n,
      offset: parsed.error.offset,
      message: parsed.error.message,
    });
  }
  const out: {
    -readonly [K in keyof HopPayload]: HopPayload[K];
  } = {};
  const extra: { type: bigint; value: Uint8Array }[] = [];
  const offsets = new Map<bigint, number>();
  const fail = (r: TlvRecord, message: string) => err({ tlvType: r.type, offset: r.offset, message });
  for (const r of parsed.value) {
    offsets.set(r.type, r.offset);
    switch (r.type) {
      case T.amt_to_forward: {
        const v = decodeTu(r.value, 8);
        if (v === null) return fail(r, 'amt_to_forward is not a minimal tu64');
        out.amtToForward = msat(v);
        break;
      }
      case T.outgoing_cltv_value: {
        const v = decodeTu(r.value, 4);
        if (v === null) return fail(r, 'outgoing_cltv_value is not a minimal tu32');
        out.outgoingCltvValue = Number(v);
        break;
      }
      case T.short_channel_id:
        if (r.value.length !== 8) return fail(r, 'short_channel_id must be 8 bytes');
        out.shortChannelId = readU64be(r.value, 0);
        break;
      case T.payment_data: {
        if (r.value.length < 32) return fail(r, 'payment_data shorter than its secret');
        const total = decodeTu(r.value.subarray(32), 8);
        if (total === null) return fail(r, 'payment_data total_msat is not a minimal tu64');
        out.paymentData = { paymentSecret: r.value.slice(0, 32), totalMsat: msat(total) };
        break;
      }
      case T.encrypted_recipient_data:
        out.encryptedRecipientData = r.value.slice();
        break;
      case T.current_path_key:
        if (r.value.length !== 33 || !isPublicKey(r.value))
          return fail(r, 'current_path_key is not a valid point');
        out.currentPathKey = r.value.slice();
        break;
      case T.payment_metadata:
        out.paymentMetadata = r.value.slice();
        break;
      case T.total_amount_msat: {
        const v = decodeTu(r.value, 8);
        if (v === null) return fail(r, 'total_amount_msat is not a minimal tu64');
        out.totalAmountMsat = msat(v);
        break;
      }
      default:
        // BOLT #1:
        //   - if `type` is even:
        //     - MUST fail to parse the `tlv_stream`.
        if (r.type % 2n === 0n) return fail(r, 'unknown even type');
        extra.push({ type: r.type, value: r.value.slice() });
    }
  }
  return ok({ ...out, extra, offsets });
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
      offset: p.offsets.get(tlvType) ?? 0,
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
    for (const type of p.offsets.keys()) {
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
