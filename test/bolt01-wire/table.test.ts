// The committed message table must be exactly what tools/extract-wire.ts makes of the spec markdown.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { specTable } from '../../src/bolt01-wire/index.ts';
import { repoRoot } from '../../src/testing/spec.ts';
import {
  BOLTS_DIR,
  extract,
  render,
  renderTestTable,
  TABLE_PATH,
  TEST_TABLE_PATH,
} from '../../tools/extract-wire.ts';
import { appendixStreams } from './appendix-table.ts';

test('tools/extract-wire.ts --check passes on the committed table', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'tools/extract-wire.ts', '--check'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /matches the spec/);
});

test('the check notices a spec change', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wire-spec-'));
  try {
    cpSync(BOLTS_DIR, dir, { recursive: true });
    const file = join(dir, '01-messaging.md');
    const text = readFileSync(file, 'utf8');
    const changed = text.replace('[`u16`:`num_pong_bytes`]', '[`u32`:`num_pong_bytes`]');
    assert.notEqual(changed, text);
    writeFileSync(file, changed);
    assert.notEqual(render(extract(dir)), readFileSync(TABLE_PATH, 'utf8'));
    // And the unchanged spec renders to the committed files byte for byte.
    const x = extract(BOLTS_DIR);
    assert.equal(render(x), readFileSync(TABLE_PATH, 'utf8'));
    assert.equal(renderTestTable(x), readFileSync(TEST_TABLE_PATH, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the check notices a change to a test-only appendix stream', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wire-spec-'));
  try {
    cpSync(BOLTS_DIR, dir, { recursive: true });
    const file = join(dir, '01-messaging.md');
    const text = readFileSync(file, 'utf8');
    const changed = text.replace('[`u16`:`cltv_delta`]', '[`u32`:`cltv_delta`]');
    assert.notEqual(changed, text);
    writeFileSync(file, changed);
    const x = extract(dir);
    assert.notEqual(renderTestTable(x), readFileSync(TEST_TABLE_PATH, 'utf8'));
    // The production table does not depend on the appendix at all.
    assert.equal(render(x), readFileSync(TABLE_PATH, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every numbered message header in BOLT 1/2/4/7 is in the table', () => {
  let seen = 0;
  for (const file of [
    '01-messaging.md',
    '02-peer-protocol.md',
    '04-onion-routing.md',
    '07-routing-gossip.md',
  ]) {
    const text = readFileSync(join(BOLTS_DIR, file), 'utf8');
    for (const m of text.matchAll(/^1\. type: ((?:[A-Z]+\|)*)(\d+) \(`([a-z0-9_]+)`\)/gm)) {
      const name = m[3]!;
      const inMessages = name in specTable.messages;
      const inFailures = name in specTable.failures;
      assert.ok(inMessages || inFailures, `${file}: ${name} missing from the table`);
      if (inMessages) {
        assert.equal(specTable.messages[name as keyof typeof specTable.messages].type, Number(m[2]), name);
      }
      seen++;
    }
  }
  assert.ok(seen >= 70, `only ${seen} headers seen`);
});

test("BOLT 1 Appendix B's test namespaces are in the test table only, never in the production table", () => {
  const x = extract(BOLTS_DIR);
  assert.deepEqual(
    x.testStreams.map((s) => s.name),
    ['n1', 'n2'],
  );
  for (const name of ['n1', 'n2']) {
    assert.equal(name in specTable.tlvStreams, false, `${name} leaked into the production table`);
    assert.equal(name in appendixStreams, true, `${name} missing from the test table`);
  }
  assert.ok(Object.keys(specTable.tlvStreams).length >= 10);
});

test('table shape: known sizes of well-known messages and failure codes', () => {
  assert.equal(specTable.messages.init.type, 16);
  assert.equal(specTable.messages.update_add_htlc.tlvs, 'update_add_htlc_tlvs');
  assert.equal(specTable.messages.channel_reestablish.tlvs, 'channel_reestablish_tlvs');
  assert.equal(specTable.failures.incorrect_or_unknown_payment_details.code, 0x400f);
  assert.equal(specTable.failures.invalid_onion_hmac.code, 0xc005);
  assert.equal(specTable.failures.temporary_channel_failure.code, 0x1007);
  assert.equal(specTable.failures.required_node_feature_missing.code, 0x6003);
  // hop_payloads / onionmsg_payloads describe repeated, obfuscated data and are listed as skipped.
  assert.deepEqual(
    specTable.skipped.map((s) => s.name),
    ['hop_payloads', 'onionmsg_payloads'],
  );
});
