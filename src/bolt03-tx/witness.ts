// Witness stacks for every spend path BOLT 3 defines on commitment and HTLC outputs (the on-chain
// monitor builds its sweeps and penalties from these). Signatures are DER + sighash byte; the witness
// script goes last, as P2WSH requires.

const EMPTY = new Uint8Array(0);
const ONE = new Uint8Array([1]);

// BOLT #3:
//     <local_delayedsig> <>
/** to_local (or an HTLC transaction's output) after to_self_delay; the input's nSequence must be to_self_delay. */
export function toLocalDelayedWitness(sig: Uint8Array, toLocalWitnessScript: Uint8Array): Uint8Array[] {
  return [sig, EMPTY, toLocalWitnessScript];
}

// BOLT #3:
//     <revocation_sig> 1
/** to_local (or an HTLC transaction's output) of a revoked commitment, by the other side. */
export function toLocalPenaltyWitness(
  revocationSig: Uint8Array,
  toLocalWitnessScript: Uint8Array,
): Uint8Array[] {
  return [revocationSig, ONE, toLocalWitnessScript];
}

// BOLT #3:
//     <remote_sig>
/** to_remote with anchors (P2WSH, nSequence 1). */
export function toRemoteAnchorsWitness(sig: Uint8Array, toRemoteWitnessScript: Uint8Array): Uint8Array[] {
  return [sig, toRemoteWitnessScript];
}

/** to_remote without anchors: plain P2WPKH. */
export function toRemoteP2wpkhWitness(sig: Uint8Array, remotePubkey: Uint8Array): Uint8Array[] {
  return [sig, remotePubkey];
}

// BOLT #3:
//     <local_sig/remote_sig>
export function anchorWitness(sig: Uint8Array, anchorWitnessScript: Uint8Array): Uint8Array[] {
  return [sig, anchorWitnessScript];
}

// BOLT #3:
// After 16 blocks, anyone can sweep the anchor with witness:
//
//     <>
export function anchorSweepWitness(anchorWitnessScript: Uint8Array): Uint8Array[] {
  return [EMPTY, anchorWitnessScript];
}

// BOLT #3:
//     <revocation_sig> <revocationpubkey>
/** Either HTLC output of a revoked commitment. */
export function htlcPenaltyWitness(
  revocationSig: Uint8Array,
  revocationPubkey: Uint8Array,
  htlcWitnessScript: Uint8Array,
): Uint8Array[] {
  return [revocationSig, revocationPubkey, htlcWitnessScript];
}

// BOLT #3:
//     <remotehtlcsig> <payment_preimage>
/** The other side claims an offered HTLC directly with the preimage (nSequence 1 with anchors). */
export function offeredHtlcPreimageWitness(
  remoteHtlcSig: Uint8Array,
  preimage: Uint8Array,
  htlcWitnessScript: Uint8Array,
): Uint8Array[] {
  if (preimage.length !== 32) throw new RangeError('payment_preimage must be 32 bytes');
  return [remoteHtlcSig, preimage, htlcWitnessScript];
}

// BOLT #3:
//     <remotehtlcsig> <>
/** The other side takes back a received HTLC after cltv_expiry (locktime >= expiry; nSequence 1 with anchors). */
export function receivedHtlcTimeoutWitness(
  remoteHtlcSig: Uint8Array,
  htlcWitnessScript: Uint8Array,
): Uint8Array[] {
  return [remoteHtlcSig, EMPTY, htlcWitnessScript];
}
