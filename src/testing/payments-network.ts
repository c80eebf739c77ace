// N `shandian start` processes on one `shandian devnet` chain, with the channels a test asks for, ready
// to pay: every channel normal with its short channel id. For end-to-end payment tests and benchmarks.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type DevnetProcess, type NodeProcess, spawnDevnet, spawnNode, waitUntil } from './processes.ts';

export interface NetworkChannel {
  /** The funder (it dials the peer). */
  readonly from: string;
  readonly to: string;
  readonly sat: number;
  readonly pushMsat?: number;
}

export interface NetworkNode extends NodeProcess {
  readonly id: string;
  readonly port: number;
}

export interface PeerChannelJson {
  readonly peer_id: string;
  readonly state: string;
  readonly peer_connected?: boolean;
  readonly short_channel_id?: string;
  readonly to_us_msat?: number;
  readonly htlcs?: unknown[];
}

export interface PaymentsNetwork {
  readonly devnet: DevnetProcess;
  readonly nodes: ReadonlyMap<string, NetworkNode>;
  node(name: string): NetworkNode;
  /** The short channel id of the channel between two nodes. */
  scid(a: string, b: string): string;
  /** `a`'s balance in its channel with `b`, in msat. */
  toUs(a: string, b: string): Promise<bigint>;
  /** True when no channel of any node holds an HTLC. */
  noHtlcs(): Promise<boolean>;
  mine(n: number): Promise<void>;
  /** Every node's log lines, prefixed with its name, for a failing test to print. */
  readonly logs: string[];
  stop(): Promise<void>;
}

/** The error a JSON-RPC call fails with; throws when it succeeds. */
export async function rpcError(
  p: Promise<unknown>,
): Promise<{ code: number; message: string; data?: unknown }> {
  try {
    await p;
  } catch (e) {
    return e as { code: number; message: string; data?: unknown };
  }
  throw new Error('expected the call to fail');
}

export async function peerChannels(n: NodeProcess): Promise<PeerChannelJson[]> {
  return (await n.call<{ channels: PeerChannelJson[] }>('listpeerchannels')).channels;
}

/** Starts the chain and the nodes, funds each funder with one coin per channel, opens and confirms the channels. */
export async function startPaymentsNetwork(o: {
  base: string;
  names: readonly string[];
  channels: readonly NetworkChannel[];
}): Promise<PaymentsNetwork> {
  const logs: string[] = [];
  const nodes = new Map<string, NetworkNode>();
  mkdirSync(o.base, { recursive: true });
  const devnet = await spawnDevnet(join(o.base, 'chain'));
  const stop = async () => {
    for (const n of nodes.values()) await n.kill('SIGKILL').catch(() => {});
    await devnet.stop();
  };
  try {
    const miner = await devnet.rpc.call<string>('getnewaddress');
    const mine = async (n: number) => {
      await devnet.rpc.call('generatetoaddress', [n, miner]);
    };
    await mine(101);
    for (const name of o.names) {
      const n = await spawnNode({
        name,
        datadir: join(o.base, name),
        args: [...devnet.nodeArgs, '--chain-poll', '0.2'],
        echo: (l) => logs.push(`${name}: ${l}`),
      });
      const info = await n.call<{ id: string; binding: { port: number }[] }>('getinfo');
      nodes.set(name, Object.assign(n, { id: info.id, port: info.binding[0]!.port }));
    }
    const node = (name: string): NetworkNode => {
      const n = nodes.get(name);
      if (n === undefined) throw new Error(`no node ${name}`);
      return n;
    };
    // One coin per channel, with room for the funding fee.
    const want = new Map<string, bigint>();
    for (const c of o.channels) {
      const addr = (await node(c.from).call<{ bech32: string }>('newaddr')).bech32;
      await devnet.rpc.call('sendtoaddress', [addr, (c.sat + 50_000) / 1e8]);
      want.set(c.from, (want.get(c.from) ?? 0n) + BigInt(c.sat + 50_000));
    }
    await mine(1);
    for (const [name, sat] of want) {
      await waitUntil(
        async () => {
          const f = await node(name).call<{ outputs: { amount_msat: number; status: string }[] }>(
            'listfunds',
          );
          const have = f.outputs
            .filter((x) => x.status === 'confirmed')
            .reduce((t, x) => t + BigInt(x.amount_msat), 0n);
          return have >= sat * 1000n;
        },
        30_000,
        `${name}'s wallet funded`,
      );
    }
    for (const c of o.channels) {
      const to = node(c.to);
      await node(c.from).call('connect', { id: to.id, host: '127.0.0.1', port: to.port });
      await node(c.from).call('fundchannel', {
        id: to.id,
        amount: c.sat,
        ...(c.pushMsat !== undefined ? { push_msat: c.pushMsat } : {}),
      });
    }
    await mine(6);
    await waitUntil(
      async () => {
        for (const n of nodes.values()) {
          const cs = await peerChannels(n);
          const expected = o.channels.filter((c) => node(c.from) === n || node(c.to) === n).length;
          if (
            cs.length !== expected ||
            cs.some((c) => c.state !== 'CHANNELD_NORMAL' || c.short_channel_id === undefined)
          )
            return false;
        }
        return true;
      },
      60_000,
      'all channels normal',
    );
    const scids = new Map<string, string>();
    for (const c of o.channels) {
      const ch = (await peerChannels(node(c.from))).find((x) => x.peer_id === node(c.to).id);
      const scid = ch?.short_channel_id;
      if (scid === undefined) throw new Error(`no channel ${c.from}-${c.to}`);
      scids.set(`${c.from}-${c.to}`, scid);
      scids.set(`${c.to}-${c.from}`, scid);
    }
    return {
      devnet,
      nodes,
      node,
      scid: (a, b) => {
        const s = scids.get(`${a}-${b}`);
        if (s === undefined) throw new Error(`no channel ${a}-${b}`);
        return s;
      },
      toUs: async (a, b) => {
        const c = (await peerChannels(node(a))).find((x) => x.peer_id === node(b).id);
        if (c?.to_us_msat === undefined) throw new Error(`no channel ${a}-${b}`);
        return BigInt(c.to_us_msat);
      },
      noHtlcs: async () => {
        for (const n of nodes.values())
          if ((await peerChannels(n)).some((c) => (c.htlcs ?? []).length > 0)) return false;
        return true;
      },
      mine,
      logs,
      stop,
    };
  } catch (e) {
    await stop();
    if (logs.length > 0) console.log(logs.slice(-100).join('\n'));
    throw e;
  }
}
