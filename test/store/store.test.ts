// One conformance suite for every Store adapter (DESIGN.md: every adapter of a seam passes the same suite).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { MIGRATIONS, memoryStore, migrate, openSqliteStore, schemaVersion } from '../../src/store/sqlite.ts';
import { decodeRecord, del, encodeRecord, put, type Store } from '../../src/store/store.ts';

const b = (s: string) => new TextEncoder().encode(s);

function conformance(name: string, open: () => { store: Store; reopen?: () => Store; cleanup: () => void }) {
  describe(`Store conformance: ${name}`, () => {
    test('put, get, overwrite, delete, list in key order, namespaces apart', () => {
      const { store, cleanup } = open();
      store.batch([put('a', 'k2', b('two')), put('a', 'k1', b('one')), put('b', 'k1', b('other'))]);
      assert.deepEqual(store.get('a', 'k1'), b('one'));
      store.batch([put('a', 'k1', b('uno'))]);
      assert.deepEqual(
        store.list('a').map((r) => [r.key, new TextDecoder().decode(r.value)]),
        [
          ['k1', 'uno'],
          ['k2', 'two'],
        ],
      );
      store.batch([del('a', 'k2')]);
      assert.equal(store.get('a', 'k2'), undefined);
      assert.deepEqual(store.get('b', 'k1'), b('other'));
      store.close();
      cleanup();
    });
    test('a stored value is not aliased to the caller buffer', () => {
      const { store, cleanup } = open();
      const v = b('abc');
      store.batch([put('n', 'k', v)]);
      v[0] = 0;
      assert.deepEqual(store.get('n', 'k'), b('abc'));
      store.close();
      cleanup();
    });
  });
}

conformance('memory', () => ({ store: memoryStore(), cleanup: () => {} }));
conformance('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shandian-store-'));
  return {
    store: openSqliteStore(join(dir, 'db.sqlite')),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
});

test('sqlite: batches are atomic and survive a reopen', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shandian-store-'));
  const path = join(dir, 'db.sqlite');
  const s1 = openSqliteStore(path);
  s1.batch([put('x', '1', b('a')), put('x', '2', b('b'))]);
  // A batch that fails half way leaves nothing behind.
  assert.throws(() =>
    s1.batch([
      put('x', '3', b('c')),
      { kind: 'put', ns: 'x', key: '4', value: null as unknown as Uint8Array },
    ]),
  );
  assert.equal(s1.get('x', '3'), undefined);
  s1.close();
  const s2 = openSqliteStore(path);
  assert.deepEqual(
    s2.list('x').map((r) => r.key),
    ['1', '2'],
  );
  s2.close();
  rmSync(dir, { recursive: true, force: true });
});

test('migrations: each step runs once, in order, and a newer schema is refused', () => {
  const db = new Database(':memory:');
  migrate(db);
  assert.equal(schemaVersion(db), MIGRATIONS.length);
  migrate(db); // idempotent
  assert.equal(schemaVersion(db), MIGRATIONS.length);
  const cols = db.prepare("SELECT name FROM pragma_table_info('records')").all() as { name: string }[];
  assert.deepEqual(
    cols.map((c) => c.name),
    ['ns', 'key', 'value'],
  );
  db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
  assert.throws(() => migrate(db), /newer than this shandian knows/);
});

test('records keep their version, bigints, and unknown fields from newer versions', () => {
  const r = decodeRecord<{ amount: bigint; future?: string }>(
    encodeRecord(2, { amount: 2n ** 70n, future: 'x' }),
  );
  assert.equal(r.v, 2);
  assert.equal(r.amount, 2n ** 70n);
  assert.equal(r.future, 'x');
});
