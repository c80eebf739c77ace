// HD derivation from the BIP39 seed (BIP32 via @scure/bip32). Every key the node uses comes from one
// seed along these paths (coin = 0 on bitcoin mainnet, 1 on testnet/signet/regtest, as SLIP-44 says):
//
//   node identity key        m/1017'/coin'/6'/0'/0'      (LND's key family 6 "node key", hardened here)
//   channel n, funding key   m/1017'/coin'/0'/0'/n'      (family 0: multisig)
//   revocation basepoint     m/1017'/coin'/1'/0'/n'      (family 1)
//   htlc basepoint           m/1017'/coin'/2'/0'/n'      (family 2)
//   payment basepoint        m/1017'/coin'/3'/0'/n'      (family 3)
//   delayed payment basept.  m/1017'/coin'/4'/0'/n'      (family 4)
//   per-commitment seed      taggedHash("shandian/per-commitment-seed", key at m/1017'/coin'/5'/0'/n')
//   on-chain receive         m/84'/coin'/0'/0/i          (BIP84 P2WPKH)
//   on-chain change          m/84'/coin'/0'/1/i
//   taproot (BIP86)          m/86'/coin'/0'/{0,1}/i
//
// The LND families are kept so the layout is familiar, but every level under 1017' is hardened: a leaked
// channel secret plus an xpub must never expose siblings. Seeds are NOT interchangeable with LND (aezeed).
import { HDKey } from '@scure/bip32';
import type { Network } from '../bitcoin/address.ts';
import {
  hmacSha512,
  privkeyNegate,
  privkeyTweakAdd,
  pubkeyTweakAdd,
  publicKeyOf,
  taggedHash,
} from '../crypto/index.ts';

export type { Network };
export const NETWORKS: readonly Network[] = ['bitcoin', 'testnet', 'signet', 'regtest'];

export function isNetwork(s: string): s is Network {
  return (NETWORKS as readonly string[]).includes(s);
}

export function coinType(network: Network): 0 | 1 {
  switch (network) {
    case 'bitcoin':
      return 0;
    case 'testnet':
    case 'signet':
    case 'regtest':
      return 1;
  }
}

const H = 0x80000000;
const LN_PURPOSE = 1017;

export const KeyFamily = {
  multisig: 0,
  revocationBase: 1,
  htlcBase: 2,
  paymentBase: 3,
  delayBase: 4,
  perCommitmentRoot: 5,
  nodeKey: 6,
} as const;
export type KeyFamily = (typeof KeyFamily)[keyof typeof KeyFamily];

/** External (receive) or internal (change) chain of a BIP44-style account. */
export type Chain = 0 | 1;
export const RECEIVE: Chain = 0;
export const CHANGE: Chain = 1;

export interface KeyPair {
  readonly secret: Uint8Array;
  /** 33-byte compressed public key. */
  readonly pubkey: Uint8Array;
}

export class DerivationError extends Error {}

/** Indexes are below 2^31 on every path: hardened ones get the offset added, unhardened ones must not reach it. */
function checkIndex(i: number, what: string): void {
  if (!Number.isInteger(i) || i < 0 || i >= H) throw new DerivationError(`bad ${what} index: ${i}`);
}

function keyPairOf(node: HDKey): KeyPair {
  const secret = node.privateKey;
  if (secret === null) throw new DerivationError('derived node has no private key');
  // Public keys through libsecp256k1 (the native path) rather than scure's: same result, faster.
  return { secret: Uint8Array.from(secret), pubkey: publicKeyOf(secret) };
}

/**
 * The root of all keys, holding the BIP32 master. Only the signers in this folder should hold one; the
 * rest of the node receives public keys and narrowly scoped signers. Account nodes are cached.
 */
export class KeyChain {
  readonly #root: HDKey;
  readonly #families = new Map<number, HDKey>();
  readonly #accounts = new Map<string, HDKey>();
  readonly coin: 0 | 1;

  constructor(
    seed: Uint8Array,
    readonly network: Network,
  ) {
    if (seed.length < 16 || seed.length > 64)
      throw new DerivationError(`BIP32 seed must be 16..64 bytes, got ${seed.length}`);
    this.#root = HDKey.fromMasterSeed(seed);
    this.coin = coinType(network);
  }

  private family(f: KeyFamily): HDKey {
    let node = this.#families.get(f);
    if (node === undefined) {
      node = this.#root
        .deriveChild(LN_PURPOSE + H)
        .deriveChild(this.coin + H)
        .deriveChild(f + H)
        .deriveChild(0 + H);
      this.#families.set(f, node);
    }
    return node;
  }

  /** m/1017'/coin'/family'/0'/index' */
  lightningKey(f: KeyFamily, index: number): KeyPair {
    checkIndex(index, 'key');
    return keyPairOf(this.family(f).deriveChild(index + H));
  }

  nodeKey(): KeyPair {
    return this.lightningKey(KeyFamily.nodeKey, 0);
  }

  private account(purpose: 84 | 86, chain: Chain): HDKey {
    const key = `${purpose}/${chain}`;
    let node = this.#accounts.get(key);
    if (node === undefined) {
      node = this.#root
        .deriveChild(purpose + H)
        .deriveChild(this.coin + H)
        .deriveChild(0 + H)
        .deriveChild(chain);
      this.#accounts.set(key, node);
    }
    return node;
  }

