// BOLT 4 failure messages: every `failure_code`, its flags, and the encode/decode of its data. The optional
// TLV stream after the data is kept as raw bytes (checked for well-formedness).

import { BigSizeError, decodeBigSize, encodeBigSize } from '../core/bigsize.ts';
import { concat, readU16be, readU32be, readU64be, u16be, u32be, u64be } from '../core/bytes.ts';
import { assertNever, err, ok, type Result } from '../core/result.ts';
import { type Msat, msat } from '../core/units.ts';
import { readTlvRecords } from './tlv.ts';

// BOLT #4:
// The top byte of `failure_code` can be read as a set of flags:
// * 0x8000 (BADONION): unparsable onion encrypted by sending peer
// * 0x4000 (PERM): permanent failure (otherwise transient)
// * 0x2000 (NODE): node failure (otherwise channel)
// * 0x1000 (UPDATE): channel forwarding parameter was violated
export const BADONION = 0x8000;
export const PERM = 0x4000;
export const NODE = 0x2000;
export const UPDATE = 0x1000;

export const FAILURE_CODES = {
  temporary_node_failure: NODE | 2,
  permanent_node_failure: PERM | NODE | 2,
  required_node_feature_missing: PERM | NODE | 3,
  invalid_onion_version: BADONION | PERM | 4,
  invalid_onion_hmac: BADONION | PERM | 5,
  invalid_onion_key: BADONION | PERM | 6,
  temporary_channel_failure: UPDATE | 7,
  permanent_channel_failure: PERM | 8,
  required_channel_feature_missing: PERM | 9,
  unknown_next_peer: PERM | 10,
  amount_below_minimum: UPDATE | 11,
  fee_insufficient: UPDATE | 12,
  incorrect_cltv_expiry: UPDATE | 13,
  expiry_too_soon: UPDATE | 14,
  incorrect_or_unknown_payment_details: PERM | 15,
  final_incorrect_cltv_expiry: 18,
  final_incorrect_htlc_amount: 19,
  channel_disabled: UPDATE | 20,
  expiry_too_far: 21,
  invalid_onion_payload: PERM | 22,
  mpp_timeout: 23,
  invalid_onion_blinding: BADONION | PERM | 24,
} as const;

export type FailureName = keyof typeof FAILURE_CODES;

export type Failure = (
  | { readonly type: 'temporary_node_failure' }
  | { readonly type: 'permanent_node_failure' }
  | { readonly type: 'required_node_feature_missing' }
  | { readonly type: 'invalid_onion_version'; readonly sha256OfOnion: Uint8Array }
  | { readonly type: 'invalid_onion_hmac'; readonly sha256OfOnion: Uint8Array }
  | { readonly type: 'invalid_onion_key'; readonly sha256OfOnion: Uint8Array }
  | { readonly type: 'temporary_channel_failure'; readonly channelUpdate: Uint8Array }
  | { readonly type: 'permanent_channel_failure' }
  | { readonly type: 'required_channel_feature_missing' }
  | { readonly type: 'unknown_next_peer' }
  | { readonly type: 'amount_below_minimum'; readonly htlcMsat: Msat; readonly channelUpdate: Uint8Array }
  | { readonly type: 'fee_insufficient'; readonly htlcMsat: Msat; readonly channelUpdate: Uint8Array }
  | {
      readonly type: 'incorrect_cltv_expiry';
      readonly cltvExpiry: number;
      readonly channelUpdate: Uint8Array;
    }
  | { readonly type: 'expiry_too_soon'; readonly channelUpdate: Uint8Array }
  | {
      readonly type: 'incorrect_or_unknown_payment_details';
      /** null only when decoding a legacy node that sent no data. */
      readonly htlcMsat: Msat | null;
      readonly height: number | null;
    }
  | { readonly type: 'final_incorrect_cltv_expiry'; readonly cltvExpiry: number }
  | { readonly type: 'final_incorrect_htlc_amount'; readonly incomingHtlcAmt: Msat }
  | {
      readonly type: 'channel_disabled';
      readonly disabledFlags: number;
      readonly channelUpdate: Uint8Array;
    }
  | { readonly type: 'expiry_too_far' }
  | { readonly type: 'invalid_onion_payload'; readonly tlvType: bigint; readonly offset: number }
  | { readonly type: 'mpp_timeout' }
  | { readonly type: 'invalid_onion_blinding'; readonly sha256OfOnion: Uint8Array }
  | { readonly type: 'unknown'; readonly code: number; readonly data: Uint8Array }
) & {
  /** Raw optional TLV stream after the data (empty if none). */
  readonly tlvs?: Uint8Array;
};

