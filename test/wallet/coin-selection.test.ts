import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { FeeratePerKw, Sat } from '../../src/core/units.ts';
import {
  type Candidate,
  feeCeil,
  type SelectionParams,
  selectCoins,
} from '../../src/wallet/coin-selection.ts';
import { P2WPKH_INPUT_WEIGHT, P2WPKH_OUTPUT_WEIGHT, txOverheadWeight } from '../../src/wallet/weights.ts';

const rate = (n: number) => n as FeeratePerKw;
const s = (n: number | bigint) => BigInt(n) as Sat;

function params(target: number, feerate = 1000, extra: Partial<SelectionParams> = {}): SelectionParams {
  return {
    target: s(target),
    feerate: rate(feerate),
    longTermFeerate: rate(253),
    baseWeight: txOverheadWeight(1, 2) + P2WPKH_OUTPUT_WEIGHT,
    changeOutputWeight: P2WPKH_OUTPUT_WEIGHT,
    changeSpendWeight: P2WPKH_INPUT_WEIGHT,
    dustLimit: s(294),
    ...extra,
  };
}

function coins(values: number[]): Candidate[] {
  return values.map((v, i) => ({ id: `c${i}`, value: s(v), inputWeight: P2WPKH_INPUT_WEIGHT }));
}

test('branch-and-bound finds the changeless exact match', () => {
  // At the long-term feerate extra inputs cost no waste, so the exact match beats paying for change.
  const p = params(100_000, 253);
  const inFee = Number(feeCeil(p.feerate, P2WPKH_INPUT_WEIGHT));
  const baseFee = Number(feeCeil(p.feerate, p.baseWeight));
  // Two coins whose effective values add up to the target plus base fee, among decoys.
  const exactA = 60_000 + inFee;
  const exactB = 40_000 + inFee + baseFee;
  const r = selectCoins(coins([500_000, exactA, 7_000, exactB, 90_000]), p);
  assert.ok(r.ok);
  assert.equal(r.value.algorithm, 'bnb');
  assert.equal(r.value.change, 0n);
  assert.deepEqual(r.value.inputs.map((c) => c.id).sort(), ['c1', 'c3']);
  const total = r.value.inputs.reduce((a, c) => a + c.value, 0n);
  assert.equal(total, p.target + r.value.fee);
});

test('falls back to a selection with change when no exact match exists', () => {
  const r = selectCoins(coins([1_000_000, 2_000_000]), params(150_000));
  assert.ok(r.ok);
  assert.ok(r.value.change > 294n);
  assert.equal(r.value.inputs.length, 1);
});

test('insufficient funds reports what is available and what is needed', () => {
  const r = selectCoins(coins([10_000, 20_000]), params(50_000));
  assert.ok(!r.ok);
  assert.equal(r.error.available, 30_000n);
  assert.ok(r.error.needed > 50_000n);
  const none = selectCoins([], params(1));
  assert.ok(!none.ok && none.error.available === 0n);
  // Coins worth less than the fee to spend them are useless.
  const uneconomic = selectCoins(coins([100, 150]), params(1, 5000));
  assert.ok(!uneconomic.ok);
});

test('property: selected >= target + fee at the feerate, change never dust, inputs come from the candidates', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 5_000_000 }), { minLength: 0, maxLength: 40 }),
      fc.integer({ min: 294, max: 10_000_000 }),
      fc.integer({ min: 253, max: 50_000 }),
      fc.integer({ min: 253, max: 20_000 }),
      (values, target, feerate, longTerm) => {
        const cands = coins(values);
        const p = params(target, feerate, { longTermFeerate: rate(longTerm) });
        const r = selectCoins(cands, p);
        if (!r.ok) {
          // Then no subset can pay: not even all economical coins together.
          const econ = cands.filter((c) => c.value > feeCeil(p.feerate, c.inputWeight));
          const w = p.baseWeight + econ.length * P2WPKH_INPUT_WEIGHT;
          const total = econ.reduce((a, c) => a + c.value, 0n);
          assert.ok(
            total < p.target + feeCeil(p.feerate, w),
            'reported insufficient funds although all coins suffice',
          );
          assert.equal(
            r.error.available,
            cands.reduce((a, c) => a + c.value, 0n),
          );
          return;
        }
        const sel = r.value;
        const ids = new Set(sel.inputs.map((c) => c.id));
        assert.equal(ids.size, sel.inputs.length, 'an input selected twice');
        for (const c of sel.inputs) assert.ok(cands.includes(c), 'selected a coin that was not offered');
        const total = sel.inputs.reduce((a, c) => a + c.value, 0n);
        const weight =
          p.baseWeight +
          sel.inputs.length * P2WPKH_INPUT_WEIGHT +
          (sel.change > 0n ? p.changeOutputWeight : 0);
        assert.equal(sel.weight, weight);
        assert.ok(sel.fee >= feeCeil(p.feerate, weight), 'fee below the feerate');
        assert.equal(total, p.target + sel.fee + sel.change, 'value not conserved');
        assert.ok(sel.change === 0n || sel.change > p.dustLimit, 'dust change');
      },
    ),
    { numRuns: 400 },
  );
});

test('property: many equal coins do not blow up the search (bounded tries)', () => {
  const r = selectCoins(coins(new Array(3000).fill(10_000)), params(12_345_678));
  assert.ok(r.ok);
  assert.ok(r.value.inputs.length > 1000);
});
