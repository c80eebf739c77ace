// The Bitcoin script interpreter: Core's EvalScript / VerifyScript / VerifyWitnessProgram with its
// verify flags, for legacy, P2SH, segwit v0 (P2WPKH, P2WSH, nested) and taproot (key and script path).
// Devnet validates every transaction with it, so each rule follows Core's order of checks: which
// error comes first is observable.
import { concat, equal } from '../core/bytes.ts';
import { hash160, ripemd160, sha1, sha256, sha256d } from '../crypto/hash.ts';
import {
  type ExecData,
  SEQUENCE_LOCKTIME_DISABLE_FLAG,
  type SignatureChecker,
  type SigVersion,
  TransactionChecker,
} from './checker.ts';
import {
  decodeScriptNum,
  encodeScriptNum,
  isP2SH,
  isPushOnly,
  MAX_OPS_PER_SCRIPT,
  MAX_PUBKEYS_PER_MULTISIG,
  MAX_SCRIPT_ELEMENT_SIZE,
  MAX_SCRIPT_SIZE,
  MAX_STACK_SIZE,
  OP,
  p2pkh,
  pushDataRaw,
  readOp,
  witnessProgram,
} from './script.ts';
import { type ScriptError, VERIFY } from './script-error.ts';
import { SighashCache } from './sighash.ts';
import {
  isCompressedOrUncompressedPubKey,
  isCompressedPubKey,
  isLowS,
  isValidSignatureEncoding,
} from './signature-encoding.ts';
import {
  ANNEX_TAG,
  TAPROOT_CONTROL_BASE_SIZE,
  TAPROOT_CONTROL_MAX_SIZE,
  TAPROOT_CONTROL_NODE_SIZE,
  TAPROOT_LEAF_MASK,
  TAPROOT_LEAF_TAPSCRIPT,
  tapleafHash,
  verifyTaprootCommitment,
} from './taproot.ts';
import { encodeCompactSize, type Transaction, type TxOut } from './tx.ts';

// BIP342 signature budget: 50 per executed signature, funded by the witness size plus 50.
const VALIDATION_WEIGHT_PER_SIGOP_PASSED = 50;
const VALIDATION_WEIGHT_OFFSET = 50;

export {
  type ExecData,
  LOCKTIME_THRESHOLD,
  NULL_CHECKER,
  SEQUENCE_FINAL,
  SEQUENCE_LOCKTIME_DISABLE_FLAG,
  SEQUENCE_LOCKTIME_MASK,
  SEQUENCE_LOCKTIME_TYPE_FLAG,
  type SignatureChecker,
  type SigVersion,
  TransactionChecker,
} from './checker.ts';

// ---------------------------------------------------------------------------------------------
// Evaluation. Failures unwind as a private exception and come back out as a ScriptError value.

class Fail {
  constructor(readonly error: ScriptError) {}
}

function fail(error: ScriptError): never {
  throw new Fail(error);
}

const FALSE = new Uint8Array(0);
const TRUE = new Uint8Array([1]);

export function castToBool(v: Uint8Array): boolean {
  for (let i = 0; i < v.length; i++) {
    if (v[i] !== 0) return !(i === v.length - 1 && v[i] === 0x80); // negative zero is false
  }
  return false;
}

function checkMinimalPush(data: Uint8Array, opcode: number): boolean {
  if (data.length === 0) return opcode === OP.OP_0;
  if (data.length === 1 && data[0]! >= 1 && data[0]! <= 16) return opcode === OP.OP_1 + data[0]! - 1;
  if (data.length === 1 && data[0] === 0x81) return opcode === OP.OP_1NEGATE;
  if (data.length <= 75) return opcode === data.length;
  if (data.length <= 255) return opcode === OP.OP_PUSHDATA1;
  if (data.length <= 65535) return opcode === OP.OP_PUSHDATA2;
  return true;
}

function isDefinedHashtypeSignature(sig: Uint8Array): boolean {
  if (sig.length === 0) return false;
  const t = sig[sig.length - 1]! & ~0x80;
  return t >= 1 && t <= 3;
}

function checkSignatureEncoding(sig: Uint8Array, flags: number): void {
  // An empty signature is the compact way to fail a CHECK(MULTI)SIG on purpose.
  if (sig.length === 0) return;
  if (flags & (VERIFY.DERSIG | VERIFY.LOW_S | VERIFY.STRICTENC) && !isValidSignatureEncoding(sig))
    fail('SIG_DER');
  if (flags & VERIFY.LOW_S && !isLowS(sig.subarray(0, sig.length - 1))) fail('SIG_HIGH_S');
  if (flags & VERIFY.STRICTENC && !isDefinedHashtypeSignature(sig)) fail('SIG_HASHTYPE');
}

