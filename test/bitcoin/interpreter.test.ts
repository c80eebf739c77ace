// Interpreter behaviour beyond Core's JSON vectors: tapscript signatures (CHECKSIGADD), the annex,
// lock times against a real spending tx, CheckTransaction reasons and Core's error strings.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkTransaction,
  MANDATORY_SCRIPT_VERIFY_FLAGS,
  STANDARD_SCRIPT_VERIFY_FLAGS,
  scriptErrorString,
  VERIFY,
  verifyInput,
} from '../../src/bitcoin/interpreter.ts';
import { OP, p2tr, p2wshOfScript, script } from '../../src/bitcoin/script.ts';
import { SCRIPT_ERRORS } from '../../src/bitcoin/script-error.ts';
import { SIGHASH_ALL, SighashCache, segwitV0Sighash, taprootSighash } from '../../src/bitcoin/sighash.ts';
import {
  controlBlock,
  TAPROOT_LEAF_TAPSCRIPT,
  tapBranchHash,
  tapleafHash,
  tweakInternalKey,
} from '../../src/bitcoin/taproot.ts';
import type { Transaction, TxOut } from '../../src/bitcoin/tx.ts';
import { concat, fromHex } from '../../src/core/bytes.ts';
import type { Sat } from '../../src/core/units.ts';
import { ecdsaSign, publicKeyOf, schnorrSign, signatureToDer } from '../../src/crypto/secp256k1.ts';

const xonly = (k: Uint8Array) => publicKeyOf(k).subarray(1);
const k1 = new Uint8Array(32).fill(1);
const k2 = new Uint8Array(32).fill(2);
const internalKey = xonly(new Uint8Array(32).fill(3));

function spendOf(
  prevout: TxOut,
  witness: Uint8Array[],
  extra?: Partial<Transaction>,
): { tx: Transaction; prevouts: TxOut[] } {
  const tx: Transaction = {
    version: 2,
    locktime: 0,
    inputs: [
      {
        prevout: { txid: new Uint8Array(32).fill(0xaa), vout: 0 },
        scriptSig: new Uint8Array(0),
        sequence: 0xfffffffe,
        witness,
      },
    ],
    outputs: [{ value: 9000n as Sat, script: fromHex(`0014${'11'.repeat(20)}`) }],
    ...extra,
  };
  return { tx, prevouts: [prevout] };
}

