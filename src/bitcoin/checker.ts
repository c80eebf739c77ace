// The interpreter's view of the spending transaction (Core's BaseSignatureChecker and
// TransactionSignatureChecker): signature checks against the right sighash, and lock-time rules.
import type { Sat } from '../core/units.ts';
import { bip340Verify } from '../crypto/bip340-verify.ts';
import { ecdsaVerify, isPublicKey, signatureNormalize } from '../crypto/secp256k1.ts';
import type { ScriptError } from './script-error.ts';
import { legacySighash, SighashCache, segwitV0Sighash, taprootSighash } from './sighash.ts';
import { parseDerLax, pubkeyLengthForHeader } from './signature-encoding.ts';
import type { Transaction } from './tx.ts';

export type SigVersion = 'base' | 'witness_v0' | 'taproot' | 'tapscript';

export const LOCKTIME_THRESHOLD = 500_000_000;
export const SEQUENCE_FINAL = 0xffffffff;
export const SEQUENCE_LOCKTIME_DISABLE_FLAG = 0x8000_0000;
export const SEQUENCE_LOCKTIME_TYPE_FLAG = 1 << 22;
export const SEQUENCE_LOCKTIME_MASK = 0x0000ffff;

/** Taproot/tapscript execution context (Core's ScriptExecutionData). */
export interface ExecData {
  annex?: Uint8Array;
  leafHash?: Uint8Array;
  codeSeparatorPos: number;
  validationWeightLeft: number;
}

/** What the interpreter needs from the spending transaction (Core's BaseSignatureChecker). */
export interface SignatureChecker {
  /** `sig` includes the hash type byte; false for any invalid signature or key. */
  checkEcdsa(
    sig: Uint8Array,
    pubkey: Uint8Array,
    scriptCode: Uint8Array,
    sigversion: 'base' | 'witness_v0',
  ): boolean;
  /** null when valid; otherwise the Schnorr error. `pubkey` is 32 bytes. */
  checkSchnorr(
    sig: Uint8Array,
    pubkey: Uint8Array,
    sigversion: 'taproot' | 'tapscript',
    exec: ExecData,
  ): ScriptError | null;
  checkLockTime(locktime: bigint): boolean;
  checkSequence(sequence: bigint): boolean;
}

/** A checker that fails every signature and lock (Core's BaseSignatureChecker): for scripts without a tx. */
export const NULL_CHECKER: SignatureChecker = {
  checkEcdsa: () => false,
  checkSchnorr: () => 'SCHNORR_SIG',
  checkLockTime: () => false,
  checkSequence: () => false,
};

/** Checks signatures against input `inputIndex` of `tx` (Core's TransactionSignatureChecker). */
export class TransactionChecker implements SignatureChecker {
  constructor(
    readonly tx: Transaction,
    readonly inputIndex: number,
    readonly amount: Sat,
    readonly cache: SighashCache = new SighashCache(tx),
  ) {}

  checkEcdsa(
    sig: Uint8Array,
    pubkey: Uint8Array,
    scriptCode: Uint8Array,
    sigversion: 'base' | 'witness_v0',
  ): boolean {
    if (pubkey.length === 0 || pubkeyLengthForHeader(pubkey[0]!) !== pubkey.length || !isPublicKey(pubkey))
      return false;
    if (sig.length === 0) return false;
    const hashType = sig[sig.length - 1]!;
    const compact = parseDerLax(sig.subarray(0, sig.length - 1));
    if (compact === null) return false;
    const sighash =
      sigversion === 'base'
        ? legacySighash(this.tx, this.inputIndex, scriptCode, hashType)
        : segwitV0Sighash(this.tx, this.inputIndex, scriptCode, this.amount, hashType, this.cache);
    try {
      // libsecp256k1 only accepts low-S; consensus accepts both, so normalize first as Core does.
      return ecdsaVerify(signatureNormalize(compact), sighash, pubkey);
    } catch {
      return false;
    }
  }

  checkSchnorr(
    sigIn: Uint8Array,
    pubkey: Uint8Array,
    sigversion: 'taproot' | 'tapscript',
    exec: ExecData,
  ): ScriptError | null {
    if (sigIn.length !== 64 && sigIn.length !== 65) return 'SCHNORR_SIG_SIZE';
    let hashType = 0;
    let sig = sigIn;
    if (sigIn.length === 65) {
      hashType = sigIn[64]!;
      if (hashType === 0) return 'SCHNORR_SIG_HASHTYPE';
      sig = sigIn.subarray(0, 64);
    }
    const options =
      sigversion === 'tapscript'
        ? {
            annex: exec.annex,
            tapscript: { leafHash: exec.leafHash!, codeSeparatorPos: exec.codeSeparatorPos },
          }
        : { annex: exec.annex };
    const sighash = taprootSighash(this.cache, this.inputIndex, hashType, options);
    if (sighash === null) return 'SCHNORR_SIG_HASHTYPE';
    return bip340Verify(sig, sighash, pubkey) ? null : 'SCHNORR_SIG';
  }

  checkLockTime(locktime: bigint): boolean {
    const txLock = BigInt(this.tx.locktime);
    const threshold = BigInt(LOCKTIME_THRESHOLD);
    // Both heights or both times; comparing one with the other is meaningless.
    if (!((txLock < threshold && locktime < threshold) || (txLock >= threshold && locktime >= threshold)))
      return false;
    if (locktime > txLock) return false;
    // A final input disables nLockTime, and with it the check.
    return this.tx.inputs[this.inputIndex]!.sequence !== SEQUENCE_FINAL;
  }

  checkSequence(sequence: bigint): boolean {
    const txSequence = BigInt(this.tx.inputs[this.inputIndex]!.sequence >>> 0);
    if (this.tx.version >>> 0 < 2) return false;
    if (txSequence & BigInt(SEQUENCE_LOCKTIME_DISABLE_FLAG >>> 0)) return false;
    const mask = BigInt(SEQUENCE_LOCKTIME_TYPE_FLAG | SEQUENCE_LOCKTIME_MASK);
    const typeFlag = BigInt(SEQUENCE_LOCKTIME_TYPE_FLAG);
    const txMasked = txSequence & mask;
    const masked = sequence & mask;
    if (!((txMasked < typeFlag && masked < typeFlag) || (txMasked >= typeFlag && masked >= typeFlag)))
      return false;
    return masked <= txMasked;
  }
}
