// A `shandian devnet` child process for end-to-end tests, ready to fund nodes and mine.
import { mkdirSync } from 'node:fs';
import type { BitcoindRpc } from '../../src/chain/bitcoind.ts';
import { spawnDevnet as spawnDevnetProcess } from '../../src/testing/processes.ts';

export interface Chain {
  readonly rpc: BitcoindRpc;
  /** `shandian start` options pointing a node at this chain. */
  readonly nodeArgs: string[];
  mine(n: number): Promise<void>;
  height(): Promise<number>;
  stop(): Promise<void>;
}

export async function waitUntil(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

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
