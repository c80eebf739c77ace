import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { p2wpkh } from '../../src/bitcoin/script.ts';
import { fromReversedHex, type Transaction, txidHex } from '../../src/bitcoin/tx.ts';
import type { Sat } from '../../src/core/units.ts';
import { hash160 } from '../../src/crypto/index.ts';
import { listfunds } from '../../src/wallet/rpc.ts';
import type { Wallet } from '../../src/wallet/wallet.ts';
import { block, externalTx, keys, newWallet } from './helpers.ts';

// Scripts the random chains pay: receive 0..11 and change 0..5 (inside a 12-address lookahead).
const ours = [
  ...Array.from({ length: 12 }, (_, i) => p2wpkh(hash160(keys.bip84(0, i).pubkey))),
  ...Array.from({ length: 6 }, (_, i) => p2wpkh(hash160(keys.bip84(1, i).pubkey))),
];
const theirs = p2wpkh(new Uint8Array(20).fill(0x77));

type Op =
  | { kind: 'fund'; script: number; value: number }
  | { kind: 'spend'; pick: number; toOurs: number | null };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('fund' as const),
    script: fc.nat(ours.length - 1),
    value: fc.integer({ min: 1000, max: 1_000_000 }),
  }),
  fc.record({
    kind: fc.constant('spend' as const),
    pick: fc.nat(),
    toOurs: fc.option(fc.nat(ours.length - 1)),
  }),
);
const blocksArb = fc.array(fc.array(opArb, { maxLength: 4 }), { minLength: 1, maxLength: 8 });

interface Utxo {
  readonly txid: string;
  readonly vout: number;
  readonly value: bigint;
}

/** Turns ops into transactions; spends pick among outputs to us created earlier on the same chain. */
function interpret(
  blocks: Op[][],
  utxosIn: readonly Utxo[],
  nonceBase: number,
): { txs: Transaction[][]; utxos: Utxo[] } {
  const utxos = utxosIn.slice();
  let nonce = nonceBase;
  const out: Transaction[][] = [];
  for (const ops of blocks) {
    const txs: Transaction[] = [];
    for (const op of ops) {
      let tx: Transaction;
      if (op.kind === 'fund') {
        tx = externalTx(nonce++, [{ script: ours[op.script]!, value: BigInt(op.value) }]);
      } else {
        if (utxos.length === 0) continue;
        const [u] = utxos.splice(op.pick % utxos.length, 1) as [Utxo];
        const script = op.toOurs === null ? theirs : ours[op.toOurs]!;
        tx = {
          version: 2,
          inputs: [
            {
              prevout: { txid: fromReversedHex(u.txid), vout: u.vout },
              scriptSig: new Uint8Array(),
              sequence: 0,
              witness: [],
            },
          ],
          outputs: [{ script, value: (u.value - 500n) as Sat }],
          locktime: nonce++,
        };
      }
      const id = txidHex(tx);
      tx.outputs.forEach((o, vout) => {
        if (o.script !== theirs) utxos.push({ txid: id, vout, value: o.value });
      });
      txs.push(tx);
    }
    out.push(txs);
  }
  return { txs: out, utxos };
}

/** The confirmed view: outputs of confirmed transactions not spent by a confirmed transaction. */
function confirmedView(w: Wallet): string[] {
  return w
    .coins()
    .filter((c) => c.height !== null && (c.spentBy === null || w.getTx(c.spentBy)?.height === null))
    .map((c) => `${c.outpoint}=${c.value}@${c.height}`)
    .sort();
}

test('reorg property: apply, disconnect k, apply a fork => confirmed state equals a wallet that only saw the final chain', () => {
  fc.assert(
    fc.property(blocksArb, blocksArb, fc.nat(), fc.boolean(), (opsA, opsB, kRaw, mempoolFirst) => {
      const a = interpret(opsA, [], 1);
      const k = kRaw % (opsA.length + 1);
      const keep = opsA.length - k;
      const prefix = interpret(opsA.slice(0, keep), [], 1);
      const b = interpret(opsB, prefix.utxos, 1_000_000);

      const w = newWallet({ lookahead: 12 });
      a.txs.forEach((txs, h) => {
        assert.ok(w.applyBlock(block(h + 1, txs)).ok);
      });
      for (let h = opsA.length; h > keep; h--) assert.ok(w.disconnectBlock(block(h, []).hash).ok);
      assert.equal(w.tipHeight, keep);
      b.txs.forEach((txs, i) => {
        // Sometimes the fork's transactions are seen in the mempool first.
        if (mempoolFirst && txs[0] !== undefined) assert.ok(w.addUnconfirmed(txs[0]).ok);
        assert.ok(w.applyBlock(block(keep + i + 1, txs, 1)).ok);
      });

      const fresh = newWallet({ lookahead: 12 });
      prefix.txs.forEach((txs, h) => {
        assert.ok(fresh.applyBlock(block(h + 1, txs)).ok);
      });
      b.txs.forEach((txs, i) => {
        assert.ok(fresh.applyBlock(block(keep + i + 1, txs, 1)).ok);
      });

      assert.deepEqual(confirmedView(w), confirmedView(fresh));
      // Nothing counted twice: the confirmed balance from the view equals the fresh wallet's.
      assert.equal(fresh.balance().unconfirmed, 0n);
      const sum = (xs: string[]) => xs.reduce((acc, s) => acc + BigInt(s.split('=')[1]!.split('@')[0]!), 0n);
      assert.equal(sum(confirmedView(w)), fresh.balance().confirmed + fresh.balance().immature);
      // What is left unconfirmed in w came from the abandoned branch and conflicts with nothing confirmed.
      for (const t of w.transactions()) {
        if (t.height !== null) continue;
        assert.ok(
          a.txs
            .slice(keep)
            .flat()
            .some((x) => txidHex(x) === t.txid) || b.txs.flat().some((x) => txidHex(x) === t.txid),
        );
      }
    }),
    { numRuns: 50 },
  );
});

test('reorg property: disconnecting k blocks and re-applying them restores exactly the same funds', () => {
  fc.assert(
    fc.property(blocksArb, fc.nat(), (ops, kRaw) => {
      const a = interpret(ops, [], 1);
      const k = kRaw % (ops.length + 1);
      const w = newWallet({ lookahead: 12 });
      const straight = newWallet({ lookahead: 12 });
      a.txs.forEach((txs, h) => {
        assert.ok(w.applyBlock(block(h + 1, txs)).ok);
        assert.ok(straight.applyBlock(block(h + 1, txs)).ok);
      });
      const before = w.balance();
      for (let h = ops.length; h > ops.length - k; h--) assert.ok(w.disconnectBlock(block(h, []).hash).ok);
      // Disconnected transactions are unconfirmed, not lost: confirmed + unconfirmed is unchanged.
      const mid = w.balance();
      assert.equal(
        mid.confirmed + mid.unconfirmed + mid.immature,
        before.confirmed + before.unconfirmed + before.immature,
      );
      for (let h = ops.length - k + 1; h <= ops.length; h++)
        assert.ok(w.applyBlock(block(h, a.txs[h - 1]!)).ok);
      assert.deepEqual(listfunds(w, { spent: true }), listfunds(straight, { spent: true }));
      assert.deepEqual(w.balance(), straight.balance());
    }),
    { numRuns: 50 },
  );
});
