// BOLT 3 witness scripts: funding, to_local, to_remote (anchors), anchors, offered and received HTLCs,
// and the second-stage HTLC output. Built with the shared script builder (minimal pushes).

import { OP, p2wpkhOfKey, p2wshOfScript, pushNumber, type ScriptItem, script } from '../bitcoin/script.ts';
import { compare, equal } from '../core/bytes.ts';
import { ripemd160, sha256 } from '../crypto/hash.ts';
import { type ChannelType, hasAnchors } from './fees.ts';

/**
 * RIPEMD160(payment_hash) of the HTLC scripts, remembered per payment-hash array: an HTLC keeps its
 * array from commitment to commitment, and each of the 483 HTLCs of a batch is built into several
 * commitments. The entry keeps a copy of the hash it was made from and is used only while they match.
 */
const paymentHash160 = new WeakMap<Uint8Array, { readonly of: Uint8Array; readonly digest: Uint8Array }>();

function ripemdOfPaymentHash(paymentHash: Uint8Array): Uint8Array {
  const hit = paymentHash160.get(paymentHash);
  if (hit !== undefined && equal(hit.of, paymentHash)) return hit.digest;
  const digest = ripemd160(paymentHash);
  paymentHash160.set(paymentHash, { of: Uint8Array.from(paymentHash), digest });
  return digest;
}

function need33(p: Uint8Array, what: string): void {
  if (p.length !== 33) throw new RangeError(`${what} must be a 33-byte compressed key`);
}

/** The two funding pubkeys in script order: lexicographically lesser first. */
export function sortedFundingKeys(a: Uint8Array, b: Uint8Array): [Uint8Array, Uint8Array] {
  return compare(a, b) <= 0 ? [a, b] : [b, a];
}

// BOLT #3:
// `2 <pubkey1> <pubkey2> 2 OP_CHECKMULTISIG`
export function fundingScript(fundingPubkeyA: Uint8Array, fundingPubkeyB: Uint8Array): Uint8Array {
  need33(fundingPubkeyA, 'funding_pubkey');
  need33(fundingPubkeyB, 'funding_pubkey');
  const [k1, k2] = sortedFundingKeys(fundingPubkeyA, fundingPubkeyB);
  return script(2n, k1, k2, 2n, OP.OP_CHECKMULTISIG);
}

export function fundingOutputScript(fundingPubkeyA: Uint8Array, fundingPubkeyB: Uint8Array): Uint8Array {
  return p2wshOfScript(fundingScript(fundingPubkeyA, fundingPubkeyB));
}

/**
 * The to_local script, also the output script of HTLC-timeout and HTLC-success transactions:
 *
 *     OP_IF <revocationpubkey> OP_ELSE `to_self_delay` OP_CHECKSEQUENCEVERIFY OP_DROP
 *     <local_delayedpubkey> OP_ENDIF OP_CHECKSIG
 */
export function toLocalScript(
  revocationPubkey: Uint8Array,
  toSelfDelay: number,
  localDelayedPubkey: Uint8Array,
): Uint8Array {
  need33(revocationPubkey, 'revocationpubkey');
  need33(localDelayedPubkey, 'local_delayedpubkey');
  if (!Number.isInteger(toSelfDelay) || toSelfDelay < 0 || toSelfDelay > 0xffff) {
    throw new RangeError(`to_self_delay out of range: ${toSelfDelay}`);
  }
  return script(
    OP.OP_IF,
    revocationPubkey,
    OP.OP_ELSE,
    BigInt(toSelfDelay),
    OP.OP_CHECKSEQUENCEVERIFY,
    OP.OP_DROP,
    localDelayedPubkey,
    OP.OP_ENDIF,
    OP.OP_CHECKSIG,
  );
}

// BOLT #3:
//     <remotepubkey> OP_CHECKSIGVERIFY 1 OP_CHECKSEQUENCEVERIFY
export function toRemoteAnchorsScript(remotePubkey: Uint8Array): Uint8Array {
  need33(remotePubkey, 'remotepubkey');
  return script(remotePubkey, OP.OP_CHECKSIGVERIFY, 1n, OP.OP_CHECKSEQUENCEVERIFY);
}

