// The peer manager (shell): listens and dials over BOLT 8, runs one PeerSession reducer per connection,
// keeps peers alive, reconnects to peers we dialled, and queues outgoing messages with back-pressure.
import { hex } from '../core/bytes.ts';
import type { EntropySource } from '../crypto/random.ts';
import { publicKeyOf } from '../crypto/secp256k1.ts';
import {
  CONNECT_ALL_ADDRESSES_FAILED,
  CONNECT_DISCONNECTED_DURING,
  RPC_LIGHTNINGD,
  RpcError,
} from '../rpc/errors.ts';
import type { Store } from '../store/store.ts';
import type { Clock, TimerHandle } from './clock.ts';
import type { NetworkParams } from './config.ts';
import type { Logger } from './logger.ts';
import { type CloseReason, describeCloseReason, connect as dialNoise } from './noise-connection.ts';
import { listen as listenNoise, type NoiseListener } from './noise-listener.ts';
import { encodeAddressDescriptor, ourInitFeatures } from './peer-features.ts';
import {
  initialPeerState,
  type PeerAction,
  type PeerSessionConfig,
  type PeerState,
  stepPeer,
} from './peer-session.ts';
import { PeerStorage } from './peer-storage.ts';
import { formatHostPort, type PeerSummary } from './peer-types.ts';
import type { PeerMessage } from './peer-wire.ts';

/** What the manager needs of a connection: a BOLT 8 NoiseConnection, or an in-memory one in tests. */
export interface PeerConnection {
  readonly remotePubkey: Uint8Array;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly closed: boolean;
  send(bytes: Uint8Array): boolean;
  close(): void;
  on(event: 'message', fn: (bytes: Uint8Array) => void): unknown;
  on(event: 'drain', fn: () => void): unknown;
  on(event: 'close', fn: (reason: CloseReason) => void): unknown;
}

/** Opens an authenticated connection to `remotePubkey` (default: BOLT 8 over TCP). */
export type PeerDialer = (req: {
  host: string;
  port: number;
  localSecret: Uint8Array;
  remotePubkey: Uint8Array;
  entropy: EntropySource;
  handshakeTimeoutMs: number;
}) => Promise<PeerConnection>;

export interface PeerManagerOptions {
  readonly nodeSecret: Uint8Array;
  readonly network: NetworkParams;
  readonly clock: Clock;
  readonly entropy: EntropySource;
  readonly store: Store;
  readonly log: Logger;
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
  readonly initTimeoutMs?: number;
  readonly handshakeTimeoutMs?: number;
  /** Outgoing messages queued beyond the socket's buffer before a peer is dropped as not reading. */
  readonly maxQueuedBytes?: number;
  /** Test seam: how connections are dialled (the in-memory harness); inbound ones come through accept(). */
  readonly dial?: PeerDialer;
}

/** A handler the layers above register for the messages they own (channels, gossip). */
export type MessageHandler = (peerId: string, message: PeerMessage) => void;

/** Told when a peer becomes ready (init exchanged) and when a ready peer goes away. */
export type PeerStatusHandler = (peerId: string, connected: boolean) => void;

interface Peer {
  readonly id: string;
  readonly conn: PeerConnection;
  readonly direction: 'in' | 'out';
  readonly address: { host: string; port: number };
  state: PeerState;
  ready: boolean;
  dropped: boolean;
  /** The socket asked us to wait for 'drain'; later messages queue here. */
  waiting: boolean;
  queue: Uint8Array[];
  queuedBytes: number;
  tick: TimerHandle | null;
  readyWaiters: { resolve: () => void; reject: (e: Error) => void }[];
}

interface Reconnect {
  host: string;
  port: number;
  attempts: number;
  timer: TimerHandle | null;
}

const TICK_MS = 1000;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 300_000;

