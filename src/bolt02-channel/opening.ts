// Channel establishment (v1): open_channel / accept_channel with channel_type negotiation, the
// receiver's parameter checks, funding_created / funding_signed, waiting for depth and channel_ready.

import { p2wshOfScript } from '../bitcoin/script.ts';
import { type Transaction, txid } from '../bitcoin/tx.ts';
import type { MessageValue } from '../bolt01-wire/types.ts';
import {
  type ChannelBasepoints,
  type ChannelType,
  emptyShachain,
  funderCost,
  fundingScript,
  verifyFundingInput,
} from '../bolt03-tx/index.ts';
import { Features } from '../bolt09-features/index.ts';
import { equal } from '../core/bytes.ts';
import { err, ok, type Result } from '../core/result.ts';
import type { FeeratePerKw, Msat, Sat } from '../core/units.ts';
import { isPublicKey } from '../crypto/index.ts';
import { minOf } from './amounts.ts';
import {
  buildLocal,
  buildRemote,
  emptyChanges,
  MAX_ACCEPTED_HTLCS_LIMIT,
  type ProtocolViolation,
} from './commitments.ts';
import { failChannel, violation } from './common.ts';
import type { ChannelAction, ChannelContext, ChannelPolicy, CommandRefused, Transition } from './events.ts';
import { isValidShutdownScript } from './shutdown-script.ts';
import type {
  ChannelParams,
  ChannelState,
  Commitments,
  CommitSpec,
  LocalChannelConfig,
  WaitAcceptState,
  WaitChannelReadyState,
  WaitFundingCreatedState,
  WaitFundingSignedState,
  WaitFundingTxState,
} from './state.ts';

// BOLT #2:
//   - `dust_limit_satoshis` is smaller than `354 satoshis` (see [BOLT 3](03-transactions.md#dust-limits)).
export const MIN_DUST_LIMIT = 354n as Sat;

// ---- channel_type ------------------------------------------------------------------------------

const STATIC_REMOTEKEY_BIT = 12;
const ANCHORS_ZERO_FEE_HTLC_BIT = 22;
const SCID_ALIAS_BIT = 46;

export function channelTypeBytes(type: ChannelType): Uint8Array {
  switch (type) {
    case 'static_remotekey':
      return Features.fromBits([STATIC_REMOTEKEY_BIT]).toBytes();
    case 'anchors_zero_fee_htlc':
      return Features.fromBits([STATIC_REMOTEKEY_BIT, ANCHORS_ZERO_FEE_HTLC_BIT]).toBytes();
  }
}

/** The basic type of a channel_type, allowing the option_scid_alias variation. */
export function parseChannelType(bytes: Uint8Array): ChannelType | undefined {
  const bits = Features.fromBytes(bytes).without(SCID_ALIAS_BIT).bits();
  if (bits.length === 1 && bits[0] === STATIC_REMOTEKEY_BIT) return 'static_remotekey';
  if (bits.length === 2 && bits[0] === STATIC_REMOTEKEY_BIT && bits[1] === ANCHORS_ZERO_FEE_HTLC_BIT)
    return 'anchors_zero_fee_htlc';
  return undefined;
}

// ---- defaults ----------------------------------------------------------------------------------

/** What Core Lightning / LND / Eclair do by default where the spec leaves room. */
export function defaultChannelConfig(): LocalChannelConfig {
  return {
    dustLimit: MIN_DUST_LIMIT,
    maxHtlcValueInFlight: 0xffff_ffff_ffff_ffffn as Msat,
    htlcMinimum: 1n as Msat,
    toSelfDelay: 144,
    // LND's default and the protocol's ceiling: a peer that batches many HTLCs into one
    // commitment_signed is not stopped at 30 (Core Lightning's default). The funder still has to
    // afford every untrimmed HTLC's weight, and the dust exposure limit bounds trimmed ones.
    maxAcceptedHtlcs: 483,
    reserveBasisPoints: 100,
    minimumDepth: 3,
    maxDustExposure: 5_000_000n as Msat,
    upfrontShutdownScript: new Uint8Array(0),
  };
}

