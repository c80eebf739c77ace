// RPC-ready wallet calls returning Core Lightning's result shapes (newaddr, listfunds, withdraw,
// listtransactions). The JSON-RPC layer only routes and serializes: amounts are numbers when they fit
// in a double exactly (always, below 90,071 BTC), else bigint for the serializer to print as digits.

import { addressErrorString, addressFromScript, decodeAddress } from '../bitcoin/address.ts';
import { serializePsbtBase64 } from '../bitcoin/psbt.ts';
import { serializeTx } from '../bitcoin/tx.ts';
import { hex } from '../core/bytes.ts';
import { err, ok, type Result } from '../core/result.ts';
import { type FeeratePerKw, type Sat, satToMsat } from '../core/units.ts';
import { bumpFee, toPsbt, withdraw } from './spend.ts';
import { isOwnKey, type WalletError } from './types.ts';
import type { Wallet } from './wallet.ts';

export type JsonAmount = number | bigint;

function amount(msat: bigint): JsonAmount {
  return msat <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(msat) : msat;
}

function reversedHex(internal: Uint8Array): string {
  return hex(Uint8Array.from(internal).reverse());
}

/** Core Lightning's error codes where one exists (FUND_CANNOT_AFFORD 301, FUND_OUTPUT_IS_DUST 302). */
export function walletErrorCode(e: WalletError): number {
  switch (e.kind) {
    case 'insufficient-funds':
      return 301;
    case 'dust':
      return 302;
    case 'invalid-address':
    case 'wrong-network':
    case 'bad-destination':
    case 'bad-amount':
    case 'fee-too-high':
    case 'bad-feerate':
    case 'utxo-unavailable':
    case 'unknown-tx':
    case 'not-replaceable':
    case 'unknown-funding':
      return -32602;
    case 'bad-block':
    case 'block-out-of-order':
    case 'not-tip':
    case 'conflicts-with-confirmed':
      return -1;
  }
}

/** Decodes a destination address for the wallet's network into its output script (typed errors). */
export function destinationScript(w: Wallet, address: string): Result<Uint8Array, WalletError> {
  const r = decodeAddress(w.network, address);
  if (r.ok) return r;
  if (r.error.kind === 'wrong-network')
    return err({ kind: 'wrong-network', expected: r.error.expected, found: r.error.found });
  return err({ kind: 'invalid-address', message: addressErrorString(r.error) });
}

/**
 * CLN `satoshi` parameter: a number of satoshis, "<n>sat", "<n>msat" (whole satoshis only),
 * "<n>btc", or "all".
 */
export function parseSatoshi(v: unknown): Result<Sat | 'all', WalletError> {
  const bad = (message: string) =>
    err({ kind: 'bad-amount' as const, message }) as Result<never, WalletError>;
  if (v === 'all') return ok('all');
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v <= 0)
      return bad(`amount must be a positive whole number of satoshis, got ${v}`);
    return ok(BigInt(v) as Sat);
  }
  if (typeof v !== 'string') return bad('amount must be a number, "<n>sat", "<n>msat", "<n>btc" or "all"');
  let m = /^(\d{1,16})(sat)?$/.exec(v);
  if (m) return BigInt(m[1]!) > 0n ? ok(BigInt(m[1]!) as Sat) : bad('amount must be positive');
  m = /^(\d{1,19})msat$/.exec(v);
  if (m) {
    const msat = BigInt(m[1]!);
    if (msat % 1000n !== 0n || msat === 0n) return bad(`${v} is not a positive whole number of satoshis`);
    return ok((msat / 1000n) as Sat);
  }
  m = /^(\d{1,8})(?:\.(\d{1,8}))?btc$/.exec(v);
  if (m) {
    const s = BigInt(m[1]!) * 100_000_000n + BigInt((m[2] ?? '').padEnd(8, '0'));
    return s > 0n ? ok(s as Sat) : bad('amount must be positive');
  }
  return bad(`cannot parse amount "${v}"`);
}

/**
 * CLN `feerate`: "urgent" | "normal" | "slow" (resolved by `estimate`), "<n>perkw", "<n>perkb", or a
 * bare number (perkb, as CLN reads it). Returns sat per 1000 weight.
 */
export function parseFeerate(
  v: unknown,
  estimate: (target: 'urgent' | 'normal' | 'slow') => FeeratePerKw,
): Result<FeeratePerKw, WalletError> {
  const bad = (feerate: number) =>
    err({ kind: 'bad-feerate' as const, feerate, min: 253, max: 1_000_000 }) as Result<never, WalletError>;
  if (v === 'urgent' || v === 'normal' || v === 'slow') return ok(estimate(v));
  if (typeof v === 'number')
    return Number.isSafeInteger(v) && v >= 0 ? ok(Math.floor(v / 4) as FeeratePerKw) : bad(Number.NaN);
  if (typeof v === 'string') {
    const m = /^(\d{1,9})(perkw|perkb)?$/.exec(v);
    if (m) {
      const n = Number(m[1]);
      return ok((m[2] === 'perkw' ? n : Math.floor(n / 4)) as FeeratePerKw);
    }
  }
  return bad(Number.NaN);
}

export interface NewaddrResult {
  readonly bech32?: string;
  readonly p2tr?: string;
}

