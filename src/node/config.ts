// Networks and node configuration. `devnet` is the embedded regtest chain: peers see an ordinary regtest.
import { fromHex } from '../core/bytes.ts';
import { UsageError } from './errors.ts';

export type NetworkName = 'devnet' | 'regtest' | 'signet' | 'testnet' | 'bitcoin';

export interface NetworkParams {
  readonly name: NetworkName;
  /** BOLT chain_hash: the genesis block hash in internal byte order. */
  readonly chainHash: Uint8Array;
  readonly bech32Hrp: string;
  readonly invoiceHrp: string;
  /** BIP44 coin type: 0 for bitcoin, 1 for every test network. */
  readonly coinType: number;
  readonly defaultPort: number;
}

const REGTEST_GENESIS = '06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f';

export const NETWORKS: Readonly<Record<NetworkName, NetworkParams>> = {
  devnet: {
    name: 'devnet',
    chainHash: fromHex(REGTEST_GENESIS),
    bech32Hrp: 'bcrt',
    invoiceHrp: 'bcrt',
    coinType: 1,
    defaultPort: 19846,
  },
  regtest: {
    name: 'regtest',
    chainHash: fromHex(REGTEST_GENESIS),
    bech32Hrp: 'bcrt',
    invoiceHrp: 'bcrt',
    coinType: 1,
    defaultPort: 19846,
  },
  signet: {
    name: 'signet',
    chainHash: fromHex('f61eee3b63a380a477a063af32b2bbc97c9ff9f01f2c4225e973988108000000'),
    bech32Hrp: 'tb',
    invoiceHrp: 'tbs',
    coinType: 1,
    defaultPort: 39735,
  },
  testnet: {
    name: 'testnet',
    chainHash: fromHex('43497fd7f826957108f4a30fd9cec3aeba79972084e90ead01ea330900000000'),
    bech32Hrp: 'tb',
    invoiceHrp: 'tb',
    coinType: 1,
    defaultPort: 19735,
  },
  bitcoin: {
    name: 'bitcoin',
    chainHash: fromHex('6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000'),
    bech32Hrp: 'bc',
    invoiceHrp: 'bc',
    coinType: 0,
    defaultPort: 9735,
  },
};

export function parseNetwork(text: string): NetworkName {
  const name = text === 'mainnet' ? 'bitcoin' : text;
  if (name in NETWORKS) return name as NetworkName;
  throw new UsageError(`unknown network '${text}': expected devnet, regtest, signet, testnet or bitcoin`);
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Parses `host:port`, `[v6]:port` or `host` (with a default port). */
export function parseHostPort(text: string, defaultPort?: number): HostPort {
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(text);
  const plain = /^([^:\s]+)(?::(\d+))?$/.exec(text);
  const m = v6 ?? plain;
  const portText = m?.[2];
  const port = portText === undefined ? defaultPort : Number(portText);
  if (!m || port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`bad address '${text}': expected host:port`);
  }
  return { host: m[1]!, port };
}

export interface NodeConfig {
  readonly network: NetworkParams;
  /** The base data folder; the node's files live in `<datadir>/<network>/`. */
  readonly datadir: string;
  readonly listen: HostPort | null;
  readonly alias: string;
  readonly color: string;
  /** Keep-alive: ping a quiet peer after this long, and drop it if no pong comes back within the timeout. */
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
  readonly logLevel: string;
  /** Core Lightning's --bitcoin-* options; none on devnet means an embedded devnet chain. */
  readonly bitcoin: {
    readonly rpcconnect?: string;
    readonly rpcport?: number;
    readonly rpcuser?: string;
    readonly rpcpassword?: string;
    readonly datadir?: string;
  };
  /** How often to poll the chain for new blocks. */
  readonly chainPollMs: number;
}
