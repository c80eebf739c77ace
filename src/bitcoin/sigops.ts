// Signature operation counting as Core's consensus limits use it (MAX_BLOCK_SIGOPS_COST) and its
// mempool policy (MAX_STANDARD_TX_SIGOPS_COST): legacy, P2SH and witness sigops, weighted.

import { isCoinbase, WITNESS_SCALE_FACTOR } from './check-tx.ts';
import { isP2SH, isPushOnly, MAX_PUBKEYS_PER_MULTISIG, OP, readOp, witnessProgram } from './script.ts';
import { VERIFY } from './script-error.ts';
import type { Transaction, TxOut } from './tx.ts';

export const MAX_BLOCK_SIGOPS_COST = 80_000;
export const MAX_STANDARD_TX_SIGOPS_COST = MAX_BLOCK_SIGOPS_COST / 5;

/**
 * CScript::GetSigOpCount. `accurate` counts CHECKMULTISIG by its preceding OP_1..OP_16 (as P2SH and
 * witness scripts are counted); otherwise every CHECKMULTISIG counts as 20.
 */
export function scriptSigOpCount(script: Uint8Array, accurate: boolean): number {
  let n = 0;
  let last: number = OP.OP_INVALIDOPCODE;
  let pc = 0;
  while (pc < script.length) {
    const r = readOp(script, pc);
    if (r === null) break;
    const op = r.op.opcode;
    if (op === OP.OP_CHECKSIG || op === OP.OP_CHECKSIGVERIFY) n++;
    else if (op === OP.OP_CHECKMULTISIG || op === OP.OP_CHECKMULTISIGVERIFY) {
      n += accurate && last >= OP.OP_1 && last <= OP.OP_16 ? last - OP.OP_1 + 1 : MAX_PUBKEYS_PER_MULTISIG;
    }
    last = op;
    pc = r.next;
  }
  return n;
}

/** The data of the last push of a push-only script (the P2SH redeem script), or null. */
function lastPush(scriptSig: Uint8Array): Uint8Array | null {
  let data: Uint8Array = new Uint8Array(0);
  let pc = 0;
  while (pc < scriptSig.length) {
    const r = readOp(scriptSig, pc);
    if (r === null || r.op.opcode > OP.OP_16) return null;
    data = r.op.data ?? new Uint8Array(0);
    pc = r.next;
  }
  return data;
}

/** Sigops in a P2SH spend's redeem script (CScript::GetSigOpCount(scriptSig)). */
export function p2shSigOpCount(scriptPubKey: Uint8Array, scriptSig: Uint8Array): number {
  if (!isP2SH(scriptPubKey)) return scriptSigOpCount(scriptPubKey, true);
  const redeem = lastPush(scriptSig);
  return redeem === null ? 0 : scriptSigOpCount(redeem, true);
}

function witnessSigOps(version: number, program: Uint8Array, witness: readonly Uint8Array[]): number {
  if (version !== 0) return 0;
  if (program.length === 20) return 1;
  if (program.length === 32 && witness.length > 0)
    return scriptSigOpCount(witness[witness.length - 1]!, true);
  return 0;
}

/** CountWitnessSigOps: unweighted witness sigops of one input. */
export function witnessSigOpCount(
  scriptSig: Uint8Array,
  scriptPubKey: Uint8Array,
  witness: readonly Uint8Array[],
  flags: number,
): number {
  if (!(flags & VERIFY.WITNESS)) return 0;
  const wp = witnessProgram(scriptPubKey);
  if (wp !== null) return witnessSigOps(wp.version, wp.program, witness);
  if (isP2SH(scriptPubKey) && isPushOnly(scriptSig)) {
    const redeem = lastPush(scriptSig);
    const inner = redeem === null ? null : witnessProgram(redeem);
    if (inner !== null) return witnessSigOps(inner.version, inner.program, witness);
  }
  return 0;
}

/** GetLegacySigOpCount: inaccurate count over every scriptSig and output script. */
export function legacySigOpCount(tx: Transaction): number {
  let n = 0;
  for (const i of tx.inputs) n += scriptSigOpCount(i.scriptSig, false);
  for (const o of tx.outputs) n += scriptSigOpCount(o.script, false);
  return n;
}

/** GetTransactionSigOpCost: legacy and P2SH sigops count 4, witness sigops 1. `prevouts` in input order. */
export function transactionSigOpCost(tx: Transaction, prevouts: readonly TxOut[], flags: number): number {
  let cost = legacySigOpCount(tx) * WITNESS_SCALE_FACTOR;
  if (isCoinbase(tx)) return cost;
  if (prevouts.length !== tx.inputs.length)
    throw new RangeError('prevouts must list the output spent by every input');
  if (flags & VERIFY.P2SH) {
    tx.inputs.forEach((input, i) => {
      const spent = prevouts[i]!.script;
      if (isP2SH(spent)) cost += p2shSigOpCount(spent, input.scriptSig) * WITNESS_SCALE_FACTOR;
    });
  }
  tx.inputs.forEach((input, i) => {
    cost += witnessSigOpCount(input.scriptSig, prevouts[i]!.script, input.witness, flags);
  });
  return cost;
}
