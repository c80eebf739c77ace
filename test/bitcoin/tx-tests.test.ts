// Bitcoin Core's tx_valid.json and tx_invalid.json, run as Core's transaction_tests.cpp does:
// the main verdict plus "flags are maximal" (valid) and "flags are minimal" (invalid) checks.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { checkTransaction } from '../../src/bitcoin/check-tx.ts';
import { verifyInput } from '../../src/bitcoin/interpreter.ts';
import { parseScriptText } from '../../src/bitcoin/script.ts';
import { parseVerifyFlags, VERIFY } from '../../src/bitcoin/script-error.ts';
import { SighashCache } from '../../src/bitcoin/sighash.ts';
import { fromReversedHex, parseTx, type Transaction, type TxOut } from '../../src/bitcoin/tx.ts';
import { fromHex, hex } from '../../src/core/bytes.ts';
import type { Sat } from '../../src/core/units.ts';
import { vectorPath } from '../../src/testing/spec.ts';

const ALL_FLAGS = (1 << 21) - 1;
const FLAG_BITS = Object.values(VERIFY).filter((f) => f !== 0);

function trimFlags(flags: number): number {
  let f = flags;
  if (!(f & VERIFY.P2SH)) f &= ~VERIFY.WITNESS;
  if (!(f & VERIFY.WITNESS)) f &= ~VERIFY.CLEANSTACK;
  return f;
}

function fillFlags(flags: number): number {
  let f = flags;
  if (f & VERIFY.CLEANSTACK) f |= VERIFY.WITNESS;
  if (f & VERIFY.WITNESS) f |= VERIFY.P2SH;
  return f;
}

function excludeIndividualFlags(flags: number): number[] {
  const out: number[] = [];
  for (const bit of FLAG_BITS) {
    const f = trimFlags(flags & ~bit);
    if (f !== flags) out.push(f);
  }
  return out;
}

interface Case {
  tx: Transaction;
  prevouts: TxOut[];
  flagText: string;
  label: string;
}

function loadCases(file: string): Case[] {
  const rows = JSON.parse(readFileSync(vectorPath('bitcoin-core', file), 'utf8')) as unknown[][];
  const out: Case[] = [];
  for (const row of rows) {
    if (!Array.isArray(row[0])) continue; // comments
    const inputs = row[0] as [string, number, string, number?][];
    const tx = parseTx(fromHex(row[1] as string));
    const known = new Map<string, TxOut>();
    for (const [hash, index, scriptText, amount] of inputs) {
      const vout = index === -1 ? 0xffffffff : index;
      known.set(`${hex(fromReversedHex(hash))}:${vout}`, {
        value: BigInt(amount ?? 0) as Sat,
        script: parseScriptText(scriptText),
      });
    }
    const prevouts = tx.inputs.map((i) => {
      const p = known.get(`${hex(i.prevout.txid)}:${i.prevout.vout}`);
      assert.ok(p !== undefined, `test lists every prevout: ${JSON.stringify(row).slice(0, 120)}`);
      return p;
    });
    out.push({ tx, prevouts, flagText: row[2] as string, label: JSON.stringify(row).slice(0, 200) });
  }
  return out;
}

function scriptsValid(c: Case, flags: number): boolean {
  const cache = new SighashCache(c.tx, c.prevouts);
  for (let i = 0; i < c.tx.inputs.length; i++) {
    if (verifyInput(c.tx, i, c.prevouts, flags, cache) !== null) return false;
  }
  return true;
}

test('tx_valid.json (Bitcoin Core)', () => {
  const cases = loadCases('tx_valid.json');
  const problems: string[] = [];
  let checks = 0;
  for (const c of cases) {
    const excluded = parseVerifyFlags(c.flagText === 'NONE' ? '' : c.flagText);
    assert.equal(checkTransaction(c.tx), null, c.label);
    const flags = ALL_FLAGS & ~excluded;
    assert.equal(fillFlags(flags), flags, `bad test flags: ${c.label}`);
    if (!scriptsValid(c, flags)) problems.push(`unexpectedly invalid: ${c.label}`);
    checks++;
    for (const bit of FLAG_BITS) {
      if (!scriptsValid(c, trimFlags(ALL_FLAGS & ~(excluded | bit))))
        problems.push(`invalid with ${bit} unset: ${c.label}`);
      checks++;
    }
    for (const f of excludeIndividualFlags(excluded)) {
      if (scriptsValid(c, ALL_FLAGS & ~f)) problems.push(`too many flags unset: ${c.label}`);
      checks++;
    }
  }
  console.log(
    `tx_valid: ${cases.length - problems.length} of ${cases.length} transactions, ${checks} flag checks, ${problems.length} problems, 0 n/a`,
  );
  if (problems.length) console.log(problems.slice(0, 30).join('\n'));
  assert.equal(problems.length, 0);
  assert.ok(cases.length >= 120, `expected the full tx_valid.json, found ${cases.length}`);
});

test('tx_invalid.json (Bitcoin Core)', () => {
  const cases = loadCases('tx_invalid.json');
  const problems: string[] = [];
  let badTx = 0;
  for (const c of cases) {
    const sane = checkTransaction(c.tx) === null;
    if (c.flagText === 'BADTX') {
      if (sane) problems.push(`CheckTransaction passed a BADTX: ${c.label}`);
      badTx++;
      continue;
    }
    const flags = parseVerifyFlags(c.flagText === 'NONE' ? '' : c.flagText);
    assert.equal(fillFlags(flags), flags, `bad test flags: ${c.label}`);
    if (sane && scriptsValid(c, flags)) problems.push(`unexpectedly valid: ${c.label}`);
    for (const f of excludeIndividualFlags(flags)) {
      if (!scriptsValid(c, f)) problems.push(`too many flags set (${flags} -> ${f}): ${c.label}`);
    }
  }
  console.log(
    `tx_invalid: ${cases.length - problems.length} of ${cases.length} transactions (${badTx} BADTX), ${problems.length} problems, 0 n/a`,
  );
  if (problems.length) console.log(problems.slice(0, 30).join('\n'));
  assert.equal(problems.length, 0);
  assert.ok(cases.length >= 90, `expected the full tx_invalid.json, found ${cases.length}`);
});
