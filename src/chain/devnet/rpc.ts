// The devnet's Bitcoin Core RPC methods: parameters (positional or named), results and error codes as
// Core 28 gives them, for the subset Lightning nodes and the faucet use.

import { decodeAddress } from '../../bitcoin/address.ts';
import { parseTx, reversedHex, serializeTx, type Transaction, txid, wtxid } from '../../bitcoin/tx.ts';
import { equal, fromHex, hex } from '../../core/bytes.ts';
import { serializeBlock, serializeHeader } from '../block.ts';
import { blockJson, btc, difficulty, headerJson, parseBtc, scriptJson, txJson } from './json.ts';
import { type Devnet, RPC } from './node.ts';
import { outpointKey } from './validate.ts';
import type { DevnetWallet } from './wallet.ts';

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

interface Method {
  /** Parameter names in positional order (for named-parameter calls). */
  readonly params: readonly string[];
  readonly run: (args: readonly unknown[]) => unknown;
}

export interface RpcContext {
  readonly node: Devnet;
  readonly wallet: DevnetWallet;
  readonly stop: () => void;
}

function str(v: unknown, name: string): string {
  if (typeof v !== 'string')
    throw new RpcError(RPC.TYPE_ERROR, `JSON value of type ${typeName(v)} is not of expected type string`);
  void name;
  return v;
}

function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string') return 'string';
  return 'object';
}

function int(v: unknown, fallback?: number): number {
  if ((v === undefined || v === null) && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new RpcError(RPC.TYPE_ERROR, `JSON value of type ${typeName(v)} is not of expected type number`);
  }
  return v;
}

function bool(v: unknown, fallback: boolean): boolean {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  throw new RpcError(RPC.TYPE_ERROR, `JSON value of type ${typeName(v)} is not of expected type bool`);
}

/** ParseHashV: 64 hex characters. */
function hash(v: unknown, name: string): string {
  const s = str(v, name);
  if (!/^[0-9a-fA-F]*$/.test(s))
    throw new RpcError(RPC.INVALID_PARAMETER, `${name} must be hexadecimal string (not '${s}')`);
  if (s.length !== 64)
    throw new RpcError(RPC.INVALID_PARAMETER, `${name} must be of length 64 (not ${s.length}, for '${s}')`);
  return s.toLowerCase();
}

function decodeTx(v: unknown): Transaction {
  const s = str(v, 'hexstring');
  try {
    if (!/^([0-9a-fA-F]{2})*$/.test(s)) throw new Error('not hex');
    return parseTx(fromHex(s));
  } catch {
    throw new RpcError(
      RPC.DESERIALIZATION_ERROR,
      'TX decode failed. Make sure the tx has at least one input.',
    );
  }
}

/** maxfeerate in BTC/kvB to sat/kvB; Core's default is 0.10. */
function maxFeeRate(v: unknown): bigint {
  if (v === undefined || v === null) return 10_000_000n;
  const sats = parseBtc(v);
  if (sats === null) throw new RpcError(RPC.TYPE_ERROR, 'Amount out of range');
  return sats;
}

function addressScript(address: unknown): Uint8Array {
  const decoded = decodeAddress('regtest', str(address, 'address'));
  if (!decoded.ok) throw new RpcError(RPC.INVALID_ADDRESS_OR_KEY, 'Error: Invalid address');
  return decoded.value;
}

/** Feerates the devnet's estimatesmartfee returns, BTC/kvB by target (regtest has no fee market). */
export function devnetFeerate(target: number): bigint {
  if (target <= 2) return 5000n;
  if (target <= 6) return 2000n;
  return 1000n;
}

