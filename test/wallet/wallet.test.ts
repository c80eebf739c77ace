import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressFromScript } from '../../src/bitcoin/address.ts';
import { checkTransaction } from '../../src/bitcoin/check-tx.ts';
import { verifyTransaction } from '../../src/bitcoin/interpreter.ts';
import { extractTransaction, parsePsbtBase64 } from '../../src/bitcoin/psbt.ts';
import { p2wpkh, p2wshOfScript } from '../../src/bitcoin/script.ts';
import { STANDARD_SCRIPT_VERIFY_FLAGS } from '../../src/bitcoin/script-error.ts';
import { p2wpkhScriptCode, SIGHASH_ALL, segwitV0Sighash } from '../../src/bitcoin/sighash.ts';
import { parseTx, serializeTx, type Transaction, txidHex, weight } from '../../src/bitcoin/tx.ts';
import { hex } from '../../src/core/bytes.ts';
import type { FeeratePerKw, Sat } from '../../src/core/units.ts';
import { ecdsaVerify, hash160, signatureFromDer } from '../../src/crypto/index.ts';
import { RecordError } from '../../src/wallet/records.ts';
import {
  listfunds,
  listtransactions,
  newaddr,
  parseFeerate,
  parseSatoshi,
  withdrawRpc,
} from '../../src/wallet/rpc.ts';
import {
  bumpFee,
  createFunding,
  RBF_SEQUENCE,
  releaseFunding,
  signFunding,
  withdraw,
} from '../../src/wallet/spend.ts';
import { type WalletError, walletErrorMessage } from '../../src/wallet/types.ts';
import { outpointKey, Wallet } from '../../src/wallet/wallet.ts';
import { INCREMENTAL_RELAY_FEERATE } from '../../src/wallet/weights.ts';
import { block, coinbaseTx, externalTx, keys, newWallet, snapshot } from './helpers.ts';

const rate = (n: number) => n as FeeratePerKw;
const sat = (n: number | bigint) => BigInt(n) as Sat;
const other = p2wpkh(new Uint8Array(20).fill(0xee)); // someone else's address

/** A wallet with confirmed coins of the given values at height 100, tip at 105. */
function funded(values: number[], type: 'p2wpkh' | 'p2tr' = 'p2wpkh'): Wallet {
  const w = newWallet();
  const txs = values.map((v, i) =>
    externalTx(1000 + i, [{ script: w.newReceiveScript(type).script, value: BigInt(v) }]),
  );
  assert.ok(w.applyBlock(block(100, txs)).ok);
  for (let h = 101; h <= 105; h++) assert.ok(w.applyBlock(block(h, [])).ok);
  return w;
}

/** Checks every input's signature against the BIP143 digest of the coin it spends. */
function assertSigned(w: Wallet, tx: Transaction): void {
  const byKey = new Map(w.coins().map((c) => [c.outpoint, c]));
  tx.inputs.forEach((input, i) => {
    const key = outpointKey(hex(Uint8Array.from(input.prevout.txid).reverse()), input.prevout.vout);
    const coin = byKey.get(key);
    assert.ok(coin, `input ${i} is not a wallet coin`);
    assert.equal(input.sequence, RBF_SEQUENCE);
    if (coin.owner.kind === 'bip86') {
      // Key path: one 64-byte Schnorr signature (SIGHASH_DEFAULT); checked by the interpreter below.
      assert.equal(input.witness.length, 1);
      assert.equal(input.witness[0]!.length, 64);
      return;
    }
    assert.equal(input.witness.length, 2);
    const [sig, pubkey] = input.witness as [Uint8Array, Uint8Array];
    assert.equal(hex(p2wpkh(hash160(pubkey))), hex(coin.script), 'witness key does not match the output');
    assert.equal(sig[sig.length - 1], SIGHASH_ALL);
    const digest = segwitV0Sighash(tx, i, p2wpkhScriptCode(hash160(pubkey)), coin.value, SIGHASH_ALL);
    assert.ok(
      ecdsaVerify(signatureFromDer(sig.subarray(0, -1)), digest, pubkey),
      `bad signature on input ${i}`,
    );
  });
  // And the independent script interpreter accepts it under mempool policy.
  const prevouts = tx.inputs.map((input) => {
    const c = byKey.get(outpointKey(hex(Uint8Array.from(input.prevout.txid).reverse()), input.prevout.vout))!;
    return { value: c.value, script: c.script };
  });
  assert.equal(verifyTransaction(tx, prevouts, STANDARD_SCRIPT_VERIFY_FLAGS), null);
  assert.equal(checkTransaction(tx), null);
}

