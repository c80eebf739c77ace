// Every state a BOLT 2 channel can be in, on one screen, as plain data (Uint8Array, bigint, number,
// string, arrays and objects: no classes, no closures) so the shell can persist it with
// encodeChannelState. The transitions live in opening.ts, normal.ts, reestablish.ts, shutdown.ts and
// closing.ts; channel.ts dispatches to them.

import type { OutPoint, Transaction } from '../bitcoin/tx.ts';
import type { MessageValue } from '../bolt01-wire/types.ts';
import type { ChannelBasepoints, ChannelType, CommitmentHtlc, ShachainStore } from '../bolt03-tx/index.ts';
import type { FeeratePerKw, Msat, Sat } from '../core/units.ts';

/** Bumped whenever the shape below changes; decodeChannelState refuses other versions. */
export const CHANNEL_STATE_VERSION = 1;

/** The parameters one side announced in open_channel / accept_channel. */
export interface ChannelParams {
  readonly dustLimit: Sat;
  readonly maxHtlcValueInFlight: Msat;
  /** The reserve this side requires the OTHER side to keep. */
  readonly channelReserve: Sat;
  /** The smallest HTLC this side accepts. */
  readonly htlcMinimum: Msat;
  /** The delay this side imposes on the OTHER side's outputs. */
  readonly toSelfDelay: number;
  /** How many HTLCs this side accepts from the other. */
  readonly maxAcceptedHtlcs: number;
  readonly basepoints: ChannelBasepoints;
  /** From upfront_shutdown_script; empty when the side did not commit to one. */
  readonly upfrontShutdownScript: Uint8Array;
}

export type UpdateMessage =
  | MessageValue<'update_add_htlc'>
  | MessageValue<'update_fulfill_htlc'>
  | MessageValue<'update_fail_htlc'>
  | MessageValue<'update_fail_malformed_htlc'>
  | MessageValue<'update_fee'>;

/**
 * Updates of one side, by how far they got (Eclair's LocalChanges/RemoteChanges).
 * Ours: proposed -> signed (in their commitment) -> acked (they revoked) -> gone (in ours too).
 * Theirs: proposed -> acked (in our commitment, we revoked) -> signed (in theirs) -> gone (they revoked).
 */
export interface Changes {
  readonly proposed: readonly UpdateMessage[];
  readonly signed: readonly UpdateMessage[];
  readonly acked: readonly UpdateMessage[];
}

/** A commitment's contents, always from OUR view: `offered` HTLCs are ours, `toLocal` is our balance. */
export interface CommitSpec {
  readonly feerate: FeeratePerKw;
  readonly toLocal: Msat;
  readonly toRemote: Msat;
  readonly htlcs: readonly CommitmentHtlc[];
}

/** Our current commitment: the one we can broadcast, with the signatures they gave us. */
export interface LocalCommit {
  readonly index: bigint;
  readonly spec: CommitSpec;
  readonly txid: Uint8Array;
  readonly remoteSig: Uint8Array;
  readonly remoteHtlcSigs: readonly Uint8Array[];
}

/** Their commitment as we signed it, at their per-commitment point. */
export interface RemoteCommit {
  readonly index: bigint;
  readonly spec: CommitSpec;
  readonly txid: Uint8Array;
  readonly point: Uint8Array;
}

/** After we sent commitment_signed and before their revoke_and_ack. */
export interface WaitingForRevocation {
  readonly nextRemoteCommit: RemoteCommit;
  /** Our localCommit.index when we signed: orders the retransmission on reestablish. */
  readonly sentAfterLocalCommitIndex: bigint;
  /** What we sent, for retransmission (signatures are deterministic anyway). */
  readonly sent: MessageValue<'commitment_signed'>;
}

/** The ledger: both commitments, both sides' updates, their revealed secrets. */
export interface Commitments {
  readonly channelId: Uint8Array;
  readonly channelType: ChannelType;
  readonly localIsFunder: boolean;
  readonly fundingOutpoint: OutPoint;
  readonly fundingAmount: Sat;
  /** What we announced. */
  readonly local: ChannelParams;
  /** What they announced. */
  readonly remote: ChannelParams;
  readonly localCommit: LocalCommit;
  readonly remoteCommit: RemoteCommit;
  readonly localChanges: Changes;
  readonly remoteChanges: Changes;
  /** Either we wait for their revocation, or we hold their next per-commitment point. */
  readonly waiting: WaitingForRevocation | undefined;
  readonly remoteNextPoint: Uint8Array | undefined;
  readonly localNextHtlcId: bigint;
  readonly remoteNextHtlcId: bigint;
  readonly remoteSecrets: ShachainStore;
  /** Our policy bound on dust exposure (max_dust_htlc_exposure_msat). */
  readonly maxDustExposure: Msat;
}

/** What we intend to announce when opening or accepting (see defaults.ts). */
export interface LocalChannelConfig {
  readonly dustLimit: Sat;
  readonly maxHtlcValueInFlight: Msat;
  readonly htlcMinimum: Msat;
  readonly toSelfDelay: number;
  readonly maxAcceptedHtlcs: number;
  /** Reserve as a fraction of capacity, in basis points (100 = 1%). */
  readonly reserveBasisPoints: number;
  /** minimum_depth we ask for when accepting. */
  readonly minimumDepth: number;
  readonly maxDustExposure: Msat;
  /** Empty: no upfront shutdown script. */
  readonly upfrontShutdownScript: Uint8Array;
}

