// The receive side of the HTLC switch, pure: given an HTLC that ends here and its final-hop payload,
// decide settle / fail (with BOLT 4's exact failure) / wait. Multi-part payments accumulate per
// payment_hash until total_msat arrives and are settled together, or fail with mpp_timeout after 60 s.
// Hold invoices keep a complete set until the user settles or cancels it. Keysend is accepted when
// enabled. The shell looks invoices up, runs the actions and persists before revealing a preimage.
import type { Failure } from '../bolt04-onion/failure.ts';
import { equal, hex } from '../core/bytes.ts';
import { type Msat, msat } from '../core/units.ts';
import { sha256 } from '../crypto/index.ts';
import { KEYSEND_PREIMAGE_TLV } from '../routing/keysend.ts';

/** BOLT 4: "SHOULD wait for at least 60 seconds after the initial HTLC." */
export const MPP_TIMEOUT_MS = 60_000;
/** A held HTLC is failed back this many blocks before it expires, so the channel need not close. */
export const HOLD_EXPIRY_MARGIN_BLOCKS = 12;

/** Identifies one incoming HTLC: its channel and its id there. */
export interface HtlcRef {
  readonly channel: string;
  readonly htlcId: bigint;
}

export function htlcKey(h: HtlcRef): string {
  return `${h.channel}/${h.htlcId}`;
}

export interface IncomingHtlc extends HtlcRef {
  readonly amountMsat: Msat;
  readonly cltvExpiry: number;
  readonly paymentHash: Uint8Array;
}

/** The parts of a final-hop payload (BOLT 4 `HopInstruction` 'final' plus keysend's record). */
export interface FinalHopPayload {
  readonly amtToForward: Msat;
  readonly outgoingCltvValue: number;
  readonly totalMsat: Msat;
  readonly paymentSecret: Uint8Array | null;
  readonly paymentMetadata: Uint8Array | null;
  readonly keysendPreimage?: Uint8Array;
}

/** Reads keysend's preimage from a payload's odd extra records. */
export function keysendPreimageOf(
  extra: readonly { readonly type: bigint; readonly value: Uint8Array }[] | undefined,
): Uint8Array | undefined {
  const r = extra?.find((e) => e.type === KEYSEND_PREIMAGE_TLV);
  return r?.value.length === 32 ? r.value : undefined;
}

/** What the switch needs to know of an invoice. */
export interface ReceivableInvoice {
  readonly paymentHash: Uint8Array;
  readonly paymentSecret: Uint8Array;
  /** Undefined: any amount. */
  readonly amountMsat: Msat | undefined;
  /** Seconds since 1970. */
  readonly expiresAt: number;
  readonly minFinalCltvExpiryDelta: number;
  readonly paid: boolean;
  /** Undefined for a hold invoice until the user settles it. */
  readonly preimage: Uint8Array | undefined;
  readonly hold: boolean;
  readonly paymentMetadata?: Uint8Array;
}

export interface HtlcSet {
  readonly paymentHash: Uint8Array;
  readonly totalMsat: Msat;
  readonly parts: readonly IncomingHtlc[];
  /** When the first part arrived (ms). */
  readonly firstAt: number;
  /** 'held': complete, waiting for holdinvoicesettle / holdinvoicecancel. */
  readonly status: 'accumulating' | 'held';
  readonly hold: boolean;
}

export interface ReceiveState {
  /** By payment hash, hex. */
  readonly sets: ReadonlyMap<string, HtlcSet>;
}

export const emptyReceiveState: ReceiveState = { sets: new Map() };

export interface ReceiveConfig {
  readonly keysendEnabled: boolean;
  readonly mppTimeoutMs?: number;
  /** Smallest final CLTV delta accepted for keysend (no invoice states one). Default 18, BOLT 11's. */
  readonly keysendMinFinalCltv?: number;
}

export type ReceiveEvent =
  | {
      readonly type: 'htlc';
      readonly htlc: IncomingHtlc;
      readonly payload: FinalHopPayload;
      /** The invoice for htlc.paymentHash, if any. */
      readonly invoice: ReceivableInvoice | undefined;
      readonly height: number;
      /** ms */
      readonly now: number;
    }
  | { readonly type: 'tick'; readonly now: number; readonly height: number }
  | { readonly type: 'hold_settle'; readonly paymentHash: Uint8Array; readonly preimage: Uint8Array }
  | { readonly type: 'hold_cancel'; readonly paymentHash: Uint8Array; readonly height: number }
  /**
   * After a restart: the HTLCs a hold invoice had accepted, held again as they were (they passed the
   * final-node checks when they arrived; the invoice may have expired since).
   */
  | {
      readonly type: 'restore_held';
      readonly paymentHash: Uint8Array;
      readonly parts: readonly IncomingHtlc[];
      readonly now: number;
    };

