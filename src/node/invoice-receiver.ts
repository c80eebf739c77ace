// The node's one receive stack: the PaymentSwitch's Receiver, running the pure reducer of htlc-switch.ts
// over the invoice registry. Multi-part sets, mpp_timeout, keysend and hold invoices are decided by the
// reducer; this runs its actions in order, and a `paid` action (the invoice durably marked paid) always
// comes before the settles that hand the preimage to the channels.
import { fromHex, hex } from '../core/bytes.ts';
import { RpcError } from '../rpc/errors.ts';
import type { Clock, TimerHandle } from './clock.ts';
import {
  emptyReceiveState,
  type HoldError,
  type IncomingHtlc,
  type ReceiveAction,
  type ReceiveConfig,
  type ReceiveEvent,
  type ReceiveState,
  stepReceive,
  unknownDetails,
} from './htlc-switch.ts';
import { INVOICE_NOT_FOUND, INVOICE_STATUS_UNEXPECTED, type InvoiceRegistry } from './invoice-store.ts';
import type { Logger } from './logger.ts';
import type { HoldInvoiceHooks } from './rpc-invoices.ts';
import type { FinalDecision, FinalHtlc, HtlcRef, PaymentSwitch, Receiver } from './switch.ts';

/** How often incomplete sets and held HTLCs are looked at (mpp_timeout, hold expiry). */
export const RECEIVE_TICK_MS = 1_000;

export interface InvoiceReceiverDeps {
  readonly registry: InvoiceRegistry;
  readonly switch: Pick<PaymentSwitch, 'settle' | 'setReceiver' | 'tipHeight'>;
  readonly clock: Clock;
  readonly log: Logger;
  /** Accept keysend payments (default true). */
  readonly keysend?: boolean;
  readonly mppTimeoutMs?: number;
  readonly tickMs?: number;
}

function incomingOf(h: FinalHtlc): IncomingHtlc {
  return {
    channel: h.ref.ch,
    htlcId: h.ref.id,
    amountMsat: h.amountMsat,
    cltvExpiry: h.cltvExpiry,
    paymentHash: h.paymentHash,
  };
}

function holdErrorOf(e: HoldError): RpcError {
  switch (e) {
    case 'unknown_payment_hash':
      return new RpcError(INVOICE_NOT_FOUND, 'No HTLCs are held for that payment_hash');
    case 'not_held':
      return new RpcError(INVOICE_STATUS_UNEXPECTED, 'The payment is not complete yet: nothing to settle');
    case 'preimage_mismatch':
      return new RpcError(INVOICE_STATUS_UNEXPECTED, 'The preimage does not match the payment_hash');
  }
}

export class InvoiceReceiver implements Receiver, HoldInvoiceHooks {
  readonly #d: InvoiceReceiverDeps;
  readonly #cfg: ReceiveConfig;
  #state: ReceiveState = emptyReceiveState;
  #timer: TimerHandle | null = null;
  #closed = false;

