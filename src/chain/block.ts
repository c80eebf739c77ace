// Blocks for the devnet: header serialization and hash, merkle roots, the BIP141 witness commitment,
// BIP34 heights, regtest proof of work and subsidy, and the regtest genesis block. Pure.

import {
  ByteReader,
  encodeCompactSize,
  readTx,
  serializeTx,
  type Transaction,
  TxParseError,
  txid,
  wtxid,
} from '../bitcoin/tx.ts';
import { concat, equal, fromHex } from '../core/bytes.ts';
import type { Sat } from '../core/units.ts';
import { sha256d } from '../crypto/hash.ts';

export interface BlockHeader {
  readonly version: number;
  readonly prevHash: Uint8Array;
  readonly merkleRoot: Uint8Array;
  readonly time: number;
  readonly bits: number;
  readonly nonce: number;
}

export interface Block {
  readonly header: BlockHeader;
  readonly txs: readonly Transaction[];
}

/** Regtest consensus parameters (Bitcoin Core's CRegTestParams). */
export const REGTEST = {
  powLimitBits: 0x207fffff,
  subsidyHalvingInterval: 150,
  coinbaseMaturity: 100,
  maxBlockWeight: 4_000_000,
  /** Seconds a header may be ahead of the node's clock. */
  maxFutureBlockTime: 2 * 60 * 60,
  genesisHash: '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206',
} as const;

export const COIN = 100_000_000n;

export function serializeHeader(h: BlockHeader): Uint8Array {
  const out = new Uint8Array(80);
  const v = new DataView(out.buffer);
  v.setInt32(0, h.version, true);
  out.set(h.prevHash, 4);
  out.set(h.merkleRoot, 36);
  v.setUint32(68, h.time >>> 0, true);
  v.setUint32(72, h.bits >>> 0, true);
  v.setUint32(76, h.nonce >>> 0, true);
  return out;
}

export function parseHeader(bytes: Uint8Array): BlockHeader {
  if (bytes.length < 80) throw new TxParseError('block header too short');
  const v = new DataView(bytes.buffer, bytes.byteOffset, 80);
  return {
    version: v.getInt32(0, true),
    prevHash: bytes.slice(4, 36),
    merkleRoot: bytes.slice(36, 68),
    time: v.getUint32(68, true),
    bits: v.getUint32(72, true),
    nonce: v.getUint32(76, true),
  };
}

/** Block hash in internal order. */
export function blockHash(h: BlockHeader): Uint8Array {
  return sha256d(serializeHeader(h));
}

export function serializeBlock(b: Block, witness = true): Uint8Array {
  return concat(
    serializeHeader(b.header),
    encodeCompactSize(b.txs.length),
    ...b.txs.map((t) => serializeTx(t, witness)),
  );
}

export function parseBlock(bytes: Uint8Array): Block {
  const header = parseHeader(bytes);
  const r = new ByteReader(bytes);
  r.offset = 80;
  const n = r.compactSize();
  const txs: Transaction[] = [];
  for (let i = 0; i < n; i++) txs.push(readTx(r));
  if (r.remaining !== 0) throw new TxParseError('trailing bytes after block');
  return { header, txs };
}

export function blockWeight(b: Block): number {
  return serializeBlock(b, false).length * 3 + serializeBlock(b, true).length;
}

/**
 * Merkle root of a list of 32-byte hashes, duplicating the last one on odd levels, and whether the tree
 * has two identical adjacent hashes at some level (CVE-2012-2459: a mutated list with the same root).
 */
export function merkleRootChecked(hashes: readonly Uint8Array[]): { root: Uint8Array; mutated: boolean } {
  if (hashes.length === 0) return { root: new Uint8Array(32), mutated: false };
  let level = hashes.slice();
  let mutated = false;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const a = level[i]!;
      const b = level[i + 1];
      if (b && equal(a, b)) mutated = true;
      next.push(sha256d(concat(a, b ?? a)));
    }
    level = next;
  }
  return { root: level[0]!, mutated };
}

export function merkleRoot(hashes: readonly Uint8Array[]): Uint8Array {
  return merkleRootChecked(hashes).root;
}

export function merkleMutated(hashes: readonly Uint8Array[]): boolean {
  return merkleRootChecked(hashes).mutated;
}

export function txMerkleRoot(txs: readonly Transaction[]): Uint8Array {
  return merkleRoot(txs.map(txid));
}

const WITNESS_COMMITMENT_HEADER = fromHex('aa21a9ed');

/** BIP141: the coinbase's wtxid counts as zero. */
export function witnessMerkleRoot(txs: readonly Transaction[]): Uint8Array {
  return merkleRoot(txs.map((t, i) => (i === 0 ? new Uint8Array(32) : wtxid(t))));
}