function checkPubKeyEncoding(pubkey: Uint8Array, flags: number, sigversion: SigVersion): void {
  if (flags & VERIFY.STRICTENC && !isCompressedOrUncompressedPubKey(pubkey)) fail('PUBKEYTYPE');
  if (flags & VERIFY.WITNESS_PUBKEYTYPE && sigversion === 'witness_v0' && !isCompressedPubKey(pubkey)) {
    fail('WITNESS_PUBKEYTYPE');
  }
}

/** Core's FindAndDelete: removes every op-aligned occurrence of `pattern`; returns the count. */
export function findAndDelete(s: Uint8Array, pattern: Uint8Array): { script: Uint8Array; found: number } {
  if (pattern.length === 0) return { script: s, found: 0 };
  const parts: Uint8Array[] = [];
  let found = 0;
  let pc = 0;
  let kept = 0;
  for (;;) {
    parts.push(s.subarray(kept, pc));
    while (s.length - pc >= pattern.length && equal(s.subarray(pc, pc + pattern.length), pattern)) {
      pc += pattern.length;
      found++;
    }
    kept = pc;
    const r = readOp(s, pc);
    if (r === null) break;
    pc = r.next;
  }
  if (found === 0) return { script: s, found };
  parts.push(s.subarray(kept));
  return { script: concat(...parts), found };
}

function isOpSuccess(op: number): boolean {
  return (
    op === 80 ||
    op === 98 ||
    (op >= 126 && op <= 129) ||
    (op >= 131 && op <= 134) ||
    (op >= 137 && op <= 138) ||
    (op >= 141 && op <= 142) ||
    (op >= 149 && op <= 153) ||
    (op >= 187 && op <= 254)
  );
}

const DISABLED = new Set<number>([
  OP.OP_CAT,
  OP.OP_SUBSTR,
  OP.OP_LEFT,
  OP.OP_RIGHT,
  OP.OP_INVERT,
  OP.OP_AND,
  OP.OP_OR,
  OP.OP_XOR,
  OP.OP_2MUL,
  OP.OP_2DIV,
  OP.OP_MUL,
  OP.OP_DIV,
  OP.OP_MOD,
  OP.OP_LSHIFT,
  OP.OP_RSHIFT,
]);

