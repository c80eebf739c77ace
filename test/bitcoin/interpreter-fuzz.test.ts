// The interpreter never throws on hostile input: any scriptSig, scriptPubKey, witness and flag set
// gives null or a ScriptError, and never an exception (devnet runs it on whatever peers send).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { verifyInput } from '../../src/bitcoin/interpreter.ts';
import { OP } from '../../src/bitcoin/script.ts';
import { SCRIPT_ERRORS, VERIFY } from '../../src/bitcoin/script-error.ts';
import type { Transaction } from '../../src/bitcoin/tx.ts';
import { concat } from '../../src/core/bytes.ts';
import type { Sat } from '../../src/core/units.ts';

function fillFlags(flags: number): number {
  let f = flags;
  if (f & VERIFY.CLEANSTACK) f |= VERIFY.WITNESS;
  if (f & VERIFY.WITNESS) f |= VERIFY.P2SH;
  return f;
}

// Scripts built from opcodes and small pushes hit far more interpreter paths than raw bytes.
const opcode = fc.oneof(
  fc.integer({ min: 0x4f, max: 0xff }).map((o) => new Uint8Array([o])),
  fc.uint8Array({ maxLength: 40 }).map((d) => concat(new Uint8Array([d.length]), d)),
  fc.constantFrom(
    new Uint8Array([OP.OP_IF]),
    new Uint8Array([OP.OP_ELSE]),
    new Uint8Array([OP.OP_ENDIF]),
    new Uint8Array([OP.OP_CHECKMULTISIG]),
    new Uint8Array([OP.OP_CHECKSIG]),
    new Uint8Array([OP.OP_DUP]),
    new Uint8Array([0x4c, 0x02, 0x01]),
  ),
);
const arbScript = fc.oneof(
  fc.uint8Array({ maxLength: 60 }),
  fc.array(opcode, { maxLength: 30 }).map((ops) => concat(...ops)),
);
const arbProgram = fc.oneof(
  arbScript,
  fc
    .tuple(fc.integer({ min: 0, max: 16 }), fc.uint8Array({ minLength: 2, maxLength: 40 }))
    .map(([v, p]) => concat(new Uint8Array([v === 0 ? 0 : 0x50 + v, p.length]), p)),
);

test('interpreter fuzz: arbitrary scripts, witnesses and flags give null or a ScriptError', () => {
  const known = new Set<string>(SCRIPT_ERRORS);
  let ok = 0;
  let failed = 0;
  fc.assert(
    fc.property(
      arbScript,
      arbProgram,
      fc.array(arbScript, { maxLength: 4 }),
      fc.nat({ max: (1 << 21) - 1 }),
      fc.nat({ max: 0xffffffff }),
      (scriptSig, scriptPubKey, witness, flags, sequence) => {
        const tx: Transaction = {
          version: 2,
          locktime: 100,
          inputs: [{ prevout: { txid: new Uint8Array(32).fill(3), vout: 0 }, scriptSig, sequence, witness }],
          outputs: [{ value: 1n as Sat, script: new Uint8Array(0) }],
        };
        const r = verifyInput(tx, 0, [{ value: 1000n as Sat, script: scriptPubKey }], fillFlags(flags));
        if (r === null) ok++;
        else {
          assert.ok(known.has(r), r);
          failed++;
        }
      },
    ),
    { numRuns: 8000 },
  );
  console.log(`interpreter fuzz: ${ok} succeeded, ${failed} failed with a ScriptError, 0 exceptions`);
  assert.ok(ok > 0 && failed > 0);
});
