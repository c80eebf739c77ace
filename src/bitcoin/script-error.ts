// Script verification flags and errors with Bitcoin Core's names and messages (script/interpreter.h,
// script/script_error.cpp), so devnet can answer exactly as bitcoind would.
import { assertNever } from '../core/result.ts';

/** Verify flags as Core's SCRIPT_VERIFY_* bits. */
export const VERIFY = {
  NONE: 0,
  P2SH: 1 << 0,
  STRICTENC: 1 << 1,
  DERSIG: 1 << 2,
  LOW_S: 1 << 3,
  NULLDUMMY: 1 << 4,
  SIGPUSHONLY: 1 << 5,
  MINIMALDATA: 1 << 6,
  DISCOURAGE_UPGRADABLE_NOPS: 1 << 7,
  CLEANSTACK: 1 << 8,
  CHECKLOCKTIMEVERIFY: 1 << 9,
  CHECKSEQUENCEVERIFY: 1 << 10,
  WITNESS: 1 << 11,
  DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM: 1 << 12,
  MINIMALIF: 1 << 13,
  NULLFAIL: 1 << 14,
  WITNESS_PUBKEYTYPE: 1 << 15,
  CONST_SCRIPTCODE: 1 << 16,
  TAPROOT: 1 << 17,
  DISCOURAGE_UPGRADABLE_TAPROOT_VERSION: 1 << 18,
  DISCOURAGE_OP_SUCCESS: 1 << 19,
  DISCOURAGE_UPGRADABLE_PUBKEYTYPE: 1 << 20,
} as const;

export type VerifyFlagName = keyof typeof VERIFY;

/** Consensus rules in force on mainnet today (Core's MANDATORY_SCRIPT_VERIFY_FLAGS). */
export const MANDATORY_SCRIPT_VERIFY_FLAGS =
  VERIFY.P2SH |
  VERIFY.DERSIG |
  VERIFY.NULLDUMMY |
  VERIFY.CHECKLOCKTIMEVERIFY |
  VERIFY.CHECKSEQUENCEVERIFY |
  VERIFY.WITNESS |
  VERIFY.TAPROOT;

/** Mempool policy (Core's STANDARD_SCRIPT_VERIFY_FLAGS). */
export const STANDARD_SCRIPT_VERIFY_FLAGS =
  MANDATORY_SCRIPT_VERIFY_FLAGS |
  VERIFY.STRICTENC |
  VERIFY.MINIMALDATA |
  VERIFY.DISCOURAGE_UPGRADABLE_NOPS |
  VERIFY.CLEANSTACK |
  VERIFY.MINIMALIF |
  VERIFY.NULLFAIL |
  VERIFY.LOW_S |
  VERIFY.DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM |
  VERIFY.WITNESS_PUBKEYTYPE |
  VERIFY.CONST_SCRIPTCODE |
  VERIFY.DISCOURAGE_UPGRADABLE_TAPROOT_VERSION |
  VERIFY.DISCOURAGE_OP_SUCCESS |
  VERIFY.DISCOURAGE_UPGRADABLE_PUBKEYTYPE;

/** Parses Core's comma-separated flag list ("P2SH,STRICTENC"); throws on an unknown name. */
export function parseVerifyFlags(text: string): number {
  let flags = 0;
  for (const name of text.split(',')) {
    if (name === '') continue;
    if (!(name in VERIFY)) throw new RangeError(`unknown script verify flag ${name}`);
    flags |= VERIFY[name as VerifyFlagName];
  }
  return flags;
}

