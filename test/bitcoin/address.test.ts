import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { bech32, bech32m } from '@scure/base';
import fc from 'fast-check';
import {
  addressFromScript,
  decodeAddress,
  encodeSegwitAddress,
  type Network,
} from '../../src/bitcoin/address.ts';
import { p2pkh, p2sh, witnessOutput } from '../../src/bitcoin/script.ts';
import { fromHex, hex } from '../../src/core/bytes.ts';
import { vectorPath } from '../../src/testing/spec.ts';

function decodedHex(network: Network, a: string): string {
  const r = decodeAddress(network, a);
  assert.ok(r.ok, `${a}: ${JSON.stringify(!r.ok && r.error)}`);
  return hex(r.value);
}

function errorKind(network: Network, a: string): string {
  const r = decodeAddress(network, a);
  assert.ok(!r.ok, `${a} should not decode`);
  return r.error.kind;
}

test('bip341_wallet_vectors.json: scriptPubKey <-> bip350Address', () => {
  const doc = JSON.parse(readFileSync(vectorPath('bitcoin-core', 'bip341_wallet_vectors.json'), 'utf8')) as {
    scriptPubKey: { expected: { scriptPubKey: string; bip350Address: string } }[];
  };
  for (const v of doc.scriptPubKey) {
    assert.equal(addressFromScript('bitcoin', fromHex(v.expected.scriptPubKey)), v.expected.bip350Address);
    assert.equal(decodedHex('bitcoin', v.expected.bip350Address), v.expected.scriptPubKey);
  }
  console.log(`bip341 scriptPubKey addresses: ${doc.scriptPubKey.length} passed, 0 n/a`);
  assert.equal(doc.scriptPubKey.length, 7);
});

test('well-known addresses (BIP173, BIP350, genesis)', () => {
  assert.equal(
    decodedHex('bitcoin', 'BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4'),
    '0014751e76e8199196d454941c45d1b3a323f1433bd6',
  );
  assert.equal(
    decodedHex('testnet', 'tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7'),
    '00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262',
  );
  assert.equal(
    decodedHex('bitcoin', 'bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0'),
    '512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798',
  );
  assert.equal(
    decodedHex('bitcoin', '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa'),
    hex(p2pkh(fromHex('62e907b15cbf27d5425399ebf6f0fb50ebb88f18'))),
  );
  assert.equal(
    addressFromScript('bitcoin', p2pkh(fromHex('62e907b15cbf27d5425399ebf6f0fb50ebb88f18'))),
    '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa',
  );
});

test('typed errors', () => {
  const good = 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4';
  assert.equal(errorKind('bitcoin', 'bc1qW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4'), 'mixed-case');
  assert.equal(errorKind('bitcoin', `${good.slice(0, -1)}5`), 'bad-checksum');
  assert.equal(errorKind('testnet', good), 'wrong-network');
  assert.equal(errorKind('regtest', good), 'wrong-network');
  assert.equal(errorKind('bitcoin', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3tb'), 'bad-characters');
  assert.equal(errorKind('bitcoin', 'ltc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4'), 'wrong-network');
  // v0 in bech32m, v1 in bech32.
  const prog20 = new Uint8Array(20).fill(7);
  const prog32 = new Uint8Array(32).fill(9);
  assert.equal(errorKind('bitcoin', bech32m.encode('bc', [0, ...bech32m.toWords(prog20)])), 'wrong-encoding');
  assert.equal(errorKind('bitcoin', bech32.encode('bc', [1, ...bech32.toWords(prog32)])), 'wrong-encoding');
  assert.equal(
    errorKind('bitcoin', bech32m.encode('bc', [17, ...bech32m.toWords(prog32)])),
    'bad-witness-version',
  );
  assert.equal(
    errorKind('bitcoin', bech32.encode('bc', [0, ...bech32.toWords(new Uint8Array(21))])),
    'bad-program-length',
  );
  assert.equal(
    errorKind('bitcoin', bech32m.encode('bc', [1, ...bech32m.toWords(new Uint8Array(41))])),
    'bad-program-length',
  );
  assert.equal(
    errorKind('bitcoin', bech32m.encode('bc', [1, ...bech32m.toWords(new Uint8Array(1))])),
    'bad-program-length',
  );
  // Base58: flipped character, other network, garbage.
  assert.equal(errorKind('bitcoin', '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb'), 'bad-checksum');
  assert.equal(errorKind('testnet', '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa'), 'wrong-network');
  assert.equal(errorKind('bitcoin', '0OIl'), 'unknown-format');
  assert.equal(errorKind('bitcoin', ''), 'unknown-format');
});

test('round trips on every network and type', () => {
  const nets: Network[] = ['bitcoin', 'testnet', 'signet', 'regtest'];
  fc.assert(
    fc.property(
      fc.constantFrom(...nets),
      fc.oneof(
        fc.uint8Array({ minLength: 20, maxLength: 20 }).map((h) => witnessOutput(0, h)),
        fc.uint8Array({ minLength: 32, maxLength: 32 }).map((h) => witnessOutput(0, h)),
        fc
          .tuple(fc.integer({ min: 1, max: 16 }), fc.uint8Array({ minLength: 2, maxLength: 40 }))
          .map(([v, p]) => witnessOutput(v, p)),
        fc.uint8Array({ minLength: 20, maxLength: 20 }).map(p2pkh),
        fc.uint8Array({ minLength: 20, maxLength: 20 }).map(p2sh),
      ),
      (net, script) => {
        const a = addressFromScript(net, script);
        assert.ok(a !== null);
        assert.equal(decodedHex(net, a), hex(script));
        if (a.includes('1') && /^(bc|tb|bcrt)1/.test(a))
          assert.equal(decodedHex(net, a.toUpperCase()), hex(script));
      },
    ),
    { numRuns: 200 },
  );
  assert.equal(encodeSegwitAddress('regtest', 0, new Uint8Array(20)).slice(0, 5), 'bcrt1');
  assert.throws(() => encodeSegwitAddress('bitcoin', 0, new Uint8Array(21)));
  assert.equal(addressFromScript('bitcoin', fromHex('6a0401020304')), null);
});

test('decoder fuzz: arbitrary strings give a script or a typed error', () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.string({ maxLength: 100 }), fc.stringMatching(/^(bc|tb|bcrt)1[a-z0-9]{0,80}$/)),
      (s) => {
        const r = decodeAddress('bitcoin', s);
        if (!r.ok) assert.equal(typeof r.error.kind, 'string');
      },
    ),
    { numRuns: 2000 },
  );
});
