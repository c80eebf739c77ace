// One conformance suite for every adapter of the chain seams (ChainSource, Broadcaster, FeeEstimator),
// run by devnet-adapter.test.ts (in process) and bitcoind-adapter.test.ts (JSON-RPC to a devnet server).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { reversedHex, serializeTx, type Transaction, txid } from '../../src/bitcoin/tx.ts';
import { p2wpkhScript, p2wpkhWitness, withWitness } from '../../src/chain/devnet/signer.ts';
import { ChainFollower } from '../../src/chain/follower.ts';
import {
  BroadcastError,
  type Broadcaster,
  type ChainBlock,
  type ChainSource,
  type FeeEstimator,
} from '../../src/chain/seams.ts';
import { equal, fromHex } from '../../src/core/bytes.ts';
import type { Sat } from '../../src/core/units.ts';
import { publicKeyOf, sha256 } from '../../src/crypto/index.ts';

export interface ChainControl {
  /** Mines `n` blocks; returns their ids (display hex). */
  mine(n: number): Promise<string[]>;
  invalidate(id: string): Promise<void>;
  reconsider(id: string): Promise<void>;
  /** Pays `sats` to `script` from the faucet; returns the txid (display hex), unconfirmed. */
  fund(script: Uint8Array, sats: bigint): Promise<string>;
}

export interface ChainFixture {
  readonly chain: ChainSource & Broadcaster & FeeEstimator;
  readonly control: ChainControl;
  close(): Promise<void>;
}

export const TEST_KEY = sha256(new TextEncoder().encode('conformance key'));
export const TEST_SCRIPT = p2wpkhScript(publicKeyOf(TEST_KEY));

/** A one-input P2WPKH spend of `value` at (txid, vout) owned by TEST_KEY, paying `out` minus `fee`. */
export function spend(
  prevTxid: Uint8Array,
  vout: number,
  value: bigint,
  fee: bigint,
  opts: { sequence?: number; to?: Uint8Array } = {},
): Transaction {
  const tx: Transaction = {
    version: 2,
    inputs: [
      {
        prevout: { txid: prevTxid, vout },
        scriptSig: new Uint8Array(0),
        sequence: opts.sequence ?? 0xfffffffd,
        witness: [],
      },
    ],
    outputs: [{ value: (value - fee) as Sat, script: opts.to ?? TEST_SCRIPT }],
    locktime: 0,
  };
  return withWitness(tx, 0, p2wpkhWitness(tx, 0, value, TEST_KEY));
}

async function rejection(p: Promise<unknown>): Promise<BroadcastError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof BroadcastError, `expected a BroadcastError, got ${String(e)}`);
    return e;
  }
  assert.fail('broadcast was accepted');
}

