// The in-memory N-node harness (DESIGN.md "Testing"): N nodes built from the real shell pieces (peer
// manager, channel driver + executor, HTLC switch, payer, invoice book, on-chain wallet, chain watches),
// each with its own Store, wired by paired in-memory transports instead of TCP + Noise, on one devnet
// chain that each node sees block by block in a shuffled order. Time is a ManualClock; entropy is seeded.
//
// Anything an honest network should never do fails the test: a warning or error logged by a node, an
// error or warning message received, a thrown exception or unhandled rejection, a message no handler
// takes. A crashed node's leftover work (timers, pending writes) is fenced off: it can neither write its
// store nor log, as after a real crash.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressFromScript } from '../bitcoin/address.ts';
import { Devnet } from '../chain/devnet/node.ts';
import { DevnetWallet } from '../chain/devnet/wallet.ts';
import { concat, hex, u32be } from '../core/bytes.ts';
import type { Msat, Sat } from '../core/units.ts';
import { sha256 } from '../crypto/index.ts';
import type { EntropySource } from '../crypto/random.ts';
import { KeyChain } from '../keys/derivation.ts';
import { ChainWatcher } from '../node/chain-watch.ts';
import { type Channel, ChannelDriver } from '../node/channel-driver.ts';
import type { Clock } from '../node/clock.ts';
import { NETWORKS } from '../node/config.ts';
import type { Logger } from '../node/logger.ts';
import { Onchain } from '../node/onchain.ts';
import { type Payments, startPayments } from '../node/payments-node.ts';
import { type PeerDialer, PeerManager } from '../node/peer-manager.ts';
import type { PeerMessage } from '../node/peer-wire.ts';
import { memoryStore } from '../store/sqlite.ts';
import type { Store } from '../store/store.ts';
import { HarnessFailure } from './channel-harness.ts';
import { LaggingChain } from './lagging-chain.ts';
import { ManualClock } from './manual-clock.ts';
import { MemoryNetwork, SeededRandom } from './memory-transport.ts';

export { HarnessFailure };

const NETWORK = NETWORKS.regtest;
const PORT = 9735;
/**
 * Messages the layers above the peer manager take: the channel driver's set (not exported there) plus
 * open_channel. Anything else delivered to the handlers is a message nobody handles.
 */
const HANDLED = new Set<string>(
  (
    'open_channel accept_channel funding_created funding_signed channel_ready shutdown closing_signed ' +
    'update_add_htlc update_fulfill_htlc update_fail_htlc update_fail_malformed_htlc commitment_signed ' +
    'revoke_and_ack update_fee channel_reestablish'
  ).split(' '),
);
const BURN_SCRIPT = new Uint8Array([0x00, 0x14, ...new Uint8Array(20).fill(0xbb)]);

/** Deterministic entropy: sha256(seed || counter), never repeating within a node's life (restarts included). */
export class SeededEntropy implements EntropySource {
  private n = 0;
  constructor(private readonly seed: Uint8Array) {}
  randomBytes(len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let off = 0; off < len; off += 32) {
      const block = sha256(concat(this.seed, u32be(this.n++)));
      out.set(block.subarray(0, Math.min(32, len - off)), off);
    }
    return out;
  }
}

/** One life of a node between start and crash/stop: its leftovers must not act after it ends. */
interface Incarnation {
  alive: boolean;
  readonly n: number;
}

export interface LogLine {
  readonly node: string;
  readonly life: number;
  readonly level: string;
  readonly msg: string;
  readonly data: Record<string, unknown>;
}

export interface NetNode {
  readonly name: string;
  readonly index: number;
  readonly host: string;
  readonly id: string;
  readonly nodeId: Uint8Array;
  readonly nodeSecret: Uint8Array;
  readonly keys: KeyChain;
  /** Kept across restarts: what the node finds when it starts again. */
  readonly store: Store;
  readonly chain: LaggingChain;
  readonly entropy: SeededEntropy;
  readonly walletPath: string;
  life: Incarnation | null;
  peers: PeerManager;
  onchain: Onchain;
  watcher: ChainWatcher;
  channels: ChannelDriver;
  payments: Payments;
  /** The running life's logger (what the node's components log through). */
  log: Logger;
  /** Durable batches written (all lives): activity the settle loop watches. */
  writes: number;
}

export interface NetworkOptions {
  readonly seed: number;
  readonly nodes: number;
  /** Log lines (level + message substring) that are expected in this test and not failures. */
  readonly tolerate?: readonly { level: 'warn' | 'error'; msg: string }[];
}

function fencedStore(node: { store: Store; writes: number }, life: Incarnation): Store {
  return {
    get: (ns, key) => node.store.get(ns, key),
    list: (ns) => node.store.list(ns),
    batch: (ops) => {
      // A dead process writes nothing; its leftover work runs on but leaves no trace.
      if (!life.alive) return;
      node.store.batch(ops);
      node.writes++;
    },
    close: () => {},
  };
}

