// An in-memory two-node harness for the channel reducer: messages go through the real wire codec,
// actions are run as the shell would (persist, send, broadcast, emit), and anything an honest pair
// should never produce (a warning, an error, an unhandled notification) fails loudly.
//
// Deterministic: keys come from fixed seeds, time is the block height the test sets, nothing random.

import { verifyInput } from '../bitcoin/interpreter.ts';
import { STANDARD_SCRIPT_VERIFY_FLAGS } from '../bitcoin/script-error.ts';
import type { Transaction, TxOut } from '../bitcoin/tx.ts';
import { decodeMessage, encodeMessage } from '../bolt01-wire/index.ts';
import type { WireMessage } from '../bolt01-wire/types.ts';
import {
  acceptChannel,
  type ChannelAction,
  type ChannelContext,
  type ChannelEvent,
  type ChannelNotification,
  type ChannelSigner,
  type ChannelState,
  type CommandRefused,
  type Commitments,
  commitmentsOf,
  defaultChannelConfig,
  defaultChannelPolicy,
  type LocalChannelConfig,
  latestRemoteCommit,
  localChannelSigner,
  openChannel,
  signedLocalCommitment,
  step,
  txParams,
} from '../bolt02-channel/index.ts';
import {
  buildHolderCommitment,
  type ChannelType,
  fundingOutputScript,
  signedHtlcTx,
} from '../bolt03-tx/index.ts';
import { concat, equal, hex } from '../core/bytes.ts';
import type { Result } from '../core/result.ts';
import type { FeeratePerKw, Msat, Sat } from '../core/units.ts';
import { publicKeyOf, sha256 } from '../crypto/index.ts';
import { type ChannelKeyMaterial, KeyChain } from '../keys/derivation.ts';

export class HarnessFailure extends Error {}

/** Wraps a signer to enforce: never sign a revoked local commitment, never sign two remote commitments with one number. */
export function guardedSigner(inner: ChannelSigner): ChannelSigner & { revokedUpTo(): bigint } {
  let revoked = -1n;
  const remoteSigned = new Map<bigint, string>();
  return {
    basepoints: inner.basepoints,
    perCommitmentPoint: (n) => inner.perCommitmentPoint(n),
    releaseCommitmentSecret(n) {
      if (n > revoked) revoked = n;
      return inner.releaseCommitmentSecret(n);
    },
    signRemoteCommitment(remote) {
      const n = remote.spec.commitmentNumber;
      const txid = hex(remote.commitment.txid);
      const before = remoteSigned.get(n);
      if (before !== undefined && before !== txid)
        throw new HarnessFailure(`signed two different remote commitments number ${n}`);
      remoteSigned.set(n, txid);
      return inner.signRemoteCommitment(remote);
    },
    signLocalCommitment(local) {
      if (local.spec.commitmentNumber <= revoked)
        throw new HarnessFailure(`asked to sign revoked local commitment ${local.spec.commitmentNumber}`);
      return inner.signLocalCommitment(local);
    },
    signLocalHtlcTxs: (local) => inner.signLocalHtlcTxs(local),
    signClosing: (tx, k, a) => inner.signClosing(tx, k, a),
    revokedUpTo: () => revoked,
  };
}

export interface HarnessNode {
  readonly name: 'a' | 'b';
  state: ChannelState;
  ctx: ChannelContext;
  /** Messages from the peer, not yet processed (encoded bytes: the real codec is in the loop). */
  inbox: Uint8Array[];
  persisted: ChannelState | undefined;
  broadcasts: Transaction[];
  /** Notifications not yet taken by the test. */
  events: ChannelNotification[];
  /** Every notification ever emitted. */
  log: ChannelNotification[];
  /** Every state the node went through, oldest first. */
  history: ChannelState[];
}

