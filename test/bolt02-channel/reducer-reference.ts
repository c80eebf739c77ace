// The add, fee and removal checks of src/bolt02-channel/commitments.ts as they were before they kept
// running totals (session 8): every add rebuilt its worst-case specs and rescanned every HTLC. Kept
// only as the reference the property test (reducer-totals.property.test.ts) compares the new ones to.
import type { MessageValue } from '../../src/bolt01-wire/types.ts';
import {
  dustExposure,
  funderCostMsat,
  latestRemoteCommit,
  MAX_CLTV_EXPIRY,
  reduceSpec,
  reserveOf,
} from '../../src/bolt02-channel/commitments.ts';
import type { ChannelNotification, CommandRefused } from '../../src/bolt02-channel/events.ts';
import type { Changes, Commitments, CommitSpec, UpdateMessage } from '../../src/bolt02-channel/state.ts';
import { type CommitmentHtlc, isTrimmed } from '../../src/bolt03-tx/index.ts';
import { equal } from '../../src/core/bytes.ts';
import { assertNever, err, ok, type Result } from '../../src/core/result.ts';
import type { FeeratePerKw, Msat } from '../../src/core/units.ts';
import { sha256 } from '../../src/crypto/index.ts';

export interface ProtocolViolation {
  readonly severity: 'warning' | 'error';
  readonly message: string;
}
const refuse = (reason: string): Result<never, CommandRefused> => err({ kind: 'command_refused', reason });
const warn = (message: string): Result<never, ProtocolViolation> => err({ severity: 'warning', message });
const fail = (message: string): Result<never, ProtocolViolation> => err({ severity: 'error', message });

function htlcOfAdd(u: Extract<UpdateMessage, { type: 'update_add_htlc' }>, mine: boolean): CommitmentHtlc {
  return {
    direction: mine ? 'offered' : 'received',
    id: u.id,
    amount: u.amount_msat as Msat,
    paymentHash: u.payment_hash,
    cltvExpiry: u.cltv_expiry,
  };
}

/** Applies only the adds and the highest fee: the worst case for balances, HTLC count and fees. */
function worstCase(
  spec: CommitSpec,
  ours: readonly UpdateMessage[],
  theirs: readonly UpdateMessage[],
): CommitSpec {
  const htlcs = [...spec.htlcs];
  let toLocal: bigint = spec.toLocal;
  let toRemote: bigint = spec.toRemote;
  let feerate: number = spec.feerate;
  for (const [list, mine] of [
    [ours, true],
    [theirs, false],
  ] as const) {
    for (const u of list) {
      if (u.type === 'update_add_htlc') {
        htlcs.push(htlcOfAdd(u, mine));
        if (mine) toLocal -= u.amount_msat;
        else toRemote -= u.amount_msat;
      } else if (u.type === 'update_fee' && u.feerate_per_kw > feerate) feerate = u.feerate_per_kw;
    }
  }
  return { feerate: feerate as FeeratePerKw, toLocal: toLocal as Msat, toRemote: toRemote as Msat, htlcs };
}

type Side = 'local' | 'remote';
function dustLimitOf(c: Commitments, holder: Side) {
  return holder === 'local' ? c.local.dustLimit : c.remote.dustLimit;
}
function balanceOf(spec: CommitSpec, side: Side): bigint {
  return side === 'local' ? spec.toLocal : spec.toRemote;
}

function funderSide(c: Commitments): Side {
  return c.localIsFunder ? 'local' : 'remote';
}

/** Specs bounding every commitment the pending updates can still produce. */
function worstSpecs(c: Commitments): CommitSpec[] {
  const l = c.localChanges;
  const r = c.remoteChanges;
  return [
    worstCase(c.localCommit.spec, [...l.acked, ...l.signed, ...l.proposed], r.proposed),
    worstCase(latestRemoteCommit(c).spec, l.proposed, [...r.acked, ...r.proposed]),
  ];
}

/**
 * Whether `sender`'s updates keep both sides able to pay: the sender keeps its reserve, and the
 * funder keeps its reserve plus the fee (with `spike`: at twice the feerate with one more HTLC).
 */