  /** BIP84: m/84'/coin'/0'/chain/index (P2WPKH). */
  bip84(chain: Chain, index: number): KeyPair {
    checkIndex(index, 'address');
    return keyPairOf(this.account(84, chain).deriveChild(index));
  }

  /**
   * The public key of bip84(chain, index) by BIP32 public derivation (CKDpub) through libsecp256k1:
   * ~20x faster than a private derivation, for watching many addresses.
   */
  bip84Pubkey(chain: Chain, index: number): Uint8Array {
    return this.publicChild(84, chain, index);
  }

  /** The internal (untweaked) public key of bip86(chain, index), by public derivation. */
  bip86Pubkey(chain: Chain, index: number): Uint8Array {
    return this.publicChild(86, chain, index);
  }

  private publicChild(purpose: 84 | 86, chain: Chain, index: number): Uint8Array {
    checkIndex(index, 'address');
    const parent = this.account(purpose, chain);
    const parentPub = parent.publicKey;
    const chainCode = parent.chainCode;
    if (parentPub === null || chainCode === null)
      throw new DerivationError('account node without public key');
    const data = new Uint8Array(37);
    data.set(parentPub, 0);
    new DataView(data.buffer).setUint32(33, index, false);
    const I = hmacSha512(chainCode, data);
    try {
      return pubkeyTweakAdd(parentPub, I.subarray(0, 32));
    } catch {
      // I_L >= n or a point at infinity: BIP32 says skip this index (probability below 2^-127).
      throw new DerivationError(`BIP32 index ${index} is invalid for this key; skip it`);
    }
  }

  /** BIP86: m/86'/coin'/0'/chain/index; the internal key, and the tweaked output key for P2TR. */
  bip86(chain: Chain, index: number): KeyPair & { readonly outputKey: Uint8Array } {
    checkIndex(index, 'address');
    const kp = keyPairOf(this.account(86, chain).deriveChild(index));
    return { ...kp, outputKey: taprootOutputKey(kp.pubkey) };
  }

  /** The account xpub for BIP84 (watch-only export), with mainnet/testnet version bytes. */
  bip84AccountXpub(): string {
    return this.#root
      .deriveChild(84 + H)
      .deriveChild(this.coin + H)
      .deriveChild(0 + H).publicExtendedKey;
  }

  channelKeys(index: number): ChannelKeyMaterial {
    const funding = this.lightningKey(KeyFamily.multisig, index);
    const revocation = this.lightningKey(KeyFamily.revocationBase, index);
    const htlc = this.lightningKey(KeyFamily.htlcBase, index);
    const payment = this.lightningKey(KeyFamily.paymentBase, index);
    const delayed = this.lightningKey(KeyFamily.delayBase, index);
    const root = this.lightningKey(KeyFamily.perCommitmentRoot, index);
    return {
      index,
      fundingSecret: funding.secret,
      fundingPubkey: funding.pubkey,
      revocationBasepointSecret: revocation.secret,
      revocationBasepoint: revocation.pubkey,
      paymentBasepointSecret: payment.secret,
      paymentBasepoint: payment.pubkey,
      delayedPaymentBasepointSecret: delayed.secret,
      delayedPaymentBasepoint: delayed.pubkey,
      htlcBasepointSecret: htlc.secret,
      htlcBasepoint: htlc.pubkey,
      perCommitmentSeed: taggedHash('shandian/per-commitment-seed', root.secret),
    };
  }
}

/**
 * Everything a ChannelSigner needs for one channel: the five BOLT 3 base secrets and the 32-byte seed
 * from which BOLT 3's per-commitment secrets are generated (index 2^48-1 first, counting down).
 */
export interface ChannelKeyMaterial {
  readonly index: number;
  readonly fundingSecret: Uint8Array;
  readonly fundingPubkey: Uint8Array;
  readonly revocationBasepointSecret: Uint8Array;
  readonly revocationBasepoint: Uint8Array;
  readonly paymentBasepointSecret: Uint8Array;
  readonly paymentBasepoint: Uint8Array;
  readonly delayedPaymentBasepointSecret: Uint8Array;
  readonly delayedPaymentBasepoint: Uint8Array;
  readonly htlcBasepointSecret: Uint8Array;
  readonly htlcBasepoint: Uint8Array;
  readonly perCommitmentSeed: Uint8Array;
}

/**
 * The secret for a BIP86 key-path signature: the internal secret negated if its point has odd y, plus
 * the TapTweak of the x-only internal key (BIP341 taproot_tweak_seckey).
 */
export function taprootTweakedSecret(secret: Uint8Array, internalPubkey33: Uint8Array): Uint8Array {
  const even = internalPubkey33[0] === 0x02 ? secret : privkeyNegate(secret);
  return privkeyTweakAdd(even, taggedHash('TapTweak', internalPubkey33.subarray(1, 33)));
}

/** BIP341/BIP86 key-path-only output key: x(P + H_TapTweak(x(P))·G), P lifted to even y. */
export function taprootOutputKey(internalPubkey33: Uint8Array): Uint8Array {
  const x = internalPubkey33.subarray(1, 33);
  const even = new Uint8Array(33);
  even[0] = 0x02;
  even.set(x, 1);
  const tweak = taggedHash('TapTweak', x);
  return pubkeyTweakAdd(even, tweak).subarray(1, 33);
}
