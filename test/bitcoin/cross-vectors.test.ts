// Signed transactions from other specs, verified end to end by the interpreter: BOLT 3 commitment and
// HTLC transactions, the BIP143 examples, and BIP341 key-path signatures and output tweaks.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { verifyInput, verifyTransaction } from '../../src/bitcoin/interpreter.ts';
import { p2tr, p2wshOfScript } from '../../src/bitcoin/script.ts';
import {
  MANDATORY_SCRIPT_VERIFY_FLAGS,
  STANDARD_SCRIPT_VERIFY_FLAGS,
} from '../../src/bitcoin/script-error.ts';
import { SighashCache, taprootSighash } from '../../src/bitcoin/sighash.ts';
import {
  controlBlock,
  tapBranchHash,
  tapleafHash,
  taprootTweak,
  tweakInternalKey,
  tweakPrivateKey,
  verifyTaprootCommitment,
} from '../../src/bitcoin/taproot.ts';
import { parseTx, type Transaction, type TxOut, txid } from '../../src/bitcoin/tx.ts';
import { concat, equal, fromHex, hex } from '../../src/core/bytes.ts';
import type { Sat } from '../../src/core/units.ts';
import { schnorrSign } from '../../src/crypto/secp256k1.ts';
import { readBolt, specPath, vectorPath } from '../../src/testing/spec.ts';