export interface FailureFlags {
  readonly badOnion: boolean;
  readonly perm: boolean;
  readonly node: boolean;
  readonly update: boolean;
}

export function failureFlags(code: number): FailureFlags {
  return {
    badOnion: (code & BADONION) !== 0,
    perm: (code & PERM) !== 0,
    node: (code & NODE) !== 0,
    update: (code & UPDATE) !== 0,
  };
}

export function failureCode(f: Failure): number {
  return f.type === 'unknown' ? f.code : FAILURE_CODES[f.type];
}

const NAMES_BY_CODE = new Map<number, FailureName>(
  (Object.entries(FAILURE_CODES) as [FailureName, number][]).map(([n, c]) => [c, n]),
);

export function failureName(code: number): FailureName | null {
  return NAMES_BY_CODE.get(code) ?? null;
}

function lenPrefixed(b: Uint8Array): Uint8Array {
  if (b.length > 0xffff) throw new RangeError('channel_update longer than 65535 bytes');
  return concat(u16be(b.length), b);
}

function hash32(b: Uint8Array): Uint8Array {
  if (b.length !== 32) throw new RangeError('sha256_of_onion must be 32 bytes');
  return b;
}

function encodeData(f: Failure): Uint8Array {
  switch (f.type) {
    case 'temporary_node_failure':
    case 'permanent_node_failure':
    case 'required_node_feature_missing':
    case 'permanent_channel_failure':
    case 'required_channel_feature_missing':
    case 'unknown_next_peer':
    case 'expiry_too_far':
    case 'mpp_timeout':
      return new Uint8Array(0);
    case 'invalid_onion_version':
    case 'invalid_onion_hmac':
    case 'invalid_onion_key':
    case 'invalid_onion_blinding':
      return hash32(f.sha256OfOnion);
    case 'temporary_channel_failure':
    case 'expiry_too_soon':
      return lenPrefixed(f.channelUpdate);
    case 'amount_below_minimum':
    case 'fee_insufficient':
      return concat(u64be(f.htlcMsat), lenPrefixed(f.channelUpdate));
    case 'incorrect_cltv_expiry':
      return concat(u32be(f.cltvExpiry), lenPrefixed(f.channelUpdate));
    case 'incorrect_or_unknown_payment_details':
      return concat(u64be(f.htlcMsat ?? 0n), u32be(f.height ?? 0));
    case 'final_incorrect_cltv_expiry':
      return u32be(f.cltvExpiry);
    case 'final_incorrect_htlc_amount':
      return u64be(f.incomingHtlcAmt);
    case 'channel_disabled':
      return concat(u16be(f.disabledFlags), lenPrefixed(f.channelUpdate));
    case 'invalid_onion_payload':
      return concat(encodeBigSize(f.tlvType), u16be(f.offset));
    case 'unknown':
      return f.data;
    default:
      return assertNever(f, 'failure');
  }
}

/** `failuremsg`: a 2-byte failure_code, its data, then the optional TLV stream. */
export function encodeFailureMessage(f: Failure): Uint8Array {
  return concat(
    u16be(failureCode(f)),
    encodeData(f),
    f.type === 'unknown' ? new Uint8Array(0) : (f.tlvs ?? new Uint8Array(0)),
  );
}

export type FailureDecodeError =
  | { readonly code: 'too_short' }
  | { readonly code: 'truncated'; readonly failure: FailureName }
  | { readonly code: 'bad_tlv_stream'; readonly failure: FailureName; readonly message: string };

