import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HDKey } from '@scure/bip32';
import { addressFromScript } from '../../src/bitcoin/address.ts';
import { p2tr } from '../../src/bitcoin/script.ts';
import { fromHex, hex, utf8 } from '../../src/core/bytes.ts';
import { ecdh, ecdsaVerify, publicKeyOf, sha256 } from '../../src/crypto/index.ts';
import {
  CHANGE,
  KeyChain,
  mnemonicFromEntropy,
  mnemonicToEntropy,
  nodeSignerFromKeyChain,
  RECEIVE,
  recoverMessageSigner,
  seedFromMnemonic,
  taprootOutputKey,
  taprootTweakedSecret,
} from '../../src/keys/index.ts';
import { readSpec } from '../../src/testing/spec.ts';

interface ChainVector {
  readonly path: string;
  readonly xpub: string;
  readonly xprv: string;
}
interface SeedVector {
  readonly name: string;
  seed: string;
  readonly chains: ChainVector[];
}

/** Parses "Test vector 1..4" (seed + chains) and "Test vector 5" (invalid keys) from the BIP, unchanged. */
function parseBip32(text: string): { valid: SeedVector[]; invalid: { key: string; reason: string }[] } {
  const valid: SeedVector[] = [];
  const invalid: { key: string; reason: string }[] = [];
  let current: SeedVector | null = null;
  let chain: { path: string; xpub?: string; xprv?: string } | null = null;
  let inInvalid = false;
  const flush = () => {
    if (current && chain) {
      assert.ok(chain.xpub && chain.xprv, `incomplete chain ${chain.path}`);
      current.chains.push({ path: chain.path, xpub: chain.xpub, xprv: chain.xprv });
    }
    chain = null;
  };
  for (const line of text.split('\n')) {
    const heading = /^===(Test vector \d+)===$/.exec(line);
    if (heading) {
      flush();
      inInvalid = heading[1] === 'Test vector 5';
      current = inInvalid ? null : { name: heading[1]!, seed: '', chains: [] };
      if (current) valid.push(current);
      continue;
    }
    if (line.startsWith('==') && !line.startsWith('===')) {
      flush();
      inInvalid = false;
      current = null;
      continue;
    }
    const seed = /^Seed \(hex\): ([0-9a-f]+)$/.exec(line);
    if (seed && current) current.seed = seed[1]!;
    const chainLine = /^\* Chain (m.*)$/.exec(line);
    if (chainLine && current) {
      flush();
      chain = { path: chainLine[1]!.replaceAll('<sub>H</sub>', "'") };
    }
    const pub = /^\*\* ext pub: (\w+)$/.exec(line);
    if (pub && chain) chain.xpub = pub[1]!;
    const prv = /^\*\* ext prv: (\w+)$/.exec(line);
    if (prv && chain) chain.xprv = prv[1]!;
    const bad = /^\* (\w+) \((.*)\)$/.exec(line);
    if (bad && inInvalid) invalid.push({ key: bad[1]!, reason: bad[2]! });
  }
  flush();
  return { valid, invalid };
}

const bip32 = parseBip32(readSpec('bips', 'bip-0032.mediawiki'));

test('BIP32 test vectors 1-4 (parsed from bip-0032.mediawiki)', () => {
  assert.equal(bip32.valid.length, 4);
  let chains = 0;
  for (const v of bip32.valid) {
    const root = HDKey.fromMasterSeed(fromHex(v.seed));
    for (const c of v.chains) {
      const node = c.path === 'm' ? root : root.derive(c.path);
      assert.equal(node.privateExtendedKey, c.xprv, `${v.name} ${c.path} xprv`);
      assert.equal(node.publicExtendedKey, c.xpub, `${v.name} ${c.path} xpub`);
      // Our native path computes the same public key as scure's.
      assert.equal(hex(publicKeyOf(node.privateKey!)), hex(node.publicKey!));
      // Round trip of both serializations.
      assert.equal(HDKey.fromExtendedKey(c.xprv).privateExtendedKey, c.xprv);
      assert.equal(HDKey.fromExtendedKey(c.xpub).publicExtendedKey, c.xpub);
      chains++;
    }
  }
  assert.equal(chains, 6 + 6 + 2 + 3);
});

