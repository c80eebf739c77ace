// Transaction weights and dust limits used for fee estimation before signing (pure).

import { isOpReturn, witnessProgram } from '../bitcoin/script.ts';
import { encodeCompactSize } from '../bitcoin/tx.ts';
import type { FeeratePerKw, Sat } from '../core/units.ts';

/** outpoint (36) + scriptSig length (1) + sequence (4), times 4 for non-witness bytes. */
const INPUT_BASE_WEIGHT = (36 + 1 + 4) * 4;

/**
 * A P2WPKH input: witness = item count (1) + DER signature with sighash byte (at most 72, low-S) with
 * its length (1) + compressed key (33) with its length (1). Estimated at the maximum, so the real
 * transaction never pays below the asked feerate.
 */
export const P2WPKH_INPUT_WEIGHT = INPUT_BASE_WEIGHT + 1 + 1 + 72 + 1 + 33;

/** A P2TR key-path input: item count (1) + length (1) + 64-byte Schnorr signature (SIGHASH_DEFAULT). */
export const P2TR_KEYPATH_INPUT_WEIGHT = INPUT_BASE_WEIGHT + 1 + 1 + 64;

export function outputWeight(script: Uint8Array): number {
  return (8 + encodeCompactSize(script.length).length + script.length) * 4;
}

/** 22-byte P2WPKH output script: 31 bytes. */
export const P2WPKH_OUTPUT_WEIGHT = (8 + 1 + 22) * 4;

/** version, locktime, input and output counts, plus the segwit marker and flag (2 WU). */
export function txOverheadWeight(inputs: number, outputs: number): number {
  return (4 + 4 + encodeCompactSize(inputs).length + encodeCompactSize(outputs).length) * 4 + 2;
}

/** Bitcoin Core's default -dustrelayfee, 3000 sat/kvB. */
const DUST_RELAY_SAT_PER_KVB = 3000n;

/**
 * Bitcoin Core's GetDustThreshold: the output is dust if spending it costs more than a third of its
 * value at the dust relay fee. Witness outputs assume a 67-byte spend, others 148 bytes.
 * Unspendable (OP_RETURN) outputs have no dust limit.
 */
export function dustLimit(script: Uint8Array): Sat {
  if (isOpReturn(script)) return 0n as Sat;
  const size = BigInt(8 + encodeCompactSize(script.length).length + script.length);
  const spend = witnessProgram(script) !== null ? 32n + 4n + 1n + 107n / 4n + 4n : 32n + 4n + 1n + 107n + 4n;
  return (((size + spend) * DUST_RELAY_SAT_PER_KVB) / 1000n) as Sat;
}

/** BIP125 rule 4 / Core's -incrementalrelayfee: 1 sat/vB = 250 sat per 1000 weight. */
export const INCREMENTAL_RELAY_FEERATE = 250 as FeeratePerKw;

/** The lowest feerate any node relays at (BOLT 2 uses the same floor). */
export const FEERATE_FLOOR = 253 as FeeratePerKw;
/** A sanity cap: 4,000 sat/vB. Above this a feerate is almost surely a unit mistake. */
export const FEERATE_CEILING = 1_000_000 as FeeratePerKw;
