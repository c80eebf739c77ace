import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { hex } from '../../src/core/bytes.ts';
import type { EntropySource } from '../../src/crypto/index.ts';
import { seedFromMnemonic } from '../../src/keys/mnemonic.ts';
import {
  createSeedFile,
  decodeSeedFile,
  encodeSeedFile,
  importSeedFile,
  loadSeedFile,
  openOrCreateSeedFile,
  revealMnemonic,
  SeedFileError,
  seedFilePath,
} from '../../src/keys/seed-file.ts';

/** Deterministic "randomness" for tests: a counter expanded into bytes. */
function fakeRandom(start = 1): EntropySource {
  let n = start;
  return { randomBytes: (len) => Uint8Array.from({ length: len }, () => n++ & 0xff) };
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'shandian-seed-'));
}

const LOW = 10; // scrypt cost for tests only

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof SeedFileError, `expected SeedFileError, got ${String(e)}`);
    return e.code;
  }
  assert.fail('expected an error');
}

test('plain seed file: created 0600 under <datadir>/<network>/seed, mnemonic returned once, loads the same seed', () => {
  const datadir = tmp();
  try {
    const entropy = new Uint8Array(32).fill(7);
    const created = createSeedFile({ datadir, network: 'regtest', entropy }, fakeRandom());
    assert.equal(created.path, join(datadir, 'regtest', 'seed'));
    assert.equal(created.mnemonic.split(' ').length, 24);
    assert.equal((statSync(created.path).mode & 0o777).toString(8), '600');
    assert.equal((statSync(join(datadir, 'regtest')).mode & 0o777).toString(8), '700');
    const expected = seedFromMnemonic(created.mnemonic);
    assert.ok(expected.ok);
    assert.equal(hex(created.seed), hex(expected.value));
    const loaded = loadSeedFile({ datadir, network: 'regtest' });
    assert.equal(hex(loaded.seed), hex(created.seed));
    assert.equal(loaded.encrypted, false);
    assert.ok(!('mnemonic' in loaded));
    assert.equal(revealMnemonic({ datadir, network: 'regtest' }), created.mnemonic);
    // The file does not contain the mnemonic words in the clear (only entropy).
    assert.doesNotMatch(readFileSync(created.path, 'latin1'), new RegExp(created.mnemonic.split(' ')[0]!));
    // Refuses to overwrite, and nothing changes.
    assert.equal(
      code(() => createSeedFile({ datadir, network: 'regtest', entropy: new Uint8Array(32) }, fakeRandom())),
      'exists',
    );
    assert.equal(hex(loadSeedFile({ datadir, network: 'regtest' }).seed), hex(created.seed));
    // Other networks are separate.
    assert.equal(
      code(() => loadSeedFile({ datadir, network: 'bitcoin' })),
      'not-found',
    );
    assert.equal(
      code(() => loadSeedFile({ datadir, network: 'regtest', passphrase: 'x' })),
      'not-encrypted',
    );
  } finally {
    rmSync(datadir, { recursive: true, force: true });
  }
});

test('encrypted seed file: right passphrase opens it, wrong or missing passphrase gives a clear error', () => {
  const datadir = tmp();
  try {
    const opts = { datadir, network: 'signet' as const, passphrase: 'correct horse', scryptLogN: LOW };
    const created = createSeedFile(
      { ...opts, entropy: new Uint8Array(16).fill(9), bip39Passphrase: 'extra' },
      fakeRandom(),
    );
    assert.equal(created.encrypted, true);
    const expected = seedFromMnemonic(created.mnemonic, 'extra');
    assert.ok(expected.ok);
    assert.equal(hex(loadSeedFile(opts).seed), hex(expected.value));
    const wrong = (() => {
      try {
        loadSeedFile({ ...opts, passphrase: 'wrong horse' });
      } catch (e) {
        return e as SeedFileError;
      }
      return null;
    })();
    assert.ok(wrong instanceof SeedFileError);
    assert.equal(wrong.code, 'wrong-passphrase');
    assert.match(wrong.message, /wrong passphrase/);
    assert.equal(
      code(() => loadSeedFile({ datadir, network: 'signet' })),
      'passphrase-required',
    );
    assert.equal(revealMnemonic(opts), created.mnemonic);
  } finally {
    rmSync(datadir, { recursive: true, force: true });
  }
});

test('refuses a seed file with permissions wider than 0600', () => {
  const datadir = tmp();
  try {
    const c = createSeedFile(
      { datadir, network: 'regtest', entropy: new Uint8Array(32).fill(1) },
      fakeRandom(),
    );
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      chmodSync(c.path, mode);
      const e = (() => {
        try {
          loadSeedFile({ datadir, network: 'regtest' });
        } catch (x) {
          return x as SeedFileError;
        }
        return null;
      })();
      assert.ok(e instanceof SeedFileError && e.code === 'permissions');
      assert.match(e.message, /chmod 600/);
    }
    chmodSync(c.path, 0o400); // narrower is fine
    assert.equal(hex(loadSeedFile({ datadir, network: 'regtest' }).seed), hex(c.seed));
  } finally {
    rmSync(datadir, { recursive: true, force: true });
  }
});

