// The imperative shell around src/bolt08-transport: a BOLT 8 connection over a node `net` socket.
// The pure machine decides; this file only moves bytes, runs the handshake timer and closes sockets.
import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import {
  type Decryptor,
  describeTransportError,
  type Encryptor,
  HandshakeStream,
  type LocalKey,
  localKeyFromSecret,
  type Session,
  type TransportError,
} from '../bolt08-transport/index.ts';
import { flushWhenQuiet } from '../core/quiet-flush.ts';
import { assertNever } from '../core/result.ts';
import { type EntropySource, isPrivateKey } from '../crypto/index.ts';

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 15_000;
/** After close(), how long a peer gets to take our last bytes before the socket is destroyed. */
const LINGER_MS = 2_000;

export type CloseReason =
  /** close() was called here. */
  | { readonly kind: 'local' }
  /** The peer closed the TCP stream (after the handshake). */
  | { readonly kind: 'remote-closed' }
  | { readonly kind: 'socket-error'; readonly message: string; readonly code: string | null }
  | { readonly kind: 'handshake-timeout'; readonly timeoutMs: number; readonly awaitingAct: 0 | 1 | 2 | 3 }
  /** The listener already had `limit` sockets in the handshake and refused this one. */
  | { readonly kind: 'too-many-handshakes'; readonly limit: number }
  /** A failed handshake act, a bad MAC, or a malformed frame: the peer is broken or hostile. */
  | { readonly kind: 'protocol'; readonly error: TransportError };

export function describeCloseReason(r: CloseReason): string {
  switch (r.kind) {
    case 'local':
      return 'closed locally';
    case 'remote-closed':
      return 'peer closed the connection';
    case 'socket-error':
      return `socket error: ${r.message}`;
    case 'handshake-timeout':
      return `handshake not finished within ${r.timeoutMs} ms${r.awaitingAct > 0 ? ` (waiting for act ${r.awaitingAct})` : ''}`;
    case 'too-many-handshakes':
      return `refused: ${r.limit} handshakes already in progress`;
    case 'protocol':
      return describeTransportError(r.error);
  }
  return assertNever(r, 'close reason');
}

/** Rejection value of connect(): why no NoiseConnection came out of it. */
export class NoiseConnectError extends Error {
  constructor(readonly reason: CloseReason) {
    super(describeCloseReason(reason));
    this.name = 'NoiseConnectError';
  }
}

export interface NoiseConnectionEvents {
  message: [message: Uint8Array];
  close: [reason: CloseReason];
  drain: [];
}

/**
 * An authenticated, encrypted connection to one peer. Emits 'message' for each decrypted message,
 * 'drain' when send() may continue after returning false, and 'close' exactly once.
 * Events start after the current synchronous code and pending promise callbacks have run, so
 * handlers attached right after `await connect(...)` or inside `onConnection` see everything.
 */
export class NoiseConnection extends EventEmitter<NoiseConnectionEvents> {
  readonly remotePubkey: Uint8Array;
  readonly direction: 'inbound' | 'outbound';
  readonly remoteAddress: string;
  readonly remotePort: number;
  private readonly socket: Socket;
  private readonly encryptor: Encryptor;
  private readonly decryptor: Decryptor;
  private closeReason: CloseReason | null = null;
  private started = false;
  private userPaused = false;
  /**
   * Frames sent in one run of synchronous code and the promise callbacks it sets off are held here and
   * written together (flushWhenQuiet): one write instead of one per message, and before any timer or
   * immediate, so a burst leaves before the work queued behind it (signing the commitment) begins. (483
   * update_fulfill_htlc written one by one were read by the peer in dribs, an fsync per drib.)
   */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** send() returned false since the last flush: a 'drain' is owed even if the socket never fills. */
  private owesDrain = false;

