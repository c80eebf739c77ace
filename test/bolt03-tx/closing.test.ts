// Closing transactions (legacy closing_signed and option_simple_close). BOLT 3 has no appendix vectors
// for them, so these check the stated rules one by one, plus signatures over the funding input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { opReturn, p2wpkhOfKey, p2wshOfScript } from '../../src/bitcoin/script.ts';
import { weight } from '../../src/bitcoin/tx.ts';
import {
  buildLegacyClosing,
  buildSimpleClosing,
  expectedClosingWeight,
  signedFundingSpend,
  signFundingInput,
  verifyFundingInput,
} from '../../src/bolt03-tx/index.ts';
import { msat, sat } from '../../src/core/units.ts';
import {
  fundingAmount,
  fundingOutpoint,
  local,
  localFundingPrivkey,
  remote,
  remoteFundingPrivkey,
} from './fixture.ts';

const localScript = p2wpkhOfKey(local.paymentBasepoint);
const remoteScript = p2wshOfScript(new Uint8Array([0x51]));

test('legacy closing: funder pays the fee, outputs rounded down, BIP69, sequence 0xFFFFFFFF, locktime 0', () => {
  const r = buildLegacyClosing({
    fundingOutpoint,
    fundingAmount,
    localBalance: msat(6_000_000_999n),
    remoteBalance: msat(3_999_999_001n),
    localScript,
    remoteScript,
    localIsFunder: true,
    fee: sat(1000n),
    dustLimit: sat(546n),
  });
  assert.ok(r.ok);
  const c = r.value;
  assert.equal(c.tx.version, 2);
  assert.equal(c.tx.locktime, 0);
  assert.equal(c.tx.inputs[0]!.sequence, 0xffffffff);
  assert.equal(c.tx.outputs.length, 2);
  assert.equal(c.tx.outputs[0]!.value, 3_999_999n);
  assert.equal(c.tx.outputs[1]!.value, 6_000_000n - 1000n);
  assert.equal(c.remoteOutputIndex, 0);
  assert.equal(c.localOutputIndex, 1);
  assert.equal(c.fee, 1001n);

  // Signed by both funding keys, it weighs no more than the expected weight.
  const ls = signFundingInput(
    c.tx,
    local.fundingPubkey,
    remote.fundingPubkey,
    fundingAmount,
    localFundingPrivkey,
  );
  const rs = signFundingInput(
    c.tx,
    local.fundingPubkey,
    remote.fundingPubkey,
    fundingAmount,
    remoteFundingPrivkey,
  );
  assert.ok(
    verifyFundingInput(
      c.tx,
      local.fundingPubkey,
      remote.fundingPubkey,
      fundingAmount,
      ls,
      local.fundingPubkey,
    ),
  );
  assert.ok(
    verifyFundingInput(
      c.tx,
      remote.fundingPubkey,
      local.fundingPubkey,
      fundingAmount,
      rs,
      remote.fundingPubkey,
    ),
  );
  const signed = signedFundingSpend(c.tx, local.fundingPubkey, ls, remote.fundingPubkey, rs);
  const w = weight(signed);
  const expected = expectedClosingWeight([localScript, remoteScript]);
  assert.ok(w <= expected && w >= expected - 8, `${w} vs ${expected}`);
});

test("legacy closing: non-funder pays nothing; outputs below the signer's dust limit are removed", () => {
  const r = buildLegacyClosing({
    fundingOutpoint,
    fundingAmount,
    localBalance: msat(545_999n),
    remoteBalance: msat(9_999_454_001n),
    localScript,
    remoteScript,
    localIsFunder: false,
    fee: sat(2000n),
    dustLimit: sat(546n),
  });
  assert.ok(r.ok);
  assert.equal(r.value.tx.outputs.length, 1);
  assert.equal(r.value.localOutputIndex, undefined);
  assert.equal(r.value.remoteOutputIndex, 0);
  assert.equal(r.value.tx.outputs[0]!.value, 9_999_454n - 2000n);
});

