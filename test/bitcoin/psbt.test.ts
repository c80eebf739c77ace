import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { verifyInput } from '../../src/bitcoin/interpreter.ts';
import {
  addPartialSig,
  createPsbt,
  extractTransaction,
  finalizeInput,
  type Psbt,
  parsePsbt,
  parsePsbtBase64,
  psbtErrorString,
  serializePsbt,
  serializePsbtBase64,
  updateInput,
  updateOutput,
} from '../../src/bitcoin/psbt.ts';
import { OP, p2shOfScript, p2tr, p2wpkh, p2wshOfScript, script } from '../../src/bitcoin/script.ts';
import {
  MANDATORY_SCRIPT_VERIFY_FLAGS,
  STANDARD_SCRIPT_VERIFY_FLAGS,
} from '../../src/bitcoin/script-error.ts';
import {
  p2wpkhScriptCode,
  SIGHASH_ALL,
  SighashCache,
  segwitV0Sighash,
  taprootSighash,
} from '../../src/bitcoin/sighash.ts';
import { tweakInternalKey, tweakPrivateKey } from '../../src/bitcoin/taproot.ts';
import { serializeTx, type Transaction, txid } from '../../src/bitcoin/tx.ts';
import { concat, fromHex, hex } from '../../src/core/bytes.ts';
import type { Sat } from '../../src/core/units.ts';
import { hash160 } from '../../src/crypto/hash.ts';
import { ecdsaSign, publicKeyOf, schnorrSign, signatureToDer } from '../../src/crypto/secp256k1.ts';

const key1 = new Uint8Array(32).fill(0x11);
const key2 = new Uint8Array(32).fill(0x22);
const pub1 = publicKeyOf(key1);
const pub2 = publicKeyOf(key2);

function prevTx(outputScript: Uint8Array, value: bigint): Transaction {
  return {
    version: 2,
    locktime: 0,
    inputs: [
      {
        prevout: { txid: new Uint8Array(32).fill(7), vout: 1 },
        scriptSig: fromHex('51'),
        sequence: 0xffffffff,
        witness: [],
      },
    ],
    outputs: [{ value: value as Sat, script: outputScript }],
  };
}

function spend(prev: Transaction[]): Transaction {
  return {
    version: 2,
    locktime: 100,
    inputs: prev.map((p) => ({
      prevout: { txid: txid(p), vout: 0 },
      scriptSig: new Uint8Array(0),
      sequence: 0xfffffffd,
      witness: [],
    })),
    outputs: [{ value: 90_000n as Sat, script: p2wpkh(new Uint8Array(20).fill(9)) }],
  };
}

function signDer(msg: Uint8Array, key: Uint8Array): Uint8Array {
  return concat(signatureToDer(ecdsaSign(msg, key).compact), new Uint8Array([SIGHASH_ALL]));
}

