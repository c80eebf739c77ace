// Bitcoin Core's JSON shapes for blocks, headers, transactions and outputs (TxToUniv, blockheaderToJSON,
// ScriptToUniv), as the devnet RPC returns them.

import { addressFromScript } from '../../bitcoin/address.ts';
import { toAsm } from '../../bitcoin/script.ts';
import { reversedHex, serializeTx, type Transaction, txid, vsize, weight, wtxid } from '../../bitcoin/tx.ts';
import { hex } from '../../core/bytes.ts';
import { type Block, blockWeight, isCoinbase, serializeBlock } from '../block.ts';
import { parseUndo } from './connect.ts';
import type { Devnet, IndexEntry } from './node.ts';
import { classifyScript } from './policy.ts';

/** Satoshis as Core's ValueFromAmount prints them (BTC, a JSON number). */
export function btc(sats: bigint): number {
  return Number(sats) / 1e8;
}

/** Parses a BTC amount (number or string) into satoshis; null when malformed or out of range. */
export function parseBtc(value: unknown): bigint | null {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    text = value.toFixed(8);
  } else if (typeof value === 'string') text = value.trim();
  else return null;
  const m = /^(\d{1,8})(?:\.(\d{0,8}))?$/.exec(text);
  if (!m) return null;
  const sats = BigInt(m[1]!) * 100_000_000n + BigInt((m[2] ?? '').padEnd(8, '0'));
  return sats <= 21_000_000n * 100_000_000n ? sats : null;
}

export function difficulty(bits: number): number {
  let shift = (bits >>> 24) & 0xff;
  let diff = 0x0000ffff / (bits & 0x00ffffff);
  while (shift < 29) {
    diff *= 256;
    shift++;
  }
  while (shift > 29) {
    diff /= 256;
    shift--;
  }
  return diff;
}

export function scriptJson(script: Uint8Array): Record<string, unknown> {
  const out: Record<string, unknown> = { asm: toAsm(script), hex: hex(script) };
  const address = addressFromScript('regtest', script);
  if (address) out.address = address;
  out.type = classifyScript(script);
  return out;
}

export function txJson(tx: Transaction): Record<string, unknown> {
  const raw = serializeTx(tx);
  return {
    txid: reversedHex(txid(tx)),
    hash: reversedHex(wtxid(tx)),
    version: tx.version,
    size: raw.length,
    vsize: vsize(tx),
    weight: weight(tx),
    locktime: tx.locktime,
    vin: tx.inputs.map((i) => {
      const w = i.witness.length > 0 ? { txinwitness: i.witness.map(hex) } : {};
      if (isCoinbase(tx)) return { coinbase: hex(i.scriptSig), ...w, sequence: i.sequence };
      return {
        txid: reversedHex(i.prevout.txid),
        vout: i.prevout.vout,
        scriptSig: { asm: toAsm(i.scriptSig), hex: hex(i.scriptSig) },
        ...w,
        sequence: i.sequence,
      };
    }),
    vout: tx.outputs.map((o, n) => ({ value: btc(o.value), n, scriptPubKey: scriptJson(o.script) })),
    hex: hex(raw),
  };
}

export function headerJson(node: Devnet, e: IndexEntry): Record<string, unknown> {
  const h = e.header;
  const out: Record<string, unknown> = {
    hash: e.id,
    confirmations: node.confirmations(e.id),
    height: e.height,
    version: h.version,
    versionHex: (h.version >>> 0).toString(16).padStart(8, '0'),
    merkleroot: reversedHex(h.merkleRoot),
    time: h.time,
    mediantime: node.medianTimeOfEntry(e),
    nonce: h.nonce,
    bits: (h.bits >>> 0).toString(16).padStart(8, '0'),
    difficulty: difficulty(h.bits),
    chainwork: node.chainWork(e).toString(16).padStart(64, '0'),
    nTx: node.block(e.id)?.txs.length ?? 0,
  };
  if (e.height > 0) out.previousblockhash = e.prevId;
  const next = node.isActive(e.id) ? node.idAt(e.height + 1) : null;
  if (next) out.nextblockhash = next;
  return out;
}

/**
 * getblock verbosity 1 (txids), 2 (decoded txs with "fee") or 3 (and each input's "prevout"). Fees and
 * prevouts come from the block's undo data, so only blocks that have been connected have them.
 */
export function blockJson(
  node: Devnet,
  e: IndexEntry,
  block: Block,
  verbosity: 1 | 2 | 3,
): Record<string, unknown> {
  const head = {
    ...headerJson(node, e),
    strippedsize: serializeBlock(block, false).length,
    size: serializeBlock(block, true).length,
    weight: blockWeight(block),
  };
  if (verbosity === 1) return { ...head, tx: block.txs.map((t) => reversedHex(txid(t))) };
  const raw = node.store.undo(e.hash);
  const spent = raw ? parseUndo(raw) : null;
  let at = 0;
  const txs = block.txs.map((t, n) => {
    const json = txJson(t);
    if (n === 0 || !spent) return json;
    const coins = spent.slice(at, at + t.inputs.length).map((c) => c.coin);
    at += t.inputs.length;
    if (coins.length !== t.inputs.length) return json;
    const valueIn = coins.reduce((sum, c) => sum + c.output.value, 0n);
    const valueOut = t.outputs.reduce((sum, o) => sum + o.value, 0n);
    if (verbosity === 3) {
      json.vin = (json.vin as Record<string, unknown>[]).map((vin, i) => ({
        ...vin,
        prevout: {
          generated: coins[i]!.coinbase,
          height: coins[i]!.height,
          value: btc(coins[i]!.output.value),
          scriptPubKey: scriptJson(coins[i]!.output.script),
        },
      }));
    }
    return { ...json, fee: btc(valueIn - valueOut) };
  });
  return { ...head, tx: txs };
}
