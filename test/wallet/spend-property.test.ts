import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { p2wpkh } from '../../src/bitcoin/script.ts';
import { txidHex, weight } from '../../src/bitcoin/tx.ts';
import { hex } from '../../src/core/bytes.ts';
import type { FeeratePerKw, Sat } from '../../src/core/units.ts';
import { createFunding, withdraw } from '../../src/wallet/spend.ts';
import { outpointKey } from '../../src/wallet/wallet.ts';
import { block, externalTx, newWallet, snapshot } from './helpers.ts';

const other = p2wpkh(new Uint8Array(20).fill(0x99));

type Kind = 'confirmed' | 'fresh' | 'external-unconfirmed' | 'reserved';
const coinArb = fc.record({
  kind: fc.constantFrom<Kind>('confirmed', 'fresh', 'external-unconfirmed', 'reserved'),
  value: fc.integer({ min: 500, max: 2_000_000 }),
});

test('property: spends use only eligible coins, pay at least the feerate, never make dust change, or fail without changing anything', () => {
  fc.assert(
    fc.property(
      fc.array(coinArb, { minLength: 1, maxLength: 12 }),
      fc.oneof(fc.integer({ min: 1, max: 3_000_000 }), fc.constant(-1)),
      fc.integer({ min: 253, max: 20_000 }),
      fc.constantFrom(0, 1, 2),
      (coins, amountRaw, feerate, minConf) => {
        const w = newWallet({ lookahead: 2 });
        // Confirmed coins at height 10 (3 confirmations at tip 12), "fresh" ones at 12 (1 confirmation).
        const at10 = coins.filter((c) => c.kind !== 'fresh' && c.kind !== 'external-unconfirmed');
        const tx10 = at10.map((c, i) =>
          externalTx(10_000 + i, [{ script: w.newReceiveScript().script, value: BigInt(c.value) }]),
        );
        const fresh = coins.filter((c) => c.kind === 'fresh');
        const tx12 = fresh.map((c, i) =>
          externalTx(20_000 + i, [{ script: w.newReceiveScript().script, value: BigInt(c.value) }]),
        );
        assert.ok(w.applyBlock(block(10, tx10)).ok);
        assert.ok(w.applyBlock(block(11, [])).ok);
        assert.ok(w.applyBlock(block(12, tx12)).ok);
        coins
          .filter((c) => c.kind === 'external-unconfirmed')
          .forEach((c, i) => {
            assert.ok(
              w.addUnconfirmed(
                externalTx(30_000 + i, [{ script: w.newReceiveScript().script, value: BigInt(c.value) }]),
              ).ok,
            );
          });
        const reservedKeys = at10.flatMap((c, i) =>
          c.kind === 'reserved' ? [outpointKey(w.getTx(txidHex(tx10[i]!))!.txid, 0)] : [],
        );
        w.reserve(reservedKeys, 'someone else');
        const eligible = new Set(w.spendableCoins(minConf).map((c) => c.outpoint));
        for (const k of reservedKeys) assert.ok(!eligible.has(k));

        const before = snapshot(w);
        const amount = amountRaw === -1 ? 'all' : (BigInt(amountRaw) as Sat);
        const useFunding = amountRaw % 2 === 0;
        const r = useFunding
          ? createFunding(w, other, amount, { feerate: feerate as FeeratePerKw, minConf })
          : withdraw(w, other, amount, { feerate: feerate as FeeratePerKw, minConf });
        if (!r.ok) {
          assert.equal(snapshot(w), before, 'an error changed the wallet');
          assert.ok(['insufficient-funds', 'dust'].includes(r.error.kind), r.error.kind);
          return;
        }
        const tx = r.value.tx;
        for (const i of tx.inputs) {
          const k = outpointKey(hex(Uint8Array.from(i.prevout.txid).reverse()), i.prevout.vout);
          assert.ok(eligible.has(k), `spent an ineligible coin ${k}`);
        }
        const values = new Map([...tx10, ...tx12].map((t) => [txidHex(t), t.outputs[0]!.value]));
        const inSum = tx.inputs.reduce(
          (a, i) => a + values.get(hex(Uint8Array.from(i.prevout.txid).reverse()))!,
          0n,
        );
        const outSum = tx.outputs.reduce((a, o) => a + o.value, 0n);
        const fee = inSum - outSum;
        // Unsigned funding transactions get their witnesses later: count the estimate's 108 WU per input.
        const w8 = useFunding ? weight(tx) + 2 + tx.inputs.length * 108 : weight(tx);
        assert.ok(fee * 1000n >= BigInt(feerate * w8), `fee ${fee} below ${feerate}/kw at ${w8} WU`);
        for (const o of tx.outputs) {
          if (hex(o.script) !== hex(other)) assert.ok(o.value > 294n, 'dust change');
        }
        if (amount !== 'all')
          assert.ok(tx.outputs.some((o) => hex(o.script) === hex(other) && o.value === amount));
      },
    ),
    { numRuns: 100 },
  );
});
