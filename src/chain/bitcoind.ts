// Bitcoin Core over JSON-RPC as ChainSource, Broadcaster and FeeEstimator. Configured with Core
// Lightning's option names (bitcoin-rpcconnect, -rpcport, -rpcuser, -rpcpassword, -datadir). Without a
// user and password it reads Core's `.cookie` from the datadir, again after a 401 (Core rewrites it on
// restart). New blocks are found by polling (ChainFollower); reorgs appear as hashes changing under us.
// Note: without -txindex, Core finds only mempool transactions by txid.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { fromReversedHex, parseTx, reversedHex } from '../bitcoin/tx.ts';
import { fromHex, hex } from '../core/bytes.ts';
import {
  type BlockHeight,
  blockHeight,
  type FeeratePerKw,
  type Sat,
  satPerVbyteToPerKw,
} from '../core/units.ts';
import { parseBlock } from './block.ts';
import {
  type BlockHeaderInfo,
  BroadcastError,
  type Broadcaster,
  type ChainBlock,
  type ChainSource,
  type ChainTip,
  FEERATE_FLOOR_PER_KW,
  type FeeEstimator,
  type TxLookup,
  type UnspentOutput,
} from './seams.ts';

export type BitcoinNetwork = 'bitcoin' | 'testnet' | 'testnet4' | 'signet' | 'regtest';

export interface BitcoindConfig {
  /** Host of the RPC server (CLN's bitcoin-rpcconnect); default 127.0.0.1. */
  readonly rpcconnect?: string;
  /** Port (bitcoin-rpcport); default by network: 8332, 18332, 48332, 38332, 18443. */
  readonly rpcport?: number;
  readonly rpcuser?: string;
  readonly rpcpassword?: string;
  /** Bitcoin Core's datadir (bitcoin-datadir), to find the `.cookie`. */
  readonly datadir?: string;
  /** An explicit cookie file, overriding datadir. */
  readonly cookieFile?: string;
  readonly network?: BitcoinNetwork;
  /** Per-call timeout; default 30 s. */
  readonly timeoutMs?: number;
  /** Feerate used when Core has no estimate (a fresh regtest); default 1000 sat/kw. */
  readonly fallbackFeeratePerKw?: FeeratePerKw;
}

const DEFAULT_PORTS: Record<BitcoinNetwork, number> = {
  bitcoin: 8332,
  testnet: 18332,
  testnet4: 48332,
  signet: 38332,
  regtest: 18443,
};

const COOKIE_SUBDIRS: Record<BitcoinNetwork, string> = {
  bitcoin: '',
  testnet: 'testnet3',
  testnet4: 'testnet4',
  signet: 'signet',
  regtest: 'regtest',
};

/** An error object returned by the RPC server. */
export class RpcCallError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly method: string,
  ) {
    super(message);
    this.name = 'RpcCallError';
  }
}

/** BTC as a JSON number (8 decimals at most) to satoshis, exactly. */
export function btcToSat(value: number): Sat {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`bad BTC amount: ${value}`);
  return BigInt(Math.round(value * 1e8)) as Sat;
}