test('funding flow: create, update, sign P2WPKH and P2SH-P2WPKH and P2WSH 2-of-2, finalize, extract, verify', () => {
  const wpkh = p2wpkh(hash160(pub1));
  const nested = p2shOfScript(wpkh);
  const ms = script(OP.OP_2, pub1, pub2, OP.OP_2, OP.OP_CHECKMULTISIG);
  const wsh = p2wshOfScript(ms);
  const prevs = [prevTx(wpkh, 50_000n), prevTx(nested, 30_000n), prevTx(wsh, 20_000n)];
  const tx = spend(prevs);
  let psbt = createPsbt(tx);
  psbt = updateInput(psbt, 0, {
    witnessUtxo: prevs[0]!.outputs[0]!,
    bip32Derivations: [
      { pubkey: pub1, fingerprint: fromHex('deadbeef'), path: [0x80000054, 0x80000000, 0x80000000, 0, 5] },
    ],
  });
  psbt = updateInput(psbt, 1, { nonWitnessUtxo: prevs[1]!, redeemScript: wpkh });
  psbt = updateInput(psbt, 2, {
    witnessUtxo: prevs[2]!.outputs[0]!,
    witnessScript: ms,
    sighashType: SIGHASH_ALL,
  });
  psbt = updateOutput(psbt, 0, {
    bip32Derivations: [{ pubkey: pub2, fingerprint: fromHex('deadbeef'), path: [1, 2] }],
  });

  // Round trip through the wire at every step.
  const again = parsePsbtBase64(serializePsbtBase64(psbt));
  assert.ok(again.ok);
  assert.equal(hex(serializePsbt(again.value)), hex(serializePsbt(psbt)));
  psbt = again.value;

  const prevouts = prevs.map((p) => p.outputs[0]!);
  const cache = new SighashCache(psbt.tx, prevouts);
  const h0 = segwitV0Sighash(
    psbt.tx,
    0,
    p2wpkhScriptCode(hash160(pub1)),
    prevouts[0]!.value,
    SIGHASH_ALL,
    cache,
  );
  const h1 = segwitV0Sighash(
    psbt.tx,
    1,
    p2wpkhScriptCode(hash160(pub1)),
    prevouts[1]!.value,
    SIGHASH_ALL,
    cache,
  );
  const h2 = segwitV0Sighash(psbt.tx, 2, ms, prevouts[2]!.value, SIGHASH_ALL, cache);
  psbt = addPartialSig(psbt, 0, { pubkey: pub1, signature: signDer(h0, key1) });
  psbt = addPartialSig(psbt, 1, { pubkey: pub1, signature: signDer(h1, key1) });
  psbt = addPartialSig(psbt, 2, { pubkey: pub2, signature: signDer(h2, key2) });
  psbt = addPartialSig(psbt, 2, { pubkey: pub1, signature: signDer(h2, key1) });
  assert.equal(psbt.inputs[2]!.partialSigs.length, 2);

  assert.deepEqual(extractTransaction(psbt), { ok: false, error: { kind: 'not-finalized', input: 0 } });
  for (const i of [0, 1]) {
    const f = finalizeInput(psbt, i);
    assert.ok(f.ok);
    psbt = f.value;
  }
  assert.deepEqual(finalizeInput(psbt, 2), { ok: false, error: { kind: 'unsupported-script' } });
  const f2 = finalizeInput(psbt, 2, (input) => {
    const s1 = input.partialSigs.find((s) => hex(s.pubkey) === hex(pub1));
    const s2 = input.partialSigs.find((s) => hex(s.pubkey) === hex(pub2));
    return s1 && s2 ? [new Uint8Array(0), s1.signature, s2.signature] : null;
  });
  assert.ok(f2.ok);
  psbt = f2.value;
  assert.equal(psbt.inputs[2]!.partialSigs.length, 0);
  const round = parsePsbt(serializePsbt(psbt));
  assert.ok(round.ok);
  const signed = extractTransaction(round.value);
  assert.ok(signed.ok);
  for (let i = 0; i < 3; i++) {
    assert.equal(verifyInput(signed.value, i, prevouts, STANDARD_SCRIPT_VERIFY_FLAGS), null, `input ${i}`);
  }
  // A tampered output invalidates the signatures.
  const tampered = { ...signed.value, outputs: [{ ...signed.value.outputs[0]!, value: 89_999n as Sat }] };
  assert.equal(verifyInput(tampered, 0, prevouts, STANDARD_SCRIPT_VERIFY_FLAGS), 'SIG_NULLFAIL');
  assert.equal(verifyInput(tampered, 0, prevouts, MANDATORY_SCRIPT_VERIFY_FLAGS), 'EVAL_FALSE');
});

test('BIP371 key-path P2TR: tap_internal_key and tap_key_sig, finalize, extract, verify', () => {
  const secret = new Uint8Array(32).fill(0x33);
  const internal = publicKeyOf(secret).subarray(1);
  const outputKey = tweakInternalKey(internal)!.outputKey;
  const prev = prevTx(p2tr(outputKey), 40_000n);
  const tx = spend([prev]);
  let psbt = updateInput(createPsbt(tx), 0, { witnessUtxo: prev.outputs[0]!, tapInternalKey: internal });
  psbt = updateOutput(psbt, 0, { tapInternalKey: internal });
  assert.deepEqual(finalizeInput(psbt, 0), { ok: false, error: { kind: 'missing-signature' } });
  const prevouts = [prev.outputs[0]!];
  const sighash = taprootSighash(new SighashCache(psbt.tx, prevouts), 0, 0)!;
  psbt = updateInput(psbt, 0, {
    tapKeySig: schnorrSign(sighash, tweakPrivateKey(secret), new Uint8Array(32)),
  });
  const back = parsePsbt(serializePsbt(psbt));
  assert.ok(back.ok);
  assert.equal(hex(back.value.inputs[0]!.tapInternalKey!), hex(internal));
  assert.equal(hex(back.value.outputs[0]!.tapInternalKey!), hex(internal));
  assert.equal(back.value.inputs[0]!.tapKeySig!.length, 64);
  const fin = finalizeInput(back.value, 0);
  assert.ok(fin.ok);
  assert.equal(fin.value.inputs[0]!.tapKeySig, undefined);
  const signed = extractTransaction(fin.value);
  assert.ok(signed.ok);
  assert.equal(verifyInput(signed.value, 0, prevouts, STANDARD_SCRIPT_VERIFY_FLAGS), null);
  // A 63-byte tap_key_sig is rejected with a typed error.
  const bad = serializePsbt(updateInput(psbt, 0, { tapKeySig: new Uint8Array(63) }));
  const r = parsePsbt(bad);
  assert.ok(!r.ok && r.error.kind === 'bad-field');
});