function feeOf(w: Wallet, tx: Transaction): bigint {
  const byKey = new Map(w.coins().map((c) => [c.outpoint, c]));
  const inSum = tx.inputs.reduce(
    (a, i) =>
      a + byKey.get(outpointKey(hex(Uint8Array.from(i.prevout.txid).reverse()), i.prevout.vout))!.value,
    0n,
  );
  return inSum - tx.outputs.reduce((a, o) => a + o.value, 0n);
}

function errKind<T>(r: { ok: true; value: T } | { ok: false; error: WalletError }): string {
  assert.ok(!r.ok, 'expected an error');
  assert.ok(walletErrorMessage(r.error).length > 0);
  return r.error.kind;
}

test('receives to new addresses, counts confirmations, lists funds in CLN shape', () => {
  const w = newWallet();
  const a = newaddr(w);
  assert.ok(a.ok);
  assert.match(a.value.bech32!, /^bcrt1q/);
  assert.equal(a.value.p2tr, undefined);
  const script = w.newReceiveScript().script;
  const tx = externalTx(1, [
    { script, value: 50_000n },
    { script: other, value: 1n },
  ]);
  assert.ok(w.addUnconfirmed(tx).ok);
  assert.equal(w.balance().unconfirmed, 50_000n);
  let funds = listfunds(w);
  assert.equal(funds.outputs.length, 1);
  assert.equal(funds.outputs[0]!.status, 'unconfirmed');
  assert.equal(funds.outputs[0]!.amount_msat, 50_000_000);
  assert.equal(funds.outputs[0]!.address, addressFromScript('regtest', script));
  assert.ok(w.applyBlock(block(10, [tx])).ok);
  assert.ok(w.applyBlock(block(11, [])).ok);
  funds = listfunds(w);
  assert.deepEqual(funds.outputs[0], {
    txid: txidHex(tx),
    output: 0,
    amount_msat: 50_000_000,
    scriptpubkey: hex(script),
    address: addressFromScript('regtest', script)!,
    status: 'confirmed',
    blockheight: 10,
    reserved: false,
  });
  assert.deepEqual(funds.channels, []);
  assert.equal(w.coins()[0]!.confirmations, 2);
  assert.deepEqual(w.balance(), { confirmed: 50_000n, unconfirmed: 0n, immature: 0n, reserved: 0n });
  const lt = listtransactions(w).transactions;
  assert.equal(lt.length, 1);
  assert.equal(lt[0]!.hash, txidHex(tx));
  assert.equal(lt[0]!.blockheight, 10);
  assert.equal(lt[0]!.outputs[1]!.amount_msat, 1000);
  assert.equal(lt[0]!.rawtx, hex(serializeTx(tx)));
});

test('address gap: outputs within the lookahead of the last used index are found, the window moves', () => {
  const w = newWallet({ lookahead: 20 });
  const at = (i: number) => p2wpkh(hash160(keys.bip84(0, i).pubkey));
  // Index 25 is beyond the window (0..19): not ours yet.
  assert.ok(w.applyBlock(block(1, [externalTx(1, [{ script: at(25), value: 1000n }])])).ok);
  assert.equal(w.coins().length, 0);
  // Paying index 19 and then 25 in the same block: the window extends after each transaction.
  assert.ok(
    w.applyBlock(
      block(2, [
        externalTx(2, [{ script: at(19), value: 2000n }]),
        externalTx(3, [{ script: at(25), value: 3000n }]),
      ]),
    ).ok,
  );
  assert.equal(w.balance().confirmed, 5000n);
  assert.deepEqual(w.addressCounters.receive, { issued: 0, used: 26 });
  // newaddr never hands out a used index.
  const next = w.newReceiveScript();
  assert.equal(next.index, 26);
  // Change chain is watched too.
  assert.ok(
    w.applyBlock(
      block(3, [externalTx(4, [{ script: p2wpkh(hash160(keys.bip84(1, 5).pubkey)), value: 4000n }])]),
    ).ok,
  );
  assert.equal(w.balance().confirmed, 9000n);
});

