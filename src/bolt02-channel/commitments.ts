// The update ledger as pure functions over both sides' commitments (Eclair's Commitments.scala in
// spirit): each takes Commitments and returns new Commitments plus the message to send, or an error.
// Local commands that cannot be carried out return CommandRefused (nothing changes); a peer's message
// that breaks the protocol returns a ProtocolViolation for the phase code to turn into a warning or
// an error and force close.

import type { MessageValue } from '../bolt01-wire/types.ts';
import {
  buildHolderCommitment,
  type ChannelTxParams,
  type CommitmentHtlc,
  funderCost,
  type HolderCommitment,
  htlcSuccessFee,
  htlcTimeoutFee,
  isTrimmed,
  perCommitmentPoint,
  secretIndexOf,
  shachainInsert,
  verifyLocalCommitmentSignatures,
} from '../bolt03-tx/index.ts';
import { equal } from '../core/bytes.ts';
import { assertNever, err, ok, type Result } from '../core/result.ts';
import type { FeeratePerKw, Msat } from '../core/units.ts';
import { isPrivateKey, sha256 } from '../crypto/index.ts';
import type { ChannelNotification, CommandRefused } from './events.ts';
import type { ChannelSigner } from './signer.ts';
import type { Changes, Commitments, CommitSpec, RemoteCommit, UpdateMessage } from './state.ts';

export interface ProtocolViolation {
  /** 'warning': send warning and disconnect; 'error': send error and fail the channel. */
  readonly severity: 'warning' | 'error';
  readonly message: string;
}

const refuse = (reason: string): Result<never, CommandRefused> => err({ kind: 'command_refused', reason });
const warn = (message: string): Result<never, ProtocolViolation> => err({ severity: 'warning', message });
const fail = (message: string): Result<never, ProtocolViolation> => err({ severity: 'error', message });

// BOLT #2:
//   - MUST set `cltv_expiry` less than 500000000.
export const MAX_CLTV_EXPIRY = 500_000_000;
// BOLT #2:
//   - `max_accepted_htlcs` is greater than 483.
export const MAX_ACCEPTED_HTLCS_LIMIT = 483;

export function txParams(c: Commitments): ChannelTxParams {
  return {
    channelType: c.channelType,
    fundingOutpoint: c.fundingOutpoint,
    fundingAmount: c.fundingAmount,
    localIsFunder: c.localIsFunder,
    local: { basepoints: c.local.basepoints, dustLimit: c.local.dustLimit, toSelfDelay: c.local.toSelfDelay },
    remote: {
      basepoints: c.remote.basepoints,
      dustLimit: c.remote.dustLimit,
      toSelfDelay: c.remote.toSelfDelay,
    },
  };
}

export function latestRemoteCommit(c: Commitments): RemoteCommit {
  return c.waiting !== undefined ? c.waiting.nextRemoteCommit : c.remoteCommit;
}

export function emptyChanges(): Changes {
  return { proposed: [], signed: [], acked: [] };
}

/** We have something to put in their commitment. */
export function localHasChanges(c: Commitments): boolean {
  return c.remoteChanges.acked.length > 0 || c.localChanges.proposed.length > 0;
}

/** They have something to put in ours. */
export function remoteHasChanges(c: Commitments): boolean {
  return c.localChanges.acked.length > 0 || c.remoteChanges.proposed.length > 0;
}

/** Any update not yet in both commitments. */
export function hasPendingChanges(c: Commitments): boolean {
  const l = c.localChanges;
  const r = c.remoteChanges;
  return (
    c.waiting !== undefined ||
    l.proposed.length +
      l.signed.length +
      l.acked.length +
      r.proposed.length +
      r.signed.length +
      r.acked.length >
      0
  );
}

/** HTLCs in either commitment. */
export function hasHtlcs(c: Commitments): boolean {
  return c.localCommit.spec.htlcs.length > 0 || latestRemoteCommit(c).spec.htlcs.length > 0;
}

/** Applies updates to a spec (our view): adds first, then removals, then the last fee. `ours` are
 * updates we sent, `theirs` those we received. */