export function conformance(name: string, setup: () => Promise<ChainFixture>): void {
  describe(`chain seams conformance: ${name}`, () => {
    let f: ChainFixture;
    let funding: { txid: Uint8Array; vout: number; value: bigint };

    before(async () => {
      f = await setup();
      await f.control.mine(101);
      const id = await f.control.fund(TEST_SCRIPT, 100_000_000n);
      await f.control.mine(1);
      const found = await f.chain.transaction(fromHexId(id));
      assert.ok(found);
      const vout = found.tx.outputs.findIndex((o) => equal(o.script, TEST_SCRIPT));
      funding = { txid: fromHexId(id), vout, value: 100_000_000n };
    });
    after(async () => {
      await f?.close();
    });

    test('genesis, tip and block hashes by height', async () => {
      const genesis = await f.chain.blockHashAt(0);
      assert.equal(reversedHex(genesis!), '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206');
      const tip = await f.chain.tip();
      assert.ok(tip.height >= 102);
      assert.ok(equal((await f.chain.blockHashAt(tip.height))!, tip.hash));
      assert.equal(await f.chain.blockHashAt(tip.height + 1), null);
    });

    test('blocks and headers link to their parents', async () => {
      const tip = await f.chain.tip();
      const block = (await f.chain.block(tip.hash))!;
      assert.equal(block.height, tip.height);
      assert.ok(block.txs.length >= 1);
      const parent = (await f.chain.header(block.prevHash))!;
      assert.equal(parent.height, tip.height - 1);
      assert.ok(block.medianTimePast <= block.time);
      assert.equal(await f.chain.block(new Uint8Array(32).fill(7)), null);
      assert.equal(await f.chain.header(new Uint8Array(32).fill(7)), null);
    });

    test('broadcast, mempool lookup, confirmation and txOut', async () => {
      const tx = spend(funding.txid, funding.vout, funding.value, 1_000n);
      const id = await f.chain.broadcast(serializeTx(tx));
      assert.ok(equal(id, txid(tx)));
      const pending = (await f.chain.transaction(id))!;
      assert.equal(pending.confirmations, 0);
      assert.equal(pending.blockHash, null);
      assert.equal(await f.chain.txOut(funding.txid, funding.vout, true), null, 'spent in the mempool');
      assert.ok(await f.chain.txOut(funding.txid, funding.vout, false), 'still unspent on chain');
      const mempoolOut = (await f.chain.txOut(id, 0, true))!;
      assert.equal(mempoolOut.confirmations, 0);
      assert.equal(mempoolOut.output.value, funding.value - 1_000n);
      // Resending the same transaction is not an error.
      assert.ok(equal(await f.chain.broadcast(serializeTx(tx)), id));
      const [blockId] = await f.control.mine(1);
      const mined = (await f.chain.transaction(id))!;
      assert.equal(mined.confirmations, 1);
      assert.equal(reversedHex(mined.blockHash!), blockId);
      const out = (await f.chain.txOut(id, 0))!;
      assert.equal(out.confirmations, 1);
      assert.equal(out.coinbase, false);
      assert.ok(equal(out.output.script, TEST_SCRIPT));
      assert.equal(await f.chain.txOut(funding.txid, funding.vout, false), null);
      funding = { txid: id, vout: 0, value: funding.value - 1_000n };
    });

    test('broadcast refusals carry Core codes and reject text', async () => {
      const bad = await rejection(f.chain.broadcast(fromHex('0100')));
      assert.equal(bad.code, -22);
      assert.equal(bad.message, 'TX decode failed. Make sure the tx has at least one input.');
      const missing = await rejection(
        f.chain.broadcast(serializeTx(spend(new Uint8Array(32).fill(9), 0, 50_000n, 1_000n))),
      );
      assert.equal(missing.code, -25);
      assert.equal(missing.message, 'bad-txns-inputs-missingorspent');
      const tooMuch = await rejection(
        f.chain.broadcast(serializeTx(spend(funding.txid, funding.vout, funding.value + 1n, 0n))),
      );
      assert.equal(tooMuch.code, -26);
      assert.match(
        tooMuch.message,
        /^bad-txns-in-belowout, value in \(0\.99999\) < value out \(0\.99999001\)$/,
      );
      const first = spend(funding.txid, funding.vout, funding.value, 2_000n);
      await f.chain.broadcast(serializeTx(first));
      const cheaper = await rejection(
        f.chain.broadcast(
          serializeTx(
            spend(funding.txid, funding.vout, funding.value, 1_500n, {
              to: p2wpkhScript(publicKeyOf(sha256(TEST_KEY))),
            }),
          ),
        ),
      );
      assert.equal(cheaper.code, -26);
      assert.match(
        cheaper.message,
        /^insufficient fee, rejecting replacement [0-9a-f]{64}; new feerate 0\.\d{8} BTC\/kvB <= old feerate 0\.\d{8} BTC\/kvB$/,
      );
      await f.control.mine(1);
      const spentOnChain = await rejection(
        f.chain.broadcast(serializeTx(spend(funding.txid, funding.vout, funding.value, 3_000n))),
      );
      assert.equal(spentOnChain.code, -25);
      assert.equal(spentOnChain.message, 'bad-txns-inputs-missingorspent');
      funding = { txid: txid(first), vout: 0, value: funding.value - 2_000n };
    });

    test('fee estimates are at least 253 sat/kw and do not rise with the target', async () => {
      const fast = await f.chain.feeratePerKw(1);
      const slow = await f.chain.feeratePerKw(144);
      assert.ok(slow >= 253);
      assert.ok(fast >= slow);
    });

    test('a follower sees a reorg as disconnects back to the fork, then connects; the tx returns to the mempool', async () => {
      const follower = new ChainFollower(f.chain);
      const events: string[] = [];
      const connected: ChainBlock[] = [];
      follower.subscribe({
        blockConnected: (b) => {
          events.push(`+${b.height}:${reversedHex(b.hash)}`);
          connected.push(b);
        },
        blockDisconnected: (h, height) => {
          events.push(`-${height}:${reversedHex(h)}`);
        },
      });
      await follower.poll(); // starts at the current tip, delivers nothing
      assert.deepEqual(events, []);
      const start = (await f.chain.tip()).height;
      const tx = spend(funding.txid, funding.vout, funding.value, 1_000n);
      await f.chain.broadcast(serializeTx(tx));
      const old = await f.control.mine(3);
      await follower.poll();
      assert.deepEqual(
        events,
        old.map((id, i) => `+${start + 1 + i}:${id}`),
      );
      assert.ok(connected[0]!.txs.some((t) => equal(txid(t), txid(tx))));
      events.length = 0;
      await f.control.invalidate(old[0]!);
      const back = (await f.chain.transaction(txid(tx)))!;
      assert.equal(back.confirmations, 0, 'the transaction went back to the mempool');
      const fresh = await f.control.mine(4);
      await follower.poll();
      assert.deepEqual(events, [
        `-${start + 3}:${old[2]}`,
        `-${start + 2}:${old[1]}`,
        `-${start + 1}:${old[0]}`,
        ...fresh.map((id, i) => `+${start + 1 + i}:${id}`),
      ]);
      const again = (await f.chain.transaction(txid(tx)))!;
      assert.equal(reversedHex(again.blockHash!), fresh[0]);
      // Reconsidering the shorter old branch does not move the tip.
      await f.control.reconsider(old[0]!);
      assert.equal(reversedHex((await f.chain.tip()).hash), fresh[3]);
      funding = { txid: txid(tx), vout: 0, value: funding.value - 1_000n };
    });
  });
}

export function fromHexId(id: string): Uint8Array {
  return fromHex(id).reverse();
}

/** Signs every input of `tx` as a P2WPKH spend by TEST_KEY of the given values. */
export function signAll(tx: Transaction, values: readonly bigint[]): Transaction {
  let out = tx;
  values.forEach((v, i) => {
    out = withWitness(out, i, p2wpkhWitness(out, i, v, TEST_KEY));
  });
  return out;
}
