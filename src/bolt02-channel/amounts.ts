// min / max / clamp for bigint amounts (Math.min and Math.max do not take bigints).

export function minOf<T extends bigint>(a: T, b: T): T {
  if (b < a) return b;
  return a;
}

export function maxOf<T extends bigint>(a: T, b: T): T {
  if (b > a) return b;
  return a;
}

export function clamp<T extends bigint>(v: T, lo: T, hi: T): T {
  return minOf(maxOf(v, lo), hi);
}
