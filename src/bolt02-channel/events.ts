// What goes into the channel reducer (events) and what comes out (actions), and the context it is
// given for each step (signer, policy, chain tip). All plain data except the signer.

import type { OutPoint, Transaction } from '../bitcoin/tx.ts';
import type { MessageValue, WireMessage, WireMessageInput } from '../bolt01-wire/types.ts';
import type { ChannelType } from '../bolt03-tx/index.ts';
import type { FeeratePerKw, Msat, Sat } from '../core/units.ts';
import type { ChannelSigner } from './signer.ts';
import type { ChannelState, CloseReason } from './state.ts';

/** Local commands from the node (RPC, the HTLC switch). */
export type ChannelCommand =
  | {
      readonly kind: 'add_htlc';
      readonly amount: Msat;
      readonly paymentHash: Uint8Array;
      readonly cltvExpiry: number;
      /** 1366 opaque bytes. */
      readonly onion: Uint8Array;
      readonly pathKey?: Uint8Array | undefined;
    }
  | { readonly kind: 'fulfill_htlc'; readonly id: bigint; readonly preimage: Uint8Array }
  | { readonly kind: 'fail_htlc'; readonly id: bigint; readonly reason: Uint8Array }
  | {
      readonly kind: 'fail_malformed_htlc';
      readonly id: bigint;
      readonly sha256OfOnion: Uint8Array;
      readonly failureCode: number;
    }
  /** Send commitment_signed now if there is anything to sign (the shell may batch updates first). */
  | { readonly kind: 'sign' }
  | { readonly kind: 'update_fee'; readonly feerate: FeeratePerKw }
  /** Begin a mutual close; `script` defaults to the upfront shutdown script. */
  | { readonly kind: 'shutdown'; readonly script: Uint8Array | undefined; readonly feeRange?: FeeRange }
  | { readonly kind: 'force_close'; readonly message: string }
  /** Funder: the wallet built (but did not broadcast) the funding transaction. */
  | { readonly kind: 'funding_tx_built'; readonly tx: Transaction; readonly outputIndex: number }
  /**
   * Funder: a confirmed transaction spends one of the funding transaction's inputs (txids in internal
   * byte order), `depth` blocks deep: the funding can never confirm (double-spend.ts).
   */
  | {
      readonly kind: 'funding_double_spent';
      readonly fundingTxid: Uint8Array;
      readonly spenderTxid: Uint8Array;
      readonly depth: number;
    };

export interface FeeRange {
  readonly min: Sat;
  readonly max: Sat;
}

export type ChannelEvent =
  | { readonly kind: 'message'; readonly msg: WireMessage }
  | { readonly kind: 'command'; readonly cmd: ChannelCommand }
  /** The funding output reached `depth` confirmations at `shortChannelId`. */
  | { readonly kind: 'funding_depth'; readonly depth: number; readonly shortChannelId: bigint }
  /** A transaction spending the funding output confirmed (the on-chain monitor takes over). */
  | { readonly kind: 'funding_spent'; readonly tx: Transaction }
  /** A new chain tip (also update ctx.blockHeight): HTLC deadlines, the fundee's funding timeout. */
  | { readonly kind: 'block'; readonly height: number }
  | { readonly kind: 'connected' }
  | { readonly kind: 'disconnected' };

