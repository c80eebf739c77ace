// Real ChannelDrivers (one per node) over fakes: peers wired in memory (every message through the real
// codec), one FakeChain with a mempool the test mines, real Wallets, ChainWatchers and SQLite stores in
// memory, a ManualClock. One shared log records, in order, what left each node (messages, broadcasts).
import { parseTx, reversedHex, serializeTx, type Transaction, txidHex } from '../../src/bitcoin/tx.ts';
import { encodeMessage } from '../../src/bolt01-wire/index.ts';
import { hex } from '../../src/core/bytes.ts';
import { type FeeratePerKw, type Msat, type Sat, sat } from '../../src/core/units.ts';
import { sha256 } from '../../src/crypto/index.ts';
import { KeyChain } from '../../src/keys/derivation.ts';
import { ChainWatcher } from '../../src/node/chain-watch.ts';
import { type Channel, ChannelDriver, type FundResult } from '../../src/node/channel-driver.ts';
import { NETWORKS } from '../../src/node/config.ts';
import { memoryLogger } from '../../src/node/logger.ts';
import type { Onchain } from '../../src/node/onchain.ts';
import type { PeerManager } from '../../src/node/peer-manager.ts';
import { decodePeerMessage, type PeerMessage } from '../../src/node/peer-wire.ts';
import { memoryStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/store.ts';
import { ManualClock } from '../../src/testing/manual-clock.ts';
import { Wallet } from '../../src/wallet/wallet.ts';
import { FakeChain } from './fake-chain.ts';

let nonce = 0;

export const tick = () => new Promise<void>((r) => setImmediate(r));

/** Lets every queued message, durable write and event run. */
export async function settle(rounds = 40): Promise<void> {
  for (let i = 0; i < rounds; i++) await tick();
}

export class TestNet {
  readonly chain = new FakeChain();
  readonly mempool = new Map<string, Transaction>();
  /** "<node> <what>" in the order it happened: "alice send error", "alice broadcast <txid>". */
  readonly log: string[] = [];
  readonly clock = new ManualClock();
  readonly nodes: TestNode[] = [];
  refuseBroadcasts = false;
  /** Init features every peer shows (hex): '400000' offers option_anchors_zero_fee_htlc_tx (bit 22). */
  peerFeatures = '';

  async node(name: string): Promise<TestNode> {
    const n = new TestNode(this, name);
    await n.start();
    this.nodes.push(n);
    return n;
  }

  broadcast(from: string, raw: Uint8Array): void {
    const tx = parseTx(raw);
    const id = txidHex(tx);
    this.log.push(`${from} broadcast ${id}`);
    if (this.refuseBroadcasts) throw new Error('broadcast refused (test)');
    this.mempool.set(id, tx);
  }

  /** Mines `n` blocks (the first takes the mempool, or only `only` of it) and lets every node follow. */
  async mine(n = 1, only?: readonly string[]): Promise<void> {
    for (let i = 0; i < n; i++) {
      const txs: Transaction[] = [];
      if (i === 0)
        for (const [id, tx] of this.mempool) {
          if (only && !only.includes(id)) continue;
          txs.push(tx);
          this.mempool.delete(id);
        }
      const b = this.chain.push(txs);
      for (const node of this.nodes) {
        node.wallet.applyBlock({ height: b.height, hash: reversedHex(b.hash), txs: b.txs });
        await node.watcher.sync();
      }
      await settle();
    }
  }

  /** Mines `n` empty blocks, handed to the watchers in one poll (each node still sees every height). */
  async mineEmpty(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const b = this.chain.push([]);
      for (const node of this.nodes)
        node.wallet.applyBlock({ height: b.height, hash: reversedHex(b.hash), txs: b.txs });
    }
    for (const node of this.nodes) await node.watcher.sync();
    await settle();
  }

  connect(a: TestNode, b: TestNode): void {
    a.peers.link(b.peers);
    b.peers.link(a.peers);
    a.peers.up(b.id);
    b.peers.up(a.id);
  }

  disconnect(a: TestNode, b: TestNode): void {
    a.peers.down(b.id);
    b.peers.down(a.id);
  }
}