/** Runs `script` on `stack` (mutated). Throws Fail; callers use evalScript or verifyScript. */
function run(
  stack: Uint8Array[],
  script: Uint8Array,
  flags: number,
  checker: SignatureChecker,
  sigversion: 'base' | 'witness_v0' | 'tapscript',
  exec: ExecData,
): void {
  const legacyLimits = sigversion === 'base' || sigversion === 'witness_v0';
  if (legacyLimits && script.length > MAX_SCRIPT_SIZE) fail('SCRIPT_SIZE');
  const requireMinimal = (flags & VERIFY.MINIMALDATA) !== 0;
  const altstack: Uint8Array[] = [];
  const vfExec: boolean[] = [];
  let falseCount = 0;
  let opCount = 0;
  let codeHashStart = 0;
  let opcodePos = 0;

  const num = (v: Uint8Array, maxSize = 4): bigint => {
    const r = decodeScriptNum(v, requireMinimal, maxSize);
    if (!r.ok) fail('UNKNOWN_ERROR'); // Core's scriptnum_error lands in EvalScript's catch-all
    return r.value;
  };
  const top = (i: number): Uint8Array => stack[stack.length + i]!;
  const need = (n: number): void => {
    if (stack.length < n) fail('INVALID_STACK_OPERATION');
  };
  const pop = (): Uint8Array => {
    const v = stack.pop();
    if (v === undefined) fail('INVALID_STACK_OPERATION');
    return v;
  };
  const pushBool = (b: boolean): void => {
    stack.push(b ? TRUE : FALSE);
  };

  const checksigPreTapscript = (sig: Uint8Array, pubkey: Uint8Array): boolean => {
    let scriptCode = script.subarray(codeHashStart);
    if (sigversion === 'base') {
      const r = findAndDelete(scriptCode, pushDataRaw(sig));
      if (r.found > 0 && flags & VERIFY.CONST_SCRIPTCODE) fail('SIG_FINDANDDELETE');
      scriptCode = r.script;
    }
    checkSignatureEncoding(sig, flags);
    checkPubKeyEncoding(pubkey, flags, sigversion);
    const ok = checker.checkEcdsa(sig, pubkey, scriptCode, sigversion === 'base' ? 'base' : 'witness_v0');
    if (!ok && flags & VERIFY.NULLFAIL && sig.length > 0) fail('SIG_NULLFAIL');
    return ok;
  };

  const checksigTapscript = (sig: Uint8Array, pubkey: Uint8Array): boolean => {
    // Order matters (BIP342): weight budget, then empty key, then the signature itself.
    const success = sig.length > 0;
    if (success) {
      exec.validationWeightLeft -= VALIDATION_WEIGHT_PER_SIGOP_PASSED;
      if (exec.validationWeightLeft < 0) fail('TAPSCRIPT_VALIDATION_WEIGHT');
    }
    if (pubkey.length === 0) fail('TAPSCRIPT_EMPTY_PUBKEY');
    if (pubkey.length === 32) {
      if (success) {
        const e = checker.checkSchnorr(sig, pubkey, 'tapscript', exec);
        if (e !== null) fail(e);
      }
    } else if (flags & VERIFY.DISCOURAGE_UPGRADABLE_PUBKEYTYPE) {
      fail('DISCOURAGE_UPGRADABLE_PUBKEYTYPE');
    }
    return success;
  };

  const checksig = (sig: Uint8Array, pubkey: Uint8Array): boolean =>
    sigversion === 'tapscript' ? checksigTapscript(sig, pubkey) : checksigPreTapscript(sig, pubkey);

  let pc = 0;
  for (; pc < script.length; opcodePos++) {
    const fExec = falseCount === 0;
    const r = readOp(script, pc);
    if (r === null) fail('BAD_OPCODE');
    pc = r.next;
    const { opcode } = r.op;
    const data = r.op.data;
    if (data !== undefined && data.length > MAX_SCRIPT_ELEMENT_SIZE) fail('PUSH_SIZE');
    if (legacyLimits && opcode > OP.OP_16 && ++opCount > MAX_OPS_PER_SCRIPT) fail('OP_COUNT');
    if (DISABLED.has(opcode)) fail('DISABLED_OPCODE');
    if (opcode === OP.OP_CODESEPARATOR && sigversion === 'base' && flags & VERIFY.CONST_SCRIPTCODE) {
      fail('OP_CODESEPARATOR');
    }

    if (fExec && data !== undefined) {
      if (requireMinimal && !checkMinimalPush(data, opcode)) fail('MINIMALDATA');
      stack.push(data);
    } else if (fExec || (opcode >= OP.OP_IF && opcode <= OP.OP_ENDIF)) {
      switch (opcode) {
        case OP.OP_1NEGATE:
        case OP.OP_1:
        case OP.OP_2:
        case OP.OP_3:
        case OP.OP_4:
        case OP.OP_5:
        case OP.OP_6:
        case OP.OP_7:
        case OP.OP_8:
        case OP.OP_9:
        case OP.OP_10:
        case OP.OP_11:
        case OP.OP_12:
        case OP.OP_13:
        case OP.OP_14:
        case OP.OP_15:
        case OP.OP_16:
          stack.push(encodeScriptNum(BigInt(opcode - (OP.OP_1 - 1))));
          break;

        case OP.OP_NOP:
          break;

        case OP.OP_CHECKLOCKTIMEVERIFY: {
          // Not enabled: a plain NOP2, never "discouraged", so that removing a flag cannot fail a tx.
          if (!(flags & VERIFY.CHECKLOCKTIMEVERIFY)) break;
          need(1);
          // 5-byte operands: nLockTime is a uint32, past CScriptNum's usual 4 bytes.
          const locktime = num(top(-1), 5);
          if (locktime < 0n) fail('NEGATIVE_LOCKTIME');
          if (!checker.checkLockTime(locktime)) fail('UNSATISFIED_LOCKTIME');
          break;
        }

        case OP.OP_CHECKSEQUENCEVERIFY: {
          if (!(flags & VERIFY.CHECKSEQUENCEVERIFY)) break; // a plain NOP3, as above
          need(1);
          const sequence = num(top(-1), 5);
          if (sequence < 0n) fail('NEGATIVE_LOCKTIME');
          // The disable flag in the operand keeps CSV a NOP for future soft forks.
          if (sequence & BigInt(SEQUENCE_LOCKTIME_DISABLE_FLAG >>> 0)) break;
          if (!checker.checkSequence(sequence)) fail('UNSATISFIED_LOCKTIME');
          break;
        }

        case OP.OP_NOP1:
        case OP.OP_NOP4:
        case OP.OP_NOP5:
        case OP.OP_NOP6:
        case OP.OP_NOP7:
        case OP.OP_NOP8:
        case OP.OP_NOP9:
        case OP.OP_NOP10:
          if (flags & VERIFY.DISCOURAGE_UPGRADABLE_NOPS) fail('DISCOURAGE_UPGRADABLE_NOPS');
          break;

        case OP.OP_IF:
        case OP.OP_NOTIF: {
          let value = false;
          if (fExec) {
            if (stack.length < 1) fail('UNBALANCED_CONDITIONAL');
            const v = top(-1);
            if (sigversion === 'tapscript' && (v.length > 1 || (v.length === 1 && v[0] !== 1))) {
              fail('TAPSCRIPT_MINIMALIF');
            }
            if (sigversion === 'witness_v0' && flags & VERIFY.MINIMALIF) {
              if (v.length > 1 || (v.length === 1 && v[0] !== 1)) fail('MINIMALIF');
            }
            value = castToBool(v);
            if (opcode === OP.OP_NOTIF) value = !value;
            stack.pop();
          }
          vfExec.push(value);
          if (!value) falseCount++;
          break;
        }

        case OP.OP_ELSE: {
          if (vfExec.length === 0) fail('UNBALANCED_CONDITIONAL');
          const last = vfExec.length - 1;
          const was = vfExec[last]!;
          vfExec[last] = !was;
          falseCount += was ? 1 : -1;
          break;
        }

        case OP.OP_ENDIF: {
          if (vfExec.length === 0) fail('UNBALANCED_CONDITIONAL');
          if (!vfExec.pop()) falseCount--;
          break;
        }

        case OP.OP_VERIFY:
          need(1);
          if (!castToBool(top(-1))) fail('VERIFY');
          stack.pop();
          break;

        case OP.OP_RETURN:
          fail('OP_RETURN');
          break;

        case OP.OP_TOALTSTACK:
          need(1);
          altstack.push(pop());
          break;

        case OP.OP_FROMALTSTACK: {
          const v = altstack.pop();
          if (v === undefined) fail('INVALID_ALTSTACK_OPERATION');
          stack.push(v);
          break;
        }

        case OP.OP_2DROP:
          need(2);
          stack.length -= 2;
          break;

        case OP.OP_2DUP: {
          need(2);
          const a = top(-2);
          const b = top(-1);
          stack.push(a, b);
          break;
        }

        case OP.OP_3DUP: {
          need(3);
          const a = top(-3);
          const b = top(-2);
          const c = top(-1);
          stack.push(a, b, c);
          break;
        }

        case OP.OP_2OVER: {
          need(4);
          const a = top(-4);
          const b = top(-3);
          stack.push(a, b);
          break;
        }

        case OP.OP_2ROT: {
          need(6);
          const moved = stack.splice(stack.length - 6, 2);
          stack.push(...moved);
          break;
        }

        case OP.OP_2SWAP: {
          need(4);
          const moved = stack.splice(stack.length - 4, 2);
          stack.push(...moved);
          break;
        }

        case OP.OP_IFDUP:
          need(1);
          if (castToBool(top(-1))) stack.push(top(-1));
          break;

        case OP.OP_DEPTH:
          stack.push(encodeScriptNum(BigInt(stack.length)));
          break;

        case OP.OP_DROP:
          need(1);
          stack.pop();
          break;

        case OP.OP_DUP:
          need(1);
          stack.push(top(-1));
          break;

        case OP.OP_NIP:
          need(2);
          stack.splice(stack.length - 2, 1);
          break;

        case OP.OP_OVER:
          need(2);
          stack.push(top(-2));
          break;

        case OP.OP_PICK:
        case OP.OP_ROLL: {
          need(2);
          const n = Number(num(top(-1)));
          stack.pop();
          if (n < 0 || n >= stack.length) fail('INVALID_STACK_OPERATION');
          const v = top(-n - 1);
          if (opcode === OP.OP_ROLL) stack.splice(stack.length - n - 1, 1);
          stack.push(v);
          break;
        }

        case OP.OP_ROT: {
          need(3);
          const [v] = stack.splice(stack.length - 3, 1);
          stack.push(v!);
          break;
        }

        case OP.OP_SWAP: {
          need(2);
          const a = top(-2);
          stack[stack.length - 2] = top(-1);
          stack[stack.length - 1] = a;
          break;
        }

        case OP.OP_TUCK: {
          need(2);
          stack.splice(stack.length - 2, 0, top(-1));
          break;
        }

        case OP.OP_SIZE:
          need(1);
          stack.push(encodeScriptNum(BigInt(top(-1).length)));
          break;

        case OP.OP_EQUAL:
        case OP.OP_EQUALVERIFY: {
          need(2);
          const b = pop();
          const a = pop();
          const same = equal(a, b);
          pushBool(same);
          if (opcode === OP.OP_EQUALVERIFY) {
            if (!same) fail('EQUALVERIFY');
            stack.pop();
          }
          break;
        }

        case OP.OP_1ADD:
        case OP.OP_1SUB:
        case OP.OP_NEGATE:
        case OP.OP_ABS:
        case OP.OP_NOT:
        case OP.OP_0NOTEQUAL: {
          need(1);
          let bn = num(top(-1));
          if (opcode === OP.OP_1ADD) bn += 1n;
          else if (opcode === OP.OP_1SUB) bn -= 1n;
          else if (opcode === OP.OP_NEGATE) bn = -bn;
          else if (opcode === OP.OP_ABS) bn = bn < 0n ? -bn : bn;
          else if (opcode === OP.OP_NOT) bn = bn === 0n ? 1n : 0n;
          else bn = bn !== 0n ? 1n : 0n;
          stack.pop();
          stack.push(encodeScriptNum(bn));
          break;
        }

        case OP.OP_ADD:
        case OP.OP_SUB:
        case OP.OP_BOOLAND:
        case OP.OP_BOOLOR:
        case OP.OP_NUMEQUAL:
        case OP.OP_NUMEQUALVERIFY:
        case OP.OP_NUMNOTEQUAL:
        case OP.OP_LESSTHAN:
        case OP.OP_GREATERTHAN:
        case OP.OP_LESSTHANOREQUAL:
        case OP.OP_GREATERTHANOREQUAL:
        case OP.OP_MIN:
        case OP.OP_MAX: {
          need(2);
          const a = num(top(-2));
          const b = num(top(-1));
          let bn: bigint;
          if (opcode === OP.OP_ADD) bn = a + b;
          else if (opcode === OP.OP_SUB) bn = a - b;
          else if (opcode === OP.OP_BOOLAND) bn = a !== 0n && b !== 0n ? 1n : 0n;
          else if (opcode === OP.OP_BOOLOR) bn = a !== 0n || b !== 0n ? 1n : 0n;
          else if (opcode === OP.OP_NUMEQUAL || opcode === OP.OP_NUMEQUALVERIFY) bn = a === b ? 1n : 0n;
          else if (opcode === OP.OP_NUMNOTEQUAL) bn = a !== b ? 1n : 0n;
          else if (opcode === OP.OP_LESSTHAN) bn = a < b ? 1n : 0n;
          else if (opcode === OP.OP_GREATERTHAN) bn = a > b ? 1n : 0n;
          else if (opcode === OP.OP_LESSTHANOREQUAL) bn = a <= b ? 1n : 0n;
          else if (opcode === OP.OP_GREATERTHANOREQUAL) bn = a >= b ? 1n : 0n;
          // biome-ignore lint/complexity/useMathMinMax: bigint operands
          else if (opcode === OP.OP_MIN) bn = a < b ? a : b;
          // biome-ignore lint/complexity/useMathMinMax: bigint operands
          else bn = a > b ? a : b;
          stack.length -= 2;
          stack.push(encodeScriptNum(bn));
          if (opcode === OP.OP_NUMEQUALVERIFY) {
            if (!castToBool(top(-1))) fail('NUMEQUALVERIFY');
            stack.pop();
          }
          break;
        }

        case OP.OP_WITHIN: {
          need(3);
          const x = num(top(-3));
          const min = num(top(-2));
          const max = num(top(-1));
          stack.length -= 3;
          pushBool(min <= x && x < max);
          break;
        }

        case OP.OP_RIPEMD160:
        case OP.OP_SHA1:
        case OP.OP_SHA256:
        case OP.OP_HASH160:
        case OP.OP_HASH256: {
          need(1);
          const v = pop();
          if (opcode === OP.OP_RIPEMD160) stack.push(ripemd160(v));
          else if (opcode === OP.OP_SHA1) stack.push(sha1(v));
          else if (opcode === OP.OP_SHA256) stack.push(sha256(v));
          else if (opcode === OP.OP_HASH160) stack.push(hash160(v));
          else stack.push(sha256d(v));
          break;
        }

        case OP.OP_CODESEPARATOR:
          // Signatures commit to the script after the last executed OP_CODESEPARATOR.
          codeHashStart = pc;
          exec.codeSeparatorPos = opcodePos;
          break;

        case OP.OP_CHECKSIG:
        case OP.OP_CHECKSIGVERIFY: {
          need(2);
          const ok = checksig(top(-2), top(-1));
          stack.length -= 2;
          pushBool(ok);
          if (opcode === OP.OP_CHECKSIGVERIFY) {
            if (!ok) fail('CHECKSIGVERIFY');
            stack.pop();
          }
          break;
        }

        case OP.OP_CHECKSIGADD: {
          if (sigversion !== 'tapscript') fail('BAD_OPCODE');
          need(3);
          const sig = top(-3);
          const n = num(top(-2));
          const pubkey = top(-1);
          const ok = checksig(sig, pubkey);
          stack.length -= 3;
          stack.push(encodeScriptNum(n + (ok ? 1n : 0n)));
          break;
        }

        case OP.OP_CHECKMULTISIG:
        case OP.OP_CHECKMULTISIGVERIFY: {
          if (sigversion === 'tapscript') fail('TAPSCRIPT_CHECKMULTISIG');
          let i = 1;
          need(i);
          let keysCount = Number(num(top(-i)));
          if (keysCount < 0 || keysCount > MAX_PUBKEYS_PER_MULTISIG) fail('PUBKEY_COUNT');
          opCount += keysCount;
          if (opCount > MAX_OPS_PER_SCRIPT) fail('OP_COUNT');
          let ikey = ++i;
          // ikey2: position of the last non-signature item, for the NULLFAIL cleanup below.
          let ikey2 = keysCount + 2;
          i += keysCount;
          need(i);
          let sigsCount = Number(num(top(-i)));
          if (sigsCount < 0 || sigsCount > keysCount) fail('SIG_COUNT');
          let isig = ++i;
          i += sigsCount;
          need(i);

          let scriptCode = script.subarray(codeHashStart);
          for (let k = 0; k < sigsCount; k++) {
            if (sigversion === 'base') {
              const r2 = findAndDelete(scriptCode, pushDataRaw(top(-isig - k)));
              if (r2.found > 0 && flags & VERIFY.CONST_SCRIPTCODE) fail('SIG_FINDANDDELETE');
              scriptCode = r2.script;
            }
          }

          let success = true;
          while (success && sigsCount > 0) {
            const sig = top(-isig);
            const pubkey = top(-ikey);
            // Encoding checks run per pair as reached, so the order of keys and sigs is observable.
            checkSignatureEncoding(sig, flags);
            checkPubKeyEncoding(pubkey, flags, sigversion);
            if (checker.checkEcdsa(sig, pubkey, scriptCode, sigversion === 'base' ? 'base' : 'witness_v0')) {
              isig++;
              sigsCount--;
            }
            ikey++;
            keysCount--;
            // More signatures left than keys: it cannot succeed any more.
            if (sigsCount > keysCount) success = false;
          }

          while (i-- > 1) {
            if (!success && flags & VERIFY.NULLFAIL && !ikey2 && top(-1).length > 0) fail('SIG_NULLFAIL');
            if (ikey2 > 0) ikey2--;
            stack.pop();
          }
          // The historical off-by-one: one extra, unchecked element (NULLDUMMY wants it empty).
          need(1);
          if (flags & VERIFY.NULLDUMMY && top(-1).length > 0) fail('SIG_NULLDUMMY');
          stack.pop();
          pushBool(success);
          if (opcode === OP.OP_CHECKMULTISIGVERIFY) {
            if (!success) fail('CHECKMULTISIGVERIFY');
            stack.pop();
          }
          break;
        }

        default:
          fail('BAD_OPCODE');
      }
    }

    if (stack.length + altstack.length > MAX_STACK_SIZE) fail('STACK_SIZE');
  }

  if (vfExec.length > 0) fail('UNBALANCED_CONDITIONAL');
}