/** The coinbase output script committing to the witness root with a 32-byte reserved value. */
export function witnessCommitmentScript(txs: readonly Transaction[], reserved: Uint8Array): Uint8Array {
  const commitment = sha256d(concat(witnessMerkleRoot(txs), reserved));
  return concat(new Uint8Array([0x6a, 0x24]), WITNESS_COMMITMENT_HEADER, commitment);
}

/** Index of the last coinbase output that is a witness commitment (BIP141), or -1. */
export function findWitnessCommitment(coinbase: Transaction): number {
  let found = -1;
  coinbase.outputs.forEach((o, i) => {
    const s = o.script;
    if (
      s.length >= 38 &&
      s[0] === 0x6a &&
      s[1] === 0x24 &&
      equal(s.subarray(2, 6), WITNESS_COMMITMENT_HEADER)
    ) {
      found = i;
    }
  });
  return found;
}

/** Minimal CScriptNum push as `CScript() << n` writes it (OP_0, OP_1..OP_16, or a push). */
export function scriptPushInt(n: number): Uint8Array {
  if (n === 0) return new Uint8Array([0x00]);
  if (n >= 1 && n <= 16) return new Uint8Array([0x50 + n]);
  if (n === -1) return new Uint8Array([0x4f]);
  const bytes: number[] = [];
  let abs = Math.abs(n);
  while (abs > 0) {
    bytes.push(abs & 0xff);
    abs = Math.floor(abs / 256);
  }
  if (bytes[bytes.length - 1]! & 0x80) bytes.push(n < 0 ? 0x80 : 0);
  else if (n < 0) bytes[bytes.length - 1]! |= 0x80;
  return new Uint8Array([bytes.length, ...bytes]);
}

/** Expands compact `bits` into the 256-bit target. */
export function targetFromBits(bits: number): bigint {
  const exponent = bits >>> 24;
  const mantissa = BigInt(bits & 0x007fffff);
  if (bits & 0x00800000) return 0n; // negative targets are invalid
  return exponent <= 3 ? mantissa >> BigInt(8 * (3 - exponent)) : mantissa << BigInt(8 * (exponent - 3));
}

function hashAsNumber(hash: Uint8Array): bigint {
  let n = 0n;
  for (let i = hash.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(hash[i]!);
  return n;
}

/** Bitcoin Core's CheckProofOfWork: target within the limit and hash at or below it. */
export function checkProofOfWork(
  hash: Uint8Array,
  bits: number,
  powLimitBits = REGTEST.powLimitBits,
): boolean {
  const target = targetFromBits(bits);
  if (target === 0n || target > targetFromBits(powLimitBits)) return false;
  return hashAsNumber(hash) <= target;
}

/** Expected work of one block with these bits, as chainwork counts it. */
export function blockWork(bits: number): bigint {
  const target = targetFromBits(bits);
  return target === 0n ? 0n : (1n << 256n) / (target + 1n);
}

/** Finds a nonce meeting the target; regtest needs about two tries. Returns null if none in the 32-bit range. */
export function grind(header: BlockHeader): BlockHeader | null {
  for (let nonce = header.nonce; nonce <= 0xffff_ffff; nonce++) {
    const h = { ...header, nonce };
    if (checkProofOfWork(blockHash(h), h.bits)) return h;
  }
  return null;
}

export function blockSubsidy(height: number, halving: number = REGTEST.subsidyHalvingInterval): Sat {
  const halvings = Math.floor(height / halving);
  if (halvings >= 64) return 0n as Sat;
  return ((50n * COIN) >> BigInt(halvings)) as Sat;
}

/** Median of the last (up to) 11 block times, as Core's GetMedianTimePast. */
export function medianTime(times: readonly number[]): number {
  const last = times
    .slice(-11)
    .slice()
    .sort((a, b) => a - b);
  return last[Math.floor(last.length / 2)] ?? 0;
}

const GENESIS_SCRIPT_SIG = fromHex(
  '04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73',
);
const GENESIS_OUTPUT_SCRIPT = fromHex(
  '4104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac',
);

/** The regtest genesis block: mainnet's coinbase with regtest's time, bits and nonce. */
export function regtestGenesis(): Block {
  const coinbase: Transaction = {
    version: 1,
    inputs: [
      {
        prevout: { txid: new Uint8Array(32), vout: 0xffffffff },
        scriptSig: GENESIS_SCRIPT_SIG,
        sequence: 0xffffffff,
        witness: [],
      },
    ],
    outputs: [{ value: (50n * COIN) as Sat, script: GENESIS_OUTPUT_SCRIPT }],
    locktime: 0,
  };
  return {
    header: {
      version: 1,
      prevHash: new Uint8Array(32),
      merkleRoot: txMerkleRoot([coinbase]),
      time: 1296688602,
      bits: REGTEST.powLimitBits,
      nonce: 2,
    },
    txs: [coinbase],
  };
}

export { isCoinbase } from '../bitcoin/check-tx.ts';
