// Channel RPC methods in Core Lightning's shapes: fundchannel, listpeerchannels, close,
// listclosedchannels; and the test-only dev-addhtlc / dev-fulfillhtlc (no payments layer needed).
import { reversedHex } from '../bitcoin/tx.ts';
import {
  type ChannelState,
  type Commitments,
  commitmentsOf,
  latestRemoteCommit,
} from '../bolt02-channel/index.ts';
import type { ChannelType } from '../bolt03-tx/index.ts';
import { fromHex, hex } from '../core/bytes.ts';
import type { FeeratePerKw, Msat } from '../core/units.ts';
import { sha256 } from '../crypto/index.ts';
import { invalidParams, RPC_LIGHTNINGD, RpcError } from '../rpc/errors.ts';
import { type MethodSpec, parseMsat } from '../rpc/methods.ts';
import { destinationScript, parseFeerate, parseSatoshi } from '../wallet/rpc.ts';
import { walletErrorMessage } from '../wallet/types.ts';
import { type Channel, type ChannelDriver, ChannelError } from './channel-driver.ts';
import type { Onchain } from './onchain.ts';

/** Core Lightning's channel state names. */
export function clnState(ch: Channel): string {
  const s = ch.state;
  switch (s.phase) {
    case 'wait_accept':
    case 'wait_funding_tx':
    case 'wait_funding_created':
    case 'wait_funding_signed':
      return 'OPENINGD';
    case 'wait_channel_ready':
      return 'CHANNELD_AWAITING_LOCKIN';
    case 'normal':
      return s.shutdown ? 'CHANNELD_SHUTTING_DOWN' : 'CHANNELD_NORMAL';
    case 'negotiating':
      return 'CLOSINGD_SIGEXCHANGE';
    case 'closing':
      if (ch.meta.spentBy) return 'ONCHAIN';
      return s.reason.kind === 'mutual'
        ? 'CLOSINGD_COMPLETE'
        : s.reason.kind === 'local_force'
          ? 'AWAITING_UNILATERAL'
          : 'FUNDING_SPEND_SEEN';
    case 'closed':
      return 'CLOSED';
  }
}

export function scidString(v: bigint): string {
  return `${v >> 40n}x${(v >> 16n) & 0xff_ffffn}x${v & 0xffffn}`;
}

export function channelTypeJson(t: ChannelType): { bits: number[]; names: string[] } {
  switch (t) {
    case 'static_remotekey':
      return { bits: [12], names: ['static_remotekey/even'] };
    case 'anchors_zero_fee_htlc':
      return { bits: [12, 22], names: ['static_remotekey/even', 'anchors_zero_fee_htlc_tx/even'] };
  }
}

function shortChannelIdOf(s: ChannelState): bigint | undefined {
  return 'shortChannelId' in s ? s.shortChannelId : undefined;
}

function htlcsOf(c: Commitments) {
  // Committed in our current commitment, and whether their next commitment still holds them (both
  // specs are from our view: `offered` is ours in either).
  const next = latestRemoteCommit(c).spec.htlcs;
  const inNext = (dir: string, id: bigint) => next.some((h) => h.id === id && h.direction === dir);
  const ours = c.localCommit.spec.htlcs.map((h) => ({
    direction: h.direction === 'offered' ? 'out' : 'in',
    id: Number(h.id),
    amount_msat: Number(h.amount),
    expiry: h.cltvExpiry,
    payment_hash: hex(h.paymentHash),
    state:
      h.direction === 'offered'
        ? inNext(h.direction, h.id)
          ? 'SENT_ADD_ACK_REVOCATION'
          : 'SENT_REMOVE_HTLC'
        : inNext(h.direction, h.id)
          ? 'RCVD_ADD_ACK_REVOCATION'
          : 'RCVD_REMOVE_HTLC',
  }));
  // Offered by us and only in their commitment so far.
  for (const h of next) {
    const dir = h.direction === 'offered' ? 'out' : 'in';
    if (ours.some((o) => o.id === Number(h.id) && o.direction === dir)) continue;
    ours.push({
      direction: dir,
      id: Number(h.id),
      amount_msat: Number(h.amount),
      expiry: h.cltvExpiry,
      payment_hash: hex(h.paymentHash),
      state: dir === 'out' ? 'SENT_ADD_COMMIT' : 'RCVD_ADD_COMMIT',
    });
  }
  return ours;
}

