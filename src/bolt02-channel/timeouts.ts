// What a new block means for a channel: an HTLC we offered that reached its expiry, or one we
// fulfilled whose expiry is close while the peer has not acknowledged the fulfill, must be settled on
// chain (we fail the channel); a fundee forgets a funding transaction that never confirmed (a funder
// whose funding was double-spent: double-spend.ts).

import { latestRemoteCommit } from './commitments.ts';
import { failChannel } from './common.ts';
import { forgetChannel } from './double-spend.ts';
import type { ChannelContext, Transition } from './events.ts';
import type { ChannelState, Commitments } from './state.ts';

/** Blocks before an incoming HTLC's expiry at which a not-yet-committed fulfill goes on chain. */
export const FULFILL_SAFETY_BLOCKS = 6;
// BOLT #2:
//   - SHOULD ensure the funding transaction confirms in the next 2016 blocks.
export const FUNDING_TIMEOUT_BLOCKS = 2016;

/** Why the channel must go on chain at `height`, if it must. */
export function htlcDeadline(c: Commitments, height: number): string | undefined {
  for (const spec of [c.localCommit.spec, latestRemoteCommit(c).spec]) {
    for (const h of spec.htlcs) {
      if (h.direction === 'offered' && height >= h.cltvExpiry)
        return `offered htlc ${h.id} expired at ${h.cltvExpiry}`;
    }
  }
  // Incoming HTLCs we know the preimage of: the fulfill is somewhere in our changes.
  const fulfilled = new Set<bigint>();
  for (const u of [...c.localChanges.proposed, ...c.localChanges.signed, ...c.localChanges.acked])
    if (u.type === 'update_fulfill_htlc') fulfilled.add(u.id);
  for (const h of c.localCommit.spec.htlcs) {
    if (h.direction === 'received' && fulfilled.has(h.id) && height >= h.cltvExpiry - FULFILL_SAFETY_BLOCKS)
      return `fulfilled htlc ${h.id} expires at ${h.cltvExpiry} and the peer has not removed it`;
  }
  return undefined;
}

export function onBlock(s: ChannelState, height: number, ctx: ChannelContext): Transition {
  switch (s.phase) {
    case 'normal':
    case 'negotiating': {
      const why = htlcDeadline(s.commitments, height);
      return why === undefined ? { state: s, actions: [] } : failChannel(s, why, ctx);
    }
    case 'wait_channel_ready': {
      if (s.commitments.localIsFunder || height < s.createdAtHeight + FUNDING_TIMEOUT_BLOCKS)
        return { state: s, actions: [] };
      // Nothing of ours is in the funding transaction: forget the channel.
      return forgetChannel(s, {
        kind: 'aborted',
        message: 'funding transaction did not confirm in 2016 blocks',
      });
    }
    case 'wait_accept':
    case 'wait_funding_tx':
    case 'wait_funding_created':
    case 'wait_funding_signed':
    case 'closing':
    case 'closed':
      return { state: s, actions: [] };
  }
}
