// BOLT 2 channel state machine (pure: no I/O, no clock, no randomness).
//
// Entry points (all return { state, actions } or a refusal; nothing throws on peer input):
//   openChannel(req, ctx)          funder: first state + open_channel              -> Result<Transition, CommandRefused>
//   acceptChannel(open, req, ctx)  fundee: first state + accept_channel            -> Result<Transition, ProtocolViolation>
//                                  (on err: send `error` with err.message, create no channel)
//   step(state, event, ctx)        every later event                                -> Result<Transition, CommandRefused>
// Events: { kind: 'message', msg } (decoded wire value), { kind: 'command', cmd } (add_htlc, fulfill_htlc,
// fail_htlc, fail_malformed_htlc, sign, update_fee, shutdown, force_close, funding_tx_built),
// { kind: 'funding_depth', depth, shortChannelId }, { kind: 'funding_spent', tx }, { kind: 'block', height },
// { kind: 'connected' }, { kind: 'disconnected' }. Only commands can be refused (state unchanged).
//
// The shell (channel driver) must:
//   - run the actions IN ORDER: 'persist' (make `action.state` durable, fsync) before any later 'send' or
//     'broadcast'; 'send' (encodeMessage + transport); 'broadcast'; 'watch_funding' (tell the chain source,
//     then feed 'funding_depth' / 'funding_spent'); 'emit' (to the HTLC switch / RPC; idempotent on replay);
//     'disconnect' (close the transport after a warning).
//   - keep `state` as the returned one even when there is no persist action (unsigned updates need not
//     be durable: they are forgotten on disconnect by both sides anyway).
//   - build ctx per call: { signer: localChannelSigner(keyChain.channelKeys(state.keyIndex)), policy
//     (defaultChannelPolicy(chainHash) + negotiated simpleClose / largeChannels), blockHeight: tip,
//     shutdownScript: a wallet script for closes the peer starts }.
//   - after a restart, load each channel with decodeChannelState and feed 'connected' once the peer is
//     back (this also drops updates the peer forgot); an HTLC the switch had offered that is absent from
//     the restored state was never committed: fail it upstream.
//   - send 'sign' after a batch of add/fulfill/fail/update_fee commands (the reducer also signs by
//     itself when answering commitment_signed / revoke_and_ack and it has changes).
//   - funder: on emit 'funding_needed' {script, amount} build (not broadcast) the funding tx and send
//     command 'funding_tx_built'; the reducer asks to broadcast it after funding_signed.
//   - routing messages by channel_id: before funding_created use the temporary id (channelIdOf(state)),
//     after it 'channel_id_assigned' gives the real one.
//   - when the state reaches 'closing' hand the commitments to the on-chain monitor (bolt05).
export { step } from './channel.ts';
export {
  dustExposure,
  funderCostMsat,
  hasHtlcs,
  hasPendingChanges,
  latestRemoteCommit,
  type ProtocolViolation,
  reduceSpec,
  removalPending,
  reserveOf,
  txParams,
} from './commitments.ts';
export { channelIdOf, commitmentsOf, signedLocalCommitment } from './common.ts';
export { DOUBLE_SPEND_DEPTH } from './double-spend.ts';
export type * from './events.ts';
export {
  type AcceptRequest,
  acceptChannel,
  aliasFor,
  channelIdFrom,
  channelTypeBytes,
  defaultChannelConfig,
  defaultChannelPolicy,
  MIN_DUST_LIMIT,
  type OpenRequest,
  openChannel,
  parseChannelType,
} from './opening.ts';
export { reestablishMessage } from './reestablish.ts';
export {
  attachOnions,
  type DetachedOnions,
  decodeChannelState,
  detachOnions,
  encodeChannelState,
} from './serialize.ts';
export { isValidShutdownScript } from './shutdown-script.ts';
export { type ChannelSigner, localChannelSigner } from './signer.ts';
export * from './state.ts';
export { FULFILL_SAFETY_BLOCKS, FUNDING_TIMEOUT_BLOCKS, htlcDeadline } from './timeouts.ts';
