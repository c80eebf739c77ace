// Signing and verifying the BOLT 3 transactions: BIP143 digests over the right witness script and
// amount, 64-byte compact signatures as the wire carries them, and the finished witnesses.

import { SIGHASH_ALL, segwitV0Sighash } from '../bitcoin/sighash.ts';
import type { Transaction } from '../bitcoin/tx.ts';
import { compare, concat } from '../core/bytes.ts';
import type { Sat } from '../core/units.ts';
import { ecdsaSign, ecdsaVerify, signatureToDer } from '../crypto/secp256k1.ts';
import { signaturePool } from '../crypto/signature-pool.ts';
import type { Commitment } from './commitment.ts';
import { type HtlcTx, htlcTxWitness, withWitness } from './htlc.ts';
import { fundingScript, sortedFundingKeys } from './scripts.ts';

/** BIP143 digest for input `inputIndex` spending a P2WSH output of `amount` with `witnessScript`. */
export function p2wshSighash(
  tx: Transaction,
  inputIndex: number,
  witnessScript: Uint8Array,
  amount: Sat,
  hashType: number,
): Uint8Array {
  return segwitV0Sighash(tx, inputIndex, witnessScript, amount, hashType);
}

/** A low-S compact signature (the wire format of commitment_signed, closing_signed, ...). */
export function signP2wsh(
  tx: Transaction,
  inputIndex: number,
  witnessScript: Uint8Array,
  amount: Sat,
  privkey: Uint8Array,
  hashType: number = SIGHASH_ALL,
): Uint8Array {
  return ecdsaSign(p2wshSighash(tx, inputIndex, witnessScript, amount, hashType), privkey).compact;
}

export function verifyP2wsh(
  tx: Transaction,
  inputIndex: number,
  witnessScript: Uint8Array,
  amount: Sat,
  compactSig: Uint8Array,
  pubkey: Uint8Array,
  hashType: number = SIGHASH_ALL,
): boolean {
  if (compactSig.length !== 64) return false;
  const digest = p2wshSighash(tx, inputIndex, witnessScript, amount, hashType);
  try {
    return ecdsaVerify(compactSig, digest, pubkey);
  } catch {
    // The secp256k1 binding throws on an unparseable signature (r or s >= n) or key: a peer's bad
    // signature must be a `false`, never an exception.
    return false;
  }
}

/** DER signature with its sighash byte, as it goes on the witness stack. */
export function witnessSignature(compactSig: Uint8Array, hashType: number): Uint8Array {
  return concat(signatureToDer(compactSig), new Uint8Array([hashType]));
}

// ---- Funding input (commitment and closing transactions) ----------------------------------------

/** Signs a transaction's funding input (commitment or closing) with one funding key. */
export function signFundingInput(
  tx: Transaction,
  fundingPubkeyA: Uint8Array,
  fundingPubkeyB: Uint8Array,
  fundingAmount: Sat,
  fundingPrivkey: Uint8Array,
): Uint8Array {
  return signP2wsh(tx, 0, fundingScript(fundingPubkeyA, fundingPubkeyB), fundingAmount, fundingPrivkey);
}

export function verifyFundingInput(
  tx: Transaction,
  fundingPubkeyA: Uint8Array,
  fundingPubkeyB: Uint8Array,
  fundingAmount: Sat,
  compactSig: Uint8Array,
  signerFundingPubkey: Uint8Array,
): boolean {
  return verifyP2wsh(
    tx,
    0,
    fundingScript(fundingPubkeyA, fundingPubkeyB),
    fundingAmount,
    compactSig,
    signerFundingPubkey,
  );
}

/**
 * `0 <signature_for_pubkey1> <signature_for_pubkey2> <funding script>`: each signature goes with its
 * key, in the script's key order.
 */
export function fundingWitness(
  pubkeyA: Uint8Array,
  compactSigA: Uint8Array,
  pubkeyB: Uint8Array,
  compactSigB: Uint8Array,
): Uint8Array[] {
  const [first] = sortedFundingKeys(pubkeyA, pubkeyB);
  const aFirst = compare(first, pubkeyA) === 0;
  const sigA = witnessSignature(compactSigA, SIGHASH_ALL);
  const sigB = witnessSignature(compactSigB, SIGHASH_ALL);
  return [new Uint8Array(0), aFirst ? sigA : sigB, aFirst ? sigB : sigA, fundingScript(pubkeyA, pubkeyB)];
}

