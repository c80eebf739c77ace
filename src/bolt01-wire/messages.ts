// Public codec API over the generated table: whole messages (BOLT 1 framing: u16 type, payload, optional
// TLV extension), BOLT 4 failure messages, standalone TLV streams and subtypes.
import { err, type Result } from '../core/result.ts';
import {
  compileStream,
  EMPTY_STREAM,
  guard,
  Reader,
  readFields,
  readScalar,
  readStream,
  type StreamDef,
  type StreamRecords,
  streamDef,
  Writer,
  writeFields,
  writeScalar,
  writeStream,
} from './codec.ts';
import { DecodeFail, type UnknownMessageAction, WireEncodeError, type WireError } from './errors.ts';
import { FUNDAMENTAL_TYPES, type FundamentalType } from './fundamental.ts';
import { specTable } from './spec-table.ts';
import type {
  FailureMessage,
  FailureMessageInput,
  FailureName,
  FieldDef,
  MessageName,
  StreamName,
  SubtypeName,
  SubtypeValue,
  TlvStreamValue,
  WireMessage,
  WireMessageInput,
} from './types.ts';

export type { StreamDef, StreamRecords };

type Obj = Record<string, unknown>;
type MessageDef = {
  readonly type: number;
  readonly fields: readonly FieldDef[];
  readonly tlvs: string | null;
};
type FailureDef = { readonly code: number; readonly fields: readonly FieldDef[] };

const MESSAGES = specTable.messages as unknown as Readonly<Record<string, MessageDef>>;
const FAILURES = specTable.failures as unknown as Readonly<Record<string, FailureDef>>;
const SUBTYPES = specTable.subtypes as unknown as Readonly<Record<string, { fields: readonly FieldDef[] }>>;

const MESSAGE_BY_TYPE: ReadonlyMap<number, string> = new Map(
  Object.entries(MESSAGES).map(([name, m]) => [m.type, name] as const),
);
const FAILURE_BY_CODE: ReadonlyMap<number, string> = new Map(
  Object.entries(FAILURES).map(([name, f]) => [f.code, name] as const),
);

/** BOLT 8 frames carry at most 65535 bytes, type included. */
export const MAX_MESSAGE_SIZE = 65535;

export const MESSAGE_NAMES: readonly MessageName[] = Object.freeze(Object.keys(MESSAGES) as MessageName[]);
export const FAILURE_NAMES: readonly FailureName[] = Object.freeze(Object.keys(FAILURES) as FailureName[]);
export const STREAM_NAMES: readonly StreamName[] = Object.freeze(
  Object.keys(specTable.tlvStreams) as StreamName[],
);
export const SUBTYPE_NAMES: readonly SubtypeName[] = Object.freeze(Object.keys(SUBTYPES) as SubtypeName[]);

export function messageTypeOf(name: MessageName): number {
  return MESSAGES[name]!.type;
}

export function messageNameOf(type: number): MessageName | undefined {
  return MESSAGE_BY_TYPE.get(type) as MessageName | undefined;
}

export function failureCodeOf(name: FailureName): number {
  return FAILURES[name]!.code;
}

// BOLT #1:
// A receiving node:
//   - upon receiving a message of _odd_, unknown type:
//     - MUST ignore the received message.
//   - upon receiving a message of _even_, unknown type:
//     - MUST close the connection.
//     - MAY fail the channels.
export function unknownMessageAction(type: number): UnknownMessageAction {
  return type % 2 === 1 ? 'ignore' : 'close_connection';
}

export type MessageTypeRange =
  | 'setup_control'
  | 'channel'
  | 'commitment'
  | 'routing'
  | 'custom'
  | 'unassigned';

/** The BOLT 1 group of a message type (512-32767 is not assigned a group; onion_message 513 lives there). */
export function messageTypeRange(type: number): MessageTypeRange {
  if (type < 0 || type > 65535 || !Number.isInteger(type))
    throw new RangeError(`not a message type: ${type}`);
  if (type <= 31) return 'setup_control';
  if (type <= 127) return 'channel';
  if (type <= 255) return 'commitment';
  if (type <= 511) return 'routing';
  if (type >= 32768) return 'custom';
  return 'unassigned';
}

/** The u16 type of a raw message, or null when it is shorter than 2 bytes. */
export function peekMessageType(bytes: Uint8Array): number | null {
  return bytes.length < 2 ? null : (bytes[0]! << 8) | bytes[1]!;
}