export function methods(ctx: RpcContext): Map<string, Method> {
  const { node, wallet } = ctx;
  const m = new Map<string, Method>();
  const def = (name: string, params: readonly string[], run: (args: readonly unknown[]) => unknown): void => {
    m.set(name, { params, run });
  };
  const entryOf = (id: string) => {
    const e = node.entry(id);
    if (!e) throw new RpcError(RPC.INVALID_ADDRESS_OR_KEY, 'Block not found');
    return e;
  };

  def('getblockchaininfo', [], () => {
    const tip = node.entry(node.tipId)!;
    return {
      chain: 'regtest',
      blocks: node.height,
      headers: node.height,
      bestblockhash: node.tipId,
      difficulty: difficulty(tip.header.bits),
      time: tip.header.time,
      mediantime: node.medianTimeAt(node.height),
      verificationprogress: 1,
      initialblockdownload: false,
      chainwork: node.chainWork(tip).toString(16).padStart(64, '0'),
      size_on_disk: 0,
      pruned: false,
      warnings: [],
    };
  });
  def('getnetworkinfo', [], () => ({
    version: 280000,
    subversion: '/Satoshi:28.0.0(shandian-devnet)/',
    protocolversion: 70016,
    localservices: '0000000000000409',
    localservicesnames: ['NETWORK', 'WITNESS', 'NETWORK_LIMITED'],
    localrelay: true,
    timeoffset: 0,
    networkactive: true,
    connections: 0,
    connections_in: 0,
    connections_out: 0,
    networks: [],
    relayfee: btc(node.minRelayFeePerKvb),
    incrementalfee: btc(1000n),
    localaddresses: [],
    warnings: [],
  }));
  def('getblockcount', [], () => node.height);
  def('getbestblockhash', [], () => node.tipId);
  def('getblockhash', ['height'], ([h]) => {
    const height = int(h);
    const id = height >= 0 ? node.idAt(height) : null;
    if (!id) throw new RpcError(RPC.INVALID_PARAMETER, 'Block height out of range');
    return id;
  });
  def('getblock', ['blockhash', 'verbosity'], ([h, v]) => {
    const e = entryOf(hash(h, 'blockhash'));
    const verbosity = typeof v === 'boolean' ? (v ? 1 : 0) : int(v, 1);
    const block = node.block(e.id)!;
    if (verbosity <= 0) return hex(serializeBlock(block));
    return blockJson(node, e, block, verbosity >= 3 ? 3 : verbosity === 2 ? 2 : 1);
  });
  def('getblockheader', ['blockhash', 'verbose'], ([h, v]) => {
    const e = entryOf(hash(h, 'blockhash'));
    return bool(v, true) ? headerJson(node, e) : hex(serializeHeader(e.header));
  });
  def('getchaintips', [], () =>
    node.tips().map((t) => {
      let forkHeight = t.height;
      let cur = node.entry(t.id);
      while (cur && !node.isActive(cur.id)) {
        cur = node.entry(cur.prevId);
        forkHeight = cur?.height ?? 0;
      }
      return { height: t.height, hash: t.id, branchlen: t.height - forkHeight, status: t.status };
    }),
  );
  def('getrawtransaction', ['txid', 'verbose', 'blockhash'], ([t, v, b]) => {
    const id = hash(t, 'parameter 1');
    const verbose = typeof v === 'number' ? v > 0 : bool(v, false);
    let found: { tx: Transaction; block: string | null } | null = null;
    if (b !== undefined && b !== null) {
      const e = entryOf(hash(b, 'parameter 3'));
      const tx = node.block(e.id)!.txs.find((x) => reversedHex(txid(x)) === id);
      if (!tx)
        throw new RpcError(
          RPC.INVALID_ADDRESS_OR_KEY,
          'No such transaction found in the provided block. Use gettransaction for wallet transactions.',
        );
      found = { tx, block: e.id };
    } else found = node.findTx(id);
    if (!found) {
      throw new RpcError(
        RPC.INVALID_ADDRESS_OR_KEY,
        'No such mempool or blockchain transaction. Use gettransaction for wallet transactions.',
      );
    }
    if (!verbose) return hex(serializeTx(found.tx));
    const out = txJson(found.tx);
    if (found.block) {
      const e = node.entry(found.block)!;
      out.blockhash = found.block;
      const confirmations = node.confirmations(found.block);
      out.confirmations = Math.max(confirmations, 0);
      out.time = e.header.time;
      out.blocktime = e.header.time;
      if (confirmations < 0) out.in_active_chain = false;
    }
    return out;
  });
  def('decoderawtransaction', ['hexstring'], ([h]) => {
    const out = txJson(decodeTx(h));
    delete out.hex;
    return out;
  });
  def('sendrawtransaction', ['hexstring', 'maxfeerate', 'maxburnamount'], ([h, rate]) => {
    const tx = decodeTx(h);
    const id = reversedHex(txid(tx));
    const inPool = node.mempool.get(id);
    if (inPool && equal(inPool.wtxid, wtxid(tx))) return id; // already known: Core returns the txid
    const r = node.accept(tx, { maxFeeRatePerKvb: maxFeeRate(rate) });
    if (!r.ok) throw new RpcError(r.error.code, r.error.message);
    return r.value.id;
  });
  def('testmempoolaccept', ['rawtxs', 'maxfeerate'], ([list, rate]) => {
    if (!Array.isArray(list))
      throw new RpcError(
        RPC.TYPE_ERROR,
        `JSON value of type ${typeName(list)} is not of expected type array`,
      );
    if (list.length === 0 || list.length > 25) {
      throw new RpcError(RPC.INVALID_PARAMETER, 'Array must contain between 1 and 25 transactions.');
    }
    const txs = list.map(decodeTx);
    const results = node.testAccept(txs, maxFeeRate(rate));
    return txs.map((tx, n) => {
      const base = { txid: reversedHex(txid(tx)), wtxid: reversedHex(wtxid(tx)) };
      const r = results[n]!;
      if (!r.ok) return { ...base, allowed: false, 'reject-reason': r.error.rejectReason };
      const e = r.value;
      return {
        ...base,
        allowed: true,
        vsize: e.vsize,
        fees: {
          base: btc(e.fee),
          'effective-feerate': btc((e.fee * 1000n) / BigInt(e.vsize)),
          'effective-includes': [base.wtxid],
        },
      };
    });
  });
  def('estimatesmartfee', ['conf_target', 'estimate_mode'], ([t]) => {
    const target = int(t);
    if (target < 1 || target > 1008)
      throw new RpcError(RPC.INVALID_PARAMETER, 'Invalid conf_target, must be between 1 and 1008');
    return { feerate: btc(devnetFeerate(target)), blocks: Math.max(target, 2) };
  });
  def('gettxout', ['txid', 'n', 'include_mempool'], ([t, n, mem]) => {
    const id = hash(t, 'txid');
    const out = node.txOut(id, int(n), bool(mem, true));
    if (!out) return null;
    return {
      bestblock: node.tipId,
      confirmations: out.confirmations,
      value: btc(out.coin.output.value),
      scriptPubKey: scriptJson(out.coin.output.script),
      coinbase: out.coin.coinbase,
    };
  });
  def('getmempoolinfo', [], () => {
    const entries = node.mempool.entries();
    return {
      loaded: true,
      size: entries.length,
      bytes: entries.reduce((s, e) => s + e.vsize, 0),
      usage: entries.reduce((s, e) => s + e.weight, 0),
      total_fee: btc(entries.reduce((s, e) => s + e.fee, 0n)),
      maxmempool: 300_000_000,
      mempoolminfee: btc(node.minRelayFeePerKvb),
      minrelaytxfee: btc(node.minRelayFeePerKvb),
      incrementalrelayfee: btc(1000n),
      unbroadcastcount: 0,
      fullrbf: true,
    };
  });
  const mempoolEntryJson = (id: string) => {
    const e = node.mempool.get(id)!;
    const depends = [
      ...new Set(e.tx.inputs.map((i) => reversedHex(i.prevout.txid)).filter((p) => node.mempool.get(p))),
    ];
    const spentby = e.tx.outputs
      .map((_, vout) => node.mempool.spender(outpointKey({ txid: e.txid, vout })))
      .filter((x): x is string => x !== undefined);
    return {
      vsize: e.vsize,
      weight: e.weight,
      time: e.time,
      height: node.height,
      wtxid: reversedHex(e.wtxid),
      fees: { base: btc(e.fee), modified: btc(e.fee) },
      depends,
      spentby,
      'bip125-replaceable': true,
    };
  };
  def('getrawmempool', ['verbose', 'mempool_sequence'], ([v]) => {
    const ids = node.mempool.entries().map((e) => e.id);
    if (!bool(v, false)) return ids;
    return Object.fromEntries(ids.map((id) => [id, mempoolEntryJson(id)]));
  });
  def('getmempoolentry', ['txid'], ([t]) => {
    const id = hash(t, 'txid');
    if (!node.mempool.get(id)) throw new RpcError(RPC.INVALID_ADDRESS_OR_KEY, 'Transaction not in mempool');
    return mempoolEntryJson(id);
  });
  def('generatetoaddress', ['nblocks', 'address', 'maxtries'], ([n, a]) => {
    const script = addressScript(a);
    return node.mine(int(n), script);
  });
  def('generatetodescriptor', ['num_blocks', 'descriptor', 'maxtries'], ([n, d]) => {
    // addr(...) and raw(...) descriptors; the checksum suffix is accepted and ignored.
    const text = str(d, 'descriptor').replace(/#[0-9a-z]{8}$/, '');
    const addr = /^addr\((.+)\)$/.exec(text);
    const raw = /^raw\(([0-9a-fA-F]*)\)$/.exec(text);
    if (!addr && !raw)
      throw new RpcError(RPC.INVALID_ADDRESS_OR_KEY, `Cannot derive script without private keys`);
    return node.mine(int(n), addr ? addressScript(addr[1]) : fromHex(raw![1]!));
  });
  def('generateblock', ['output', 'transactions', 'submit'], ([o, list, submit]) => {
    const script = addressScript(o);
    if (!Array.isArray(list))
      throw new RpcError(
        RPC.TYPE_ERROR,
        `JSON value of type ${typeName(list)} is not of expected type array`,
      );
    if (submit === false)
      throw new RpcError(RPC.INVALID_PARAMETER, 'submit=false is not supported by the devnet');
    const txs: Transaction[] = [];
    let fees = 0n;
    for (const item of list) {
      const text = str(item, 'transactions');
      if (/^[0-9a-fA-F]{64}$/.test(text)) {
        const e = node.mempool.get(text.toLowerCase());
        if (!e) throw new RpcError(RPC.INVALID_ADDRESS_OR_KEY, `Transaction ${text} not in mempool.`);
        txs.push(e.tx);
        fees += e.fee;
      } else {
        try {
          txs.push(parseTx(fromHex(text)));
        } catch {
          throw new RpcError(
            RPC.DESERIALIZATION_ERROR,
            `Transaction decode failed for ${text}. Make sure the tx has at least one input.`,
          );
        }
      }
    }
    const r = node.mineWith(script, txs, fees);
    if (!r.ok)
      throw new RpcError(
        RPC.VERIFY_ERROR,
        `TestBlockValidity failed: ${r.error.debug ? `${r.error.reason}, ${r.error.debug}` : r.error.reason}`,
      );
    return { hash: r.value };
  });
  def('setmocktime', ['timestamp'], ([t]) => {
    const time = int(t);
    if (time < 0) throw new RpcError(RPC.INVALID_PARAMETER, `Mocktime cannot be negative: ${time}.`);
    node.mockTime = time === 0 ? null : time;
    return null;
  });
  def('invalidateblock', ['blockhash'], ([h]) => {
    const r = node.invalidateBlock(hash(h, 'blockhash'));
    if (!r.ok) throw new RpcError(r.error.code, r.error.message);
    return null;
  });
  def('reconsiderblock', ['blockhash'], ([h]) => {
    const r = node.reconsiderBlock(hash(h, 'blockhash'));
    if (!r.ok) throw new RpcError(r.error.code, r.error.message);
    return null;
  });
  def('getnewaddress', ['label', 'address_type'], () => wallet.newAddress());
  def('getbalance', ['dummy', 'minconf', 'include_watchonly', 'avoid_reuse'], () => btc(wallet.balance()));
  def(
    'sendtoaddress',
    [
      'address',
      'amount',
      'comment',
      'comment_to',
      'subtractfeefromamount',
      'replaceable',
      'conf_target',
      'estimate_mode',
      'avoid_reuse',
      'fee_rate',
    ],
    (args) => {
      const amount = parseBtc(args[1]);
      if (amount === null) throw new RpcError(RPC.TYPE_ERROR, 'Invalid amount');
      const feeRate =
        args[9] === undefined || args[9] === null ? 2000n : BigInt(Math.round(Number(args[9]) * 1000));
      const r = wallet.send(str(args[0], 'address'), amount, feeRate);
      if (!r.ok) throw new RpcError(r.error.code, r.error.message);
      return r.value.id;
    },
  );
  def('echo', [], (args) => args);
  def('uptime', [], () => 0);
  def('stop', [], () => {
    setImmediate(ctx.stop);
    return 'Bitcoin Core stopping';
  });
  def('help', ['command'], () => [...m.keys()].sort().join('\n'));
  return m;
}

/** Maps named parameters onto positions; Core refuses unknown names with -8. */
export function positional(method: Method, params: unknown): unknown[] {
  if (params === undefined || params === null) return [];
  if (Array.isArray(params)) return params;
  if (typeof params !== 'object')
    throw new RpcError(RPC.INVALID_REQUEST, 'Params must be an array or object');
  const out: unknown[] = [];
  for (const [k, v] of Object.entries(params as Record<string, unknown>)) {
    const at = method.params.indexOf(k);
    if (at < 0) throw new RpcError(RPC.INVALID_PARAMETER, `Unknown named parameter ${k}`);
    out[at] = v;
  }
  return out;
}