export function defaultChannelPolicy(chainHash: Uint8Array): ChannelPolicy {
  return {
    chainHash,
    maxToSelfDelay: 2016,
    minFeerate: 253 as FeeratePerKw,
    maxFeerate: 100_000 as FeeratePerKw,
    minFundingAmount: 20_000n as Sat,
    maxDustLimit: 20_000n as Sat,
    maxHtlcMinimum: 10_000_000n as Msat,
    minMaxHtlcValueInFlight: 10_000n as Msat,
    minMaxAcceptedHtlcs: 5,
    maxReserveBasisPoints: 2000,
    maxMinimumDepth: 144,
    largeChannels: false,
    channelTypes: ['anchors_zero_fee_htlc', 'static_remotekey'],
    minCltvMargin: 6,
    simpleClose: false,
  };
}

function reserveFor(config: LocalChannelConfig, funding: Sat, otherDust: Sat): Sat {
  const pct = (funding * BigInt(config.reserveBasisPoints)) / 10_000n;
  let r = pct > config.dustLimit ? pct : config.dustLimit;
  if (otherDust > r) r = otherDust;
  return r as Sat;
}

function paramsFrom(
  config: LocalChannelConfig,
  basepoints: ChannelBasepoints,
  reserve: Sat,
  dustLimit: Sat,
  funding: Sat,
): ChannelParams {
  return {
    dustLimit,
    // More than the channel holds means "no limit"; announce the capacity, as Core Lightning does.
    maxHtlcValueInFlight: minOf(config.maxHtlcValueInFlight, (funding * 1000n) as Msat),
    channelReserve: reserve,
    htlcMinimum: config.htlcMinimum,
    toSelfDelay: config.toSelfDelay,
    maxAcceptedHtlcs: config.maxAcceptedHtlcs,
    basepoints,
    upfrontShutdownScript: config.upfrontShutdownScript,
  };
}

// ---- checks on the peer's announced parameters -------------------------------------------------

type Announced = Pick<
  MessageValue<'open_channel'>,
  | 'dust_limit_satoshis'
  | 'max_htlc_value_in_flight_msat'
  | 'channel_reserve_satoshis'
  | 'htlc_minimum_msat'
  | 'to_self_delay'
  | 'max_accepted_htlcs'
  | 'funding_pubkey'
  | 'revocation_basepoint'
  | 'payment_basepoint'
  | 'delayed_payment_basepoint'
  | 'htlc_basepoint'
  | 'first_per_commitment_point'
>;

function checkAnnounced(m: Announced, funding: Sat, policy: ChannelPolicy): string | undefined {
  // BOLT #2:
  //   - `to_self_delay` is unreasonably large.
  if (m.to_self_delay > policy.maxToSelfDelay) return `to_self_delay ${m.to_self_delay} is too large`;
  // BOLT #2:
  //   - `max_accepted_htlcs` is greater than 483.
  if (m.max_accepted_htlcs > MAX_ACCEPTED_HTLCS_LIMIT) return 'max_accepted_htlcs is greater than 483';
  if (m.max_accepted_htlcs < policy.minMaxAcceptedHtlcs) return 'max_accepted_htlcs is too small';
  // BOLT #2:
  //   - `funding_pubkey`, `revocation_basepoint`, `htlc_basepoint`, `payment_basepoint`, or `delayed_payment_basepoint`
  for (const p of [
    m.funding_pubkey,
    m.revocation_basepoint,
    m.htlc_basepoint,
    m.payment_basepoint,
    m.delayed_payment_basepoint,
    m.first_per_commitment_point,
  ])
    if (!isPublicKey(p) || p.length !== 33) return 'invalid basepoint';
  // BOLT #2:
  //   - `dust_limit_satoshis` is greater than `channel_reserve_satoshis`.
  if (m.dust_limit_satoshis > m.channel_reserve_satoshis)
    return 'dust_limit_satoshis is greater than channel_reserve_satoshis';
  if (m.dust_limit_satoshis < MIN_DUST_LIMIT) return 'dust_limit_satoshis is smaller than 354 satoshis';
  // BOLT #2:
  //   - it considers `dust_limit_satoshis` too large (see [BOLT 3](03-transactions.md#dust-limits)).
  if (m.dust_limit_satoshis > policy.maxDustLimit) return 'dust_limit_satoshis is too large';
  // BOLT #2:
  //   - it considers `htlc_minimum_msat` too large.
  if (m.htlc_minimum_msat > policy.maxHtlcMinimum) return 'htlc_minimum_msat is too large';
  // BOLT #2:
  //   - it considers `max_htlc_value_in_flight_msat` too small.
  if (m.max_htlc_value_in_flight_msat < policy.minMaxHtlcValueInFlight)
    return 'max_htlc_value_in_flight_msat is too small';
  // BOLT #2:
  //   - it considers `channel_reserve_satoshis` too large.
  if (m.channel_reserve_satoshis * 10_000n > funding * BigInt(policy.maxReserveBasisPoints))
    return 'channel_reserve_satoshis is too large';
  return undefined;
}