/** CLN `newaddr`: addresstype "bech32" (default, P2WPKH), "p2tr" (BIP86 key path) or "all". */
export function newaddr(w: Wallet, addresstype: unknown = 'bech32'): Result<NewaddrResult, WalletError> {
  if (addresstype !== 'bech32' && addresstype !== 'p2tr' && addresstype !== 'all') {
    return err({
      kind: 'bad-destination',
      message: `address type ${String(addresstype)} is not one of bech32, p2tr, all`,
    });
  }
  const encode = (script: Uint8Array): string => {
    const address = addressFromScript(w.network, script);
    if (address === null) throw new Error('internal: wallet script without an address');
    return address;
  };
  return ok({
    ...(addresstype !== 'p2tr' ? { bech32: encode(w.newReceiveScript('p2wpkh').script) } : {}),
    ...(addresstype !== 'bech32' ? { p2tr: encode(w.newReceiveScript('p2tr').script) } : {}),
  });
}

export interface ListfundsOutput {
  readonly txid: string;
  readonly output: number;
  readonly amount_msat: JsonAmount;
  readonly scriptpubkey: string;
  readonly address?: string;
  readonly status: 'unconfirmed' | 'confirmed' | 'spent' | 'immature';
  readonly blockheight?: number;
  readonly reserved: boolean;
  readonly reserved_to_block?: number;
}

export interface ListfundsResult {
  readonly outputs: readonly ListfundsOutput[];
  /** Filled by the channel layer; the wallet knows no channels. */
  readonly channels: readonly unknown[];
}

export function listfunds(w: Wallet, opts: { readonly spent?: boolean } = {}): ListfundsResult {
  const outputs: ListfundsOutput[] = [];
  for (const c of w.coins()) {
    if (!isOwnKey(c.owner)) continue;
    if (c.status === 'spent' && opts.spent !== true) continue;
    const address = addressFromScript(w.network, c.script);
    outputs.push({
      txid: c.txid,
      output: c.vout,
      amount_msat: amount(satToMsat(c.value)),
      scriptpubkey: hex(c.script),
      ...(address !== null ? { address } : {}),
      status: c.status,
      ...(c.height !== null ? { blockheight: c.height } : {}),
      reserved: c.reservedUntil !== null,
      ...(c.reservedUntil !== null ? { reserved_to_block: c.reservedUntil } : {}),
    });
  }
  return { outputs, channels: [] };
}

export interface WithdrawResult {
  readonly tx: string;
  readonly txid: string;
  /** Base64 BIP174 PSBT of the signed transaction. */
  readonly psbt: string;
}

export interface WithdrawParams {
  readonly destination: string;
  readonly satoshi: unknown;
  readonly feerate: FeeratePerKw;
  readonly minconf?: number;
  readonly utxos?: readonly string[];
}

/** CLN `withdraw`: builds, signs and records the transaction; the caller broadcasts `tx`. */
export function withdrawRpc(w: Wallet, p: WithdrawParams): Result<WithdrawResult, WalletError> {
  const script = destinationScript(w, p.destination);
  if (!script.ok) return script;
  const amt = parseSatoshi(p.satoshi);
  if (!amt.ok) return amt;
  const r = withdraw(w, script.value, amt.value, {
    feerate: p.feerate,
    ...(p.minconf !== undefined ? { minConf: p.minconf } : {}),
    ...(p.utxos !== undefined ? { utxos: p.utxos } : {}),
  });
  if (!r.ok) return r;
  return ok({
    tx: hex(serializeTx(r.value.tx)),
    txid: r.value.txid,
    psbt: serializePsbtBase64(toPsbt(w, r.value.tx)),
  });
}

/** Fee bump of a withdrawal (like Core's bumpfee): returns the replacement to broadcast. */
export function bumpfeeRpc(
  w: Wallet,
  txid: string,
  feerate: FeeratePerKw,
): Result<WithdrawResult & { readonly replaced: string }, WalletError> {
  const r = bumpFee(w, txid, feerate);
  if (!r.ok) return r;
  return ok({
    tx: hex(serializeTx(r.value.tx)),
    txid: r.value.txid,
    psbt: serializePsbtBase64(toPsbt(w, r.value.tx)),
    replaced: r.value.replaced,
  });
}

export interface ListtransactionsEntry {
  readonly hash: string;
  readonly rawtx: string;
  readonly blockheight: number;
  readonly txindex: number;
  readonly locktime: number;
  readonly version: number;
  readonly inputs: readonly { readonly txid: string; readonly index: number; readonly sequence: number }[];
  readonly outputs: readonly {
    readonly index: number;
    readonly amount_msat: JsonAmount;
    readonly scriptPubKey: string;
  }[];
}

/** CLN `listtransactions`: every wallet transaction; unconfirmed ones have blockheight 0. */
export function listtransactions(w: Wallet): { readonly transactions: readonly ListtransactionsEntry[] } {
  return {
    transactions: w.transactions().map((t) => ({
      hash: t.txid,
      rawtx: hex(serializeTx(t.tx)),
      blockheight: t.height ?? 0,
      txindex: t.txIndex ?? 0,
      locktime: t.tx.locktime,
      version: t.tx.version,
      inputs: t.tx.inputs.map((i) => ({
        txid: reversedHex(i.prevout.txid),
        index: i.prevout.vout,
        sequence: i.sequence,
      })),
      outputs: t.tx.outputs.map((o, index) => ({
        index,
        amount_msat: amount(satToMsat(o.value)),
        scriptPubKey: hex(o.script),
      })),
    })),
  };
}