export function reduceSpec(
  spec: CommitSpec,
  ours: readonly UpdateMessage[],
  theirs: readonly UpdateMessage[],
): Result<CommitSpec, string> {
  const htlcs: (CommitmentHtlc | undefined)[] = [...spec.htlcs];
  let toLocal: bigint = spec.toLocal;
  let toRemote: bigint = spec.toRemote;
  let feerate = spec.feerate;
  const addAll = (list: readonly UpdateMessage[], mine: boolean) => {
    for (const u of list) {
      if (u.type !== 'update_add_htlc') continue;
      htlcs.push(htlcOfAdd(u, mine));
      if (mine) toLocal -= u.amount_msat;
      else toRemote -= u.amount_msat;
    }
  };
  addAll(ours, true);
  addAll(theirs, false);
  // Removals find their HTLC by (direction, id) through an index built once, not a scan each.
  let index: Map<string, number[]> | undefined;
  const take = (direction: 'offered' | 'received', id: bigint): CommitmentHtlc | undefined => {
    if (index === undefined) {
      index = new Map();
      for (let i = 0; i < htlcs.length; i++) {
        const h = htlcs[i]!;
        const k = `${h.direction}:${h.id}`;
        const at = index.get(k);
        if (at === undefined) index.set(k, [i]);
        else at.push(i);
      }
    }
    // The earliest match first, as a front-to-back scan would find it.
    const i = index.get(`${direction}:${id}`)?.shift();
    if (i === undefined) return undefined;
    const h = htlcs[i];
    htlcs[i] = undefined;
    return h;
  };
  const removeAll = (list: readonly UpdateMessage[], mine: boolean): string | undefined => {
    for (const u of list) {
      switch (u.type) {
        case 'update_add_htlc':
          break;
        case 'update_fulfill_htlc': {
          // A fulfill by us removes an HTLC they offered (received by us) and pays us.
          const h = take(mine ? 'received' : 'offered', u.id);
          if (h === undefined) return `fulfill of unknown htlc ${u.id}`;
          if (mine) toLocal += h.amount;
          else toRemote += h.amount;
          break;
        }
        case 'update_fail_htlc':
        case 'update_fail_malformed_htlc': {
          const h = take(mine ? 'received' : 'offered', u.id);
          if (h === undefined) return `fail of unknown htlc ${u.id}`;
          if (mine) toRemote += h.amount;
          else toLocal += h.amount;
          break;
        }
        case 'update_fee':
          feerate = u.feerate_per_kw as FeeratePerKw;
          break;
        default:
          assertNever(u, 'update');
      }
    }
    return undefined;
  };
  const bad = removeAll(ours, true) ?? removeAll(theirs, false);
  if (bad !== undefined) return err(bad);
  if (toLocal < 0n || toRemote < 0n) return err('negative balance');
  const left = htlcs.filter((h): h is CommitmentHtlc => h !== undefined);
  return ok({ feerate, toLocal: toLocal as Msat, toRemote: toRemote as Msat, htlcs: left });
}

/** The HTLC an update_add_htlc puts in a commitment; `mine`: we sent the add (so we offer it). */
function htlcOfAdd(u: Extract<UpdateMessage, { type: 'update_add_htlc' }>, mine: boolean): CommitmentHtlc {
  return {
    direction: mine ? 'offered' : 'received',
    id: u.id,
    amount: u.amount_msat as Msat,
    paymentHash: u.payment_hash,
    cltvExpiry: u.cltv_expiry,
  };
}

type Side = 'local' | 'remote';

/** An HTLC's direction as `holder` sees it (the spec is our view; their commitment mirrors it). */
function holderDirection(h: CommitmentHtlc, holder: Side): 'offered' | 'received' {
  if (holder === 'local') return h.direction;
  return h.direction === 'offered' ? 'received' : 'offered';
}

function dustLimitOf(c: Commitments, holder: Side) {
  return holder === 'local' ? c.local.dustLimit : c.remote.dustLimit;
}

/** The reserve `side` must keep (announced by the other side), in msat. */
export function reserveOf(c: Commitments, side: Side): bigint {
  return (side === 'local' ? c.remote.channelReserve : c.local.channelReserve) * 1000n;
}

/** What the funder pays on `holder`'s commitment of `spec` (fee + anchors), in msat. */
export function funderCostMsat(
  c: Commitments,
  spec: CommitSpec,
  holder: Side,
  feerate: FeeratePerKw = spec.feerate,
  extraHtlcs = 0,
): bigint {
  const dust = dustLimitOf(c, holder);
  let untrimmed = 0;
  for (const h of spec.htlcs)
    if (!isTrimmed(c.channelType, holderDirection(h, holder), h.amount, feerate, dust)) untrimmed++;
  return funderCost(c.channelType, feerate, untrimmed + extraHtlcs) * 1000n;
}

/** Sum of trimmed HTLCs on `holder`'s commitment (the "dust balance"), in msat. */
export function dustExposure(c: Commitments, spec: CommitSpec, holder: Side): bigint {
  const dust = dustLimitOf(c, holder);
  let total = 0n;
  for (const h of spec.htlcs)
    if (isTrimmed(c.channelType, holderDirection(h, holder), h.amount, spec.feerate, dust)) total += h.amount;
  return total;
}

function funderSide(c: Commitments): Side {
  return c.localIsFunder ? 'local' : 'remote';
}

// ---- Running totals of a spec --------------------------------------------------------------------
// The add checks need only sums over a spec's HTLCs (balances, counts, untrimmed HTLCs, dust). Each
// add used to rebuild its specs and rescan every HTLC: O(N) per add, O(N^2) per batch of N. Here the
// sums are kept as totals; the totals after an add are the totals before plus the one HTLC, memoised
// per Commitments object (immutable, so an entry can never go stale).

/** Per holder of a commitment (ours, theirs). */
interface PerHolder<T> {
  readonly local: T;
  readonly remote: T;
}

/** The sums the add, fee and affordability checks read from one spec (our view). */
export interface SpecTotals {
  readonly feerate: FeeratePerKw;
  readonly toLocal: bigint;
  readonly toRemote: bigint;
  /** HTLCs we offer: count and msat (their max_accepted_htlcs and in-flight limit). */
  readonly offered: number;
  readonly offeredMsat: bigint;
  /** HTLCs they offer: count and msat (our limits). */
  readonly received: number;
  readonly receivedMsat: bigint;
  /** Untrimmed HTLCs on each holder's commitment at `feerate`, and at twice it (the fee spike buffer). */
  readonly untrimmed: PerHolder<number>;
  readonly untrimmedSpike: PerHolder<number>;
  /** Each holder's dust balance (trimmed HTLCs) at `feerate`, in msat. */
  readonly dust: PerHolder<bigint>;
}