function remoteParamsOf(m: Announced, upfront: Uint8Array | undefined): ChannelParams {
  return {
    dustLimit: m.dust_limit_satoshis as Sat,
    maxHtlcValueInFlight: m.max_htlc_value_in_flight_msat as Msat,
    channelReserve: m.channel_reserve_satoshis as Sat,
    htlcMinimum: m.htlc_minimum_msat as Msat,
    toSelfDelay: m.to_self_delay,
    maxAcceptedHtlcs: m.max_accepted_htlcs,
    basepoints: {
      fundingPubkey: m.funding_pubkey,
      revocationBasepoint: m.revocation_basepoint,
      paymentBasepoint: m.payment_basepoint,
      delayedPaymentBasepoint: m.delayed_payment_basepoint,
      htlcBasepoint: m.htlc_basepoint,
    },
    upfrontShutdownScript: upfront ?? new Uint8Array(0),
  };
}

const SHUTDOWN_OPTS = { anysegwit: true, simpleClose: false };

function checkUpfront(script: Uint8Array | undefined): string | undefined {
  if (script === undefined || script.length === 0) return undefined;
  return isValidShutdownScript(script, SHUTDOWN_OPTS) ? undefined : 'invalid upfront_shutdown_script';
}

/** The initial balances (our view): the funder has everything but the push. */
function initialSpec(localIsFunder: boolean, funding: Sat, push: Msat, feerate: FeeratePerKw): CommitSpec {
  const funderMsat = (funding * 1000n - push) as Msat;
  return {
    feerate,
    toLocal: localIsFunder ? funderMsat : push,
    toRemote: localIsFunder ? push : funderMsat,
    htlcs: [],
  };
}

// ---- funder ------------------------------------------------------------------------------------

export interface OpenRequest {
  readonly keyIndex: number;
  /** 32 random bytes from the shell's entropy source. */
  readonly temporaryChannelId: Uint8Array;
  readonly fundingAmount: Sat;
  readonly pushMsat: Msat;
  readonly feerate: FeeratePerKw;
  readonly channelType: ChannelType;
  readonly config: LocalChannelConfig;
  /** bit 0: announce_channel. */
  readonly channelFlags: number;
}

