// A `shandian devnet` child process for end-to-end tests, ready to fund nodes and mine.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BitcoindRpc } from '../../src/chain/bitcoind.ts';
import {
  type NodeProcess,
  spawnDevnet as spawnDevnetProcess,
  spawnNode,
} from '../../src/testing/processes.ts';

export interface Chain {
  readonly rpc: BitcoindRpc;
  /** `shandian start` options pointing a node at this chain. */
  readonly nodeArgs: string[];
  mine(n: number): Promise<void>;
  height(): Promise<number>;
  stop(): Promise<void>;
}

export { waitUntil } from '../../src/testing/processes.ts';

/** A devnet process (src/testing/processes.ts) with 101 blocks mined, so its faucet can spend. */
export async function spawnDevnet(dir: string): Promise<Chain> {
  mkdirSync(dir, { recursive: true });
  const devnet = await spawnDevnetProcess(dir);
  const { rpc } = devnet;
  const minerAddress = await rpc.call<string>('getnewaddress');
  await rpc.call('generatetoaddress', [101, minerAddress]);
  return {
    rpc,
    nodeArgs: [...devnet.nodeArgs, '--chain-poll', '0.2'],
    mine: async (n) => {
      await rpc.call('generatetoaddress', [n, minerAddress]);
    },
    height: async () => rpc.call<number>('getblockcount'),
    stop: () => devnet.stop(),
  };
}

export interface ProcessNet {
  readonly chain: Chain;
  /** Starts `shandian start` on the chain as `name`; killed when the test ends. */
  start(name: string, extra?: string[]): Promise<NodeProcess>;
  /** A line for the log printed when the test fails (progress markers). */
  log(line: string): void;
}

/** A devnet and its nodes for one test: everything is killed and removed afterwards, logs shown on failure. */
export async function withProcessNet(
  prefix: string,
  body: (net: ProcessNet) => Promise<void>,
): Promise<void> {
  const base = mkdtempSync(join(tmpdir(), prefix));
  const logs: string[] = [];
  const started: NodeProcess[] = [];
  let chain: Chain | null = null;
  const cleanUp = async () => {
    for (const n of started) await n.kill('SIGKILL').catch(() => {});
    await chain?.stop();
    rmSync(base, { recursive: true, force: true });
  };
  chain = await spawnDevnet(join(base, 'chain'));
  const c = chain;
  const start = async (name: string, extra: string[] = []) => {
    const echo = (l: string) => logs.push(`${name}: ${l}`);
    const n = await spawnNode({ name, datadir: join(base, name), args: [...c.nodeArgs, ...extra], echo });
    started.push(n);
    return n;
  };
  await body({ chain: c, start, log: (l) => logs.push(l) }).then(cleanUp, async (e: unknown) => {
    console.error(logs.slice(-150).join('\n'));
    await cleanUp();
    throw e;
  });
}

/** The node's confirmed on-chain balance (listfunds), in sat. */
export async function confirmedWalletSat(n: NodeProcess): Promise<bigint> {
  const f = await n.call<{ outputs: { amount_msat: number; status: string }[] }>('listfunds');
  const msat = f.outputs
    .filter((o) => o.status === 'confirmed')
    .reduce((t, o) => t + BigInt(o.amount_msat), 0n);
  return msat / 1000n;
}