function fencedClock(clock: ManualClock, life: Incarnation): Clock {
  return {
    now: () => clock.now(),
    after: (ms, fn) =>
      clock.after(ms, () => {
        if (life.alive) fn();
      }),
  };
}

export class Network {
  readonly clock = new ManualClock(1_767_225_600_000);
  readonly rng: SeededRandom;
  readonly links: MemoryNetwork;
  readonly devnet: Devnet;
  readonly nodes: NetNode[] = [];
  /** Every failure seen (logged warnings/errors, errors received, unhandled messages, exceptions). */
  readonly problems: string[] = [];
  readonly logs: LogLine[] = [];
  private readonly dir: string;
  private readonly onUnhandled = (e: unknown) => {
    this.problems.push(`unhandled rejection/exception: ${(e as Error)?.stack ?? String(e)}`);
  };

  private constructor(private readonly opts: NetworkOptions) {
    this.rng = new SeededRandom(opts.seed);
    this.links = new MemoryNetwork(this.rng);
    this.links.onError = (e) => this.problems.push(`message handler threw: ${(e as Error).stack}`);
    this.dir = mkdtempSync(join(tmpdir(), 'shandian-net-'));
    this.devnet = new Devnet({
      datadir: join(this.dir, 'chain'),
      now: () => Math.floor(this.clock.now() / 1000),
    });
    process.on('unhandledRejection', this.onUnhandled);
    process.on('uncaughtException', this.onUnhandled);
  }

  /** N nodes, started, each with spendable coins (a matured coinbase) seen by its wallet. */
  static async create(opts: NetworkOptions): Promise<Network> {
    const net = new Network(opts);
    // A faucet with matured coinbases pays each node (the nodes' wallets start at the tip then).
    const faucet = new DevnetWallet(net.devnet, new SeededEntropy(u32be(opts.seed)));
    net.devnet.mine(100 + opts.nodes, faucet.miningScript);
    for (let i = 0; i < opts.nodes; i++) await net.addNode(i);
    for (const n of net.nodes) {
      const address = addressFromScript('regtest', n.onchain.wallet.newReceiveScript().script)!;
      for (let k = 0; k < 4; k++) {
        const sent = faucet.send(address, 5_000_000n);
        if (!sent.ok) throw new HarnessFailure(`faucet: ${sent.error.message}`);
      }
    }
    net.mine(1);
    await net.deliverAllBlocks();
    net.check();
    return net;
  }

  /** `create`, then a channel between each node and the next, funded by the left one (pushing `push`). */
  static async line(opts: NetworkOptions & { amount: Sat; push: Msat }): Promise<Network> {
    const net = await Network.create(opts);
    try {
      for (let i = 0; i + 1 < net.nodes.length; i++)
        await net.openChannel(net.nodes[i]!, net.nodes[i + 1]!, opts.amount, opts.push);
    } catch (e) {
      await net.close();
      throw e;
    }
    return net;
  }

  height(): number {
    return this.devnet.entry(this.devnet.tipId)!.height;
  }