  /** @internal Built by connect() and listen() once the handshake is done. */
  constructor(socket: Socket, session: Session, leftover: Uint8Array, direction: 'inbound' | 'outbound') {
    super();
    this.socket = socket;
    this.remotePubkey = session.remotePubkey;
    this.encryptor = session.encryptor;
    this.decryptor = session.decryptor;
    this.direction = direction;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    // Hold incoming bytes until the owner has had a chance to attach handlers.
    socket.pause();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.shutdown({ kind: 'remote-closed' }));
    socket.on('error', (e: NodeJS.ErrnoException) =>
      this.shutdown({ kind: 'socket-error', message: e.message, code: e.code ?? null }),
    );
    socket.on('close', () => this.shutdown({ kind: 'remote-closed' }));
    socket.on('drain', () => {
      this.owesDrain = false;
      if (this.closeReason === null) this.emit('drain');
    });
    setImmediate(() => {
      this.started = true;
      if (this.closeReason !== null) {
        this.emit('close', this.closeReason);
        return;
      }
      if (leftover.length > 0) this.onData(leftover);
      if (this.closeReason === null && !this.userPaused) socket.resume();
    });
  }

  get closed(): boolean {
    return this.closeReason !== null;
  }

  /** Why the connection closed, or null while it is open. */
  get reason(): CloseReason | null {
    return this.closeReason;
  }

  /** Bytes queued in the socket and not yet handed to the OS. */
  get bufferedBytes(): number {
    return this.socket.writableLength + this.pendingBytes;
  }

  /**
   * Encrypts and queues one message. Returns false when the socket's buffer is full (wait for
   * 'drain'), or when the connection is closed (watch 'close'). A message over 65535 bytes is a bug
   * in the caller and throws a RangeError.
   */
  send(message: Uint8Array): boolean {
    if (this.closeReason !== null) return false;
    const frame = this.encryptor.encrypt(message);
    if (!frame.ok) throw new RangeError(describeTransportError(frame.error));
    this.pending.push(frame.value);
    // The first frame held since the last write starts the wait for the burst to go quiet.
    if (this.pending.length === 1)
      flushWhenQuiet(
        () => this.pending.length,
        () => this.flush(),
      );
    this.pendingBytes += frame.value.length;
    // A long burst goes out in socket-sized writes rather than waiting for the end of the turn.
    if (this.pendingBytes >= this.socket.writableHighWaterMark) this.flush();
    if (this.bufferedBytes < this.socket.writableHighWaterMark) return true;
    this.owesDrain = true;
    return false;
  }

  /** Hands the frames held this turn to the socket in one write. */
  private flush(): void {
    if (this.pending.length === 0 || this.closeReason !== null) return;
    const frames = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const written = this.socket.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
    // The socket emits 'drain' only after a write it refused; we promised one when send() said false.
    if (written && this.owesDrain) {
      this.owesDrain = false;
      this.emit('drain');
    }
  }

  /** Stops reading from the peer (inbound back-pressure) until resume(). */
  pause(): void {
    this.userPaused = true;
    if (this.started && this.closeReason === null) this.socket.pause();
  }

  resume(): void {
    this.userPaused = false;
    if (this.started && this.closeReason === null) this.socket.resume();
  }

  /** Flushes what was sent, then closes; 'close' is emitted with reason 'local'. */
  close(): void {
    if (this.closeReason !== null) return;
    this.shutdown({ kind: 'local' });
  }

  private onData(chunk: Uint8Array): void {
    if (this.closeReason !== null) return;
    const r = this.decryptor.push(chunk);
    for (const m of r.messages) {
      // A handler may close us mid-batch; nothing after that is delivered.
      if (this.closeReason !== null) return;
      this.emit('message', m);
    }
    if (r.error !== null) this.shutdown({ kind: 'protocol', error: r.error });
  }

  private shutdown(reason: CloseReason): void {
    if (this.closeReason !== null) return;
    if (reason.kind === 'local') this.flush(); // what was sent before close() still goes out
    this.closeReason = reason;
    this.pending = [];
    this.pendingBytes = 0;
    if (reason.kind === 'local') {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
    } else {
      this.socket.destroy();
    }
    if (this.started) this.emit('close', reason);
  }
}

/** Draws a session's ephemeral key from the entropy seam. */
export function drawEphemeral(entropy: EntropySource): Uint8Array {
  // A 32-byte draw is a valid scalar except with probability ~2^-128; a source failing 8 times is broken.
  for (let i = 0; i < 8; i++) {
    const k = entropy.randomBytes(32);
    if (k.length === 32 && isPrivateKey(k)) return k;
  }
  throw new Error('EntropySource returned no valid secp256k1 scalar in 8 draws');
}

