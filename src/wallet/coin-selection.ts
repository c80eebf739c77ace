// Coin selection (pure). Branch-and-bound for a changeless exact match (Bitcoin Core's SelectCoinsBnB
// idea: depth-first search over coins sorted by effective value, minimizing the waste metric), falling
// back to largest-first with change. Fees are by weight at a per-kw feerate, always rounded UP so that
// the transaction never pays less than the asked rate (relay rules count whole vbytes).
import { err, ok, type Result } from '../core/result.ts';
import type { FeeratePerKw, Sat } from '../core/units.ts';

/** Fee in satoshis for `weight` at `rate`, rounded up (never below the requested feerate). */
export function feeCeil(rate: FeeratePerKw, weight: number): Sat {
  return BigInt(Math.ceil((rate * weight) / 1000)) as Sat;
}

export interface Candidate {
  /** Opaque identifier the caller maps back to its coin ("txid:vout"). */
  readonly id: string;
  readonly value: Sat;
  /** Full weight the input adds to the transaction: outpoint, sequence, scriptSig and witness. */
  readonly inputWeight: number;
}

export interface SelectionParams {
  /** Sum of the recipient outputs. */
  readonly target: Sat;
  readonly feerate: FeeratePerKw;
  /** Feerate we expect to pay later; spending now when fees are high is "waste". */
  readonly longTermFeerate: FeeratePerKw;
  /** Weight of everything except the inputs and the change output (header, counts, recipient outputs). */
  readonly baseWeight: number;
  readonly changeOutputWeight: number;
  /** Weight of the input that will later spend the change output. */
  readonly changeSpendWeight: number;
  /** Change at or below this is not created: it goes to the fee. */
  readonly dustLimit: Sat;
}

export type Algorithm = 'bnb' | 'largest-first' | 'single-coin';

export interface Selection {
  readonly inputs: readonly Candidate[];
  /** Fee actually paid (includes any excess dropped instead of making dust change). */
  readonly fee: Sat;
  /** 0n when there is no change output. */
  readonly change: Sat;
  readonly weight: number;
  readonly algorithm: Algorithm;
  readonly waste: number;
}

export interface InsufficientFunds {
  readonly kind: 'insufficient-funds';
  /** Sum of the candidates' values (what the wallet could spend). */
  readonly available: Sat;
  /** Target plus the fee of the smallest transaction that could pay it. */
  readonly needed: Sat;
}

const BNB_MAX_TRIES = 100_000;
/** Beyond this many candidates BnB's recursion is skipped (the fallback still works). */
const BNB_MAX_CANDIDATES = 4_000;

interface Coin {
  readonly c: Candidate;
  readonly fee: number;
  readonly eff: number;
  readonly longTermFee: number;
}

function prepare(candidates: readonly Candidate[], p: SelectionParams): Coin[] {
  return candidates
    .map((c) => {
      const fee = Number(feeCeil(p.feerate, c.inputWeight));
      return {
        c,
        fee,
        eff: Number(c.value) - fee,
        longTermFee: Number(feeCeil(p.longTermFeerate, c.inputWeight)),
      };
    })
    .filter((x) => x.eff > 0)
    .sort((a, b) => b.eff - a.eff || a.fee - b.fee || (a.c.id < b.c.id ? -1 : a.c.id > b.c.id ? 1 : 0));
}

/** Depth-first search for a subset whose effective value lies in [target, target + costOfChange]. */
function branchAndBound(
  coins: Coin[],
  target: number,
  costOfChange: number,
  feerateHigh: boolean,
): { picks: number[]; waste: number } | null {
  const n = coins.length;
  const suffix = new Array<number>(n + 1).fill(0);
  for (let i = n - 1; i >= 0; i--) suffix[i] = suffix[i + 1]! + coins[i]!.eff;
  let tries = 0;
  let best: number[] | null = null;
  let bestWaste = Number.POSITIVE_INFINITY;
  const picks: number[] = [];
  const visit = (i: number, value: number, waste: number): void => {
    if (++tries > BNB_MAX_TRIES) return;
    if (value > target + costOfChange) return;
    // When fees are above the long-term rate every extra input only adds waste: prune.
    if (feerateHigh && waste > bestWaste) return;
    if (value >= target) {
      const total = waste + (value - target);
      if (total <= bestWaste) {
        bestWaste = total;
        best = picks.slice();
      }
      return;
    }
    if (i >= n || value + suffix[i]! < target) return;
    const coin = coins[i]!;
    picks.push(i);
    visit(i + 1, value + coin.eff, waste + coin.fee - coin.longTermFee);
    picks.pop();
    // Excluding coin i then including an identical coin would repeat the branch just explored.
    let j = i + 1;
    while (j < n && coins[j]!.eff === coin.eff && coins[j]!.fee === coin.fee) j++;
    visit(j, value, waste);
  };
  visit(0, 0, 0);
  return best === null ? null : { picks: best, waste: bestWaste };
}