test('tapscript 2-of-2 with CHECKSIGADD through a two-leaf tree', () => {
  const leaf = script(xonly(k1), OP.OP_CHECKSIG, xonly(k2), OP.OP_CHECKSIGADD, 2n, OP.OP_NUMEQUAL);
  const other = script(OP.OP_RETURN);
  const leafHash = tapleafHash(TAPROOT_LEAF_TAPSCRIPT, leaf);
  const otherHash = tapleafHash(TAPROOT_LEAF_TAPSCRIPT, other);
  const tweaked = tweakInternalKey(internalKey, tapBranchHash(leafHash, otherHash))!;
  const prevout: TxOut = { value: 10_000n as Sat, script: p2tr(tweaked.outputKey) };
  const control = controlBlock(internalKey, TAPROOT_LEAF_TAPSCRIPT, [otherHash], tweaked.parity);

  const sign = (tx: Transaction, key: Uint8Array, hashType = 0, annex?: Uint8Array) => {
    const h = taprootSighash(new SighashCache(tx, [prevout]), 0, hashType, {
      ...(annex ? { annex } : {}),
      tapscript: { leafHash, codeSeparatorPos: 0xffffffff },
    })!;
    const sig = schnorrSign(h, key, new Uint8Array(32));
    return hashType === 0 ? sig : concat(sig, new Uint8Array([hashType]));
  };
  const unsigned = spendOf(prevout, []).tx;
  const s1 = sign(unsigned, k1);
  const s2 = sign(unsigned, k2, SIGHASH_ALL);
  // Witness stack: arguments in reverse order of use (k2's sig is consumed second).
  const run = (w: Uint8Array[]) => {
    const { tx, prevouts } = spendOf(prevout, w);
    return verifyInput(tx, 0, prevouts, STANDARD_SCRIPT_VERIFY_FLAGS);
  };
  assert.equal(run([s2, s1, leaf, control]), null);
  assert.equal(run([new Uint8Array(0), s1, leaf, control]), 'EVAL_FALSE');
  assert.equal(run([s1, s2, leaf, control]), 'SCHNORR_SIG');
  assert.equal(run([s2, s1, other, control]), 'WITNESS_PROGRAM_MISMATCH');
  assert.equal(run([s2, s1, leaf, control.subarray(0, 40)]), 'TAPROOT_WRONG_CONTROL_SIZE');
  assert.equal(run([s2, concat(s1, new Uint8Array([0])), leaf, control]), 'SCHNORR_SIG_HASHTYPE');
  assert.equal(run([s2, s1.subarray(0, 63), leaf, control]), 'SCHNORR_SIG_SIZE');
  // The annex is signed: the same signatures fail once an annex is added, and fresh ones pass.
  const annex = fromHex('50deadbeef');
  assert.equal(run([s2, s1, leaf, control, annex]), 'SCHNORR_SIG');
  assert.equal(
    run([sign(unsigned, k2, SIGHASH_ALL, annex), sign(unsigned, k1, 0, annex), leaf, control, annex]),
    null,
  );
  // Legacy multisig is gone in tapscript.
  const ms = script(1n, xonly(k1), 1n, OP.OP_CHECKMULTISIG);
  const msHash = tapleafHash(TAPROOT_LEAF_TAPSCRIPT, ms);
  const msOut = tweakInternalKey(internalKey, msHash)!;
  const msPrev: TxOut = { value: 1n as Sat, script: p2tr(msOut.outputKey) };
  const { tx, prevouts } = spendOf(msPrev, [
    new Uint8Array(0),
    ms,
    controlBlock(internalKey, 0xc0, [], msOut.parity),
  ]);
  assert.equal(verifyInput(tx, 0, prevouts, MANDATORY_SCRIPT_VERIFY_FLAGS), 'TAPSCRIPT_CHECKMULTISIG');
  // An OP_SUCCESS leaf succeeds, unless discouraged.
  const succ = fromHex('50');
  const sOut = tweakInternalKey(internalKey, tapleafHash(0xc0, succ))!;
  const sPrev: TxOut = { value: 1n as Sat, script: p2tr(sOut.outputKey) };
  const sp = spendOf(sPrev, [succ, controlBlock(internalKey, 0xc0, [], sOut.parity)]);
  assert.equal(verifyInput(sp.tx, 0, sp.prevouts, MANDATORY_SCRIPT_VERIFY_FLAGS), null);
  assert.equal(verifyInput(sp.tx, 0, sp.prevouts, STANDARD_SCRIPT_VERIFY_FLAGS), 'DISCOURAGE_OP_SUCCESS');
});

test('CLTV and CSV against the spending transaction (BOLT 3 style to_local and HTLC scripts)', () => {
  const pub = publicKeyOf(k1);
  const csvScript = script(144n, OP.OP_CHECKSEQUENCEVERIFY, OP.OP_DROP, pub, OP.OP_CHECKSIG);
  const cltvScript = script(500n, OP.OP_CHECKLOCKTIMEVERIFY, OP.OP_DROP, pub, OP.OP_CHECKSIG);
  const check = (ws: Uint8Array, over: Partial<Transaction>, seq: number) => {
    const prevout: TxOut = { value: 5000n as Sat, script: p2wshOfScript(ws) };
    const base = spendOf(prevout, []).tx;
    const tx0: Transaction = { ...base, ...over, inputs: [{ ...base.inputs[0]!, sequence: seq }] };
    const h = segwitV0Sighash(tx0, 0, ws, prevout.value, SIGHASH_ALL, new SighashCache(tx0));
    const sig = concat(signatureToDer(ecdsaSign(h, k1).compact), new Uint8Array([SIGHASH_ALL]));
    const tx: Transaction = { ...tx0, inputs: [{ ...tx0.inputs[0]!, witness: [sig, ws] }] };
    return verifyInput(tx, 0, [prevout], STANDARD_SCRIPT_VERIFY_FLAGS);
  };
  assert.equal(check(csvScript, {}, 144), null);
  assert.equal(check(csvScript, {}, 143), 'UNSATISFIED_LOCKTIME');
  assert.equal(check(csvScript, { version: 1 }, 144), 'UNSATISFIED_LOCKTIME');
  assert.equal(check(csvScript, {}, 144 | (1 << 22)), 'UNSATISFIED_LOCKTIME'); // time-based vs height-based
  assert.equal(check(cltvScript, { locktime: 500 }, 0), null);
  assert.equal(check(cltvScript, { locktime: 499 }, 0), 'UNSATISFIED_LOCKTIME');
  assert.equal(check(cltvScript, { locktime: 500 }, 0xffffffff), 'UNSATISFIED_LOCKTIME'); // final input
  assert.equal(check(cltvScript, { locktime: 600_000_000 }, 0), 'UNSATISFIED_LOCKTIME'); // time vs height
});