export interface PairOptions {
  readonly seed?: number;
  readonly fundingAmount?: Sat;
  readonly pushMsat?: Msat;
  readonly feerate?: FeeratePerKw;
  readonly channelType?: ChannelType;
  readonly configA?: Partial<LocalChannelConfig>;
  readonly configB?: Partial<LocalChannelConfig>;
  readonly blockHeight?: number;
  /** option_simple_close negotiated. */
  readonly simpleClose?: boolean;
  /**
   * 'hashed': channel secrets are hashes of the seed instead of BIP32 derivations (which are ~2/3 of a
   * short property run's time); the channel code sees the same kind of key material either way.
   */
  readonly keys?: 'bip32' | 'hashed';
}

/** Channel key material straight from hashes of a seed (tests only: no BIP32 path behind it). */
export function hashedChannelKeys(seed: Uint8Array): ChannelKeyMaterial {
  const secret = (label: string) => sha256(concat(seed, new TextEncoder().encode(label)));
  const pair = (label: string) => {
    const s = secret(label);
    return { s, p: publicKeyOf(s) };
  };
  const funding = pair('funding');
  const revocation = pair('revocation');
  const payment = pair('payment');
  const delayed = pair('delayed');
  const htlc = pair('htlc');
  return {
    index: 0,
    fundingSecret: funding.s,
    fundingPubkey: funding.p,
    revocationBasepointSecret: revocation.s,
    revocationBasepoint: revocation.p,
    paymentBasepointSecret: payment.s,
    paymentBasepoint: payment.p,
    delayedPaymentBasepointSecret: delayed.s,
    delayedPaymentBasepoint: delayed.p,
    htlcBasepointSecret: htlc.s,
    htlcBasepoint: htlc.p,
    perCommitmentSeed: secret('per-commitment-seed'),
  };
}

const CHAIN = new Uint8Array(32).fill(6);

function seedBytes(seed: number, who: number): Uint8Array {
  return sha256(new TextEncoder().encode(`shandian-harness/${seed}/${who}`));
}

export class ChannelPair {
  readonly a: HarnessNode;
  readonly b: HarnessNode;
  connected = true;
  /** Allow warnings/errors (tests of bad input). */
  tolerateFailures = false;

  private constructor(a: HarnessNode, b: HarnessNode) {
    this.a = a;
    this.b = b;
  }

  peer(n: HarnessNode): HarnessNode {
    return n === this.a ? this.b : this.a;
  }

  node(name: 'a' | 'b'): HarnessNode {
    return name === 'a' ? this.a : this.b;
  }

