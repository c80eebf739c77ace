// A `shandian devnet` child process for end-to-end tests, with a Bitcoin Core JSON-RPC client on it.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { BitcoindRpc } from '../../src/chain/bitcoind.ts';
import { SHANDIAN_BIN } from '../../src/testing/processes.ts';

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

export async function spawnDevnet(dir: string): Promise<Chain> {
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    process.execPath,
    [SHANDIAN_BIN, 'devnet', '--rpc', '127.0.0.1:0', '--chain-dir', dir],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stderr!.resume();
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i >= 0) resolve(buf.slice(0, i));
    });
    child.once('exit', (code) => reject(new Error(`devnet exited with ${code}`)));
  });
  const info = JSON.parse(line) as { url: string; cookie: string };
  const url = new URL(info.url);
  const port = Number(url.port);
  const rpc = new BitcoindRpc({
    rpcconnect: '127.0.0.1',
    rpcport: port,
    cookieFile: info.cookie,
    network: 'regtest',
  });
  const minerAddress = await rpc.call<string>('getnewaddress');
  await rpc.call('generatetoaddress', [101, minerAddress]);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    rpc,
    nodeArgs: [
      '--bitcoin-rpcconnect',
      '127.0.0.1',
      '--bitcoin-rpcport',
      String(port),
      '--bitcoin-datadir',
      dir,
      '--chain-poll',
      '0.2',
    ],
    mine: async (n) => {
      await rpc.call('generatetoaddress', [n, minerAddress]);
    },
    height: async () => rpc.call<number>('getblockcount'),
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