export function channelJson(ch: Channel, connected: boolean): Record<string, unknown> {
  const s = ch.state;
  const c = commitmentsOf(s) ?? (s.phase === 'closing' ? s.commitments : undefined);
  const scid = shortChannelIdOf(s);
  const base: Record<string, unknown> = {
    peer_id: ch.peerId,
    peer_connected: connected,
    state: clnState(ch),
    opener: ch.meta.opener,
    temporary_channel_id: hex(s.temporaryChannelId),
  };
  if (scid !== undefined) base.short_channel_id = scidString(scid);
  if (!c) return base;
  const total = c.fundingAmount * 1000n;
  const toUs = c.localCommit.spec.toLocal;
  const toThem = c.localCommit.spec.toRemote;
  // What we may still send: our balance above the reserve they ask of us, minus HTLCs being added.
  const pendingOut = c.localChanges.proposed.reduce(
    (t, u) => t + (u.type === 'update_add_htlc' ? u.amount_msat : 0n),
    0n,
  );
  const spendable = toUs - c.remote.channelReserve * 1000n - pendingOut;
  const receivable = toThem - c.local.channelReserve * 1000n;
  return {
    ...base,
    channel_id: hex(c.channelId),
    funding_txid: reversedHex(c.fundingOutpoint.txid),
    funding_outnum: c.fundingOutpoint.vout,
    channel_type: channelTypeJson(c.channelType),
    to_us_msat: Number(toUs),
    total_msat: Number(total),
    spendable_msat: Number(spendable > 0n ? spendable : 0n),
    receivable_msat: Number(receivable > 0n ? receivable : 0n),
    feerate: { perkw: c.localCommit.spec.feerate, perkb: c.localCommit.spec.feerate * 4 },
    our_reserve_msat: Number(c.remote.channelReserve * 1000n),
    their_reserve_msat: Number(c.local.channelReserve * 1000n),
    local_commitment_number: Number(c.localCommit.index),
    remote_commitment_number: Number(c.remoteCommit.index),
    htlcs: htlcsOf(c),
    ...(ch.meta.closeTx ? { close_txid: ch.meta.closeTx.txid } : {}),
  };
}

/** getinfo's channel counts: pending (opening), active (normal, peer connected), inactive (the rest still open). */
export function channelCounts(
  driver: ChannelDriver,
  connected: Set<string>,
): { num_pending_channels: number; num_active_channels: number; num_inactive_channels: number } {
  let pending = 0;
  let active = 0;
  let inactive = 0;
  for (const ch of driver.list()) {
    const p = ch.state.phase;
    if (p === 'closed' || p === 'closing') continue;
    if (p === 'normal' && connected.has(ch.peerId)) active++;
    else if (p === 'normal' || p === 'negotiating') inactive++;
    else pending++;
  }
  return { num_pending_channels: pending, num_active_channels: active, num_inactive_channels: inactive };
}

function fail(e: unknown): never {
  if (e instanceof ChannelError) throw new RpcError(RPC_LIGHTNINGD, e.message);
  throw e;
}

function channelOf(driver: ChannelDriver, id: unknown): Channel {
  if (typeof id !== 'string') throw invalidParams('id must be a peer id, channel id or short channel id');
  const ch = driver.find(id);
  if (!ch) throw new RpcError(RPC_LIGHTNINGD, `Could not find channel or peer ${id}`);
  return ch;
}

function hash32(v: unknown, name: string): Uint8Array {
  if (typeof v !== 'string' || !/^[0-9a-fA-F]{64}$/.test(v))
    throw invalidParams(`${name} must be 32 bytes of hex`);
  return fromHex(v.toLowerCase());
}