test('import from an existing mnemonic; invalid mnemonics are refused without creating a file', () => {
  const datadir = tmp();
  try {
    const abandon =
      'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
    assert.equal(
      code(() =>
        importSeedFile(
          { datadir, network: 'regtest', mnemonic: abandon.replace('about', 'zoo') },
          fakeRandom(),
        ),
      ),
      'invalid-mnemonic',
    );
    assert.equal(
      code(() => loadSeedFile({ datadir, network: 'regtest' })),
      'not-found',
    );
    const imported = importSeedFile(
      { datadir, network: 'regtest', mnemonic: abandon, passphrase: 'pw', scryptLogN: LOW },
      fakeRandom(),
    );
    const expected = seedFromMnemonic(abandon);
    assert.ok(expected.ok);
    assert.equal(hex(imported.seed), hex(expected.value));
    assert.equal(
      hex(loadSeedFile({ datadir, network: 'regtest', passphrase: 'pw' }).seed),
      hex(expected.value),
    );
  } finally {
    rmSync(datadir, { recursive: true, force: true });
  }
});

test('openOrCreateSeedFile creates once (with mnemonic), then loads (without)', () => {
  const datadir = tmp();
  try {
    const first = openOrCreateSeedFile({ datadir, network: 'testnet' }, fakeRandom(3));
    assert.equal(first.created, true);
    assert.ok(first.mnemonic !== undefined);
    const second = openOrCreateSeedFile({ datadir, network: 'testnet' }, fakeRandom(99));
    assert.equal(second.created, false);
    assert.equal(second.mnemonic, undefined);
    assert.equal(hex(second.seed), hex(first.seed));
  } finally {
    rmSync(datadir, { recursive: true, force: true });
  }
});

test('corruption, truncation, unknown versions and bit flips are all detected', () => {
  const payload = { entropy: new Uint8Array(32).fill(5), bip39Passphrase: '' };
  const plain = encodeSeedFile(payload, undefined, fakeRandom());
  assert.equal(hex(decodeSeedFile(plain, undefined).entropy), hex(payload.entropy));
  const enc = encodeSeedFile(payload, 'pw', fakeRandom(), LOW);
  assert.equal(hex(decodeSeedFile(enc, 'pw').entropy), hex(payload.entropy));
  for (const file of [plain, enc]) {
    const pw = file === enc ? 'pw' : undefined;
    for (let i = 0; i < file.length; i++) {
      const bad = Uint8Array.from(file);
      bad[i]! ^= 0x01;
      assert.throws(() => decodeSeedFile(bad, pw), SeedFileError, `bit flip at ${i} not detected`);
    }
    for (let n = 0; n < file.length; n += 7) {
      assert.throws(() => decodeSeedFile(file.subarray(0, n), pw), SeedFileError);
    }
  }
  const v2 = Uint8Array.from(plain);
  v2[8] = 2;
  assert.equal(
    code(() => decodeSeedFile(v2, undefined)),
    'unsupported-version',
  );
  // A file on disk that is garbage.
  const datadir = tmp();
  try {
    const path = seedFilePath({ datadir, network: 'regtest' });
    createSeedFile({ datadir, network: 'regtest', entropy: new Uint8Array(32) }, fakeRandom());
    writeFileSync(path, 'hello', { mode: 0o600 });
    assert.equal(
      code(() => loadSeedFile({ datadir, network: 'regtest' })),
      'corrupt',
    );
  } finally {
    rmSync(datadir, { recursive: true, force: true });
  }
});

test('fuzz: decoding arbitrary or mutated seed files only ever fails with SeedFileError', () => {
  const plain = encodeSeedFile(
    { entropy: new Uint8Array(24).fill(3), bip39Passphrase: 'p' },
    undefined,
    fakeRandom(),
  );
  let rejected = 0;
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 80 }),
        fc.uint8Array({ maxLength: 60 }).map((tail) => Uint8Array.from([...plain.subarray(0, 10), ...tail])),
        fc.tuple(fc.nat(plain.length - 1), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
          const b = Uint8Array.from(plain);
          b[i]! ^= x;
          return b;
        }),
      ),
      (bytes) => {
        // Encrypted kinds would run scrypt: keep the fuzz on the parsing paths.
        if (bytes[9] === 1) bytes[9] = 2;
        try {
          decodeSeedFile(bytes, undefined);
        } catch (e) {
          assert.ok(e instanceof SeedFileError, `unexpected ${String(e)}`);
          rejected++;
        }
      },
    ),
    { numRuns: 3000 },
  );
  assert.ok(rejected > 2900, `only ${rejected} rejected`);
});
