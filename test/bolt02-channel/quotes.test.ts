// DESIGN rule 11: every line under a `// BOLT #2:` comment in src/bolt02-channel is verbatim from
// 02-peer-protocol.md (whitespace runs collapsed), and likewise for the other BOLTs the channel code
// quotes (#3, #5). Lines are checked one by one because a quote may join requirement lines that sit
// apart in the spec.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readBolt, repoRoot } from '../../src/testing/spec.ts';

const squash = (s: string): string => s.replace(/\s+/g, ' ').trim();
const specs: Record<string, string> = {
  '2': squash(readBolt('02-peer-protocol.md')),
  '3': squash(readBolt('03-transactions.md')),
  '5': squash(readBolt('05-onchain.md')),
};
const dir = join(repoRoot, 'src', 'bolt02-channel');

test('every BOLT #2 quote in src/bolt02-channel is verbatim from the spec', () => {
  let count = 0;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.ts'))) {
    const lines = readFileSync(join(dir, f), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const head = lines[i]!.trim();
      if (!head.startsWith('// BOLT #')) continue;
      const bolt = /^\/\/ BOLT #(\d+):$/.exec(head)?.[1];
      const spec = bolt === undefined ? undefined : specs[bolt];
      if (spec === undefined)
        assert.fail(`${f}:${i + 1}: a BOLT comment must be "// BOLT #2:" (or #3, #5) followed by the quote`);
      let n = 0;
      for (let j = i + 1; j < lines.length && /^\s*\/\/( |$)/.test(lines[j]!); j++, n++) {
        const text = squash(lines[j]!.replace(/^\s*\/\/ ?/, ''));
        if (text === '') continue;
        count++;
        assert.ok(spec.includes(text), `${f}:${j + 1}: not in BOLT #${bolt}: ${text}`);
      }
      assert.ok(n > 0, `${f}:${i + 1}: empty quote`);
    }
  }
  assert.ok(count >= 60, `only ${count} quoted lines`);
  console.log(`${count} quoted lines checked`);
});
