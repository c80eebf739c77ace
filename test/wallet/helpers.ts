// Test helpers: a memoized key source (derivation is the slow part) and transaction/block makers.

import type { Transaction } from '../../src/bitcoin/tx.ts';
import { hex, u32be } from '../../src/core/bytes.ts';
import type { Sat } from '../../src/core/units.ts';
import { sha256 } from '../../src/crypto/index.ts';
import { type Chain, KeyChain, type KeyPair } from '../../src/keys/derivation.ts';
import type { BlockInput, WalletKeySource } from '../../src/wallet/types.ts';
import { Wallet, type WalletOptions } from '../../src/wallet/wallet.ts';

const chain = new KeyChain(new Uint8Array(32).fill(0x5a), 'regtest');
const memo = new Map<string, unknown>();
function memoized<T>(key: string, make: () => T): T {
  if (!memo.has(key)) memo.set(key, make());
  return memo.get(key) as T;
}
export const keys: WalletKeySource = {
  bip84: (c: Chain, i: number): KeyPair => memoized(`84/${c}/${i}`, () => chain.bip84(c, i)),
  bip84Pubkey: (c: Chain, i: number): Uint8Array => memoized(`84p/${c}/${i}`, () => chain.bip84Pubkey(c, i)),
  bip86: (c: Chain, i: number): KeyPair => memoized(`86/${c}/${i}`, () => chain.bip86(c, i)),
  bip86Pubkey: (c: Chain, i: number): Uint8Array => memoized(`86p/${c}/${i}`, () => chain.bip86Pubkey(c, i)),
};

export function newWallet(options: WalletOptions = {}): Wallet {
  return new Wallet('regtest', keys, options);
}

/** A transaction from outside the wallet paying `outputs`; `nonce` makes its txid unique. */
export function externalTx(nonce: number, outputs: { script: Uint8Array; value: bigint }[]): Transaction {
  return {
    version: 2,
    inputs: [
      {
        prevout: { txid: sha256(u32be(nonce)), vout: 0 },
        scriptSig: new Uint8Array(),
        sequence: 0xffffffff,
        witness: [new Uint8Array([1])],
      },
    ],
    outputs: outputs.map((o) => ({ script: o.script, value: o.value as Sat })),
    locktime: 0,
  };
}

export function coinbaseTx(height: number, script: Uint8Array, value: bigint): Transaction {
  return {
    version: 2,
    inputs: [
      {
        prevout: { txid: new Uint8Array(32), vout: 0xffffffff },
        scriptSig: u32be(height),
        sequence: 0xffffffff,
        witness: [],
      },
    ],
    outputs: [{ script, value: value as Sat }],
    locktime: 0,
  };
}

export function blockHash(height: number, fork = 0): string {
  return hex(sha256(u32be(height), u32be(fork)));
}

export function block(height: number, txs: Transaction[], fork = 0): BlockInput {
  return { height, hash: blockHash(height, fork), txs };
}

/** JSON of all records, for "nothing changed" comparisons. */
export function snapshot(w: Wallet): string {
  return JSON.stringify(w.toRecords().sort((a, b) => (a.key < b.key ? -1 : 1)));
}
