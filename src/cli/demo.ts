// `shandian demo`: the seed scenario on loopback, narrated. For now: two nodes start as separate processes,
// connect over BOLT 8, exchange init and pings, and shut down. Later issues grow it into channels and payments.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { GlobalOptions } from './main.ts';
import { spawnNode, type NodeProcess } from '../testing/processes.ts';

interface Info {
  id: string;
  alias: string;
  binding: { address: string; port: number }[];
  num_peers: number;
}

export async function demoCommand(_global: GlobalOptions, args: string[]): Promise<number> {
  const keep = args.includes('--keep');
  const verbose = args.includes('--verbose');
  const base = mkdtempSync(join(tmpdir(), 'shandian-demo-'));
  const say = (text: string) => process.stdout.write(`${text}\n`);
  const nodes: NodeProcess[] = [];
  try {
    say('shandian demo: two Lightning nodes on loopback');
    say(`  data in ${base}`);
    for (const name of ['alice', 'bob']) {
      const node = await spawnNode({
        name,
        datadir: join(base, name),
        ...(verbose ? { echo: (l: string) => process.stderr.write(`  [${name}] ${l}\n`) } : {}),
      });
      nodes.push(node);
      const info = await node.call<Info>('getinfo');
      say(`  started ${name}: ${info.id} listening on ${info.binding[0]?.address}:${info.binding[0]?.port}`);
    }
    const [alice, bob] = nodes as [NodeProcess, NodeProcess];
    const bobInfo = await bob.call<Info>('getinfo');
    const target = `${bobInfo.id}@${bobInfo.binding[0]!.address}:${bobInfo.binding[0]!.port}`;
    say(`\n1. alice connects to bob (BOLT 8 Noise_XK handshake, then BOLT 1 init)`);
    const conn = await alice.call<{ id: string; features: string; direction: string }>('connect', [target]);
    say(`   connected: direction=${conn.direction}, bob's init features=${conn.features}`);
    const alicePeers = await alice.call<{ peers: { id: string; connected: boolean; features: string }[] }>('listpeers');
    const bobPeers = await bob.call<{ peers: { id: string; connected: boolean; direction: string }[] }>('listpeers');
    say(`   alice sees ${alicePeers.peers.length} peer(s); bob sees ${bobPeers.peers.length} peer(s) (direction ${bobPeers.peers[0]?.direction})`);
    say('\n2. ping/pong over the encrypted link');
    for (const [len, pongbytes] of [[0, 0], [128, 128], [1000, 4000]] as const) {
      const r = await alice.call<{ totlen: number }>('ping', { id: bobInfo.id, len, pongbytes });
      say(`   ping len=${len} pongbytes=${pongbytes} -> pong totlen=${r.totlen}`);
    }
    say('\n3. alice disconnects');
    await alice.call('disconnect', [bobInfo.id]);
    const after = await alice.call<{ peers: unknown[] }>('listpeers');
    say(`   alice now has ${after.peers.length} peer(s)`);
    say('\ndemo complete.');
    return 0;
  } catch (e) {
    process.stderr.write(`demo failed: ${(e as Error).message}\n`);
    for (const n of nodes) process.stderr.write(`--- ${n.name} log ---\n${n.log.slice(-30).join('\n')}\n`);
    return 1;
  } finally {
    for (const n of nodes) await n.stop();
    if (!keep) rmSync(base, { recursive: true, force: true });
  }
}