/**
 * The msat amounts from which an HTLC is untrimmed on each holder's commitment at `feerate`, by the
 * HTLC's direction in our view: isTrimmed is floor(msat / 1000) < dustLimit + fee, and for whole
 * satoshis that is msat < (dustLimit + fee) * 1000.
 */
interface TrimThresholds {
  readonly local: { readonly offered: bigint; readonly received: bigint };
  readonly remote: { readonly offered: bigint; readonly received: bigint };
}

function trimThresholds(c: Commitments, feerate: FeeratePerKw): TrimThresholds {
  const t = c.channelType;
  const timeout = htlcTimeoutFee(t, feerate);
  const success = htlcSuccessFee(t, feerate);
  const ld = c.local.dustLimit;
  const rd = c.remote.dustLimit;
  return {
    // Our offered HTLC is an offered one on ours (HTLC-timeout) and a received one on theirs.
    local: { offered: (ld + timeout) * 1000n, received: (ld + success) * 1000n },
    remote: { offered: (rd + success) * 1000n, received: (rd + timeout) * 1000n },
  };
}

/** Totals being summed (mutable while a spec is scanned, then frozen as SpecTotals). */
interface Acc {
  feerate: FeeratePerKw;
  toLocal: bigint;
  toRemote: bigint;
  offered: number;
  offeredMsat: bigint;
  received: number;
  receivedMsat: bigint;
  untrimmed: { local: number; remote: number };
  untrimmedSpike: { local: number; remote: number };
  dust: { local: bigint; remote: bigint };
}

/** Adds one HTLC's share to `acc` (its balance is the caller's). */
function addHtlcTo(
  acc: Acc,
  direction: 'offered' | 'received',
  amount: bigint,
  at: TrimThresholds,
  spike: TrimThresholds,
): void {
  if (direction === 'offered') {
    acc.offered++;
    acc.offeredMsat += amount;
  } else {
    acc.received++;
    acc.receivedMsat += amount;
  }
  if (amount >= at.local[direction]) acc.untrimmed.local++;
  else acc.dust.local += amount;
  if (amount >= at.remote[direction]) acc.untrimmed.remote++;
  else acc.dust.remote += amount;
  if (amount >= spike.local[direction]) acc.untrimmedSpike.local++;
  if (amount >= spike.remote[direction]) acc.untrimmedSpike.remote++;
}

function emptyAcc(feerate: FeeratePerKw, toLocal: bigint, toRemote: bigint): Acc {
  return {
    feerate,
    toLocal,
    toRemote,
    offered: 0,
    offeredMsat: 0n,
    received: 0,
    receivedMsat: 0n,
    untrimmed: { local: 0, remote: 0 },
    untrimmedSpike: { local: 0, remote: 0 },
    dust: { local: 0n, remote: 0n },
  };
}

function thresholdsOf(c: Commitments, feerate: FeeratePerKw): [TrimThresholds, TrimThresholds] {
  return [trimThresholds(c, feerate), trimThresholds(c, (feerate * 2) as FeeratePerKw)];
}

/** The totals of `spec` (at its own feerate). */
export function specTotals(c: Commitments, spec: CommitSpec): SpecTotals {
  const acc = emptyAcc(spec.feerate, spec.toLocal, spec.toRemote);
  const [at, spike] = thresholdsOf(c, spec.feerate);
  for (const h of spec.htlcs) addHtlcTo(acc, h.direction, h.amount, at, spike);
  return acc;
}

/** `t` with one more HTLC of `amount` in `direction`, paid from its offerer's balance. */
function plusHtlc(
  c: Commitments,
  t: SpecTotals,
  direction: 'offered' | 'received',
  amount: bigint,
): SpecTotals {
  const acc: Acc = {
    ...t,
    toLocal: direction === 'offered' ? t.toLocal - amount : t.toLocal,
    toRemote: direction === 'received' ? t.toRemote - amount : t.toRemote,
    untrimmed: { ...t.untrimmed },
    untrimmedSpike: { ...t.untrimmedSpike },
    dust: { ...t.dust },
  };
  const [at, spike] = thresholdsOf(c, t.feerate);
  addHtlcTo(acc, direction, amount, at, spike);
  return acc;
}

/**
 * The worst case for balances, HTLC count and fees of `spec` with pending updates: only the adds
 * applied (removals may still fail), at the highest fee proposed (or at `feerate` when given).
 */
function worstTotals(
  c: Commitments,
  spec: CommitSpec,
  ours: readonly (readonly UpdateMessage[])[],
  theirs: readonly (readonly UpdateMessage[])[],
  feerate?: FeeratePerKw,
): SpecTotals {
  let worstFee: number = spec.feerate;
  for (const lists of [ours, theirs])
    for (const list of lists)
      for (const u of list)
        if (u.type === 'update_fee' && u.feerate_per_kw > worstFee) worstFee = u.feerate_per_kw;
  const f = feerate ?? (worstFee as FeeratePerKw);
  const acc = emptyAcc(f, spec.toLocal, spec.toRemote);
  const [at, spike] = thresholdsOf(c, f);
  for (const h of spec.htlcs) addHtlcTo(acc, h.direction, h.amount, at, spike);
  for (const [lists, mine] of [
    [ours, true],
    [theirs, false],
  ] as const)
    for (const list of lists)
      for (const u of list) {
        if (u.type !== 'update_add_htlc') continue;
        if (mine) acc.toLocal -= u.amount_msat;
        else acc.toRemote -= u.amount_msat;
        addHtlcTo(acc, mine ? 'offered' : 'received', u.amount_msat, at, spike);
      }
  return acc;
}

