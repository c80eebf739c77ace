// Static types of message values, derived from the generated table: a message is
// `{ type: 'init', ...fields, tlvs: {...} }` with the spec's (snake_case) field names. Length fields that
// only give the size of a later array (`gflen`, `len`, ...) are left out: the encoder computes them.
import type { Msat, Sat } from '../core/units.ts';
import type { specTable } from './spec-table.ts';

type Table = typeof specTable;
export type MessageTable = Table['messages'];
export type SubtypeTable = Table['subtypes'];
export type StreamTable = Table['tlvStreams'];
export type FailureTable = Table['failures'];

export type MessageName = keyof MessageTable;
export type SubtypeName = keyof SubtypeTable;
export type StreamName = keyof StreamTable;
export type FailureName = keyof FailureTable;

/** One field of the table: `count` is a fixed number, the name of an earlier length field, or `'...'`. */
export type FieldDef = {
  readonly name: string;
  readonly type: string;
  readonly count?: number | string;
  readonly trunc?: number;
};

type NumberTypes = 'byte' | 'u8' | 's8' | 'u16' | 's16' | 'u32' | 's32' | 'tu16' | 'tu32';
type BigintTypes = 'u64' | 's64' | 'tu64' | 'bigsize' | 'short_channel_id';

/** chain_hash, channel_id, sha256, signature, bip340sig, point, sciddir_or_pubkey are Uint8Array. */
export type ScalarValue<T extends string> = T extends NumberTypes
  ? number
  : T extends BigintTypes
    ? bigint
    : T extends SubtypeName
      ? SubtypeValue<T>
      : T extends StreamName
        ? TlvStreamValue<T>
        : Uint8Array;

// Amounts get their branded unit (DESIGN.md rule 6), recognised by the spec's field names. Signed amounts
// (splice contributions) stay plain bigint: Sat and Msat are never negative.
type MsatNames = `${string}_msat` | 'msat' | 'amt_to_forward' | 'incoming_htlc_amt';
type SatNames = `${string}_satoshis` | 'sats';
type Branded<F extends FieldDef, V> = V extends bigint
  ? F['type'] extends 'u64' | 'tu64'
    ? F['name'] extends MsatNames
      ? Msat
      : F['name'] extends SatNames
        ? Sat
        : V
    : V
  : V;

type FieldValue<F extends FieldDef> = F extends { readonly count: number | string }
  ? F['type'] extends 'byte' | 'u8'
    ? Uint8Array
    : F['type'] extends 'utf8'
      ? string
      : F extends { readonly trunc: number }
        ? Uint8Array[]
        : ScalarValue<F['type']>[]
  : Branded<F, ScalarValue<F['type']>>;

type LengthNames<Fs extends readonly FieldDef[]> = {
  [K in keyof Fs]: Fs[K] extends { readonly count: infer C } ? (C extends string ? C : never) : never;
}[number];

export type FieldsValue<Fs extends readonly FieldDef[]> = {
  -readonly [F in Fs[number] as F['name'] extends LengthNames<Fs> ? never : F['name']]: FieldValue<F>;
};

export type SubtypeValue<S extends SubtypeName> = FieldsValue<SubtypeTable[S]['fields']>;

/** A TLV record the stream does not define (only odd ones survive decoding); kept so re-encoding is exact. */
export type UnknownTlv = { readonly type: bigint; readonly value: Uint8Array };

export type TlvStreamValue<S extends StreamName> = {
  -readonly [R in keyof StreamTable[S]['records']]?: StreamTable[S]['records'][R] extends {
    readonly fields: infer Fs extends readonly FieldDef[];
  }
    ? FieldsValue<Fs>
    : never;
} & { unknown?: UnknownTlv[] };

/** The extension of a message that declares no TLV stream: only unknown (odd) records. */
export type ExtensionValue = { unknown?: UnknownTlv[] };

type TlvsOf<T> = T extends { readonly tlvs: infer S }
  ? S extends StreamName
    ? TlvStreamValue<S>
    : ExtensionValue
  : ExtensionValue;

/** A decoded message: `tlvs` is always present. */
export type MessageValue<M extends MessageName> = { type: M } & FieldsValue<MessageTable[M]['fields']> & {
    tlvs: TlvsOf<MessageTable[M]>;
  };
/** What encodeMessage accepts: `tlvs` may be left out. */
export type MessageInput<M extends MessageName> = { type: M } & FieldsValue<MessageTable[M]['fields']> & {
    tlvs?: TlvsOf<MessageTable[M]>;
  };

export type WireMessage = { [M in MessageName]: MessageValue<M> }[MessageName];
export type WireMessageInput = { [M in MessageName]: MessageInput<M> }[MessageName];

export type FailureValue<F extends FailureName> = { failure: F } & FieldsValue<FailureTable[F]['fields']> & {
    tlvs: ExtensionValue;
  };
export type FailureInput<F extends FailureName> = { failure: F } & FieldsValue<FailureTable[F]['fields']> & {
    tlvs?: ExtensionValue;
  };
export type FailureMessage = { [F in FailureName]: FailureValue<F> }[FailureName];
export type FailureMessageInput = { [F in FailureName]: FailureInput<F> }[FailureName];