/** Why a channel ended, for the shell and the user. */
export type CloseReason =
  | { readonly kind: 'mutual' }
  | { readonly kind: 'local_force'; readonly message: string }
  | { readonly kind: 'remote_error'; readonly message: string }
  | { readonly kind: 'funding_spent' }
  /** The peer proved we lost state: our commitment is revoked, we must not broadcast it. */
  | { readonly kind: 'data_loss' }
  | { readonly kind: 'aborted'; readonly message: string };

interface Base {
  /** Derivation index of the channel's keys (KeyChain.channelKeys). */
  readonly keyIndex: number;
  readonly temporaryChannelId: Uint8Array;
  /** 'down' after a disconnect, 'reestablishing' after we sent channel_reestablish. */
  readonly link: 'up' | 'down' | 'reestablishing';
}

/** Funder: open_channel sent. */
export interface WaitAcceptState extends Base {
  readonly phase: 'wait_accept';
  readonly channelType: ChannelType;
  readonly config: LocalChannelConfig;
  readonly local: ChannelParams;
  readonly fundingAmount: Sat;
  readonly pushMsat: Msat;
  readonly feerate: FeeratePerKw;
  readonly channelFlags: number;
}

/** Funder: accept_channel received; the wallet is building the funding transaction. */
export interface WaitFundingTxState extends Base {
  readonly phase: 'wait_funding_tx';
  readonly channelType: ChannelType;
  readonly config: LocalChannelConfig;
  readonly local: ChannelParams;
  readonly remote: ChannelParams;
  readonly remoteFirstPoint: Uint8Array;
  readonly fundingAmount: Sat;
  readonly pushMsat: Msat;
  readonly feerate: FeeratePerKw;
  readonly minimumDepth: number;
}

/** Fundee: accept_channel sent. */
export interface WaitFundingCreatedState extends Base {
  readonly phase: 'wait_funding_created';
  readonly channelType: ChannelType;
  readonly config: LocalChannelConfig;
  readonly local: ChannelParams;
  readonly remote: ChannelParams;
  readonly remoteFirstPoint: Uint8Array;
  readonly fundingAmount: Sat;
  readonly pushMsat: Msat;
  readonly feerate: FeeratePerKw;
  readonly minimumDepth: number;
}

/** Funder: funding_created sent; the funding tx is held back until funding_signed. */
export interface WaitFundingSignedState extends Base {
  readonly phase: 'wait_funding_signed';
  readonly commitments: Commitments;
  readonly fundingTx: Transaction;
  readonly minimumDepth: number;
}

/** Both: waiting for depth and for each other's channel_ready. */
export interface WaitChannelReadyState extends Base {
  readonly phase: 'wait_channel_ready';
  readonly commitments: Commitments;
  readonly minimumDepth: number;
  /** Our alias, sent in channel_ready's short_channel_id. */
  readonly localAlias: bigint;
  readonly shortChannelId: bigint | undefined;
  readonly sentReady: boolean;
  readonly remoteAlias: bigint | undefined;
  /** Funder only: kept to re-broadcast until it confirms. */
  readonly fundingTx: Transaction | undefined;
}

export interface ShutdownInfo {
  /** The script in the shutdown we sent. */
  readonly localScript: Uint8Array | undefined;
  /** The script in the shutdown we received. */
  readonly remoteScript: Uint8Array | undefined;
  /** Ours, to send once none of our updates is left unsigned. */
  readonly pendingLocalScript: Uint8Array | undefined;
  /** The closing fee range we will offer (sat). */
  readonly feeRange: { readonly min: Sat; readonly max: Sat } | undefined;
}

export interface NormalState extends Base {
  readonly phase: 'normal';
  readonly commitments: Commitments;
  readonly localAlias: bigint;
  readonly remoteAlias: bigint | undefined;
  readonly shortChannelId: bigint | undefined;
  /** Set once either side sent shutdown: no new HTLCs, wait for the existing ones to clear. */
  readonly shutdown: ShutdownInfo | undefined;
}

/** closing_signed negotiation (legacy mutual close). */
export interface NegotiatingState extends Base {
  readonly phase: 'negotiating';
  readonly commitments: Commitments;
  readonly localScript: Uint8Array;
  readonly remoteScript: Uint8Array;
  /** Our last proposal (fee in sat, range). */
  readonly lastSentFee: Sat | undefined;
  readonly feeRange: { readonly min: Sat; readonly max: Sat };
}

/** A closing transaction or a commitment was broadcast (or seen); waiting for it to be buried. */
export interface ClosingState extends Base {
  readonly phase: 'closing';
  readonly commitments: Commitments | undefined;
  readonly reason: CloseReason;
  readonly published: readonly Transaction[];
}

export interface ClosedState extends Base {
  readonly phase: 'closed';
  readonly reason: CloseReason;
}

export type ChannelState =
  | WaitAcceptState
  | WaitFundingTxState
  | WaitFundingCreatedState
  | WaitFundingSignedState
  | WaitChannelReadyState
  | NormalState
  | NegotiatingState
  | ClosingState
  | ClosedState;

export type ChannelPhase = ChannelState['phase'];

/** The states that hold a signed commitment pair. */
export type FundedState = WaitChannelReadyState | NormalState | NegotiatingState;