  /** A funded, confirmed channel in `normal` with `a` as funder. */
  static open(opts: PairOptions = {}): ChannelPair {
    const seed = opts.seed ?? 1;
    const height = opts.blockHeight ?? 800_000;
    const keysOf = (who: number): ChannelKeyMaterial =>
      opts.keys === 'hashed'
        ? hashedChannelKeys(seedBytes(seed, who))
        : new KeyChain(seedBytes(seed, who), 'regtest').channelKeys(0);
    const mk = (name: 'a' | 'b', who: number): HarnessNode => {
      const signer = guardedSigner(localChannelSigner(keysOf(who)));
      return {
        name,
        state: undefined as unknown as ChannelState,
        ctx: {
          signer,
          policy: { ...defaultChannelPolicy(CHAIN), simpleClose: opts.simpleClose ?? false },
          blockHeight: height,
          shutdownScript: new Uint8Array([0x00, 0x14, ...new Uint8Array(20).fill(who + 1)]),
        },
        inbox: [],
        persisted: undefined,
        broadcasts: [],
        events: [],
        log: [],
        history: [],
      };
    };
    const a = mk('a', 0);
    const b = mk('b', 1);
    const pair = new ChannelPair(a, b);
    const configA = { ...defaultChannelConfig(), minimumDepth: 1, ...opts.configA };
    const configB = { ...defaultChannelConfig(), minimumDepth: 1, ...opts.configB };
    const opened = openChannel(
      {
        keyIndex: 0,
        temporaryChannelId: sha256(seedBytes(seed, 9)),
        fundingAmount: opts.fundingAmount ?? (1_000_000n as Sat),
        pushMsat: opts.pushMsat ?? (300_000_000n as Msat),
        feerate: opts.feerate ?? (2500 as FeeratePerKw),
        channelType: opts.channelType ?? 'anchors_zero_fee_htlc',
        config: configA,
        channelFlags: 0,
      },
      a.ctx,
    );
    if (!opened.ok) throw new HarnessFailure(`open refused: ${opened.error.reason}`);
    a.state = opened.value.state;
    a.history.push(a.state);
    pair.run(a, opened.value.actions);
    // b answers the open_channel from its inbox.
    const openBytes = b.inbox.shift();
    if (openBytes === undefined) throw new HarnessFailure('no open_channel');
    const open = decode(openBytes);
    if (open.type !== 'open_channel') throw new HarnessFailure('expected open_channel');
    const accepted = acceptChannel(open, { keyIndex: 0, config: configB }, b.ctx);
    if (!accepted.ok) throw new HarnessFailure(`accept refused: ${accepted.error.message}`);
    b.state = accepted.value.state;
    b.history.push(b.state);
    pair.run(b, accepted.value.actions);
    pair.deliverAll();
    const need = a.events.find((e) => e.kind === 'funding_needed');
    if (need === undefined || need.kind !== 'funding_needed') throw new HarnessFailure('no funding_needed');
    a.events = a.events.filter((e) => e !== need);
    const fundingTx: Transaction = {
      version: 2,
      inputs: [
        {
          prevout: { txid: seedBytes(seed, 7), vout: 0 },
          scriptSig: new Uint8Array(0),
          sequence: 0xffffffff,
          witness: [],
        },
      ],
      outputs: [{ value: need.amount, script: need.script }],
      locktime: 0,
    };
    pair.must(a, { kind: 'command', cmd: { kind: 'funding_tx_built', tx: fundingTx, outputIndex: 0 } });
    pair.deliverAll();
    const scid = (BigInt(height) << 40n) | 1n;
    pair.must(a, { kind: 'funding_depth', depth: 1, shortChannelId: scid });
    pair.must(b, { kind: 'funding_depth', depth: 1, shortChannelId: scid });
    pair.deliverAll();
    if (a.state.phase !== 'normal' || b.state.phase !== 'normal')
      throw new HarnessFailure(`not normal after opening: ${a.state.phase}/${b.state.phase}`);
    for (const n of [a, b])
      n.events = n.events.filter((e) => e.kind !== 'channel_ready' && e.kind !== 'channel_id_assigned');
    return pair;
  }

  /** Runs one event; a refused command is returned, never thrown. */
  apply(n: HarnessNode, event: ChannelEvent): Result<true, CommandRefused> {
    const r = step(n.state, event, n.ctx);
    if (!r.ok) return r;
    n.state = r.value.state;
    n.history.push(n.state);
    this.run(n, r.value.actions);
    return { ok: true, value: true };
  }

  must(n: HarnessNode, event: ChannelEvent): void {
    const r = this.apply(n, event);
    if (!r.ok) throw new HarnessFailure(`${n.name}: ${event.kind} refused: ${r.error.reason}`);
  }

