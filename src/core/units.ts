// Branded amounts and heights. Unit conversion happens here and nowhere else (DESIGN.md rule 6).

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

export type Msat = Brand<bigint, 'Msat'>;
export type Sat = Brand<bigint, 'Sat'>;
/** Fee rate in satoshis per 1000 weight units, as BOLT 2 and BOLT 3 express it. */
export type FeeratePerKw = Brand<number, 'FeeratePerKw'>;
export type BlockHeight = Brand<number, 'BlockHeight'>;

export const MAX_MONEY_SAT = 21_000_000n * 100_000_000n;

export function msat(n: bigint | number): Msat {
  const v = BigInt(n);
  if (v < 0n) throw new RangeError(`negative msat amount: ${v}`);
  return v as Msat;
}

export function sat(n: bigint | number): Sat {
  const v = BigInt(n);
  if (v < 0n) throw new RangeError(`negative sat amount: ${v}`);
  return v as Sat;
}

export function feeratePerKw(n: number): FeeratePerKw {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`bad feerate: ${n}`);
  return n as FeeratePerKw;
}

export function blockHeight(n: number): BlockHeight {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`bad block height: ${n}`);
  return n as BlockHeight;
}

export function satToMsat(s: Sat): Msat {
  return (s * 1000n) as Msat;
}

/** Rounds down: the fraction of a satoshi cannot exist on chain. */
export function msatToSatFloor(m: Msat): Sat {
  return (m / 1000n) as Sat;
}

/** Sat per virtual byte to sat per kiloweight (1 vbyte = 4 weight units). */
export function satPerVbyteToPerKw(satPerVbyte: number): FeeratePerKw {
  return feeratePerKw(Math.max(253, Math.floor(satPerVbyte * 250)));
}

/** Fee in satoshis for a given weight at a per-kw rate, rounded down as BOLT 3 does. */
export function feeForWeight(rate: FeeratePerKw, weight: number): Sat {
  return BigInt(Math.floor((rate * weight) / 1000)) as Sat;
}