/** The broadcastable commitment (or closing) transaction from two signatures already verified. */
export function signedFundingSpend(
  tx: Transaction,
  pubkeyA: Uint8Array,
  compactSigA: Uint8Array,
  pubkeyB: Uint8Array,
  compactSigB: Uint8Array,
): Transaction {
  return withWitness(tx, fundingWitness(pubkeyA, compactSigA, pubkeyB, compactSigB));
}

/** Convenience for a commitment: sign its funding input. */
export function signCommitment(
  commitment: Commitment,
  localFundingPubkey: Uint8Array,
  remoteFundingPubkey: Uint8Array,
  fundingAmount: Sat,
  fundingPrivkey: Uint8Array,
): Uint8Array {
  return signFundingInput(
    commitment.tx,
    localFundingPubkey,
    remoteFundingPubkey,
    fundingAmount,
    fundingPrivkey,
  );
}

// ---- HTLC transactions --------------------------------------------------------------------------

/**
 * The BIP143 digest of an HTLC transaction's input. The commitment owner signs with SIGHASH_ALL
 * (`ofOwner`); the other side (the one sending htlc_signatures) with `htlcTx.remoteSighash`, which is
 * SIGHASH_SINGLE|SIGHASH_ANYONECANPAY with anchors. undefined when the spent output has no script.
 */
function htlcTxSighash(htlcTx: HtlcTx, ofOwner: boolean): Uint8Array | undefined {
  const ws = htlcTx.spent.witnessScript;
  if (ws === undefined) return undefined;
  return p2wshSighash(htlcTx.tx, 0, ws, htlcTx.spent.value, ofOwner ? SIGHASH_ALL : htlcTx.remoteSighash);
}

function needHtlcTxSighash(htlcTx: HtlcTx, ofOwner: boolean): Uint8Array {
  const digest = htlcTxSighash(htlcTx, ofOwner);
  if (digest === undefined) throw new Error('HTLC output without a witness script');
  return digest;
}

/** Signs an HTLC transaction, as the owner (`asOwner`) or as the side sending htlc_signatures. */
export function signHtlcTx(htlcTx: HtlcTx, htlcPrivkey: Uint8Array, asOwner: boolean): Uint8Array {
  return ecdsaSign(needHtlcTxSighash(htlcTx, asOwner), htlcPrivkey).compact;
}

/**
 * {@link signHtlcTx} for every HTLC transaction of a commitment, in order; large batches are shared
 * with the signature worker threads (same signatures).
 */
export function signHtlcTxs(
  htlcTxs: readonly HtlcTx[],
  htlcPrivkey: Uint8Array,
  asOwner: boolean,
): Uint8Array[] {
  return signaturePool().signEach(
    htlcTxs.length,
    (i) => needHtlcTxSighash(htlcTxs[i]!, asOwner),
    htlcPrivkey,
  );
}

export function verifyHtlcTxSig(
  htlcTx: HtlcTx,
  compactSig: Uint8Array,
  htlcPubkey: Uint8Array,
  ofOwner: boolean,
): boolean {
  const digest = htlcTxSighash(htlcTx, ofOwner);
  return digest !== undefined && compactSig.length === 64 && ecdsaVerify(compactSig, digest, htlcPubkey);
}

/**
 * The index of the first signature in `compactSigs` that {@link verifyHtlcTxSig} rejects for the HTLC
 * transaction at the same index, or -1 when all pass. Large batches are shared with the signature
 * worker threads (same answers).
 */
export function firstBadHtlcTxSig(
  htlcTxs: readonly HtlcTx[],
  compactSigs: readonly Uint8Array[],
  htlcPubkey: Uint8Array,
  ofOwner: boolean,
): number {
  if (compactSigs.length !== htlcTxs.length) throw new RangeError('one signature per HTLC transaction');
  const ok = signaturePool().verifyEach(htlcTxs.length, (i) => {
    const digest = htlcTxSighash(htlcTxs[i]!, ofOwner);
    const signature = compactSigs[i]!;
    return digest === undefined || signature.length !== 64
      ? undefined
      : { signature, digest, pubkey: htlcPubkey };
  });
  return ok.indexOf(false);
}

/** The broadcastable HTLC transaction from verified signatures (preimage only for HTLC-success). */
export function signedHtlcTx(
  htlcTx: HtlcTx,
  remoteCompactSig: Uint8Array,
  localCompactSig: Uint8Array,
  preimage?: Uint8Array,
): Transaction {
  const witness = htlcTxWitness(
    htlcTx,
    witnessSignature(remoteCompactSig, htlcTx.remoteSighash),
    witnessSignature(localCompactSig, SIGHASH_ALL),
    preimage,
  );
  return withWitness(htlcTx.tx, witness);
}
