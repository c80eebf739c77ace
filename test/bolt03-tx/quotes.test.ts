// DESIGN rule 11: every `// BOLT #3:` comment in src/bolt03-tx quotes 03-transactions.md exactly
// (compared with runs of whitespace collapsed, as a comment cannot keep the markdown's tabs).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readBolt, repoRoot } from '../../src/testing/spec.ts';

const squash = (s: string): string => s.replace(/\s+/g, ' ').trim();
const spec = squash(readBolt('03-transactions.md'));
const dir = join(repoRoot, 'src', 'bolt03-tx');

function quotes(file: string): { line: number; text: string }[] {
  const lines = readFileSync(join(dir, file), 'utf8').split('\n');
  const out: { line: number; text: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '// BOLT #3:') continue;
    const body: string[] = [];
    for (let j = i + 1; j < lines.length && /^\s*\/\/( |$)/.test(lines[j]!); j++) {
      body.push(lines[j]!.replace(/^\s*\/\/ ?/, ''));
    }
    out.push({ line: i + 1, text: body.join('\n') });
  }
  return out;
}

test('every BOLT #3 quote in src/bolt03-tx is verbatim from the spec', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  let count = 0;
  for (const f of files) {
    for (const q of quotes(f)) {
      count++;
      assert.ok(q.text.trim() !== '', `${f}:${q.line}: empty quote`);
      assert.ok(spec.includes(squash(q.text)), `${f}:${q.line}: not in 03-transactions.md:\n${q.text}`);
    }
  }
  assert.ok(count >= 20, `only ${count} quotes found`);
});