  constructor(d: InvoiceReceiverDeps) {
    this.#d = d;
    this.#cfg = {
      keysendEnabled: d.keysend ?? true,
      ...(d.mppTimeoutMs !== undefined ? { mppTimeoutMs: d.mppTimeoutMs } : {}),
    };
    d.switch.setReceiver(this);
    this.#schedule();
  }

  /** Payment hashes (hex) with HTLCs waiting here: accumulating parts or a held set. */
  waiting(): { paymentHash: string; status: 'accumulating' | 'held'; parts: number }[] {
    return [...this.#state.sets.values()].map((s) => ({
      paymentHash: hex(s.paymentHash),
      status: s.status,
      parts: s.parts.length,
    }));
  }

  onFinalHtlc(h: FinalHtlc): void {
    this.#arrive(h, h.height);
  }

  recover(hs: readonly FinalHtlc[]): void {
    const height = this.#d.switch.tipHeight();
    const held = new Map<string, FinalHtlc[]>();
    for (const h of hs) {
      const inv = this.#d.registry.byPaymentHash(h.paymentHash);
      // Marked paid, but the crash came before every part was settled: settle the rest now.
      if (inv?.state === 'paid' && inv.preimage !== undefined) {
        this.#answer(h.ref, { kind: 'settle', preimage: fromHex(inv.preimage) });
        continue;
      }
      if (inv?.state === 'accepted') {
        const parts = held.get(inv.paymentHash) ?? [];
        parts.push(h);
        held.set(inv.paymentHash, parts);
        continue;
      }
      // Parts of a set still arriving: they start a new wait (the mpp_timeout counts from now).
      this.#arrive(h, height);
    }
    for (const parts of held.values()) {
      // Some part gone (its channel closed): settling the rest would prove a payment not made in full.
      const sum = parts.reduce((t, p) => t + p.amountMsat, 0n);
      const inv = this.#d.registry.byPaymentHash(parts[0]!.paymentHash);
      if (sum < (inv?.amountReceivedMsat ?? 0n)) {
        for (const p of parts)
          this.#answer(p.ref, { kind: 'fail', failure: unknownDetails(p.amountMsat, height) });
        continue;
      }
      this.#step({
        type: 'restore_held',
        paymentHash: parts[0]!.paymentHash,
        parts: parts.map(incomingOf),
        now: this.#d.clock.now(),
      });
    }
    // An accepted hold invoice whose HTLCs are gone (failed back, or their channel closed): payable again.
    for (const r of this.#d.registry.list()) {
      if (r.state === 'accepted' && !this.#state.sets.has(r.paymentHash)) {
        this.#d.log.info({ payment_hash: r.paymentHash }, 'hold invoice lost its HTLCs: unpaid again');
        this.#d.registry.markUnaccepted(fromHex(r.paymentHash));
      }
    }
  }

  /** holdinvoicesettle: the invoice is durably paid before the held HTLCs are settled. */
  settle(paymentHash: Uint8Array, preimage: Uint8Array): void {
    this.#step({ type: 'hold_settle', paymentHash, preimage });
  }

  /** holdinvoicecancel: the registry has marked the invoice canceled; fail what is held. */
  cancel(paymentHash: Uint8Array): void {
    this.#step({ type: 'hold_cancel', paymentHash, height: this.#d.switch.tipHeight() });
  }

  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
  }

  #arrive(h: FinalHtlc, height: number): void {
    this.#step({
      type: 'htlc',
      htlc: incomingOf(h),
      payload: {
        amtToForward: h.amtToForward,
        outgoingCltvValue: h.outgoingCltvValue,
        totalMsat: h.totalMsat,
        paymentSecret: h.paymentSecret,
        paymentMetadata: h.paymentMetadata ?? null,
        ...(h.keysendPreimage !== null ? { keysendPreimage: h.keysendPreimage } : {}),
      },
      invoice: this.#d.registry.receivable(h.paymentHash),
      height,
      now: this.#d.clock.now(),
    });
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = this.#d.clock.after(this.#d.tickMs ?? RECEIVE_TICK_MS, () => {
      this.#tick();
      this.#schedule();
    });
  }

  #tick(): void {
    if (this.#state.sets.size === 0) return;
    this.#step({ type: 'tick', now: this.#d.clock.now(), height: this.#d.switch.tipHeight() });
  }

  #answer(ref: HtlcRef, d: FinalDecision): void {
    this.#d.switch.settle(ref, d);
  }

  /** One reducer step, then its actions in order. Only hold events can be refused (thrown as RPC errors). */
  #step(ev: ReceiveEvent): void {
    const step = stepReceive(this.#cfg, this.#state, ev);
    if ('error' in step) throw holdErrorOf(step.error);
    this.#state = step.state;
    // If marking a payment paid fails, its HTLCs are failed, not settled.
    const unpaid = new Set<string>();
    for (const a of step.actions) this.#run(a, unpaid);
  }

  #run(a: ReceiveAction, unpaid: Set<string>): void {
    const reg = this.#d.registry;
    switch (a.type) {
      case 'paid':
        try {
          if (a.keysend) reg.recordKeysend(a.paymentHash, a.amountReceivedMsat, a.preimage);
          else reg.markPaid(a.paymentHash, a.amountReceivedMsat, a.preimage);
          this.#d.log.info(
            { payment_hash: hex(a.paymentHash), amount_msat: a.amountReceivedMsat, parts: a.parts },
            a.keysend ? 'keysend received' : 'invoice paid',
          );
        } catch (e) {
          // Never reveal a preimage we could not record.
          this.#d.log.error({ payment_hash: hex(a.paymentHash), err: String(e) }, 'cannot mark paid');
          unpaid.add(hex(a.paymentHash));
        }
        return;
      case 'settle': {
        const ref = { ch: a.htlc.channel, id: a.htlc.htlcId };
        if (unpaid.has(hex(a.htlc.paymentHash))) {
          const failure = unknownDetails(a.htlc.amountMsat, this.#d.switch.tipHeight());
          this.#answer(ref, { kind: 'fail', failure });
        } else this.#answer(ref, { kind: 'settle', preimage: a.preimage });
        return;
      }
      case 'fail':
        this.#d.log.info(
          {
            payment_hash: hex(a.htlc.paymentHash),
            htlc: `${a.htlc.channel}/${a.htlc.htlcId}`,
            amount_msat: a.htlc.amountMsat,
            cltv_expiry: a.htlc.cltvExpiry,
            failure: a.failure.failure,
          },
          'failing a received HTLC',
        );
        this.#answer({ ch: a.htlc.channel, id: a.htlc.htlcId }, { kind: 'fail', failure: a.failure });
        return;
      case 'held':
        reg.markAccepted(a.paymentHash, a.amountReceivedMsat);
        this.#d.log.info({ payment_hash: hex(a.paymentHash) }, 'hold invoice accepted: HTLCs held');
        return;
      case 'unheld':
        reg.markUnaccepted(a.paymentHash);
        this.#d.log.info({ payment_hash: hex(a.paymentHash) }, 'held HTLCs near expiry: failed back');
        return;
    }
  }
}
