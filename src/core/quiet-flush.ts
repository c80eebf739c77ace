// Coalescing writes that a burst of promise callbacks produces: hold them until the microtask queue
// has gone QUIET_HOPS hops without a new one, then write them together, still before any timer,
// immediate or I/O callback runs. A burst of channel steps or RPC answers is a chain of callbacks a
// few microtasks apart; flushed at the first microtask they went out one write each, and flushed at
// the turn's end (an immediate) they waited behind whatever ran first (signing a commitment, ~30 ms).

/** Microtasks without a new item after which the held items are written. */
export const QUIET_HOPS = 8;

/**
 * Calls `flush` once `count()` stopped growing for QUIET_HOPS microtasks. Nothing happens when
 * `count()` is 0 at a check (the owner flushed meanwhile, or closed). Call it when the first item of a
 * burst is held.
 */
export function flushWhenQuiet(count: () => number, flush: () => void): void {
  const check = (seen: number, hops: number): void => {
    const n = count();
    if (n === 0) return;
    if (n !== seen) queueMicrotask(() => check(n, QUIET_HOPS));
    else if (hops > 0) queueMicrotask(() => check(n, hops - 1));
    else flush();
  };
  queueMicrotask(() => check(0, QUIET_HOPS));
}
