// The channel of BOLT 3 Appendix C / F, rebuilt from the appendix's own parameters and keys.

import { fromReversedHex } from '../../src/bitcoin/tx.ts';
import {
  buildCommitment,
  type Commitment,
  type CommitmentHtlc,
  type CommitmentSpec,
} from '../../src/bolt03-tx/commitment.ts';
import type { ChannelType } from '../../src/bolt03-tx/fees.ts';
import {
  type ChannelBasepoints,
  type CommitmentKeys,
  commitmentNumberObscurer,
  deriveCommitmentKeys,
  derivePrivkey,
} from '../../src/bolt03-tx/keys.ts';
import { fromHex } from '../../src/core/bytes.ts';
import { feeratePerKw, type Msat, msat, type Sat, sat } from '../../src/core/units.ts';
import { publicKeyOf, sha256 } from '../../src/crypto/index.ts';
import { appendixC, key32, type VectorHtlc } from './vectors.ts';

export const C = appendixC();

export function param(name: string): string {
  const v = C.params.get(name);
  if (v === undefined) throw new Error(`Appendix C: no parameter ${name}`);
  return v;
}

const point = (name: string): Uint8Array => fromHex(param(name));
const secret = (name: string): Uint8Array => key32(param(name));

export const fundingOutpoint = {
  txid: fromReversedHex(param('funding_tx_id')),
  vout: Number(param('funding_output_index')),
};
export const fundingAmount = sat(BigInt(param('funding_amount_satoshi')));
export const commitmentNumber = BigInt(param('commitment_number'));
export const toSelfDelay = Number(param('local_delay'));
export const dustLimit = sat(BigInt(param('local_dust_limit_satoshi')));

export const localFundingPrivkey = secret('local_funding_privkey');
export const remoteFundingPrivkey = secret('remote_funding_privkey');
export const localPaymentBasepointSecret = secret('local_payment_basepoint_secret');
export const remotePaymentBasepointSecret = secret('remote_payment_basepoint_secret');
export const localPerCommitmentPoint = point('local_per_commitment_point');

export const local: ChannelBasepoints = {
  fundingPubkey: point('local_funding_pubkey'),
  // Not used by the owner's own commitment; any valid point will do.
  revocationBasepoint: point('local_payment_basepoint'),
  paymentBasepoint: point('local_payment_basepoint'),
  delayedPaymentBasepoint: point('local_delayed_payment_basepoint'),
  htlcBasepoint: point('local_htlc_basepoint'),
};
export const remote: ChannelBasepoints = {
  fundingPubkey: point('remote_funding_pubkey'),
  revocationBasepoint: point('remote_revocation_basepoint'),
  paymentBasepoint: point('remote_payment_basepoint'),
  // Not used by the other side's view of this commitment.
  delayedPaymentBasepoint: point('remote_payment_basepoint'),
  htlcBasepoint: point('remote_htlc_basepoint'),
};

export const keys: CommitmentKeys = deriveCommitmentKeys(local, remote, localPerCommitmentPoint);
export const obscurer = commitmentNumberObscurer(local.paymentBasepoint, remote.paymentBasepoint);

// The appendix uses the payment basepoints as HTLC basepoints, so the HTLC keys derive from those secrets.
export const localHtlcPrivkey = derivePrivkey(localPaymentBasepointSecret, localPerCommitmentPoint);
export const remoteHtlcPrivkey = derivePrivkey(remotePaymentBasepointSecret, localPerCommitmentPoint);

export function toCommitmentHtlc(h: VectorHtlc): CommitmentHtlc {
  return {
    direction: h.direction,
    id: BigInt(h.number),
    amount: msat(h.amountMsat),
    paymentHash: sha256(h.preimage),
    cltvExpiry: h.expiry,
  };
}

/**
 * The HTLC set of a case: none, HTLCs 0-4, or HTLCs 1, 5 and 6 ("same amount and preimage") — the
 * one whose amounts make the balances add up to the funding amount.
 */
export function htlcSetFor(toLocalMsat: bigint, toRemoteMsat: bigint, useHtlcs: boolean): VectorHtlc[] {
  const byNumber = (ns: number[]): VectorHtlc[] => ns.map((n) => C.htlcs.find((h) => h.number === n)!);
  const candidates = useHtlcs ? [[], byNumber([0, 1, 2, 3, 4]), byNumber([1, 5, 6])] : [[]];
  const total = fundingAmount * 1000n - toLocalMsat - toRemoteMsat;
  const match = candidates.filter((set) => set.reduce((s, h) => s + h.amountMsat, 0n) === total);
  if (match.length !== 1) throw new Error(`cannot tell which HTLCs a case uses (${match.length} candidates)`);
  return match[0]!;
}

export function preimageOf(htlcId: bigint): Uint8Array {
  const h = C.htlcs.find((x) => BigInt(x.number) === htlcId);
  if (h === undefined) throw new Error(`no htlc ${htlcId}`);
  return h.preimage;
}

export function specFor(
  channelType: ChannelType,
  toLocal: Msat,
  toRemote: Msat,
  feerate: number,
  dust: Sat,
  htlcs: readonly CommitmentHtlc[],
): CommitmentSpec {
  return {
    channelType,
    fundingOutpoint,
    fundingAmount,
    commitmentNumber,
    obscurer,
    ownerIsFunder: true,
    toSelfDelay,
    dustLimit: dust,
    feerate: feeratePerKw(feerate),
    toLocal,
    toRemote,
    htlcs,
    keys,
  };
}

export function mustBuild(spec: CommitmentSpec): Commitment {
  const r = buildCommitment(spec);
  if (!r.ok)
    throw new Error(
      `buildCommitment failed: ${JSON.stringify(r.error, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`,
    );
  return r.value;
}

export { publicKeyOf };
