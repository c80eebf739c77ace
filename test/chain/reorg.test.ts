// Reorganisations on an in-process devnet: invalidateblock / reconsiderblock, chain selection by work,
// transactions returning to the mempool or dropped when they conflict with the new chain, refused
// blocks, and invalid flags surviving a restart.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { addressFromScript } from '../../src/bitcoin/address.ts';
import { reversedHex, type Transaction, txid } from '../../src/bitcoin/tx.ts';
import { type BlockHeader, blockHash, checkProofOfWork, grind, txMerkleRoot } from '../../src/chain/block.ts';
import { Devnet } from '../../src/chain/devnet/node.ts';
import { DevnetWallet } from '../../src/chain/devnet/wallet.ts';
import { concat, equal } from '../../src/core/bytes.ts';
import type { Sat } from '../../src/core/units.ts';
import { hash160, publicKeyOf } from '../../src/crypto/index.ts';
import { systemEntropy } from '../../src/crypto/random.ts';
import { signAll, TEST_SCRIPT } from './conformance.ts';

const OTHER = concat(new Uint8Array([0x00, 0x14]), hash160(publicKeyOf(new Uint8Array(32).fill(5))));

describe('devnet reorgs', () => {
  let dir: string;
  let node: Devnet;
  let wallet: DevnetWallet;
  let coin: { txid: Uint8Array; vout: number; value: bigint };

  const payTo = (script: Uint8Array, fee: bigint): Transaction =>
    signAll(
      {
        version: 2,
        inputs: [
          {
            prevout: { txid: coin.txid, vout: coin.vout },
            scriptSig: new Uint8Array(0),
            sequence: 0xfffffffd,
            witness: [],
          },
        ],
        outputs: [{ value: (coin.value - fee) as Sat, script }],
        locktime: 0,
      },
      [coin.value],
    );
  const idOf = (tx: Transaction): string => reversedHex(txid(tx));

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'shandian-reorg-'));
    node = new Devnet({ datadir: dir });
    wallet = new DevnetWallet(node, systemEntropy);
    node.mine(101, wallet.miningScript);
    const r = wallet.send(addressFromScript('regtest', TEST_SCRIPT)!, 5_000_000n);
    assert.ok(r.ok);
    node.mine(1, wallet.miningScript);
    coin = {
      txid: r.value.txid,
      vout: r.value.tx.outputs.findIndex((o) => equal(o.script, TEST_SCRIPT)),
      value: 5_000_000n,
    };
  });
  after(() => {
    node.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('invalidate then reconsider with nothing new returns to the same chain', () => {
    const a = payTo(TEST_SCRIPT, 1_000n);
    assert.ok(node.accept(a).ok);
    const start = node.height;
    const old = node.mine(2, wallet.miningScript);
    assert.ok(node.invalidateBlock(old[0]!).ok);
    assert.equal(node.height, start);
    assert.ok(node.mempool.get(idOf(a)), 'back in the mempool');
    assert.equal(node.findTx(idOf(a))!.block, null);
    assert.ok(node.reconsiderBlock(old[0]!).ok);
    assert.equal(node.tipId, old[1]);
    assert.equal(node.mempool.get(idOf(a)), undefined, 'confirmed again');
    assert.equal(node.findTx(idOf(a))!.block, old[0]);
    coin = { txid: txid(a), vout: 0, value: coin.value - 1_000n };
  });

  test('the longer branch wins; a replacement that conflicts with it is dropped', () => {
    const a = payTo(TEST_SCRIPT, 1_000n);
    assert.ok(node.accept(a).ok);
    const start = node.height;
    const old = node.mine(3, wallet.miningScript);
    assert.ok(node.invalidateBlock(old[0]!).ok);
    const b = payTo(OTHER, 20_000n);
    assert.ok(node.accept(b).ok, 'b replaces a in the mempool');
    assert.equal(node.mempool.get(idOf(a)), undefined);
    const [side] = node.mine(1, wallet.miningScript);
    assert.equal(node.findTx(idOf(b))!.block, side);
    const tips = node.tips();
    assert.ok(tips.some((t) => t.id === old[2] && t.status === 'invalid'));
    // Reconsidering makes the old branch (3 blocks) beat the side branch (1 block).
    assert.ok(node.reconsiderBlock(old[0]!).ok);
    assert.equal(node.tipId, old[2]);
    assert.equal(node.height, start + 3);
    assert.equal(node.findTx(idOf(a))!.block, old[0]);
    assert.equal(node.findTx(idOf(b)), null, 'b conflicts with the chain and is gone');
    assert.ok(node.tips().some((t) => t.id === side && t.status === 'valid-fork'));
    coin = { txid: txid(a), vout: 0, value: coin.value - 1_000n };
  });

  test('refused blocks: bad proof of work, bad merkle root, coinbase paying too much', () => {
    const good = node.template(wallet.miningScript);
    let bad: typeof good = { ...good, header: { ...good.header, merkleRoot: new Uint8Array(32) } };
    bad = { ...bad, header: grind(bad.header)! };
    const r1 = node.submitBlock(bad);
    assert.ok(!r1.ok);
    assert.equal(r1.error.reason, 'bad-txnmrklroot');
    // Find a nonce that misses the target.
    let nonce = 0;
    while (node.entry(reversedHex(blockHash({ ...good.header, nonce }))) || isPow({ ...good.header, nonce }))
      nonce++;
    const r2 = node.submitBlock({ ...good, header: { ...good.header, nonce } });
    assert.ok(!r2.ok);
    assert.equal(r2.error.reason, 'high-hash');
    const coinbase = good.txs[0]!;
    const greedy = {
      ...coinbase,
      outputs: coinbase.outputs.map((o, i) => (i === 0 ? { ...o, value: (o.value + 1n) as Sat } : o)),
    };
    const txs = [greedy, ...good.txs.slice(1)];
    const header = grind({ ...good.header, merkleRoot: txMerkleRoot(txs) })!;
    const r3 = node.submitBlock({ header, txs });
    assert.ok(!r3.ok);
    assert.equal(r3.error.reason, 'bad-cb-amount');
    const future = {
      ...good,
      header: grind({ ...good.header, time: Math.floor(Date.now() / 1000) + 3 * 3600 })!,
    };
    const r4 = node.submitBlock(future);
    assert.ok(!r4.ok);
    assert.equal(r4.error.reason, 'time-too-new');
    // The tip did not move and the good template still connects.
    const ok = node.submitBlock(good);
    assert.ok(ok.ok);
    assert.equal(node.tipId, ok.value);
  });

  test('invalid flags and the active chain survive a restart', () => {
    const blocks = node.mine(2, wallet.miningScript);
    assert.ok(node.invalidateBlock(blocks[1]!).ok);
    const onInvalid = node.template(wallet.miningScript);
    const child = {
      ...onInvalid,
      header: grind({ ...onInvalid.header, prevHash: node.entry(blocks[1]!)!.hash })!,
    };
    const refused = node.submitBlock(child);
    assert.ok(!refused.ok);
    assert.equal(refused.error.reason, 'bad-prevblk');
    const tip = node.tipId;
    node.close();
    node = new Devnet({ datadir: dir });
    wallet = new DevnetWallet(node, systemEntropy);
    assert.equal(node.tipId, tip);
    assert.ok(node.tips().some((t) => t.id === blocks[1] && t.status === 'invalid'));
    assert.ok(node.reconsiderBlock(blocks[1]!).ok);
    assert.equal(node.tipId, blocks[1]);
    assert.throws(() => new Devnet({ datadir: dir }), /Cannot obtain a lock on data directory/);
  });
});

function isPow(h: BlockHeader): boolean {
  return checkProofOfWork(blockHash(h), h.bits);
}
