// Durable devnet state in SQLite (better-sqlite3): blocks with undo data, the active chain, the UTXO set,
// the mempool and a few settings. Every block connect/disconnect is one transaction, so a restart resumes
// at the same tip with a UTXO set that matches it.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Sat } from '../../core/units.ts';
import type { CoinChange } from './connect.ts';
import type { Coin } from './validate.ts';

const SCHEMA_VERSION = 1;

export interface StoredBlock {
  readonly hash: Uint8Array;
  readonly height: number;
  readonly raw: Uint8Array;
  readonly invalid: boolean;
}

/** One devnet per datadir, like Core's .lock: a lock left by a dead process is taken over. */
function acquireLock(file: string, datadir: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(file, 'utf8'));
      let alive = false;
      if (pid === process.pid) alive = true;
      else if (Number.isInteger(pid) && pid > 0) {
        try {
          process.kill(pid, 0); // signal 0 only asks whether the process exists
          alive = true;
        } catch {
          alive = false;
        }
      }
      if (alive)
        throw new Error(
          `Cannot obtain a lock on data directory ${datadir}. The devnet is probably already running.`,
        );
      rmSync(file, { force: true });
    }
  }
  throw new Error(`Cannot obtain a lock on data directory ${datadir}.`);
}

export class DevnetStore {
  private readonly db: Database.Database;

  private readonly lockFile: string;