test('withdraw: signed BIP143 P2WPKH spend at the feerate, change back to us, inputs reserved', () => {
  const w = funded([100_000, 250_000, 40_000]);
  const r = withdraw(w, other, sat(120_000), { feerate: rate(2000) });
  assert.ok(r.ok, r.ok ? '' : walletErrorMessage(r.error));
  const { tx } = r.value;
  assertSigned(w, tx);
  assert.equal(tx.locktime, 105);
  assert.equal(tx.version, 2);
  const fee = feeOf(w, tx);
  assert.equal(fee, r.value.fee);
  assert.ok(fee * 1000n >= BigInt(2000 * weight(tx)), 'pays less than the feerate');
  assert.ok(fee * 1000n <= BigInt(2000 * (weight(tx) + 8)), 'overpays more than the signature-size slack');
  const dest = tx.outputs.find((o) => hex(o.script) === hex(other));
  assert.equal(dest?.value, 120_000n);
  assert.notEqual(r.value.changeVout, null);
  const change = tx.outputs[r.value.changeVout!]!;
  assert.equal(w.ownerOf(change.script)?.kind, 'bip84');
  // Serialization round trip and txid.
  assert.equal(txidHex(parseTx(serializeTx(tx))), r.value.txid);
  // Inputs are spent and reserved, the change is an unconfirmed coin, totals conserved.
  const funds = listfunds(w, { spent: true }).outputs;
  for (const input of tx.inputs) {
    const o = funds.find(
      (f) => f.txid === hex(Uint8Array.from(input.prevout.txid).reverse()) && f.output === input.prevout.vout,
    )!;
    assert.equal(o.status, 'spent');
    assert.equal(o.reserved, true);
    assert.equal(o.reserved_to_block, 105 + 72);
  }
  const b = w.balance();
  assert.equal(b.confirmed + b.unconfirmed, 390_000n - 120_000n - fee);
  assert.equal(w.unconfirmedOwn().length, 1);
  // Confirming it: the change becomes confirmed.
  assert.ok(w.applyBlock(block(106, [tx])).ok);
  assert.equal(w.balance().unconfirmed, 0n);
  assert.equal(w.balance().confirmed, 390_000n - 120_000n - fee);
});

test('withdraw all: one output, no change, pays the feerate', () => {
  const w = funded([100_000, 250_000]);
  const r = withdraw(w, other, 'all', { feerate: rate(1000) });
  assert.ok(r.ok);
  assert.equal(r.value.tx.outputs.length, 1);
  assert.equal(r.value.changeVout, null);
  assertSigned(w, r.value.tx);
  assert.ok(r.value.fee * 1000n >= BigInt(1000 * weight(r.value.tx)));
  assert.equal(r.value.tx.outputs[0]!.value + r.value.fee, 350_000n);
  assert.equal(w.balance().confirmed + w.balance().unconfirmed, 0n);
  assert.equal(errKind(withdraw(w, other, 'all', { feerate: rate(1000) })), 'insufficient-funds');
});