test('typed errors', () => {
  const tx = spend([prevTx(fromHex('51'), 1n)]);
  const good = serializePsbt(createPsbt(tx));
  const kind = (b: Uint8Array): string => {
    const r = parsePsbt(b);
    assert.ok(!r.ok);
    assert.equal(typeof psbtErrorString(r.error), 'string');
    return r.error.kind;
  };
  assert.equal(kind(fromHex('00')), 'bad-magic');
  assert.equal(kind(good.subarray(0, good.length - 1)), 'truncated');
  assert.equal(kind(concat(good, fromHex('00'))), 'trailing-bytes');
  assert.equal(kind(fromHex('70736274ff00')), 'missing-unsigned-tx');
  // Duplicate global key.
  const txBytes = serializeTx(tx, false);
  const g = concat(fromHex('0100'), fromHex(txBytes.length.toString(16).padStart(2, '0')), txBytes);
  assert.equal(kind(concat(fromHex('70736274ff'), g, g, fromHex('00'))), 'duplicate-key');
  // Version 2 is not v0.
  assert.equal(
    kind(concat(fromHex('70736274ff'), g, fromHex('01fb0402000000'), fromHex('00'), fromHex('0000'))),
    'unsupported-version',
  );
  // A signed transaction as the unsigned tx.
  const withSig = { ...tx, inputs: [{ ...tx.inputs[0]!, scriptSig: fromHex('51') }] };
  const sb = serializeTx(withSig, false);
  assert.equal(
    kind(
      concat(
        fromHex('70736274ff0100'),
        fromHex(sb.length.toString(16).padStart(2, '0')),
        sb,
        fromHex('00000000'),
      ),
    ),
    'unsigned-tx-not-empty',
  );
  // Bad field: witness_utxo with key data; sighash type of 3 bytes.
  const base = concat(fromHex('70736274ff'), g, fromHex('00'));
  assert.equal(
    kind(concat(base, fromHex('020100' + '0b' + '0100000000000000015100'), fromHex('00'))),
    'bad-field',
  );
  assert.equal(
    kind(concat(base, fromHex('0103' + '03' + '010000'), fromHex('00'), fromHex('00'))),
    'bad-field',
  );
  // Non-witness UTXO that is not the spent transaction.
  const other = serializeTx(prevTx(fromHex('52'), 5n));
  assert.equal(
    kind(
      concat(
        base,
        fromHex('0100'),
        fromHex(other.length.toString(16).padStart(2, '0')),
        other,
        fromHex('00'),
        fromHex('00'),
      ),
    ),
    'utxo-mismatch',
  );
  assert.deepEqual(parsePsbtBase64('***'), { ok: false, error: { kind: 'not-base64' } });
});

test('unknown and proprietary fields survive a round trip', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.uint8Array({ maxLength: 40 })), {
        maxLength: 5,
      }),
      (fields) => {
        const tx = spend([prevTx(fromHex('51'), 1n)]);
        // Keys of type 0xfc (proprietary) with distinct key data, so none collides with a known field.
        const seen = new Set<string>();
        const unknown = fields
          .map(([k, v]) => ({ key: concat(fromHex('fc'), k), value: v }))
          .filter((f) => !seen.has(hex(f.key)) && seen.add(hex(f.key)));
        let psbt: Psbt = { ...createPsbt(tx), unknown };
        psbt = updateInput(psbt, 0, {
          unknown,
          sighashType: 1,
          finalScriptWitness: [fromHex('01'), new Uint8Array(0)],
        });
        const bytes = serializePsbt(psbt);
        const back = parsePsbt(bytes);
        assert.ok(back.ok);
        assert.equal(hex(serializePsbt(back.value)), hex(bytes));
        assert.equal(back.value.unknown.length, unknown.length);
        assert.equal(back.value.inputs[0]!.sighashType, 1);
      },
    ),
    { numRuns: 100 },
  );
});

test('parser fuzz: random and mutated bytes give a PSBT or a typed error', () => {
  const tx = spend([prevTx(fromHex('51'), 1n)]);
  const good = serializePsbt(
    updateInput(createPsbt(tx), 0, {
      witnessUtxo: { value: 5n as Sat, script: fromHex(`0014${'00'.repeat(20)}`) },
    }),
  );
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }).map((b) => concat(fromHex('70736274ff'), b)),
        fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })).map(([i, v]) => {
          const m = Uint8Array.from(good);
          m[i] = v;
          return m;
        }),
      ),
      (bytes) => {
        const r = parsePsbt(bytes);
        if (r.ok) assert.ok(r.value.inputs.length === r.value.tx.inputs.length);
        else assert.equal(typeof r.error.kind, 'string');
      },
    ),
    { numRuns: 5000 },
  );
});