test('BIP32 test vector 5: every invalid extended key is rejected', () => {
  assert.equal(bip32.invalid.length, 16);
  for (const { key, reason } of bip32.invalid) {
    assert.throws(() => HDKey.fromExtendedKey(key), Error, `accepted invalid key (${reason})`);
  }
});

test('BIP39: Trezor vector 0 and checksum/word errors', () => {
  const m = mnemonicFromEntropy(new Uint8Array(16));
  assert.ok(m.ok);
  assert.equal(
    m.value,
    'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about',
  );
  const seed = seedFromMnemonic(m.value, 'TREZOR');
  assert.ok(seed.ok);
  assert.equal(
    hex(seed.value),
    'c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04',
  );
  // Typed by a person: extra spaces and capitals are accepted.
  const sloppy = seedFromMnemonic(`  ${m.value.toUpperCase().replaceAll(' ', '   ')} `, 'TREZOR');
  assert.ok(sloppy.ok);
  assert.equal(hex(sloppy.value), hex(seed.value));
  const e = mnemonicToEntropy(m.value);
  assert.ok(e.ok);
  assert.equal(hex(e.value), '00'.repeat(16));

  const wrongChecksum = mnemonicToEntropy(m.value.replace(/about$/, 'abandon'));
  assert.ok(!wrongChecksum.ok && wrongChecksum.error.kind === 'invalid-mnemonic');
  assert.match(wrongChecksum.error.message, /checksum/);
  const unknown = mnemonicToEntropy(m.value.replace(/about$/, 'bitcoinx'));
  assert.ok(
    !unknown.ok && unknown.error.kind === 'invalid-mnemonic' && /bitcoinx/.test(unknown.error.message),
  );
  const short = mnemonicToEntropy('abandon about');
  assert.ok(
    !short.ok &&
      /12, 15, 18, 21 or 24/.test(short.error.kind === 'invalid-mnemonic' ? short.error.message : ''),
  );
  const badLen = mnemonicFromEntropy(new Uint8Array(15));
  assert.ok(!badLen.ok && badLen.error.kind === 'bad-entropy-length');
  const words24 = mnemonicFromEntropy(new Uint8Array(32).fill(0x7f));
  assert.ok(words24.ok && words24.value.split(' ').length === 24);
});

const abandon =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
function abandonKeys(network: 'bitcoin' | 'regtest' = 'bitcoin'): KeyChain {
  const seed = seedFromMnemonic(abandon);
  assert.ok(seed.ok);
  return new KeyChain(seed.value, network);
}

test('BIP84 and BIP86 reference vectors (abandon ... about)', () => {
  const keys = abandonKeys();
  assert.equal(
    hex(keys.bip84(RECEIVE, 0).pubkey),
    '0330d54fd0dd420a6e5f8d3624f5f3482cae350f79d5f0753bf5beef9c2d91af3c',
  );
  const tr = keys.bip86(RECEIVE, 0);
  assert.equal(
    hex(tr.pubkey.subarray(1)),
    'cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115',
  );
  assert.equal(hex(tr.outputKey), 'a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c');
  const tr1 = keys.bip86(RECEIVE, 1);
  assert.equal(
    hex(tr1.pubkey.subarray(1)),
    '83dfe85a3151d2517290da461fe2815591ef69f2b18a2ce63f01697a8b313145',
  );
  assert.equal(
    hex(taprootOutputKey(tr1.pubkey)),
    'a82f29944d65b86ae6b5e5cc75e294ead6c59391a1edc5e016e3498c67fc7bbb',
  );
  assert.match(keys.bip84AccountXpub(), /^xpub/);
});

