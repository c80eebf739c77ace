// The devnet's script checks: src/bitcoin's interpreter with Core's standard (policy) or mandatory
// (consensus) flags, errors in Core's ScriptErrorString words.

import { verifyInput } from '../../bitcoin/interpreter.ts';
import {
  MANDATORY_SCRIPT_VERIFY_FLAGS,
  STANDARD_SCRIPT_VERIFY_FLAGS,
  scriptErrorString,
} from '../../bitcoin/script-error.ts';
import { SighashCache } from '../../bitcoin/sighash.ts';
import type { ScriptVerifier } from './validate.ts';

export const defaultScriptVerifier: ScriptVerifier = (tx, prevouts, mode, only) => {
  const flags = mode === 'standard' ? STANDARD_SCRIPT_VERIFY_FLAGS : MANDATORY_SCRIPT_VERIFY_FLAGS;
  const cache = new SighashCache(tx, prevouts);
  const from = only ?? 0;
  const to = only === undefined ? tx.inputs.length : only + 1;
  for (let i = from; i < to; i++) {
    const error = verifyInput(tx, i, prevouts, flags, cache);
    if (error !== null) return { index: i, error: scriptErrorString(error) };
  }
  return null;
};