export function channelMethods(
  driver: ChannelDriver,
  onchain: Onchain,
  connectedPeers: () => Set<string>,
): MethodSpec[] {
  // dev-waithtlc: outcomes of HTLCs we offered, by "<channel key>/<htlc id>".
  const outcomes = new Map<string, 'fulfilled' | 'failed' | 'cancelled'>();
  const waiting = new Map<string, ((o: string) => void)[]>();
  driver.onNotification((ch, n) => {
    const done = (id: bigint, o: 'fulfilled' | 'failed' | 'cancelled') => {
      const k = `${ch.key}/${id}`;
      const ws = waiting.get(k);
      waiting.delete(k);
      if (ws) for (const w of ws) w(o);
      else {
        outcomes.set(k, o);
        if (outcomes.size > 100_000) outcomes.delete(outcomes.keys().next().value!);
      }
    };
    if (n.kind === 'htlc_fulfilled') done(n.id, 'fulfilled');
    else if (n.kind === 'htlc_failed') done(n.id, 'failed');
    else if (n.kind === 'htlc_offer_cancelled') done(n.id, 'cancelled');
  });
  return [
    {
      name: 'fundchannel',
      description:
        'Open a channel with a connected peer: fundchannel id amount|all [feerate] [announce] [push_msat] ("all": the whole confirmed wallet, fee deducted)',
      params: [
        { name: 'id', type: 'string', required: true },
        { name: 'amount', type: 'any', required: true },
        { name: 'feerate', type: 'any' },
        { name: 'announce', type: 'boolean' },
        { name: 'push_msat', type: 'any' },
      ],
      handler: async (p) => {
        const amount = parseSatoshi(p.amount);
        if (!amount.ok) throw invalidParams(walletErrorMessage(amount.error));
        await onchain.sync();
        const estimate = await onchain.chain.feeratePerKw(6);
        const feerate = parseFeerate(p.feerate ?? 'normal', () => estimate);
        if (!feerate.ok) throw invalidParams(walletErrorMessage(feerate.error));
        const push = p.push_msat === undefined ? 0n : parseMsat(p.push_msat, 'push_msat');
        const r = await driver
          .open((p.id as string).toLowerCase(), {
            amount: amount.value,
            feerate: feerate.value as FeeratePerKw,
            announce: p.announce !== false,
            pushMsat: push as Msat,
          })
          .catch(fail);
        return {
          tx: r.tx,
          txid: r.txid,
          outnum: r.outnum,
          channel_id: r.channel_id,
          channel_type: channelTypeJson(r.channelType),
        };
      },
    },
    {
      name: 'listpeerchannels',
      description: 'Channels with peers (all, or those of one peer): listpeerchannels [id]',
      params: [{ name: 'id', type: 'string' }],
      handler: (p) => {
        const up = connectedPeers();
        const id = typeof p.id === 'string' ? p.id.toLowerCase() : undefined;
        return {
          channels: driver
            .list()
            .filter(
              (c) => c.state.phase !== 'closed' && !c.meta.spentBy && (id === undefined || c.peerId === id),
            )
            .map((c) => channelJson(c, up.has(c.peerId))),
        };
      },
    },
    {
      name: 'listclosedchannels',
      description: 'Channels that are closed (their funding output spent on chain, or aborted while opening)',
      params: [{ name: 'id', type: 'string' }],
      handler: (p) => {
        const id = typeof p.id === 'string' ? p.id.toLowerCase() : undefined;
        return {
          closedchannels: [
            ...driver.list().filter((c) => c.state.phase === 'closed' || c.meta.spentBy !== undefined),
            ...driver.archived(),
          ]
            .filter((c) => id === undefined || c.peerId === id)
            .map((c) => {
              const j = channelJson(c, false);
              const s = c.state;
              return {
                peer_id: c.peerId,
                channel_id: j.channel_id,
                short_channel_id: j.short_channel_id,
                opener: c.meta.opener,
                channel_type: j.channel_type,
                funding_txid: j.funding_txid,
                funding_outnum: j.funding_outnum,
                total_msat: j.total_msat,
                final_to_us_msat: j.to_us_msat,
                close_cause: s.phase === 'closing' || s.phase === 'closed' ? s.reason.kind : 'unknown',
                ...(c.meta.spentBy
                  ? { closing_txid: c.meta.spentBy.txid, closing_height: c.meta.spentBy.height }
                  : {}),
              };
            }),
        };
      },
    },
    {
      name: 'close',
      description:
        'Close a channel: close id [unilateraltimeout] [destination] (mutual first; unilateral after the timeout, 0 = at once)',
      params: [
        { name: 'id', type: 'string', required: true },
        { name: 'unilateraltimeout', type: 'integer' },
        { name: 'destination', type: 'string' },
      ],
      handler: async (p) => {
        const ch = channelOf(driver, p.id);
        let destination: Uint8Array | undefined;
        if (p.destination !== undefined) {
          const d = destinationScript(onchain.wallet, p.destination as string);
          if (!d.ok) throw invalidParams(walletErrorMessage(d.error));
          destination = d.value;
        }
        const timeout = p.unilateraltimeout === undefined ? 172_800 : (p.unilateraltimeout as number);
        if (timeout < 0) throw invalidParams('unilateraltimeout must be >= 0');
        return driver
          .closeChannel(ch, { unilateralTimeoutS: timeout, ...(destination ? { destination } : {}) })
          .catch(fail);
      },
    },
    {
      name: 'dev-addhtlc',
      description:
        'TEST ONLY: offer an HTLC with an empty onion over a channel: dev-addhtlc id amount_msat payment_hash cltv_expiry',
      params: [
        { name: 'id', type: 'string', required: true },
        { name: 'amount_msat', type: 'any', required: true },
        { name: 'payment_hash', type: 'string', required: true },
        { name: 'cltv_expiry', type: 'integer', required: true },
      ],
      handler: (p) => {
        const ch = channelOf(driver, p.id);
        const amount = parseMsat(p.amount_msat, 'amount_msat') as Msat;
        try {
          const id = driver.addHtlc(
            ch,
            amount,
            hash32(p.payment_hash, 'payment_hash'),
            p.cltv_expiry as number,
          );
          return { id: Number(id), channel_id: hex(commitmentsOf(ch.state)!.channelId) };
        } catch (e) {
          return fail(e);
        }
      },
    },
    {
      name: 'dev-autofulfill',
      description:
        'TEST ONLY: settle incoming HTLCs paying to sha256(preimage) at once: dev-autofulfill preimages',
      params: [{ name: 'preimages', type: 'array', required: true }],
      handler: (p) => {
        for (const x of p.preimages as unknown[]) {
          const preimage = hash32(x, 'preimage');
          driver.devPreimages.set(hex(sha256(preimage)), preimage);
        }
        return { known: driver.devPreimages.size };
      },
    },
    {
      name: 'dev-waithtlc',
      description:
        'TEST ONLY: wait until an HTLC we offered is fulfilled, failed or cancelled: dev-waithtlc id htlc_id',
      params: [
        { name: 'id', type: 'string', required: true },
        { name: 'htlc_id', type: 'integer', required: true },
      ],
      handler: async (p) => {
        const ch = channelOf(driver, p.id);
        const k = `${ch.key}/${p.htlc_id as number}`;
        const known = outcomes.get(k);
        if (known) {
          outcomes.delete(k);
          return { outcome: known };
        }
        const outcome = await new Promise<string>((resolve) => {
          const list = waiting.get(k) ?? [];
          list.push(resolve);
          waiting.set(k, list);
        });
        return { outcome };
      },
    },
    {
      name: 'dev-fulfillhtlc',
      description:
        'TEST ONLY: settle the received HTLC(s) paying to sha256(preimage): dev-fulfillhtlc id preimage',
      params: [
        { name: 'id', type: 'string', required: true },
        { name: 'preimage', type: 'string', required: true },
      ],
      handler: (p) => {
        const ch = channelOf(driver, p.id);
        const preimage = hash32(p.preimage, 'preimage');
        const c = commitmentsOf(ch.state);
        if (!c) throw new RpcError(RPC_LIGHTNINGD, `channel is ${ch.state.phase}`);
        const h = hex(sha256(preimage));
        const ids = c.localCommit.spec.htlcs
          .filter((x) => x.direction === 'received' && hex(x.paymentHash) === h)
          .map((x) => x.id);
        if (ids.length === 0) throw new RpcError(RPC_LIGHTNINGD, `no committed incoming HTLC pays to ${h}`);
        try {
          for (const id of ids) driver.fulfillHtlc(ch, id, preimage);
        } catch (e) {
          return fail(e);
        }
        return { fulfilled: ids.map(Number), payment_hash: h };
      },
    },
  ];
}
