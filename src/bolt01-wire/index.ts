// BOLT 1 wire layer: the generated message table, the generic codec engine and peer-message helpers.
//
// The table (spec-table.ts) is generated from the BOLT markdown by tools/extract-wire.ts; a test fails
// when it drifts from ../shared/spec. One engine (codec.ts) reads it; nothing else serializes messages.
//
// Values are plain objects keyed by the spec's snake_case names:
//   { type: 'init', globalfeatures: Uint8Array, features: Uint8Array, tlvs: { networks?: { chains } } }
// - u8/u16/u32/s8..s32/tu16/tu32 are numbers; u64, s64, tu64, bigsize, short_channel_id are bigints
//   (amount fields are typed Msat/Sat); byte arrays and fixed types (point, sha256, ...) are Uint8Array;
//   utf8 arrays are strings; subtypes are objects; other arrays are arrays.
// - Length fields that only size a later array (gflen, len, num_htlcs, ...) are not in the value: the
//   encoder derives them.
// - `tlvs` holds the message's TLV stream by record name, each record an object of its fields, plus
//   `unknown: [{ type: bigint, value }]` for unknown odd records (kept so re-encoding is byte-exact, which
//   signatures over gossip need). Messages without a declared stream still carry BOLT 1 extensions there.
//
// Encoding: encodeMessage / encodeFailureMessage / encodeTlvStream / encodeSubtype return bytes and throw
// WireEncodeError when handed a value that does not fit (a caller bug), or a message over 65535 bytes.
// Decoding: decodeMessage / decodeFailureMessage / decodeTlvStream / decodeSubtype / decodeFundamental
// return Result<value, WireError> and never throw on bad input. Unknown message types give
// { kind: 'unknown_message', action: 'ignore' | 'close_connection' } per BOLT 1's it's-ok-to-be-odd rule.
export * from './address.ts';
export * from './errors.ts';
export * from './messages.ts';
export * from './peer.ts';
export * from './scid.ts';
export { specTable } from './spec-table.ts';
export type * from './types.ts';
