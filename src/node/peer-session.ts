// One peer connection's BOLT 1 protocol as a pure reducer: (state, input) -> (state', actions).
// The init exchange, ping/pong keep-alive, and the rules for unknown or malformed messages. The shell
// (peer-manager.ts) feeds it decoded bytes and clock ticks, and carries out the actions it returns.

import { equal, hex } from '../core/bytes.ts';
import { assertNever } from '../core/result.ts';
import { checkRemoteInitFeatures } from './peer-features.ts';
import {
  decodePeerMessage,
  encodeInit,
  encodePing,
  encodePong,
  encodeWarning,
  type PeerMessage,
} from './peer-wire.ts';

export interface PeerSessionConfig {
  readonly ourFeatures: Uint8Array;
  readonly chainHash: Uint8Array;
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
  readonly initTimeoutMs: number;
}

interface PendingPing {
  readonly sentAt: number;
  readonly numPongBytes: number;
  /** The RPC request waiting on it, or null for a keep-alive ping. */
  readonly requestId: number | null;
}

export interface PeerState {
  readonly phase: 'awaiting-init' | 'active' | 'closed';
  readonly openedAt: number;
  readonly lastReceivedAt: number;
  readonly theirFeatures: Uint8Array | null;
  readonly pendingPings: readonly PendingPing[];
}

export type PeerInput =
  | { readonly kind: 'opened'; readonly now: number; readonly remoteAddr: Uint8Array | null }
  | { readonly kind: 'received'; readonly now: number; readonly bytes: Uint8Array }
  | { readonly kind: 'tick'; readonly now: number }
  /** The transport closed under us (or we closed it): fail whatever waits on this connection. */
  | { readonly kind: 'disconnected'; readonly reason: string }
  | {
      readonly kind: 'user-ping';
      readonly now: number;
      readonly requestId: number;
      readonly len: number;
      readonly pongBytes: number;
    };

export type PeerAction =
  | { readonly kind: 'send'; readonly bytes: Uint8Array }
  | { readonly kind: 'close'; readonly reason: string }
  | { readonly kind: 'ready'; readonly features: Uint8Array; readonly remoteAddr: Uint8Array | null }
  | { readonly kind: 'pong'; readonly requestId: number; readonly totlen: number }
  | { readonly kind: 'ping-failed'; readonly requestId: number; readonly reason: string }
  /** A well-formed message for the layers above (channels, gossip, peer storage). */
  | { readonly kind: 'deliver'; readonly message: PeerMessage }
  | {
      readonly kind: 'log';
      readonly level: 'debug' | 'info' | 'warn';
      readonly msg: string;
      readonly data?: object;
    };

export type Step = { readonly state: PeerState; readonly actions: readonly PeerAction[] };

const ZERO_CHANNEL = new Uint8Array(32);
/** BOLT 1: a ping asking for 65532 bytes or more gets no pong. */
export const MAX_PONG_BYTES = 65531;

export function initialPeerState(now: number): PeerState {
  return {
    phase: 'awaiting-init',
    openedAt: now,
    lastReceivedAt: now,
    theirFeatures: null,
    pendingPings: [],
  };
}

function close(state: PeerState, reason: string, warning?: string): Step {
  const actions: PeerAction[] = [];
  if (warning !== undefined) actions.push({ kind: 'send', bytes: encodeWarning(ZERO_CHANNEL, warning) });
  actions.push({ kind: 'log', level: 'info', msg: `closing connection: ${reason}` });
  for (const p of state.pendingPings) {
    if (p.requestId !== null) actions.push({ kind: 'ping-failed', requestId: p.requestId, reason });
  }
  actions.push({ kind: 'close', reason });
  return { state: { ...state, phase: 'closed', pendingPings: [] }, actions };
}

