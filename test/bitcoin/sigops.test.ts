import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  OP,
  p2pkh,
  p2shOfScript,
  p2wpkh,
  p2wshOfScript,
  pushDataRaw,
  script,
} from '../../src/bitcoin/script.ts';
import { MANDATORY_SCRIPT_VERIFY_FLAGS, VERIFY } from '../../src/bitcoin/script-error.ts';
import {
  legacySigOpCount,
  p2shSigOpCount,
  scriptSigOpCount,
  transactionSigOpCost,
  witnessSigOpCount,
} from '../../src/bitcoin/sigops.ts';
import type { Transaction, TxOut } from '../../src/bitcoin/tx.ts';
import { fromHex } from '../../src/core/bytes.ts';
import type { Sat } from '../../src/core/units.ts';
import { publicKeyOf } from '../../src/crypto/secp256k1.ts';

const a = publicKeyOf(new Uint8Array(32).fill(1));
const b = publicKeyOf(new Uint8Array(32).fill(2));
const multisig = script(OP.OP_2, a, b, OP.OP_2, OP.OP_CHECKMULTISIG);

test('script sigop counts, accurate and not', () => {
  assert.equal(scriptSigOpCount(p2pkh(new Uint8Array(20)), false), 1);
  assert.equal(scriptSigOpCount(multisig, false), 20);
  assert.equal(scriptSigOpCount(multisig, true), 2);
  assert.equal(scriptSigOpCount(script(OP.OP_CHECKSIGVERIFY, OP.OP_CHECKMULTISIGVERIFY), true), 21);
  // Counting stops at a truncated push, as GetOp does.
  assert.equal(scriptSigOpCount(fromHex('ac4c05ac'), false), 1);
  // P2SH: the redeem script is the last push of a push-only scriptSig.
  const p2sh = p2shOfScript(multisig);
  assert.equal(p2shSigOpCount(p2sh, script(0n, fromHex('30'), multisig)), 2);
  assert.equal(p2shSigOpCount(p2sh, script(OP.OP_NOP, multisig)), 0);
  assert.equal(
    witnessSigOpCount(new Uint8Array(0), p2wpkh(new Uint8Array(20)), [], VERIFY.P2SH | VERIFY.WITNESS),
    1,
  );
  assert.equal(
    witnessSigOpCount(new Uint8Array(0), p2wshOfScript(multisig), [multisig], VERIFY.P2SH | VERIFY.WITNESS),
    2,
  );
  assert.equal(witnessSigOpCount(new Uint8Array(0), p2wshOfScript(multisig), [multisig], VERIFY.P2SH), 0);
  const nested = p2wpkh(new Uint8Array(20));
  assert.equal(
    witnessSigOpCount(pushDataRaw(nested), p2shOfScript(nested), [], VERIFY.P2SH | VERIFY.WITNESS),
    1,
  );
});

test('transaction sigop cost weighs legacy and P2SH by 4 and witness by 1', () => {
  const prevouts: TxOut[] = [
    { value: 1n as Sat, script: p2pkh(new Uint8Array(20)) },
    { value: 1n as Sat, script: p2shOfScript(multisig) },
    { value: 1n as Sat, script: p2wshOfScript(multisig) },
  ];
  const tx: Transaction = {
    version: 2,
    locktime: 0,
    inputs: [
      {
        prevout: { txid: new Uint8Array(32).fill(1), vout: 0 },
        scriptSig: fromHex('00'),
        sequence: 0,
        witness: [],
      },
      {
        prevout: { txid: new Uint8Array(32).fill(1), vout: 1 },
        scriptSig: script(0n, multisig),
        sequence: 0,
        witness: [],
      },
      {
        prevout: { txid: new Uint8Array(32).fill(1), vout: 2 },
        scriptSig: new Uint8Array(0),
        sequence: 0,
        witness: [multisig],
      },
    ],
    outputs: [{ value: 1n as Sat, script: p2pkh(new Uint8Array(20)) }],
  };
  assert.equal(legacySigOpCount(tx), 1);
  // 1 legacy output sigop * 4 + 2 P2SH sigops * 4 + 2 witness sigops.
  assert.equal(transactionSigOpCost(tx, prevouts, MANDATORY_SCRIPT_VERIFY_FLAGS), 4 + 8 + 2);
  assert.throws(() => transactionSigOpCost(tx, [], MANDATORY_SCRIPT_VERIFY_FLAGS), RangeError);
});