test('CheckTransaction reject reasons', () => {
  const input = {
    prevout: { txid: new Uint8Array(32).fill(1), vout: 0 },
    scriptSig: new Uint8Array(0),
    sequence: 0,
    witness: [],
  };
  const out = { value: 1n as Sat, script: fromHex('51') };
  const tx: Transaction = { version: 2, locktime: 0, inputs: [input], outputs: [out] };
  assert.equal(checkTransaction(tx), null);
  assert.equal(checkTransaction({ ...tx, inputs: [] }), 'bad-txns-vin-empty');
  assert.equal(checkTransaction({ ...tx, outputs: [] }), 'bad-txns-vout-empty');
  assert.equal(
    checkTransaction({ ...tx, outputs: [{ ...out, value: (2n ** 64n - 1n) as Sat }] }),
    'bad-txns-vout-negative',
  );
  assert.equal(
    checkTransaction({ ...tx, outputs: [{ ...out, value: 2_100_000_000_000_001n as Sat }] }),
    'bad-txns-vout-toolarge',
  );
  const half = { ...out, value: 1_100_000_000_000_000n as Sat };
  assert.equal(checkTransaction({ ...tx, outputs: [half, half] }), 'bad-txns-txouttotal-toolarge');
  assert.equal(checkTransaction({ ...tx, inputs: [input, input] }), 'bad-txns-inputs-duplicate');
  const nullIn = { ...input, prevout: { txid: new Uint8Array(32), vout: 0xffffffff } };
  assert.equal(checkTransaction({ ...tx, inputs: [nullIn] }), 'bad-cb-length');
  assert.equal(checkTransaction({ ...tx, inputs: [{ ...nullIn, scriptSig: fromHex('0101') }] }), null);
  assert.equal(checkTransaction({ ...tx, inputs: [input, nullIn] }), 'bad-txns-prevout-null');
  const big = { ...out, script: new Uint8Array(1_000_001) };
  assert.equal(checkTransaction({ ...tx, outputs: [big] }), 'bad-txns-oversize');
});

test("Core's error strings and flag sets", () => {
  assert.equal(
    scriptErrorString('EVAL_FALSE'),
    'Script evaluated without error but finished with a false/empty top stack element',
  );
  assert.equal(scriptErrorString('UNSATISFIED_LOCKTIME'), 'Locktime requirement not satisfied');
  assert.equal(scriptErrorString('SIG_DER'), 'Non-canonical DER signature');
  assert.equal(scriptErrorString('UNKNOWN_ERROR'), 'unknown error');
  const texts = SCRIPT_ERRORS.map((e) => scriptErrorString(e));
  assert.equal(new Set(texts).size, texts.length, 'every error has its own message');
  assert.equal(MANDATORY_SCRIPT_VERIFY_FLAGS & ~STANDARD_SCRIPT_VERIFY_FLAGS, 0);
  assert.ok(
    MANDATORY_SCRIPT_VERIFY_FLAGS & VERIFY.TAPROOT && STANDARD_SCRIPT_VERIFY_FLAGS & VERIFY.CLEANSTACK,
  );
  const t = spendOf({ value: 1n as Sat, script: fromHex('51') }, []).tx;
  assert.throws(() => verifyInput(t, 0, [], STANDARD_SCRIPT_VERIFY_FLAGS), RangeError);
  assert.throws(() => verifyInput(t, 1, [{ value: 1n as Sat, script: fromHex('51') }], 0), RangeError);
  assert.equal(
    verifyInput(t, 0, [{ value: 1n as Sat, script: fromHex('51') }], STANDARD_SCRIPT_VERIFY_FLAGS),
    null,
  );
});
