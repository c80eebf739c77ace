// Bitcoin Core's script_tests.json, run through verifyScript exactly as Core's script_tests.cpp does.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { TransactionChecker, verifyScript } from '../../src/bitcoin/interpreter.ts';
import { OP, parseScriptText, pushDataRaw } from '../../src/bitcoin/script.ts';
import {
  isScriptErrorName,
  parseVerifyFlags,
  scriptErrorString,
  VERIFY,
} from '../../src/bitcoin/script-error.ts';
import { SighashCache } from '../../src/bitcoin/sighash.ts';
import {
  controlBlock,
  TAPROOT_LEAF_TAPSCRIPT,
  tapleafHash,
  tweakInternalKey,
} from '../../src/bitcoin/taproot.ts';
import { type Transaction, txid } from '../../src/bitcoin/tx.ts';
import { concat, fromHex } from '../../src/core/bytes.ts';
import type { Sat } from '../../src/core/units.ts';
import { publicKeyOf } from '../../src/crypto/secp256k1.ts';
import { vectorPath } from '../../src/testing/spec.ts';

const SEQUENCE_FINAL = 0xffffffff;

function creditingTx(scriptPubKey: Uint8Array, value: Sat): Transaction {
  return {
    version: 1,
    locktime: 0,
    inputs: [
      {
        prevout: { txid: new Uint8Array(32), vout: 0xffffffff },
        scriptSig: new Uint8Array([OP.OP_0, OP.OP_0]),
        sequence: SEQUENCE_FINAL,
        witness: [],
      },
    ],
    outputs: [{ value, script: scriptPubKey }],
  };
}

function spendingTx(scriptSig: Uint8Array, witness: Uint8Array[], credit: Transaction): Transaction {
  return {
    version: 1,
    locktime: 0,
    inputs: [{ prevout: { txid: txid(credit), vout: 0 }, scriptSig, sequence: SEQUENCE_FINAL, witness }],
    outputs: [{ value: credit.outputs[0]!.value, script: new Uint8Array(0) }],
  };
}

// Core picks a random internal key for #CONTROLBLOCK#; any valid key gives the same verdicts.
const INTERNAL_KEY = publicKeyOf(new Uint8Array(32).fill(0x42)).subarray(1);

test('script_tests.json (Bitcoin Core)', () => {
  const rows = JSON.parse(
    readFileSync(vectorPath('bitcoin-core', 'script_tests.json'), 'utf8'),
  ) as unknown[][];
  let passed = 0;
  let monotonic = 0;
  let seed = 1;
  const failures: string[] = [];
  for (const row of rows) {
    if (row.length === 1) continue;
    let pos = 0;
    const witness: Uint8Array[] = [];
    let value = 0n as Sat;
    let taprootOutput: Uint8Array | null = null;
    if (Array.isArray(row[0])) {
      const w = row[0] as (string | number)[];
      for (let i = 0; i < w.length - 1; i++) {
        const el = w[i] as string;
        if (el.startsWith('#SCRIPT#')) witness.push(parseScriptText(el.slice('#SCRIPT#'.length)));
        else if (el === '#CONTROLBLOCK#') {
          const leaf = witness[witness.length - 1]!;
          const root = tapleafHash(TAPROOT_LEAF_TAPSCRIPT, leaf);
          const tweaked = tweakInternalKey(INTERNAL_KEY, root)!;
          taprootOutput = tweaked.outputKey;
          witness.push(controlBlock(INTERNAL_KEY, TAPROOT_LEAF_TAPSCRIPT, [], tweaked.parity));
        } else witness.push(fromHex(el));
      }
      value = BigInt(Math.round((w[w.length - 1] as number) * 1e8)) as Sat;
      pos++;
    }
    const [sigText, pubText, flagText, expectedName] = row.slice(pos, pos + 4) as string[];
    // script_tests.cpp names SCRIPT_ERR_SIG_NULLFAIL "NULLFAIL"; every other name is the enum's.
    const expected = expectedName === 'NULLFAIL' ? 'SIG_NULLFAIL' : expectedName;
    const label = JSON.stringify(row).slice(0, 160);
    const scriptSig = parseScriptText(sigText!);
    const scriptPubKey =
      pubText === '0x51 0x20 #TAPROOTOUTPUT#'
        ? concat(new Uint8Array([OP.OP_1]), pushDataRaw(taprootOutput!))
        : parseScriptText(pubText!);
    let flags = parseVerifyFlags(flagText!);
    if (flags & VERIFY.CLEANSTACK) flags |= VERIFY.P2SH | VERIFY.WITNESS;
    assert.ok(isScriptErrorName(expected!), `unknown expected error ${expected}`);
    const credit = creditingTx(scriptPubKey, value);
    const spend = spendingTx(scriptSig, witness, credit);
    const cache = new SighashCache(spend, [credit.outputs[0]!]);
    const checker = new TransactionChecker(spend, 0, value, cache);
    const got = verifyScript(scriptSig, scriptPubKey, witness, flags, checker) ?? 'OK';
    if (got === expected) passed++;
    else failures.push(`${label}\n   got ${got} (${scriptErrorString(got)}), expected ${expected}`);
    // As Core's DoTest: removing flags from a passing test, or adding flags to a failing one, keeps
    // the verdict (random masks over the low 16 flags; invalid combinations skipped).
    for (let k = 0; k < 2; k++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const extra = seed >>> 16;
      const combined = expected === 'OK' ? flags & ~extra : flags | extra;
      if (combined & VERIFY.CLEANSTACK && ~combined & (VERIFY.P2SH | VERIFY.WITNESS)) continue;
      if (combined & VERIFY.WITNESS && ~combined & VERIFY.P2SH) continue;
      const again = verifyScript(scriptSig, scriptPubKey, witness, combined, checker);
      if ((again === null) !== (expected === 'OK'))
        failures.push(`${label}\n   verdict changed with flags ${combined}`);
      monotonic++;
    }
  }
  console.log(
    `script_tests: ${passed} passed, ${failures.length} failed, 0 n/a; ${monotonic} flag-monotonicity checks`,
  );
  if (failures.length > 0) console.log(failures.slice(0, 40).join('\n'));
  assert.equal(failures.length, 0);
  assert.equal(passed, 1264 - rows.filter((r) => r.length === 1).length);
});