/** Totals bounding every commitment the pending updates can still produce (ours, then theirs). */
type WorstBounds = readonly [SpecTotals, SpecTotals];

function worstBounds(c: Commitments, feerate?: FeeratePerKw): WorstBounds {
  const l = c.localChanges;
  const r = c.remoteChanges;
  return [
    worstTotals(c, c.localCommit.spec, [l.acked, l.signed, l.proposed], [r.proposed], feerate),
    worstTotals(c, latestRemoteCommit(c).spec, [l.proposed], [r.acked, r.proposed], feerate),
  ];
}

const worstBoundsMemo = new WeakMap<Commitments, WorstBounds>();

/**
 * worstBounds of `next`, which is `prev` with our `add` proposed and nothing else changed: prev's
 * bounds (memoised) plus the one HTLC, which lands in both worst cases.
 */
function worstBoundsAfterOurAdd(prev: Commitments, next: Commitments, amount: bigint): WorstBounds {
  const before = worstBoundsMemo.get(prev);
  const after: WorstBounds =
    before === undefined
      ? worstBounds(next)
      : [plusHtlc(next, before[0], 'offered', amount), plusHtlc(next, before[1], 'offered', amount)];
  worstBoundsMemo.set(next, after);
  return after;
}

function balanceOf(t: SpecTotals, side: Side): bigint {
  return side === 'local' ? t.toLocal : t.toRemote;
}

/**
 * Whether `sender`'s updates keep both sides able to pay: the sender keeps its reserve, and the
 * funder keeps its reserve plus the fee (with `spike`: at twice the feerate with one more HTLC).
 */
function checkAffordable(
  c: Commitments,
  bounds: readonly SpecTotals[],
  sender: Side,
  spike: boolean,
): string | undefined {
  const funder = funderSide(c);
  const spiked = spike && sender === funder;
  for (const t of bounds) {
    for (const holder of ['local', 'remote'] as const) {
      const feerate = (spiked ? t.feerate * 2 : t.feerate) as FeeratePerKw;
      const untrimmed = spiked ? t.untrimmedSpike[holder] + 1 : t.untrimmed[holder];
      const cost = funderCost(c.channelType, feerate, untrimmed) * 1000n;
      const senderNeeds = reserveOf(c, sender) + (sender === funder ? cost : 0n);
      if (balanceOf(t, sender) < senderNeeds)
        return `${sender} cannot afford it: balance ${balanceOf(t, sender)} msat, needs ${senderNeeds} msat on the ${holder} commitment`;
      if (sender !== funder && balanceOf(t, funder) < reserveOf(c, funder) + cost)
        return `funder could no longer pay the fee on the ${holder} commitment`;
    }
  }
  return undefined;
}

// ---- Adding an HTLC ----------------------------------------------------------------------------

export interface AddRequest {
  readonly amount: Msat;
  readonly paymentHash: Uint8Array;
  readonly cltvExpiry: number;
  readonly onion: Uint8Array;
  readonly pathKey?: Uint8Array | undefined;
}

export function sendAdd(
  c: Commitments,
  req: AddRequest,
): Result<{ commitments: Commitments; msg: MessageValue<'update_add_htlc'> }, CommandRefused> {
  // BOLT #2:
  //   - MUST offer `amount_msat` greater than 0.
  //   - MUST NOT offer `amount_msat` below the receiving node's `htlc_minimum_msat`
  if (req.amount <= 0n) return refuse('amount must be greater than 0');
  if (req.amount < c.remote.htlcMinimum)
    return refuse(`amount below the peer's htlc_minimum_msat ${c.remote.htlcMinimum}`);
  if (!Number.isInteger(req.cltvExpiry) || req.cltvExpiry < 0 || req.cltvExpiry >= MAX_CLTV_EXPIRY)
    return refuse('cltv_expiry must be a block height below 500000000');
  if (req.paymentHash.length !== 32) return refuse('payment_hash must be 32 bytes');
  if (req.onion.length !== 1366) return refuse('onion must be 1366 bytes');
  const msg: MessageValue<'update_add_htlc'> = {
    type: 'update_add_htlc',
    channel_id: c.channelId,
    id: c.localNextHtlcId,
    amount_msat: req.amount,
    payment_hash: req.paymentHash,
    cltv_expiry: req.cltvExpiry,
    onion_routing_packet: req.onion,
    tlvs: req.pathKey !== undefined ? { blinded_path: { path_key: req.pathKey } } : {},
  };
  const next: Commitments = {
    ...c,
    localChanges: { ...c.localChanges, proposed: [...c.localChanges.proposed, msg] },
    localNextHtlcId: c.localNextHtlcId + 1n,
  };
  const bounds = worstBoundsAfterOurAdd(c, next, req.amount);
  const unaffordable = checkAffordable(next, bounds, 'local', true);
  if (unaffordable !== undefined) return refuse(unaffordable);
  for (const t of bounds) {
    // BOLT #2:
    //   - if result would be offering more than the remote's
    //   `max_accepted_htlcs` HTLCs, in the remote commitment transaction:
    //     - MUST NOT add an HTLC.
    if (t.offered > c.remote.maxAcceptedHtlcs)
      return refuse(`the peer accepts at most ${c.remote.maxAcceptedHtlcs} HTLCs`);
    if (t.offeredMsat > c.remote.maxHtlcValueInFlight)
      return refuse(`the peer accepts at most ${c.remote.maxHtlcValueInFlight} msat in flight`);
    for (const holder of ['local', 'remote'] as const) {
      const direction = holder === 'local' ? 'offered' : 'received';
      if (!isTrimmed(c.channelType, direction, req.amount, t.feerate, dustLimitOf(c, holder))) continue;
      if (t.dust[holder] > c.maxDustExposure)
        return refuse(`dust exposure on the ${holder} commitment would exceed ${c.maxDustExposure} msat`);
    }
  }
  return ok({ commitments: next, msg });
}

