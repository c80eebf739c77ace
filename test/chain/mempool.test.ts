// Mempool acceptance on an in-process devnet: Core's policy rejects (dust, min relay fee, version,
// scriptpubkey, sizes, finality, BIP68 by time), script failures in Core's message shape, full RBF and
// its fee rules, opt-in RBF with -mempoolfullrbf=0, the absurd-fee guard and already-known outputs.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { addressFromScript } from '../../src/bitcoin/address.ts';
import { p2tr } from '../../src/bitcoin/script.ts';
import {
  p2wpkhScriptCode,
  SIGHASH_ALL,
  SIGHASH_DEFAULT,
  SighashCache,
  segwitV0Sighash,
  taprootSighash,
} from '../../src/bitcoin/sighash.ts';
import { tweakInternalKey, tweakPrivateKey } from '../../src/bitcoin/taproot.ts';
import { type Transaction, type TxOut, txid, vsize } from '../../src/bitcoin/tx.ts';
import { Devnet } from '../../src/chain/devnet/node.ts';
import { DevnetWallet } from '../../src/chain/devnet/wallet.ts';
import { concat, equal } from '../../src/core/bytes.ts';
import type { Sat } from '../../src/core/units.ts';
import { ecdsaSign, hash160, publicKeyOf, schnorrSign, sha256 } from '../../src/crypto/index.ts';
import { systemEntropy } from '../../src/crypto/random.ts';
import { signAll, TEST_KEY, TEST_SCRIPT } from './conformance.ts';

interface Utxo {
  txid: Uint8Array;
  vout: number;
  value: bigint;
}

function build(
  inputs: readonly Utxo[],
  outputs: readonly TxOut[],
  opts: { version?: number; locktime?: number; sequence?: number } = {},
): Transaction {
  const tx: Transaction = {
    version: opts.version ?? 2,
    inputs: inputs.map((u) => ({
      prevout: { txid: u.txid, vout: u.vout },
      scriptSig: new Uint8Array(0),
      sequence: opts.sequence ?? 0xfffffffd,
      witness: [],
    })),
    outputs,
    locktime: opts.locktime ?? 0,
  };
  return signAll(
    tx,
    inputs.map((u) => u.value),
  );
}

const out = (value: bigint, script: Uint8Array = TEST_SCRIPT): TxOut => ({ value: value as Sat, script });
const OTHER = concat(new Uint8Array([0x00, 0x14]), hash160(publicKeyOf(new Uint8Array(32).fill(3))));

/** DER with an explicit (possibly high) S, for the LOW_S policy check. */
function der(r: Uint8Array, s: Uint8Array): Uint8Array {
  const int = (x: Uint8Array): Uint8Array => {
    let i = 0;
    while (i < x.length - 1 && x[i] === 0 && x[i + 1]! < 0x80) i++;
    const v = x.subarray(i);
    return v[0]! & 0x80 ? concat(new Uint8Array([0]), v) : v;
  };
  const rr = int(r);
  const ss = int(s);
  return concat(
    new Uint8Array([0x30, rr.length + ss.length + 4, 0x02, rr.length]),
    rr,
    new Uint8Array([0x02, ss.length]),
    ss,
  );
}

