// Small synthetic graphs for routing tests.
import { type Msat, msat } from '../../src/core/units.ts';
import { type ChannelPolicy, Graph, type NodeKey } from '../../src/routing/graph.ts';

/** A fake 33-byte node id, distinct per letter, ordered like the letters. */
export function key(name: string): NodeKey {
  const code = name.charCodeAt(0);
  return `02${code.toString(16).padStart(2, '0').repeat(32)}`;
}

export function keyBytes(name: string): Uint8Array {
  return Uint8Array.from(Buffer.from(key(name), 'hex'));
}

export function policy(p: Partial<ChannelPolicy> = {}): ChannelPolicy {
  return {
    feeBaseMsat: msat(1000),
    feeProportionalMillionths: 100,
    cltvExpiryDelta: 40,
    htlcMinimumMsat: msat(1),
    htlcMaximumMsat: undefined,
    enabled: true,
    ...p,
  };
}

/** Adds both directions of a channel with the same policy unless given separately. */
export function channel(
  g: Graph,
  scid: number,
  a: string,
  b: string,
  capacitySat: number,
  pab: Partial<ChannelPolicy> = {},
  pba: Partial<ChannelPolicy> = pab,
): void {
  const capacityMsat: Msat = msat(BigInt(capacitySat) * 1000n);
  g.setEdge({ scid: BigInt(scid), from: key(a), to: key(b), capacityMsat, policy: policy(pab) });
  g.setEdge({ scid: BigInt(scid), from: key(b), to: key(a), capacityMsat, policy: policy(pba) });
}

/**
 *   A --1-- B --2-- D
 *   |               |
 *   3-- C ----4-----+
 * B charges more than C, so the cheap way is A-C-D unless limits forbid it.
 */
export function diamond(): Graph {
  const g = new Graph();
  channel(g, 1, 'A', 'B', 1_000_000);
  channel(g, 2, 'B', 'D', 1_000_000, { feeBaseMsat: msat(5000), feeProportionalMillionths: 1000 });
  channel(g, 3, 'A', 'C', 1_000_000);
  channel(g, 4, 'C', 'D', 1_000_000, { feeBaseMsat: msat(1000), feeProportionalMillionths: 10 });
  return g;
}