export function receiveAdd(
  c: Commitments,
  msg: MessageValue<'update_add_htlc'>,
): Result<Commitments, ProtocolViolation> {
  if (msg.id !== c.remoteNextHtlcId)
    return warn(`unexpected htlc id ${msg.id}, expected ${c.remoteNextHtlcId}`);
  // BOLT #2:
  //   - receiving an `amount_msat` equal to 0, OR less than its own `htlc_minimum_msat`:
  //     - SHOULD send a `warning` and close the connection, or send an
  //       `error` and fail the channel.
  if (msg.amount_msat === 0n || msg.amount_msat < c.local.htlcMinimum)
    return fail(`htlc amount ${msg.amount_msat} below htlc_minimum_msat ${c.local.htlcMinimum}`);
  // BOLT #2:
  //   - if sending node sets `cltv_expiry` to greater or equal to 500000000:
  if (msg.cltv_expiry >= MAX_CLTV_EXPIRY) return fail('cltv_expiry is not a block height');
  const next: Commitments = {
    ...c,
    remoteChanges: { ...c.remoteChanges, proposed: [...c.remoteChanges.proposed, msg] },
    remoteNextHtlcId: c.remoteNextHtlcId + 1n,
  };
  // The commitment this HTLC lands in: ours, with what we acked and what they proposed.
  const landing = landingAfterTheirAdd(c, next, msg.amount_msat);
  if (!landing.ok) return fail(landing.error);
  const t = landing.value;
  // BOLT #2:
  //   - receiving an `amount_msat` that the sending node cannot afford at the current `feerate_per_kw` (while maintaining its channel reserve and any `to_local_anchor` and `to_remote_anchor` costs):
  const fee = c.localIsFunder ? 0n : funderCost(c.channelType, t.feerate, t.untrimmed.local) * 1000n;
  if (t.toRemote < reserveOf(c, 'remote') + fee) return fail('peer cannot afford the htlc');
  // BOLT #2:
  //   - if a sending node adds more than receiver `max_accepted_htlcs` HTLCs to
  //     its local commitment transaction, OR adds more than receiver `max_htlc_value_in_flight_msat` worth of offered HTLCs to its local commitment transaction:
  if (t.received > c.local.maxAcceptedHtlcs) return fail('too many htlcs');
  if (t.receivedMsat > c.local.maxHtlcValueInFlight) return fail('max_htlc_value_in_flight_msat exceeded');
  return ok(next);
}

const landingMemo = new WeakMap<Commitments, SpecTotals>();

/**
 * The totals of our next commitment (reduceSpec of what we acked and what they proposed) in `next`,
 * which is `prev` with their `add` proposed and nothing else changed. When prev's landing reduced
 * cleanly (memoised), every removal already found its HTLC, so the new HTLC only joins the adds: the
 * totals are prev's plus it, and the one new failure is their balance going negative.
 */
function landingAfterTheirAdd(
  prev: Commitments,
  next: Commitments,
  amount: bigint,
): Result<SpecTotals, string> {
  const before = landingMemo.get(prev);
  let after: SpecTotals;
  if (before !== undefined) {
    after = plusHtlc(next, before, 'received', amount);
    if (after.toRemote < 0n) return err('negative balance');
  } else {
    const spec = reduceSpec(next.localCommit.spec, next.localChanges.acked, next.remoteChanges.proposed);
    if (!spec.ok) return spec;
    after = specTotals(next, spec.value);
  }
  landingMemo.set(next, after);
  return ok(after);
}

// ---- Removing an HTLC --------------------------------------------------------------------------

/** An HTLC in both our commitment and their latest one (cross-signed). */
function crossSigned(
  c: Commitments,
  direction: 'offered' | 'received',
  id: bigint,
): CommitmentHtlc | undefined {
  const inLocal = htlcIndexOf(c.localCommit.spec.htlcs)[direction].get(id);
  const inRemote = htlcIndexOf(latestRemoteCommit(c).spec.htlcs)[direction].get(id);
  return inLocal !== undefined && inRemote !== undefined ? inLocal : undefined;
}

interface HtlcIndex {
  readonly offered: Map<bigint, CommitmentHtlc>;
  readonly received: Map<bigint, CommitmentHtlc>;
}

/** A commitment's HTLCs by direction and id, built once per (immutable) list instead of a scan per removal. */
const htlcIndexMemo = new WeakMap<readonly CommitmentHtlc[], HtlcIndex>();

export function htlcIndexOf(htlcs: readonly CommitmentHtlc[]): HtlcIndex {
  let index = htlcIndexMemo.get(htlcs);
  if (index === undefined) {
    index = { offered: new Map(), received: new Map() };
    // The first of equal (direction, id) pairs wins, as a front-to-back find would.
    for (const h of htlcs) if (!index[h.direction].has(h.id)) index[h.direction].set(h.id, h);
    htlcIndexMemo.set(htlcs, index);
  }
  return index;
}

