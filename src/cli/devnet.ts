// `shandian devnet`: the embedded regtest chain as its own process, serving Bitcoin Core's JSON-RPC so that
// nodes (`shandian start --bitcoin-rpcconnect ...`) and tools share one chain.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { parseHostPort } from '../node/config.ts';
import { UsageError } from '../node/errors.ts';
import type { GlobalOptions } from './main.ts';

export const DEVNET_DEFAULT_PORT = 18443;

export async function devnetCommand(global: GlobalOptions, args: string[]): Promise<number> {
  const cmd = new Command('devnet')
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .option('--rpc <host:port>', 'where to serve JSON-RPC', `127.0.0.1:${DEVNET_DEFAULT_PORT}`)
    .option('--chain-dir <dir>', 'where blocks, UTXO set and mempool live (default <datadir>/devnet-chain)')
    .option('--block-time <seconds>', 'mine a block every this many seconds')
    .option('--automine', 'mine a block as soon as a transaction enters the mempool', false)
    .option('--rpcuser <user>', 'fixed RPC user (the .cookie file works either way)')
    .option('--rpcpassword <password>', 'fixed RPC password');
  try {
    cmd.parse(args, { from: 'user' });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const o = cmd.opts<{
    rpc: string;
    chainDir?: string;
    blockTime?: string;
    automine: boolean;
    rpcuser?: string;
    rpcpassword?: string;
  }>();
  const rpc = parseHostPort(o.rpc, DEVNET_DEFAULT_PORT);
  const datadir = o.chainDir ?? join(global.datadir, 'devnet-chain');
  mkdirSync(datadir, { recursive: true, mode: 0o700 });
  let blockTimeMs: number | undefined;
  if (o.blockTime !== undefined) {
    const s = Number(o.blockTime);
    if (!Number.isFinite(s) || s <= 0)
      throw new UsageError('--block-time: expected a positive number of seconds');
    blockTimeMs = s * 1000;
  }
  if ((o.rpcuser === undefined) !== (o.rpcpassword === undefined)) {
    throw new UsageError('--rpcuser and --rpcpassword go together');
  }
  const { startDevnet } = await import('../chain/devnet/server.ts');
  const devnet = await startDevnet({
    datadir,
    host: rpc.host,
    port: rpc.port,
    automine: o.automine,
    ...(blockTimeMs === undefined ? {} : { blockTimeMs }),
    ...(o.rpcuser !== undefined && o.rpcpassword !== undefined
      ? { rpcUser: o.rpcuser, rpcPassword: o.rpcpassword }
      : {}),
  });
  process.stdout.write(`${JSON.stringify({ url: devnet.url, cookie: devnet.cookieFile, datadir })}\n`);
  process.stderr.write(
    `devnet: regtest chain serving Bitcoin Core JSON-RPC at ${devnet.url} (cookie ${devnet.cookieFile}); Ctrl-C to stop\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => void devnet.stop().then(resolve, resolve);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