function checkAffordable(
  c: Commitments,
  specs: readonly CommitSpec[],
  sender: Side,
  spike: boolean,
): string | undefined {
  const funder = funderSide(c);
  for (const spec of specs) {
    for (const holder of ['local', 'remote'] as const) {
      const feerate = (spike && sender === funder ? spec.feerate * 2 : spec.feerate) as FeeratePerKw;
      const cost = funderCostMsat(c, spec, holder, feerate, spike && sender === funder ? 1 : 0);
      const senderNeeds = reserveOf(c, sender) + (sender === funder ? cost : 0n);
      if (balanceOf(spec, sender) < senderNeeds)
        return `${sender} cannot afford it: balance ${balanceOf(spec, sender)} msat, needs ${senderNeeds} msat on the ${holder} commitment`;
      if (sender !== funder && balanceOf(spec, funder) < reserveOf(c, funder) + cost)
        return `funder could no longer pay the fee on the ${holder} commitment`;
    }
  }
  return undefined;
}

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
  const specs = worstSpecs(next);
  const unaffordable = checkAffordable(next, specs, 'local', true);
  if (unaffordable !== undefined) return refuse(unaffordable);
  for (const spec of specs) {
    let offered = 0;
    let inFlight = 0n;
    for (const h of spec.htlcs)
      if (h.direction === 'offered') {
        offered++;
        inFlight += h.amount;
      }
    // BOLT #2:
    //   - if result would be offering more than the remote's
    //   `max_accepted_htlcs` HTLCs, in the remote commitment transaction:
    //     - MUST NOT add an HTLC.
    if (offered > c.remote.maxAcceptedHtlcs)
      return refuse(`the peer accepts at most ${c.remote.maxAcceptedHtlcs} HTLCs`);
    if (inFlight > c.remote.maxHtlcValueInFlight)
      return refuse(`the peer accepts at most ${c.remote.maxHtlcValueInFlight} msat in flight`);
    for (const holder of ['local', 'remote'] as const) {
      const direction = holder === 'local' ? 'offered' : 'received';
      if (!isTrimmed(c.channelType, direction, req.amount, spec.feerate, dustLimitOf(c, holder))) continue;
      if (dustExposure(c, spec, holder) > c.maxDustExposure)
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
  const landing = reduceSpec(next.localCommit.spec, next.localChanges.acked, next.remoteChanges.proposed);
  if (!landing.ok) return fail(landing.error);
  const spec = landing.value;
  // BOLT #2:
  //   - receiving an `amount_msat` that the sending node cannot afford at the current `feerate_per_kw` (while maintaining its channel reserve and any `to_local_anchor` and `to_remote_anchor` costs):
  const fee = c.localIsFunder ? 0n : funderCostMsat(c, spec, 'local');
  if (spec.toRemote < reserveOf(c, 'remote') + fee) return fail('peer cannot afford the htlc');
  // BOLT #2:
  //   - if a sending node adds more than receiver `max_accepted_htlcs` HTLCs to
  //     its local commitment transaction, OR adds more than receiver `max_htlc_value_in_flight_msat` worth of offered HTLCs to its local commitment transaction:
  let received = 0;
  let receivedAmount = 0n;
  for (const h of spec.htlcs)
    if (h.direction === 'received') {
      received++;
      receivedAmount += h.amount;
    }
  if (received > c.local.maxAcceptedHtlcs) return fail('too many htlcs');
  if (receivedAmount > c.local.maxHtlcValueInFlight) return fail('max_htlc_value_in_flight_msat exceeded');
  return ok(next);
}

// ---- Removing an HTLC --------------------------------------------------------------------------

/** An HTLC in both our commitment and their latest one (cross-signed). */
function crossSigned(
  c: Commitments,
  direction: 'offered' | 'received',
  id: bigint,
): CommitmentHtlc | undefined {
  const inLocal = c.localCommit.spec.htlcs.find((h) => h.direction === direction && h.id === id);
  const inRemote = latestRemoteCommit(c).spec.htlcs.find((h) => h.direction === direction && h.id === id);
  return inLocal !== undefined && inRemote !== undefined ? inLocal : undefined;
}

/** Whether `changes` already carry a fulfill or fail of HTLC `id`, at any stage. */
export function removalPending(changes: Changes, id: bigint): boolean {
  return [...changes.proposed, ...changes.signed, ...changes.acked].some(
    (u) => u.type !== 'update_add_htlc' && u.type !== 'update_fee' && u.id === id,
  );
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
  const specs = worstSpecs(next).map((s) => ({ ...s, feerate }));
  const unaffordable = checkAffordable(next, specs, 'local', false);
  if (unaffordable !== undefined) return refuse(unaffordable);
  // BOLT #2:
  //   - if `option_anchors` was not negotiated:
  //     - if the `update_fee` increases `feerate_per_kw`:
  //       - if the dust balance of the remote transaction at the updated `feerate_per_kw` is greater than `max_dust_htlc_exposure_msat`:
  //         - MAY NOT send `update_fee`
  //       - if the dust balance of the local transaction at the updated `feerate_per_kw` is greater than `max_dust_htlc_exposure_msat`:
  if (c.channelType === 'static_remotekey' && feerate > c.localCommit.spec.feerate) {
    for (const spec of specs)
      for (const holder of ['local', 'remote'] as const)
        if (dustExposure(c, spec, holder) > c.maxDustExposure)
          return refuse(
            `the new feerate would put the ${holder} dust exposure over ${c.maxDustExposure} msat`,
          );
  }
  return ok({ commitments: next, msg });
}