function newExecData(): ExecData {
  return { codeSeparatorPos: 0xffffffff, validationWeightLeft: 0 };
}

/** EvalScript for one script on a stack (mutated). null on success. */
export function evalScript(
  stack: Uint8Array[],
  script: Uint8Array,
  flags: number,
  checker: SignatureChecker,
  sigversion: 'base' | 'witness_v0' = 'base',
): ScriptError | null {
  try {
    run(stack, script, flags, checker, sigversion, newExecData());
    return null;
  } catch (e) {
    if (e instanceof Fail) return e.error;
    throw e;
  }
}

function executeWitnessScript(
  initial: readonly Uint8Array[],
  script: Uint8Array,
  flags: number,
  sigversion: 'witness_v0' | 'tapscript',
  checker: SignatureChecker,
  exec: ExecData,
): void {
  const stack = [...initial];
  if (sigversion === 'tapscript') {
    // OP_SUCCESSx anywhere makes the script succeed, before any other rule (BIP342).
    let pc = 0;
    while (pc < script.length) {
      const r = readOp(script, pc);
      if (r === null) fail('BAD_OPCODE');
      if (isOpSuccess(r.op.opcode)) {
        if (flags & VERIFY.DISCOURAGE_OP_SUCCESS) fail('DISCOURAGE_OP_SUCCESS');
        return;
      }
      pc = r.next;
    }
    if (stack.length > MAX_STACK_SIZE) fail('STACK_SIZE');
  }
  for (const item of stack) if (item.length > MAX_SCRIPT_ELEMENT_SIZE) fail('PUSH_SIZE');
  run(stack, script, flags, checker, sigversion, exec);
  // Witness scripts must leave exactly one true element (implicit CLEANSTACK).
  if (stack.length !== 1) fail('CLEANSTACK');
  if (!castToBool(stack[0]!)) fail('EVAL_FALSE');
}