/** The to_remote output: P2WPKH without anchors, P2WSH of the 1-CSV script with them. */
export function toRemoteOutput(
  type: ChannelType,
  remotePubkey: Uint8Array,
): { script: Uint8Array; witnessScript?: Uint8Array } {
  if (!hasAnchors(type)) {
    need33(remotePubkey, 'remotepubkey');
    return { script: p2wpkhOfKey(remotePubkey) };
  }
  const ws = toRemoteAnchorsScript(remotePubkey);
  return { script: p2wshOfScript(ws), witnessScript: ws };
}

// BOLT #3:
//     <local_funding_pubkey/remote_funding_pubkey> OP_CHECKSIG OP_IFDUP
//     OP_NOTIF
//         OP_16 OP_CHECKSEQUENCEVERIFY
//     OP_ENDIF
export function anchorScript(fundingPubkey: Uint8Array): Uint8Array {
  need33(fundingPubkey, 'funding_pubkey');
  return script(
    fundingPubkey,
    OP.OP_CHECKSIG,
    OP.OP_IFDUP,
    OP.OP_NOTIF,
    16n,
    OP.OP_CHECKSEQUENCEVERIFY,
    OP.OP_ENDIF,
  );
}

function needHash(paymentHash: Uint8Array): void {
  if (paymentHash.length !== 32) throw new RangeError('payment_hash must be 32 bytes');
}

function needCltv(cltvExpiry: number): void {
  if (!Number.isInteger(cltvExpiry) || cltvExpiry < 0 || cltvExpiry > 0xffff_ffff) {
    throw new RangeError(`cltv_expiry out of range: ${cltvExpiry}`);
  }
}