/** PeerManager's surface the driver uses, wired to other FakePeers in memory. */
export class FakePeers {
  readonly links = new Map<string, FakePeers>();
  readonly connected = new Set<string>();
  private readonly handlers: ((peerId: string, m: PeerMessage) => void)[] = [];
  private readonly status: ((peerId: string, up: boolean) => void)[] = [];
  /** Messages (by type) to swallow instead of delivering, to make a peer stall. */
  readonly drop = new Set<string>();

  constructor(
    readonly id: string,
    private readonly net: TestNet,
    private readonly name: string,
  ) {}

  link(other: FakePeers): void {
    this.links.set(other.id, other);
  }
  up(id: string): void {
    this.connected.add(id);
    for (const h of this.status) h(id, true);
  }
  down(id: string): void {
    if (!this.connected.delete(id)) return;
    for (const h of this.status) h(id, false);
  }
  onMessage(h: (peerId: string, m: PeerMessage) => void): void {
    this.handlers.push(h);
  }
  onPeerStatus(h: (peerId: string, up: boolean) => void): void {
    this.status.push(h);
  }
  send(peerId: string, bytes: Uint8Array): boolean {
    const other = this.links.get(peerId);
    if (!other || !this.connected.has(peerId)) return false;
    const m = decodePeerMessage(bytes);
    if (!m.ok) throw new Error(`${this.name} sent an undecodable message`);
    const type = m.value.type === 'other' ? m.value.message.type : m.value.type;
    this.net.log.push(`${this.name} send ${type}`);
    if (this.drop.has(type)) return true;
    setImmediate(() => {
      if (other.connected.has(this.id)) other.receive(this.id, m.value);
    });
    return true;
  }
  receive(from: string, m: PeerMessage): void {
    for (const h of this.handlers) h(from, m);
  }
  async disconnect(id: Uint8Array): Promise<void> {
    const other = this.links.get(hex(id));
    this.down(hex(id));
    other?.down(this.id);
  }
  list() {
    return [...this.connected].map((id) => ({
      id,
      connected: true,
      direction: 'in' as const,
      netaddr: [],
      features: this.net.peerFeatures,
    }));
  }
  async connect(): Promise<never> {
    throw new Error('FakePeers cannot dial');
  }
}

export class TestNode {
  readonly keys: KeyChain;
  readonly id: string;
  readonly store: Store = memoryStore();
  readonly wallet: Wallet;
  readonly logs: { level: string; msg: string; [k: string]: unknown }[] = [];
  peers!: FakePeers;
  watcher!: ChainWatcher;
  driver!: ChannelDriver;
  onchain!: Onchain;

  constructor(
    readonly net: TestNet,
    readonly name: string,
  ) {
    this.keys = new KeyChain(sha256(new TextEncoder().encode(`seed ${name}`)), 'regtest');
    this.id = hex(this.keys.nodeKey().pubkey);
    this.wallet = new Wallet('regtest', this.keys);
  }

  /** Builds (or, after stop(), rebuilds from the same store and wallet) the driver. */
  async start(opts: { closingTimeoutMs?: number } = {}): Promise<void> {
    const net = this.net;
    this.peers = new FakePeers(this.id, net, this.name);
    const tip = await net.chain.tip();
    this.watcher = new ChainWatcher(net.chain, this.store, { start: tip });
    const name = this.name;
    const wallet = this.wallet;
    const chainBackend = {
      broadcast: async (raw: Uint8Array) => {
        net.broadcast(name, raw);
        return txidHex(parseTx(raw));
      },
      feeratePerKw: async () => 2500 as FeeratePerKw,
    };
    this.onchain = {
      wallet,
      chain: chainBackend,
      get tipHeight() {
        return net.chain.active.length - 1;
      },
      persist() {},
      // The test applies each block to the wallet before the watcher sees it: nothing to tell.
      onBlock() {},
      async sync() {},
      async persistAndBroadcast(txid: string, raw: Uint8Array) {
        try {
          await chainBackend.broadcast(raw);
          return { ok: true };
        } catch (e) {
          wallet.abandon(txid);
          return { ok: false, message: (e as Error).message };
        }
      },
    } as unknown as Onchain;
    this.driver = new ChannelDriver({
      store: this.store,
      peers: this.peers as unknown as PeerManager,
      onchain: this.onchain,
      watcher: this.watcher,
      keys: this.keys,
      network: NETWORKS.regtest,
      entropy: {
        randomBytes: (n) => sha256(new TextEncoder().encode(`${name} ${n} ${nonce++}`)).slice(0, n),
      },
      clock: net.clock,
      log: memoryLogger(this.logs),
      ...(opts.closingTimeoutMs !== undefined ? { closingTimeoutMs: opts.closingTimeoutMs } : {}),
    });
    await this.driver.start();
  }

