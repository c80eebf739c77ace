// Attribution data (option_attribution_data, BOLT 4 "Returning Errors"): 20 hold times and 210 truncated
// HMACs that each hop adds to `update_fail_htlc` / `update_fulfill_htlc`, so the origin can tell which
// pair of nodes tampered with a failure, and how long each hop held the HTLC.
//
// Layout (N = 20): hold_time[0..N) as u32, then for each node x = 0..N-1 (0 = the node that wrote the
// data) a block of N - x four-byte HMACs; entry j of block x is that node's HMAC assuming it is
// N - 1 - x - j hops away from the erring node.
import { readU32be, u32be } from '../core/bytes.ts';
import { hmacSha256 } from '../crypto/index.ts';
import { generateKey, hmacEqual, xorStream } from './keys.ts';

export const ATTRIBUTION_MAX_HOPS = 20;
const N = ATTRIBUTION_MAX_HOPS;
const HOLD = 4;
const MAC = 4;
const HOLD_TIMES_SIZE = N * HOLD;
/** 20 hold times + 210 truncated HMACs. */
export const ATTRIBUTION_DATA_SIZE = HOLD_TIMES_SIZE + ((N * (N + 1)) / 2) * MAC;

function entryOffset(x: number, j: number): number {
  return HOLD_TIMES_SIZE + (N * x - (x * (x - 1)) / 2 + j) * MAC;
}

function entry(data: Uint8Array, x: number, j: number): Uint8Array {
  const o = entryOffset(x, j);
  return data.subarray(o, o + MAC);
}

// BOLT #4:
// Each HMAC is computed from the combination of the following elements, concatenated in the specified order.
/** This node's HMAC for position `j` (it is N - 1 - j hops from the erring node). */
function positionHmac(um: Uint8Array, returnPacket: Uint8Array, data: Uint8Array, j: number): Uint8Array {
  const y = N - 1 - j;
  const parts: Uint8Array[] = [returnPacket, data.subarray(0, (y + 1) * HOLD)];
  // The y downstream HMACs for the matching positions: node m is y - m hops away, i.e. entry j of block m.
  for (let m = 1; m <= y; m++) parts.push(entry(data, m, j));
  return hmacSha256(um, ...parts).subarray(0, MAC);
}

export interface AddAttributionOptions {
  /** What came from downstream, or null at the erring node / the recipient. */
  readonly previous: Uint8Array | null;
  /** The return packet before this node's `ammag` stream; empty for `update_fulfill_htlc`. */
  readonly returnPacket: Uint8Array;
  /** In units of 100 milliseconds; 0 when the node has no accurate timing. */
  readonly holdTime: number;
  readonly sharedSecret: Uint8Array;
}

/** The attribution_data to send upstream: shift and prune what came from downstream, add ours, obfuscate. */
export function addAttribution(o: AddAttributionOptions): Uint8Array {
  const prev = o.previous ?? new Uint8Array(ATTRIBUTION_DATA_SIZE);
  if (prev.length !== ATTRIBUTION_DATA_SIZE) throw new RangeError('attribution_data must be 920 bytes');
  const out = new Uint8Array(ATTRIBUTION_DATA_SIZE);
  // BOLT #4:
  // * Shift all existing hold times to the right (4 bytes).
  out.set(u32be(o.holdTime), 0);
  out.set(prev.subarray(0, HOLD_TIMES_SIZE - HOLD), HOLD);
  // BOLT #4:
  //   The former `hmac_x'_y` now becomes `hmac_x+1_y`. The left-most HMAC for
  //   each hop is discarded.
  for (let x = 0; x < N - 1; x++) {
    for (let j = 0; j < N - x - 1; j++) out.set(entry(prev, x, j + 1), entryOffset(x + 1, j));
  }
  const um = generateKey('um', o.sharedSecret);
  for (let j = 0; j < N; j++) out.set(positionHmac(um, o.returnPacket, out, j), entryOffset(0, j));
  return xorStream(generateKey('ammagext', o.sharedSecret), out);
}

/**
 * The origin's step for one hop: remove its layer, check its HMACs for every position the erring node can
 * be at (`remainingHops` = this hop and those after it), and give the data as the next hop wrote it.
 * null when an HMAC does not match: this hop or the next one tampered.
 */
export function unwrapAttribution(
  data: Uint8Array,
  returnPacket: Uint8Array,
  sharedSecret: Uint8Array,
  remainingHops: number,
): { holdTime: number; next: Uint8Array } | null {
  if (data.length !== ATTRIBUTION_DATA_SIZE) return null;
  const plain = xorStream(generateKey('ammagext', sharedSecret), data);
  const um = generateKey('um', sharedSecret);
  const remaining = Math.min(Math.max(remainingHops, 1), N);
  let okAll = true;
  for (let j = N - remaining; j < N; j++) {
    if (!hmacEqual(positionHmac(um, returnPacket, plain, j), entry(plain, 0, j))) okAll = false;
  }
  if (!okAll) return null;
  const next = new Uint8Array(ATTRIBUTION_DATA_SIZE);
  next.set(plain.subarray(HOLD, HOLD_TIMES_SIZE), 0);
  // Undo the shift: block x+1 becomes block x again, its pruned first entry left as zeros.
  for (let x = 0; x < N - 1; x++) {
    for (let j = 0; j < N - x - 1; j++) next.set(entry(plain, x + 1, j), entryOffset(x, j + 1));
  }
  return { holdTime: readU32be(plain, 0), next };
}

/** Unwraps every hop of a fulfill's attribution data (no return packet): the hold times it proves. */
export function holdTimesFromAttribution(
  data: Uint8Array,
  hopSharedSecrets: readonly Uint8Array[],
): number[] {
  const out: number[] = [];
  let current = data;
  for (const [i, ss] of hopSharedSecrets.entries()) {
    const r = unwrapAttribution(current, new Uint8Array(0), ss, hopSharedSecrets.length - i);
    if (r === null) break;
    out.push(r.holdTime);
    current = r.next;
  }
  return out;
}