test('withdraw errors are typed and change nothing', () => {
  const w = funded([100_000]);
  const before = snapshot(w);
  const changes = w.takeChanges();
  assert.ok(changes.put.length > 0);
  const r = withdraw(w, other, sat(500_000), { feerate: rate(1000) });
  assert.ok(!r.ok && r.error.kind === 'insufficient-funds');
  assert.equal(r.error.available, 100_000n);
  assert.match(walletErrorMessage(r.error), /100000 sat available/);
  assert.equal(errKind(withdraw(w, other, sat(293), { feerate: rate(1000) })), 'dust');
  assert.equal(errKind(withdraw(w, other, sat(10_000), { feerate: rate(100) })), 'bad-feerate');
  assert.equal(errKind(withdraw(w, other, sat(10_000), { feerate: rate(2_000_000) })), 'bad-feerate');
  assert.equal(errKind(withdraw(w, other, sat(10_000), { feerate: rate(1000.5) })), 'bad-feerate');
  assert.equal(
    errKind(withdraw(w, new Uint8Array([0x6a, 0x01, 0x00]), sat(10_000), { feerate: rate(1000) })),
    'bad-destination',
  );
  assert.equal(
    errKind(withdraw(w, new Uint8Array([0xff]), sat(10_000), { feerate: rate(1000) })),
    'bad-destination',
  );
  assert.equal(
    errKind(withdraw(w, other, sat(10_000), { feerate: rate(1000), utxos: [`${'00'.repeat(32)}:0`] })),
    'utxo-unavailable',
  );
  const mainnet = addressFromScript('bitcoin', other)!;
  assert.equal(
    errKind(withdrawRpc(w, { destination: mainnet, satoshi: 10_000, feerate: rate(1000) })),
    'wrong-network',
  );
  assert.equal(
    errKind(withdrawRpc(w, { destination: 'bcrt1qnotanaddress', satoshi: 10_000, feerate: rate(1000) })),
    'invalid-address',
  );
  assert.equal(
    errKind(
      withdrawRpc(w, {
        destination: addressFromScript('regtest', other)!,
        satoshi: '12.5sat',
        feerate: rate(1000),
      }),
    ),
    'bad-amount',
  );
  assert.equal(
    errKind(withdraw(w, other, sat(10_000), { feerate: rate(1000), maxFee: sat(100) })),
    'fee-too-high',
  );
  assert.equal(errKind(withdraw(w, other, 'all', { feerate: rate(1000), maxFee: sat(100) })), 'fee-too-high');
  assert.equal(snapshot(w), before);
  assert.deepEqual(w.takeChanges(), { put: [], delete: [] });
  // And the RPC path works.
  const ok = withdrawRpc(w, {
    destination: addressFromScript('regtest', other)!,
    satoshi: '20000sat',
    feerate: rate(1000),
  });
  assert.ok(ok.ok);
  // The PSBT carries the signed transaction: extracting it gives the same bytes.
  const psbt = parsePsbtBase64(ok.value.psbt);
  assert.ok(psbt.ok);
  assert.ok(psbt.value.inputs.every((i) => i.witnessUtxo !== undefined));
  const extracted = extractTransaction(psbt.value);
  assert.ok(extracted.ok);
  assert.equal(hex(serializeTx(extracted.value)), ok.value.tx);
  assert.equal(txidHex(parseTx(Buffer.from(ok.value.tx, 'hex'))), ok.value.txid);
});

test('unconfirmed and reserved coins are not spent unless allowed', () => {
  const w = funded([100_000]);
  const script = w.newReceiveScript().script;
  assert.ok(w.addUnconfirmed(externalTx(77, [{ script, value: 500_000n }])).ok);
  // The external unconfirmed 500k coin is never used, even with minConf 0.
  assert.equal(
    errKind(withdraw(w, other, sat(200_000), { feerate: rate(1000), minConf: 0 })),
    'insufficient-funds',
  );
  // Our own unconfirmed change may be used with minConf 0.
  const first = withdraw(w, other, sat(30_000), { feerate: rate(1000) });
  assert.ok(first.ok);
  assert.equal(errKind(withdraw(w, other, sat(30_000), { feerate: rate(1000) })), 'insufficient-funds');
  const second = withdraw(w, other, sat(30_000), { feerate: rate(1000), minConf: 0 });
  assert.ok(second.ok);
  assert.equal(second.value.tx.inputs.length, 1);
  assert.equal(hex(Uint8Array.from(second.value.tx.inputs[0]!.prevout.txid).reverse()), first.value.txid);
});

test('RBF bump: same inputs, higher fee meeting BIP125, old tx replaced; if the old one confirms the bump is dropped', () => {
  const w = funded([100_000, 60_000]);
  const first = withdraw(w, other, sat(50_000), { feerate: rate(500) });
  assert.ok(first.ok);
  const oldFee = first.value.fee;
  assert.equal(errKind(bumpFee(w, first.value.txid, 400)), 'bad-feerate');
  const unchanged = snapshot(w);
  assert.equal(errKind(bumpFee(w, first.value.txid, 3000, { maxFee: sat(200) })), 'fee-too-high');
  assert.equal(errKind(bumpFee(w, 'ab'.repeat(32), 3000)), 'unknown-tx');
  assert.equal(snapshot(w), unchanged);
  const bumped = bumpFee(w, first.value.txid, 3000);
  assert.ok(bumped.ok, bumped.ok ? '' : walletErrorMessage(bumped.error));
  const tx = bumped.value.tx;
  assertSigned(w, tx);
  assert.equal(bumped.value.replaced, first.value.txid);
  assert.ok(bumped.value.fee >= oldFee + BigInt(Math.ceil((INCREMENTAL_RELAY_FEERATE * weight(tx)) / 1000)));
  assert.ok(bumped.value.fee * 1000n >= BigInt(3000 * weight(tx)));
  const oldInputs = first.value.tx.inputs.map((i) => hex(i.prevout.txid) + i.prevout.vout);
  for (const k of oldInputs)
    assert.ok(
      tx.inputs.some((i) => hex(i.prevout.txid) + i.prevout.vout === k),
      'replacement must spend the old inputs',
    );
  assert.equal(tx.outputs.find((o) => hex(o.script) === hex(other))?.value, 50_000n);
  assert.equal(w.getTx(first.value.txid), undefined);
  assert.ok(w.getTx(bumped.value.txid));
  assert.equal(w.balance().confirmed + w.balance().unconfirmed, 160_000n - 50_000n - bumped.value.fee);
  // A miner took the original instead.
  const res = w.applyBlock(block(106, [first.value.tx]));
  assert.ok(res.ok);
  assert.deepEqual(res.value.conflicted, [bumped.value.txid]);
  assert.equal(w.getTx(bumped.value.txid), undefined);
  assert.equal(w.balance().confirmed + w.balance().unconfirmed, 160_000n - 50_000n - oldFee);
  assert.equal(errKind(bumpFee(w, first.value.txid, 5000)), 'not-replaceable');
});

