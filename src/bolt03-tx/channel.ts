// Both sides' commitments from one channel description: the glue the channel state machine (BOLT 2)
// and the on-chain monitor use, so neither has to know which side's dust limit, delay, keys and
// HTLC directions go into which transaction.

import type { OutPoint } from '../bitcoin/tx.ts';
import { assertNever, err, ok, type Result } from '../core/result.ts';
import type { FeeratePerKw, Msat, Sat } from '../core/units.ts';
import {
  buildCommitment,
  type Commitment,
  type CommitmentError,
  type CommitmentHtlc,
  type CommitmentSpec,
  mirrorHtlcs,
} from './commitment.ts';
import type { ChannelType } from './fees.ts';
import { buildHtlcTxs, type HtlcTx } from './htlc.ts';
import {
  type ChannelBasepoints,
  CommitmentKeyCache,
  type CommitmentKeys,
  commitmentNumberObscurer,
  KeyDerivationError,
} from './keys.ts';

/** What one side announced in open_channel / accept_channel that shapes commitment transactions. */
export interface SideParams {
  readonly basepoints: ChannelBasepoints;
  readonly dustLimit: Sat;
  /** The to_self_delay this side requires of the OTHER side's outputs. */
  readonly toSelfDelay: number;
}

export interface ChannelTxParams {
  readonly channelType: ChannelType;
  readonly fundingOutpoint: OutPoint;
  readonly fundingAmount: Sat;
  readonly localIsFunder: boolean;
  readonly local: SideParams;
  readonly remote: SideParams;
}

/** Whose commitment transaction: ours (we can broadcast it) or theirs. */
export type Holder = 'local' | 'remote';

/** Balances and HTLCs from OUR view: `offered` means we offered it, `toLocal` is our balance. */
export interface ChannelBalances {
  readonly commitmentNumber: bigint;
  readonly feerate: FeeratePerKw;
  readonly toLocal: Msat;
  readonly toRemote: Msat;
  readonly htlcs: readonly CommitmentHtlc[];
}

export function channelObscurer(p: ChannelTxParams): bigint {
  const opener = p.localIsFunder ? p.local : p.remote;
  const accepter = p.localIsFunder ? p.remote : p.local;
  return commitmentNumberObscurer(opener.basepoints.paymentBasepoint, accepter.basepoints.paymentBasepoint);
}

// One memo per process, like the secp256k1 backend: a pure function's results, keyed by all its
// inputs, shared by every channel (a few entries per channel in use).
const commitmentKeys = new CommitmentKeyCache(256);

/** The keys of `holder`'s commitment at `perCommitmentPoint` (the holder's point). */
export function holderKeys(
  p: ChannelTxParams,
  holder: Holder,
  perCommitmentPoint: Uint8Array,
): CommitmentKeys {
  switch (holder) {
    case 'local':
      return commitmentKeys.derive(p.local.basepoints, p.remote.basepoints, perCommitmentPoint);
    case 'remote':
      return commitmentKeys.derive(p.remote.basepoints, p.local.basepoints, perCommitmentPoint);
  }
  return assertNever(holder, 'holder');
}

/**
 * The {@link CommitmentSpec} of `holder`'s commitment: the holder's dust limit, the delay the other
 * side imposes on the holder, balances and HTLC directions as the holder sees them.
 */
export function holderSpec(
  p: ChannelTxParams,
  holder: Holder,
  state: ChannelBalances,
  keys: CommitmentKeys,
): CommitmentSpec {
  const common = {
    channelType: p.channelType,
    fundingOutpoint: p.fundingOutpoint,
    fundingAmount: p.fundingAmount,
    commitmentNumber: state.commitmentNumber,
    obscurer: channelObscurer(p),
    feerate: state.feerate,
    keys,
  };
  switch (holder) {
    case 'local':
      return {
        ...common,
        ownerIsFunder: p.localIsFunder,
        toSelfDelay: p.remote.toSelfDelay,
        dustLimit: p.local.dustLimit,
        toLocal: state.toLocal,
        toRemote: state.toRemote,
        htlcs: state.htlcs,
      };
    case 'remote':
      return {
        ...common,
        ownerIsFunder: !p.localIsFunder,
        toSelfDelay: p.local.toSelfDelay,
        dustLimit: p.remote.dustLimit,
        toLocal: state.toRemote,
        toRemote: state.toLocal,
        htlcs: mirrorHtlcs(state.htlcs),
      };
  }
  return assertNever(holder, 'holder');
}

export interface HolderCommitment {
  readonly holder: Holder;
  readonly spec: CommitmentSpec;
  readonly commitment: Commitment;
  /** Second-stage transactions in htlc_signatures order. */
  readonly htlcTxs: readonly HtlcTx[];
}

/**
 * Builds `holder`'s commitment and its HTLC transactions. HTLCs in the result are as the holder
 * sees them (for the remote holder, `offered` means they offered it).
 */
export function buildHolderCommitment(
  p: ChannelTxParams,
  holder: Holder,
  state: ChannelBalances,
  perCommitmentPoint: Uint8Array,
): Result<HolderCommitment, CommitmentError> {
  let keys: CommitmentKeys;
  try {
    keys = holderKeys(p, holder, perCommitmentPoint);
  } catch (e) {
    // Basepoints and points should have been validated when decoded; still, no throw escapes.
    if (e instanceof KeyDerivationError) return err({ kind: 'invalid_parameter', message: e.message });
    throw e;
  }
  const spec = holderSpec(p, holder, state, keys);
  const r = buildCommitment(spec);
  if (!r.ok) return r;
  const htlcTxs = buildHtlcTxs(p.channelType, r.value, spec.feerate, spec.toSelfDelay, keys);
  return ok({ holder, spec, commitment: r.value, htlcTxs });
}