/**
 * Encodes a message value `{ type: 'init', ...fields, tlvs }`. Throws WireEncodeError if the value does
 * not fit the table or the result exceeds 65535 bytes: callers build these values, so that is a bug.
 */
export function encodeMessage(msg: WireMessageInput): Uint8Array {
  const value = msg as unknown as Obj;
  const name = value.type as string;
  const def = MESSAGES[name];
  if (!def) throw new WireEncodeError(`unknown message ${String(name)}`);
  const w = new Writer();
  w.push(new Uint8Array([def.type >> 8, def.type & 0xff]));
  writeFields(w, def.fields, value, name);
  const stream = def.tlvs === null ? EMPTY_STREAM : streamDef(def.tlvs)!;
  writeStream(w, stream, (value.tlvs as Obj | undefined) ?? {}, `${name}.tlvs`);
  if (w.length > MAX_MESSAGE_SIZE) throw new WireEncodeError(`${name}: ${w.length} bytes exceeds 65535`);
  return w.bytes();
}

export type DecodeMessageOptions = {
  /**
   * For messages that declare no TLV stream (gossip, update_fee, ...): ignore trailing bytes that are not
   * a valid TLV stream instead of failing (BOLT 1: a receiver MAY ignore the extension). `tlvs` is then
   * empty, so re-encoding will not reproduce the input: keep the raw bytes (gossip signatures cover them).
   */
  readonly ignoreInvalidExtension?: boolean;
};

/**
 * Decodes one message (type + payload + extension). Unknown types give `unknown_message` with the action
 * BOLT 1 requires. Bytes after the payload are the extension TLV stream: invalid ones are an error, as
 * BOLT 1 requires closing the connection for an invalid extension.
 */
export function decodeMessage(
  bytes: Uint8Array,
  opts: DecodeMessageOptions = {},
): Result<WireMessage, WireError> {
  if (bytes.length < 2) return err({ kind: 'truncated', at: 'type' });
  const type = (bytes[0]! << 8) | bytes[1]!;
  const name = MESSAGE_BY_TYPE.get(type);
  if (name === undefined) return err({ kind: 'unknown_message', type, action: unknownMessageAction(type) });
  const def = MESSAGES[name]!;
  return guard(() => {
    const r = new Reader(bytes, 2, bytes.length);
    const value: Obj = { type: name, ...readFields(r, def.fields, name) };
    if (def.tlvs === null && opts.ignoreInvalidExtension) {
      const rest = guard(() => readStream(r, EMPTY_STREAM, `${name}.tlvs`));
      value.tlvs = rest.ok ? rest.value : {};
    } else {
      const stream = def.tlvs === null ? EMPTY_STREAM : streamDef(def.tlvs)!;
      value.tlvs = readStream(r, stream, `${name}.tlvs`);
    }
    return value as unknown as WireMessage;
  });
}

/** Narrowing helper: the decoded message if it is of the given type. */
export function isMessage<M extends MessageName>(
  msg: WireMessage,
  name: M,
): msg is Extract<WireMessage, { type: M }> {
  return msg.type === name;
}

// ---- BOLT 4 failure messages ------------------------------------------------------------------------------

export const FAILURE_FLAGS = { BADONION: 0x8000, PERM: 0x4000, NODE: 0x2000, UPDATE: 0x1000 } as const;

/** Flags of any failure code, known or not (BOLT 4: the origin acts on these for unknown codes). */
export function failureFlags(code: number): {
  badonion: boolean;
  perm: boolean;
  node: boolean;
  update: boolean;
} {
  return {
    badonion: (code & FAILURE_FLAGS.BADONION) !== 0,
    perm: (code & FAILURE_FLAGS.PERM) !== 0,
    node: (code & FAILURE_FLAGS.NODE) !== 0,
    update: (code & FAILURE_FLAGS.UPDATE) !== 0,
  };
}

/** Encodes `failuremsg`: u16 failure_code, the data, then the optional TLV stream. */
export function encodeFailureMessage(msg: FailureMessageInput): Uint8Array {
  const value = msg as unknown as Obj;
  const name = value.failure as string;
  const def = FAILURES[name];
  if (!def) throw new WireEncodeError(`unknown failure ${String(name)}`);
  const w = new Writer();
  w.push(new Uint8Array([def.code >> 8, def.code & 0xff]));
  writeFields(w, def.fields, value, name);
  writeStream(w, EMPTY_STREAM, (value.tlvs as Obj | undefined) ?? {}, `${name}.tlvs`);
  return w.bytes();
}