/** Start opening a channel as the funder: the first state and its open_channel. */
export function openChannel(req: OpenRequest, ctx: ChannelContext): Result<Transition, CommandRefused> {
  const refuse = (reason: string) => err<CommandRefused>({ kind: 'command_refused', reason });
  // BOLT #2:
  //   - MUST set `push_msat` to equal or less than 1000 * `funding_satoshis`.
  if (req.pushMsat > req.fundingAmount * 1000n) return refuse('push_msat exceeds the funding amount');
  if (!ctx.policy.largeChannels && req.fundingAmount >= 1n << 24n)
    return refuse('funding_satoshis must be below 2^24 without option_support_large_channel');
  if (req.temporaryChannelId.length !== 32) return refuse('temporary_channel_id must be 32 bytes');
  const reserve = reserveFor(req.config, req.fundingAmount, 0n as Sat);
  const local = paramsFrom(
    req.config,
    ctx.signer.basepoints,
    reserve,
    req.config.dustLimit,
    req.fundingAmount,
  );
  const cost = funderCost(req.channelType, req.feerate, 0) * 1000n;
  if (req.fundingAmount * 1000n - req.pushMsat < cost)
    return refuse('funding amount cannot pay the commitment fee');
  const state: WaitAcceptState = {
    phase: 'wait_accept',
    keyIndex: req.keyIndex,
    temporaryChannelId: req.temporaryChannelId,
    link: 'up',
    channelType: req.channelType,
    config: req.config,
    local,
    fundingAmount: req.fundingAmount,
    pushMsat: req.pushMsat,
    feerate: req.feerate,
    channelFlags: req.channelFlags,
  };
  const b = ctx.signer.basepoints;
  const msg: MessageValue<'open_channel'> = {
    type: 'open_channel',
    chain_hash: ctx.policy.chainHash,
    temporary_channel_id: req.temporaryChannelId,
    funding_satoshis: req.fundingAmount,
    push_msat: req.pushMsat,
    dust_limit_satoshis: local.dustLimit,
    max_htlc_value_in_flight_msat: local.maxHtlcValueInFlight,
    channel_reserve_satoshis: local.channelReserve,
    htlc_minimum_msat: local.htlcMinimum,
    feerate_per_kw: req.feerate,
    to_self_delay: local.toSelfDelay,
    max_accepted_htlcs: local.maxAcceptedHtlcs,
    funding_pubkey: b.fundingPubkey,
    revocation_basepoint: b.revocationBasepoint,
    payment_basepoint: b.paymentBasepoint,
    delayed_payment_basepoint: b.delayedPaymentBasepoint,
    htlc_basepoint: b.htlcBasepoint,
    first_per_commitment_point: ctx.signer.perCommitmentPoint(0n),
    channel_flags: req.channelFlags & 1,
    tlvs: {
      // BOLT #2:
      //   - if it includes `open_channel_tlvs`:
      //     - MUST include `upfront_shutdown_script`.
      upfront_shutdown_script: { shutdown_scriptpubkey: req.config.upfrontShutdownScript },
      channel_type: { type: channelTypeBytes(req.channelType) },
    },
  };
  return ok({ state, actions: [{ kind: 'send', msg }] });
}

export function onAcceptChannel(
  s: WaitAcceptState,
  m: MessageValue<'accept_channel'>,
  ctx: ChannelContext,
): Transition {
  const abort = (message: string) => failChannel(s, message, ctx);
  const typeBytes = m.tlvs.channel_type?.type;
  // BOLT #2:
  //   - if the message doesn't include a `channel_type`:
  //     - MUST fail the channel.
  //   - if `channel_type` does not match the `channel_type` from `open_channel`:
  if (typeBytes === undefined) return abort('accept_channel without channel_type');
  if (parseChannelType(typeBytes) !== s.channelType) return abort('channel_type does not match open_channel');
  const bad = checkAnnounced(m, s.fundingAmount, ctx.policy);
  if (bad !== undefined) return abort(bad);
  // BOLT #2:
  //   - if `minimum_depth` is unreasonably large:
  if (m.minimum_depth > ctx.policy.maxMinimumDepth) return abort('minimum_depth is unreasonably large');
  // BOLT #2:
  //   - if `channel_reserve_satoshis` is less than `dust_limit_satoshis` within the `open_channel` message:
  //     - MUST fail the channel.
  //   - if `channel_reserve_satoshis` from the `open_channel` message is less than `dust_limit_satoshis`:
  //     - MUST fail the channel.
  if (m.channel_reserve_satoshis < s.local.dustLimit)
    return abort('channel_reserve_satoshis below our dust limit');
  if (s.local.channelReserve < m.dust_limit_satoshis)
    return abort('our channel_reserve_satoshis is below their dust limit');
  const upfront = m.tlvs.upfront_shutdown_script?.shutdown_scriptpubkey;
  const badScript = checkUpfront(upfront);
  if (badScript !== undefined) return abort(badScript);
  const remote = remoteParamsOf(m, upfront);
  const funderAfter = s.fundingAmount * 1000n - s.pushMsat - funderCost(s.channelType, s.feerate, 0) * 1000n;
  if (funderAfter <= m.channel_reserve_satoshis * 1000n && s.pushMsat <= s.local.channelReserve * 1000n)
    return abort('both initial balances are within the reserve');
  const next: WaitFundingTxState = {
    phase: 'wait_funding_tx',
    keyIndex: s.keyIndex,
    temporaryChannelId: s.temporaryChannelId,
    link: s.link,
    channelType: s.channelType,
    config: s.config,
    local: s.local,
    remote,
    remoteFirstPoint: m.first_per_commitment_point,
    fundingAmount: s.fundingAmount,
    pushMsat: s.pushMsat,
    feerate: s.feerate,
    minimumDepth: m.minimum_depth,
  };
  const script = p2wshOfScript(
    fundingScript(s.local.basepoints.fundingPubkey, remote.basepoints.fundingPubkey),
  );
  return {
    state: next,
    actions: [{ kind: 'emit', event: { kind: 'funding_needed', script, amount: s.fundingAmount } }],
  };
}

