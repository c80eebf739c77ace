// The handshake over a byte stream: push TCP chunks of any size, get back the act to send and, once
// done, the session plus any bytes that already belong to the message stream. Still pure: no I/O.
import { assertNever, err, ok, type Result } from '../core/result.ts';
import type { Act, TransportError } from './errors.ts';
import {
  ACT_ONE_SIZE,
  ACT_THREE_SIZE,
  ACT_TWO_SIZE,
  type InitiatorAwaitingActTwo,
  type InitiatorOptions,
  initiatorActOne,
  initiatorActTwo,
  type ResponderAwaitingActOne,
  type ResponderAwaitingActThree,
  type ResponderOptions,
  responderActOne,
  responderActThree,
  responderStart,
  type Session,
} from './handshake.ts';

export interface HandshakeProgress {
  /** Bytes to write to the peer now, if any. */
  readonly send: Uint8Array | null;
  /** Set once the handshake has completed. */
  readonly done: { readonly session: Session; readonly leftover: Uint8Array } | null;
}

type Phase =
  | InitiatorAwaitingActTwo
  | ResponderAwaitingActOne
  | ResponderAwaitingActThree
  | { readonly phase: 'done' }
  | { readonly phase: 'failed'; readonly error: TransportError };

const NOTHING: HandshakeProgress = { send: null, done: null };

export class HandshakeStream {
  private phase: Phase;
  private buf = new Uint8Array(ACT_THREE_SIZE);
  private have = 0;

  private constructor(phase: Phase) {
    this.phase = phase;
  }

  /** The initiator: returns act one, which the caller sends first. */
  static initiator(
    opts: InitiatorOptions,
  ): Result<{ handshake: HandshakeStream; actOne: Uint8Array }, TransportError> {
    const r = initiatorActOne(opts);
    if (!r.ok) return r;
    return ok({ handshake: new HandshakeStream(r.value.state), actOne: r.value.act });
  }

  static responder(opts: ResponderOptions): Result<HandshakeStream, TransportError> {
    const r = responderStart(opts);
    if (!r.ok) return r;
    return ok(new HandshakeStream(r.value));
  }

  /** Which act we are waiting for (0 once done or failed). */
  get awaitingAct(): Act | 0 {
    const p = this.phase;
    switch (p.phase) {
      case 'initiator-awaiting-act-two':
        return 2;
      case 'responder-awaiting-act-one':
        return 1;
      case 'responder-awaiting-act-three':
        return 3;
      case 'done':
      case 'failed':
        return 0;
    }
    return assertNever(p, 'handshake phase');
  }

  push(chunk: Uint8Array): Result<HandshakeProgress, TransportError> {
    let offset = 0;
    let send: Uint8Array | null = null;
    for (;;) {
      const p = this.phase;
      if (p.phase === 'failed') return err({ kind: 'poisoned', cause: p.error });
      // Misuse, not bad input: after `done` the bytes belong to the session's decryptor.
      if (p.phase === 'done') throw new Error('HandshakeStream.push after the handshake completed');
      const size = actSize(this.awaitingAct as Act);
      const k = Math.min(size - this.have, chunk.length - offset);
      this.buf.set(chunk.subarray(offset, offset + k), this.have);
      this.have += k;
      offset += k;
      // Every act starts with the version byte: refuse a stranger (an HTTP client, say) at once.
      if (this.have > 0 && this.buf[0] !== 0) {
        return this.fail({
          kind: 'bad-version',
          act: this.awaitingAct as Act,
          version: this.buf[0] as number,
        });
      }
      if (this.have < size) return ok(send === null ? NOTHING : { send, done: null });
      const act = this.buf.subarray(0, size);
      this.have = 0;
      switch (p.phase) {
        case 'responder-awaiting-act-one': {
          const r = responderActOne(p, act);
          if (!r.ok) return this.fail(r.error);
          this.phase = r.value.state;
          send = r.value.act;
          // An honest initiator waits for act two, but act three may already be queued behind it.
          continue;
        }
        case 'initiator-awaiting-act-two': {
          const r = initiatorActTwo(p, act);
          if (!r.ok) return this.fail(r.error);
          this.phase = { phase: 'done' };
          return ok({ send: r.value.act, done: { session: r.value.session, leftover: chunk.slice(offset) } });
        }
        case 'responder-awaiting-act-three': {
          const r = responderActThree(p, act);
          if (!r.ok) return this.fail(r.error);
          this.phase = { phase: 'done' };
          return ok({ send, done: { session: r.value, leftover: chunk.slice(offset) } });
        }
      }
      return assertNever(p, 'handshake phase');
    }
  }

  /** The stream ended (or timed out) before the handshake finished: the error to report. */
  end(): TransportError {
    const p = this.phase;
    if (p.phase === 'failed') return p.error;
    const act = this.awaitingAct;
    if (act === 0) throw new Error('HandshakeStream.end after the handshake completed');
    const e: TransportError = { kind: 'act-read-failed', act, expected: actSize(act), got: this.have };
    this.phase = { phase: 'failed', error: e };
    return e;
  }

  private fail(e: TransportError): Result<never, TransportError> {
    this.phase = { phase: 'failed', error: e };
    this.buf.fill(0);
    return err(e);
  }
}

function actSize(act: Act): number {
  switch (act) {
    case 1:
      return ACT_ONE_SIZE;
    case 2:
      return ACT_TWO_SIZE;
    case 3:
      return ACT_THREE_SIZE;
  }
  return assertNever(act, 'act');
}
