// Bookkeeping for the BOLT 4 spec material: every vector file is run by some test (none silently left out),
// and every `// BOLT #n:` quote in src/bolt04-onion is found verbatim (modulo whitespace) in that BOLT.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readBolt, repoRoot, specPath } from '../../src/testing/spec.ts';

/** Vector files and the test file that runs each, in full. */
const COVERED: Record<string, string> = {
  'onion-test.json': 'sphinx.test.ts',
  'onion-error-test.json': 'failure.test.ts',
  'route-blinding-test.json': 'blinding.test.ts',
  'blinded-payment-onion-test.json': 'blinding.test.ts',
  'blinded-onion-message-onion-test.json': 'onion-message.test.ts',
};
/** The markdown "Test Vector" section of 04-onion-routing.md (errors with attribution data, success). */
const MARKDOWN_VECTORS_TEST = 'attribution.test.ts';
/** Vectors not run, with the reason. Must stay empty; the test fails if it grows. */
const NOT_RUN: Record<string, string> = {};
const MAX_NOT_RUN = 0;

test('every BOLT 4 vector file is run by a test (not run: 0)', () => {
  const files = readdirSync(specPath('bolts', 'bolt04')).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 5);
  const missing = files.filter((f) => COVERED[f] === undefined && NOT_RUN[f] === undefined);
  assert.deepEqual(missing, [], 'new vector files need a test');
  assert.ok(Object.keys(NOT_RUN).length <= MAX_NOT_RUN, `vectors not run: ${JSON.stringify(NOT_RUN)}`);
  for (const [file, testFile] of Object.entries(COVERED)) {
    const text = readFileSync(join(repoRoot, 'test', 'bolt04-onion', testFile), 'utf8');
    assert.ok(text.includes(`'${file}'`), `${testFile} loads ${file}`);
  }
  const md = readFileSync(join(repoRoot, 'test', 'bolt04-onion', MARKDOWN_VECTORS_TEST), 'utf8');
  assert.ok(md.includes("readBolt('04-onion-routing.md')") && md.includes('## Returning success'));
});

const BOLT_FILES: Record<string, string> = {
  '1': '01-messaging.md',
  '2': '02-peer-protocol.md',
  '4': '04-onion-routing.md',
};
const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

test('every // BOLT #n: quote in src/bolt04-onion is verbatim spec text', () => {
  const dir = join(repoRoot, 'src', 'bolt04-onion');
  let quotes = 0;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.ts'))) {
    const lines = readFileSync(join(dir, f), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const m = /^\s*\/\/ BOLT #(\d+):\s*$/.exec(lines[i]!);
      if (!m) continue;
      const quoted: string[] = [];
      for (let j = i + 1; j < lines.length && /^\s*\/\//.test(lines[j]!); j++) {
        const text = lines[j]!.replace(/^\s*\/\/ ?/, '');
        if (text.startsWith('(')) break; // our own remark after a quote
        quoted.push(text);
      }
      const spec = squash(readBolt(BOLT_FILES[m[1]!]!));
      assert.ok(quoted.length > 0, `${f}:${i + 1} empty quote`);
      assert.ok(spec.includes(squash(quoted.join(' '))), `${f}:${i + 1} not verbatim: ${quoted.join(' | ')}`);
      quotes++;
    }
  }
  assert.ok(quotes >= 20, `found ${quotes} quotes`);
});
