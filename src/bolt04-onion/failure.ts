// BOLT 4 failure messages. The codec is the shared table-driven one of src/bolt01-wire (every failure_code
// of BOLT 4 with its data and optional TLV stream); this adds unknown codes as values, the code table, and
// the mapping from a peel error to the failure a forwarding node must return.

import {
  decodeFailureMessage as decodeWireFailure,
  encodeFailureMessage as encodeWireFailure,
  FAILURE_FLAGS,
  FAILURE_NAMES,
  type FailureMessage,
  type FailureMessageInput,
  type FailureName,
  failureCodeOf,
  failureFlags,
  type WireError,
} from '../bolt01-wire/index.ts';
import { concat, u16be } from '../core/bytes.ts';
import { assertNever, err, ok, type Result } from '../core/result.ts';
import type { PeelError } from './sphinx.ts';

export { FAILURE_FLAGS, type FailureName, failureFlags };

// BOLT #4:
// The top byte of `failure_code` can be read as a set of flags:
// * 0x8000 (BADONION): unparsable onion encrypted by sending peer
// * 0x4000 (PERM): permanent failure (otherwise transient)
// * 0x2000 (NODE): node failure (otherwise channel)
// * 0x1000 (UPDATE): channel forwarding parameter was violated
export const FAILURE_CODES: Readonly<Record<FailureName, number>> = Object.fromEntries(
  FAILURE_NAMES.map((n) => [n, failureCodeOf(n)]),
) as Record<FailureName, number>;

const NAME_BY_CODE = new Map<number, FailureName>(FAILURE_NAMES.map((n) => [failureCodeOf(n), n]));

export function failureName(code: number): FailureName | null {
  return NAME_BY_CODE.get(code) ?? null;
}

/** A code this node does not know: the origin still acts on its flags. */
export type UnknownFailure = {
  readonly failure: 'unknown';
  readonly code: number;
  readonly data: Uint8Array;
};
export type Failure = FailureMessage | UnknownFailure;
export type FailureInput = FailureMessageInput | UnknownFailure;

export function failureCode(f: FailureInput): number {
  return f.failure === 'unknown' ? f.code : failureCodeOf(f.failure);
}

/** `failuremsg`: a 2-byte failure_code, its data, then the optional TLV stream. */
export function encodeFailure(f: FailureInput): Uint8Array {
  if (f.failure === 'unknown') return concat(u16be(f.code), f.data);
  return encodeWireFailure(f);
}

/** Decodes a `failuremsg`; unknown codes decode to `{failure: 'unknown'}` with their raw data. */
export function decodeFailure(b: Uint8Array): Result<Failure, WireError> {
  const r = decodeWireFailure(b);
  if (r.ok) return r;
  if (r.error.kind === 'unknown_failure')
    return ok({ failure: 'unknown', code: r.error.code, data: b.slice(2) });
  return err(r.error);
}

export type PeelFailure =
  /** Send `update_fail_malformed_htlc` with this code and hash (BADONION is set). */
  | { readonly kind: 'malformed'; readonly failureCode: number; readonly sha256OfOnion: Uint8Array }
  /** Send `update_fail_htlc` with an error packet made from this secret and failure. */
  | { readonly kind: 'fail'; readonly sharedSecret: Uint8Array; readonly failure: FailureMessageInput }
  /** Not an onion at all: the peer broke the protocol (the wire layer should have refused it). */
  | { readonly kind: 'protocol_violation'; readonly message: string };

/** What a forwarding node returns for an onion it could not peel. */
export function failureForPeelError(e: PeelError): PeelFailure {
  switch (e.code) {
    case 'invalid_onion_version':
    case 'invalid_onion_key':
    case 'invalid_onion_hmac':
    case 'invalid_onion_blinding':
      return { kind: 'malformed', failureCode: failureCodeOf(e.code), sha256OfOnion: e.sha256OfOnion };
    case 'invalid_onion_payload':
      // BOLT #4:
      // the erring node may include that `type` and its byte `offset` in
      // the decrypted byte stream.
      return {
        kind: 'fail',
        sharedSecret: e.sharedSecret,
        failure: { failure: 'invalid_onion_payload', type: 0n, offset: 0 },
      };
    case 'bad_packet_size':
      return { kind: 'protocol_violation', message: `onion of ${e.length} bytes` };
  }
  return assertNever(e, 'peel error');
}
