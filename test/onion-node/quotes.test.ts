// DESIGN rule 11 for the route blinding, replay and onion message code in src/node: every line under a
// `// BOLT #n:` comment is verbatim from that BOLT (whitespace runs collapsed), checked line by line.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readBolt, repoRoot } from '../../src/testing/spec.ts';

const squash = (s: string): string => s.replace(/\s+/g, ' ').trim();
const BOLTS: Record<string, string> = {
  '2': squash(readBolt('02-peer-protocol.md')),
  '4': squash(readBolt('04-onion-routing.md')),
};
const FILES = ['switch.ts', 'switch-blinded.ts', 'onion-replay.ts', 'onion-messages.ts', 'rpc-sendonion.ts'];

test('every BOLT quote in the blinding / replay / onion message modules is verbatim', () => {
  let count = 0;
  for (const f of FILES) {
    const lines = readFileSync(join(repoRoot, 'src', 'node', f), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const m = /^\s*\/\/ BOLT #(\d+):$/.exec(lines[i]!);
      if (!m) continue;
      const spec = BOLTS[m[1]!];
      assert.ok(spec !== undefined, `${f}:${i + 1}: BOLT #${m[1]} not loaded`);
      let n = 0;
      for (let j = i + 1; j < lines.length && /^\s*\/\/( |$)/.test(lines[j]!); j++, n++) {
        const text = squash(lines[j]!.replace(/^\s*\/\/ ?/, ''));
        if (text === '') continue;
        count++;
        assert.ok(spec.includes(text), `${f}:${j + 1}: not in BOLT #${m[1]}: ${text}`);
      }
      assert.ok(n > 0, `${f}:${i + 1}: empty quote`);
    }
  }
  assert.ok(count >= 20, `only ${count} quoted lines`);
  console.log(`${count} quoted lines checked`);
});