/** Notifications for the rest of the node (the HTLC switch, RPC, the monitor). */
export type ChannelNotification =
  | { readonly kind: 'funding_needed'; readonly script: Uint8Array; readonly amount: Sat }
  | {
      readonly kind: 'channel_id_assigned';
      readonly temporaryChannelId: Uint8Array;
      readonly channelId: Uint8Array;
    }
  | {
      readonly kind: 'channel_ready';
      readonly channelId: Uint8Array;
      readonly shortChannelId: bigint | undefined;
    }
  /** We offered an HTLC (its id, for the switch to remember where it came from). */
  | {
      readonly kind: 'htlc_offered';
      readonly id: bigint;
      readonly paymentHash: Uint8Array;
      readonly amount: Msat;
    }
  /** An HTLC we offered was dropped before being committed (disconnect): fail it upstream. */
  | { readonly kind: 'htlc_offer_cancelled'; readonly id: bigint }
  /**
   * The peer's HTLC is irrevocably committed on both sides: the switch may now forward or settle it.
   * `dustExposureExceeded`: the spec says to fail it and never reveal the preimage.
   */
  | {
      readonly kind: 'htlc_received';
      readonly htlc: MessageValue<'update_add_htlc'>;
      readonly dustExposureExceeded: boolean;
    }
  /** The peer revealed the preimage of an HTLC we offered: settle upstream at once. */
  | { readonly kind: 'htlc_fulfilled'; readonly id: bigint; readonly preimage: Uint8Array }
  /** An HTLC we offered failed and the failure is irrevocably committed. */
  | {
      readonly kind: 'htlc_failed';
      readonly id: bigint;
      readonly reason:
        | { readonly kind: 'onion'; readonly reason: Uint8Array }
        | { readonly kind: 'malformed'; readonly sha256OfOnion: Uint8Array; readonly failureCode: number };
    }
  /** The peer proved it has a newer state than ours: do NOT broadcast our commitment. */
  | { readonly kind: 'data_loss_detected'; readonly remoteCurrentPoint: Uint8Array }
  | { readonly kind: 'warning_received'; readonly message: string }
  | { readonly kind: 'channel_closing'; readonly reason: CloseReason }
  | { readonly kind: 'channel_closed'; readonly reason: CloseReason };

/**
 * Actions for the shell, run in order. `persist` carries the state to make durable before anything
 * after it leaves the node (DESIGN rule 2).
 */
export type ChannelAction =
  | { readonly kind: 'send'; readonly msg: WireMessageInput }
  | { readonly kind: 'persist'; readonly state: ChannelState }
  | { readonly kind: 'broadcast'; readonly tx: Transaction; readonly label: string }
  | {
      readonly kind: 'watch_funding';
      readonly outpoint: OutPoint;
      readonly script: Uint8Array;
      readonly minDepth: number;
    }
  | { readonly kind: 'emit'; readonly event: ChannelNotification }
  /** Close the transport (after a warning, or on the peer's error). */
  | { readonly kind: 'disconnect' };

/** What the node accepts from a peer opening or accepting a channel. */
export interface ChannelPolicy {
  readonly chainHash: Uint8Array;
  readonly maxToSelfDelay: number;
  readonly minFeerate: FeeratePerKw;
  readonly maxFeerate: FeeratePerKw;
  readonly minFundingAmount: Sat;
  readonly maxDustLimit: Sat;
  readonly maxHtlcMinimum: Msat;
  readonly minMaxHtlcValueInFlight: Msat;
  readonly minMaxAcceptedHtlcs: number;
  /** Largest reserve asked of us, as basis points of capacity. */
  readonly maxReserveBasisPoints: number;
  readonly maxMinimumDepth: number;
  /** option_support_large_channel negotiated with this peer. */
  readonly largeChannels: boolean;
  /** Channel types we accept, in order of preference. */
  readonly channelTypes: readonly ChannelType[];
  /** Blocks of margin an incoming HTLC's expiry must keep above the tip. */
  readonly minCltvMargin: number;
  /** option_simple_close negotiated with this peer (closing_complete instead of closing_signed). */
  readonly simpleClose: boolean;
}

export interface ChannelContext {
  readonly signer: ChannelSigner;
  readonly policy: ChannelPolicy;
  /** Current chain tip height. */
  readonly blockHeight: number;
  /** Where our funds go in a mutual close the peer starts (a wallet script), unless upfront. */
  readonly shutdownScript?: Uint8Array | undefined;
}

export interface Transition {
  readonly state: ChannelState;
  readonly actions: readonly ChannelAction[];
}

/** A local command the channel cannot carry out now (nothing changed, nothing sent). */
export interface CommandRefused {
  readonly kind: 'command_refused';
  readonly reason: string;
}