class Reader {
  offset = 2;
  constructor(readonly b: Uint8Array) {}
  need(n: number): boolean {
    return this.offset + n <= this.b.length;
  }
  u16(): number | null {
    if (!this.need(2)) return null;
    const v = readU16be(this.b, this.offset);
    this.offset += 2;
    return v;
  }
  u32(): number | null {
    if (!this.need(4)) return null;
    const v = readU32be(this.b, this.offset);
    this.offset += 4;
    return v;
  }
  u64(): bigint | null {
    if (!this.need(8)) return null;
    const v = readU64be(this.b, this.offset);
    this.offset += 8;
    return v;
  }
  bytes(n: number): Uint8Array | null {
    if (!this.need(n)) return null;
    const v = this.b.slice(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }
  lenPrefixed(): Uint8Array | null {
    const n = this.u16();
    return n === null ? null : this.bytes(n);
  }
  bigsize(): bigint | null {
    try {
      const { value, length } = decodeBigSize(this.b, this.offset);
      this.offset += length;
      return value;
    } catch (e) {
      if (e instanceof BigSizeError) return null;
      throw e;
    }
  }
  rest(): Uint8Array {
    const v = this.b.slice(this.offset);
    this.offset = this.b.length;
    return v;
  }
}

type Body = Failure extends infer F ? (F extends { type: infer _ } ? Omit<F, 'tlvs'> : never) : never;

function decodeKnown(name: FailureName, r: Reader): Body | null {
  switch (name) {
    case 'temporary_node_failure':
    case 'permanent_node_failure':
    case 'required_node_feature_missing':
    case 'permanent_channel_failure':
    case 'required_channel_feature_missing':
    case 'unknown_next_peer':
    case 'expiry_too_far':
    case 'mpp_timeout':
      return { type: name };
    case 'invalid_onion_version':
    case 'invalid_onion_hmac':
    case 'invalid_onion_key':
    case 'invalid_onion_blinding': {
      const h = r.bytes(32);
      return h === null ? null : { type: name, sha256OfOnion: h };
    }
    case 'temporary_channel_failure':
    case 'expiry_too_soon': {
      const u = r.lenPrefixed();
      return u === null ? null : { type: name, channelUpdate: u };
    }
    case 'amount_below_minimum':
    case 'fee_insufficient': {
      const a = r.u64();
      const u = r.lenPrefixed();
      return a === null || u === null ? null : { type: name, htlcMsat: msat(a), channelUpdate: u };
    }
    case 'incorrect_cltv_expiry': {
      const c = r.u32();
      const u = r.lenPrefixed();
      return c === null || u === null ? null : { type: name, cltvExpiry: c, channelUpdate: u };
    }
    case 'incorrect_or_unknown_payment_details': {
      // Old nodes sent this without data, or without the height; read what is there.
      if (!r.need(1)) return { type: name, htlcMsat: null, height: null };
      const a = r.u64();
      if (a === null) return null;
      if (!r.need(1)) return { type: name, htlcMsat: msat(a), height: null };
      const h = r.u32();
      return h === null ? null : { type: name, htlcMsat: msat(a), height: h };
    }
    case 'final_incorrect_cltv_expiry': {
      const c = r.u32();
      return c === null ? null : { type: name, cltvExpiry: c };
    }
    case 'final_incorrect_htlc_amount': {
      const a = r.u64();
      return a === null ? null : { type: name, incomingHtlcAmt: msat(a) };
    }
    case 'channel_disabled': {
      const f = r.u16();
      const u = r.lenPrefixed();
      return f === null || u === null ? null : { type: name, disabledFlags: f, channelUpdate: u };
    }
    case 'invalid_onion_payload': {
      const t = r.bigsize();
      const o = r.u16();
      return t === null || o === null ? null : { type: name, tlvType: t, offset: o };
    }
    default:
      return assertNever(name, 'failure name');
  }
}

/** Decodes a `failuremsg`. Unknown codes decode to `{type: 'unknown'}` with their raw data. */
export function decodeFailureMessage(b: Uint8Array): Result<Failure, FailureDecodeError> {
  if (b.length < 2) return err({ code: 'too_short' });
  const code = readU16be(b, 0);
  const name = failureName(code);
  if (name === null) return ok({ type: 'unknown', code, data: b.slice(2) });
  const r = new Reader(b);
  const body = decodeKnown(name, r);
  if (body === null) return err({ code: 'truncated', failure: name });
  const tlvs = r.rest();
  const records = readTlvRecords(tlvs);
  if (!records.ok) return err({ code: 'bad_tlv_stream', failure: name, message: records.error.message });
  return ok({ ...body, tlvs } as Failure);
}
