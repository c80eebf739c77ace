// Signing for the devnet faucet and for tests that need spends before the wallet exists: P2WPKH and
// P2WSH witnesses over src/bitcoin/sighash.ts (BIP143). Pure: keys come in as arguments.

import { p2wpkhScriptCode, SIGHASH_ALL, segwitV0Sighash } from '../../bitcoin/sighash.ts';
import type { Transaction } from '../../bitcoin/tx.ts';
import { concat } from '../../core/bytes.ts';
import type { Sat } from '../../core/units.ts';
import { ecdsaSign, hash160, publicKeyOf, sha256, signatureToDer } from '../../crypto/index.ts';

export function p2wpkhScript(pubkey: Uint8Array): Uint8Array {
  return concat(new Uint8Array([0x00, 0x14]), hash160(pubkey));
}

export function p2wshScript(witnessScript: Uint8Array): Uint8Array {
  return concat(new Uint8Array([0x00, 0x20]), sha256(witnessScript));
}

/** DER signature plus the SIGHASH_ALL byte, as it goes on the witness stack. */
export function signSegwitV0(
  tx: Transaction,
  index: number,
  scriptCode: Uint8Array,
  value: bigint,
  secret: Uint8Array,
): Uint8Array {
  const sig = ecdsaSign(segwitV0Sighash(tx, index, scriptCode, value as Sat, SIGHASH_ALL), secret);
  return concat(signatureToDer(sig.compact), new Uint8Array([SIGHASH_ALL]));
}

/** The witness [sig, pubkey] spending a P2WPKH output of `value` with `secret`. */
export function p2wpkhWitness(
  tx: Transaction,
  index: number,
  value: bigint,
  secret: Uint8Array,
): Uint8Array[] {
  const pub = publicKeyOf(secret);
  const scriptCode = p2wpkhScriptCode(hash160(pub));
  return [signSegwitV0(tx, index, scriptCode, value, secret), pub];
}

/** Returns the transaction with input `index`'s witness replaced. */
export function withWitness(tx: Transaction, index: number, witness: Uint8Array[]): Transaction {
  return { ...tx, inputs: tx.inputs.map((i, n) => (n === index ? { ...i, witness } : i)) };
}
