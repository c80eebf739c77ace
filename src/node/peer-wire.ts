// The peer layer's view of BOLT 1 messages: decodes through the one generic codec (src/bolt01-wire) and
// sorts the outcome into what the peer session must do. Setup/control messages get their own shape;
// everything else is passed up as the codec's value.

import { describeWireError } from '../bolt01-wire/errors.ts';
import { decodeMessage, encodeMessage } from '../bolt01-wire/messages.ts';
import {
  errorText,
  type InitInfo,
  makeInit,
  makePeerStorageRetrieval,
  makePing,
  makeWarning,
  readInit,
} from '../bolt01-wire/peer.ts';
import type { WireMessage } from '../bolt01-wire/types.ts';
import { err, ok, type Result } from '../core/result.ts';

export type PeerMessage =
  | ({ readonly type: 'init' } & InitInfo)
  | { readonly type: 'ping'; readonly numPongBytes: number }
  | { readonly type: 'pong'; readonly length: number }
  | { readonly type: 'error' | 'warning'; readonly channelId: Uint8Array; readonly text: string }
  | { readonly type: 'peer_storage' | 'peer_storage_retrieval'; readonly blob: Uint8Array }
  | { readonly type: 'other'; readonly message: WireMessage };

export type PeerDecodeError =
  | { readonly kind: 'unknown-odd'; readonly type: number }
  | { readonly kind: 'unknown-even'; readonly type: number }
  | { readonly kind: 'malformed'; readonly type: number; readonly detail: string };

export function decodePeerMessage(bytes: Uint8Array): Result<PeerMessage, PeerDecodeError> {
  const type = bytes.length >= 2 ? (bytes[0]! << 8) | bytes[1]! : -1;
  const r = decodeMessage(bytes);
  if (!r.ok) {
    const e = r.error;
    if (e.kind === 'unknown_message') {
      return err({ kind: e.action === 'ignore' ? 'unknown-odd' : 'unknown-even', type: e.type });
    }
    return err({ kind: 'malformed', type, detail: describeWireError(e) });
  }
  const m = r.value;
  if (m.type === 'init') return ok({ type: 'init', ...readInit(m) });
  if (m.type === 'ping') return ok({ type: 'ping', numPongBytes: m.num_pong_bytes });
  if (m.type === 'pong') return ok({ type: 'pong', length: m.ignored.length });
  if (m.type === 'error' || m.type === 'warning')
    return ok({ type: m.type, channelId: m.channel_id, text: errorText(m) });
  if (m.type === 'peer_storage' || m.type === 'peer_storage_retrieval')
    return ok({ type: m.type, blob: m.blob });
  // Channel, gossip and onion messages belong to the layers above.
  return ok({ type: 'other', message: m });
}

export function encodeInit(
  features: Uint8Array,
  chains: Uint8Array[],
  remoteAddr: Uint8Array | null,
): Uint8Array {
  return encodeMessage(makeInit({ features, networks: chains, ...(remoteAddr ? { remoteAddr } : {}) }));
}

export function encodePing(numPongBytes: number, len: number): Uint8Array {
  return encodeMessage(makePing(numPongBytes, len));
}

export function encodePong(len: number): Uint8Array {
  return encodeMessage({ type: 'pong', ignored: new Uint8Array(len) });
}

export function encodeWarning(channelId: Uint8Array, text: string): Uint8Array {
  return encodeMessage(makeWarning(text, channelId));
}

export function encodePeerStorageRetrieval(blob: Uint8Array): Uint8Array {
  return encodeMessage(makePeerStorageRetrieval(blob));
}
