// Invariants of the N-node harness, checked once the network is quiet: every channel between two running
// nodes is open and linked, holds no HTLC and no unsigned change, both sides hold the same two
// commitments, every commitment adds up to the capacity, no node went back to an older commitment
// (a restart signing a revoked state would), and no payment is left pending.
import { localHasChanges, remoteHasChanges } from '../bolt02-channel/commitments.ts';
import { type Commitments, commitmentsOf, latestRemoteCommit } from '../bolt02-channel/index.ts';
import { formatShortChannelId, type RouteHintHop } from '../bolt11-invoice/index.ts';
import { equal, hex } from '../core/bytes.ts';
import { type Msat, msat, type Sat } from '../core/units.ts';
import type { Channel } from '../node/channel-driver.ts';
import type { RouteHop } from '../node/pay.ts';
import { DEFAULT_POLICY, feeFor, scidOf } from '../node/switch-policy.ts';
import { checkConservation, HarnessFailure } from './channel-harness.ts';
import type { NetNode, Network } from './network-harness.ts';

export interface ChannelLink {
  readonly a: NetNode;
  readonly b: NetNode;
  readonly chA: Channel;
  readonly chB: Channel;
}

/** Every channel both of whose nodes run, seen from both sides (matched by channel id). */
export function channelLinks(net: Network): ChannelLink[] {
  const out: ChannelLink[] = [];
  for (const a of net.nodes) {
    if (!a.life?.alive) continue;
    for (const chA of a.channels.list()) {
      const c = commitmentsOf(chA.state);
      const b = net.nodes.find((n) => n.id === chA.peerId);
      if (!c || !b?.life?.alive || b.index < a.index) continue;
      const chB = b.channels.find(hex(c.channelId));
      if (!chB) throw new HarnessFailure(`${b.name} has no channel ${hex(c.channelId)} that ${a.name} has`);
      out.push({ a, b, chA, chB });
    }
  }
  return out;
}

/** The channel between two nodes (the only live one), from `from`'s side. */
export function channelOf(from: NetNode, to: NetNode): Channel {
  const ch = from.channels.list().find((c) => c.peerId === to.id && c.state.phase !== 'closed');
  if (!ch) throw new HarnessFailure(`${from.name} has no channel with ${to.name}`);
  return ch;
}

export function commitments(ch: Channel): Commitments {
  const c = commitmentsOf(ch.state);
  if (!c) throw new HarnessFailure(`channel ${ch.key} has no commitments (${ch.state.phase})`);
  return c;
}

/** Our balance in a channel (msat, our current commitment). */
export function balanceOf(from: NetNode, to: NetNode): bigint {
  return commitments(channelOf(from, to)).localCommit.spec.toLocal;
}

/** The route hint to reach `path[last]` from `path[0]`'s neighbour: one hop per channel after the first. */
export function routeHints(path: readonly NetNode[]): RouteHintHop[][] {
  const hops: RouteHintHop[] = [];
  for (let i = 1; i + 1 < path.length; i++) {
    const ch = channelOf(path[i]!, path[i + 1]!);
    const policy = path[i]!.payments.switch.policies.get(ch.key);
    hops.push({
      pubkey: path[i]!.nodeId,
      shortChannelId: scidOf(ch.state)!,
      feeBaseMsat: policy.feeBaseMsat,
      feeProportionalMillionths: policy.feePpm,
      cltvExpiryDelta: policy.cltvExpiryDelta,
    });
  }
  return hops.length > 0 ? [hops] : [];
}

/**
 * An explicit route along `path` (CLN's sendpay shape): each hop's amount and CLTV delta include what
 * the nodes after it charge under their forwarding policies.
 */
export function explicitRoute(path: readonly NetNode[], amount: Msat, finalCltv: number): RouteHop[] {
  const route: RouteHop[] = [];
  let amt = amount;
  let delay = finalCltv;
  for (let i = path.length - 1; i >= 1; i--) {
    const ch = channelOf(path[i - 1]!, path[i]!);
    route.unshift({
      id: path[i]!.id,
      channel: formatShortChannelId(scidOf(ch.state)!),
      amount_msat: amt,
      delay,
    });
    if (i > 1) {
      const policy = path[i - 1]!.payments.switch.policies.get(channelOf(path[i - 1]!, path[i]!).key);
      amt = msat(amt + feeFor(policy, amt));
      delay += policy.cltvExpiryDelta;
    }
  }
  return route;
}

/** An invoice as the tests need it. */
export interface TestInvoice {
  readonly bolt11: string;
  readonly paymentHash: string;
  readonly preimage: string;
}

// The invoice book's API is changing on the `invoices` branch (InvoiceBook -> InvoiceRegistry, snake_case
// -> camelCase records, byLabel -> get): these two read either shape, so the harness survives the merge.
// Once both have landed, they can use the one API directly.
type AnyInvoice = { bolt11: string; preimage?: string } & Record<string, unknown>;