function received(config: PeerSessionConfig, s: PeerState, now: number, bytes: Uint8Array): Step {
  const state: PeerState = { ...s, lastReceivedAt: now };
  const decoded = decodePeerMessage(bytes);
  if (!decoded.ok) {
    const e = decoded.error;
    switch (e.kind) {
      case 'unknown-odd':
        return {
          state,
          actions: [{ kind: 'log', level: 'debug', msg: `ignoring unknown odd message type ${e.type}` }],
        };
      case 'unknown-even':
        // BOLT #1: "upon receiving a message of _even_, unknown type: MUST close the connection."
        return close(state, `unknown even message type ${e.type}`, `unknown even message type ${e.type}`);
      case 'malformed':
        // BOLT #1: "upon receiving a known message with insufficient length for the contents: MUST close the connection."
        return close(
          state,
          `malformed message type ${e.type}: ${e.detail}`,
          `malformed message type ${e.type}: ${e.detail}`,
        );
    }
    return assertNever(e, 'decode error');
  }
  const msg = decoded.value;
  if (state.phase === 'awaiting-init') {
    if (msg.type !== 'init') {
      return close(state, `sent ${msg.type} before init`, 'init must be the first message');
    }
    const problem = checkRemoteInitFeatures(msg.features);
    if (problem !== null) return close(state, problem, problem);
    if (msg.networks !== null && !msg.networks.some((c) => equal(c, config.chainHash))) {
      // BOLT #1: "upon receiving `networks` containing no common chains - MAY close the connection."
      return close(
        state,
        `no common chain (they want ${msg.networks.map(hex).join(', ') || 'none'})`,
        'no common chain',
      );
    }
    return {
      state: { ...state, phase: 'active', theirFeatures: msg.features },
      actions: [{ kind: 'ready', features: msg.features, remoteAddr: msg.remoteAddr }],
    };
  }
  switch (msg.type) {
    case 'init':
      return close(state, 'sent a second init', 'init may be sent only once per connection');
    case 'ping':
      if (msg.numPongBytes > MAX_PONG_BYTES) {
        return {
          state,
          actions: [
            { kind: 'log', level: 'debug', msg: `ignoring ping asking for ${msg.numPongBytes} bytes` },
          ],
        };
      }
      return { state, actions: [{ kind: 'send', bytes: encodePong(msg.numPongBytes) }] };
    case 'pong': {
      const [first, ...rest] = state.pendingPings;
      if (!first || first.numPongBytes !== msg.length) {
        // BOLT #1 allows closing here; a stray pong is harmless, so log it and carry on.
        return {
          state,
          actions: [{ kind: 'log', level: 'warn', msg: `unexpected pong of ${msg.length} bytes` }],
        };
      }
      const actions: PeerAction[] =
        first.requestId === null
          ? []
          : [{ kind: 'pong', requestId: first.requestId, totlen: 4 + msg.length }];
      return { state: { ...state, pendingPings: rest }, actions };
    }
    case 'warning':
    case 'error': {
      const scope = equal(msg.channelId, ZERO_CHANNEL) ? 'all channels' : `channel ${hex(msg.channelId)}`;
      return {
        state,
        actions: [
          { kind: 'log', level: 'warn', msg: `peer sent ${msg.type} about ${scope}: ${msg.text}` },
          { kind: 'deliver', message: msg },
        ],
      };
    }
    case 'peer_storage':
    case 'peer_storage_retrieval':
    case 'other':
      return { state, actions: [{ kind: 'deliver', message: msg }] };
  }
  return assertNever(msg, 'peer message');
}

export function stepPeer(config: PeerSessionConfig, state: PeerState, input: PeerInput): Step {
  if (state.phase === 'closed') return { state, actions: [] };
  switch (input.kind) {
    case 'opened':
      // BOLT #1: "MUST send `init` as the first Lightning message for any connection."
      return {
        state: { ...state, openedAt: input.now, lastReceivedAt: input.now },
        actions: [
          { kind: 'send', bytes: encodeInit(config.ourFeatures, [config.chainHash], input.remoteAddr) },
        ],
      };
    case 'received':
      return received(config, state, input.now, input.bytes);
    case 'disconnected': {
      const failed = close(state, input.reason);
      return { state: failed.state, actions: failed.actions.filter((a) => a.kind === 'ping-failed') };
    }
    case 'tick': {
      if (state.phase === 'awaiting-init') {
        if (input.now - state.openedAt >= config.initTimeoutMs)
          return close(state, 'no init received in time');
        return { state, actions: [] };
      }
      const oldest = state.pendingPings[0];
      if (oldest && input.now - oldest.sentAt >= config.pingTimeoutMs) {
        return close(state, `no pong within ${Math.round(config.pingTimeoutMs / 1000)}s`);
      }
      if (state.pendingPings.length === 0 && input.now - state.lastReceivedAt >= config.pingIntervalMs) {
        const ping: PendingPing = { sentAt: input.now, numPongBytes: 0, requestId: null };
        return {
          state: { ...state, pendingPings: [ping] },
          actions: [{ kind: 'send', bytes: encodePing(0, 0) }],
        };
      }
      return { state, actions: [] };
    }
    case 'user-ping': {
      if (state.phase !== 'active') {
        return {
          state,
          actions: [
            { kind: 'ping-failed', requestId: input.requestId, reason: 'peer has not finished init' },
          ],
        };
      }
      const send: PeerAction = { kind: 'send', bytes: encodePing(input.pongBytes, input.len) };
      if (input.pongBytes > MAX_PONG_BYTES) {
        // No pong will come: report it done at once.
        return { state, actions: [send, { kind: 'pong', requestId: input.requestId, totlen: 0 }] };
      }
      const ping: PendingPing = {
        sentAt: input.now,
        numPongBytes: input.pongBytes,
        requestId: input.requestId,
      };
      return { state: { ...state, pendingPings: [...state.pendingPings, ping] }, actions: [send] };
    }
  }
  return assertNever(input, 'peer input');
}
