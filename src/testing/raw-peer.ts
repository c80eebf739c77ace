// A deliberately low-level BOLT 8 peer for tests: it does the handshake with the pure state machine over
// a plain socket, then lets a test send well-formed messages, hand-made frames, or raw garbage, and
// read what the node answers. It is how tests play a broken or hostile peer against a real node.
import { connect, type Socket } from 'node:net';
import { encodeMessage } from '../bolt01-wire/messages.ts';
import { makeInit } from '../bolt01-wire/peer.ts';
import type { Decryptor, Encryptor } from '../bolt08-transport/cipher.ts';
import { localKeyFromSecret } from '../bolt08-transport/handshake.ts';
import { HandshakeStream } from '../bolt08-transport/handshake-stream.ts';
import { systemEntropy } from '../crypto/random.ts';

export interface RawPeer {
  readonly socket: Socket;
  readonly encryptor: Encryptor;
  /** Encrypts and sends one message. */
  send(message: Uint8Array): void;
  /** Writes bytes as they are, outside any frame. */
  sendRaw(bytes: Uint8Array): void;
  /** The next decrypted message, or null if the connection closes (or times out) first. */
  next(timeoutMs?: number): Promise<Uint8Array | null>;
  /** Resolves when the node closes the connection. */
  readonly closed: Promise<void>;
  isClosed(): boolean;
  close(): void;
}

export const REGTEST_CHAIN = Uint8Array.from(
  Buffer.from('06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f', 'hex'),
);

/** Bytes of an init with the given features (default: var_onion_optin optional) on regtest. */
export function initBytes(features = new Uint8Array([0x02, 0x00])): Uint8Array {
  return encodeMessage(makeInit({ features, networks: [REGTEST_CHAIN] }));
}

export async function rawConnect(
  host: string,
  port: number,
  remotePubkey: Uint8Array,
  localSecret?: Uint8Array,
): Promise<RawPeer> {
  const local = localKeyFromSecret(localSecret ?? systemEntropy.randomBytes(32));
  if (!local.ok) throw new Error('bad local key');
  const start = HandshakeStream.initiator({
    local: local.value,
    remotePubkey,
    ephemeralSecret: systemEntropy.randomBytes(32),
  });
  if (!start.ok) throw new Error(`handshake: ${start.error.kind}`);
  const socket = connect({ host, port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(start.value.actOne);
  const hs = start.value.handshake;
  const session = await new Promise<{ encryptor: Encryptor; decryptor: Decryptor; leftover: Uint8Array }>(
    (resolve, reject) => {
      const onData = (chunk: Buffer) => {
        const r = hs.push(new Uint8Array(chunk));
        if (!r.ok) {
          socket.off('data', onData);
          reject(new Error(`handshake failed: ${r.error.kind}`));
          return;
        }
        if (r.value.send) socket.write(r.value.send);
        if (r.value.done) {
          socket.off('data', onData);
          const s = r.value.done.session;
          resolve({ encryptor: s.encryptor, decryptor: s.decryptor, leftover: r.value.done.leftover });
        }
      };
      socket.on('data', onData);
      socket.once('close', () => reject(new Error('closed during handshake')));
    },
  );
  const inbox: Uint8Array[] = [];
  const waiters: ((m: Uint8Array | null) => void)[] = [];
  let isClosed = false;
  const deliver = (chunk: Uint8Array) => {
    const r = session.decryptor.push(chunk);
    for (const m of r.messages) {
      const w = waiters.shift();
      if (w) w(m);
      else inbox.push(m);
    }
  };
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      isClosed = true;
      for (const w of waiters.splice(0)) w(null);
      resolve();
    }),
  );
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => deliver(new Uint8Array(chunk)));
  if (session.leftover.length > 0) deliver(session.leftover);
  return {
    socket,
    encryptor: session.encryptor,
    send(message) {
      const f = session.encryptor.encrypt(message);
      if (!f.ok) throw new Error(f.error.kind);
      socket.write(f.value);
    },
    sendRaw: (bytes) => void socket.write(bytes),
    next(timeoutMs = 5000) {
      const queued = inbox.shift();
      if (queued) return Promise.resolve(queued);
      if (isClosed) return Promise.resolve(null);
      return new Promise((resolve) => {
        const t = setTimeout(() => {
          const i = waiters.indexOf(done);
          if (i >= 0) waiters.splice(i, 1);
          resolve(null);
        }, timeoutMs);
        const done = (m: Uint8Array | null) => {
          clearTimeout(t);
          resolve(m);
        };
        waiters.push(done);
      });
    },
    closed,
    isClosed: () => isClosed,
    close: () => socket.destroy(),
  };
}