export class PeerManager {
  private readonly peers = new Map<string, Peer>();
  /** Peers we dialled and want back after an unexpected disconnect, by id. */
  private readonly reconnects = new Map<string, Reconnect>();
  private readonly pings = new Map<
    number,
    { resolve: (totlen: number) => void; reject: (e: Error) => void }
  >();
  private readonly handlers: MessageHandler[] = [];
  private readonly statusHandlers: PeerStatusHandler[] = [];
  private readonly sessionConfig: PeerSessionConfig;
  private readonly ourFeatures: Uint8Array;
  private readonly storage: PeerStorage;
  private listener: NoiseListener | null = null;
  private nextPingId = 1;
  private closed = false;
  readonly nodeId: string;
  readonly defaultPort: number;

  constructor(private readonly opts: PeerManagerOptions) {
    this.nodeId = hex(publicKeyOf(opts.nodeSecret));
    this.defaultPort = opts.network.defaultPort;
    this.ourFeatures = ourInitFeatures();
    this.sessionConfig = {
      ourFeatures: this.ourFeatures,
      chainHash: opts.network.chainHash,
      pingIntervalMs: opts.pingIntervalMs,
      pingTimeoutMs: opts.pingTimeoutMs,
      initTimeoutMs: opts.initTimeoutMs ?? 60_000,
    };
    this.storage = new PeerStorage(opts.store);
  }

  ourInitFeaturesHex(): string {
    return hex(this.ourFeatures);
  }

  onMessage(handler: MessageHandler): void {
    this.handlers.push(handler);
  }