export type ReceiveAction =
  | { readonly type: 'settle'; readonly htlc: IncomingHtlc; readonly preimage: Uint8Array }
  | { readonly type: 'fail'; readonly htlc: IncomingHtlc; readonly failure: Failure }
  /** The payment is complete: mark the invoice paid (persist) before running the settles. */
  | {
      readonly type: 'paid';
      readonly paymentHash: Uint8Array;
      readonly amountReceivedMsat: Msat;
      readonly preimage: Uint8Array;
      readonly keysend: boolean;
      readonly parts: number;
    }
  /** A hold invoice's set is complete: its status becomes 'accepted' until settled or cancelled. */
  | { readonly type: 'held'; readonly paymentHash: Uint8Array; readonly amountReceivedMsat: Msat }
  /** A held set was failed back because its HTLCs near expiry: the invoice is payable again. */
  | { readonly type: 'unheld'; readonly paymentHash: Uint8Array };

export interface ReceiveStep {
  readonly state: ReceiveState;
  readonly actions: readonly ReceiveAction[];
}

export type HoldError = 'unknown_payment_hash' | 'not_held' | 'preimage_mismatch';

/** BOLT 4's `incorrect_or_unknown_payment_details` for an HTLC of `amountMsat` at `height`. */
export function unknownDetails(amountMsat: Msat, height: number): Failure {
  return { failure: 'incorrect_or_unknown_payment_details', htlc_msat: amountMsat, height, tlvs: {} };
}

function withSet(state: ReceiveState, key: string, set: HtlcSet | undefined): ReceiveState {
  const sets = new Map(state.sets);
  if (set === undefined) sets.delete(key);
  else sets.set(key, set);
  return { sets };
}

function sumParts(parts: readonly IncomingHtlc[]): Msat {
  return msat(parts.reduce((s, p) => s + p.amountMsat, 0n));
}

/**
 * The final node's checks on one HTLC against its invoice, in the order of BOLT 4's failure list:
 * `incorrect_or_unknown_payment_details` (PERM|15), then `final_incorrect_cltv_expiry` (18), then
 * `final_incorrect_htlc_amount` (19). Null when it passes.
 */
export function checkFinalHtlc(
  htlc: IncomingHtlc,
  payload: FinalHopPayload,
  invoice: ReceivableInvoice | undefined,
  height: number,
  nowSeconds: number,
): Failure | null {
  // BOLT #4:
  //   - if the payment hash is unknown:
  //     - MUST fail the HTLC.
  //     - MUST return an `incorrect_or_unknown_payment_details` error.
  if (invoice === undefined || !equal(invoice.paymentHash, htlc.paymentHash))
    return unknownDetails(htlc.amountMsat, height);
  // BOLT #4:
  //   - if the payment hash has already been paid:
  //     - MAY treat the payment hash as unknown.
  if (invoice.paid) return unknownDetails(htlc.amountMsat, height);
  // An expired invoice is no longer an offer to be paid.
  if (nowSeconds > invoice.expiresAt) return unknownDetails(htlc.amountMsat, height);
  // BOLT #4:
  //   - if the `payment_secret` doesn't match the expected value for that `payment_hash`,
  //     or the `payment_secret` is required and is not present:
  if (payload.paymentSecret === null || !equal(payload.paymentSecret, invoice.paymentSecret)) {
    return unknownDetails(htlc.amountMsat, height);
  }
  if (invoice.paymentMetadata !== undefined) {
    if (payload.paymentMetadata === null || !equal(payload.paymentMetadata, invoice.paymentMetadata)) {
      return unknownDetails(htlc.amountMsat, height);
    }
  }
  if (invoice.amountMsat !== undefined) {
    // BOLT #4:
    //   - if the amount paid is less than the amount expected:
    //     - MUST fail the HTLC.
    // (amount paid is `total_msat`.)
    if (payload.totalMsat < invoice.amountMsat) return unknownDetails(htlc.amountMsat, height);
    // BOLT #4:
    //   - if the amount paid is more than twice the amount expected:
    //     - SHOULD fail the HTLC.
    if (payload.totalMsat > 2n * invoice.amountMsat) return unknownDetails(htlc.amountMsat, height);
  }
  // BOLT #4:
  //   - if the `cltv_expiry` value is unreasonably near the present:
  //     - MUST fail the HTLC.
  //     - MUST return an `incorrect_or_unknown_payment_details` error.
  if (htlc.cltvExpiry < height + invoice.minFinalCltvExpiryDelta)
    return unknownDetails(htlc.amountMsat, height);
  return checkFinalAgainstOnion(htlc, payload);
}