test('coin type separates mainnet from test networks; paths do not collide', () => {
  const main = abandonKeys('bitcoin');
  const reg = abandonKeys('regtest');
  assert.notEqual(hex(main.nodeKey().pubkey), hex(reg.nodeKey().pubkey));
  assert.notEqual(hex(main.bip84(RECEIVE, 0).pubkey), hex(reg.bip84(RECEIVE, 0).pubkey));
  assert.notEqual(hex(reg.bip84(RECEIVE, 0).pubkey), hex(reg.bip84(CHANGE, 0).pubkey));
  // Matches a direct derivation of the documented path.
  const root = HDKey.fromMasterSeed((seedFromMnemonic(abandon) as { value: Uint8Array }).value);
  assert.equal(hex(reg.nodeKey().pubkey), hex(root.derive("m/1017'/1'/6'/0'/0'").publicKey!));
  assert.equal(hex(reg.channelKeys(7).htlcBasepoint), hex(root.derive("m/1017'/1'/2'/0'/7'").publicKey!));
  const all = new Set<string>();
  for (const n of [0, 1]) {
    const ck = reg.channelKeys(n);
    for (const k of [
      ck.fundingPubkey,
      ck.revocationBasepoint,
      ck.paymentBasepoint,
      ck.delayedPaymentBasepoint,
      ck.htlcBasepoint,
    ]) {
      all.add(hex(k));
    }
    all.add(hex(ck.perCommitmentSeed));
    assert.equal(ck.perCommitmentSeed.length, 32);
    assert.equal(hex(publicKeyOf(ck.fundingSecret)), hex(ck.fundingPubkey));
    assert.equal(hex(publicKeyOf(ck.delayedPaymentBasepointSecret)), hex(ck.delayedPaymentBasepoint));
  }
  assert.equal(all.size, 12);
  assert.throws(() => reg.channelKeys(-1));
  assert.throws(() => reg.channelKeys(0x80000000));
});

test('NodeSigner: signs digests and messages, ECDH agrees with the other side', () => {
  const keys = abandonKeys('regtest');
  const signer = nodeSignerFromKeyChain(keys);
  assert.equal(hex(signer.nodeId), hex(keys.nodeKey().pubkey));
  const digest = sha256(utf8('announcement'));
  const sig = signer.signDigest(digest);
  assert.ok(ecdsaVerify(sig.compact, digest, signer.nodeId));
  assert.throws(() => signer.signDigest(new Uint8Array(31)));
  const msg = utf8('hello');
  const msig = signer.signMessage(msg);
  assert.equal(hex(recoverMessageSigner(msg, msig)!), hex(signer.nodeId));
  assert.notEqual(hex(recoverMessageSigner(utf8('hellp'), msig) ?? new Uint8Array()), hex(signer.nodeId));
  const other = fromHex('42'.repeat(32));
  assert.equal(hex(signer.ecdh(publicKeyOf(other))), hex(ecdh(signer.nodeId, other)));
  // The secret does not leak through JSON.
  assert.doesNotMatch(JSON.stringify(signer), new RegExp(hex(keys.nodeKey().secret)));
});

test('fast public derivation (CKDpub via libsecp256k1) equals the private derivation', () => {
  const keys = abandonKeys('regtest');
  for (const chain of [RECEIVE, CHANGE]) {
    for (const i of [0, 1, 2, 19, 20, 1000, 0x7fffffff]) {
      assert.equal(hex(keys.bip84Pubkey(chain, i)), hex(keys.bip84(chain, i).pubkey), `${chain}/${i}`);
    }
  }
  // The BIP84 mainnet vector through the public path as well.
  assert.equal(
    hex(abandonKeys('bitcoin').bip84Pubkey(RECEIVE, 0)),
    '0330d54fd0dd420a6e5f8d3624f5f3482cae350f79d5f0753bf5beef9c2d91af3c',
  );
  assert.throws(() => keys.bip84Pubkey(RECEIVE, -1));
  assert.throws(() => keys.bip84Pubkey(RECEIVE, 2 ** 31));
  assert.throws(() => keys.bip84(CHANGE, 2 ** 31));
});

test('BIP86 address vector and tweaked secret: the key-path key matches the output key', () => {
  const keys = abandonKeys('bitcoin');
  const tr = keys.bip86(RECEIVE, 0);
  assert.equal(
    addressFromScript('bitcoin', p2tr(tr.outputKey)),
    'bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr',
  );
  for (const i of [0, 1, 2, 3, 4, 5]) {
    const k = keys.bip86(CHANGE, i);
    assert.equal(hex(keys.bip86Pubkey(CHANGE, i)), hex(k.pubkey));
    // x(tweaked secret · G) is the output key, whatever the parity of the internal key.
    assert.equal(hex(publicKeyOf(taprootTweakedSecret(k.secret, k.pubkey)).subarray(1)), hex(k.outputKey));
  }
});
