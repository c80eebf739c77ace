// BOLT 3 "Fees" and "Trimmed Outputs": expected weights, HTLC transaction fees, the base commitment
// fee, and which HTLCs are trimmed. Everything in whole satoshis, rounded down as the spec says.
import { assertNever } from '../core/result.ts';
import { type FeeratePerKw, feeForWeight, type Msat, msatToSatFloor, type Sat } from '../core/units.ts';

/**
 * The commitment formats this node speaks. Both use option_static_remotekey; `anchors_zero_fee_htlc`
 * is option_anchors with zero-fee HTLC transactions (option_anchors_zero_fee_htlc_tx).
 */
export type ChannelType = 'static_remotekey' | 'anchors_zero_fee_htlc';

export const CHANNEL_TYPES: readonly ChannelType[] = ['static_remotekey', 'anchors_zero_fee_htlc'];

/** Whether the commitment has anchor outputs and the 1-block CSV on non-anchor outputs. */
export function hasAnchors(type: ChannelType): boolean {
  switch (type) {
    case 'static_remotekey':
      return false;
    case 'anchors_zero_fee_htlc':
      return true;
  }
  return assertNever(type, 'channel type');
}

// BOLT #3:
// The amount of the output is fixed at 330 sats, the default dust limit for P2WSH.
export const ANCHOR_OUTPUT_VALUE = 330n as Sat;

// BOLT #3:
//     Commitment weight (no option_anchors):   724 + 172 * num-untrimmed-htlc-outputs
//     Commitment weight (option_anchors):     1124 + 172 * num-untrimmed-htlc-outputs
export const COMMITMENT_BASE_WEIGHT = 724;
export const COMMITMENT_BASE_WEIGHT_ANCHORS = 1124;
export const COMMITMENT_HTLC_OUTPUT_WEIGHT = 172;
// BOLT #3:
//     HTLC-timeout weight (no option_anchors): 663
//     HTLC-timeout weight (option_anchors): 666
//     HTLC-success weight (no option_anchors): 703
//     HTLC-success weight (option_anchors): 706
export const HTLC_TIMEOUT_WEIGHT = 663;
export const HTLC_TIMEOUT_WEIGHT_ANCHORS = 666;
export const HTLC_SUCCESS_WEIGHT = 703;
export const HTLC_SUCCESS_WEIGHT_ANCHORS = 706;

export function commitmentWeight(type: ChannelType, untrimmedHtlcs: number): number {
  const base = hasAnchors(type) ? COMMITMENT_BASE_WEIGHT_ANCHORS : COMMITMENT_BASE_WEIGHT;
  return base + COMMITMENT_HTLC_OUTPUT_WEIGHT * untrimmedHtlcs;
}

export function htlcTimeoutWeight(type: ChannelType): number {
  return hasAnchors(type) ? HTLC_TIMEOUT_WEIGHT_ANCHORS : HTLC_TIMEOUT_WEIGHT;
}

export function htlcSuccessWeight(type: ChannelType): number {
  return hasAnchors(type) ? HTLC_SUCCESS_WEIGHT_ANCHORS : HTLC_SUCCESS_WEIGHT;
}

/**
 * The fee an HTLC-timeout transaction pays. With zero-fee HTLC anchors it is 0: the weight above is
 * still what a CPFP or added input must pay for.
 */
export function htlcTimeoutFee(type: ChannelType, feerate: FeeratePerKw): Sat {
  // BOLT #3:
  //   - If `option_anchors` applies:
  //     1. MUST be 0.
  //   - Otherwise, MUST be calculated to match:
  //     1. Multiply `feerate_per_kw` by 663 and divide by 1000 (rounding down).
  return hasAnchors(type) ? (0n as Sat) : feeForWeight(feerate, HTLC_TIMEOUT_WEIGHT);
}

export function htlcSuccessFee(type: ChannelType, feerate: FeeratePerKw): Sat {
  // BOLT #3:
  //   - If `option_anchors` applies:
  //     1. MUST be 0.
  //   - Otherwise, MUST be calculated to match:
  //     1. Multiply `feerate_per_kw` by 703 and divide by 1000 (rounding down).
  return hasAnchors(type) ? (0n as Sat) : feeForWeight(feerate, HTLC_SUCCESS_WEIGHT);
}

/** The base commitment fee the funder pays (not counting trimmed HTLCs or dust balances). */
export function commitmentFee(type: ChannelType, feerate: FeeratePerKw, untrimmedHtlcs: number): Sat {
  return feeForWeight(feerate, commitmentWeight(type, untrimmedHtlcs));
}

/** Total the funder gives up for the base fee plus both anchors (anchors are always subtracted). */
export function funderCost(type: ChannelType, feerate: FeeratePerKw, untrimmedHtlcs: number): Sat {
  const fee = commitmentFee(type, feerate, untrimmedHtlcs);
  return (hasAnchors(type) ? fee + 2n * ANCHOR_OUTPUT_VALUE : fee) as Sat;
}

/** Direction from the commitment owner's view: `offered` HTLCs were sent by the owner. */
export type HtlcDirection = 'offered' | 'received';

/**
 * Whether an HTLC is trimmed from a commitment whose owner has `dustLimit`: its whole-satoshi amount
 * minus the second-stage fee is below the dust limit.
 */
export function isTrimmed(
  type: ChannelType,
  direction: HtlcDirection,
  amount: Msat,
  feerate: FeeratePerKw,
  dustLimit: Sat,
): boolean {
  const value = msatToSatFloor(amount);
  switch (direction) {
    case 'offered':
      return value < dustLimit + htlcTimeoutFee(type, feerate);
    case 'received':
      return value < dustLimit + htlcSuccessFee(type, feerate);
  }
  return assertNever(direction, 'htlc direction');
}

// BOLT #3 "Dust Limits": Bitcoin Core's thresholds, for checking a peer's dust_limit_satoshis and
// the outputs of closing transactions.
export const DUST_P2PKH = 546n as Sat;
export const DUST_P2SH = 540n as Sat;
export const DUST_P2WPKH = 294n as Sat;
export const DUST_P2WSH = 330n as Sat;
export const DUST_P2A = 240n as Sat;
export const DUST_UNKNOWN_SEGWIT = 354n as Sat;