test('legacy closing: a signer may drop its own output; errors are values', () => {
  const base = {
    fundingOutpoint,
    fundingAmount,
    localScript,
    remoteScript,
    dustLimit: sat(546n),
    localBalance: msat(5_000_000_000n),
    remoteBalance: msat(5_000_000_000n),
    localIsFunder: true,
    fee: sat(500n),
  };
  const dropped = buildLegacyClosing({ ...base, omitLocalOutput: true });
  assert.ok(dropped.ok);
  assert.equal(dropped.value.tx.outputs.length, 1);
  assert.equal(dropped.value.localOutputIndex, undefined);
  const tooMuch = buildLegacyClosing({ ...base, fee: sat(5_000_001n) });
  assert.equal(tooMuch.ok ? '' : tooMuch.error.kind, 'fee_exceeds_balance');
  const none = buildLegacyClosing({
    ...base,
    localBalance: msat(10_000_000_000n),
    remoteBalance: msat(0n),
    fee: sat(10_000_000n - 100n),
  });
  assert.equal(none.ok ? '' : none.error.kind, 'no_outputs');
  const over = buildLegacyClosing({ ...base, localBalance: msat(10_000_000_001n), remoteBalance: msat(0n) });
  assert.equal(over.ok ? '' : over.error.kind, 'balance_mismatch');
});

test('simple close: closer pays, sequence 0xFFFFFFFD, locktime from closing_complete, OP_RETURN outputs are 0', () => {
  const r = buildSimpleClosing({
    fundingOutpoint,
    fundingAmount,
    locktime: 800_123,
    closerBalance: msat(2_000_000_500n),
    closeeBalance: msat(7_999_999_500n),
    closerScript: localScript,
    closeeScript: opReturn(new Uint8Array([1, 2, 3])),
    fee: sat(700n),
    localIsCloser: true,
  });
  assert.ok(r.ok);
  const c = r.value;
  assert.equal(c.tx.inputs[0]!.sequence, 0xfffffffd);
  assert.equal(c.tx.locktime, 800_123);
  assert.equal(c.tx.outputs[0]!.value, 0n);
  assert.equal(c.remoteOutputIndex, 0);
  assert.equal(c.tx.outputs[1]!.value, 2_000_000n - 700n);
  assert.equal(c.localOutputIndex, 1);
  const omitted = buildSimpleClosing({
    fundingOutpoint,
    fundingAmount,
    locktime: 0,
    closerBalance: msat(1_000n),
    closeeBalance: msat(9_999_999_000n),
    closerScript: undefined,
    closeeScript: remoteScript,
    fee: sat(1n),
    localIsCloser: false,
  });
  assert.ok(omitted.ok);
  assert.equal(omitted.value.tx.outputs.length, 1);
  assert.equal(omitted.value.localOutputIndex, 0);
  assert.equal(omitted.value.tx.outputs[0]!.value, 9_999_999n);
});

test('property: closing outputs + fee == funding amount; outputs sorted', () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: 10_000_000_000n }),
      fc.bigInt({ min: 0n, max: 20_000n }),
      fc.boolean(),
      fc.integer({ min: 0, max: 1000 }),
      (localBal, fee, localIsFunder, dust) => {
        const r = buildLegacyClosing({
          fundingOutpoint,
          fundingAmount,
          localScript,
          remoteScript,
          localIsFunder,
          fee: sat(fee),
          dustLimit: sat(dust),
          localBalance: msat(localBal),
          remoteBalance: msat(10_000_000_000n - localBal),
        });
        if (!r.ok) return;
        const outs = r.value.tx.outputs;
        assert.equal(outs.reduce((s, o) => s + o.value, 0n) + r.value.fee, fundingAmount);
        assert.ok(r.value.fee >= fee);
        for (const o of outs) assert.ok(o.value >= BigInt(dust));
        if (outs.length === 2) assert.ok(outs[0]!.value <= outs[1]!.value);
      },
    ),
    { numRuns: 300 },
  );
});
