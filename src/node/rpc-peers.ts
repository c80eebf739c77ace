// RPC methods about peers, in Core Lightning's shapes: connect, listpeers, disconnect, ping.
import { fromHex } from '../core/bytes.ts';
import { isPublicKey } from '../crypto/secp256k1.ts';
import { CONNECT_NO_KNOWN_ADDRESS, invalidParams, RpcError } from '../rpc/errors.ts';
import type { MethodSpec } from '../rpc/methods.ts';
import { parseHostPort } from './config.ts';
import type { PeerManager } from './peer-manager.ts';
import { addressOf } from './peer-types.ts';

export function parseNodeId(text: unknown): Uint8Array {
  if (typeof text !== 'string' || !/^(02|03)[0-9a-fA-F]{64}$/.test(text)) {
    throw invalidParams(`id: expected a 33-byte compressed public key in hex, got ${JSON.stringify(text)}`);
  }
  const id = fromHex(text);
  if (!isPublicKey(id)) throw invalidParams(`id: ${text} is not a point on secp256k1`);
  return id;
}

/** `connect` accepts `id@host:port`, `id@host` (default port), or id with separate host and port. */
export function parseConnectTarget(
  idParam: string,
  host: string | undefined,
  port: number | undefined,
  defaultPort: number,
): { id: Uint8Array; host: string; port: number } {
  const at = idParam.indexOf('@');
  if (at >= 0) {
    if (host !== undefined)
      throw invalidParams('give the address either as id@host:port or as host, not both');
    const addr = parseHostPort(idParam.slice(at + 1), port ?? defaultPort);
    return { id: parseNodeId(idParam.slice(0, at)), host: addr.host, port: addr.port };
  }
  const id = parseNodeId(idParam);
  if (host === undefined)
    throw new RpcError(CONNECT_NO_KNOWN_ADDRESS, 'no address known for this peer: give id@host:port');
  return { id, host, port: port ?? defaultPort };
}

export function peerMethods(peers: PeerManager): MethodSpec[] {
  return [
    {
      name: 'connect',
      description: 'Connect to a peer: connect id@host:port',
      params: [
        { name: 'id', type: 'string', required: true },
        { name: 'host', type: 'string' },
        { name: 'port', type: 'integer' },
      ],
      handler: async (p) => {
        const t = parseConnectTarget(
          p.id as string,
          p.host as string | undefined,
          p.port as number | undefined,
          peers.defaultPort,
        );
        const peer = await peers.connect(t.id, t.host, t.port);
        return {
          id: peer.id,
          features: peer.features,
          direction: peer.direction,
          address: addressOf(t.host, t.port),
        };
      },
    },
    {
      name: 'listpeers',
      description: 'List connected peers, or one peer',
      params: [
        { name: 'id', type: 'string' },
        { name: 'level', type: 'string' },
      ],
      handler: (p) => {
        const id = p.id === undefined ? undefined : parseNodeId(p.id);
        return {
          peers: peers.list().filter((x) => id === undefined || x.id === (p.id as string).toLowerCase()),
        };
      },
    },
    {
      name: 'disconnect',
      description: 'Disconnect from a peer',
      params: [
        { name: 'id', type: 'string', required: true },
        { name: 'force', type: 'boolean' },
      ],
      handler: async (p) => {
        await peers.disconnect(parseNodeId(p.id));
        return {};
      },
    },
    {
      name: 'ping',
      description: 'Send a ping to a connected peer and wait for its pong',
      params: [
        { name: 'id', type: 'string', required: true },
        { name: 'len', type: 'integer' },
        { name: 'pongbytes', type: 'integer' },
      ],
      handler: async (p) => {
        const len = (p.len as number | undefined) ?? 128;
        const pongbytes = (p.pongbytes as number | undefined) ?? 128;
        if (len < 0 || len > 65531) throw invalidParams('len: must be 0..65531');
        if (pongbytes < 0 || pongbytes > 65535) throw invalidParams('pongbytes: must be 0..65535');
        const totlen = await peers.ping(parseNodeId(p.id), len, pongbytes);
        return { totlen };
      },
    },
  ];
}
