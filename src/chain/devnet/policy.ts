// Output script classification with Core's type names, and the standardness policy the devnet enforces
// (IsStandardTx, dust, witness limits). Pure; reject reasons are Core's strings.
import { isPushOnly, witnessProgram } from '../../bitcoin/script.ts';
import type { Transaction, TxOut } from '../../bitcoin/tx.ts';

export type ScriptType =
  | 'pubkey'
  | 'pubkeyhash'
  | 'scripthash'
  | 'multisig'
  | 'nulldata'
  | 'witness_v0_keyhash'
  | 'witness_v0_scripthash'
  | 'witness_v1_taproot'
  | 'anchor'
  | 'witness_unknown'
  | 'nonstandard';

const OP_RETURN = 0x6a;

function isCompressedOrUncompressedKey(b: Uint8Array): boolean {
  return (b.length === 33 && (b[0] === 2 || b[0] === 3)) || (b.length === 65 && b[0] === 4);
}

export function classifyScript(s: Uint8Array): ScriptType {
  if (
    s.length === 25 &&
    s[0] === 0x76 &&
    s[1] === 0xa9 &&
    s[2] === 0x14 &&
    s[23] === 0x88 &&
    s[24] === 0xac
  ) {
    return 'pubkeyhash';
  }
  if (s.length === 23 && s[0] === 0xa9 && s[1] === 0x14 && s[22] === 0x87) return 'scripthash';
  const wp = witnessProgram(s);
  if (wp) {
    if (wp.version === 0 && wp.program.length === 20) return 'witness_v0_keyhash';
    if (wp.version === 0 && wp.program.length === 32) return 'witness_v0_scripthash';
    if (wp.version === 1 && wp.program.length === 32) return 'witness_v1_taproot';
    if (wp.version === 1 && wp.program.length === 2 && wp.program[0] === 0x4e && wp.program[1] === 0x73)
      return 'anchor';
    if (wp.version !== 0) return 'witness_unknown';
    return 'nonstandard';
  }
  if (s.length > 0 && s[0] === OP_RETURN && isPushOnly(s.subarray(1))) return 'nulldata';
  if ((s.length === 35 || s.length === 67) && s[0] === s.length - 2 && s[s.length - 1] === 0xac) {
    if (isCompressedOrUncompressedKey(s.subarray(1, s.length - 1))) return 'pubkey';
  }
  if (isBareMultisig(s)) return 'multisig';
  return 'nonstandard';
}

function isBareMultisig(s: Uint8Array): boolean {
  if (s.length < 3 || s[s.length - 1] !== 0xae) return false;
  const m = s[0]! - 0x50;
  const n = s[s.length - 2]! - 0x50;
  if (m < 1 || m > 16 || n < 1 || n > 16 || m > n) return false;
  let i = 1;
  let keys = 0;
  while (i < s.length - 2) {
    const len = s[i]!;
    if (len !== 33 && len !== 65) return false;
    if (!isCompressedOrUncompressedKey(s.subarray(i + 1, i + 1 + len))) return false;
    i += 1 + len;
    keys++;
  }
  return i === s.length - 2 && keys === n && n <= 3; // policy: bare multisig up to 3 keys
}

/** Core's default dust relay fee: 3000 sat per 1000 vbytes. */
export const DUST_RELAY_FEE_PER_KVB = 3000n;

/** GetDustThreshold: the cost of spending the output at the dust relay fee. */
export function dustThreshold(o: TxOut, feePerKvb: bigint = DUST_RELAY_FEE_PER_KVB): bigint {
  const t = classifyScript(o.script);
  if (t === 'nulldata' || (o.script.length > 0 && o.script[0] === OP_RETURN) || o.script.length > 10_000)
    return 0n;
  const outSize = BigInt(8 + (o.script.length < 0xfd ? 1 : 3) + o.script.length);
  const spend = witnessProgram(o.script) ? 32n + 4n + 1n + 107n / 4n + 4n : 32n + 4n + 1n + 107n + 4n;
  return ((outSize + spend) * feePerKvb) / 1000n;
}

export const MAX_STANDARD_TX_WEIGHT = 400_000;
const MIN_STANDARD_TX_NONWITNESS_SIZE = 65;
const MAX_STANDARD_SCRIPTSIG_SIZE = 1650;
const MAX_OP_RETURN_RELAY = 83;

/** IsStandardTx (Core 28 defaults). Returns the reject reason or null. */
export function checkStandard(tx: Transaction, weight: number, baseSize: number): string | null {
  if (tx.version < 1 || tx.version > 3) return 'version';
  if (weight > MAX_STANDARD_TX_WEIGHT) return 'tx-size';
  if (baseSize < MIN_STANDARD_TX_NONWITNESS_SIZE) return 'tx-size-small';
  for (const i of tx.inputs) {
    if (i.scriptSig.length > MAX_STANDARD_SCRIPTSIG_SIZE) return 'scriptsig-size';
    if (!isPushOnly(i.scriptSig)) return 'scriptsig-not-pushonly';
  }
  let dataOutputs = 0;
  for (const o of tx.outputs) {
    const t = classifyScript(o.script);
    if (t === 'nonstandard') return 'scriptpubkey';
    if (t === 'nulldata') {
      if (o.script.length > MAX_OP_RETURN_RELAY) return 'scriptpubkey';
      dataOutputs++;
    } else if (o.value < dustThreshold(o)) {
      return 'dust';
    }
  }
  if (dataOutputs > 1) return 'multi-op-return';
  return null;
}

const MAX_STANDARD_P2WSH_SCRIPT_SIZE = 3600;
const MAX_STANDARD_P2WSH_STACK_ITEMS = 100;
const MAX_STANDARD_P2WSH_STACK_ITEM_SIZE = 80;

/** IsWitnessStandard for the v0 script-hash limits; 'bad-witness-nonstandard' or null. */
export function checkWitnessStandard(tx: Transaction, prevouts: readonly TxOut[]): string | null {
  for (let n = 0; n < tx.inputs.length; n++) {
    const input = tx.inputs[n]!;
    const prev = prevouts[n]!;
    if (input.witness.length === 0) continue;
    const wp = witnessProgram(prev.script);
    if (wp && wp.version === 0 && wp.program.length === 32) {
      const ws = input.witness[input.witness.length - 1]!;
      if (ws.length > MAX_STANDARD_P2WSH_SCRIPT_SIZE) return 'bad-witness-nonstandard';
      if (input.witness.length - 1 > MAX_STANDARD_P2WSH_STACK_ITEMS) return 'bad-witness-nonstandard';
      for (let k = 0; k < input.witness.length - 1; k++) {
        if (input.witness[k]!.length > MAX_STANDARD_P2WSH_STACK_ITEM_SIZE) return 'bad-witness-nonstandard';
      }
    }
  }
  return null;
}