/** BOLT 2: channel_id is funding_txid with the output index XORed into its last two bytes. */
export function channelIdFrom(fundingTxid: Uint8Array, outputIndex: number): Uint8Array {
  const id = Uint8Array.from(fundingTxid);
  id[30]! ^= (outputIndex >> 8) & 0xff;
  id[31]! ^= outputIndex & 0xff;
  return id;
}

function newCommitments(
  s: WaitFundingTxState | WaitFundingCreatedState,
  localIsFunder: boolean,
  fundingTxid: Uint8Array,
  outputIndex: number,
): Commitments {
  const spec = initialSpec(localIsFunder, s.fundingAmount, s.pushMsat, s.feerate);
  return {
    channelId: channelIdFrom(fundingTxid, outputIndex),
    channelType: s.channelType,
    localIsFunder,
    fundingOutpoint: { txid: fundingTxid, vout: outputIndex },
    fundingAmount: s.fundingAmount,
    local: s.local,
    remote: s.remote,
    localCommit: {
      index: 0n,
      spec,
      txid: new Uint8Array(32),
      remoteSig: new Uint8Array(0),
      remoteHtlcSigs: [],
    },
    remoteCommit: { index: 0n, spec, txid: new Uint8Array(32), point: s.remoteFirstPoint },
    localChanges: emptyChanges(),
    remoteChanges: emptyChanges(),
    waiting: undefined,
    remoteNextPoint: undefined,
    localNextHtlcId: 0n,
    remoteNextHtlcId: 0n,
    remoteSecrets: emptyShachain(),
    maxDustExposure: s.config.maxDustExposure,
  };
}

export function onFundingTxBuilt(
  s: WaitFundingTxState,
  tx: Transaction,
  outputIndex: number,
  ctx: ChannelContext,
): Result<Transition, CommandRefused> {
  const refuse = (reason: string) => err<CommandRefused>({ kind: 'command_refused', reason });
  const out = tx.outputs[outputIndex];
  const script = p2wshOfScript(
    fundingScript(s.local.basepoints.fundingPubkey, s.remote.basepoints.fundingPubkey),
  );
  if (out === undefined || out.value !== s.fundingAmount || !equal(out.script, script))
    return refuse('the funding output does not pay the funding amount to the funding script');
  if (outputIndex > 0xffff) return refuse('funding_output_index must fit in 16 bits');
  const fundingTxid = txid(tx);
  let c = newCommitments(s, true, fundingTxid, outputIndex);
  const remote = buildRemote(c, c.remoteCommit.spec, 0n, c.remoteCommit.point);
  const local = buildLocal(c, c.localCommit.spec, 0n, ctx.signer);
  if (!remote.ok) return refuse(remote.error);
  if (!local.ok) return refuse(local.error);
  c = {
    ...c,
    remoteCommit: { ...c.remoteCommit, txid: remote.value.commitment.txid },
    localCommit: { ...c.localCommit, txid: local.value.commitment.txid },
  };
  const sig = ctx.signer.signRemoteCommitment(remote.value).signature;
  const next: WaitFundingSignedState = {
    phase: 'wait_funding_signed',
    keyIndex: s.keyIndex,
    temporaryChannelId: s.temporaryChannelId,
    link: s.link,
    commitments: c,
    fundingTx: tx,
    minimumDepth: s.minimumDepth,
  };
  return ok({
    state: next,
    actions: [
      { kind: 'persist', state: next },
      {
        kind: 'send',
        msg: {
          type: 'funding_created',
          temporary_channel_id: s.temporaryChannelId,
          funding_txid: fundingTxid,
          funding_output_index: outputIndex,
          signature: sig,
        },
      },
    ],
  });
}