describe('devnet mempool policy', () => {
  let dir: string;
  let node: Devnet;
  let wallet: DevnetWallet;
  let clock = 1_760_000_000;
  const coins: Utxo[] = [];
  const take = (): Utxo => coins.shift()!;
  const reason = (tx: Transaction): string => {
    const r = node.accept(tx, { dryRun: true });
    return r.ok ? 'accepted' : r.error.message;
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'shandian-mempool-'));
    node = new Devnet({ datadir: dir, now: () => clock });
    wallet = new DevnetWallet(node, systemEntropy);
    node.mine(101, wallet.miningScript);
    for (let i = 0; i < 12; i++) {
      const r = wallet.send(addressFromScript('regtest', TEST_SCRIPT)!, 10_000_000n);
      assert.ok(r.ok);
      const vout = r.value.tx.outputs.findIndex((o) => equal(o.script, TEST_SCRIPT));
      coins.push({ txid: r.value.txid, vout, value: 10_000_000n });
    }
    node.mine(1, wallet.miningScript);
  });
  after(() => {
    node.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('dust: 294 sat P2WPKH and 330 sat P2WSH pass, one less is dust', () => {
    const u = coins[0]!;
    const p2wsh = concat(new Uint8Array([0x00, 0x20]), new Uint8Array(32).fill(1));
    assert.equal(reason(build([u], [out(294n), out(u.value - 10_000n)])), 'accepted');
    assert.equal(reason(build([u], [out(293n), out(u.value - 10_000n)])), 'dust');
    assert.equal(reason(build([u], [out(330n, p2wsh), out(u.value - 10_000n)])), 'accepted');
    assert.equal(reason(build([u], [out(329n, p2wsh), out(u.value - 10_000n)])), 'dust');
    const opReturn = new Uint8Array([0x6a, 0x02, 0xab, 0xcd]);
    assert.equal(reason(build([u], [out(0n, opReturn), out(u.value - 10_000n)])), 'accepted');
    assert.equal(
      reason(build([u], [out(0n, opReturn), out(0n, opReturn), out(u.value - 10_000n)])),
      'multi-op-return',
    );
  });

  test("pay-to-anchor (P2A) outputs are standard with Core 28's 240 sat dust threshold", () => {
    const u = coins[0]!;
    const p2a = new Uint8Array([0x51, 0x02, 0x4e, 0x73]);
    assert.equal(reason(build([u], [out(240n, p2a), out(u.value - 10_000n)])), 'accepted');
    assert.equal(reason(build([u], [out(239n, p2a), out(u.value - 10_000n)])), 'dust');
  });

  test('unconfirmed chains: 25 ancestors at most', () => {
    const u = take();
    let prev = u;
    const chain: Transaction[] = [];
    for (let i = 0; i < 26; i++) {
      const tx = build([prev], [out(prev.value - 1_000n)]);
      chain.push(tx);
      prev = { txid: txid(tx), vout: 0, value: prev.value - 1_000n };
    }
    for (const tx of chain.slice(0, 25)) assert.ok(node.accept(tx).ok);
    assert.equal(reason(chain[25]!), 'too-long-mempool-chain, too many unconfirmed ancestors [limit: 25]');
    node.mine(1, wallet.miningScript);
    assert.equal(node.mempool.size, 0);
    assert.equal(reason(chain[25]!), 'accepted');
  });

  test('CPFP carve-out: one extra small child of a parent whose descendant count is full', () => {
    const u = take();
    const half = (u.value - 2_000n) / 2n;
    const parent = build([u], [out(half), out(half)]);
    assert.ok(node.accept(parent).ok);
    let prev = { txid: txid(parent), vout: 0, value: half };
    for (let i = 0; i < 24; i++) {
      const tx = build([prev], [out(prev.value - 1_000n)]);
      assert.ok(node.accept(tx).ok, `descendant ${i}`);
      prev = { txid: txid(tx), vout: 0, value: prev.value - 1_000n };
    }
    assert.match(
      reason(build([prev], [out(prev.value - 1_000n)])),
      /^too-long-mempool-chain, too many (unconfirmed ancestors|descendants)/,
    );
    const anchor = { txid: txid(parent), vout: 1, value: half };
    const carve = build([anchor], [out(half - 5_000n)]);
    assert.ok(node.accept(carve).ok, 'the carve-out child');
    // The carve-out is for direct children only: a grandchild through it exceeds the limit.
    const grandchild = build([{ txid: txid(carve), vout: 0, value: half - 5_000n }], [out(half - 6_000n)]);
    assert.match(
      reason(grandchild),
      /^too-long-mempool-chain, too many descendants for tx [0-9a-f]{64} \[limit: 25\]$/,
    );
    node.mine(1, wallet.miningScript);
    assert.equal(node.mempool.size, 0);
  });

  test('TRUC (version 3): one unconfirmed child at most, no mixing with other versions', () => {
    const u = take();
    const half = (u.value - 2_000n) / 2n;
    const parent = build([u], [out(half), out(half)], { version: 3 });
    assert.ok(node.accept(parent).ok);
    const p0 = { txid: txid(parent), vout: 0, value: half };
    const p1 = { txid: txid(parent), vout: 1, value: half };
    assert.match(
      reason(build([p0], [out(half - 1_000n)], { version: 2 })),
      /^TRUC-violation, non-version=3 tx [0-9a-f]{64} \(wtxid=[0-9a-f]{64}\) cannot spend from version=3 tx /,
    );
    const child = build([p0], [out(half - 1_000n)], { version: 3 });
    assert.ok(node.accept(child).ok);
    assert.match(
      reason(build([p1], [out(half - 1_000n)], { version: 3 })),
      /^TRUC-violation, tx [0-9a-f]{64} \(wtxid=[0-9a-f]{64}\) would exceed descendant count limit$/,
    );
    const grandchild = build([{ txid: txid(child), vout: 0, value: half - 1_000n }], [out(half - 2_000n)], {
      version: 3,
    });
    assert.match(reason(grandchild), /would have too many ancestors$/);
    // A better child replacing the first one is fine (it is a conflict, not a sibling).
    assert.equal(reason(build([p0], [out(half - 10_000n, OTHER)], { version: 3 })), 'accepted');
    node.mine(1, wallet.miningScript);
  });

  test('taproot key-path spend through the interpreter; a bad Schnorr signature is refused', () => {
    const secret = sha256(new TextEncoder().encode('taproot key'));
    const internal = publicKeyOf(secret).subarray(1);
    const output = p2tr(tweakInternalKey(internal)!.outputKey);
    const funded = wallet.send(addressFromScript('regtest', output)!, 1_000_000n);
    assert.ok(funded.ok);
    node.mine(1, wallet.miningScript);
    const vout = funded.value.tx.outputs.findIndex((o) => equal(o.script, output));
    const prevouts = [{ value: 1_000_000n as Sat, script: output }];
    const unsigned: Transaction = {
      version: 2,
      inputs: [
        {
          prevout: { txid: funded.value.txid, vout },
          scriptSig: new Uint8Array(0),
          sequence: 0xfffffffd,
          witness: [],
        },
      ],
      outputs: [out(990_000n)],
      locktime: 0,
    };
    const digest = taprootSighash(new SighashCache(unsigned, prevouts), 0, SIGHASH_DEFAULT)!;
    const sig = schnorrSign(digest, tweakPrivateKey(secret), new Uint8Array(32));
    const signed: Transaction = { ...unsigned, inputs: [{ ...unsigned.inputs[0]!, witness: [sig] }] };
    const bad = Uint8Array.from(sig);
    bad[10]! ^= 1;
    const forged: Transaction = { ...unsigned, inputs: [{ ...unsigned.inputs[0]!, witness: [bad] }] };
    assert.equal(reason(forged), 'mandatory-script-verify-flag-failed (Invalid Schnorr signature)');
    assert.equal(reason(signed), 'accepted');
  });

  test('min relay fee: fee below vsize sat is refused with both numbers', () => {
    const u = coins[0]!;
    const tx = build([u], [out(u.value - 100n)]);
    assert.equal(reason(tx), `min relay fee not met, 100 < ${vsize(tx)}`);
    assert.equal(reason(build([u], [out(u.value - 110n)])), 'accepted');
  });

  test('value conservation', () => {
    const u = coins[0]!;
    assert.equal(
      reason(build([u], [out(u.value + 1n)])),
      'bad-txns-in-belowout, value in (0.10) < value out (0.10000001)',
    );
  });

  test('standardness: version, scriptpubkey, tx-size, tx-size-small', () => {
    const u = coins[0]!;
    assert.equal(reason(build([u], [out(u.value - 1_000n)], { version: 4 })), 'version');
    assert.equal(reason(build([u], [out(u.value - 1_000n)], { version: 0 })), 'version');
    assert.equal(reason(build([u], [out(u.value - 1_000n)], { version: 3 })), 'accepted');
    assert.equal(reason(build([u], [out(u.value - 1_000n, new Uint8Array(10).fill(0x51))])), 'scriptpubkey');
    const p2wsh = concat(new Uint8Array([0x00, 0x20]), new Uint8Array(32).fill(2));
    const many = Array.from({ length: 3300 }, () => out(330n, p2wsh));
    assert.equal(reason(build([u], many)), 'tx-size');
    assert.equal(reason(build([u], [out(0n, new Uint8Array([0x6a]))])), 'tx-size-small');
  });

  test('finality: nLockTime by height and by time', () => {
    const u = coins[0]!;
    // Final when below the height of the next block.
    assert.equal(
      reason(build([u], [out(u.value - 1_000n)], { locktime: node.height, sequence: 0xfffffffe })),
      'accepted',
    );
    assert.equal(
      reason(build([u], [out(u.value - 1_000n)], { locktime: node.height + 1, sequence: 0xfffffffe })),
      'non-final',
    );
    // A lock time in the future is ignored when every input is final.
    assert.equal(
      reason(build([u], [out(u.value - 1_000n)], { locktime: node.height + 1, sequence: 0xffffffff })),
      'accepted',
    );
    assert.equal(
      reason(build([u], [out(u.value - 1_000n)], { locktime: clock + 10_000, sequence: 0xfffffffe })),
      'non-final',
    );
  });

  test('BIP68 by time: locked until the median time past moves 512 s past the coin', () => {
    const u = take();
    const seq = (1 << 22) | 1; // one 512-second unit
    const tx = build([u], [out(u.value - 1_000n)], { sequence: seq });
    assert.equal(reason(tx), 'non-BIP68-final');
    clock += 2_000;
    node.mine(11, wallet.miningScript);
    assert.equal(reason(tx), 'accepted');
    // Version 1 ignores sequence locks.
    assert.equal(reason(build([take()], [out(9_000_000n)], { sequence: 0xffff, version: 1 })), 'accepted');
  });

  test("script failures: mandatory (bad signature) and non-mandatory (high S) in Core's words", () => {
    const u = coins[0]!;
    const good = build([u], [out(u.value - 1_000n)]);
    const wrongAmount = signAll({ ...good, inputs: good.inputs.map((i) => ({ ...i, witness: [] })) }, [
      u.value + 1n,
    ]);
    assert.equal(
      reason(wrongAmount),
      'mandatory-script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG operation)',
    );
    const digest = segwitV0Sighash(
      good,
      0,
      p2wpkhScriptCode(hash160(publicKeyOf(TEST_KEY))),
      u.value as Sat,
      SIGHASH_ALL,
    );
    const sig = ecdsaSign(digest, TEST_KEY).compact;
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(`0x${Buffer.from(sig.subarray(32)).toString('hex')}`);
    const highS = Uint8Array.from(Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex'));
    const witness = [
      concat(der(sig.subarray(0, 32), highS), new Uint8Array([SIGHASH_ALL])),
      publicKeyOf(TEST_KEY),
    ];
    const malleated: Transaction = { ...good, inputs: good.inputs.map((i) => ({ ...i, witness })) };
    assert.equal(
      reason(malleated),
      'non-mandatory-script-verify-flag (Non-canonical signature: S value is unnecessarily high)',
    );
  });

  test('full RBF: a better replacement evicts the original and its child; weaker ones are refused', () => {
    const u = take();
    const a = build([u], [out(u.value - 1_000n)]);
    assert.ok(node.accept(a).ok);
    const child = build([{ txid: txid(a), vout: 0, value: u.value - 1_000n }], [out(u.value - 11_000n)]);
    assert.ok(node.accept(child).ok);
    // Same size, one more satoshi: a higher feerate but not enough to pay for the child nor for relay.
    const lessThanBoth = build([u], [out(u.value - 1_001n, OTHER)]);
    assert.match(
      reason(lessThanBoth),
      /^insufficient fee, rejecting replacement [0-9a-f]{64}, less fees than conflicting txs; 0\.00001001 < 0\.00011$/,
    );
    const barely = build([u], [out(u.value - 11_001n, OTHER)]);
    assert.match(
      reason(barely),
      /^insufficient fee, rejecting replacement [0-9a-f]{64}, not enough additional fees to relay; 0\.00000001 < 0\.0000011$/,
    );
    const good = build([u], [out(u.value - 20_000n, OTHER)]);
    const r = node.accept(good);
    assert.ok(r.ok);
    const ids = node.mempool.entries().map((e) => e.id);
    assert.ok(ids.includes(r.value.id));
    assert.equal(node.findTx(Buffer.from(txid(a)).reverse().toString('hex')), null, 'original evicted');
    assert.equal(node.findTx(Buffer.from(txid(child)).reverse().toString('hex')), null, 'child evicted');
    // A replacement may not spend what it replaces.
    const spendsConflict = build(
      [u, { txid: txid(good), vout: 0, value: u.value - 20_000n }],
      [out(2n * u.value - 100_000n)],
    );
    assert.match(
      reason(spendsConflict),
      /^bad-txns-spends-conflicting-tx, [0-9a-f]{64} spends conflicting transaction [0-9a-f]{64}$/,
    );
  });

  test('-mempoolfullrbf=0: a non-signalling conflict is txn-mempool-conflict', () => {
    const dir2 = mkdtempSync(join(tmpdir(), 'shandian-mempool-'));
    const strict = new Devnet({ datadir: dir2, fullRbf: false, now: () => clock });
    try {
      const w = new DevnetWallet(strict, systemEntropy);
      strict.mine(101, w.miningScript);
      const funded = w.send(addressFromScript('regtest', TEST_SCRIPT)!, 10_000_000n);
      assert.ok(funded.ok);
      strict.mine(1, w.miningScript);
      const u = {
        txid: funded.value.txid,
        vout: funded.value.tx.outputs.findIndex((o) => equal(o.script, TEST_SCRIPT)),
        value: 10_000_000n,
      };
      assert.ok(strict.accept(build([u], [out(u.value - 1_000n)], { sequence: 0xffffffff })).ok);
      const r = strict.accept(build([u], [out(u.value - 50_000n, OTHER)]), { dryRun: true });
      assert.ok(!r.ok);
      assert.equal(r.error.code, -26);
      assert.equal(r.error.message, 'txn-mempool-conflict');
    } finally {
      strict.close();
      rmSync(dir2, { recursive: true, force: true });
    }
  });

  test('absurd fee and already-confirmed outputs', () => {
    const u = take();
    const expensive = build([u], [out(u.value - 5_000_000n)]);
    const r = node.accept(expensive);
    assert.ok(!r.ok);
    assert.equal(r.error.code, -25);
    assert.equal(r.error.message, 'Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)');
    assert.equal(r.error.rejectReason, 'max-fee-exceeded');
    assert.ok(node.accept(expensive, { maxFeeRatePerKvb: 0n }).ok);
    node.mine(1, wallet.miningScript);
    const again = node.accept(expensive);
    assert.ok(!again.ok);
    assert.equal(again.error.code, -27);
    assert.equal(again.error.message, 'Transaction outputs already in utxo set');
  });
});
