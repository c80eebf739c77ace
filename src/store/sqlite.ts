// The default Store: SQLite through better-sqlite3, WAL with synchronous=FULL so a returned batch survives
// a crash or power loss. Schema changes go through numbered migrations, each with a test.
import Database from 'better-sqlite3';
import type { Store, StoreOp } from './store.ts';

type Db = Database.Database;

/** Migration N brings the schema from version N-1 to N. Append only; never edit a released one. */
export const MIGRATIONS: readonly ((db: Db) => void)[] = [
  (db) =>
    db.exec(
      'CREATE TABLE records (ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (ns, key)) WITHOUT ROWID',
    ),
];

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function migrate(db: Db, migrations = MIGRATIONS): void {
  const from = schemaVersion(db);
  if (from > migrations.length) {
    throw new Error(
      `database schema version ${from} is newer than this shandian knows (${migrations.length}); upgrade shandian`,
    );
  }
  for (let v = from; v < migrations.length; v++) {
    db.transaction(() => {
      migrations[v]!(db);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

export function openSqliteStore(path: string): Store {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  migrate(db);
  const get = db.prepare<[string, string], { value: Buffer }>(
    'SELECT value FROM records WHERE ns = ? AND key = ?',
  );
  const list = db.prepare<[string], { key: string; value: Buffer }>(
    'SELECT key, value FROM records WHERE ns = ? ORDER BY key',
  );
  const upsert = db.prepare(
    'INSERT INTO records (ns, key, value) VALUES (?, ?, ?) ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value',
  );
  const remove = db.prepare('DELETE FROM records WHERE ns = ? AND key = ?');
  const apply = db.transaction((ops: readonly StoreOp[]) => {
    for (const op of ops) {
      // A view of the bytes, not a copy (a state write can be hundreds of kilobytes).
      if (op.kind === 'put')
        upsert.run(op.ns, op.key, Buffer.from(op.value.buffer, op.value.byteOffset, op.value.byteLength));
      else remove.run(op.ns, op.key);
    }
  });
  const bytes = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return {
    get: (ns, key) => {
      const row = get.get(ns, key);
      return row ? bytes(row.value) : undefined;
    },
    list: (ns) => list.all(ns).map((r) => ({ key: r.key, value: bytes(r.value) })),
    batch: (ops) => {
      if (ops.length > 0) apply(ops);
    },
    close: () => db.close(),
  };
}

/** An in-memory Store for unit tests of the code above it (never a substitute in end-to-end tests). */
export function memoryStore(): Store {
  const data = new Map<string, Map<string, Uint8Array>>();
  return {
    get: (ns, key) => data.get(ns)?.get(key),
    list: (ns) =>
      [...(data.get(ns) ?? new Map<string, Uint8Array>()).entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, value]) => ({ key, value })),
    batch: (ops) => {
      for (const op of ops) {
        const m = data.get(op.ns) ?? new Map<string, Uint8Array>();
        data.set(op.ns, m);
        if (op.kind === 'put') m.set(op.key, Uint8Array.from(op.value));
        else m.delete(op.key);
      }
    },
    close: () => {},
  };
}
