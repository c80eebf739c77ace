// `shandian start`: run a node until `shandian stop` or a signal.
import { Command } from 'commander';
import { NETWORKS, type NodeConfig, parseHostPort } from '../node/config.ts';
import { UsageError } from '../node/errors.ts';
import type { GlobalOptions } from './main.ts';

export function parseStartOptions(
  global: GlobalOptions,
  args: string[],
): NodeConfig & { passphraseFile?: string } {
  const cmd = new Command('start')
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .option(
      '--listen <host:port>',
      'address to accept peers on (default 127.0.0.1:<network port>); "none" to not listen',
    )
    .option('--alias <name>', 'node alias', '')
    .option('--rgb <hex>', 'node color, 6 hex digits', '')
    .option('--log-level <level>', 'debug | info | warn | error', 'info')
    .option('--ping-interval <seconds>', 'ping a quiet peer after this many seconds', '60')
    .option('--ping-timeout <seconds>', 'drop a peer whose pong is this late', '30')
    .option('--passphrase-file <file>', 'file holding the passphrase that encrypts the seed')
    .option('--bitcoin-rpcconnect <host>', 'Bitcoin Core (or shandian devnet) JSON-RPC host')
    .option('--bitcoin-rpcport <port>', 'its JSON-RPC port')
    .option('--bitcoin-rpcuser <user>', 'its RPC user')
    .option('--bitcoin-rpcpassword <password>', 'its RPC password')
    .option('--bitcoin-datadir <dir>', 'its data folder, to read the .cookie')
    .option('--chain-poll <seconds>', 'how often to look for new blocks', '1');
  try {
    cmd.parse(args, { from: 'user' });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const o = cmd.opts<{
    listen?: string;
    alias: string;
    rgb: string;
    logLevel: string;
    pingInterval: string;
    pingTimeout: string;
    passphraseFile?: string;
    bitcoinRpcconnect?: string;
    bitcoinRpcport?: string;
    bitcoinRpcuser?: string;
    bitcoinRpcpassword?: string;
    bitcoinDatadir?: string;
    chainPoll: string;
  }>();
  const network = NETWORKS[global.network];
  if (o.rgb && !/^[0-9a-fA-F]{6}$/.test(o.rgb))
    throw new UsageError(`--rgb: expected 6 hex digits, got '${o.rgb}'`);
  const seconds = (flag: string, v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag}: expected a positive number of seconds`);
    return n * 1000;
  };
  return {
    network,
    datadir: global.datadir,
    listen:
      o.listen === 'none'
        ? null
        : parseHostPort(o.listen ?? `127.0.0.1:${network.defaultPort}`, network.defaultPort),
    alias: o.alias,
    color: o.rgb.toLowerCase(),
    pingIntervalMs: seconds('--ping-interval', o.pingInterval),
    pingTimeoutMs: seconds('--ping-timeout', o.pingTimeout),
    logLevel: o.logLevel,
    bitcoin: {
      ...(o.bitcoinRpcconnect !== undefined ? { rpcconnect: o.bitcoinRpcconnect } : {}),
      ...(o.bitcoinRpcport !== undefined ? { rpcport: parseHostPort(`h:${o.bitcoinRpcport}`).port } : {}),
      ...(o.bitcoinRpcuser !== undefined ? { rpcuser: o.bitcoinRpcuser } : {}),
      ...(o.bitcoinRpcpassword !== undefined ? { rpcpassword: o.bitcoinRpcpassword } : {}),
      ...(o.bitcoinDatadir !== undefined ? { datadir: o.bitcoinDatadir } : {}),
    },
    chainPollMs: seconds('--chain-poll', o.chainPoll),
    ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}),
  };
}

export async function startCommand(global: GlobalOptions, args: string[]): Promise<number> {
  const config = parseStartOptions(global, args);
  const { startNode } = await import('../node/node.ts');
  const node = await startNode(config);
  const stopped = new Promise<void>((resolve) => node.onStop(resolve));
  const onSignal = () => void node.stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  await stopped;
  return 0;
}
