// Picks the chain backend: Bitcoin Core over JSON-RPC when any --bitcoin-* option is given (or on a public
// network), otherwise, on devnet, an embedded devnet chain in this process.

import { homedir } from 'node:os';
import { join } from 'node:path';
import { BitcoindChain, type BitcoindConfig } from '../chain/bitcoind.ts';
import { DevnetChain } from '../chain/devnet/adapter.ts';
import type { Broadcaster, ChainSource, FeeEstimator } from '../chain/seams.ts';
import type { NetworkParams } from './config.ts';
import { UsageError } from './errors.ts';

export type ChainBackend = ChainSource & Broadcaster & FeeEstimator;

export interface BitcoinOptions {
  readonly rpcconnect?: string;
  readonly rpcport?: number;
  readonly rpcuser?: string;
  readonly rpcpassword?: string;
  readonly datadir?: string;
}

export interface OpenedChain {
  readonly chain: ChainBackend;
  readonly description: string;
  /** The embedded devnet's own JSON-RPC address, when there is one (for mining from outside). */
  readonly devnetUrl?: string;
  close(): Promise<void>;
}

function given(o: BitcoinOptions): boolean {
  return Object.values(o).some((v) => v !== undefined);
}

export async function openChain(
  network: NetworkParams,
  nodeDir: string,
  bitcoin: BitcoinOptions,
): Promise<OpenedChain> {
  if (network.name === 'devnet' && !given(bitcoin)) {
    const { startDevnet } = await import('../chain/devnet/server.ts');
    const devnet = await startDevnet({ datadir: join(nodeDir, 'chain'), host: '127.0.0.1', port: 0 });
    return {
      chain: new DevnetChain(devnet.node),
      description: `embedded devnet (${devnet.url})`,
      devnetUrl: devnet.url,
      close: () => devnet.stop(),
    };
  }
  // Every other case is Bitcoin Core: with no options, its usual local port and cookie (~/.bitcoin).
  const config: BitcoindConfig = {
    network: network.name === 'devnet' ? 'regtest' : network.name,
    ...(bitcoin.rpcconnect !== undefined ? { rpcconnect: bitcoin.rpcconnect } : {}),
    ...(bitcoin.rpcport !== undefined ? { rpcport: bitcoin.rpcport } : {}),
    ...(bitcoin.rpcuser !== undefined ? { rpcuser: bitcoin.rpcuser } : {}),
    ...(bitcoin.rpcpassword !== undefined ? { rpcpassword: bitcoin.rpcpassword } : {}),
    datadir: bitcoin.datadir ?? join(homedir(), '.bitcoin'),
  };
  if ((bitcoin.rpcuser === undefined) !== (bitcoin.rpcpassword === undefined)) {
    throw new UsageError('--bitcoin-rpcuser and --bitcoin-rpcpassword go together');
  }
  const chain = new BitcoindChain(config);
  try {
    await chain.tip();
  } catch (e) {
    throw new UsageError(`cannot reach Bitcoin Core JSON-RPC: ${(e as Error).message}`);
  }
  return {
    chain,
    description: `bitcoind at ${bitcoin.rpcconnect ?? '127.0.0.1'}:${bitcoin.rpcport ?? 'default port'}`,
    close: async () => {},
  };
}
