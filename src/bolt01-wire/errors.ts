// Typed decode failures. Decoders never throw for bad input: they return one of these as a Result error.

export type WireError =
  /** The input ended before a field (or a TLV value) was complete. */
  | { readonly kind: 'truncated'; readonly at: string }
  /** A BigSize (TLV type/length or a bigsize field) was not minimally encoded. */
  | { readonly kind: 'non_minimal_bigsize'; readonly at: string }
  /** A truncated integer (tu16/tu32/tu64) had a leading zero byte. */
  | { readonly kind: 'non_minimal_truncated_int'; readonly at: string }
  /** A truncated integer was longer than its type allows. */
  | { readonly kind: 'truncated_int_too_long'; readonly at: string }
  /** TLV record types were not strictly increasing (this includes duplicates). */
  | { readonly kind: 'tlv_not_increasing'; readonly at: string; readonly tlvType: bigint }
  /** An even TLV record type this stream does not define. */
  | { readonly kind: 'tlv_unknown_even'; readonly at: string; readonly tlvType: bigint }
  /** A known TLV record's length was not what its fields need. */
  | { readonly kind: 'tlv_length_mismatch'; readonly at: string; readonly tlvType: bigint }
  /** A `...*T` array whose byte length is not a multiple of the element size. */
  | { readonly kind: 'length_not_multiple'; readonly at: string }
  /** Bytes left over where the format allows none. */
  | { readonly kind: 'trailing_bytes'; readonly at: string }
  /** A `point` that is not a valid compressed secp256k1 point. */
  | { readonly kind: 'invalid_point'; readonly at: string }
  /** A `utf8` array that is not valid UTF-8. */
  | { readonly kind: 'invalid_utf8'; readonly at: string }
  /** A `sciddir_or_pubkey` whose first byte is not 0, 1, 2 or 3. */
  | { readonly kind: 'invalid_sciddir_or_pubkey'; readonly at: string }
  /** A BOLT 7 address descriptor with invalid content (a non-ASCII DNS hostname). */
  | { readonly kind: 'invalid_address'; readonly at: string }
  /** A message type this table does not define; `action` is what BOLT 1 requires of the receiver. */
  | { readonly kind: 'unknown_message'; readonly type: number; readonly action: UnknownMessageAction }
  /** A BOLT 4 failure code this table does not define. */
  | { readonly kind: 'unknown_failure'; readonly code: number };

export type WireErrorKind = WireError['kind'];

/** BOLT 1: odd unknown messages are ignored, even unknown messages close the connection. */
export type UnknownMessageAction = 'ignore' | 'close_connection';

/** Internal: thrown inside the engine and turned into a Result at the public boundary. */
export class DecodeFail {
  constructor(readonly error: WireError) {}
}

/** Thrown by encoders when the caller passes a value that does not fit the table (a programming error). */
export class WireEncodeError extends Error {
  override name = 'WireEncodeError';
}

export function describeWireError(e: WireError): string {
  switch (e.kind) {
    case 'truncated':
      return `truncated input at ${e.at}`;
    case 'non_minimal_bigsize':
      return `non-minimal bigsize at ${e.at}`;
    case 'non_minimal_truncated_int':
      return `non-minimal truncated integer at ${e.at}`;
    case 'truncated_int_too_long':
      return `truncated integer too long at ${e.at}`;
    case 'tlv_not_increasing':
      return `TLV type ${e.tlvType} not strictly increasing in ${e.at}`;
    case 'tlv_unknown_even':
      return `unknown even TLV type ${e.tlvType} in ${e.at}`;
    case 'tlv_length_mismatch':
      return `TLV type ${e.tlvType} has the wrong length in ${e.at}`;
    case 'length_not_multiple':
      return `array length is not a multiple of its element size at ${e.at}`;
    case 'trailing_bytes':
      return `unexpected trailing bytes at ${e.at}`;
    case 'invalid_point':
      return `invalid point at ${e.at}`;
    case 'invalid_utf8':
      return `invalid UTF-8 at ${e.at}`;
    case 'invalid_sciddir_or_pubkey':
      return `invalid sciddir_or_pubkey at ${e.at}`;
    case 'invalid_address':
      return `invalid address descriptor at ${e.at}`;
    case 'unknown_message':
      return `unknown message type ${e.type} (${e.action === 'ignore' ? 'odd: ignore' : 'even: close the connection'})`;
    case 'unknown_failure':
      return `unknown failure code 0x${e.code.toString(16).padStart(4, '0')}`;
  }
}