/** Whether `changes` already carry a fulfill or fail of HTLC `id`, at any stage. */
export function removalPending(changes: Changes, id: bigint): boolean {
  for (const list of [changes.proposed, changes.signed, changes.acked])
    for (const u of list)
      if (u.type !== 'update_add_htlc' && u.type !== 'update_fee' && u.id === id) return true;
  return false;
}

type RemovalMessage =
  | MessageValue<'update_fulfill_htlc'>
  | MessageValue<'update_fail_htlc'>
  | MessageValue<'update_fail_malformed_htlc'>;

/** We settle or fail one of their HTLCs. */
export function sendRemoval(c: Commitments, msg: RemovalMessage): Result<Commitments, CommandRefused> {
  const h = crossSigned(c, 'received', msg.id);
  if (h === undefined) return refuse(`no committed incoming htlc ${msg.id}`);
  if (removalPending(c.localChanges, msg.id)) return refuse(`htlc ${msg.id} is already being removed`);
  if (msg.type === 'update_fulfill_htlc' && !equal(sha256(msg.payment_preimage), h.paymentHash))
    return refuse('preimage does not match the payment hash');
  // BOLT #2:
  //   - if the `BADONION` bit in `failure_code` is not set for
  //   `update_fail_malformed_htlc`:
  if (msg.type === 'update_fail_malformed_htlc' && (msg.failure_code & 0x8000) === 0)
    return refuse('failure_code must have the BADONION bit');
  return ok({ ...c, localChanges: { ...c.localChanges, proposed: [...c.localChanges.proposed, msg] } });
}

/** They settle or fail one of our HTLCs. */
export function receiveRemoval(
  c: Commitments,
  msg: RemovalMessage,
): Result<{ commitments: Commitments; notifications: ChannelNotification[] }, ProtocolViolation> {
  // BOLT #2:
  //   - if the `id` does not correspond to an HTLC in its current commitment transaction:
  //     - MUST send a `warning` and close the connection, or send an
  //       `error` and fail the channel.
  const h = crossSigned(c, 'offered', msg.id);
  if (h === undefined) return fail(`${msg.type} for unknown htlc ${msg.id}`);
  if (removalPending(c.remoteChanges, msg.id)) return fail(`htlc ${msg.id} removed twice`);
  const notifications: ChannelNotification[] = [];
  switch (msg.type) {
    case 'update_fulfill_htlc':
      // BOLT #2:
      //   - if the `payment_preimage` value in `update_fulfill_htlc`
      //   doesn't SHA256 hash to the corresponding HTLC `payment_hash`:
      if (!equal(sha256(msg.payment_preimage), h.paymentHash)) return fail('preimage does not match');
      // The preimage is ours to use upstream right away, whatever happens to this channel.
      notifications.push({ kind: 'htlc_fulfilled', id: msg.id, preimage: msg.payment_preimage });
      break;
    case 'update_fail_htlc':
      break;
    case 'update_fail_malformed_htlc':
      // BOLT #2:
      //   - if the `BADONION` bit in `failure_code` is not set for
      //   `update_fail_malformed_htlc`:
      if ((msg.failure_code & 0x8000) === 0) return fail('failure_code without BADONION');
      break;
    default:
      assertNever(msg, 'removal');
  }
  return ok({
    commitments: {
      ...c,
      remoteChanges: { ...c.remoteChanges, proposed: [...c.remoteChanges.proposed, msg] },
    },
    notifications,
  });
}

// ---- Fees --------------------------------------------------------------------------------------

export function sendFee(
  c: Commitments,
  feerate: FeeratePerKw,
): Result<{ commitments: Commitments; msg: MessageValue<'update_fee'> }, CommandRefused> {
  // BOLT #2:
  // The node _not responsible_ for paying the Bitcoin fee:
  //   - MUST NOT send `update_fee`.
  if (!c.localIsFunder) return refuse('only the funder sends update_fee');
  if (!Number.isInteger(feerate) || feerate < 253 || feerate > 0xffff_ffff) return refuse('bad feerate');
  const msg: MessageValue<'update_fee'> = {
    type: 'update_fee',
    channel_id: c.channelId,
    feerate_per_kw: feerate,
    tlvs: {},
  };
  // A new fee replaces any pending one.
  const proposed = [...c.localChanges.proposed.filter((u) => u.type !== 'update_fee'), msg];
  const next: Commitments = { ...c, localChanges: { ...c.localChanges, proposed } };
  const bounds = worstBounds(next, feerate);
  const unaffordable = checkAffordable(next, bounds, 'local', false);
  if (unaffordable !== undefined) return refuse(unaffordable);
  // BOLT #2:
  //   - if `option_anchors` was not negotiated:
  //     - if the `update_fee` increases `feerate_per_kw`:
  //       - if the dust balance of the remote transaction at the updated `feerate_per_kw` is greater than `max_dust_htlc_exposure_msat`:
  //         - MAY NOT send `update_fee`
  //       - if the dust balance of the local transaction at the updated `feerate_per_kw` is greater than `max_dust_htlc_exposure_msat`:
  if (c.channelType === 'static_remotekey' && feerate > c.localCommit.spec.feerate) {
    for (const t of bounds)
      for (const holder of ['local', 'remote'] as const)
        if (t.dust[holder] > c.maxDustExposure)
          return refuse(
            `the new feerate would put the ${holder} dust exposure over ${c.maxDustExposure} msat`,
          );
  }
  return ok({ commitments: next, msg });
}