test('RBF bump of a sweep lowers the recipient output; bump adds inputs when change is not enough', () => {
  const w = funded([100_000]);
  const sweep = withdraw(w, other, 'all', { feerate: rate(1000) });
  assert.ok(sweep.ok);
  const b = bumpFee(w, sweep.value.txid, 5000);
  assert.ok(b.ok);
  assert.equal(b.value.tx.outputs.length, 1);
  assert.equal(b.value.tx.outputs[0]!.value + b.value.fee, 100_000n);

  const w2 = funded([51_000, 80_000]);
  const tight = withdraw(w2, other, sat(50_000), {
    feerate: rate(253),
    utxos: [w2.spendableCoins().find((c) => c.value === 51_000n)!.outpoint],
  });
  assert.ok(tight.ok);
  assert.equal(tight.value.tx.inputs.length, 1);
  const b2 = bumpFee(w2, tight.value.txid, 10_000);
  assert.ok(b2.ok, b2.ok ? '' : walletErrorMessage(b2.error));
  assert.equal(b2.value.tx.inputs.length, 2);
  assertSigned(w2, b2.value.tx);
});

test('channel funding: unsigned tx with final txid, inputs reserved, signed later or released', () => {
  const w = funded([300_000, 200_000]);
  const fundingScript = p2wshOfScript(new Uint8Array([0x52, 0x21]));
  const f = createFunding(w, fundingScript, sat(250_000), { feerate: rate(1000) });
  assert.ok(f.ok);
  const { tx, outputIndex, id } = f.value;
  assert.equal(tx.outputs[outputIndex]!.value, 250_000n);
  assert.equal(hex(tx.outputs[outputIndex]!.script), hex(fundingScript));
  assert.ok(tx.inputs.every((i) => i.witness.length === 0));
  // Reserved: another spend cannot take those inputs.
  const reservedCoins = listfunds(w).outputs.filter((o) => o.reserved);
  assert.equal(reservedCoins.length, tx.inputs.length);
  const signed = signFunding(w, id);
  assert.ok(signed.ok);
  assert.equal(signed.value.txid, id, 'signing must not change the txid');
  assertSigned(w, signed.value.tx);
  assert.equal(errKind(signFunding(w, id)), 'unknown-funding');
  assert.equal(w.getTx(id)?.origin.kind, 'funding');
  assert.equal(errKind(bumpFee(w, id, 5000)), 'not-replaceable');

  const w2 = funded([300_000]);
  const before = w2.balance();
  const f2 = createFunding(w2, fundingScript, 'all', { feerate: rate(1000) });
  assert.ok(f2.ok);
  assert.equal(errKind(withdraw(w2, other, sat(10_000), { feerate: rate(1000) })), 'insufficient-funds');
  assert.ok(releaseFunding(w2, f2.value.id).ok);
  assert.equal(errKind(releaseFunding(w2, f2.value.id)), 'unknown-funding');
  assert.deepEqual(w2.balance(), before);
  assert.ok(withdraw(w2, other, sat(10_000), { feerate: rate(1000) }).ok);
});

