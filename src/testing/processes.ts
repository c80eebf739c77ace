// Real node processes for the demo and end-to-end tests: `shandian start` children on loopback, driven over RPC.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BitcoindRpc } from '../chain/bitcoind.ts';
import { RpcClient } from '../rpc/client.ts';
import { repoRoot } from './spec.ts';

export interface NodeProcess {
  readonly name: string;
  readonly datadir: string;
  readonly network: string;
  readonly rpc: RpcClient;
  readonly child: ChildProcess;
  /** stderr lines so far (the node's human log). */
  readonly log: string[];
  call<T = unknown>(method: string, params?: unknown): Promise<T>;
  stop(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export const SHANDIAN_BIN = join(repoRoot, 'bin', 'shandian.mjs');

/**
 * Polls `check` until it holds; throws after `timeoutMs`. A check that throws counts as "not yet" unless
 * `failFast` is set, when its error ends the wait at once.
 */
export async function waitUntil(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  opts: { pollMs?: number; failFast?: boolean } = {},
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await (opts.failFast ? check() : check().catch(() => false))) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 100));
  }
}

export async function spawnNode(opts: {
  name: string;
  datadir: string;
  network?: string;
  args?: string[];
  echo?: (line: string) => void;
}): Promise<NodeProcess> {
  const network = opts.network ?? 'devnet';
  mkdirSync(opts.datadir, { recursive: true });
  const child = spawn(
    process.execPath,
    [
      // Extra node flags for the node processes only (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`), for profiling.
      ...(process.env.SHANDIAN_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
      SHANDIAN_BIN,
      'start',
      '--network',
      network,
      '--datadir',
      opts.datadir,
      '--listen',
      '127.0.0.1:0',
      '--alias',
      opts.name,
      ...(opts.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const log: string[] = [];
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? -1));
  let partial = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    const lines = (partial + d).split('\n');
    partial = lines.pop()!;
    for (const l of lines) {
      log.push(l);
      opts.echo?.(l);
    }
  });
  child.stdout!.resume();
  const rpcPath = join(opts.datadir, network, 'lightning-rpc');
  const rpc = new RpcClient(rpcPath);
  await waitUntil(
    async () => {
      if (exited !== null)
        throw new Error(`${opts.name} exited with ${exited} during start-up:\n${log.join('\n')}`);
      if (!existsSync(rpcPath)) return false;
      try {
        await rpc.call('getinfo');
        return true;
      } catch {
        return false;
      }
    },
    // Generous: on a loaded 2-core machine tsx start-up alone can take tens of seconds.
    90_000,
    `${opts.name} to start`,
    { pollMs: 50, failFast: true },
  );
  const exitedPromise = new Promise<void>((resolve) =>
    exited !== null ? resolve() : child.once('exit', () => resolve()),
  );
  return {
    name: opts.name,
    datadir: opts.datadir,
    network,
    rpc,
    child,
    log,
    call: (method, params) => rpc.call(method, params),
    async stop() {
      if (exited === null) {
        await rpc.call('stop').catch(() => {});
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exitedPromise;
        clearTimeout(timer);
      }
      rpc.close();
    },
    async kill(signal = 'SIGKILL') {
      rpc.close();
      if (exited === null) {
        child.kill(signal);
        await exitedPromise;
      }
    },
  };
}

export function nodeDir(base: string, name: string): string {
  return join(base, name);
}

export interface DevnetProcess {
  readonly url: string;
  readonly port: number;
  readonly chainDir: string;
  readonly rpc: BitcoindRpc;
  /** Flags that point a node at this devnet. */
  readonly nodeArgs: string[];
  stop(): Promise<void>;
}

/** `shandian devnet` as its own process on a free loopback port. */
export async function spawnDevnet(chainDir: string, extra: string[] = []): Promise<DevnetProcess> {
  const child = spawn(
    process.execPath,
    [SHANDIAN_BIN, 'devnet', '--rpc', '127.0.0.1:0', '--chain-dir', chainDir, ...extra],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`devnet exited with ${code}: ${err}`)));
  });
  const { url } = JSON.parse(line) as { url: string };
  const port = Number(new URL(url).port);
  const rpc = new BitcoindRpc({
    rpcconnect: '127.0.0.1',
    rpcport: port,
    datadir: chainDir,
    network: 'regtest',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    port,
    chainDir,
    rpc,
    nodeArgs: [
      '--bitcoin-rpcconnect',
      '127.0.0.1',
      '--bitcoin-rpcport',
      String(port),
      '--bitcoin-datadir',
      chainDir,
    ],
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}
