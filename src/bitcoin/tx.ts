// Bitcoin transactions: the model, BIP144 segwit serialization, txid/wtxid, weight.
import { concat, hex } from '../core/bytes.ts';
import type { Sat } from '../core/units.ts';
import { sha256d } from '../crypto/hash.ts';
import { u64le } from './le.ts';

export interface OutPoint {
  /** 32 bytes in internal (serialization) order; display order is reversed. */
  readonly txid: Uint8Array;
  readonly vout: number;
}

export interface TxIn {
  readonly prevout: OutPoint;
  readonly scriptSig: Uint8Array;
  readonly sequence: number;
  readonly witness: readonly Uint8Array[];
}

export interface TxOut {
  readonly value: Sat;
  readonly script: Uint8Array;
}

export interface Transaction {
  readonly version: number;
  readonly inputs: readonly TxIn[];
  readonly outputs: readonly TxOut[];
  readonly locktime: number;
}

export class TxParseError extends Error {}

/** Bitcoin's CompactSize, little-endian (not BOLT's BigSize). */
export function encodeCompactSize(n: number | bigint): Uint8Array {
  const v = BigInt(n);
  if (v < 0xfdn) return new Uint8Array([Number(v)]);
  if (v <= 0xffffn) return new Uint8Array([0xfd, Number(v & 0xffn), Number(v >> 8n)]);
  if (v <= 0xffff_ffffn) {
    const out = new Uint8Array(5);
    out[0] = 0xfe;
    new DataView(out.buffer).setUint32(1, Number(v), true);
    return out;
  }
  const out = new Uint8Array(9);
  out[0] = 0xff;
  new DataView(out.buffer).setBigUint64(1, v, true);
  return out;
}

/** A little-endian cursor over a byte array; every read checks bounds. */
export class ByteReader {
  private readonly view: DataView;
  offset = 0;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get remaining(): number {
    return this.bytes.length - this.offset;
  }
  private need(n: number): void {
    if (n < 0 || this.offset + n > this.bytes.length) throw new TxParseError('unexpected end of data');
  }
  u8(): number {
    this.need(1);
    return this.bytes[this.offset++]!;
  }
  u32le(): number {
    this.need(4);
    const v = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return v;
  }
  i32le(): number {
    this.need(4);
    const v = this.view.getInt32(this.offset, true);
    this.offset += 4;
    return v;
  }
  u64le(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.offset, true);
    this.offset += 8;
    return v;
  }
  take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.slice(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
  compactSize(): number {
    const first = this.u8();
    let v: bigint;
    let min: bigint;
    if (first < 0xfd) return first;
    if (first === 0xfd) {
      this.need(2);
      v = BigInt(this.view.getUint16(this.offset, true));
      this.offset += 2;
      min = 0xfdn;
    } else if (first === 0xfe) {
      v = BigInt(this.u32le());
      min = 0x10000n;
    } else {
      v = this.u64le();
      min = 0x1_0000_0000n;
    }
    if (v < min) throw new TxParseError('non-canonical compact size');
    if (v > 0x0200_0000n) throw new TxParseError('compact size too large');
    return Number(v);
  }
  varBytes(): Uint8Array {
    return this.take(this.compactSize());
  }
}

export function varBytes(b: Uint8Array): Uint8Array {
  return concat(encodeCompactSize(b.length), b);
}

export function serializeOutput(o: TxOut): Uint8Array {
  return concat(u64le(o.value), varBytes(o.script));
}

export function hasWitness(tx: Transaction): boolean {
  return tx.inputs.some((i) => i.witness.length > 0);
}

/** Bytes of a CompactSize for a length (lengths here are below 2^32). */
function compactSizeBytes(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : 5;
}

