// Onion messages (shell, BOLT 4 "Onion Messages"): an `onion_message` from a peer is peeled with our node
// key (always blinded), then forwarded to the next peer if it is connected (else dropped: we never dial
// for a message), or delivered to us. Each peer gets a token bucket; messages beyond it are dropped, as
// the spec allows. Delivered messages are kept in a short in-memory list for the test-only
// `dev-waitonionmessage`; `dev-sendonionmessage` sends one along a route of node ids.
import { encodeMessage } from '../bolt01-wire/index.ts';
import {
  buildOnionMessage,
  createBlindedPath,
  ecdhWithSecret,
  encodeEncryptedData,
  type OnionMessageNextHop,
  readOnionMessage,
} from '../bolt04-onion/index.ts';
import { fromHex, hex } from '../core/bytes.ts';
import { assertNever } from '../core/result.ts';
import { isPublicKey, publicKeyOf } from '../crypto/index.ts';
import type { EntropySource } from '../crypto/random.ts';
import { invalidParams, RPC_LIGHTNINGD, RpcError } from '../rpc/errors.ts';
import type { MethodSpec } from '../rpc/methods.ts';
import type { ChannelDriver } from './channel-driver.ts';
import type { Clock } from './clock.ts';
import type { Logger } from './logger.ts';
import type { PeerManager } from './peer-manager.ts';
import type { PeerMessage } from './peer-wire.ts';
import { scidOf } from './switch-policy.ts';

/** Burst and steady rate per peer (LDK and CLN drop beyond a few messages a second, too). */
export const ONION_MESSAGE_BURST = 32;
export const ONION_MESSAGES_PER_SECOND = 8;
/** How many delivered messages we keep for dev-waitonionmessage. */
const KEEP_DELIVERED = 256;
/** Final-hop payload types from 64 up; odd so that any reader may ignore them. */
const MIN_PAYLOAD_TYPE = 64n;

export interface OnionMessengerDeps {
  readonly nodeSecret: Uint8Array;
  /** Sends an encoded message to a connected peer; false when it is not connected. */
  readonly send: (peerId: string, bytes: Uint8Array) => boolean;
  /** The peer at the other end of one of our channels, for a `short_channel_id` next hop. */
  readonly peerOfChannel: (scid: bigint) => string | undefined;
  readonly clock: Clock;
  readonly entropy: EntropySource;
  readonly log: Logger;
}

export interface DeliveredMessage {
  readonly index: number;
  /** The peer that handed it to us (not the sender: onion messages do not say). */
  readonly peer_id: string;
  readonly path_id: string | null;
  readonly has_reply_path: boolean;
  readonly received_at: number;
  /** The final payload records (type >= 64), hex. */
  readonly fields: { type: string; value: string }[];
}

interface Bucket {
  tokens: number;
  at: number;
}

export type OnionMessageOutcome =
  | 'forwarded'
  | 'delivered'
  | 'rate_limited'
  | 'ignored'
  | 'next_peer_offline';

export class OnionMessenger {
  private readonly ecdh;
  private readonly buckets = new Map<string, Bucket>();
  private readonly delivered: DeliveredMessage[] = [];
  private nextIndex = 1;
  private waiters: { after: number; fn: (m: DeliveredMessage) => void }[] = [];
  readonly ourId: string;

  constructor(private readonly deps: OnionMessengerDeps) {
    this.ecdh = ecdhWithSecret(deps.nodeSecret);
    this.ourId = hex(publicKeyOf(deps.nodeSecret));
  }

  /** The peer manager's message hook: takes onion_message, leaves the rest. */
  onPeerMessage(peerId: string, m: PeerMessage): OnionMessageOutcome | null {
    if (m.type !== 'other' || m.message.type !== 'onion_message') return null;
    return this.receive(peerId, m.message.path_key, m.message.onion_message_packet);
  }

