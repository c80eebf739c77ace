// BOLT 2 channel state machine (pure). Entry points:
//   openChannel(req, ctx)            funder: first state + open_channel
//   acceptChannel(open, req, ctx)    fundee: first state + accept_channel (or the error to send)
//   step(state, event, ctx)          every later event: peer message, command, chain, (dis)connect
// Each returns { state, actions }: run the actions in order (persist before the sends after it).
export { step } from './channel.ts';
export { channelIdOf, commitmentsOf, signedLocalCommitment } from './common.ts';
export {
  dustExposure,
  funderCostMsat,
  hasHtlcs,
  hasPendingChanges,
  latestRemoteCommit,
  type ProtocolViolation,
  reduceSpec,
  reserveOf,
  txParams,
} from './commitments.ts';
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
export { decodeChannelState, encodeChannelState } from './serialize.ts';
export { isValidShutdownScript } from './shutdown-script.ts';
export { type ChannelSigner, localChannelSigner } from './signer.ts';
export * from './state.ts';