/** BIP144 serialization; without witness data when `witness` is false or no input has any. */
export function serializeTx(tx: Transaction, witness = true): Uint8Array {
  // One buffer, sized first: a commitment with 483 HTLC outputs was ~2,500 small arrays per txid.
  const withWitness = witness && hasWitness(tx);
  let size = 4 + (withWitness ? 2 : 0) + compactSizeBytes(tx.inputs.length);
  for (const i of tx.inputs) size += 32 + 4 + compactSizeBytes(i.scriptSig.length) + i.scriptSig.length + 4;
  size += compactSizeBytes(tx.outputs.length);
  for (const o of tx.outputs) size += 8 + compactSizeBytes(o.script.length) + o.script.length;
  if (withWitness) {
    for (const i of tx.inputs) {
      size += compactSizeBytes(i.witness.length);
      for (const item of i.witness) size += compactSizeBytes(item.length) + item.length;
    }
  }
  size += 4;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  const compactSize = (n: number) => {
    if (n < 0xfd) out[at++] = n;
    else if (n <= 0xffff) {
      out[at] = 0xfd;
      view.setUint16(at + 1, n, true);
      at += 3;
    } else {
      out[at] = 0xfe;
      view.setUint32(at + 1, n, true);
      at += 5;
    }
  };
  const bytes = (b: Uint8Array) => {
    out.set(b, at);
    at += b.length;
  };
  view.setUint32(at, tx.version >>> 0, true);
  at += 4;
  if (withWitness) {
    out[at++] = 0x00;
    out[at++] = 0x01;
  }
  compactSize(tx.inputs.length);
  for (const i of tx.inputs) {
    if (i.prevout.txid.length !== 32) throw new RangeError('an outpoint txid is 32 bytes');
    bytes(i.prevout.txid);
    view.setUint32(at, i.prevout.vout >>> 0, true);
    at += 4;
    compactSize(i.scriptSig.length);
    bytes(i.scriptSig);
    view.setUint32(at, i.sequence >>> 0, true);
    at += 4;
  }
  compactSize(tx.outputs.length);
  for (const o of tx.outputs) {
    view.setBigUint64(at, BigInt.asUintN(64, o.value), true);
    at += 8;
    compactSize(o.script.length);
    bytes(o.script);
  }
  if (withWitness) {
    for (const i of tx.inputs) {
      compactSize(i.witness.length);
      for (const item of i.witness) {
        compactSize(item.length);
        bytes(item);
      }
    }
  }
  view.setUint32(at, tx.locktime >>> 0, true);
  return out;
}

/** Parses one transaction from a reader (used for blocks too). */
export function readTx(r: ByteReader): Transaction {
  const version = r.i32le();
  let inputCount = r.compactSize();
  let segwit = false;
  if (inputCount === 0) {
    const flag = r.u8();
    if (flag !== 0x01) throw new TxParseError('unknown segwit flag');
    segwit = true;
    inputCount = r.compactSize();
  }
  const inputs: { prevout: OutPoint; scriptSig: Uint8Array; sequence: number; witness: Uint8Array[] }[] = [];
  for (let n = 0; n < inputCount; n++) {
    const txid = r.take(32);
    const vout = r.u32le();
    const scriptSig = r.varBytes();
    const sequence = r.u32le();
    inputs.push({ prevout: { txid, vout }, scriptSig, sequence, witness: [] });
  }
  const outputCount = r.compactSize();
  const outputs: TxOut[] = [];
  for (let n = 0; n < outputCount; n++) {
    const value = r.u64le() as Sat;
    outputs.push({ value, script: r.varBytes() });
  }
  if (segwit) {
    for (const i of inputs) {
      const items = r.compactSize();
      for (let n = 0; n < items; n++) i.witness.push(r.varBytes());
    }
    if (inputs.every((i) => i.witness.length === 0)) throw new TxParseError('superfluous witness record');
  }
  const locktime = r.u32le();
  return { version, inputs, outputs, locktime };
}

/** Parses exactly one transaction; throws TxParseError on malformed or trailing bytes. */
export function parseTx(bytes: Uint8Array): Transaction {
  const r = new ByteReader(bytes);
  const tx = readTx(r);
  if (r.remaining !== 0) throw new TxParseError('trailing bytes after transaction');
  return tx;
}

/** txid in internal byte order. */
export function txid(tx: Transaction): Uint8Array {
  return sha256d(serializeTx(tx, false));
}

export function wtxid(tx: Transaction): Uint8Array {
  return sha256d(serializeTx(tx, true));
}

/** Display form (reversed hex), as Bitcoin Core prints txids and block hashes. */
export function reversedHex(hash: Uint8Array): string {
  return hex(Uint8Array.from(hash).reverse());
}

export function fromReversedHex(text: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new TxParseError(`not a 32-byte hash: ${text.slice(0, 70)}`);
  return Uint8Array.from(Buffer.from(text, 'hex')).reverse();
}

export function txidHex(tx: Transaction): string {
  return reversedHex(txid(tx));
}

export function weight(tx: Transaction): number {
  const base = serializeTx(tx, false).length;
  const total = serializeTx(tx, true).length;
  return base * 3 + total;
}

export function vsize(tx: Transaction): number {
  return Math.ceil(weight(tx) / 4);
}
