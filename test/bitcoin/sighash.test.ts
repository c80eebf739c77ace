import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  legacySighash,
  SIGHASH_ALL,
  SIGHASH_ANYONECANPAY,
  SIGHASH_SINGLE,
  SighashCache,
  segwitV0Preimage,
  segwitV0Sighash,
  taprootSighash,
  taprootSigMsg,
} from '../../src/bitcoin/sighash.ts';
import { ByteReader, parseTx, reversedHex, type TxOut } from '../../src/bitcoin/tx.ts';
import { equal, fromHex, hex } from '../../src/core/bytes.ts';
import type { Sat } from '../../src/core/units.ts';
import { sha256d } from '../../src/crypto/hash.ts';
import { specPath, vectorPath } from '../../src/testing/spec.ts';

test('sighash.json: legacy signature hashes (Bitcoin Core vectors)', () => {
  const rows = JSON.parse(readFileSync(vectorPath('bitcoin-core', 'sighash.json'), 'utf8')) as unknown[][];
  let passed = 0;
  for (const row of rows) {
    if (row.length === 1) continue;
    const [rawTx, scriptHex, index, hashType, expected] = row as [string, string, number, number, string];
    const tx = parseTx(fromHex(rawTx));
    const got = legacySighash(tx, index, fromHex(scriptHex), hashType);
    assert.equal(reversedHex(got), expected, `row ${JSON.stringify(row).slice(0, 80)}`);
    passed++;
  }
  console.log(`sighash.json: ${passed} passed, 0 n/a`);
  assert.equal(passed, 500);
});

test('legacy SIGHASH_SINGLE without a matching output signs uint256 one', () => {
  const tx = parseTx(
    fromHex(
      '0100000002fe3dc9208094f3ffd12645477b3dc56f60ec4fa8e6f5d67c565d1c6b9216b36e0000000000ffffffff0815cf020f013ed6cf91d29f4202e8a58726b1ac6c79da47c23d1bee0a6925f80000000000ffffffff0100f2052a010000001976a914a30741f8145e5acadf23f751864167f32e0963f788ac00000000',
    ),
  );
  assert.equal(hex(legacySighash(tx, 1, new Uint8Array(0), SIGHASH_SINGLE)), `01${'00'.repeat(31)}`);
  assert.notEqual(hex(legacySighash(tx, 0, new Uint8Array(0), SIGHASH_SINGLE)), `01${'00'.repeat(31)}`);
});

interface Bip143Case {
  tx: string;
  preimage: string;
  sighash: string;
}

function bip143Cases(): Bip143Case[] {
  const text = readFileSync(specPath('bips', 'bip-0143.mediawiki'), 'utf8');
  const events: { at: number; kind: 'tx' | 'pre' | 'hash'; value: string }[] = [];
  for (const m of text.matchAll(/unsigned transaction:\s*([0-9a-f]+)/g))
    events.push({ at: m.index, kind: 'tx', value: m[1]! });
  for (const m of text.matchAll(/preimage[^:\n]*:\s*([0-9a-f]+)/g))
    events.push({ at: m.index, kind: 'pre', value: m[1]! });
  for (const m of text.matchAll(/sigHash:\s*([0-9a-f]{64})/g))
    events.push({ at: m.index, kind: 'hash', value: m[1]! });
  events.sort((a, b) => a.at - b.at);
  const out: Bip143Case[] = [];
  let tx = '';
  let pre = '';
  for (const e of events) {
    if (e.kind === 'tx') tx = e.value;
    else if (e.kind === 'pre') pre = e.value;
    else {
      assert.ok(tx !== '' && pre !== '', 'every sigHash follows a transaction and a preimage');
      out.push({ tx, preimage: pre, sighash: e.value });
      pre = '';
    }
  }
  return out;
}

