// BOLT 8 message framing after the handshake: an Encryptor (message -> frame) and a Decryptor that takes
// TCP chunks of any size and returns whole, authenticated messages. Each owns one CipherState whose key
// rotates every 1000 nonces.
import { err, ok, type Result } from '../core/result.ts';
import { hkdf2, open, sealInto, setNonce, TAG_LENGTH } from './chachapoly.ts';
import type { TransportError } from './errors.ts';

// BOLT #8:
// The *maximum* size of _any_ Lightning message MUST NOT exceed `65535` bytes.
export const MAX_MESSAGE_LENGTH = 65535;
/** Encrypted length prefix: 2 bytes + MAC. */
export const LENGTH_HEADER_SIZE = 2 + TAG_LENGTH;
/** `2 + 16 + 65535 + 16` = `65569` */
export const MAX_FRAME_SIZE = LENGTH_HEADER_SIZE + MAX_MESSAGE_LENGTH + TAG_LENGTH;

const ROTATE_AT = 1000;

/** One direction's key, nonce and chaining key (`sk, sn, sck` or `rk, rn, rck`). */
export class CipherState {
  private key: Uint8Array;
  private ck: Uint8Array;
  private n = 0;
  /** Reused for every operation: createCipheriv copies it. */
  private readonly nonce = new Uint8Array(12);

  constructor(key: Uint8Array, chainingKey: Uint8Array) {
    if (key.length !== 32 || chainingKey.length !== 32) throw new RangeError('BOLT 8 keys are 32 bytes');
    this.key = Uint8Array.from(key);
    this.ck = Uint8Array.from(chainingKey);
  }

  /** The current key and nonce, for tests and diagnostics. */
  get state(): { readonly key: Uint8Array; readonly chainingKey: Uint8Array; readonly nonce: number } {
    return { key: Uint8Array.from(this.key), chainingKey: Uint8Array.from(this.ck), nonce: this.n };
  }

  sealInto(plaintext: Uint8Array, out: Uint8Array, offset: number): void {
    setNonce(this.nonce, this.n);
    sealInto(this.key, this.nonce, null, plaintext, out, offset);
    this.advance();
  }

  /** Returns null on a bad MAC. The nonce advances either way; the caller must stop using this state. */
  open(sealed: Uint8Array): Uint8Array | null {
    setNonce(this.nonce, this.n);
    const plain = open(this.key, this.nonce, null, sealed);
    this.advance();
    return plain;
  }

  private advance(): void {
    this.n += 1;
    // BOLT #8:
    // is to be rotated after a party encrypts or decrypts 1000 times with it (i.e. every 500 messages).
    // This can be properly accounted for by rotating the key once the nonce dedicated
    // to it reaches 1000.
    if (this.n === ROTATE_AT) {
      // BOLT #8:
      // 2. `ck', k' = HKDF(ck, k)`
      const [ck, k] = hkdf2(this.ck, this.key);
      this.ck = ck;
      this.key = k;
      this.n = 0;
    }
  }
}

export class Encryptor {
  private readonly cs: CipherState;
  private readonly lengthBytes = new Uint8Array(2);

  constructor(sendingKey: Uint8Array, chainingKey: Uint8Array) {
    this.cs = new CipherState(sendingKey, chainingKey);
  }

  get cipherState(): CipherState {
    return this.cs;
  }

  /** `lc || c` for one message, in one freshly allocated buffer the caller may hand to a socket. */
  encrypt(message: Uint8Array): Result<Uint8Array, TransportError> {
    const l = message.length;
    if (l > MAX_MESSAGE_LENGTH) return err({ kind: 'message-too-long', length: l });
    // Every byte is overwritten below, so skip zero-filling. Returned as a plain Uint8Array view.
    const buf = Buffer.allocUnsafe(LENGTH_HEADER_SIZE + l + TAG_LENGTH);
    const frame = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    this.lengthBytes[0] = l >>> 8;
    this.lengthBytes[1] = l & 0xff;
    this.cs.sealInto(this.lengthBytes, frame, 0);
    this.cs.sealInto(message, frame, LENGTH_HEADER_SIZE);
    return ok(frame);
  }
}

export interface Decrypted {
  readonly messages: Uint8Array[];
  /** Set when a frame failed: the connection must close after delivering `messages`. */
  readonly error: TransportError | null;
}

/**
 * Reassembles frames from arbitrary chunks. Holds at most one partial frame (< 65569 bytes) between
 * pushes. After any error it is poisoned: the connection must close.
 */
export class Decryptor {
  private readonly cs: CipherState;
  private chunks: Uint8Array[] = [];
  /** Offset into chunks[0] of the first unread byte. */
  private head = 0;
  private buffered = 0;
  /** Body length from an already-authenticated prefix, or -1 while waiting for a prefix. */
  private bodyLength = -1;
  private failure: TransportError | null = null;

  constructor(receivingKey: Uint8Array, chainingKey: Uint8Array) {
    this.cs = new CipherState(receivingKey, chainingKey);
  }

  get cipherState(): CipherState {
    return this.cs;
  }

  /** Bytes received but not yet part of a whole message. */
  get pendingBytes(): number {
    return this.buffered;
  }

  get failed(): TransportError | null {
    return this.failure;
  }

  /**
   * Feeds received bytes; returns every message they complete, in order, and the error that stopped
   * decryption if any (messages before a bad frame are authentic and still returned). The chunk is not copied
   * when a frame lies wholly inside it, so the caller must not reuse its memory afterwards.
   */
  push(chunk: Uint8Array): Decrypted {
    if (this.failure !== null) return { messages: [], error: { kind: 'poisoned', cause: this.failure } };
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const out: Uint8Array[] = [];
    for (;;) {
      if (this.bodyLength < 0) {
        if (this.buffered < LENGTH_HEADER_SIZE) break;
        const lc = this.take(LENGTH_HEADER_SIZE);
        const l = this.cs.open(lc);
        if (l === null) return this.fail(out, { kind: 'bad-length-mac' });
        this.bodyLength = ((l[0] as number) << 8) | (l[1] as number);
      }
      const need = this.bodyLength + TAG_LENGTH;
      if (this.buffered < need) break;
      const c = this.take(need);
      const m = this.cs.open(c);
      if (m === null) return this.fail(out, { kind: 'bad-body-mac', length: this.bodyLength });
      this.bodyLength = -1;
      out.push(m);
    }
    return { messages: out, error: null };
  }

  private fail(messages: Uint8Array[], e: TransportError): Decrypted {
    this.failure = e;
    this.chunks = [];
    this.buffered = 0;
    return { messages, error: e };
  }

  /** Removes exactly n (<= buffered) bytes from the front: a view when they lie in one chunk, else a copy. */
  private take(n: number): Uint8Array {
    const first = this.chunks[0] as Uint8Array;
    const avail = first.length - this.head;
    this.buffered -= n;
    if (avail >= n) {
      const view = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
      return view;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0] as Uint8Array;
      const k = Math.min(c.length - this.head, n - filled);
      out.set(c.subarray(this.head, this.head + k), filled);
      filled += k;
      this.head += k;
      if (this.head === c.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    return out;
  }
}
