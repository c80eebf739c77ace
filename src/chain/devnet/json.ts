// Bitcoin Core's JSON shapes for blocks, headers, transactions and outputs (TxToUniv, blockheaderToJSON,
// ScriptToUniv), as the devnet RPC returns them.

import { addressFromScript } from '../../bitcoin/address.ts';
import { toAsm } from '../../bitcoin/script.ts';
import { reversedHex, serializeTx, type Transaction, txid, vsize, weight, wtxid } from '../../bitcoin/tx.ts';
import { hex } from '../../core/bytes.ts';
import { type Block, blockWeight, isCoinbase, serializeBlock } from '../block.ts';
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

export function blockJson(
  node: Devnet,
  e: IndexEntry,
  block: Block,
  verbosity: 1 | 2,
): Record<string, unknown> {
  return {
    ...headerJson(node, e),
    strippedsize: serializeBlock(block, false).length,
    size: serializeBlock(block, true).length,
    weight: blockWeight(block),
    tx: verbosity === 1 ? block.txs.map((t) => reversedHex(txid(t))) : block.txs.map((t) => txJson(t)),
  };
}