test('reservations expire after 72 blocks; abandon releases at once', () => {
  const w = funded([100_000]);
  const f = createFunding(w, other, sat(50_000), { feerate: rate(1000) });
  assert.ok(f.ok);
  assert.equal(w.spendableCoins().length, 0);
  for (let h = 106; h <= 105 + 72; h++) assert.ok(w.applyBlock(block(h, [])).ok);
  assert.equal(w.spendableCoins().length, 0);
  assert.ok(w.applyBlock(block(105 + 73, [])).ok);
  assert.equal(w.spendableCoins().length, 1);

  const w2 = funded([100_000]);
  const wd = withdraw(w2, other, sat(50_000), { feerate: rate(1000) });
  assert.ok(wd.ok);
  assert.equal(w2.spendableCoins().length, 0);
  assert.deepEqual(w2.abandon(wd.value.txid), { ok: true, value: [wd.value.txid] });
  assert.equal(w2.spendableCoins().length, 1);
  assert.equal(listfunds(w2).outputs[0]!.reserved, false);
});

test('coinbase outputs are immature for 100 blocks and vanish if their block is disconnected', () => {
  const w = newWallet();
  const script = w.newReceiveScript().script;
  assert.ok(w.applyBlock(block(1, [coinbaseTx(1, script, 5_000_000_000n)])).ok);
  assert.equal(w.balance().immature, 5_000_000_000n);
  assert.equal(listfunds(w).outputs[0]!.status, 'immature');
  assert.equal(errKind(withdraw(w, other, sat(10_000), { feerate: rate(1000) })), 'insufficient-funds');
  for (let h = 2; h <= 100; h++) assert.ok(w.applyBlock(block(h, [])).ok);
  assert.equal(w.balance().confirmed, 5_000_000_000n);
  const w2 = newWallet();
  assert.ok(w2.applyBlock(block(1, [coinbaseTx(1, script, 1000n)])).ok);
  const d = w2.disconnectBlock(block(1, []).hash);
  assert.ok(d.ok);
  assert.equal(d.value.dropped.length, 1);
  assert.equal(w2.coins().length, 0);
});

test('coinbases of consecutive blocks all stay ours (each names the null outpoint; none is a double spend)', () => {
  const w = newWallet();
  const script = w.newReceiveScript().script;
  for (let h = 1; h <= 3; h++) assert.ok(w.applyBlock(block(h, [coinbaseTx(h, script, 1_000n)])).ok);
  assert.equal(w.coins().length, 3);
  assert.equal(w.balance().immature, 3_000n);
});

test('block order is enforced; only the tip can be disconnected', () => {
  const w = newWallet();
  assert.ok(w.applyBlock(block(5, [])).ok);
  assert.equal(errKind(w.applyBlock(block(5, [], 1))), 'block-out-of-order');
  assert.equal(errKind(w.applyBlock({ height: Number.NaN, hash: block(6, []).hash, txs: [] })), 'bad-block');
  assert.equal(errKind(w.applyBlock({ height: 6, hash: 'XYZ', txs: [] })), 'bad-block');
  assert.equal(w.tipHeight, 5);
  assert.equal(errKind(w.disconnectBlock(block(4, []).hash)), 'not-tip');
  assert.ok(w.disconnectBlock(block(5, []).hash).ok);
  assert.equal(w.tipHeight, 4);
});

test('a mempool double-spend of a confirmed coin is refused; an unconfirmed one is replaced', () => {
  const w = funded([100_000]);
  const coin = w.spendableCoins()[0]!;
  const spend = (n: number): Transaction => ({
    version: 2,
    inputs: [
      {
        prevout: { txid: Uint8Array.from(Buffer.from(coin.txid, 'hex')).reverse(), vout: coin.vout },
        scriptSig: new Uint8Array(),
        sequence: 0,
        witness: [],
      },
    ],
    outputs: [{ script: other, value: BigInt(90_000 - n) as Sat }],
    locktime: 0,
  });
  const a = w.addUnconfirmed(spend(1));
  assert.ok(a.ok && a.value.relevant);
  const b = w.addUnconfirmed(spend(2));
  assert.ok(b.ok);
  assert.deepEqual(b.value.replaced, [txidHex(spend(1))]);
  assert.ok(w.applyBlock(block(106, [spend(2)])).ok);
  assert.equal(errKind(w.addUnconfirmed(spend(3))), 'conflicts-with-confirmed');
  assert.deepEqual(w.addUnconfirmed(externalTx(5, [{ script: other, value: 1n }])), {
    ok: true,
    value: { relevant: false, replaced: [] },
  });
});