  receive(peerId: string, pathKey: Uint8Array, packet: Uint8Array): OnionMessageOutcome {
    // BOLT #4:
    // - MAY rate-limit messages by dropping them.
    if (!this.take(peerId)) return 'rate_limited';
    const step = readOnionMessage(pathKey, packet, this.ecdh);
    if (!step.ok) {
      // BOLT #4:
      // - If decryption fails, the result is not a valid `onionmsg_tlv`, or it contains unknown even types:
      //   - MUST ignore the message.
      this.deps.log.debug({ peer: peerId, reason: step.error.code }, 'onion message ignored');
      return 'ignored';
    }
    const s = step.value;
    switch (s.type) {
      case 'forward': {
        const next = this.nextPeer(s.next);
        if (next === undefined || next === this.ourId) return 'ignored';
        // BOLT #4:
        //     - if it forwards the message:
        //       - MUST set `path_key` in the forwarded `onion_message` to the next `path_key` as calculated in [Route Blinding](#route-blinding).
        const bytes = encodeMessage({
          type: 'onion_message',
          path_key: s.nextPathKey,
          onion_message_packet: s.nextPacket,
        });
        return this.deps.send(next, bytes) ? 'forwarded' : 'next_peer_offline';
      }
      case 'final': {
        const t = s.payload.tlvs;
        const fields: { type: string; value: string }[] = [];
        for (const u of t.unknown ?? [])
          if (u.type >= MIN_PAYLOAD_TYPE) fields.push({ type: u.type.toString(), value: hex(u.value) });
        for (const [name, type] of [
          ['invoice_request', 64],
          ['invoice', 66],
          ['invoice_error', 68],
        ] as const)
          if (t[name] !== undefined) fields.push({ type: String(type), value: '' });
        const m: DeliveredMessage = {
          index: this.nextIndex++,
          peer_id: peerId,
          path_id: s.pathId === null ? null : hex(s.pathId),
          has_reply_path: s.payload.replyPath !== undefined,
          received_at: Math.floor(this.deps.clock.now() / 1000),
          fields,
        };
        this.delivered.push(m);
        if (this.delivered.length > KEEP_DELIVERED) this.delivered.shift();
        const ready = this.waiters.filter((w) => m.index > w.after);
        this.waiters = this.waiters.filter((w) => m.index <= w.after);
        for (const w of ready) w.fn(m);
        return 'delivered';
      }
    }
    return assertNever(s, 'onion message step');
  }

  private nextPeer(next: OnionMessageNextHop): string | undefined {
    switch (next.type) {
      // BOLT #4:
      //     - if `next_node_id` is present:
      //       - the *next peer* is the peer with that node id.
      case 'node_id':
        return hex(next.nodeId);
      //     - otherwise, if `short_channel_id` is present and corresponds to an announced short_channel_id or a local alias for a channel:
      //       - the *next peer* is the peer at the other end of that channel.
      case 'short_channel_id':
        return this.deps.peerOfChannel(next.shortChannelId);
    }
    return assertNever(next, 'onion message next hop');
  }

  /** Token bucket per peer; true when the message may be processed. */
  private take(peerId: string): boolean {
    const now = this.deps.clock.now();
    const b = this.buckets.get(peerId) ?? { tokens: ONION_MESSAGE_BURST, at: now };
    b.tokens = Math.min(ONION_MESSAGE_BURST, b.tokens + ((now - b.at) / 1000) * ONION_MESSAGES_PER_SECOND);
    b.at = now;
    this.buckets.set(peerId, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Forgets a peer's bucket when it disconnects. */
  forgetPeer(peerId: string): void {
    this.buckets.delete(peerId);
  }

  /**
   * Sends a message along `route` (node ids, the first a connected peer, the last the recipient): we
   * blind the route ourselves, each hop naming the next by node id.
   */
  send(route: readonly Uint8Array[], fields: readonly { type: bigint; value: Uint8Array }[]): void {
    if (route.length === 0) throw invalidParams('route must not be empty');
    for (const f of fields)
      if (f.type < MIN_PAYLOAD_TYPE || f.type % 2n === 0n)
        throw invalidParams(`payload type ${f.type}: must be odd and at least 65`);
    const hops = route.map((nodeId, i) => ({
      nodeId,
      encryptedData: encodeEncryptedData(i + 1 < route.length ? { nextNodeId: route[i + 1]! } : {}),
    }));
    const { path } = createBlindedPath({ sessionKey: this.deps.entropy.randomBytes(32), hops });
    const sorted = [...fields].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
    const built = buildOnionMessage({
      sessionKey: this.deps.entropy.randomBytes(32),
      path,
      final: sorted.length > 0 ? { unknown: sorted } : {},
    });
    if (!built.ok) throw invalidParams(`cannot build the onion message: ${built.error.code}`);
    const bytes = encodeMessage({
      type: 'onion_message',
      path_key: built.value.pathKey,
      onion_message_packet: built.value.packet,
    });
    if (!this.deps.send(hex(built.value.firstNodeId), bytes))
      throw new RpcError(RPC_LIGHTNINGD, `first hop ${hex(built.value.firstNodeId)} is not connected`);
  }

  /** The first delivered message with index > `after`, waiting up to `timeoutS`. */
  wait(after: number, timeoutS: number): Promise<DeliveredMessage> {
    const have = this.delivered.find((m) => m.index > after);
    if (have !== undefined) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const t = this.deps.clock.after(timeoutS * 1000, () => {
        this.waiters = this.waiters.filter((w) => w.fn !== fn);
        reject(new RpcError(RPC_LIGHTNINGD, 'Timed out waiting for an onion message'));
      });
      const fn = (m: DeliveredMessage) => {
        t.cancel();
        resolve(m);
      };
      this.waiters.push({ after, fn });
    });
  }

