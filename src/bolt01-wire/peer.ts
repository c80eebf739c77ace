// Typed helpers for the messages the peer layer handles itself: init, error, warning, ping, pong,
// peer_storage and peer_storage_retrieval. They build and read plain message values; the bytes always go
// through the generic engine (encodeMessage/decodeMessage).
import { hex } from '../core/bytes.ts';
import { decodeAddresses, encodeAddress, type NetAddress } from './address.ts';
import type { MessageInput, MessageValue } from './types.ts';

export type InitMessage = MessageValue<'init'>;
export type ErrorMessage = MessageValue<'error'>;
export type WarningMessage = MessageValue<'warning'>;
export type PingMessage = MessageValue<'ping'>;
export type PongMessage = MessageValue<'pong'>;

/** The node-level view of a received init. */
export type InitInfo = {
  /** `globalfeatures` OR `features`, as BOLT 1 requires, minimal length. */
  readonly features: Uint8Array;
  /** Chains from the `networks` record, or null when the peer did not send one. */
  readonly networks: readonly Uint8Array[] | null;
  /** Raw address descriptor from `remote_addr` (BOLT 7 format), or null. */
  readonly remoteAddr: Uint8Array | null;
  /** `remote_addr` parsed, when it is exactly one known, valid descriptor (else null: ignore it). */
  readonly remoteAddress: NetAddress | null;
};

/** Bitwise OR of two feature vectors, right-aligned (bit 0 is the last byte's low bit), minimal length. */
export function mergeFeatureBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const n = Math.max(a.length, b.length);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 0;
    const y = b[b.length - n + i] ?? 0;
    out[i] = x | y;
  }
  let start = 0;
  while (start < out.length && out[start] === 0) start++;
  return out.slice(start);
}

// BOLT #1:
// The receiving node:
//   - MUST wait to receive `init` before sending any other messages.
//   - MUST combine (bitwise OR) the two feature bitmaps into one logical `features` map.
export function readInit(msg: InitMessage): InitInfo {
  const remoteAddr = msg.tlvs.remote_addr ? msg.tlvs.remote_addr.data : null;
  let remoteAddress: NetAddress | null = null;
  if (remoteAddr) {
    const parsed = decodeAddresses(remoteAddr);
    if (parsed.ok && parsed.value.unknownAt === null && parsed.value.addresses.length === 1)
      remoteAddress = parsed.value.addresses[0]!;
  }
  return {
    features: mergeFeatureBytes(msg.globalfeatures, msg.features),
    networks: msg.tlvs.networks ? msg.tlvs.networks.chains : null,
    remoteAddr,
    remoteAddress,
  };
}

/** Builds our init: all features in `features`, `globalfeatures` empty (BOLT 1: no new bits there). */
export function makeInit(opts: {
  features: Uint8Array;
  networks?: readonly Uint8Array[];
  /** The peer's address as we see it: a descriptor, or its raw encoding. */
  remoteAddr?: NetAddress | Uint8Array;
}): MessageInput<'init'> {
  const tlvs: MessageInput<'init'>['tlvs'] = {};
  if (opts.networks) tlvs.networks = { chains: [...opts.networks] };
  if (opts.remoteAddr) {
    const data = opts.remoteAddr instanceof Uint8Array ? opts.remoteAddr : encodeAddress(opts.remoteAddr);
    tlvs.remote_addr = { data };
  }
  return { type: 'init', globalfeatures: new Uint8Array(0), features: opts.features, tlvs };
}

const ALL_CHANNELS = new Uint8Array(32);

/** An error (or warning) about one channel, or about all channels when `channelId` is omitted. */
export function makeError(
  text: string | Uint8Array,
  channelId: Uint8Array = ALL_CHANNELS,
): MessageInput<'error'> {
  const data = typeof text === 'string' ? new TextEncoder().encode(text) : text;
  return { type: 'error', channel_id: channelId, data };
}

export function makeWarning(
  text: string | Uint8Array,
  channelId: Uint8Array = ALL_CHANNELS,
): MessageInput<'warning'> {
  const data = typeof text === 'string' ? new TextEncoder().encode(text) : text;
  return { type: 'warning', channel_id: channelId, data };
}

// BOLT #1:
// The channel is referred to by `channel_id`, unless `channel_id` is 0 (i.e. all bytes are 0), in which case it refers to all channels.
export function refersToAllChannels(msg: { channel_id: Uint8Array }): boolean {
  return msg.channel_id.every((b) => b === 0);
}

// BOLT #1:
//   - if `data` is not composed solely of printable ASCII characters (For reference: the printable character set includes byte values 32 through 126, inclusive):
//     - SHOULD NOT print out `data` verbatim.
/** Text safe to log: the data verbatim when it is printable ASCII, otherwise its hex. */
export function errorText(msg: { data: Uint8Array }): string {
  const printable = msg.data.every((b) => b >= 32 && b <= 126);
  // Printable ASCII is valid UTF-8; decoding avoids spreading up to 65k bytes into call arguments.
  return printable ? new TextDecoder().decode(msg.data) : `0x${hex(msg.data)}`;
}

/** A ping asking for `numPongBytes` in reply, padded with `ignoredLength` zero bytes. */
export function makePing(numPongBytes: number, ignoredLength = 0): MessageInput<'ping'> {
  return { type: 'ping', num_pong_bytes: numPongBytes, ignored: new Uint8Array(ignoredLength) };
}

// BOLT #1:
// A node receiving a `ping` message:
//   - if `num_pong_bytes` is less than 65532:
//     - MUST respond by sending a `pong` message, with `byteslen` equal to `num_pong_bytes`.
//   - otherwise (`num_pong_bytes` is **not** less than 65532):
//     - MUST ignore the `ping`.
export function pongFor(ping: PingMessage): MessageInput<'pong'> | null {
  if (ping.num_pong_bytes >= 65532) return null;
  return { type: 'pong', ignored: new Uint8Array(ping.num_pong_bytes) };
}

/** Whether a pong answers a ping we sent (BOLT 1: a node MAY close the connection otherwise). */
export function pongMatches(pong: PongMessage, sentNumPongBytes: number): boolean {
  return pong.ignored.length === sentNumPongBytes;
}

/** BOLT 1: the stored blob is at most 65531 bytes. */
export const MAX_PEER_STORAGE_BLOB = 65531;

export function makePeerStorage(blob: Uint8Array): MessageInput<'peer_storage'> {
  if (blob.length > MAX_PEER_STORAGE_BLOB) throw new RangeError(`peer_storage blob of ${blob.length} bytes`);
  return { type: 'peer_storage', blob };
}

export function makePeerStorageRetrieval(blob: Uint8Array): MessageInput<'peer_storage_retrieval'> {
  if (blob.length > MAX_PEER_STORAGE_BLOB) throw new RangeError(`peer_storage blob of ${blob.length} bytes`);
  return { type: 'peer_storage_retrieval', blob };
}