test('records: full snapshot and incremental changes rebuild the same wallet', () => {
  const w = funded([100_000, 70_000]);
  const store = new Map<string, unknown>();
  const apply = () => {
    const c = w.takeChanges();
    for (const r of c.put) store.set(r.key, r);
    for (const k of c.delete) store.delete(k);
  };
  apply();
  w.watchScript(other, 'channel close');
  const wd = withdraw(w, other, sat(50_000), { feerate: rate(1000) });
  assert.ok(wd.ok);
  const f = createFunding(w, p2wshOfScript(new Uint8Array([1])), sat(20_000), {
    feerate: rate(1000),
    minConf: 0,
  });
  assert.ok(f.ok);
  apply();
  assert.ok(w.abandon(wd.value.txid).ok);
  apply();
  const snap = w.toRecords();
  assert.deepEqual([...store.keys()].sort(), snap.map((r) => r.key).sort());
  const restored = Wallet.fromRecords(JSON.parse(JSON.stringify([...store.values()])), keys);
  assert.equal(snapshot(restored), snapshot(w));
  assert.deepEqual(listfunds(restored, { spent: true }), listfunds(w, { spent: true }));
  assert.deepEqual(restored.balance(), w.balance());
  assert.ok(signFunding(restored, f.value.id).ok);
  // Records from a newer version are refused rather than misread.
  const future = snap.map((r) => (r.key === 'meta' ? { ...r, version: 2 } : r));
  assert.throws(() => Wallet.fromRecords(future, keys), /newer than this shandian/);
  // Unknown fields (the extensible tail) are ignored.
  const extended = snap.map((r) => ({ ...r, data: { ...r.data, futureField: [1, 2, 3] } }));
  assert.equal(snapshot(Wallet.fromRecords(extended, keys)), snapshot(w));
  // Damaged records fail loudly instead of producing a wrong balance.
  const txRecord = snap.find((r) => r.key.startsWith('tx/'))!;
  const damaged: [string, Record<string, unknown>][] = [
    ['raw', { ...txRecord.data, raw: 'zz' }],
    ['height', { ...txRecord.data, height: -1 }],
    ['origin', { ...txRecord.data, origin: { kind: 'stolen' } }],
    ['coinbase', { ...txRecord.data, coinbase: 'no' }],
  ];
  for (const [what, data] of damaged) {
    const bad = snap.map((r) => (r.key === txRecord.key ? { ...r, data } : r));
    assert.throws(() => Wallet.fromRecords(bad, keys), RecordError, what);
  }
  assert.throws(
    () => Wallet.fromRecords([...snap, { key: 'mystery/1', version: 1, data: {} }], keys),
    RecordError,
  );
  assert.throws(
    () =>
      Wallet.fromRecords(
        snap.filter((r) => r.key !== 'meta'),
        keys,
      ),
    /no meta record/,
  );
});

test('CLN parameter parsing: satoshi and feerate', () => {
  assert.deepEqual(parseSatoshi('all'), { ok: true, value: 'all' });
  assert.deepEqual(parseSatoshi(1000), { ok: true, value: 1000n });
  assert.deepEqual(parseSatoshi('1000sat'), { ok: true, value: 1000n });
  assert.deepEqual(parseSatoshi('5000msat'), { ok: true, value: 5n });
  assert.deepEqual(parseSatoshi('0.001btc'), { ok: true, value: 100_000n });
  for (const bad of ['5001msat', '-1', 0, 1.5, '1e5', null, ''])
    assert.equal(parseSatoshi(bad).ok, false, String(bad));
  const est = () => rate(7777);
  assert.deepEqual(parseFeerate('normal', est), { ok: true, value: 7777 });
  assert.deepEqual(parseFeerate('1000perkw', est), { ok: true, value: 1000 });
  assert.deepEqual(parseFeerate('4000perkb', est), { ok: true, value: 1000 });
  assert.deepEqual(parseFeerate(4000, est), { ok: true, value: 1000 });
  assert.equal(parseFeerate('fast', est).ok, false);
});

