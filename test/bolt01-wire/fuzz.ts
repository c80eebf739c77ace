// Shared fuzz driver: random bytes and mutated valid encodings; the only outcomes a decoder may have are a
// value or a typed WireError. Accepted inputs must also re-encode to the very same bytes (the encoding is
// canonical), which catches decoders that accept something they should not.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { WireError } from '../../src/bolt01-wire/index.ts';
import { concat, hex } from '../../src/core/bytes.ts';
import type { Result } from '../../src/core/result.ts';

export const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 100_000);
export const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);

/** xorshift32: deterministic and fast; tests may use randomness, the core may not. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  int(n: number): number {
    return this.next() % n;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const x = this.next();
      out[i] = x;
      out[i + 1] = x >>> 8;
      out[i + 2] = x >>> 16;
      out[i + 3] = x >>> 24;
    }
    for (; i < n; i++) out[i] = this.next();
    return out;
  }
}

export function mutate(rng: Rng, input: Uint8Array, keepPrefix: number): Uint8Array {
  let b: Uint8Array = Uint8Array.from(input);
  const rounds = 1 + rng.int(3);
  for (let k = 0; k < rounds; k++) {
    const span = Math.max(1, b.length - keepPrefix);
    const at = keepPrefix + rng.int(span);
    switch (rng.int(8)) {
      case 0: // flip a bit
        if (at < b.length) b[at]! ^= 1 << rng.int(8);
        break;
      case 1: // set a byte to an interesting value
        if (at < b.length) b[at] = [0, 1, 0x7f, 0x80, 0xfd, 0xfe, 0xff][rng.int(7)]!;
        break;
      case 2: // truncate
        b = b.slice(0, Math.min(b.length, at));
        break;
      case 3: {
        // insert random bytes
        const ins = rng.bytes(1 + rng.int(4));
        b = concat(b.subarray(0, at), ins, b.subarray(at));
        break;
      }
      case 4: // delete a range
        b = concat(b.subarray(0, at), b.subarray(at + 1 + rng.int(8)));
        break;
      case 5: {
        // duplicate a slice (repeats TLV records)
        const len = 1 + rng.int(12);
        b = concat(b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len));
        break;
      }
      case 6: // append garbage
        b = concat(b, rng.bytes(1 + rng.int(6)));
        break;
      default: // big-endian length fields are often two bytes: smash one
        if (at + 1 < b.length) {
          b[at] = 0xff;
          b[at + 1] = 0xff;
        }
    }
  }
  return b;
}

export type Target = {
  name: string;
  /** Bytes every input starts with (the message type), never mutated. */
  prefix: Uint8Array;
  valid: Uint8Array[];
  decode: (b: Uint8Array) => Result<unknown, WireError>;
  encode: (v: unknown) => Uint8Array;
};

export function samples<T>(arb: fc.Arbitrary<T>, n: number, seed: number): T[] {
  return fc.sample(arb, { numRuns: n, seed });
}

/** Feeds `iterations` inputs round-robin over the targets; returns how many decoded and how many failed. */
export function fuzz(targets: Target[], iterations: number, seed: number): { ok: number; err: number } {
  const rng = new Rng(seed);
  let okCount = 0;
  let errCount = 0;
  for (let i = 0; i < iterations; i++) {
    const t = targets[i % targets.length]!;
    let input: Uint8Array;
    if (rng.int(2) === 0 || t.valid.length === 0) {
      const body = rng.bytes(rng.int(4) === 0 ? rng.int(1500) : rng.int(80));
      input = concat(t.prefix, body);
    } else {
      input = mutate(rng, t.valid[rng.int(t.valid.length)]!, t.prefix.length);
    }
    let r: Result<unknown, WireError>;
    try {
      r = t.decode(input);
    } catch (e) {
      assert.fail(`${t.name} threw on ${hex(input)} (seed ${seed}, iteration ${i}): ${String(e)}`);
    }
    if (r.ok) {
      okCount++;
      assert.equal(hex(t.encode(r.value)), hex(input), `${t.name}: accepted a non-canonical encoding`);
    } else {
      errCount++;
      assert.equal(typeof r.error.kind, 'string');
    }
  }
  return { ok: okCount, err: errCount };
}