test('BOLT 3 appendix: every commitment and HTLC transaction verifies under standard flags', () => {
  const text = readBolt('03-transactions.md');
  const fundingAmount = BigInt(/funding_amount_satoshi: (\d+)/.exec(text)![1]!) as Sat;
  let commit: Transaction | null = null;
  let commits = 0;
  let htlcs = 0;
  for (const m of text.matchAll(
    /(output commit_tx|htlc_(?:success|timeout)_tx \(htlc #\d+\)): ([0-9a-f]+)/g,
  )) {
    const tx = parseTx(fromHex(m[2]!));
    if (m[1] === 'output commit_tx') {
      const witnessScript = tx.inputs[0]!.witness[tx.inputs[0]!.witness.length - 1]!;
      const prevout: TxOut = { value: fundingAmount, script: p2wshOfScript(witnessScript) };
      assert.equal(verifyInput(tx, 0, [prevout], STANDARD_SCRIPT_VERIFY_FLAGS), null, `commit tx ${commits}`);
      commit = tx;
      commits++;
    } else {
      assert.ok(commit !== null);
      const input = tx.inputs[0]!;
      assert.ok(equal(input.prevout.txid, txid(commit)), 'HTLC tx spends the commitment tx above it');
      const spent: TxOut = commit.outputs[input.prevout.vout]!;
      assert.equal(
        verifyInput(tx, 0, [spent], STANDARD_SCRIPT_VERIFY_FLAGS),
        null,
        `${m[1]} after commit ${commits}`,
      );
      // The same transaction with a wrong amount must fail: segwit signatures commit to it.
      const wrong = { ...spent, value: (spent.value + 1n) as Sat };
      assert.notEqual(verifyInput(tx, 0, [wrong], MANDATORY_SCRIPT_VERIFY_FLAGS), null);
      htlcs++;
    }
  }
  console.log(`BOLT 3 transactions: ${commits} commitment + ${htlcs} HTLC verified, 0 n/a`);
  assert.equal(commits, 16);
  assert.ok(htlcs >= 30, `expected the appendix HTLC transactions, found ${htlcs}`);
});

test('BIP143 examples: the signed transactions verify (consensus flags)', () => {
  const text = readFileSync(specPath('bips', 'bip-0143.mediawiki'), 'utf8');
  const sections = text.split(/unsigned transaction:/).slice(1);
  let verified = 0;
  for (const section of sections) {
    const unsigned = parseTx(fromHex(/^\s*([0-9a-f]+)/.exec(section)![1]!));
    const spent = [...section.matchAll(/scriptPubKey\s*:\s*([0-9a-f]+),?\s*value:\s*([0-9.]+)/g)].map(
      (m) => ({
        script: fromHex(m[1]!),
        value: BigInt(Math.round(Number(m[2]!) * 1e8)) as Sat,
      }),
    );
    assert.equal(spent.length, unsigned.inputs.length);
    const byOutpoint = new Map(
      unsigned.inputs.map((i, n) => [`${hex(i.prevout.txid)}:${i.prevout.vout}`, spent[n]!]),
    );
    const signedHex = [
      ...section.matchAll(/(?:signed transaction is:|pairs are swapped:)\s*([0-9a-f]+)/g),
    ].map((m) => m[1]!);
    assert.ok(signedHex.length >= 1);
    for (const h of signedHex) {
      const tx = parseTx(fromHex(h));
      const prevouts = tx.inputs.map((i) => byOutpoint.get(`${hex(i.prevout.txid)}:${i.prevout.vout}`)!);
      assert.equal(verifyTransaction(tx, prevouts, MANDATORY_SCRIPT_VERIFY_FLAGS), null);
      verified++;
    }
  }
  console.log(`bip-0143 signed transactions: ${verified} verified, 0 n/a`);
  assert.ok(verified >= 6, `found ${verified}`);
});

interface Bip341 {
  scriptPubKey: {
    given: { internalPubkey: string; scriptTree: unknown };
    intermediary: { leafHashes?: string[]; merkleRoot: string | null; tweak: string; tweakedPubkey: string };
    expected: { scriptPubKey: string; scriptPathControlBlocks?: string[] };
  }[];
  keyPathSpending: {
    given: { rawUnsignedTx: string; utxosSpent: { scriptPubKey: string; amountSats: number }[] };
    inputSpending: {
      given: { txinIndex: number; internalPrivkey: string; merkleRoot: string | null; hashType: number };
      intermediary: { tweakedPrivkey: string; sigHash: string };
      expected: { witness: string[] };
    }[];
  }[];
}

type Tree = { script: string; leafVersion: number } | Tree[];

function leaves(t: Tree): { script: string; leafVersion: number }[] {
  return Array.isArray(t) ? t.flatMap(leaves) : [t];
}

function treeHash(t: Tree): Uint8Array {
  if (!Array.isArray(t)) return tapleafHash(t.leafVersion, fromHex(t.script));
  assert.equal(t.length, 2);
  return tapBranchHash(treeHash(t[0]!), treeHash(t[1]!));
}

test('bip341_wallet_vectors.json scriptPubKey: tweaks, output keys, control blocks', () => {
  const doc = JSON.parse(
    readFileSync(vectorPath('bitcoin-core', 'bip341_wallet_vectors.json'), 'utf8'),
  ) as Bip341;
  let controls = 0;
  for (const v of doc.scriptPubKey) {
    const internal = fromHex(v.given.internalPubkey);
    const tree = v.given.scriptTree as Tree | null;
    const root = tree === null ? null : treeHash(tree);
    assert.equal(root === null ? null : hex(root), v.intermediary.merkleRoot);
    assert.equal(hex(taprootTweak(internal, root)), v.intermediary.tweak);
    const tweaked = tweakInternalKey(internal, root)!;
    assert.equal(hex(tweaked.outputKey), v.intermediary.tweakedPubkey);
    assert.equal(hex(p2tr(tweaked.outputKey)), v.expected.scriptPubKey);
    if (tree !== null) {
      const ls = leaves(tree);
      assert.deepEqual(
        ls.map((l) => hex(tapleafHash(l.leafVersion, fromHex(l.script)))),
        v.intermediary.leafHashes,
      );
      for (const [i, cb] of (v.expected.scriptPathControlBlocks ?? []).entries()) {
        const control = fromHex(cb);
        const leaf = tapleafHash(ls[i]!.leafVersion, fromHex(ls[i]!.script));
        assert.ok(verifyTaprootCommitment(control, tweaked.outputKey, leaf));
        assert.equal(
          hex(control.subarray(0, 33)),
          hex(controlBlock(internal, ls[i]!.leafVersion, [], tweaked.parity)),
        );
        // Any other leaf must not verify with this control block.
        assert.ok(!verifyTaprootCommitment(control, tweaked.outputKey, new Uint8Array(32)));
        controls++;
      }
    }
  }
  console.log(`bip341 scriptPubKey: ${doc.scriptPubKey.length} outputs, ${controls} control blocks, 0 n/a`);
  assert.equal(doc.scriptPubKey.length, 7);
});

test('bip341_wallet_vectors.json keyPathSpending: tweaked keys sign, and the expected witnesses verify', () => {
  const doc = JSON.parse(
    readFileSync(vectorPath('bitcoin-core', 'bip341_wallet_vectors.json'), 'utf8'),
  ) as Bip341;
  let n = 0;
  for (const v of doc.keyPathSpending) {
    const unsigned = parseTx(fromHex(v.given.rawUnsignedTx));
    const prevouts: TxOut[] = v.given.utxosSpent.map((u) => ({
      value: BigInt(u.amountSats) as Sat,
      script: fromHex(u.scriptPubKey),
    }));
    const cache = new SighashCache(unsigned, prevouts);
    for (const s of v.inputSpending) {
      const i = s.given.txinIndex;
      const tweakedKey = tweakPrivateKey(
        fromHex(s.given.internalPrivkey),
        s.given.merkleRoot ? fromHex(s.given.merkleRoot) : null,
      );
      assert.equal(hex(tweakedKey), s.intermediary.tweakedPrivkey);
      const sighash = taprootSighash(cache, i, s.given.hashType)!;
      assert.equal(hex(sighash), s.intermediary.sigHash);
      // The vectors were made with all-zero auxiliary randomness.
      const sig = schnorrSign(sighash, tweakedKey, new Uint8Array(32));
      const witnessSig = s.given.hashType === 0 ? sig : concat(sig, new Uint8Array([s.given.hashType]));
      assert.equal(hex(witnessSig), s.expected.witness[0]);
      const signed: Transaction = {
        ...unsigned,
        inputs: unsigned.inputs.map((inp, k) =>
          k === i ? { ...inp, witness: s.expected.witness.map(fromHex) } : inp,
        ),
      };
      assert.equal(verifyInput(signed, i, prevouts, STANDARD_SCRIPT_VERIFY_FLAGS), null);
      // Flip one bit of the signature: SCHNORR_SIG.
      const bad = fromHex(s.expected.witness[0]!);
      bad[10] = bad[10]! ^ 1;
      const broken: Transaction = {
        ...unsigned,
        inputs: unsigned.inputs.map((inp, k) => (k === i ? { ...inp, witness: [bad] } : inp)),
      };
      assert.equal(verifyInput(broken, i, prevouts, STANDARD_SCRIPT_VERIFY_FLAGS), 'SCHNORR_SIG');
      n++;
    }
  }
  console.log(`bip341 keyPathSpending signatures: ${n} signed and verified, 0 n/a`);
  assert.equal(n, 7);
});