  list(): DeliveredMessage[] {
    return [...this.delivered];
  }
}

export function onionMessageMethods(m: OnionMessenger): MethodSpec[] {
  return [
    {
      name: 'dev-sendonionmessage',
      description:
        'TEST ONLY: send an onion message along node ids: dev-sendonionmessage hops [fields] (fields: [{type, value}], odd types >= 65)',
      params: [
        { name: 'hops', type: 'array', required: true },
        { name: 'fields', type: 'array' },
      ],
      handler: (p) => {
        const route = (p.hops as unknown[]).map((h, i) => {
          const id = typeof h === 'string' && /^0[23][0-9a-fA-F]{64}$/.test(h) ? fromHex(h) : null;
          if (id === null || !isPublicKey(id)) throw invalidParams(`hops[${i}]: expected a node id`);
          return id;
        });
        const fields = ((p.fields as unknown[] | undefined) ?? []).map((f, i) => {
          const r = f as { type?: unknown; value?: unknown };
          if (typeof r.value !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(r.value))
            throw invalidParams(`fields[${i}].value: expected hex`);
          let type: bigint;
          try {
            type = BigInt(r.type as string | number);
          } catch {
            throw invalidParams(`fields[${i}].type: expected an integer`);
          }
          return { type, value: fromHex(r.value) };
        });
        m.send(route, fields);
        return { sent: true, first_node_id: hex(route[0]!) };
      },
    },
    {
      name: 'dev-waitonionmessage',
      description:
        'TEST ONLY: wait for an onion message delivered to us: dev-waitonionmessage [after_index] [timeout]',
      params: [
        { name: 'after_index', type: 'integer' },
        { name: 'timeout', type: 'integer' },
      ],
      handler: (p) =>
        m.wait((p.after_index as number | undefined) ?? 0, (p.timeout as number | undefined) ?? 60),
    },
  ];
}

/** Wires the messenger to the peer manager and channels; node.ts adds `methods` to its table. */
export function startOnionMessages(d: {
  peers: Pick<PeerManager, 'send' | 'onMessage' | 'onPeerStatus'>;
  driver: Pick<ChannelDriver, 'list'>;
  nodeSecret: Uint8Array;
  clock: Clock;
  entropy: EntropySource;
  log: Logger;
}): { messenger: OnionMessenger; methods: MethodSpec[] } {
  const messenger = new OnionMessenger({
    nodeSecret: d.nodeSecret,
    send: (id, bytes) => d.peers.send(id, bytes),
    peerOfChannel: (scid) => d.driver.list().find((c) => scidOf(c.state) === scid)?.peerId,
    clock: d.clock,
    entropy: d.entropy,
    log: d.log,
  });
  d.peers.onMessage((id, m) => {
    messenger.onPeerMessage(id, m);
  });
  d.peers.onPeerStatus((id, up) => {
    if (!up) messenger.forgetPeer(id);
  });
  return { messenger, methods: onionMessageMethods(messenger) };
}
