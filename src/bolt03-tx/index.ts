// BOLT 3: keys, per-commitment secrets, commitment / HTLC / closing transactions. Pure: no I/O, no
// clock, no randomness (seeds and keys come in as arguments).
//
// Typical use by the channel state machine:
//   const p: ChannelTxParams = { channelType, fundingOutpoint, fundingAmount, localIsFunder, local, remote };
//   // commitment_signed we send: their commitment at their point, signed by our signer
//   const theirs = buildHolderCommitment(p, 'remote', balances, theirPoint);       // Result
//   const sigs = signRemoteCommitment(theirs.value, fundingKey, derivePrivkey(htlcBaseSecret, theirPoint));
//   // commitment_signed we receive: our commitment at our point
//   const ours = buildHolderCommitment(p, 'local', balances, perCommitmentPointAt(seed, n));
//   verifyLocalCommitmentSignatures(ours.value, received);                         // Result
//   // revoke_and_ack we receive: keep their secrets compactly
//   store = shachainInsert(store, secretIndexOf(n), secret);                       // Result
// Balances and HTLC directions are always given from OUR side; the builders mirror them.
export * from './channel.ts';
export * from './channel-sign.ts';
export * from './closing.ts';
export * from './commitment.ts';
export * from './fees.ts';
export * from './htlc.ts';
export * from './keys.ts';
export * from './scripts.ts';
export * from './shachain.ts';
export * from './sign.ts';
export * from './witness.ts';
