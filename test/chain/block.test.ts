// Pure block and consensus helpers: the regtest genesis block, headers, merkle roots, proof of work,
// subsidy, BIP34 heights, and the block parser under random input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { reversedHex, TxParseError } from '../../src/bitcoin/tx.ts';
import {
  blockHash,
  blockSubsidy,
  blockWork,
  checkProofOfWork,
  grind,
  medianTime,
  merkleMutated,
  merkleRoot,
  parseBlock,
  parseHeader,
  REGTEST,
  regtestGenesis,
  scriptPushInt,
  serializeBlock,
  serializeHeader,
  targetFromBits,
} from '../../src/chain/block.ts';
import { fromHex, hex } from '../../src/core/bytes.ts';
import { sha256d } from '../../src/crypto/index.ts';

test("regtest genesis block hash and merkle root are exactly Core's", () => {
  const g = regtestGenesis();
  assert.equal(
    reversedHex(blockHash(g.header)),
    '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206',
  );
  assert.equal(
    reversedHex(g.header.merkleRoot),
    '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b',
  );
  assert.ok(checkProofOfWork(blockHash(g.header), g.header.bits));
  const raw = serializeBlock(g);
  assert.equal(raw.length, 285);
  assert.equal(hex(serializeBlock(parseBlock(raw))), hex(raw));
});

test('header serialization round-trips', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 80, maxLength: 80 }), (bytes) => {
      assert.equal(hex(serializeHeader(parseHeader(bytes))), hex(bytes));
    }),
  );
});

test('proof of work: the regtest limit, a real check on the hash', () => {
  assert.equal(targetFromBits(0x207fffff), 0x7fffffn << 232n);
  assert.equal(blockWork(0x207fffff), 2n);
  const g = regtestGenesis();
  // About half of all hashes meet the regtest target: with nonce 7 the genesis header hashes to
  // c7c82397... (above 7fffff...), so grinding from 7 stops at 8.
  assert.equal(reversedHex(blockHash({ ...g.header, nonce: 7 })).slice(0, 8), 'c7c82397');
  assert.equal(checkProofOfWork(blockHash({ ...g.header, nonce: 7 }), g.header.bits), false);
  assert.equal(grind({ ...g.header, nonce: 7 })!.nonce, 8);
  // Bits easier than the regtest limit are refused whatever the hash.
  assert.equal(checkProofOfWork(new Uint8Array(32), 0x2100ffff), false);
  assert.equal(checkProofOfWork(new Uint8Array(32), 0x20800000), false, 'negative target');
});

test('subsidy halves every 150 blocks on regtest', () => {
  assert.equal(blockSubsidy(0), 5_000_000_000n);
  assert.equal(blockSubsidy(149), 5_000_000_000n);
  assert.equal(blockSubsidy(150), 2_500_000_000n);
  assert.equal(blockSubsidy(300), 1_250_000_000n);
  assert.equal(blockSubsidy(150 * 64), 0n);
  assert.equal(REGTEST.coinbaseMaturity, 100);
});

test('BIP34 height pushes as CScript() << n', () => {
  assert.equal(hex(scriptPushInt(0)), '00');
  assert.equal(hex(scriptPushInt(1)), '51');
  assert.equal(hex(scriptPushInt(16)), '60');
  assert.equal(hex(scriptPushInt(17)), '0111');
  assert.equal(hex(scriptPushInt(128)), '028000');
  assert.equal(hex(scriptPushInt(255)), '02ff00');
  assert.equal(hex(scriptPushInt(256)), '020001');
  assert.equal(hex(scriptPushInt(500_000)), '0320a107');
});

test('merkle root duplicates the odd leaf; mutation is detected', () => {
  const a = sha256d(fromHex('01'));
  const b = sha256d(fromHex('02'));
  const c = sha256d(fromHex('03'));
  assert.equal(hex(merkleRoot([a])), hex(a));
  const ab = sha256d(new Uint8Array([...a, ...b]));
  const cc = sha256d(new Uint8Array([...c, ...c]));
  assert.equal(hex(merkleRoot([a, b, c])), hex(sha256d(new Uint8Array([...ab, ...cc]))));
  assert.equal(hex(merkleRoot([a, b, c])), hex(merkleRoot([a, b, c, c])), 'CVE-2012-2459: same root');
  assert.equal(merkleMutated([a, b, c]), false);
  assert.equal(merkleMutated([a, b, c, c]), true);
});

test('median time past of the last 11 blocks', () => {
  assert.equal(medianTime([5]), 5);
  assert.equal(medianTime([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), 7);
  assert.equal(medianTime([10, 1, 5]), 5);
});

test('fuzz: the block parser either parses or throws TxParseError', () => {
  const genesis = serializeBlock(regtestGenesis());
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(genesis.length), (noise, cut) => {
      for (const input of [
        noise,
        genesis.slice(0, cut),
        new Uint8Array([...genesis.slice(0, 80), ...noise]),
      ]) {
        try {
          parseBlock(input);
        } catch (e) {
          assert.ok(e instanceof TxParseError, String(e));
        }
      }
    }),
    { numRuns: 2000 },
  );
});