function witnessSerializedSize(witness: readonly Uint8Array[]): number {
  let size = encodeCompactSize(witness.length).length;
  for (const w of witness) size += encodeCompactSize(w.length).length + w.length;
  return size;
}

function verifyWitnessProgram(
  witness: readonly Uint8Array[],
  version: number,
  program: Uint8Array,
  flags: number,
  checker: SignatureChecker,
  isP2sh: boolean,
): void {
  const exec = newExecData();
  if (version === 0) {
    if (program.length === 32) {
      if (witness.length === 0) fail('WITNESS_PROGRAM_WITNESS_EMPTY');
      const script = witness[witness.length - 1]!;
      if (!equal(sha256(script), program)) fail('WITNESS_PROGRAM_MISMATCH');
      executeWitnessScript(witness.slice(0, -1), script, flags, 'witness_v0', checker, exec);
      return;
    }
    if (program.length === 20) {
      if (witness.length !== 2) fail('WITNESS_PROGRAM_MISMATCH');
      executeWitnessScript(witness, p2pkh(program), flags, 'witness_v0', checker, exec);
      return;
    }
    fail('WITNESS_PROGRAM_WRONG_LENGTH');
  }
  if (version === 1 && program.length === 32 && !isP2sh) {
    if (!(flags & VERIFY.TAPROOT)) return;
    if (witness.length === 0) fail('WITNESS_PROGRAM_WITNESS_EMPTY');
    let stack = witness;
    const last = stack[stack.length - 1]!;
    if (stack.length >= 2 && last.length > 0 && last[0] === ANNEX_TAG) {
      exec.annex = last;
      stack = stack.slice(0, -1);
    }
    if (stack.length === 1) {
      const e = checker.checkSchnorr(stack[0]!, program, 'taproot', exec);
      if (e !== null) fail(e);
      return;
    }
    const control = stack[stack.length - 1]!;
    const script = stack[stack.length - 2]!;
    if (
      control.length < TAPROOT_CONTROL_BASE_SIZE ||
      control.length > TAPROOT_CONTROL_MAX_SIZE ||
      (control.length - TAPROOT_CONTROL_BASE_SIZE) % TAPROOT_CONTROL_NODE_SIZE !== 0
    ) {
      fail('TAPROOT_WRONG_CONTROL_SIZE');
    }
    const leafVersion = control[0]! & TAPROOT_LEAF_MASK;
    exec.leafHash = tapleafHash(leafVersion, script);
    if (!verifyTaprootCommitment(control, program, exec.leafHash)) fail('WITNESS_PROGRAM_MISMATCH');
    if (leafVersion === TAPROOT_LEAF_TAPSCRIPT) {
      exec.validationWeightLeft = witnessSerializedSize(witness) + VALIDATION_WEIGHT_OFFSET;
      executeWitnessScript(stack.slice(0, -2), script, flags, 'tapscript', checker, exec);
      return;
    }
    if (flags & VERIFY.DISCOURAGE_UPGRADABLE_TAPROOT_VERSION) fail('DISCOURAGE_UPGRADABLE_TAPROOT_VERSION');
    return;
  }
  // Pay-to-anchor (OP_1 <0x4e73>) is spendable by anyone, and standard.
  if (!isP2sh && version === 1 && program.length === 2 && program[0] === 0x4e && program[1] === 0x73) return;
  if (flags & VERIFY.DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM) fail('DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM');
  // Other versions and sizes stay anyone-can-spend for future soft forks.
}