export function onFundingSigned(
  s: WaitFundingSignedState,
  m: MessageValue<'funding_signed'>,
  ctx: ChannelContext,
): Transition {
  const c = s.commitments;
  if (!equal(m.channel_id, c.channelId)) return failChannel(s, 'funding_signed for another channel', ctx);
  const local = buildLocal(c, c.localCommit.spec, 0n, ctx.signer);
  if (!local.ok) return failChannel(s, local.error, ctx);
  const k = local.value.spec.keys;
  if (
    !verifyFundingInput(
      local.value.commitment.tx,
      k.localFundingPubkey,
      k.remoteFundingPubkey,
      c.fundingAmount,
      m.signature,
      k.remoteFundingPubkey,
    )
  )
    return failChannel(s, 'invalid funding_signed signature', ctx);
  const commitments: Commitments = { ...c, localCommit: { ...c.localCommit, remoteSig: m.signature } };
  // The funder publishes the funding transaction only now, with the fundee's signature in hand.
  return enterWaitChannelReady(
    s,
    commitments,
    s.fundingTx,
    { kind: 'broadcast', tx: s.fundingTx, label: 'funding' },
    ctx,
  );
}

/**
 * Both sides enter wait_channel_ready once the first commitments are signed: persist, announce the final
 * channel id, take the side's own step (the funder broadcasts, the fundee sends funding_signed), then
 * watch the funding output.
 */
function enterWaitChannelReady(
  s: WaitFundingSignedState | WaitFundingCreatedState,
  c: Commitments,
  fundingTx: WaitChannelReadyState['fundingTx'],
  sideStep: ChannelAction,
  ctx: ChannelContext,
): Transition {
  const next: WaitChannelReadyState = {
    phase: 'wait_channel_ready',
    keyIndex: s.keyIndex,
    temporaryChannelId: s.temporaryChannelId,
    link: s.link,
    commitments: c,
    minimumDepth: s.minimumDepth,
    localAlias: aliasFor(c.channelId),
    shortChannelId: undefined,
    sentReady: false,
    remoteAlias: undefined,
    fundingTx,
    createdAtHeight: ctx.blockHeight,
  };
  return {
    state: next,
    actions: [
      { kind: 'persist', state: next },
      {
        kind: 'emit',
        event: {
          kind: 'channel_id_assigned',
          temporaryChannelId: s.temporaryChannelId,
          channelId: c.channelId,
        },
      },
      sideStep,
      {
        kind: 'watch_funding',
        outpoint: c.fundingOutpoint,
        script: fundingOutput(c),
        minDepth: s.minimumDepth,
      },
    ],
  };
}

function fundingOutput(c: Commitments): Uint8Array {
  return p2wshOfScript(fundingScript(c.local.basepoints.fundingPubkey, c.remote.basepoints.fundingPubkey));
}

/**
 * Our scid alias: derived from the channel id so it needs no randomness and stays stable; the block
 * height part is above any real height (2^23..2^24), so it cannot collide with a real short id.
 */
export function aliasFor(channelId: Uint8Array): bigint {
  let v = 0n;
  for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(channelId[i]!);
  const block = (v >> 40n) | (1n << 23n);
  return ((block & 0xff_ffffn) << 40n) | (v & 0xff_ffff_ffffn);
}

// ---- fundee ------------------------------------------------------------------------------------

export interface AcceptRequest {
  readonly keyIndex: number;
  readonly config: LocalChannelConfig;
}

/**
 * An incoming open_channel: checks every parameter and answers accept_channel, or refuses with the
 * reason to put in `error` (no state is created then).
 */
