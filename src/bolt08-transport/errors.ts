// Typed BOLT 8 failures. Every one of them means: close the connection without sending anything more.

import { assertNever } from '../core/result.ts';

export type Act = 1 | 2 | 3;

export type TransportError =
  /** The act's bytes ended early (the stream closed, or a caller passed the wrong size). */
  | { readonly kind: 'act-read-failed'; readonly act: Act; readonly expected: number; readonly got: number }
  | { readonly kind: 'bad-version'; readonly act: Act; readonly version: number }
  /** The ephemeral key of act 1/2 or the decrypted static key of act 3 is not a valid point. */
  | { readonly kind: 'bad-pubkey'; readonly act: Act }
  /** Act 3's encrypted static key failed its MAC. */
  | { readonly kind: 'bad-ciphertext'; readonly act: 3 }
  /** The final tag of an act failed its MAC. */
  | { readonly kind: 'bad-tag'; readonly act: Act }
  | { readonly kind: 'bad-length-mac' }
  | { readonly kind: 'bad-body-mac'; readonly length: number }
  | { readonly kind: 'message-too-long'; readonly length: number }
  /** A caller-supplied key (ours, or the peer's id we were told to dial) is not valid. */
  | { readonly kind: 'bad-local-key'; readonly which: 'static' | 'ephemeral' }
  | { readonly kind: 'bad-remote-pubkey' }
  /** Bytes pushed after an earlier failure, or a method used in the wrong phase. */
  | { readonly kind: 'poisoned'; readonly cause: TransportError };

/** The names BOLT 8 Appendix A uses (`ACT2_BAD_VERSION 1`), or a kebab name for errors it has none for. */
export function specErrorName(e: TransportError): string {
  switch (e.kind) {
    case 'act-read-failed':
      return `ACT${e.act}_READ_FAILED`;
    case 'bad-version':
      return `ACT${e.act}_BAD_VERSION ${e.version}`;
    case 'bad-pubkey':
      return `ACT${e.act}_BAD_PUBKEY`;
    case 'bad-ciphertext':
      return `ACT${e.act}_BAD_CIPHERTEXT`;
    case 'bad-tag':
      return `ACT${e.act}_BAD_TAG`;
    case 'bad-length-mac':
    case 'bad-body-mac':
    case 'message-too-long':
    case 'bad-local-key':
    case 'bad-remote-pubkey':
      return e.kind;
    case 'poisoned':
      return specErrorName(e.cause);
  }
  return assertNever(e, 'transport error');
}

/** One line for logs. */
export function describeTransportError(e: TransportError): string {
  switch (e.kind) {
    case 'act-read-failed':
      return `handshake act ${e.act}: stream ended after ${e.got} of ${e.expected} bytes`;
    case 'bad-version':
      return `handshake act ${e.act}: unknown handshake version ${e.version}`;
    case 'bad-pubkey':
      return e.act === 3
        ? 'handshake act 3: the peer sent an invalid static public key'
        : `handshake act ${e.act}: invalid ephemeral public key`;
    case 'bad-ciphertext':
      return 'handshake act 3: MAC of the encrypted static key failed';
    case 'bad-tag':
      return e.act === 1
        ? 'handshake act 1: MAC failed (the peer does not know our node id, or is not speaking BOLT 8)'
        : `handshake act ${e.act}: MAC failed`;
    case 'bad-length-mac':
      return 'message length prefix failed its MAC';
    case 'bad-body-mac':
      return `message body (${e.length} bytes) failed its MAC`;
    case 'message-too-long':
      return `message of ${e.length} bytes exceeds the 65535-byte maximum`;
    case 'bad-local-key':
      return `our ${e.which} private key is not a valid secp256k1 scalar`;
    case 'bad-remote-pubkey':
      return 'the remote node id is not a valid compressed public key';
    case 'poisoned':
      return `transport already failed: ${describeTransportError(e.cause)}`;
  }
  return assertNever(e, 'transport error');
}