  constructor(datadir: string) {
    mkdirSync(datadir, { recursive: true });
    this.lockFile = join(datadir, '.lock');
    acquireLock(this.lockFile, datadir);
    this.db = new Database(join(datadir, 'devnet.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS blocks (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, hash BLOB NOT NULL UNIQUE, height INTEGER NOT NULL,
        raw BLOB NOT NULL, undo BLOB, invalid INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS active (height INTEGER PRIMARY KEY, hash BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS utxos (
        key TEXT PRIMARY KEY, value INTEGER NOT NULL, script BLOB NOT NULL, height INTEGER NOT NULL, coinbase INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS mempool (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, raw BLOB NOT NULL, time INTEGER NOT NULL);
    `);
    const version = this.getMeta('schema');
    if (version === null) this.setMeta('schema', Buffer.from(String(SCHEMA_VERSION)));
    else if (Number(Buffer.from(version).toString()) !== SCHEMA_VERSION) {
      throw new Error(`devnet store: unsupported schema version ${Buffer.from(version).toString()}`);
    }
  }

  /** Runs `fn` in one transaction (nested writes become savepoints): one fsync for many blocks. */
  batch<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    this.db.close();
    rmSync(this.lockFile, { force: true });
  }

  getMeta(key: string): Uint8Array | null {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as
      | { value: Buffer }
      | undefined;
    return row ? new Uint8Array(row.value) : null;
  }

  setMeta(key: string, value: Uint8Array): void {
    this.db
      .prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      )
      .run(key, value);
  }

  /** Every stored block, in the order first seen. */
  blocks(): StoredBlock[] {
    const rows = this.db.prepare('SELECT hash, height, raw, invalid FROM blocks ORDER BY seq').all() as {
      hash: Buffer;
      height: number;
      raw: Buffer;
      invalid: number;
    }[];
    return rows.map((r) => ({
      hash: new Uint8Array(r.hash),
      height: r.height,
      raw: new Uint8Array(r.raw),
      invalid: r.invalid !== 0,
    }));
  }

  activeChain(): Uint8Array[] {
    const rows = this.db.prepare('SELECT height, hash FROM active ORDER BY height').all() as {
      height: number;
      hash: Buffer;
    }[];
    rows.forEach((r, i) => {
      if (r.height !== i) throw new Error(`devnet store: active chain has a gap at height ${i}`);
    });
    return rows.map((r) => new Uint8Array(r.hash));
  }

  utxos(): CoinChange[] {
    const rows = this.db.prepare('SELECT key, value, script, height, coinbase FROM utxos').all() as {
      key: string;
      value: number;
      script: Buffer;
      height: number;
      coinbase: number;
    }[];
    return rows.map((r) => ({
      key: r.key,
      coin: {
        output: { value: BigInt(r.value) as Sat, script: new Uint8Array(r.script) },
        height: r.height,
        coinbase: r.coinbase !== 0,
      },
    }));
  }

  undo(hash: Uint8Array): Uint8Array | null {
    const row = this.db.prepare('SELECT undo FROM blocks WHERE hash = ?').get(hash) as
      | { undo: Buffer | null }
      | undefined;
    return row?.undo ? new Uint8Array(row.undo) : null;
  }

  putBlock(hash: Uint8Array, height: number, raw: Uint8Array): void {
    this.db
      .prepare('INSERT OR IGNORE INTO blocks (hash, height, raw) VALUES (?, ?, ?)')
      .run(hash, height, raw);
  }

  setInvalid(hashes: readonly Uint8Array[], invalid: boolean): void {
    const stmt = this.db.prepare('UPDATE blocks SET invalid = ? WHERE hash = ?');
    this.db.transaction(() => {
      for (const h of hashes) stmt.run(invalid ? 1 : 0, h);
    })();
  }

  /** One atomic step of the active chain: the tip moves and the UTXO set follows. */
  connect(
    hash: Uint8Array,
    height: number,
    undo: Uint8Array,
    spent: readonly string[],
    created: readonly CoinChange[],
  ): void {
    const del = this.db.prepare('DELETE FROM utxos WHERE key = ?');
    const ins = this.db.prepare(
      'INSERT OR REPLACE INTO utxos (key, value, script, height, coinbase) VALUES (?, ?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      this.db.prepare('UPDATE blocks SET undo = ? WHERE hash = ?').run(undo, hash);
      this.db.prepare('INSERT OR REPLACE INTO active (height, hash) VALUES (?, ?)').run(height, hash);
      for (const k of spent) del.run(k);
      for (const c of created)
        ins.run(
          c.key,
          Number(c.coin.output.value),
          c.coin.output.script,
          c.coin.height,
          c.coin.coinbase ? 1 : 0,
        );
    })();
  }

  disconnect(height: number, remove: readonly string[], restore: readonly CoinChange[]): void {
    const del = this.db.prepare('DELETE FROM utxos WHERE key = ?');
    const ins = this.db.prepare(
      'INSERT OR REPLACE INTO utxos (key, value, script, height, coinbase) VALUES (?, ?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM active WHERE height >= ?').run(height);
      for (const k of remove) del.run(k);
      for (const c of restore)
        ins.run(
          c.key,
          Number(c.coin.output.value),
          c.coin.output.script,
          c.coin.height,
          c.coin.coinbase ? 1 : 0,
        );
    })();
  }

  mempool(): { id: string; raw: Uint8Array; time: number }[] {
    const rows = this.db.prepare('SELECT id, raw, time FROM mempool ORDER BY seq').all() as {
      id: string;
      raw: Buffer;
      time: number;
    }[];
    return rows.map((r) => ({ id: r.id, raw: new Uint8Array(r.raw), time: r.time }));
  }

  /** Rewrites the stored mempool to exactly these entries, in this order. */
  setMempool(entries: readonly { id: string; raw: Uint8Array; time: number }[]): void {
    const ins = this.db.prepare('INSERT INTO mempool (id, raw, time) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM mempool').run();
      for (const e of entries) ins.run(e.id, e.raw, e.time);
    })();
  }

  mempoolAdd(id: string, raw: Uint8Array, time: number, evicted: readonly string[]): void {
    const del = this.db.prepare('DELETE FROM mempool WHERE id = ?');
    this.db.transaction(() => {
      for (const e of evicted) del.run(e);
      this.db.prepare('INSERT OR REPLACE INTO mempool (id, raw, time) VALUES (?, ?, ?)').run(id, raw, time);
    })();
  }
}

export type { Coin };
