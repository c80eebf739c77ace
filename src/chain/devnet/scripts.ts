// The devnet's script checks. Until src/bitcoin/interpreter.ts lands this verifies P2WPKH spends only
// and refuses every other script, rather than accepting anything unchecked.

import { p2wpkhScriptCode, SIGHASH_ALL, segwitV0Sighash } from '../../bitcoin/sighash.ts';
import { equal } from '../../core/bytes.ts';
import type { Sat } from '../../core/units.ts';
import { ecdsaVerify, hash160, signatureFromDer } from '../../crypto/index.ts';
import { witnessProgram } from './policy.ts';
import type { ScriptVerifier } from './validate.ts';

export const defaultScriptVerifier: ScriptVerifier = (tx, index, prevouts) => {
  const prev = prevouts[index]!;
  const input = tx.inputs[index]!;
  const wp = witnessProgram(prev.script);
  if (wp?.version !== 0 || wp.program.length !== 20)
    return 'Script interpreter not available for this output type';
  if (input.scriptSig.length !== 0) return 'Witness requires empty scriptSig';
  if (input.witness.length !== 2) return 'Witness program hash mismatch';
  const [sig, pub] = input.witness as [Uint8Array, Uint8Array];
  if (!equal(hash160(pub), wp.program)) return 'Witness program hash mismatch';
  if (sig.length === 0 || sig[sig.length - 1] !== SIGHASH_ALL)
    return 'Signature hash type missing or not understood';
  let compact: Uint8Array;
  try {
    compact = signatureFromDer(sig.subarray(0, sig.length - 1));
  } catch {
    return 'Non-canonical DER signature';
  }
  const digest = segwitV0Sighash(tx, index, p2wpkhScriptCode(wp.program), prev.value as Sat, SIGHASH_ALL);
  return ecdsaVerify(compact, digest, pub)
    ? null
    : 'Script evaluated without error but finished with a false/empty top stack element';
};