  run(n: HarnessNode, actions: readonly ChannelAction[]): void {
    let persisted = false;
    for (const act of actions) {
      switch (act.kind) {
        case 'send': {
          // DESIGN rule 2: nothing that reveals a signature, a secret or a preimage before persist.
          const t = act.msg.type;
          if (
            (t === 'commitment_signed' ||
              t === 'revoke_and_ack' ||
              t === 'update_fulfill_htlc' ||
              t === 'funding_signed' ||
              t === 'funding_created') &&
            !persisted
          )
            throw new HarnessFailure(`${n.name} sent ${t} before persisting`);
          if ((act.msg.type === 'warning' || act.msg.type === 'error') && !this.tolerateFailures)
            throw new HarnessFailure(
              `${n.name} sent ${act.msg.type}: ${new TextDecoder().decode(act.msg.data)}`,
            );
          if (this.connected) this.peer(n).inbox.push(encodeMessage(act.msg));
          break;
        }
        case 'persist':
          if (act.state !== n.state)
            throw new HarnessFailure(`${n.name} persisted a state other than the one it moved to`);
          n.persisted = act.state;
          persisted = true;
          break;
        case 'broadcast':
          n.broadcasts.push(act.tx);
          break;
        case 'watch_funding':
          break;
        case 'emit':
          n.events.push(act.event);
          n.log.push(act.event);
          break;
        case 'disconnect':
          if (!this.tolerateFailures) throw new HarnessFailure(`${n.name} disconnected`);
          this.disconnect();
          break;
      }
    }
  }

  /** Processes the oldest message waiting for `n`; false when there is none. */
  deliver(n: HarnessNode): boolean {
    const bytes = n.inbox.shift();
    if (bytes === undefined) return false;
    this.must(n, { kind: 'message', msg: decode(bytes) });
    return true;
  }

  deliverAll(limit = 10_000): void {
    for (let i = 0; i < limit; i++) {
      if (!this.deliver(this.a) && !this.deliver(this.b)) return;
    }
    throw new HarnessFailure('message loop did not settle');
  }

  disconnect(): void {
    if (!this.connected) return;
    this.connected = false;
    this.a.inbox = [];
    this.b.inbox = [];
    this.must(this.a, { kind: 'disconnected' });
    this.must(this.b, { kind: 'disconnected' });
  }

  reconnect(): void {
    if (this.connected) return;
    this.connected = true;
    this.must(this.a, { kind: 'connected' });
    this.must(this.b, { kind: 'connected' });
  }

  /** Restart `n` from what it last persisted (a crash between actions is not modelled). */
  restartFromPersisted(n: HarnessNode): void {
    if (n.persisted !== undefined) n.state = n.persisted;
  }
}

function decode(bytes: Uint8Array): WireMessage {
  const r = decodeMessage(bytes);
  if (!r.ok) throw new HarnessFailure(`undecodable message: ${JSON.stringify(r.error)}`);
  return r.value;
}

// ---- invariants ----------------------------------------------------------------------------------

function specTotal(s: { toLocal: bigint; toRemote: bigint; htlcs: readonly { amount: bigint }[] }): bigint {
  return s.toLocal + s.toRemote + s.htlcs.reduce((t, h) => t + h.amount, 0n);
}

/** Balances + HTLCs add up to the capacity in every commitment either side holds. */
export function checkConservation(c: Commitments): void {
  const cap = c.fundingAmount * 1000n;
  for (const [what, spec] of [
    ['local', c.localCommit.spec],
    ['remote', c.remoteCommit.spec],
    ['next remote', latestRemoteCommit(c).spec],
  ] as const) {
    if (specTotal(spec) !== cap)
      throw new HarnessFailure(`${what} commitment holds ${specTotal(spec)} msat of ${cap}`);
  }
}

/** What each side holds of the other's commitment agrees with what the other holds. */
export function checkAgreement(pair: ChannelPair): void {
  for (const [x, y] of [
    [pair.a, pair.b],
    [pair.b, pair.a],
  ] as const) {
    const cx = commitmentsOf(x.state);
    const cy = commitmentsOf(y.state);
    if (cx === undefined || cy === undefined) continue;
    const mine = cx.localCommit;
    const theirView = [cy.remoteCommit, latestRemoteCommit(cy)];
    if (mine.index < cy.remoteCommit.index || mine.index > latestRemoteCommit(cy).index)
      throw new HarnessFailure(
        `${x.name} holds commitment ${mine.index}, ${y.name} signed ${cy.remoteCommit.index}..${latestRemoteCommit(cy).index}`,
      );
    for (const v of theirView) {
      if (v.index !== mine.index) continue;
      if (!equal(v.txid, mine.txid))
        throw new HarnessFailure(`${x.name} commitment ${mine.index} differs between the sides`);
      if (
        v.spec.toLocal !== mine.spec.toRemote ||
        v.spec.toRemote !== mine.spec.toLocal ||
        v.spec.feerate !== mine.spec.feerate
      )
        throw new HarnessFailure(`${x.name} commitment ${mine.index} balances differ between the sides`);
    }
  }
}