export const SCRIPT_ERRORS = [
  'OK',
  'UNKNOWN_ERROR',
  'EVAL_FALSE',
  'OP_RETURN',
  'SCRIPT_SIZE',
  'PUSH_SIZE',
  'OP_COUNT',
  'STACK_SIZE',
  'SIG_COUNT',
  'PUBKEY_COUNT',
  'VERIFY',
  'EQUALVERIFY',
  'CHECKMULTISIGVERIFY',
  'CHECKSIGVERIFY',
  'NUMEQUALVERIFY',
  'BAD_OPCODE',
  'DISABLED_OPCODE',
  'INVALID_STACK_OPERATION',
  'INVALID_ALTSTACK_OPERATION',
  'UNBALANCED_CONDITIONAL',
  'NEGATIVE_LOCKTIME',
  'UNSATISFIED_LOCKTIME',
  'SIG_HASHTYPE',
  'SIG_DER',
  'MINIMALDATA',
  'SIG_PUSHONLY',
  'SIG_HIGH_S',
  'SIG_NULLDUMMY',
  'PUBKEYTYPE',
  'CLEANSTACK',
  'MINIMALIF',
  'SIG_NULLFAIL',
  'DISCOURAGE_UPGRADABLE_NOPS',
  'DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM',
  'DISCOURAGE_UPGRADABLE_TAPROOT_VERSION',
  'DISCOURAGE_OP_SUCCESS',
  'DISCOURAGE_UPGRADABLE_PUBKEYTYPE',
  'WITNESS_PROGRAM_WRONG_LENGTH',
  'WITNESS_PROGRAM_WITNESS_EMPTY',
  'WITNESS_PROGRAM_MISMATCH',
  'WITNESS_MALLEATED',
  'WITNESS_MALLEATED_P2SH',
  'WITNESS_UNEXPECTED',
  'WITNESS_PUBKEYTYPE',
  'SCHNORR_SIG_SIZE',
  'SCHNORR_SIG_HASHTYPE',
  'SCHNORR_SIG',
  'TAPROOT_WRONG_CONTROL_SIZE',
  'TAPSCRIPT_VALIDATION_WEIGHT',
  'TAPSCRIPT_CHECKMULTISIG',
  'TAPSCRIPT_MINIMALIF',
  'TAPSCRIPT_EMPTY_PUBKEY',
  'OP_CODESEPARATOR',
  'SIG_FINDANDDELETE',
] as const;

/** A script failure, named as Core's SCRIPT_ERR_* without the prefix. */
export type ScriptError = Exclude<(typeof SCRIPT_ERRORS)[number], 'OK'>;

export function isScriptErrorName(s: string): s is ScriptError | 'OK' {
  return (SCRIPT_ERRORS as readonly string[]).includes(s);
}

