// Keysend (spontaneous payment): the payer picks the preimage and sends it to the payee in the final
// payload's TLV 5482373484, so no invoice is needed.
import { type Msat, msat } from '../core/units.ts';
import type { EntropySource } from '../crypto/index.ts';
import { sha256 } from '../crypto/index.ts';
import type { NodeKey } from './graph.ts';
import { DEFAULT_RETRY_FOR_SECONDS, type PaymentState, prepareKeysend } from './payment.ts';
import type { FinalHopData } from './route.ts';

export const KEYSEND_PREIMAGE_TLV = 5482373484n;
/** Keysend has no invoice to state the payee's final CLTV delta: use a margin above BOLT 11's default of 18. */
export const KEYSEND_FINAL_CLTV_DELTA = 40;

export interface KeysendParams {
  readonly destination: NodeKey;
  readonly amountMsat: Msat;
  readonly maxFeePercent?: number;
  readonly exemptFeeMsat?: Msat;
  readonly retryForSeconds?: number;
  readonly maxDelay?: number;
  /** Further odd TLV records for the payee (e.g. a message), type > 2^16 by convention. */
  readonly extraTlvs?: readonly { readonly type: bigint; readonly value: Uint8Array }[];
}

export function keysendFinalData(
  preimage: Uint8Array,
  amountMsat: Msat,
  extra: KeysendParams['extraTlvs'] = [],
): FinalHopData {
  const records = [
    ...extra.filter((r) => r.type !== KEYSEND_PREIMAGE_TLV),
    { type: KEYSEND_PREIMAGE_TLV, value: preimage },
  ];
  records.sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  return { totalMsat: amountMsat, extra: records };
}

/** A keysend payment with a fresh random preimage. */
export function makeKeysend(
  p: KeysendParams,
  entropy: EntropySource,
  now: number,
): { state: PaymentState; preimage: Uint8Array } {
  if (p.amountMsat <= 0n) throw new RangeError('keysend amount must be positive');
  const preimage = entropy.randomBytes(32);
  if (preimage.length !== 32) throw new Error('EntropySource returned the wrong number of bytes');
  const percent = p.maxFeePercent ?? 0.5;
  const byPercent = (p.amountMsat * BigInt(Math.round(percent * 10_000))) / 1_000_000n;
  const exempt = p.exemptFeeMsat ?? msat(5000);
  const state = prepareKeysend({
    destination: p.destination,
    amountMsat: p.amountMsat,
    paymentHash: sha256(preimage),
    final: keysendFinalData(preimage, p.amountMsat, p.extraTlvs),
    maxFeeMsat: msat(byPercent > exempt ? byPercent : exempt),
    finalCltvDelta: KEYSEND_FINAL_CLTV_DELTA,
    retryForSeconds: p.retryForSeconds ?? DEFAULT_RETRY_FOR_SECONDS,
    ...(p.maxDelay !== undefined ? { maxDelay: p.maxDelay } : {}),
    now,
  });
  return { state, preimage };
}