export function createInvoice(
  payee: NetNode,
  p: { label: string; amountMsat: Msat; routeHints: RouteHintHop[][] },
): TestInvoice {
  const r = payee.payments.invoices.create({ ...p, description: 'harness' }) as unknown as AnyInvoice;
  return {
    bolt11: r.bolt11,
    paymentHash: String(r.paymentHash ?? r.payment_hash),
    preimage: String(r.preimage),
  };
}

/** Whether the invoice with `label` is paid. */
export function invoicePaid(payee: NetNode, label: string): boolean {
  const book = payee.payments.invoices as unknown as {
    byLabel?: (l: string) => AnyInvoice | undefined;
    get?: (l: string) => AnyInvoice | undefined;
  };
  const r = book.byLabel ? book.byLabel(label) : book.get?.(label);
  if (!r) throw new HarnessFailure(`${payee.name} has no invoice ${label}`);
  return r.status === 'paid' || r.state === 'paid';
}

/** What each forwarding node of `path` earns for delivering `amount` to the end (default policies). */
export function forwardingFees(path: readonly NetNode[], amount: Msat): bigint[] {
  const fees = new Array<bigint>(path.length).fill(0n);
  let amt = amount;
  for (let i = path.length - 2; i >= 1; i--) {
    const fee = feeFor(DEFAULT_POLICY, amt);
    fees[i] = fee;
    amt = (amt + fee) as Msat;
  }
  return fees;
}

/** Per node and channel: the highest commitment numbers seen, which must never go down. */
export type Watermarks = Map<string, { local: bigint; remote: bigint }>;

/** Checks the quiet network; throws a HarnessFailure naming the first broken invariant. */
export function checkQuiescent(net: Network, marks: Watermarks): { channels: number } {
  net.check();
  const links = channelLinks(net);
  for (const { a, b, chA, chB } of links) {
    const where = `${a.name}-${b.name}`;
    for (const [n, ch] of [
      [a, chA],
      [b, chB],
    ] as const) {
      if (ch.state.phase !== 'normal') throw new HarnessFailure(`${where}: ${n.name} is ${ch.state.phase}`);
      if (ch.state.link !== 'up') throw new HarnessFailure(`${where}: ${n.name} link is ${ch.state.link}`);
      const c = commitments(ch);
      checkConservation(c);
      if (c.localCommit.spec.htlcs.length > 0 || c.remoteCommit.spec.htlcs.length > 0)
        throw new HarnessFailure(
          `${where}: ${n.name} still holds HTLCs ${c.localCommit.spec.htlcs.map((h) => `${h.direction}#${h.id}`)}`,
        );
      if (c.waiting || localHasChanges(c) || remoteHasChanges(c))
        throw new HarnessFailure(`${where}: ${n.name} has unsigned or unacknowledged changes`);
      if (latestRemoteCommit(c) !== c.remoteCommit)
        throw new HarnessFailure(`${where}: ${n.name} waits for a revocation`);
      const key = `${n.name}/${ch.key}`;
      const m = marks.get(key);
      if (m && (c.localCommit.index < m.local || c.remoteCommit.index < m.remote))
        throw new HarnessFailure(
          `${where}: ${n.name} went back from commitments ${m.local}/${m.remote} to ${c.localCommit.index}/${c.remoteCommit.index}`,
        );
      marks.set(key, { local: c.localCommit.index, remote: c.remoteCommit.index });
    }
    const ca = commitments(chA);
    const cb = commitments(chB);
    for (const [x, y, cx, cy] of [
      [a, b, ca, cb],
      [b, a, cb, ca],
    ] as const) {
      const mine = cx.localCommit;
      const theirs = cy.remoteCommit;
      if (mine.index !== theirs.index || !equal(mine.txid, theirs.txid))
        throw new HarnessFailure(
          `${where}: ${x.name} holds commitment ${mine.index}, ${y.name} signed ${theirs.index} (or another tx)`,
        );
      if (
        mine.spec.toLocal !== theirs.spec.toRemote ||
        mine.spec.toRemote !== theirs.spec.toLocal ||
        mine.spec.feerate !== theirs.spec.feerate
      )
        throw new HarnessFailure(`${where}: ${x.name}'s commitment ${mine.index} differs between the sides`);
    }
  }
  for (const n of net.nodes) {
    if (!n.life?.alive) continue;
    const pending = n.payments.payer.listSendpays().filter((p) => p.status === 'pending');
    if (pending.length > 0)
      throw new HarnessFailure(
        `${n.name}: ${pending.length} payment part(s) still pending: ${pending.map((p) => p.payment_hash.slice(0, 12))}`,
      );
  }
  return { channels: links.length };
}

/** Sum of a node's balances over its channels (msat). */
export function totalBalance(n: NetNode): bigint {
  let t = 0n;
  for (const ch of n.channels.list()) {
    const c = commitmentsOf(ch.state);
    if (c && ch.state.phase !== 'closed') t += c.localCommit.spec.toLocal;
  }
  return t;
}

/** Capacity of a channel in msat. */
export function capacityMsat(ch: Channel): bigint {
  return (commitments(ch).fundingAmount as Sat) * 1000n;
}