/** Core's ScriptErrorString, word for word. */
export function scriptErrorString(e: ScriptError | 'OK'): string {
  switch (e) {
    case 'OK':
      return 'No error';
    case 'EVAL_FALSE':
      return 'Script evaluated without error but finished with a false/empty top stack element';
    case 'VERIFY':
      return 'Script failed an OP_VERIFY operation';
    case 'EQUALVERIFY':
      return 'Script failed an OP_EQUALVERIFY operation';
    case 'CHECKMULTISIGVERIFY':
      return 'Script failed an OP_CHECKMULTISIGVERIFY operation';
    case 'CHECKSIGVERIFY':
      return 'Script failed an OP_CHECKSIGVERIFY operation';
    case 'NUMEQUALVERIFY':
      return 'Script failed an OP_NUMEQUALVERIFY operation';
    case 'SCRIPT_SIZE':
      return 'Script is too big';
    case 'PUSH_SIZE':
      return 'Push value size limit exceeded';
    case 'OP_COUNT':
      return 'Operation limit exceeded';
    case 'STACK_SIZE':
      return 'Stack size limit exceeded';
    case 'SIG_COUNT':
      return 'Signature count negative or greater than pubkey count';
    case 'PUBKEY_COUNT':
      return 'Pubkey count negative or limit exceeded';
    case 'BAD_OPCODE':
      return 'Opcode missing or not understood';
    case 'DISABLED_OPCODE':
      return 'Attempted to use a disabled opcode';
    case 'INVALID_STACK_OPERATION':
      return 'Operation not valid with the current stack size';
    case 'INVALID_ALTSTACK_OPERATION':
      return 'Operation not valid with the current altstack size';
    case 'OP_RETURN':
      return 'OP_RETURN was encountered';
    case 'UNBALANCED_CONDITIONAL':
      return 'Invalid OP_IF construction';
    case 'NEGATIVE_LOCKTIME':
      return 'Negative locktime';
    case 'UNSATISFIED_LOCKTIME':
      return 'Locktime requirement not satisfied';
    case 'SIG_HASHTYPE':
      return 'Signature hash type missing or not understood';
    case 'SIG_DER':
      return 'Non-canonical DER signature';
    case 'MINIMALDATA':
      return 'Data push larger than necessary';
    case 'SIG_PUSHONLY':
      return 'Only push operators allowed in signatures';
    case 'SIG_HIGH_S':
      return 'Non-canonical signature: S value is unnecessarily high';
    case 'SIG_NULLDUMMY':
      return 'Dummy CHECKMULTISIG argument must be zero';
    case 'MINIMALIF':
      return 'OP_IF/NOTIF argument must be minimal';
    case 'SIG_NULLFAIL':
      return 'Signature must be zero for failed CHECK(MULTI)SIG operation';
    case 'DISCOURAGE_UPGRADABLE_NOPS':
      return 'NOPx reserved for soft-fork upgrades';
    case 'DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM':
      return 'Witness version reserved for soft-fork upgrades';
    case 'DISCOURAGE_UPGRADABLE_TAPROOT_VERSION':
      return 'Taproot version reserved for soft-fork upgrades';
    case 'DISCOURAGE_OP_SUCCESS':
      return 'OP_SUCCESSx reserved for soft-fork upgrades';
    case 'DISCOURAGE_UPGRADABLE_PUBKEYTYPE':
      return 'Public key version reserved for soft-fork upgrades';
    case 'PUBKEYTYPE':
      return 'Public key is neither compressed or uncompressed';
    case 'CLEANSTACK':
      return 'Stack size must be exactly one after execution';
    case 'WITNESS_PROGRAM_WRONG_LENGTH':
      return 'Witness program has incorrect length';
    case 'WITNESS_PROGRAM_WITNESS_EMPTY':
      return 'Witness program was passed an empty witness';
    case 'WITNESS_PROGRAM_MISMATCH':
      return 'Witness program hash mismatch';
    case 'WITNESS_MALLEATED':
      return 'Witness requires empty scriptSig';
    case 'WITNESS_MALLEATED_P2SH':
      return 'Witness requires only-redeemscript scriptSig';
    case 'WITNESS_UNEXPECTED':
      return 'Witness provided for non-witness script';
    case 'WITNESS_PUBKEYTYPE':
      return 'Using non-compressed keys in segwit';
    case 'SCHNORR_SIG_SIZE':
      return 'Invalid Schnorr signature size';
    case 'SCHNORR_SIG_HASHTYPE':
      return 'Invalid Schnorr signature hash type';
    case 'SCHNORR_SIG':
      return 'Invalid Schnorr signature';
    case 'TAPROOT_WRONG_CONTROL_SIZE':
      return 'Invalid Taproot control block size';
    case 'TAPSCRIPT_VALIDATION_WEIGHT':
      return 'Too much signature validation relative to witness weight';
    case 'TAPSCRIPT_CHECKMULTISIG':
      return 'OP_CHECKMULTISIG(VERIFY) is not available in tapscript';
    case 'TAPSCRIPT_MINIMALIF':
      return 'OP_IF/NOTIF argument must be minimal in tapscript';
    case 'TAPSCRIPT_EMPTY_PUBKEY':
      return 'Empty public key in tapscript';
    case 'OP_CODESEPARATOR':
      return 'Using OP_CODESEPARATOR in non-witness script';
    case 'SIG_FINDANDDELETE':
      return 'Signature is found in scriptCode';
    case 'UNKNOWN_ERROR':
      return 'unknown error';
    default:
      return assertNever(e, 'script error');
  }
}