/** Core's VerifyScript. null when the input's scripts succeed. */
export function verifyScript(
  scriptSig: Uint8Array,
  scriptPubKey: Uint8Array,
  witness: readonly Uint8Array[],
  flags: number,
  checker: SignatureChecker,
): ScriptError | null {
  try {
    verifyScriptOrThrow(scriptSig, scriptPubKey, witness, flags, checker);
    return null;
  } catch (e) {
    if (e instanceof Fail) return e.error;
    throw e;
  }
}

function verifyScriptOrThrow(
  scriptSig: Uint8Array,
  scriptPubKey: Uint8Array,
  witness: readonly Uint8Array[],
  flags: number,
  checker: SignatureChecker,
): void {
  if (flags & VERIFY.SIGPUSHONLY && !isPushOnly(scriptSig)) fail('SIG_PUSHONLY');
  // scriptSig and scriptPubKey run one after the other on one stack, never concatenated (CVE-2010-5141).
  let stack: Uint8Array[] = [];
  run(stack, scriptSig, flags, checker, 'base', newExecData());
  const stackCopy = flags & VERIFY.P2SH ? [...stack] : [];
  run(stack, scriptPubKey, flags, checker, 'base', newExecData());
  if (stack.length === 0 || !castToBool(stack[stack.length - 1]!)) fail('EVAL_FALSE');

  let hadWitness = false;
  if (flags & VERIFY.WITNESS) {
    const wp = witnessProgram(scriptPubKey);
    if (wp !== null) {
      hadWitness = true;
      if (scriptSig.length !== 0) fail('WITNESS_MALLEATED');
      verifyWitnessProgram(witness, wp.version, wp.program, flags, checker, false);
      stack = stack.slice(0, 1); // the witness program's own stack is not subject to CLEANSTACK
    }
  }

  if (flags & VERIFY.P2SH && isP2SH(scriptPubKey)) {
    if (!isPushOnly(scriptSig)) fail('SIG_PUSHONLY');
    stack = stackCopy;
    // Not empty: the P2SH template would have failed on an empty stack.
    const redeemScript = stack.pop()!;
    run(stack, redeemScript, flags, checker, 'base', newExecData());
    if (stack.length === 0 || !castToBool(stack[stack.length - 1]!)) fail('EVAL_FALSE');
    if (flags & VERIFY.WITNESS) {
      const wp = witnessProgram(redeemScript);
      if (wp !== null) {
        hadWitness = true;
        // Exactly one push of the redeem script, or the scriptSig would be malleable.
        if (!equal(scriptSig, pushDataRaw(redeemScript))) fail('WITNESS_MALLEATED_P2SH');
        verifyWitnessProgram(witness, wp.version, wp.program, flags, checker, true);
        stack = stack.slice(0, 1);
      }
    }
  }

  if (flags & VERIFY.CLEANSTACK) {
    if (!(flags & VERIFY.P2SH) || !(flags & VERIFY.WITNESS)) {
      throw new RangeError('CLEANSTACK requires P2SH and WITNESS');
    }
    if (stack.length !== 1) fail('CLEANSTACK');
  }
  if (flags & VERIFY.WITNESS) {
    if (!(flags & VERIFY.P2SH)) throw new RangeError('WITNESS requires P2SH');
    if (!hadWitness && witness.length > 0) fail('WITNESS_UNEXPECTED');
  }
}