export function decodeFailureMessage(bytes: Uint8Array): Result<FailureMessage, WireError> {
  if (bytes.length < 2) return err({ kind: 'truncated', at: 'failure_code' });
  const code = (bytes[0]! << 8) | bytes[1]!;
  const name = FAILURE_BY_CODE.get(code);
  if (name === undefined) return err({ kind: 'unknown_failure', code });
  const def = FAILURES[name]!;
  return guard(() => {
    const r = new Reader(bytes, 2, bytes.length);
    const value: Obj = { failure: name, ...readFields(r, def.fields, name) };
    value.tlvs = readStream(r, EMPTY_STREAM, `${name}.tlvs`);
    return value as unknown as FailureMessage;
  });
}

// ---- standalone TLV streams and subtypes (BOLT 4 payloads, BOLT 11/12 reuse these) -------------------------

/** Encodes a TLV stream value (records keyed by name, `unknown` for extra records) in canonical order. */
export function encodeTlvStream<S extends StreamName>(name: S, value: TlvStreamValue<S>): Uint8Array {
  const stream = streamDef(name);
  if (!stream) throw new WireEncodeError(`unknown tlv stream ${String(name)}`);
  return encodeTlvStreamWith(stream, value as unknown as Obj);
}

/** Decodes a whole buffer as one TLV stream, with every BOLT 1 rule (order, minimality, even/odd). */
export function decodeTlvStream<S extends StreamName>(
  name: S,
  bytes: Uint8Array,
): Result<TlvStreamValue<S>, WireError> {
  const stream = streamDef(name);
  if (!stream) throw new WireEncodeError(`unknown tlv stream ${String(name)}`);
  return decodeTlvStreamWith(stream, bytes) as Result<TlvStreamValue<S>, WireError>;
}

/**
 * A TLV stream that is not in the spec table (BOLT 1 Appendix B's test namespaces, a private extension),
 * for encodeTlvStreamWith / decodeTlvStreamWith: the same engine and rules, untyped values.
 */
export function defineTlvStream(name: string, records: StreamRecords): StreamDef {
  return compileStream(name, records);
}

export function encodeTlvStreamWith(stream: StreamDef, value: Readonly<Obj>): Uint8Array {
  const w = new Writer();
  writeStream(w, stream, value, stream.name);
  return w.bytes();
}

export function decodeTlvStreamWith(stream: StreamDef, bytes: Uint8Array): Result<Obj, WireError> {
  return guard(() => readStream(new Reader(bytes, 0, bytes.length), stream, stream.name));
}

export function encodeSubtype<S extends SubtypeName>(name: S, value: SubtypeValue<S>): Uint8Array {
  const def = SUBTYPES[name];
  if (!def) throw new WireEncodeError(`unknown subtype ${String(name)}`);
  const w = new Writer();
  writeFields(w, def.fields, value as unknown as Obj, name);
  return w.bytes();
}

/** Decodes one subtype that must fill `bytes` exactly. */
export function decodeSubtype<S extends SubtypeName>(
  name: S,
  bytes: Uint8Array,
): Result<SubtypeValue<S>, WireError> {
  const def = SUBTYPES[name];
  if (!def) throw new WireEncodeError(`unknown subtype ${String(name)}`);
  return guard(() => {
    const r = new Reader(bytes, 0, bytes.length);
    const value = readFields(r, def.fields, name);
    if (r.pos !== r.end) throw new DecodeFail({ kind: 'trailing_bytes', at: name });
    return value as SubtypeValue<S>;
  });
}

// ---- single fundamental values (BOLT 1 "Fundamental Types"; Appendix D signed integers) -------------------

export { FUNDAMENTAL_TYPES, type FundamentalType };

export function encodeFundamental(type: FundamentalType, value: number | bigint | Uint8Array): Uint8Array {
  const w = new Writer();
  writeScalar(w, type, value, type);
  return w.bytes();
}

/** Decodes one value that must fill `bytes` exactly. */
export function decodeFundamental(
  type: FundamentalType,
  bytes: Uint8Array,
): Result<number | bigint | Uint8Array, WireError> {
  return guard(() => {
    const r = new Reader(bytes, 0, bytes.length);
    const v = readScalar(r, type, type) as number | bigint | Uint8Array;
    if (r.pos !== r.end) throw new DecodeFail({ kind: 'trailing_bytes', at: type });
    return v;
  });
}