/** The checks of the HTLC against what the onion told us to expect. */
function checkFinalAgainstOnion(htlc: IncomingHtlc, payload: FinalHopPayload): Failure | null {
  // BOLT #4:
  //   - if the `cltv_expiry` from the final node's HTLC is below `outgoing_cltv_value`:
  //     - MUST return `final_incorrect_cltv_expiry` error.
  if (htlc.cltvExpiry < payload.outgoingCltvValue) {
    return { failure: 'final_incorrect_cltv_expiry', cltv_expiry: htlc.cltvExpiry, tlvs: {} };
  }
  // BOLT #4:
  //   - if `amount_msat` from the final node's HTLC is below `amt_to_forward`:
  //     - MUST return a `final_incorrect_htlc_amount` error.
  if (htlc.amountMsat < payload.amtToForward) {
    return { failure: 'final_incorrect_htlc_amount', incoming_htlc_amt: htlc.amountMsat, tlvs: {} };
  }
  return null;
}

function onHtlc(
  cfg: ReceiveConfig,
  state: ReceiveState,
  ev: Extract<ReceiveEvent, { type: 'htlc' }>,
): ReceiveStep {
  const { htlc, payload, invoice, height, now } = ev;
  const key = hex(htlc.paymentHash);
  const fail = (failure: Failure): ReceiveStep => ({ state, actions: [{ type: 'fail', htlc, failure }] });

  if (payload.keysendPreimage !== undefined && invoice === undefined) {
    if (!cfg.keysendEnabled || !equal(sha256(payload.keysendPreimage), htlc.paymentHash)) {
      return fail(unknownDetails(htlc.amountMsat, height));
    }
    // Keysend is single-part here: the whole amount must be in this HTLC.
    if (payload.totalMsat !== payload.amtToForward || state.sets.has(key))
      return fail(unknownDetails(htlc.amountMsat, height));
    if (htlc.cltvExpiry < height + (cfg.keysendMinFinalCltv ?? 18))
      return fail(unknownDetails(htlc.amountMsat, height));
    const onion = checkFinalAgainstOnion(htlc, payload);
    if (onion !== null) return fail(onion);
    return {
      state,
      actions: [
        {
          type: 'paid',
          paymentHash: htlc.paymentHash,
          amountReceivedMsat: htlc.amountMsat,
          preimage: payload.keysendPreimage,
          keysend: true,
          parts: 1,
        },
        { type: 'settle', htlc, preimage: payload.keysendPreimage },
      ],
    };
  }

  const failure = checkFinalHtlc(htlc, payload, invoice, height, Math.floor(now / 1000));
  if (failure !== null) return fail(failure);
  const inv = invoice!;
  const existing = state.sets.get(key);
  if (existing !== undefined) {
    if (existing.status === 'held') return fail(unknownDetails(htlc.amountMsat, height));
    if (existing.parts.some((p) => htlcKey(p) === htlcKey(htlc))) return { state, actions: [] };
    // BOLT #4:
    //     - SHOULD fail the entire HTLC set if `total_msat` is not the same for
    //       all HTLCs in the set.
    if (existing.totalMsat !== payload.totalMsat) {
      const all = [...existing.parts, htlc];
      return {
        state: withSet(state, key, undefined),
        actions: all.map((p) => ({
          type: 'fail' as const,
          htlc: p,
          failure: unknownDetails(p.amountMsat, height),
        })),
      };
    }
  }
  const set: HtlcSet = existing
    ? { ...existing, parts: [...existing.parts, htlc] }
    : {
        paymentHash: htlc.paymentHash,
        totalMsat: payload.totalMsat,
        parts: [htlc],
        firstAt: now,
        status: 'accumulating',
        hold: inv.hold,
      };
  const received = sumParts(set.parts);
  // BOLT #4:
  //     - if the total `amt_to_forward` of this HTLC set is equal to or greater
  //       than `total_msat`:
  //       - SHOULD fulfill all HTLCs in the HTLC set
  // (We sum the HTLC amounts, each already checked to be at least its `amt_to_forward`.)
  if (received < set.totalMsat) return { state: withSet(state, key, set), actions: [] };
  if (inv.hold || inv.preimage === undefined) {
    return {
      state: withSet(state, key, { ...set, status: 'held' }),
      actions: [{ type: 'held', paymentHash: htlc.paymentHash, amountReceivedMsat: received }],
    };
  }
  return { state: withSet(state, key, undefined), actions: settleAll(set, inv.preimage, received) };
}

