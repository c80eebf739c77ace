import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { p2wpkh } from '../../src/bitcoin/script.ts';
import type { FeeratePerKw, Sat } from '../../src/core/units.ts';
import { withdraw } from '../../src/wallet/spend.ts';
import { WALLET_SCHEMA_VERSION, WalletStore, WalletStoreError } from '../../src/wallet/sqlite-store.ts';
import { Wallet } from '../../src/wallet/wallet.ts';
import { block, externalTx, keys, newWallet, snapshot } from './helpers.ts';

test('sqlite store: migrates an empty database, persists incremental changes, reloads the same wallet', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shandian-wallet-'));
  try {
    const path = join(dir, 'wallet.sqlite3');
    let store = WalletStore.open(path);
    assert.equal(store.schemaVersion, WALLET_SCHEMA_VERSION);
    assert.deepEqual(store.load(), []);
    const w = newWallet();
    const script = w.newReceiveScript().script;
    assert.ok(w.applyBlock(block(1, [externalTx(1, [{ script, value: 90_000n }])])).ok);
    store.apply(w.takeChanges());
    const r = withdraw(w, p2wpkh(new Uint8Array(20).fill(3)), 20_000n as Sat, {
      feerate: 1000 as FeeratePerKw,
    });
    assert.ok(r.ok);
    store.apply(w.takeChanges());
    assert.ok(w.abandon(r.value.txid).ok);
    const last = w.takeChanges();
    assert.ok(last.delete.length > 0, 'abandon deletes records');
    store.apply(last);
    store.close();
    // Reopening does not migrate again and returns the same records.
    store = WalletStore.open(path);
    const restored = Wallet.fromRecords(store.load(), keys);
    assert.equal(snapshot(restored), snapshot(w));
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite store: a database from a newer schema is refused with a clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shandian-wallet-'));
  try {
    const path = join(dir, 'wallet.sqlite3');
    const db = new Database(path);
    db.pragma(`user_version = ${WALLET_SCHEMA_VERSION + 1}`);
    db.close();
    assert.throws(
      () => WalletStore.open(path),
      (e: unknown) => e instanceof WalletStoreError && /newer than this shandian/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