function finish(
  chosen: Coin[],
  p: SelectionParams,
  algorithm: Algorithm,
  allowChange: boolean,
): Selection | null {
  const inWeight = chosen.reduce((a, x) => a + x.c.inputWeight, 0);
  const value = chosen.reduce((a, x) => a + x.c.value, 0n);
  const noChangeWeight = p.baseWeight + inWeight;
  const noChangeFee = feeCeil(p.feerate, noChangeWeight);
  if (value < p.target + noChangeFee) return null;
  const inputWaste = chosen.reduce((a, x) => a + x.fee - x.longTermFee, 0);
  if (allowChange) {
    const withChangeWeight = noChangeWeight + p.changeOutputWeight;
    const withChangeFee = feeCeil(p.feerate, withChangeWeight);
    const change = value - p.target - withChangeFee;
    if (change > p.dustLimit) {
      const costOfChange =
        Number(withChangeFee - noChangeFee) + Number(feeCeil(p.longTermFeerate, p.changeSpendWeight));
      return {
        inputs: chosen.map((x) => x.c),
        fee: withChangeFee,
        change: change as Sat,
        weight: withChangeWeight,
        algorithm,
        waste: inputWaste + costOfChange,
      };
    }
  }
  const fee = (value - p.target) as Sat;
  return {
    inputs: chosen.map((x) => x.c),
    fee,
    change: 0n as Sat,
    weight: noChangeWeight,
    algorithm,
    waste: inputWaste + Number(fee - noChangeFee),
  };
}

/**
 * Picks inputs paying `target` plus fees. Candidates must already be filtered (not reserved, enough
 * confirmations). Inputs whose fee exceeds their value are never selected. Deterministic.
 */
export function selectCoins(
  candidates: readonly Candidate[],
  p: SelectionParams,
): Result<Selection, InsufficientFunds> {
  const coins = prepare(candidates, p);
  const baseFee = Number(feeCeil(p.feerate, p.baseWeight));
  const target = Number(p.target) + baseFee;
  const options: Selection[] = [];

  if (coins.length <= BNB_MAX_CANDIDATES) {
    const changeFee = Number(feeCeil(p.feerate, p.changeOutputWeight));
    const costOfChange = changeFee + Number(feeCeil(p.longTermFeerate, p.changeSpendWeight));
    const found = branchAndBound(coins, target, costOfChange, p.feerate > p.longTermFeerate);
    if (found !== null) {
      const s = finish(
        found.picks.map((i) => coins[i]!),
        p,
        'bnb',
        false,
      );
      if (s !== null) options.push(s);
    }
  }

  // Largest first: fewest inputs, change if worth it.
  const chosen: Coin[] = [];
  let eff = 0;
  for (const coin of coins) {
    chosen.push(coin);
    eff += coin.eff;
    if (eff >= target) break;
  }
  const lf = finish(chosen, p, 'largest-first', true);
  if (lf !== null) options.push(lf);

  // The smallest single coin that pays for everything (often the least waste when BnB finds nothing).
  for (let i = coins.length - 1; i >= 0; i--) {
    const s = finish([coins[i]!], p, 'single-coin', true);
    if (s !== null) {
      options.push(s);
      break;
    }
  }

  if (options.length === 0) {
    const available = candidates.reduce((a, c) => a + c.value, 0n) as Sat;
    const smallest = candidates.length === 0 ? 0 : Math.min(...candidates.map((c) => c.inputWeight));
    return err({
      kind: 'insufficient-funds',
      available,
      needed: (p.target + feeCeil(p.feerate, p.baseWeight + smallest)) as Sat,
    });
  }
  const order: Algorithm[] = ['bnb', 'single-coin', 'largest-first'];
  options.sort((a, b) => a.waste - b.waste || order.indexOf(a.algorithm) - order.indexOf(b.algorithm));
  return ok(options[0]!);
}