export function receiveFee(
  c: Commitments,
  msg: MessageValue<'update_fee'>,
  bounds: { readonly min: FeeratePerKw; readonly max: FeeratePerKw },
): Result<Commitments, ProtocolViolation> {
  // BOLT #2:
  //   - if the sender is not responsible for paying the Bitcoin fee:
  if (c.localIsFunder) return fail('update_fee from the non-funder');
  // BOLT #2:
  //   - if the `update_fee` is too low for timely processing, OR is unreasonably large:
  if (msg.feerate_per_kw < bounds.min || msg.feerate_per_kw > bounds.max)
    return fail(`feerate ${msg.feerate_per_kw} outside ${bounds.min}..${bounds.max}`);
  const proposed = [...c.remoteChanges.proposed.filter((u) => u.type !== 'update_fee'), msg];
  const next: Commitments = { ...c, remoteChanges: { ...c.remoteChanges, proposed } };
  const landing = reduceSpec(next.localCommit.spec, next.localChanges.acked, next.remoteChanges.proposed);
  if (!landing.ok) return fail(landing.error);
  // BOLT #2:
  //   - if the sender cannot afford the new fee rate on the receiving node's
  //   current commitment transaction:
  if (landing.value.toRemote < reserveOf(c, 'remote') + funderCostMsat(c, landing.value, 'local'))
    return fail('peer cannot afford the new feerate');
  return ok(next);
}

// ---- commitment_signed / revoke_and_ack ---------------------------------------------------------

export function buildLocal(
  c: Commitments,
  spec: CommitSpec,
  index: bigint,
  signer: ChannelSigner,
): Result<HolderCommitment, string> {
  const r = buildHolderCommitment(
    txParams(c),
    'local',
    { ...spec, commitmentNumber: index },
    signer.perCommitmentPoint(index),
  );
  return r.ok ? r : err(`cannot build our commitment: ${r.error.kind}`);
}

export function buildRemote(
  c: Commitments,
  spec: CommitSpec,
  index: bigint,
  point: Uint8Array,
): Result<HolderCommitment, string> {
  const r = buildHolderCommitment(txParams(c), 'remote', { ...spec, commitmentNumber: index }, point);
  return r.ok ? r : err(`cannot build their commitment: ${r.error.kind}`);
}

export function sendCommit(
  c: Commitments,
  signer: ChannelSigner,
): Result<{ commitments: Commitments; msg: MessageValue<'commitment_signed'> }, CommandRefused> {
  if (c.waiting !== undefined || c.remoteNextPoint === undefined) return refuse('waiting for revoke_and_ack');
  // BOLT #2:
  //   - MUST NOT send a `commitment_signed` message that does not include any
  // updates.
  if (!localHasChanges(c)) return refuse('nothing to sign');
  const spec = reduceSpec(c.remoteCommit.spec, c.localChanges.proposed, c.remoteChanges.acked);
  if (!spec.ok) return refuse(spec.error);
  const index = c.remoteCommit.index + 1n;
  const remote = buildRemote(c, spec.value, index, c.remoteNextPoint);
  if (!remote.ok) return refuse(remote.error);
  const sigs = signer.signRemoteCommitment(remote.value);
  const msg: MessageValue<'commitment_signed'> = {
    type: 'commitment_signed',
    channel_id: c.channelId,
    signature: sigs.signature,
    htlc_signature: [...sigs.htlcSignatures],
    // BOLT #2:
    //   - MUST set `funding_txid` to the funding transaction spent by this commitment
    //     transaction.
    tlvs: { funding_txid: { funding_txid: c.fundingOutpoint.txid } },
  };
  const commitments: Commitments = {
    ...c,
    localChanges: { ...c.localChanges, proposed: [], signed: c.localChanges.proposed },
    remoteChanges: { ...c.remoteChanges, acked: [], signed: c.remoteChanges.acked },
    waiting: {
      nextRemoteCommit: {
        index,
        spec: spec.value,
        txid: remote.value.commitment.txid,
        point: c.remoteNextPoint,
      },
      sentAfterLocalCommitIndex: c.localCommit.index,
      sent: msg,
    },
    remoteNextPoint: undefined,
  };
  return ok({ commitments, msg });
}

/** The revoke_and_ack for our commitment `index - 1` after moving to `index`. */
export function revocationFor(c: Commitments, signer: ChannelSigner): MessageValue<'revoke_and_ack'> {
  const n = c.localCommit.index;
  return {
    type: 'revoke_and_ack',
    channel_id: c.channelId,
    per_commitment_secret: signer.releaseCommitmentSecret(n - 1n),
    next_per_commitment_point: signer.perCommitmentPoint(n + 1n),
    tlvs: {},
  };
}