  node(name: string): NetNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new HarnessFailure(`no node ${name}`);
    return n;
  }

  private async addNode(index: number): Promise<void> {
    const name = String.fromCharCode(65 + index);
    const seed = sha256(new TextEncoder().encode(`shandian-net/${this.opts.seed}/${name}`));
    const keys = new KeyChain(seed, 'regtest');
    const nodeSecret = keys.nodeKey().secret;
    const node = {
      name,
      index,
      host: `127.0.0.${index + 1}`,
      nodeSecret,
      keys,
      store: memoryStore(),
      chain: new LaggingChain(this.devnet, this.height()),
      entropy: new SeededEntropy(sha256(concat(seed, new TextEncoder().encode('entropy')))),
      walletPath: join(this.dir, `${name}-wallet.sqlite`),
      life: null,
      writes: 0,
    } as unknown as NetNode;
    const id = keys.nodeKey().pubkey;
    Object.assign(node, { id: hex(id), nodeId: id });
    this.nodes.push(node);
    await this.start(node);
  }

  private logger(node: NetNode, life: Incarnation, bindings: Record<string, unknown>): Logger {
    const log =
      (level: 'debug' | 'info' | 'warn' | 'error') =>
      (obj: object, msg: string): void => {
        if (!life.alive) return;
        const line: LogLine = { node: node.name, life: life.n, level, msg, data: { ...bindings, ...obj } };
        this.logs.push(line);
        if (this.logs.length > 5000) this.logs.splice(0, 1000);
        if (
          (level === 'warn' || level === 'error') &&
          !(this.opts.tolerate ?? []).some((t) => t.level === level && msg.includes(t.msg))
        )
          this.problems.push(`${node.name} logged ${level}: ${msg} ${JSON.stringify(line.data, jsonSafe)}`);
      };
    return {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      child: (b) => this.logger(node, life, { ...bindings, ...b }),
    };
  }

  private dialer(from: NetNode, life: Incarnation): PeerDialer {
    return async (req) => {
      const to = this.nodes.find((n) => n.host === req.host && req.port === PORT);
      if (!life.alive) throw new Error('dialling node crashed');
      if (!to?.life?.alive) throw new Error('connection refused');
      if (hex(req.remotePubkey) !== to.id) throw new Error('handshake failed: not the expected key');
      const { atDialer, atListener } = this.links.pair(from.nodeId, from.host, to.nodeId, to.host, PORT);
      to.peers.accept(atListener);
      return atDialer;
    };
  }

  /** Builds a node's shell pieces over its store, in node.ts's order. */
  async start(node: NetNode): Promise<void> {
    if (node.life?.alive) throw new HarnessFailure(`${node.name} is already running`);
    const life: Incarnation = { alive: true, n: (node.life?.n ?? 0) + 1 };
    node.life = life;
    const store = fencedStore(node, life);
    const clock = fencedClock(this.clock, life);
    const log = this.logger(node, life, {});
    const peers = new PeerManager({
      nodeSecret: node.nodeSecret,
      network: NETWORK,
      clock,
      entropy: node.entropy,
      store,
      log: log.child({ component: 'peers' }),
      // Keep-alive pings every minute: the settle loop moves the clock by seconds.
      pingIntervalMs: 60_000,
      pingTimeoutMs: 30_000,
      dial: this.dialer(node, life),
    });
    peers.onMessage((peerId, m) => this.checkMessage(node, peerId, m));
    const onchain = await Onchain.open({
      chain: node.chain,
      keys: node.keys,
      path: node.walletPath,
      log: log.child({ component: 'wallet' }),
    });
    const watcher = new ChainWatcher(node.chain, store, {
      start: await node.chain.tip(),
      onError: (e) => this.problems.push(`${node.name} chain watch: ${(e as Error).stack}`),
    });
    const channels = new ChannelDriver({
      store,
      peers,
      onchain,
      watcher,
      keys: node.keys,
      network: NETWORK,
      entropy: node.entropy,
      clock,
      log: log.child({ component: 'channels' }),
    });
    const payments = startPayments({
      store,
      driver: channels,
      nodeSecret: node.nodeSecret,
      network: NETWORK,
      clock,
      entropy: node.entropy,
      log: log.child({ component: 'payments' }),
    });
    Object.assign(node, { peers, onchain, watcher, channels, payments, log });
    await channels.start();
    payments.start();
  }

  private checkMessage(node: NetNode, peerId: string, m: PeerMessage): void {
    if (m.type === 'error' || m.type === 'warning') {
      this.problems.push(`${node.name} received ${m.type} from ${this.nameOf(peerId)}: ${m.text}`);
      return;
    }
    if (m.type === 'other' && !HANDLED.has(m.message.type))
      this.problems.push(`${node.name}: no handler took ${m.message.type} from ${this.nameOf(peerId)}`);
  }

  nameOf(id: string): string {
    return this.nodes.find((n) => n.id === id)?.name ?? id.slice(0, 8);
  }

  /** The node dies: its links drop, nothing it had not written survives, its timers never fire. */
  async crash(node: NetNode): Promise<void> {
    if (!node.life?.alive) return;
    node.life.alive = false;
    this.links.cut(node.host);
    await node.onchain.close();
  }

  /** A clean shutdown in node.ts's order. */
  async stop(node: NetNode): Promise<void> {
    if (!node.life?.alive) return;
    node.payments.close();
    await node.peers.close();
    await node.channels.close();
    await node.watcher.stop();
    await node.onchain.close();
    node.life.alive = false;
  }

  async restart(node: NetNode, how: 'crash' | 'clean'): Promise<void> {
    if (how === 'crash') await this.crash(node);
    else await this.stop(node);
    await this.start(node);
  }

  /** Connects two running nodes (a dials b) and waits for init to be exchanged. */
  async connect(a: NetNode, b: NetNode): Promise<void> {
    await a.peers.connect(b.nodeId, b.host, PORT);
  }

  /** Drops the link between two nodes (both stay up; the dialler reconnects after its backoff). */
  disconnect(a: NetNode, b: NetNode): number {
    return this.links.cutBetween(a.host, b.host);
  }

  connected(a: NetNode, b: NetNode): boolean {
    return a.peers.list().some((p) => p.id === b.id);
  }

  /** Mines `n` blocks with the mempool's transactions; no node sees them until they are delivered. */
  mine(n: number): void {
    this.devnet.mine(n, BURN_SCRIPT);
  }

  /** Shows `node` the next block it has not seen, if any; true when there was one. */
  async deliverBlock(node: NetNode): Promise<boolean> {
    if (!node.life?.alive || node.chain.visible >= this.height()) return false;
    node.chain.visible++;
    await this.sync(node);
    return true;
  }

  /** Delivers every mined block to every running node: block by block, nodes in a shuffled order. */
  async deliverAllBlocks(): Promise<void> {
    for (;;) {
      const behind = this.nodes.filter((n) => n.life?.alive && n.chain.visible < this.height());
      if (behind.length === 0) return;
      for (const n of this.rng.shuffle(behind)) {
        await this.deliverBlock(n);
        await this.drain();
      }
    }
  }

  private async sync(node: NetNode): Promise<void> {
    await node.onchain.sync();
    await node.watcher.sync();
  }

  /**
   * Opens a channel a -> b (a funds `amount`, pushes `push`), mines it six deep and delivers the blocks;
   * resolves when both sides are in `normal`.
   */
  async openChannel(a: NetNode, b: NetNode, amount: Sat, push: Msat): Promise<{ a: Channel; b: Channel }> {
    if (!this.connected(a, b)) await this.connect(a, b);
    const funded = await a.channels.open(b.id, {
      amount,
      feerate: 2500 as never,
      announce: false,
      pushMsat: push,
    });
    await this.drain();
    this.mine(6);
    await this.deliverAllBlocks();
    await this.settle();
    const mine = a.channels.find(funded.channel_id);
    const theirs = b.channels.find(funded.channel_id);
    if (mine?.state.phase !== 'normal' || theirs?.state.phase !== 'normal')
      throw new HarnessFailure(
        `channel ${a.name}-${b.name} not normal after opening: ${mine?.state.phase}/${theirs?.state.phase}`,
      );
    return { a: mine, b: theirs };
  }

  /** Activity counter: messages delivered and durable writes anywhere. */
  private activity(): number {
    return this.links.delivered + this.nodes.reduce((s, n) => s + n.writes, 0);
  }

  /** Runs the event loop until no message is in flight and nothing moved for a few turns. */
  async drain(maxTurns = 200_000): Promise<void> {
    let last = -1;
    let still = 0;
    for (let i = 0; i < maxTurns; i++) {
      await new Promise<void>((r) => setImmediate(r));
      const now = this.activity();
      if (now === last && this.links.inFlight === 0) {
        if (++still >= 4) return;
      } else {
        still = 0;
        last = now;
      }
    }
    throw new HarnessFailure(`the network did not go quiet within ${maxTurns} turns`);
  }

  /** Every channel whose two nodes are running has its peers connected. */
  private linksUp(): boolean {
    for (const n of this.nodes) {
      if (!n.life?.alive) continue;
      for (const ch of n.channels.list()) {
        if (ch.state.phase === 'closed') continue;
        const peer = this.nodes.find((p) => p.id === ch.peerId);
        if (peer?.life?.alive && !this.connected(n, peer)) return false;
      }
    }
    return true;
  }

  /**
   * Quiescence: drains, then moves the clock a second at a time (reconnect backoffs, switch retries,
   * payment timeouts) until three rounds in a row change nothing and every channel's peers are back.
   */
  async settle(maxSeconds = 900): Promise<void> {
    let quiet = 0;
    for (let s = 0; s <= maxSeconds; s++) {
      const before = this.activity();
      await this.drain();
      if (this.activity() === before && this.linksUp()) {
        if (++quiet >= 3) return;
      } else quiet = 0;
      this.clock.advance(1000);
    }
    throw new HarnessFailure(`the network did not settle within ${maxSeconds} s of clock`);
  }

  /** Throws the failures seen so far, with the last log lines. */
  check(): void {
    if (this.problems.length === 0) return;
    const tail = this.logs
      .slice(-40)
      .map((l) => `  ${l.node}#${l.life} ${l.level} ${l.msg} ${JSON.stringify(l.data, jsonSafe)}`);
    throw new HarnessFailure(
      `${this.problems.length} problem(s):\n${this.problems.slice(0, 10).join('\n')}\nlast log lines:\n${tail.join('\n')}`,
    );
  }

  async close(): Promise<void> {
    for (const n of this.nodes) await this.stop(n).catch(() => undefined);
    // Leftover immediates of the last turns must still find their listeners.
    await this.drain().catch(() => undefined);
    process.off('unhandledRejection', this.onUnhandled);
    process.off('uncaughtException', this.onUnhandled);
    this.devnet.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function jsonSafe(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return hex(v);
  return v;
}