test('an incoming unconfirmed payment whose foreign input is double-spent elsewhere stops counting', () => {
  const w = newWallet();
  const pay = externalTx(42, [{ script: w.newReceiveScript().script, value: 70_000n }]);
  assert.ok(w.addUnconfirmed(pay).ok);
  assert.equal(w.balance().unconfirmed, 70_000n);
  // The payer spends the same input to itself instead; that transaction does not touch our scripts.
  const doubleSpend: Transaction = { ...pay, outputs: [{ script: other, value: 69_000n as Sat }] };
  const r = w.applyBlock(block(1, [doubleSpend]));
  assert.ok(r.ok);
  assert.deepEqual(r.value.relevant, []);
  assert.deepEqual(r.value.conflicted, [txidHex(pay)]);
  assert.equal(w.balance().unconfirmed, 0n);
  assert.equal(w.coins().length, 0);
});

test('deep reorgs beyond the remembered block hashes still disconnect correctly', () => {
  const w = newWallet();
  const script = w.newReceiveScript().script;
  const pay = externalTx(9, [{ script, value: 1234n }]);
  for (let h = 1; h <= 150; h++) assert.ok(w.applyBlock(block(h, h === 10 ? [pay] : [])).ok);
  for (let h = 150; h >= 9; h--) assert.ok(w.disconnectBlock(block(h, []).hash).ok, `disconnect ${h}`);
  assert.equal(w.tipHeight, 8);
  assert.equal(w.balance().unconfirmed, 1234n);
  assert.equal(w.balance().confirmed, 0n);
  assert.ok(w.applyBlock(block(9, [pay], 1)).ok);
  assert.equal(w.balance().confirmed, 1234n);
  assert.equal(w.coins()[0]!.height, 9);
});

test('channel key indexes are never handed out twice, across restarts', () => {
  const w = newWallet();
  assert.equal(w.allocateChannelIndex(), 0);
  assert.equal(w.allocateChannelIndex(), 1);
  const restored = Wallet.fromRecords(w.toRecords(), keys);
  assert.equal(restored.allocateChannelIndex(), 2);
  // A meta record written before the field existed reads as "none handed out".
  const old = w.toRecords().map((r) => {
    if (r.key !== 'meta') return r;
    const { channelIndexes: _, ...rest } = r.data;
    return { ...r, data: rest };
  });
  assert.equal(Wallet.fromRecords(old, keys).allocateChannelIndex(), 0);
});

test('taproot (BIP86): p2tr addresses, received coins spent by key path alone or mixed with P2WPKH', () => {
  const w = newWallet();
  const both = newaddr(w, 'all');
  assert.ok(both.ok);
  assert.match(both.value.bech32!, /^bcrt1q/);
  assert.match(both.value.p2tr!, /^bcrt1p/);
  assert.equal(errKind(newaddr(w, 'p2sh-segwit')), 'bad-destination');
  const tr = funded([150_000, 90_000], 'p2tr');
  assert.deepEqual(tr.addressCounters.taprootReceive, { issued: 2, used: 2 });
  assert.equal(
    listfunds(tr).outputs.every((o) => o.address?.startsWith('bcrt1p')),
    true,
  );
  const r = withdraw(tr, other, sat(200_000), { feerate: rate(3000) });
  assert.ok(r.ok, r.ok ? '' : walletErrorMessage(r.error));
  assert.equal(r.value.tx.inputs.length, 2);
  assertSigned(tr, r.value.tx);
  assert.ok(r.value.fee * 1000n >= BigInt(3000 * weight(r.value.tx)));
  // Change goes to a P2WPKH change address.
  assert.equal(tr.ownerOf(r.value.tx.outputs[r.value.changeVout!]!.script)?.kind, 'bip84');

  // Mixed inputs: taproot signatures commit to every spent output, segwit v0 ones to their own.
  const mixed = funded([60_000]);
  const trScript = mixed.newReceiveScript('p2tr').script;
  assert.ok(mixed.applyBlock(block(106, [externalTx(5000, [{ script: trScript, value: 70_000n }])])).ok);
  const m = withdraw(mixed, other, 'all', { feerate: rate(2000) });
  assert.ok(m.ok);
  assert.equal(m.value.tx.inputs.length, 2);
  assertSigned(mixed, m.value.tx);
  const b = bumpFee(mixed, m.value.txid, 6000);
  assert.ok(b.ok);
  assertSigned(mixed, b.value.tx);
  // Taproot counters survive a restart.
  const restored = Wallet.fromRecords(mixed.toRecords(), keys);
  assert.deepEqual(restored.addressCounters, mixed.addressCounters);
  assert.deepEqual(listfunds(restored, { spent: true }), listfunds(mixed, { spent: true }));
});