  /** Stops the driver (a restart keeps the store and the wallet; peers must be connected again). */
  async stop(): Promise<void> {
    for (const other of this.peers.links.values()) other.down(this.id);
    await this.driver.close();
    const i = this.net.nodes.indexOf(this);
    if (i >= 0) this.net.nodes.splice(i, 1);
  }

  async restart(opts: { closingTimeoutMs?: number } = {}): Promise<void> {
    await this.stop();
    await this.start(opts);
    this.net.nodes.push(this);
  }

  /** Pays `amount` to a fresh wallet address, confirmed in the next block the test mines. */
  faucet(amount: bigint): void {
    const script = this.wallet.newReceiveScript().script;
    const tx: Transaction = {
      version: 2,
      inputs: [
        {
          prevout: { txid: sha256(new TextEncoder().encode(`faucet ${this.name} ${nonce++}`)), vout: 0 },
          scriptSig: new Uint8Array(),
          sequence: 0xffffffff,
          witness: [],
        },
      ],
      outputs: [{ value: sat(amount), script }],
      locktime: 0,
    };
    this.net.mempool.set(txidHex(tx), tx);
  }

  channel(): Channel {
    const ch = this.driver.list()[0];
    if (!ch) throw new Error(`${this.name} has no channel`);
    return ch;
  }

  confirmedSat(): bigint {
    return this.wallet
      .coins()
      .filter((c) => c.height !== null && c.spentBy === null)
      .reduce((t, c) => t + c.value, 0n);
  }
}

/** alice and bob, connected; alice's wallet holds one confirmed coin per amount. */
export async function twoNodes(
  coins: readonly bigint[],
  peerFeatures = '',
): Promise<{ net: TestNet; alice: TestNode; bob: TestNode }> {
  const net = new TestNet();
  net.peerFeatures = peerFeatures;
  const alice = await net.node('alice');
  const bob = await net.node('bob');
  for (const c of coins) alice.faucet(c);
  await net.mine(1);
  net.connect(alice, bob);
  return { net, alice, bob };
}

/** alice starts opening a 500,000 sat channel to bob; done() is the fundchannel result once there is one. */
export function startOpen(alice: TestNode, bob: TestNode): { done: () => FundResult | Error | undefined } {
  let out: FundResult | Error | undefined;
  alice.driver
    .open(bob.id, {
      amount: 500_000n as Sat,
      feerate: 2500 as FeeratePerKw,
      announce: false,
      pushMsat: 0n as Msat,
    })
    .then(
      (r) => (out = r),
      (e: Error) => (out = e),
    );
  return { done: () => out };
}

/** alice funds a channel to bob (connected), mined to depth 6: both sides normal. */
export async function openChannel(
  net: TestNet,
  alice: TestNode,
  bob: TestNode,
  amount: Sat | 'all' = 500_000n as Sat,
  pushMsat = 0n as Msat,
): Promise<FundResult> {
  const funded = alice.driver.open(bob.id, {
    amount,
    feerate: 2500 as FeeratePerKw,
    announce: false,
    pushMsat,
  });
  let r: FundResult | undefined;
  funded.then((x) => (r = x)).catch(() => undefined);
  for (let i = 0; i < 20 && r === undefined; i++) await settle();
  if (r === undefined) await funded; // throws the refusal
  await net.mine(6);
  return r!;
}

export const rawHex = (tx: Transaction) => hex(serializeTx(tx));
export { encodeMessage };
