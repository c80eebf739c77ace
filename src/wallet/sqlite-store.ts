// Shell: wallet records in SQLite (better-sqlite3). One row per record; `apply` writes a batch of
// changes from Wallet.takeChanges() in one durable transaction. Usable on its own, or as the model
// for the node's namespaced Store: the records are all the wallet needs.
import Database from 'better-sqlite3';
import type { WalletRecord } from './records.ts';

type Db = InstanceType<typeof Database>;

/** Schema migrations, in order; user_version = number applied. Never edit one that shipped. */
const MIGRATIONS: readonly ((db: Db) => void)[] = [
  (db) => {
    db.exec(`CREATE TABLE wallet_records (
      key TEXT PRIMARY KEY NOT NULL,
      version INTEGER NOT NULL,
      data TEXT NOT NULL
    ) WITHOUT ROWID`);
  },
];

export const WALLET_SCHEMA_VERSION = MIGRATIONS.length;

export class WalletStoreError extends Error {}

export class WalletStore {
  private constructor(private readonly db: Db) {}

  /** Opens (creating or migrating) the store at `path` (":memory:" for tests). */
  static open(path: string): WalletStore {
    const db = new Database(path);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      migrate(db);
    } catch (e) {
      db.close();
      throw e;
    }
    return new WalletStore(db);
  }

  load(): WalletRecord[] {
    const rows = this.db.prepare('SELECT key, version, data FROM wallet_records ORDER BY key').all() as {
      key: string;
      version: number;
      data: string;
    }[];
    return rows.map((r) => {
      let data: unknown;
      try {
        data = JSON.parse(r.data);
      } catch {
        throw new WalletStoreError(`wallet record ${r.key} is not valid JSON`);
      }
      return { key: r.key, version: r.version, data: data as Record<string, unknown> };
    });
  }

  /** Writes puts and deletes atomically. */
  apply(changes: { readonly put: readonly WalletRecord[]; readonly delete: readonly string[] }): void {
    const put = this.db.prepare(
      'INSERT INTO wallet_records (key, version, data) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET version = excluded.version, data = excluded.data',
    );
    const del = this.db.prepare('DELETE FROM wallet_records WHERE key = ?');
    this.db.transaction(() => {
      for (const r of changes.put) put.run(r.key, r.version, JSON.stringify(r.data));
      for (const k of changes.delete) del.run(k);
    })();
  }

  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  close(): void {
    this.db.close();
  }
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new WalletStoreError(
      `wallet database schema ${current} is newer than this shandian supports (${MIGRATIONS.length}): upgrade shandian`,
    );
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      MIGRATIONS[v]!(db);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