/** Writes `parts` into one new buffer (the per-HTLC scripts are a few fixed pieces around a hash). */
function joinInto(length: number, parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The HTLC scripts of one commitment. Every offered (received) HTLC script of a commitment is the same
 * bytes around RIPEMD160(payment_hash) (and, received, the cltv_expiry push): those pieces depend only
 * on the channel type and the three keys, so they are built once per commitment, not per HTLC.
 *
 * Offered (the commitment owner offered it); with anchors the success path has 1 CSV:
 *
 *     OP_DUP OP_HASH160 <RIPEMD160(SHA256(revocationpubkey))> OP_EQUAL
 *     OP_IF
 *         OP_CHECKSIG
 *     OP_ELSE
 *         <remote_htlcpubkey> OP_SWAP OP_SIZE 32 OP_EQUAL
 *         OP_NOTIF
 *             OP_DROP 2 OP_SWAP <local_htlcpubkey> 2 OP_CHECKMULTISIG
 *         OP_ELSE
 *             OP_HASH160 <RIPEMD160(payment_hash)> OP_EQUALVERIFY
 *             OP_CHECKSIG
 *         OP_ENDIF
 *         [1 OP_CHECKSEQUENCEVERIFY OP_DROP]
 *     OP_ENDIF
 *
 * Received (the commitment owner received it); with anchors the timeout path has 1 CSV:
 *
 *     ... <remote_htlcpubkey> OP_SWAP OP_SIZE 32 OP_EQUAL
 *         OP_IF
 *             OP_HASH160 <RIPEMD160(payment_hash)> OP_EQUALVERIFY
 *             2 OP_SWAP <local_htlcpubkey> 2 OP_CHECKMULTISIG
 *         OP_ELSE
 *             OP_DROP <cltv_expiry> OP_CHECKLOCKTIMEVERIFY OP_DROP
 *             OP_CHECKSIG
 *         OP_ENDIF
 *         [1 OP_CHECKSEQUENCEVERIFY OP_DROP]
 *     OP_ENDIF
 */
export class HtlcScripts {
  private readonly offeredHead: Uint8Array;
  private readonly offeredTail: Uint8Array;
  private readonly receivedHead: Uint8Array;
  private readonly receivedMiddle: Uint8Array;
  private readonly receivedTail: Uint8Array;
  private readonly cltvPushes = new Map<number, Uint8Array>();

  constructor(
    type: ChannelType,
    revocationPubkey: Uint8Array,
    localHtlcPubkey: Uint8Array,
    remoteHtlcPubkey: Uint8Array,
  ) {
    need33(localHtlcPubkey, 'local_htlcpubkey');
    need33(remoteHtlcPubkey, 'remote_htlcpubkey');
    need33(revocationPubkey, 'revocationpubkey');
    // The script builder emits each item on its own, so a script is the concatenation of its pieces.
    const frame: ScriptItem[] = [
      OP.OP_DUP,
      OP.OP_HASH160,
      ripemd160(sha256(revocationPubkey)),
      OP.OP_EQUAL,
      OP.OP_IF,
      OP.OP_CHECKSIG,
      OP.OP_ELSE,
      remoteHtlcPubkey,
      OP.OP_SWAP,
      OP.OP_SIZE,
      32n,
      OP.OP_EQUAL,
    ];
    const csv: ScriptItem[] = hasAnchors(type) ? [1n, OP.OP_CHECKSEQUENCEVERIFY, OP.OP_DROP] : [];
    this.offeredHead = script(
      ...frame,
      OP.OP_NOTIF,
      OP.OP_DROP,
      2n,
      OP.OP_SWAP,
      localHtlcPubkey,
      2n,
      OP.OP_CHECKMULTISIG,
      OP.OP_ELSE,
      OP.OP_HASH160,
    );
    this.offeredTail = script(OP.OP_EQUALVERIFY, OP.OP_CHECKSIG, OP.OP_ENDIF, ...csv, OP.OP_ENDIF);
    this.receivedHead = script(...frame, OP.OP_IF, OP.OP_HASH160);
    this.receivedMiddle = script(
      OP.OP_EQUALVERIFY,
      2n,
      OP.OP_SWAP,
      localHtlcPubkey,
      2n,
      OP.OP_CHECKMULTISIG,
      OP.OP_ELSE,
      OP.OP_DROP,
    );
    this.receivedTail = script(
      OP.OP_CHECKLOCKTIMEVERIFY,
      OP.OP_DROP,
      OP.OP_CHECKSIG,
      OP.OP_ENDIF,
      ...csv,
      OP.OP_ENDIF,
    );
  }

  offered(paymentHash: Uint8Array): Uint8Array {
    needHash(paymentHash);
    return joinInto(this.offeredHead.length + 21 + this.offeredTail.length, [
      this.offeredHead,
      HASH160_PUSH,
      ripemdOfPaymentHash(paymentHash),
      this.offeredTail,
    ]);
  }

  received(paymentHash: Uint8Array, cltvExpiry: number): Uint8Array {
    needHash(paymentHash);
    needCltv(cltvExpiry);
    // HTLCs of one commitment often share an expiry: each push is encoded once.
    let cltv = this.cltvPushes.get(cltvExpiry);
    if (cltv === undefined) {
      cltv = pushNumber(BigInt(cltvExpiry));
      this.cltvPushes.set(cltvExpiry, cltv);
    }
    const parts = [
      this.receivedHead,
      HASH160_PUSH,
      ripemdOfPaymentHash(paymentHash),
      this.receivedMiddle,
      cltv,
      this.receivedTail,
    ];
    let length = 0;
    for (const p of parts) length += p.length;
    return joinInto(length, parts);
  }
}

/** The push opcode of a 20-byte hash (what pushData emits for it). */
const HASH160_PUSH = new Uint8Array([20]);

/** Offered HTLC script (the commitment owner offered it); with anchors the success path has 1 CSV. */
export function offeredHtlcScript(
  type: ChannelType,
  revocationPubkey: Uint8Array,
  localHtlcPubkey: Uint8Array,
  remoteHtlcPubkey: Uint8Array,
  paymentHash: Uint8Array,
): Uint8Array {
  needHash(paymentHash);
  return new HtlcScripts(type, revocationPubkey, localHtlcPubkey, remoteHtlcPubkey).offered(paymentHash);
}

/** Received HTLC script (the commitment owner received it); with anchors the timeout path has 1 CSV. */
export function receivedHtlcScript(
  type: ChannelType,
  revocationPubkey: Uint8Array,
  localHtlcPubkey: Uint8Array,
  remoteHtlcPubkey: Uint8Array,
  paymentHash: Uint8Array,
  cltvExpiry: number,
): Uint8Array {
  needHash(paymentHash);
  return new HtlcScripts(type, revocationPubkey, localHtlcPubkey, remoteHtlcPubkey).received(
    paymentHash,
    cltvExpiry,
  );
}