  onPeerStatus(handler: PeerStatusHandler): void {
    this.statusHandlers.push(handler);
  }

  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    this.listener = await listenNoise({
      host,
      port,
      localSecret: this.opts.nodeSecret,
      entropy: this.opts.entropy,
      handshakeTimeoutMs: this.opts.handshakeTimeoutMs ?? 30_000,
      onConnection: (conn) => this.attach(conn, 'in', { host: conn.remoteAddress, port: conn.remotePort }),
      onHandshakeError: (reason, from) =>
        this.opts.log.info(
          { from: formatHostPort(from.address, from.port), reason: describeCloseReason(reason) },
          'incoming handshake failed',
        ),
    });
    return { host: this.listener.host, port: this.listener.port };
  }

  /** Dials a peer and resolves once both inits are exchanged. */
  async connect(id: Uint8Array, host: string, port: number): Promise<PeerSummary> {
    if (this.closed) throw new RpcError(RPC_LIGHTNINGD, 'node is shutting down');
    const idHex = hex(id);
    if (idHex === this.nodeId) throw new RpcError(RPC_LIGHTNINGD, 'cannot connect to ourselves');
    const existing = this.peers.get(idHex);
    if (existing?.ready) return this.summary(existing);
    let conn: PeerConnection;
    try {
      conn = await (this.opts.dial ?? dialNoise)({
        host,
        port,
        localSecret: this.opts.nodeSecret,
        remotePubkey: id,
        entropy: this.opts.entropy,
        handshakeTimeoutMs: this.opts.handshakeTimeoutMs ?? 30_000,
      });
    } catch (e) {
      throw new RpcError(
        CONNECT_ALL_ADDRESSES_FAILED,
        `Unable to connect, all addresses failed: ${formatHostPort(host, port)}: ${(e as Error).message}`,
      );
    }
    const peer = this.attach(conn, 'out', { host, port });
    this.reconnects.set(idHex, { host, port, attempts: 0, timer: this.reconnects.get(idHex)?.timer ?? null });
    await new Promise<void>((resolve, reject) => peer.readyWaiters.push({ resolve, reject }));
    return this.summary(peer);
  }

  /** Takes an inbound connection that did not come through listen() (the in-memory harness). */
  accept(conn: PeerConnection): void {
    if (this.closed) {
      conn.close();
      return;
    }
    this.attach(conn, 'in', { host: conn.remoteAddress, port: conn.remotePort });
  }

  async disconnect(id: Uint8Array): Promise<void> {
    const idHex = hex(id);
    const again = this.reconnects.get(idHex);
    again?.timer?.cancel();
    this.reconnects.delete(idHex); // a user disconnect is final
    const peer = this.peers.get(idHex);
    if (!peer) throw new RpcError(RPC_LIGHTNINGD, `Peer ${idHex} not connected`);
    this.opts.log.info({ peer: idHex }, 'disconnecting on request');
    this.drop(peer, 'disconnect requested');
  }

  ping(id: Uint8Array, len: number, pongBytes: number): Promise<number> {
    const peer = this.peers.get(hex(id));
    if (!peer?.ready) return Promise.reject(new RpcError(RPC_LIGHTNINGD, `Peer ${hex(id)} not connected`));
    const requestId = this.nextPingId++;
    return new Promise<number>((resolve, reject) => {
      this.pings.set(requestId, { resolve, reject });
      this.step(peer, { kind: 'user-ping', now: this.opts.clock.now(), requestId, len, pongBytes });
    });
  }

  /** Sends an encoded message to a connected peer; false when the peer is not connected. */
  send(peerId: string, bytes: Uint8Array): boolean {
    const peer = this.peers.get(peerId);
    if (!peer?.ready) return false;
    this.write(peer, bytes);
    return true;
  }

  list(): PeerSummary[] {
    return [...this.peers.values()].filter((p) => p.ready).map((p) => this.summary(p));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const r of this.reconnects.values()) r.timer?.cancel();
    this.reconnects.clear();
    await this.listener?.close();
    for (const p of [...this.peers.values()]) this.drop(p, 'node shutting down');
  }

  private summary(p: Peer): PeerSummary {
    return {
      id: p.id,
      connected: true,
      direction: p.direction,
      netaddr: [formatHostPort(p.address.host, p.address.port)],
      features: hex(p.state.theirFeatures ?? new Uint8Array()),
    };
  }

  private attach(
    conn: PeerConnection,
    direction: 'in' | 'out',
    address: { host: string; port: number },
  ): Peer {
    const id = hex(conn.remotePubkey);
    const old = this.peers.get(id);
    if (old) {
      // The newer connection wins: the peer may have restarted and the old socket is half dead.
      this.opts.log.info({ peer: id }, 'replacing an older connection to the same peer');
      this.drop(old, 'replaced by a new connection', false);
    }
    const peer: Peer = {
      id,
      conn,
      direction,
      address,
      state: initialPeerState(this.opts.clock.now()),
      ready: false,
      dropped: false,
      waiting: false,
      queue: [],
      queuedBytes: 0,
      tick: null,
      readyWaiters: [],
    };
    this.peers.set(id, peer);
    this.opts.log.info(
      { peer: id, direction, address: formatHostPort(address.host, address.port) },
      'connection established',
    );
    conn.on('message', (bytes) => {
      try {
        this.step(peer, { kind: 'received', now: this.opts.clock.now(), bytes });
      } catch (e) {
        // A bug above us must cost this connection, never the node.
        this.opts.log.error({ peer: id, err: (e as Error).stack }, 'internal error handling a message');
        this.drop(peer, `internal error: ${(e as Error).message}`);
      }
    });
    conn.on('drain', () => this.flush(peer));
    conn.on('close', (reason) => this.closedByTransport(peer, describeCloseReason(reason)));
    const remoteAddr = direction === 'in' ? encodeAddressDescriptor(address.host, address.port) : null;
    this.step(peer, { kind: 'opened', now: this.opts.clock.now(), remoteAddr });
    this.scheduleTick(peer);
    return peer;
  }

  private scheduleTick(peer: Peer): void {
    peer.tick = this.opts.clock.after(TICK_MS, () => {
      if (this.peers.get(peer.id) !== peer) return;
      this.step(peer, { kind: 'tick', now: this.opts.clock.now() });
      if (this.peers.get(peer.id) === peer) this.scheduleTick(peer);
    });
  }

  private step(peer: Peer, input: Parameters<typeof stepPeer>[2]): void {
    const { state, actions } = stepPeer(this.sessionConfig, peer.state, input);
    peer.state = state;
    for (const a of actions) this.run(peer, a);
  }

  private run(peer: Peer, a: PeerAction): void {
    switch (a.kind) {
      case 'send':
        this.write(peer, a.bytes);
        return;
      case 'close':
        this.drop(peer, a.reason);
        return;
      case 'ready': {
        peer.ready = true;
        const again = this.reconnects.get(peer.id);
        if (again) again.attempts = 0;
        this.opts.log.info({ peer: peer.id, features: hex(a.features) }, 'peer ready (init exchanged)');
        const blob = this.storage.retrieval(peer.id);
        if (blob) this.write(peer, blob);
        for (const w of peer.readyWaiters.splice(0)) w.resolve();
        for (const h of this.statusHandlers) h(peer.id, true);
        return;
      }
      case 'pong':
      case 'ping-failed': {
        const waiter = this.pings.get(a.requestId);
        this.pings.delete(a.requestId);
        if (a.kind === 'pong') waiter?.resolve(a.totlen);
        else waiter?.reject(new RpcError(RPC_LIGHTNINGD, `ping failed: ${a.reason}`));
        return;
      }
      case 'deliver':
        if (a.message.type === 'peer_storage') {
          this.storage.save(peer.id, a.message.blob);
          return;
        }
        for (const h of this.handlers) h(peer.id, a.message);
        return;
      case 'log':
        this.opts.log[a.level]({ peer: peer.id, ...a.data }, a.msg);
        return;
    }
  }

  /** Writes or queues; a peer that lets the queue grow past the bound is dropped rather than buffering forever. */
  private write(peer: Peer, bytes: Uint8Array): void {
    if (peer.conn.closed) return;
    if (!peer.waiting) {
      // send() hands the frame to the socket even when it returns false; false only asks us to wait.
      if (!peer.conn.send(bytes)) peer.waiting = true;
      return;
    }
    peer.queue.push(bytes);
    peer.queuedBytes += bytes.length;
    if (peer.queuedBytes > (this.opts.maxQueuedBytes ?? 16 * 1024 * 1024)) {
      this.drop(peer, `peer is not reading (${peer.queuedBytes} bytes queued)`);
    }
  }

  private flush(peer: Peer): void {
    peer.waiting = false;
    while (peer.queue.length > 0 && !peer.waiting) {
      const next = peer.queue.shift()!;
      peer.queuedBytes -= next.length;
      if (!peer.conn.send(next)) peer.waiting = true;
    }
  }

  private drop(peer: Peer, reason: string, reconnect = true): void {
    if (peer.dropped) return;
    peer.dropped = true;
    if (this.peers.get(peer.id) === peer) this.peers.delete(peer.id);
    peer.tick?.cancel();
    peer.conn.close();
    // Pings still waiting on this connection fail with it (the reducer lists them).
    this.step(peer, { kind: 'disconnected', reason });
    for (const w of peer.readyWaiters.splice(0)) {
      w.reject(new RpcError(CONNECT_DISCONNECTED_DURING, `peer disconnected during connection: ${reason}`));
    }
    if (peer.ready) for (const h of this.statusHandlers) h(peer.id, false);
    if (reconnect && !this.closed) this.scheduleReconnect(peer.id);
  }

  private closedByTransport(peer: Peer, reason: string): void {
    if (peer.dropped) return;
    this.opts.log.info({ peer: peer.id, reason }, 'connection closed');
    this.drop(peer, reason);
  }

  private scheduleReconnect(id: string): void {
    const r = this.reconnects.get(id);
    if (!r || r.timer) return;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** r.attempts);
    r.attempts++;
    this.opts.log.info({ peer: id, in_ms: delay }, 'will reconnect');
    r.timer = this.opts.clock.after(delay, () => {
      r.timer = null;
      if (this.closed || this.peers.has(id) || this.reconnects.get(id) !== r) return;
      const remote = Uint8Array.from(Buffer.from(id, 'hex'));
      this.connect(remote, r.host, r.port).catch((e: Error) => {
        this.opts.log.info({ peer: id, err: e.message }, 'reconnect failed');
        this.scheduleReconnect(id);
      });
    });
  }
}