/**
 * Verifies input `inputIndex` of `tx`. `prevouts` are the outputs spent by every input of `tx`, in
 * input order (taproot signatures commit to all of them). Pass one `cache` for all inputs of a tx.
 */
export function verifyInput(
  tx: Transaction,
  inputIndex: number,
  prevouts: readonly TxOut[],
  flags: number,
  cache: SighashCache = new SighashCache(tx, prevouts),
): ScriptError | null {
  const input = tx.inputs[inputIndex];
  if (input === undefined) throw new RangeError(`no input ${inputIndex}`);
  if (prevouts.length !== tx.inputs.length)
    throw new RangeError('prevouts must list the output spent by every input');
  const spent = prevouts[inputIndex]!;
  const checker = new TransactionChecker(tx, inputIndex, spent.value, cache);
  return verifyScript(input.scriptSig, spent.script, input.witness, flags, checker);
}

/** Verifies every input; the first failure with its input index, or null. */
export function verifyTransaction(
  tx: Transaction,
  prevouts: readonly TxOut[],
  flags: number,
): { inputIndex: number; error: ScriptError } | null {
  const cache = new SighashCache(tx, prevouts);
  for (let i = 0; i < tx.inputs.length; i++) {
    const error = verifyInput(tx, i, prevouts, flags, cache);
    if (error !== null) return { inputIndex: i, error };
  }
  return null;
}

export { checkTransaction, isCoinbase, type TxCheckError } from './check-tx.ts';
// The validation API in one import for the chain backends.
export {
  MANDATORY_SCRIPT_VERIFY_FLAGS,
  parseVerifyFlags,
  type ScriptError,
  STANDARD_SCRIPT_VERIFY_FLAGS,
  scriptErrorString,
  VERIFY,
} from './script-error.ts';