/**
 * Our commitment and its HTLC transactions, fully signed, verify under the script interpreter.
 * HTLC-success transactions are checked when `preimageOf` knows the preimage.
 */
export function checkBroadcastable(
  n: HarnessNode,
  preimageOf: (paymentHash: Uint8Array) => Uint8Array | undefined = () => undefined,
): number {
  const c = commitmentsOf(n.state);
  if (c === undefined) return 0;
  const tx = signedLocalCommitment(c, n.ctx.signer);
  if (tx === undefined) throw new HarnessFailure(`${n.name} cannot sign its commitment`);
  const fundingOut: TxOut = {
    value: c.fundingAmount,
    script: fundingOutputScriptOf(c),
  };
  const e = verifyInput(tx, 0, [fundingOut], STANDARD_SCRIPT_VERIFY_FLAGS);
  if (e !== null)
    throw new HarnessFailure(`${n.name} commitment ${c.localCommit.index} does not verify: ${e}`);
  const local = buildHolderCommitment(
    txParams(c),
    'local',
    { ...c.localCommit.spec, commitmentNumber: c.localCommit.index },
    n.ctx.signer.perCommitmentPoint(c.localCommit.index),
  );
  if (!local.ok) throw new HarnessFailure('cannot rebuild our commitment');
  // The commitment pays at least its base fee (when the funder can), and every satoshi is accounted
  // for: outputs + fee = capacity, fee = base fee + anchors' share not paid out + trimmed + dust + rounding.
  const cm = local.value.commitment;
  const outs = tx.outputs.reduce((s, o) => s + o.value, 0n);
  if (outs + cm.fee !== c.fundingAmount) throw new HarnessFailure(`${n.name} commitment does not add up`);
  if (cm.funderShortfall === 0n && cm.fee < cm.baseFee)
    throw new HarnessFailure(`${n.name} commitment pays ${cm.fee} sat, below its base fee ${cm.baseFee}`);
  const trimmed = cm.trimmed.reduce((s, h) => s + h.amount / 1000n, 0n);
  const maxExtra = trimmed + 2n * c.local.dustLimit + BigInt(c.localCommit.spec.htlcs.length) + 2n;
  if (cm.funderShortfall === 0n && cm.fee > cm.baseFee + maxExtra)
    throw new HarnessFailure(
      `${n.name} commitment fee ${cm.fee} unexplained (base ${cm.baseFee}, trimmed ${trimmed})`,
    );
  const ours = n.ctx.signer.signLocalHtlcTxs(local.value);
  let checked = 1;
  for (const [i, h] of local.value.htlcTxs.entries()) {
    const preimage = h.kind === 'htlc_success' ? preimageOf(h.spent.htlc.paymentHash) : undefined;
    if (h.kind === 'htlc_success' && preimage === undefined) continue;
    const signed = signedHtlcTx(h, c.localCommit.remoteHtlcSigs[i]!, ours[i]!, preimage);
    const spent = tx.outputs[h.spent.index]!;
    const he = verifyInput(signed, 0, [spent], STANDARD_SCRIPT_VERIFY_FLAGS);
    if (he !== null) throw new HarnessFailure(`${n.name} ${h.kind} ${i} does not verify: ${he}`);
    checked++;
  }
  return checked;
}

function fundingOutputScriptOf(c: Commitments): Uint8Array {
  return fundingOutputScript(c.local.basepoints.fundingPubkey, c.remote.basepoints.fundingPubkey);
}