/** Our static key: the secret itself, or an ECDH-capable signer that holds it. */
export type LocalIdentity = { readonly localSecret: Uint8Array } | { readonly localKey: LocalKey };

export function resolveLocalKey(id: LocalIdentity): LocalKey {
  if ('localKey' in id) return id.localKey;
  const k = localKeyFromSecret(id.localSecret);
  if (!k.ok) throw new TypeError(describeTransportError(k.error));
  return k.value;
}

/**
 * Runs the handshake on a connected socket. Resolves with the live connection, or rejects with a
 * NoiseConnectError after destroying the socket. `first` is act one for the initiator.
 */
export function runHandshake(
  socket: Socket,
  hs: HandshakeStream,
  first: Uint8Array | null,
  direction: 'inbound' | 'outbound',
  timeoutMs: number,
): Promise<NoiseConnection> {
  return new Promise((resolve, reject) => {
    let finished = false;
    const finish = (reason: CloseReason | null, conn?: NoiseConnection): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      if (reason !== null) {
        // A late socket error must not become an unhandled 'error' event.
        socket.on('error', () => {});
        socket.destroy();
        reject(new NoiseConnectError(reason));
      } else if (conn !== undefined) {
        resolve(conn);
      }
    };
    const onData = (chunk: Buffer): void => {
      if (finished) return;
      const r = hs.push(chunk);
      if (!r.ok) {
        // A failed check ends the connection with no further messages (BOLT 8, every act).
        finish({ kind: 'protocol', error: r.error });
        return;
      }
      if (r.value.send !== null) socket.write(r.value.send);
      const done = r.value.done;
      if (done !== null) {
        // Swap listeners synchronously so no byte after act three is missed.
        socket.off('data', onData);
        finish(null, new NoiseConnection(socket, done.session, done.leftover, direction));
      }
    };
    const onEnd = (): void => finish({ kind: 'protocol', error: hs.end() });
    const onError = (e: NodeJS.ErrnoException): void =>
      finish({ kind: 'socket-error', message: e.message, code: e.code ?? null });
    const timer = setTimeout(
      () => finish({ kind: 'handshake-timeout', timeoutMs, awaitingAct: hs.awaitingAct }),
      timeoutMs,
    );
    timer.unref();
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
    if (first !== null) socket.write(first);
  });
}

export type ConnectOptions = LocalIdentity & {
  readonly host: string;
  readonly port: number;
  /** The peer's node id (33-byte compressed public key). */
  readonly remotePubkey: Uint8Array;
  /** Source of this session's ephemeral key. */
  readonly entropy: EntropySource;
  /** Applies to the TCP connect, then again to the three acts. */
  readonly handshakeTimeoutMs?: number;
};

/** Dials a peer and runs the initiator side of the handshake. Rejects with NoiseConnectError. */
export function connect(opts: ConnectOptions): Promise<NoiseConnection> {
  let local: LocalKey;
  let ephemeralSecret: Uint8Array;
  try {
    local = resolveLocalKey(opts);
    ephemeralSecret = drawEphemeral(opts.entropy);
  } catch (e) {
    return Promise.reject(e);
  }
  const timeoutMs = opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const init = HandshakeStream.initiator({
    local,
    remotePubkey: opts.remotePubkey,
    ephemeralSecret,
  });
  if (!init.ok) return Promise.reject(new NoiseConnectError({ kind: 'protocol', error: init.error }));
  const socket = netConnect({ host: opts.host, port: opts.port });
  socket.setNoDelay(true);
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(new NoiseConnectError({ kind: 'socket-error', message: e.message, code: e.code ?? null }));
    };
    const timer = setTimeout(() => {
      socket.off('error', onError);
      socket.destroy();
      reject(new NoiseConnectError({ kind: 'handshake-timeout', timeoutMs, awaitingAct: 0 }));
    }, timeoutMs);
    timer.unref();
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      // TCP connect and the three acts each get the full timeout.
      runHandshake(socket, init.value.handshake, init.value.actOne, 'outbound', timeoutMs).then(
        resolve,
        reject,
      );
    });
  });
}