test('BIP143 examples: preimages and sighashes', () => {
  const cases = bip143Cases();
  for (const c of cases) {
    const tx = parseTx(fromHex(c.tx));
    const pre = fromHex(c.preimage);
    // Take the per-input fields from the published preimage; hashPrevouts/Sequence/Outputs are ours.
    const outpoint = pre.subarray(68, 104);
    const r = new ByteReader(pre.subarray(104));
    const scriptCode = r.varBytes();
    const amount = r.u64le() as Sat;
    r.u32le();
    r.take(36);
    const hashType = r.u32le();
    const index = tx.inputs.findIndex((i) => equal(i.prevout.txid, outpoint.subarray(0, 32)));
    assert.ok(index >= 0);
    const cache = new SighashCache(tx);
    assert.equal(hex(segwitV0Preimage(tx, index, scriptCode, amount, hashType, cache)), c.preimage);
    assert.equal(hex(segwitV0Sighash(tx, index, scriptCode, amount, hashType, cache)), c.sighash);
    assert.equal(hex(sha256d(pre)), c.sighash);
  }
  console.log(`bip-0143 examples: ${cases.length} passed, 0 n/a`);
  assert.ok(cases.length >= 13, `expected at least 13 BIP143 sighash examples, found ${cases.length}`);
});

interface KeyPathVector {
  given: { rawUnsignedTx: string; utxosSpent: { scriptPubKey: string; amountSats: number }[] };
  intermediary: Record<string, string>;
  inputSpending: {
    given: { txinIndex: number; hashType: number; internalPrivkey: string; merkleRoot: string | null };
    intermediary: { sigMsg: string; sigHash: string };
  }[];
}

test('bip341_wallet_vectors.json keyPathSpending: midstates, SigMsg and sighash', () => {
  const doc = JSON.parse(readFileSync(vectorPath('bitcoin-core', 'bip341_wallet_vectors.json'), 'utf8')) as {
    keyPathSpending: KeyPathVector[];
  };
  let n = 0;
  for (const v of doc.keyPathSpending) {
    const tx = parseTx(fromHex(v.given.rawUnsignedTx));
    const prevouts: TxOut[] = v.given.utxosSpent.map((u) => ({
      value: BigInt(u.amountSats) as Sat,
      script: fromHex(u.scriptPubKey),
    }));
    const cache = new SighashCache(tx, prevouts);
    assert.equal(hex(cache.shaAmounts), v.intermediary.hashAmounts);
    assert.equal(hex(cache.shaOutputs), v.intermediary.hashOutputs);
    assert.equal(hex(cache.shaPrevouts), v.intermediary.hashPrevouts);
    assert.equal(hex(cache.shaScriptPubkeys), v.intermediary.hashScriptPubkeys);
    assert.equal(hex(cache.shaSequences), v.intermediary.hashSequences);
    for (const s of v.inputSpending) {
      const msg = taprootSigMsg(cache, s.given.txinIndex, s.given.hashType);
      assert.ok(msg !== null);
      assert.equal(hex(msg), s.intermediary.sigMsg);
      assert.equal(hex(taprootSighash(cache, s.given.txinIndex, s.given.hashType)!), s.intermediary.sigHash);
      n++;
    }
  }
  console.log(`bip341 keyPathSpending sighash: ${n} passed, 0 n/a`);
  assert.equal(n, 7);
});

test('taproot: invalid hash types and SINGLE without output give null', () => {
  const tx = parseTx(fromHex(`0100000001${'11'.repeat(32)}0000000000ffffffff0000000000`));
  const cache = new SighashCache(tx, [{ value: 1000n as Sat, script: fromHex(`5120${'22'.repeat(32)}`) }]);
  assert.equal(taprootSighash(cache, 0, 0x04), null);
  assert.equal(taprootSighash(cache, 0, 0x80), null);
  assert.equal(taprootSighash(cache, 0, SIGHASH_SINGLE), null);
  assert.equal(taprootSighash(cache, 0, SIGHASH_SINGLE | SIGHASH_ANYONECANPAY), null);
  assert.ok(taprootSighash(cache, 0, SIGHASH_ALL) !== null);
  assert.ok(taprootSighash(cache, 0, 0) !== null);
  assert.notEqual(hex(taprootSighash(cache, 0, 0)!), hex(taprootSighash(cache, 0, SIGHASH_ALL)!));
  // The annex is committed to.
  assert.notEqual(
    hex(taprootSighash(cache, 0, 0, { annex: fromHex('50') })!),
    hex(taprootSighash(cache, 0, 0)!),
  );
  assert.throws(() => taprootSighash(new SighashCache(tx), 0, 0));
});