export function acceptChannel(
  m: MessageValue<'open_channel'>,
  req: AcceptRequest,
  ctx: ChannelContext,
): Result<Transition, ProtocolViolation> {
  const fail = (message: string) => err<ProtocolViolation>({ severity: 'error', message });
  const policy = ctx.policy;
  // BOLT #2:
  //   - the `chain_hash` value is set to a hash of a chain that is unknown to the receiver.
  if (!equal(m.chain_hash, policy.chainHash)) return fail('unknown chain_hash');
  // BOLT #2:
  //   - if the message doesn't include a `channel_type`:
  //     - fail the channel.
  const typeBytes = m.tlvs.channel_type?.type;
  if (typeBytes === undefined) return fail('open_channel without channel_type');
  const channelType = parseChannelType(typeBytes);
  // BOLT #2:
  //   - the `channel_type` is not suitable.
  if (channelType === undefined || !policy.channelTypes.includes(channelType))
    return fail('unsupported channel_type');
  const funding = m.funding_satoshis as Sat;
  // BOLT #2:
  //   - `funding_satoshis` is too small.
  if (funding < policy.minFundingAmount) return fail('funding_satoshis is too small');
  // BOLT #2:
  //   - `funding_satoshis` is greater than or equal to 2^24 and the receiver does not support `option_support_large_channel`.
  if (funding >= 1n << 24n && !policy.largeChannels)
    return fail('funding_satoshis is greater than or equal to 2^24');
  // BOLT #2:
  //   - `push_msat` is greater than `funding_satoshis` * 1000.
  if (m.push_msat > funding * 1000n) return fail('push_msat is greater than funding_satoshis * 1000');
  // BOLT #2:
  //   - it considers `feerate_per_kw` too small for timely processing or unreasonably large.
  if (m.feerate_per_kw < policy.minFeerate || m.feerate_per_kw > policy.maxFeerate)
    return fail('unacceptable feerate_per_kw');
  const bad = checkAnnounced(m, funding, policy);
  if (bad !== undefined) return fail(bad);
  const upfront = m.tlvs.upfront_shutdown_script?.shutdown_scriptpubkey;
  const badScript = checkUpfront(upfront);
  if (badScript !== undefined) return fail(badScript);
  // BOLT #2:
  //   - the funder's amount for the initial commitment transaction is not sufficient for full [fee payment](03-transactions.md#fee-payment).
  const feerate = m.feerate_per_kw as FeeratePerKw;
  const funderAfter = funding * 1000n - m.push_msat - funderCost(channelType, feerate, 0) * 1000n;
  if (funderAfter < 0n) return fail('the funder cannot pay the initial commitment fee');
  // BOLT #2:
  //   - MUST set `dust_limit_satoshis` less than or equal to `channel_reserve_satoshis` from the `open_channel` message.
  const dust = minOf(req.config.dustLimit as bigint, m.channel_reserve_satoshis) as Sat;
  if (dust < MIN_DUST_LIMIT)
    return fail('channel_reserve_satoshis is below the smallest dust limit we can use');
  const reserve = reserveFor({ ...req.config, dustLimit: dust }, funding, m.dust_limit_satoshis as Sat);
  // BOLT #2:
  //   - both `to_local` and `to_remote` amounts for the initial commitment transaction are less than or equal to `channel_reserve_satoshis` (see [BOLT 3](03-transactions.md#commitment-transaction-outputs)).
  if (funderAfter <= reserve * 1000n && m.push_msat <= m.channel_reserve_satoshis * 1000n)
    return fail('both initial balances are within the reserve');
  const local = paramsFrom(req.config, ctx.signer.basepoints, reserve, dust, funding);
  const state: WaitFundingCreatedState = {
    phase: 'wait_funding_created',
    keyIndex: req.keyIndex,
    temporaryChannelId: m.temporary_channel_id,
    link: 'up',
    channelType,
    config: req.config,
    local,
    remote: remoteParamsOf(m, upfront),
    remoteFirstPoint: m.first_per_commitment_point,
    fundingAmount: funding,
    pushMsat: m.push_msat as Msat,
    feerate,
    minimumDepth: req.config.minimumDepth,
  };
  const b = ctx.signer.basepoints;
  const reply: MessageValue<'accept_channel'> = {
    type: 'accept_channel',
    temporary_channel_id: m.temporary_channel_id,
    dust_limit_satoshis: local.dustLimit,
    max_htlc_value_in_flight_msat: local.maxHtlcValueInFlight,
    channel_reserve_satoshis: local.channelReserve,
    htlc_minimum_msat: local.htlcMinimum,
    minimum_depth: req.config.minimumDepth,
    to_self_delay: local.toSelfDelay,
    max_accepted_htlcs: local.maxAcceptedHtlcs,
    funding_pubkey: b.fundingPubkey,
    revocation_basepoint: b.revocationBasepoint,
    payment_basepoint: b.paymentBasepoint,
    delayed_payment_basepoint: b.delayedPaymentBasepoint,
    htlc_basepoint: b.htlcBasepoint,
    first_per_commitment_point: ctx.signer.perCommitmentPoint(0n),
    tlvs: {
      upfront_shutdown_script: { shutdown_scriptpubkey: req.config.upfrontShutdownScript },
      // BOLT #2:
      //   - MUST set `channel_type` to the `channel_type` from `open_channel`.
      channel_type: { type: typeBytes },
    },
  };
  return ok({ state, actions: [{ kind: 'send', msg: reply }] });
}

