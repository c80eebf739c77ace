// Onchain.onBlock: told after every block the wallet applied or undid (a reorg included), with the wallet
// already at that block, so the channel driver can look again at a funding double-spend (doubleSpendOf).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Transaction, txidHex } from '../../src/bitcoin/tx.ts';
import { type FeeratePerKw, sat } from '../../src/core/units.ts';
import { sha256 } from '../../src/crypto/index.ts';
import { KeyChain } from '../../src/keys/derivation.ts';
import { memoryLogger } from '../../src/node/logger.ts';
import { doubleSpendOf, Onchain } from '../../src/node/onchain.ts';
import { FakeChain } from './fake-chain.ts';

function pay(script: Uint8Array, value: bigint, from: Uint8Array, vout = 0): Transaction {
  return {
    version: 2,
    inputs: [
      { prevout: { txid: from, vout }, scriptSig: new Uint8Array(), sequence: 0xffffffff, witness: [] },
    ],
    outputs: [{ value: sat(value), script }],
    locktime: 0,
  };
}

test('onBlock follows the wallet block by block, reorgs included; doubleSpendOf reads its view', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shandian-onchain-'));
  const logs: { level: string; msg: string }[] = [];
  const chain = new FakeChain();
  const backend = Object.assign(chain, {
    broadcast: async () => new Uint8Array(32),
    feeratePerKw: async () => 2500 as FeeratePerKw,
  });
  const onchain = await Onchain.open({
    chain: backend as never,
    keys: new KeyChain(sha256(new TextEncoder().encode('onchain blocks')), 'regtest'),
    path: join(dir, 'wallet.sqlite'),
    log: memoryLogger(logs),
  });
  try {
    const seen: (number | null)[] = [];
    // A listener that throws neither stops the others nor the wallet.
    onchain.onBlock(() => {
      throw new Error('listener bug');
    });
    onchain.onBlock(() => seen.push(onchain.wallet.tipHeight));
    const w = onchain.wallet;
    const coin = pay(w.newReceiveScript().script, 100_000n, sha256(new Uint8Array([1])));
    chain.push([coin]);
    await onchain.sync();
    assert.deepEqual(seen, [1]);
    assert.ok(logs.some((l) => l.msg === 'wallet block listener failed'));

    // Ours, unconfirmed: the coin spent to a foreign script; then another spend of it is mined.
    const ownTx = pay(new Uint8Array([0x51]), 90_000n, txOf(coin));
    assert.ok(w.addUnconfirmed(ownTx, { kind: 'withdraw', all: false }).ok);
    assert.equal(doubleSpendOf(w, ownTx), undefined, 'spent by itself only');
    const other = pay(new Uint8Array([0x52]), 80_000n, txOf(coin));
    chain.push([other]);
    chain.push([]);
    await onchain.sync();
    assert.deepEqual(seen, [1, 2, 3]);
    assert.deepEqual(doubleSpendOf(w, ownTx), { txid: txidHex(other), confirmations: 2 });

    // A reorg takes both blocks out: told for each undone block and each new one.
    chain.rewind(2);
    chain.push([]);
    chain.push([]);
    chain.push([]);
    await onchain.sync();
    assert.deepEqual(seen, [1, 2, 3, 2, 1, 2, 3, 4]);
    assert.deepEqual(doubleSpendOf(w, ownTx), { txid: txidHex(other), confirmations: 0 });
  } finally {
    await onchain.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

function txOf(tx: Transaction): Uint8Array {
  return Uint8Array.from(Buffer.from(txidHex(tx), 'hex')).reverse();
}