function settleAll(set: HtlcSet, preimage: Uint8Array, received: Msat): ReceiveAction[] {
  return [
    {
      type: 'paid',
      paymentHash: set.paymentHash,
      amountReceivedMsat: received,
      preimage,
      keysend: false,
      parts: set.parts.length,
    },
    ...set.parts.map((p) => ({ type: 'settle' as const, htlc: p, preimage })),
  ];
}

function onTick(cfg: ReceiveConfig, state: ReceiveState, now: number, height: number): ReceiveStep {
  const timeout = cfg.mppTimeoutMs ?? MPP_TIMEOUT_MS;
  const actions: ReceiveAction[] = [];
  let next = state;
  for (const [key, set] of state.sets) {
    switch (set.status) {
      case 'accumulating':
        // BOLT #4:
        //       - MUST fail all HTLCs in the HTLC set after some reasonable timeout.
        //         - SHOULD wait for at least 60 seconds after the initial HTLC.
        //         - SHOULD use `mpp_timeout` for the failure message.
        if (now - set.firstAt >= timeout) {
          for (const p of set.parts)
            actions.push({ type: 'fail', htlc: p, failure: { failure: 'mpp_timeout', tlvs: {} } });
          next = withSet(next, key, undefined);
        }
        break;
      case 'held': {
        const earliest = Math.min(...set.parts.map((p) => p.cltvExpiry));
        if (earliest - height <= HOLD_EXPIRY_MARGIN_BLOCKS) {
          for (const p of set.parts)
            actions.push({ type: 'fail', htlc: p, failure: unknownDetails(p.amountMsat, height) });
          actions.push({ type: 'unheld', paymentHash: set.paymentHash });
          next = withSet(next, key, undefined);
        }
        break;
      }
    }
  }
  return { state: next, actions };
}

/** One step of the receive side. Hold-invoice events on a set that is not held return an error. */
export function stepReceive(
  cfg: ReceiveConfig,
  state: ReceiveState,
  ev: ReceiveEvent,
): ReceiveStep | { readonly error: HoldError } {
  switch (ev.type) {
    case 'htlc':
      return onHtlc(cfg, state, ev);
    case 'tick':
      return onTick(cfg, state, ev.now, ev.height);
    case 'hold_settle': {
      const key = hex(ev.paymentHash);
      const set = state.sets.get(key);
      if (set === undefined) return { error: 'unknown_payment_hash' };
      if (set.status !== 'held') return { error: 'not_held' };
      if (!equal(sha256(ev.preimage), ev.paymentHash)) return { error: 'preimage_mismatch' };
      return {
        state: withSet(state, key, undefined),
        actions: settleAll(set, ev.preimage, sumParts(set.parts)),
      };
    }
    case 'restore_held': {
      const key = hex(ev.paymentHash);
      if (ev.parts.length === 0 || state.sets.has(key)) return { state, actions: [] };
      const total = sumParts(ev.parts);
      const set: HtlcSet = {
        paymentHash: ev.paymentHash,
        totalMsat: total,
        parts: ev.parts,
        firstAt: ev.now,
        status: 'held',
        hold: true,
      };
      return { state: withSet(state, key, set), actions: [] };
    }
    case 'hold_cancel': {
      const key = hex(ev.paymentHash);
      const set = state.sets.get(key);
      if (set === undefined) return { state, actions: [] };
      return {
        state: withSet(state, key, undefined),
        actions: set.parts.map((p) => ({
          type: 'fail' as const,
          htlc: p,
          failure: unknownDetails(p.amountMsat, ev.height),
        })),
      };
    }
  }
}