export class BitcoindRpc {
  private readonly url: string;
  private auth: string | null = null;
  private nextId = 1;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 8 });

  constructor(private readonly config: BitcoindConfig = {}) {
    const network = config.network ?? 'regtest';
    const host = config.rpcconnect ?? '127.0.0.1';
    this.url = `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${config.rpcport ?? DEFAULT_PORTS[network]}/`;
  }

  private credentials(reload: boolean): string {
    if (this.auth && !reload) return this.auth;
    const c = this.config;
    let pair: string;
    if (c.rpcuser !== undefined && c.rpcpassword !== undefined) pair = `${c.rpcuser}:${c.rpcpassword}`;
    else pair = this.readCookie();
    this.auth = `Basic ${Buffer.from(pair).toString('base64')}`;
    return this.auth;
  }

  private readCookie(): string {
    const c = this.config;
    const candidates: string[] = [];
    if (c.cookieFile) candidates.push(c.cookieFile);
    if (c.datadir) {
      const sub = COOKIE_SUBDIRS[c.network ?? 'regtest'];
      if (sub) candidates.push(join(c.datadir, sub, '.cookie'));
      candidates.push(join(c.datadir, '.cookie'));
    }
    for (const p of candidates) {
      try {
        return readFileSync(p, 'utf8').trim();
      } catch {
        // try the next place
      }
    }
    throw new Error(
      `bitcoind: no rpcuser/rpcpassword and no readable .cookie (tried ${candidates.join(', ') || 'nothing: set datadir'})`,
    );
  }

  /**
   * One HTTP POST on a kept-alive connection. node:http rather than fetch: a poll every 200 ms costs
   * ~1.2 ms of CPU per call through fetch, a fraction of that here, and nodes poll all day.
   */
  private post(
    body: string,
    authorization: string,
    method: string,
  ): Promise<{ status: number; text: string }> {
    const timeoutMs = this.config.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const req = request(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          headers: {
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(body),
            Authorization: authorization,
          },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`bitcoind: ${method}: no answer within ${timeoutMs} ms`)),
      );
      req.on('error', (e: NodeJS.ErrnoException) => {
        // The server may close an idle kept-alive connection just as we reuse it: the request never
        // reached it, so sending it again on a fresh connection is safe (Node's documented pattern).
        if (req.reusedSocket && e.code === 'ECONNRESET') {
          this.post(body, authorization, method).then(resolve, reject);
        } else reject(e);
      });
      req.end(body);
    });
  }

  async call<T = unknown>(method: string, params: readonly unknown[] = []): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const id = this.nextId++;
      const res = await this.post(
        JSON.stringify({ jsonrpc: '1.0', id, method, params }),
        this.credentials(attempt > 0),
        method,
      );
      if (res.status === 401) {
        if (attempt === 0) continue;
        throw new Error(
          `bitcoind: ${method}: authorisation failed (check rpcuser/rpcpassword or the cookie)`,
        );
      }
      const text = res.text;
      let body: { result?: unknown; error?: { code: number; message: string } | null };
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        throw new Error(`bitcoind: ${method}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
      }
      if (body.error) throw new RpcCallError(body.error.code, body.error.message, method);
      return body.result as T;
    }
  }
}

interface HeaderJson {
  hash: string;
  height: number;
  time: number;
  mediantime: number;
  previousblockhash?: string;
  confirmations: number;
}

const NOT_FOUND = -5;
const OUT_OF_RANGE = -8;

async function orNull<T>(p: Promise<T>, ...codes: number[]): Promise<T | null> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof RpcCallError && codes.includes(e.code)) return null;
    throw e;
  }
}

/** getblockchaininfo's `chain` for each network. */
const CHAIN_NAMES: Record<BitcoinNetwork, string> = {
  bitcoin: 'main',
  testnet: 'test',
  testnet4: 'testnet4',
  signet: 'signet',
  regtest: 'regtest',
};

/** The oldest Bitcoin Core whose RPC shapes and reject texts this adapter expects. */
export const MIN_BITCOIND_VERSION = 250000;

export class BitcoindChain implements ChainSource, Broadcaster, FeeEstimator {
  readonly rpc: BitcoindRpc;

  constructor(private readonly config: BitcoindConfig = {}) {
    this.rpc = new BitcoindRpc(config);
  }

  /**
   * Startup check: the server answers, runs a recent enough Core, and is on the configured network.
   * Throws an error a person can act on otherwise.
   */
  async checkConnection(): Promise<{
    chain: string;
    version: number;
    blocks: number;
    initialBlockDownload: boolean;
  }> {
    const network = this.config.network ?? 'regtest';
    const info = await this.rpc.call<{ chain: string; blocks: number; initialblockdownload: boolean }>(
      'getblockchaininfo',
    );
    const net = await this.rpc.call<{ version: number; subversion: string }>('getnetworkinfo');
    if (info.chain !== CHAIN_NAMES[network]) {
      throw new Error(
        `bitcoind is on chain "${info.chain}" but the node is configured for ${network} ("${CHAIN_NAMES[network]}")`,
      );
    }
    if (net.version < MIN_BITCOIND_VERSION) {
      throw new Error(
        `bitcoind ${net.subversion} (${net.version}) is too old: version ${MIN_BITCOIND_VERSION} or newer is needed`,
      );
    }
    return {
      chain: info.chain,
      version: net.version,
      blocks: info.blocks,
      initialBlockDownload: info.initialblockdownload,
    };
  }

  private headerInfo(h: HeaderJson): BlockHeaderInfo {
    return {
      hash: fromReversedHex(h.hash),
      height: blockHeight(h.height),
      prevHash: h.previousblockhash ? fromReversedHex(h.previousblockhash) : new Uint8Array(32),
      time: h.time,
      medianTimePast: h.mediantime,
    };
  }

  async tip(): Promise<ChainTip> {
    // One call, so height and hash always belong together.
    const info = await this.rpc.call<{ blocks: number; bestblockhash: string }>('getblockchaininfo');
    return { hash: fromReversedHex(info.bestblockhash), height: blockHeight(info.blocks) };
  }

  async blockHashAt(height: number): Promise<Uint8Array | null> {
    const h = await orNull(this.rpc.call<string>('getblockhash', [height]), OUT_OF_RANGE);
    return h ? fromReversedHex(h) : null;
  }

  async header(hash: Uint8Array): Promise<BlockHeaderInfo | null> {
    const h = await orNull(this.rpc.call<HeaderJson>('getblockheader', [reversedHex(hash), true]), NOT_FOUND);
    return h ? this.headerInfo(h) : null;
  }

  async block(hash: Uint8Array): Promise<ChainBlock | null> {
    const id = reversedHex(hash);
    const h = await orNull(this.rpc.call<HeaderJson>('getblockheader', [id, true]), NOT_FOUND);
    if (!h) return null;
    const raw = await orNull(this.rpc.call<string>('getblock', [id, 0]), NOT_FOUND);
    if (raw === null) return null;
    const block = parseBlock(fromHex(raw));
    return { ...this.headerInfo(h), txs: block.txs };
  }

  async transaction(txid: Uint8Array): Promise<TxLookup | null> {
    const t = await orNull(
      this.rpc.call<{ hex: string; blockhash?: string; confirmations?: number }>('getrawtransaction', [
        reversedHex(txid),
        true,
      ]),
      NOT_FOUND,
    );
    if (!t) return null;
    const tx = parseTx(fromHex(t.hex));
    if (!t.blockhash) return { tx, blockHash: null, blockHeight: null, confirmations: 0 };
    const h = await orNull(this.rpc.call<HeaderJson>('getblockheader', [t.blockhash, true]), NOT_FOUND);
    return {
      tx,
      blockHash: fromReversedHex(t.blockhash),
      blockHeight: h ? (h.height as BlockHeight) : null,
      confirmations: t.confirmations ?? 0,
    };
  }

  async txOut(txid: Uint8Array, vout: number, includeMempool = true): Promise<UnspentOutput | null> {
    const o = await this.rpc.call<{
      confirmations: number;
      value: number;
      scriptPubKey: { hex: string };
      coinbase: boolean;
    } | null>('gettxout', [reversedHex(txid), vout, includeMempool]);
    if (!o) return null;
    return {
      output: { value: btcToSat(o.value), script: fromHex(o.scriptPubKey.hex) },
      confirmations: o.confirmations,
      coinbase: o.coinbase,
    };
  }

  async broadcast(rawTx: Uint8Array): Promise<Uint8Array> {
    try {
      return fromReversedHex(await this.rpc.call<string>('sendrawtransaction', [hex(rawTx)]));
    } catch (e) {
      if (e instanceof RpcCallError) throw new BroadcastError(e.code, e.message);
      throw e;
    }
  }

  async feeratePerKw(target: number): Promise<FeeratePerKw> {
    const t = Math.min(1008, Math.max(1, Math.floor(target)));
    const r = await this.rpc.call<{ feerate?: number; errors?: string[] }>('estimatesmartfee', [t]);
    if (r.feerate === undefined) return this.config.fallbackFeeratePerKw ?? (1000 as FeeratePerKw);
    // BTC per 1000 vbytes -> sat per vbyte -> sat per 1000 weight (floored at 253).
    const rate = satPerVbyteToPerKw(Number(btcToSat(r.feerate)) / 1000);
    return Math.max(rate, FEERATE_FLOOR_PER_KW) as FeeratePerKw;
  }
}
