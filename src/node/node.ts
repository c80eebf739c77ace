// The composition root: builds every seam's adapter, wires the peer manager and the RPC server, and
// owns start-up and shutdown order.
import { hex } from '../core/bytes.ts';
import { systemEntropy } from '../crypto/random.ts';
import { publicKeyOf } from '../crypto/secp256k1.ts';
import { methodTable } from '../rpc/methods.ts';
import { type RpcServer, startRpcServer } from '../rpc/server.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import { openChain } from './chain-backend.ts';
import { ChainWatcher } from './chain-watch.ts';
import { ChannelDriver } from './channel-driver.ts';
import { channelCounts, channelMethods } from './channel-rpc.ts';
import { systemClock } from './clock.ts';
import type { NodeConfig } from './config.ts';
import { openNetworkDir } from './datadir.ts';
import { loadIdentity } from './identity.ts';
import { createLogger, type Logger } from './logger.ts';
import { Onchain } from './onchain.ts';
import { startOnionMessages } from './onion-messages.ts';
import { startPayments } from './payments-node.ts';
import { PeerManager } from './peer-manager.ts';
import { addressOf } from './peer-types.ts';
import { decodeMethods } from './rpc-invoices.ts';
import { peerMethods } from './rpc-peers.ts';
import { walletMethods } from './rpc-wallet.ts';
import { VERSION } from './version.ts';

export interface RunningNode {
  readonly id: string;
  readonly rpcPath: string;
  readonly listening: { host: string; port: number } | null;
  readonly peers: PeerManager;
  stop(): Promise<void>;
  onStop(fn: () => void): void;
}

export async function startNode(
  config: NodeConfig & { passphraseFile?: string },
  opts: { logger?: Logger } = {},
): Promise<RunningNode> {
  const dir = openNetworkDir(config.datadir, config.network.name);
  const log = opts.logger ?? createLogger({ file: dir.file('log'), level: config.logLevel, stderr: true });
  const identity = loadIdentity(config.datadir, config.network, config.passphraseFile, log);
  const nodeId = publicKeyOf(identity.nodeSecret);
  const idHex = hex(nodeId);
  const alias = config.alias || `shandian-${idHex.slice(0, 8)}`;
  const color = config.color || idHex.slice(2, 8);
  const store = openSqliteStore(dir.file('node.sqlite'));
  const chain = await openChain(config.network, dir.path, config.bitcoin);
  log.info({ backend: chain.description }, 'chain backend');
  const onchain = await Onchain.open({
    chain: chain.chain,
    keys: identity.keys,
    path: dir.file('wallet.sqlite'),
    log: log.child({ component: 'wallet' }),
  });
  onchain.start(config.chainPollMs);
  const peers = new PeerManager({
    nodeSecret: identity.nodeSecret,
    network: config.network,
    clock: systemClock,
    entropy: systemEntropy,
    store,
    log: log.child({ component: 'peers' }),
    pingIntervalMs: config.pingIntervalMs,
    pingTimeoutMs: config.pingTimeoutMs,
  });
  // Channels (channel-node): chain watches, the channel driver, restored before we accept connections.
  const watcher = new ChainWatcher(chain.chain, store, {
    start: await chain.chain.tip(),
    onError: (e) => log.warn({ err: (e as Error).message }, 'channel chain watch poll failed; will retry'),
  });
  const channels = new ChannelDriver({
    store,
    peers,
    onchain,
    watcher,
    keys: identity.keys,
    network: config.network,
    entropy: systemEntropy,
    clock: systemClock,
    log: log.child({ component: 'channels' }),
  });
  // Payments (payments-node): the HTLC switch listens to channel events, so it exists before they flow.
  const payments = startPayments({
    store,
    driver: channels,
    nodeSecret: identity.nodeSecret,
    network: config.network,
    clock: systemClock,
    entropy: systemEntropy,
    log: log.child({ component: 'payments' }),
  });
  const onionMessages = startOnionMessages({
    peers,
    driver: channels,
    nodeSecret: identity.nodeSecret,
    clock: systemClock,
    entropy: systemEntropy,
    log: log.child({ component: 'onion-messages' }),
  });
  await channels.start();
  payments.start();
  watcher.start(config.chainPollMs);
  let listening: { host: string; port: number } | null = null;
  if (config.listen) listening = await peers.listen(config.listen.host, config.listen.port);

  const stopListeners: (() => void)[] = [];
  let stopping: Promise<void> | null = null;
  let rpc: RpcServer | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log.info({}, 'shutting down');
      payments.close();
      await peers.close();
      await channels.close();
      await watcher.stop();
      await rpc?.close();
      await onchain.close();
      await chain.close();
      store.close();
      dir.release();
      log.info({}, 'stopped');
      for (const fn of stopListeners) fn();
    })();
    return stopping;
  };

  const getinfo = () => ({
    id: idHex,
    alias,
    color,
    num_peers: peers.list().filter((p) => p.connected).length,
    ...channelCounts(channels, new Set(peers.list().map((p) => p.id))),
    address: [],
    binding: listening ? [addressOf(listening.host, listening.port)] : [],
    version: VERSION,
    blockheight: onchain.tipHeight,
    network: config.network.name === 'devnet' ? 'regtest' : config.network.name,
    fees_collected_msat: 0,
    'lightning-dir': dir.path,
    our_features: { init: peers.ourInitFeaturesHex() },
    ...(chain.devnetUrl ? { devnet_rpc: chain.devnetUrl } : {}),
  });

  const table = methodTable([
    {
      name: 'getinfo',
      description: 'Show this node: id, alias, peers, addresses, network',
      params: [],
      handler: getinfo,
    },
    ...peerMethods(peers),
    ...walletMethods(onchain),
    ...channelMethods(channels, onchain, () => new Set(peers.list().map((p) => p.id))),
    ...payments.methods,
    ...onionMessages.methods,
    ...decodeMethods(),
    {
      name: 'stop',
      description: 'Shut the node down cleanly',
      params: [],
      handler: () => {
        setImmediate(() => void stop());
        return 'Shutdown complete';
      },
    },
    {
      name: 'help',
      description: 'List the commands',
      params: [{ name: 'command', type: 'string' }],
      handler: (p) => ({
        help: [...table.values()]
          .filter((m) => p.command === undefined || m.name === p.command)
          .map((m) => ({
            command:
              `${m.name} ${m.params.map((x) => (x.required ? x.name : `[${x.name}]`)).join(' ')}`.trim(),
            description: m.description,
          })),
      }),
    },
  ]);
  rpc = await startRpcServer(dir.file('lightning-rpc'), table, log.child({ component: 'rpc' }));
  log.info(
    {
      id: idHex,
      network: config.network.name,
      listen: listening ? `${listening.host}:${listening.port}` : 'none',
      rpc: rpc.path,
    },
    `${VERSION} started`,
  );
  return {
    id: idHex,
    rpcPath: rpc.path,
    listening,
    peers,
    stop,
    onStop: (fn) => stopListeners.push(fn),
  };
}