export function receiveCommit(
  c: Commitments,
  msg: MessageValue<'commitment_signed'>,
  signer: ChannelSigner,
): Result<{ commitments: Commitments; revocation: MessageValue<'revoke_and_ack'> }, ProtocolViolation> {
  if (!remoteHasChanges(c)) return fail('commitment_signed without changes');
  const fundingTxid = msg.tlvs.funding_txid?.funding_txid;
  if (fundingTxid !== undefined && !equal(fundingTxid, c.fundingOutpoint.txid))
    return fail('commitment_signed for another funding transaction');
  const spec = reduceSpec(c.localCommit.spec, c.localChanges.acked, c.remoteChanges.proposed);
  if (!spec.ok) return fail(spec.error);
  const index = c.localCommit.index + 1n;
  const local = buildLocal(c, spec.value, index, signer);
  if (!local.ok) return fail(local.error);
  // BOLT #2:
  //     - if `signature` is not valid for its local commitment transaction OR non-compliant with LOW-S-standard rule <sup>[LOWS](https://github.com/bitcoin/bitcoin/pull/6769)</sup>:
  //     - if `num_htlcs` is not equal to the number of HTLC outputs in the local
  //     commitment transaction:
  //   - if any `htlc_signature` is not valid for the corresponding HTLC transaction OR non-compliant with LOW-S-standard rule <sup>[LOWS](https://github.com/bitcoin/bitcoin/pull/6769)</sup>:
  const v = verifyLocalCommitmentSignatures(local.value, {
    signature: msg.signature,
    htlcSignatures: msg.htlc_signature,
  });
  if (!v.ok) return fail(`invalid commitment_signed: ${v.error.kind}`);
  const commitments: Commitments = {
    ...c,
    localCommit: {
      index,
      spec: spec.value,
      txid: local.value.commitment.txid,
      remoteSig: msg.signature,
      remoteHtlcSigs: msg.htlc_signature,
    },
    localChanges: { ...c.localChanges, acked: [] },
    remoteChanges: {
      ...c.remoteChanges,
      proposed: [],
      acked: [...c.remoteChanges.acked, ...c.remoteChanges.proposed],
    },
  };
  return ok({ commitments, revocation: revocationFor(commitments, signer) });
}

export function receiveRevocation(
  c: Commitments,
  msg: MessageValue<'revoke_and_ack'>,
): Result<{ commitments: Commitments; notifications: ChannelNotification[] }, ProtocolViolation> {
  const w = c.waiting;
  if (w === undefined) return fail('unexpected revoke_and_ack');
  // BOLT #2:
  //   - if `per_commitment_secret` is not a valid secret key or does not generate the previous `per_commitment_point`:
  //     - MUST send an `error` and fail the channel.
  if (
    !isPrivateKey(msg.per_commitment_secret) ||
    !equal(perCommitmentPoint(msg.per_commitment_secret), c.remoteCommit.point)
  )
    return fail('per_commitment_secret does not match the per_commitment_point');
  const stored = shachainInsert(
    c.remoteSecrets,
    secretIndexOf(c.remoteCommit.index),
    msg.per_commitment_secret,
  );
  // BOLT #2:
  //   - if the `per_commitment_secret` was not generated by the protocol in [BOLT #3](03-transactions.md#per-commitment-secret-requirements):
  if (!stored.ok) return fail(`per_commitment_secret not from a shachain: ${stored.error.kind}`);
  const notifications: ChannelNotification[] = [];
  const nextRemote = w.nextRemoteCommit;
  for (const u of c.remoteChanges.signed) {
    switch (u.type) {
      case 'update_add_htlc':
        notifications.push({
          kind: 'htlc_received',
          htlc: u,
          dustExposureExceeded: exceedsDust(c, nextRemote.spec, u),
        });
        break;
      case 'update_fail_htlc':
        notifications.push({ kind: 'htlc_failed', id: u.id, reason: { kind: 'onion', reason: u.reason } });
        break;
      case 'update_fail_malformed_htlc':
        notifications.push({
          kind: 'htlc_failed',
          id: u.id,
          reason: { kind: 'malformed', sha256OfOnion: u.sha256_of_onion, failureCode: u.failure_code },
        });
        break;
      case 'update_fulfill_htlc':
      case 'update_fee':
        break;
      default:
        assertNever(u, 'update');
    }
  }
  const commitments: Commitments = {
    ...c,
    remoteCommit: nextRemote,
    waiting: undefined,
    remoteNextPoint: msg.next_per_commitment_point,
    remoteSecrets: stored.value,
    localChanges: {
      ...c.localChanges,
      signed: [],
      acked: [...c.localChanges.acked, ...c.localChanges.signed],
    },
    remoteChanges: { ...c.remoteChanges, signed: [] },
  };
  return ok({ commitments, notifications });
}

/** An incoming HTLC trimmed on a commitment whose dust balance is over our limit. */
function exceedsDust(c: Commitments, remoteSpec: CommitSpec, add: MessageValue<'update_add_htlc'>): boolean {
  const amount = add.amount_msat as Msat;
  for (const [holder, spec] of [
    ['local', c.localCommit.spec],
    ['remote', remoteSpec],
  ] as const) {
    const direction = holder === 'local' ? 'received' : 'offered';
    if (!isTrimmed(c.channelType, direction, amount, spec.feerate, dustLimitOf(c, holder))) continue;
    if (dustExposure(c, spec, holder) > c.maxDustExposure) return true;
  }
  return false;
}

/**
 * On disconnect: updates not yet signed by their recipient are forgotten by both sides (BOLT 2
 * "reverse any uncommitted updates"). Returns the ids of our HTLC offers that were dropped.
 */
export function discardUnsigned(c: Commitments): { commitments: Commitments; dropped: bigint[] } {
  const dropped = c.localChanges.proposed.filter((u) => u.type === 'update_add_htlc').map((u) => u.id);
  const theirAdds = c.remoteChanges.proposed.filter((u) => u.type === 'update_add_htlc').length;
  return {
    commitments: {
      ...c,
      localChanges: { ...c.localChanges, proposed: [] },
      remoteChanges: { ...c.remoteChanges, proposed: [] },
      localNextHtlcId: c.localNextHtlcId - BigInt(dropped.length),
      remoteNextHtlcId: c.remoteNextHtlcId - BigInt(theirAdds),
    },
    dropped,
  };
}