export function onFundingCreated(
  s: WaitFundingCreatedState,
  m: MessageValue<'funding_created'>,
  ctx: ChannelContext,
): Transition {
  let c = newCommitments(s, false, m.funding_txid, m.funding_output_index);
  const local = buildLocal(c, c.localCommit.spec, 0n, ctx.signer);
  const remote = buildRemote(c, c.remoteCommit.spec, 0n, c.remoteCommit.point);
  if (!local.ok) return failChannel(s, local.error, ctx);
  if (!remote.ok) return failChannel(s, remote.error, ctx);
  const k = local.value.spec.keys;
  // BOLT #2:
  //   - if `signature` is incorrect OR non-compliant with LOW-S-standard rule<sup>[LOWS](https://github.com/bitcoin/bitcoin/pull/6769)</sup>:
  //     - MUST send a `warning` and close the connection, or send an
  //       `error` and fail the channel.
  if (
    !verifyFundingInput(
      local.value.commitment.tx,
      k.localFundingPubkey,
      k.remoteFundingPubkey,
      c.fundingAmount,
      m.signature,
      k.remoteFundingPubkey,
    )
  )
    return failChannel(s, 'invalid funding_created signature', ctx);
  c = {
    ...c,
    localCommit: { ...c.localCommit, txid: local.value.commitment.txid, remoteSig: m.signature },
    remoteCommit: { ...c.remoteCommit, txid: remote.value.commitment.txid },
  };
  const sig = ctx.signer.signRemoteCommitment(remote.value).signature;
  return enterWaitChannelReady(
    s,
    c,
    undefined,
    { kind: 'send', msg: { type: 'funding_signed', channel_id: c.channelId, signature: sig } },
    ctx,
  );
}

// ---- channel_ready -----------------------------------------------------------------------------

export function channelReadyMessage(
  s: WaitChannelReadyState | { commitments: Commitments; localAlias: bigint },
  ctx: ChannelContext,
): MessageValue<'channel_ready'> {
  return {
    type: 'channel_ready',
    channel_id: s.commitments.channelId,
    second_per_commitment_point: ctx.signer.perCommitmentPoint(1n),
    tlvs: { short_channel_id: { alias: s.localAlias } },
  };
}

function maybeNormal(s: WaitChannelReadyState): Transition {
  if (!s.sentReady || s.commitments.remoteNextPoint === undefined)
    return { state: s, actions: [{ kind: 'persist', state: s }] };
  const next: ChannelState = {
    phase: 'normal',
    keyIndex: s.keyIndex,
    temporaryChannelId: s.temporaryChannelId,
    link: s.link,
    commitments: s.commitments,
    localAlias: s.localAlias,
    remoteAlias: s.remoteAlias,
    shortChannelId: s.shortChannelId,
    shutdown: undefined,
  };
  return {
    state: next,
    actions: [
      { kind: 'persist', state: next },
      {
        kind: 'emit',
        event: {
          kind: 'channel_ready',
          channelId: s.commitments.channelId,
          shortChannelId: s.shortChannelId,
        },
      },
    ],
  };
}

export function onFundingDepth(
  s: WaitChannelReadyState,
  depth: number,
  shortChannelId: bigint,
  ctx: ChannelContext,
): Transition {
  if (depth < s.minimumDepth || s.sentReady) return { state: { ...s, shortChannelId }, actions: [] };
  const next: WaitChannelReadyState = { ...s, sentReady: true, shortChannelId };
  const t = maybeNormal(next);
  const send = s.link === 'up' ? [{ kind: 'send' as const, msg: channelReadyMessage(s, ctx) }] : [];
  return { state: t.state, actions: [...t.actions, ...send] };
}

export function onChannelReady(
  s: WaitChannelReadyState,
  m: MessageValue<'channel_ready'>,
  ctx: ChannelContext,
): Transition {
  if (!isPublicKey(m.second_per_commitment_point))
    return violation(s, { severity: 'error', message: 'invalid second_per_commitment_point' }, ctx);
  const next: WaitChannelReadyState = {
    ...s,
    commitments: { ...s.commitments, remoteNextPoint: m.second_per_commitment_point },
    remoteAlias: m.tlvs.short_channel_id?.alias,
  };
  return maybeNormal(next);
}
