// Accepts BOLT 8 connections: one handshake per socket, each failure closes only that socket.
import { createServer, type Server, type Socket } from 'node:net';
import { HandshakeStream, type LocalKey } from '../bolt08-transport/index.ts';
import type { EntropySource } from '../crypto/index.ts';
import {
  type CloseReason,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  drawEphemeral,
  type LocalIdentity,
  NoiseConnectError,
  type NoiseConnection,
  resolveLocalKey,
  runHandshake,
} from './noise-connection.ts';

export const DEFAULT_MAX_PENDING_HANDSHAKES = 256;

export type ListenOptions = LocalIdentity & {
  /** Defaults to 127.0.0.1; use '::' or '0.0.0.0' to accept from other machines. */
  readonly host?: string;
  /** 0 picks a free port (see NoiseListener.port). */
  readonly port: number;
  readonly entropy: EntropySource;
  /** Called once per peer that completed the handshake; attach handlers synchronously or soon after. */
  readonly onConnection: (conn: NoiseConnection) => void;
  /** Called for each socket that failed before the handshake finished (for logs and ban scoring). */
  readonly onHandshakeError?: (
    reason: CloseReason,
    remote: { readonly address: string; readonly port: number },
  ) => void;
  readonly handshakeTimeoutMs?: number;
  /** Sockets still in the handshake beyond this are refused at once (a cheap flood guard). */
  readonly maxPendingHandshakes?: number;
};

export interface NoiseListener {
  readonly host: string;
  readonly port: number;
  /** Sockets accepted and still in the handshake. */
  readonly pendingHandshakes: number;
  /**
   * Stops accepting and drops sockets still in the handshake. Established connections stay open
   * (close them through their NoiseConnection).
   */
  close(): Promise<void>;
}

export function listen(opts: ListenOptions): Promise<NoiseListener> {
  let local: LocalKey;
  try {
    local = resolveLocalKey(opts);
  } catch (e) {
    return Promise.reject(e);
  }
  const timeoutMs = opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const maxPending = opts.maxPendingHandshakes ?? DEFAULT_MAX_PENDING_HANDSHAKES;
  const pending = new Set<Socket>();
  const report = (reason: CloseReason, remote: { address: string; port: number }): void => {
    opts.onHandshakeError?.(reason, remote);
  };

  const server: Server = createServer((socket) => {
    socket.setNoDelay(true);
    // Read now: a destroyed socket no longer knows its peer.
    const remote = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    if (pending.size >= maxPending) {
      report({ kind: 'too-many-handshakes', limit: maxPending }, remote);
      socket.destroy();
      return;
    }
    let ephemeralSecret: Uint8Array;
    try {
      ephemeralSecret = drawEphemeral(opts.entropy);
    } catch (e) {
      report({ kind: 'socket-error', message: (e as Error).message, code: null }, remote);
      socket.destroy();
      return;
    }
    const hs = HandshakeStream.responder({ local, ephemeralSecret });
    if (!hs.ok) {
      report({ kind: 'protocol', error: hs.error }, remote);
      socket.destroy();
      return;
    }
    pending.add(socket);
    runHandshake(socket, hs.value, null, 'inbound', timeoutMs).then(
      (conn) => {
        pending.delete(socket);
        opts.onConnection(conn);
      },
      (e: unknown) => {
        pending.delete(socket);
        const reason: CloseReason =
          e instanceof NoiseConnectError
            ? e.reason
            : { kind: 'socket-error', message: String(e), code: null };
        report(reason, remote);
      },
    );
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      // Accept errors (EMFILE and the like) must not crash the node; the server keeps listening.
      server.on('error', () => {});
      const addr = server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port;
      resolve({
        host: opts.host ?? '127.0.0.1',
        port,
        get pendingHandshakes() {
          return pending.size;
        },
        close: () => {
          // server.close() stops accepting at once; its callback would wait for every established
          // connection to end, which belongs to whoever owns those connections, so it is not awaited.
          server.close();
          for (const s of pending) s.destroy();
          return new Promise<void>((done) => setImmediate(done));
        },
      });
    });
  });
}
