// Building and signing wallet spends (pure): withdraw, channel funding (create now, sign later), and
// RBF fee bumps. All inputs are our P2WPKH coins, signed with BIP143 SIGHASH_ALL and low-S ECDSA.
// Every input signals replaceability (nSequence 0xfffffffd, BIP125) and nLockTime is the tip height
// (anti fee sniping, as Bitcoin Core and Core Lightning do). Inputs and outputs are sorted (BIP69) so
// that no ordering leaks which output is change.

import { createPsbt, type Psbt, updateInput } from '../bitcoin/psbt.ts';
import { classifyOutput, p2wpkhOfKey } from '../bitcoin/script.ts';
import {
  p2wpkhScriptCode,
  SIGHASH_ALL,
  SIGHASH_DEFAULT,
  SighashCache,
  segwitV0Sighash,
  taprootSighash,
} from '../bitcoin/sighash.ts';
import {
  fromReversedHex,
  type Transaction,
  type TxIn,
  type TxOut,
  txidHex,
  weight as txWeight,
} from '../bitcoin/tx.ts';
import { compare, concat, hex } from '../core/bytes.ts';
import { err, ok, type Result } from '../core/result.ts';
import type { FeeratePerKw, Sat } from '../core/units.ts';
import { ecdsaSign, hash160, schnorrSign, signatureToDer } from '../crypto/index.ts';
import { CHANGE, taprootTweakedSecret } from '../keys/derivation.ts';
import { type Candidate, feeCeil, type Selection, selectCoins } from './coin-selection.ts';
import type { PendingFunding } from './records.ts';
import { type Coin, isOwnKey, type WalletError } from './types.ts';
import { outpointKey, scriptOf, type Wallet } from './wallet.ts';
import {
  dustLimit,
  FEERATE_CEILING,
  FEERATE_FLOOR,
  INCREMENTAL_RELAY_FEERATE,
  outputWeight,
  P2TR_KEYPATH_INPUT_WEIGHT,
  P2WPKH_INPUT_WEIGHT,
  P2WPKH_OUTPUT_WEIGHT,
  txOverheadWeight,
} from './weights.ts';

export const RBF_SEQUENCE = 0xfffffffd;

export interface SpendOptions {
  readonly feerate: FeeratePerKw;
  /** Confirmations a coin needs (default 1; 0 also allows our own unconfirmed change). */
  readonly minConf?: number;
  /** Spend exactly these outpoints ("txid:vout") instead of selecting. */
  readonly utxos?: readonly string[];
  /** Feerate expected later, for the waste metric (default: the floor, so spending now costs waste). */
  readonly longTermFeerate?: FeeratePerKw;
  /** Refuse to pay a larger absolute fee (default 0.1 BTC, Bitcoin Core's -maxtxfee). */
  readonly maxFee?: Sat;
}

export interface SignedSpend {
  readonly tx: Transaction;
  readonly txid: string;
  readonly fee: Sat;
  /** Index of the change output, or null. */
  readonly changeVout: number | null;
  readonly reservedUntil: number;
}

export function checkFeerate(feerate: number): Result<FeeratePerKw, WalletError> {
  if (!Number.isInteger(feerate) || feerate < FEERATE_FLOOR || feerate > FEERATE_CEILING) {
    return err({ kind: 'bad-feerate', feerate, min: FEERATE_FLOOR, max: FEERATE_CEILING });
  }
  return ok(feerate as FeeratePerKw);
}

export function checkDestination(script: Uint8Array): Result<Uint8Array, WalletError> {
  const type = classifyOutput(script);
  switch (type) {
    case 'p2pkh':
    case 'p2sh':
    case 'p2wpkh':
    case 'p2wsh':
    case 'p2tr':
    case 'witness_unknown':
      return ok(script);
    case 'nulldata':
      return err({ kind: 'bad-destination', message: 'OP_RETURN outputs cannot receive funds' });
    case 'nonstandard':
      return err({ kind: 'bad-destination', message: 'non-standard output script (it would not relay)' });
  }
}

function inputWeightOf(c: Coin): number {
  return c.owner.kind === 'bip86' ? P2TR_KEYPATH_INPUT_WEIGHT : P2WPKH_INPUT_WEIGHT;
}

function inputsWeight(coins: readonly Coin[]): number {
  return coins.reduce((a, c) => a + inputWeightOf(c), 0);
}

function candidatesOf(coins: readonly Coin[]): Candidate[] {
  return coins.map((c) => ({ id: c.outpoint, value: c.value, inputWeight: inputWeightOf(c) }));
}

/** The coins to choose from: all spendable ones, or exactly the named ones (each must be spendable). */
function pool(w: Wallet, o: SpendOptions): Result<Coin[], WalletError> {
  const spendable = w.spendableCoins(o.minConf ?? 1);
  if (o.utxos === undefined) return ok(spendable);
  const byKey = new Map(spendable.map((c) => [c.outpoint, c]));
  const chosen: Coin[] = [];
  for (const k of o.utxos) {
    const c = byKey.get(k);
    if (c === undefined) {
      const known = w.coins().find((x) => x.outpoint === k);
      const reason =
        known === undefined
          ? 'not a wallet output'
          : known.status === 'spent'
            ? 'already spent'
            : known.reservedUntil !== null
              ? `reserved until block ${known.reservedUntil}`
              : known.owner.kind === 'watch'
                ? 'watch-only'
                : `${known.status} with ${known.confirmations} confirmations`;
      return err({ kind: 'utxo-unavailable', outpoint: k, reason });
    }
    if (!chosen.includes(c)) chosen.push(c);
  }
  return ok(chosen);
}

function sortOutputs(outputs: TxOut[]): TxOut[] {
  return outputs
    .slice()
    .sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : compare(a.script, b.script)));
}

function assemble(w: Wallet, coins: readonly Coin[], outputs: TxOut[]): Transaction {
  const inputs: TxIn[] = coins
    .slice()
    .sort((a, b) => (a.txid < b.txid ? -1 : a.txid > b.txid ? 1 : a.vout - b.vout))
    .map((c) => ({
      prevout: { txid: fromReversedHex(c.txid), vout: c.vout },
      scriptSig: new Uint8Array(),
      sequence: RBF_SEQUENCE,
      witness: [],
    }));
  return { version: 2, inputs, outputs: sortOutputs(outputs), locktime: w.tipHeight ?? 0 };
}

/**
 * Signs every input of `tx`; each must spend one of our coins: P2WPKH (BIP143, SIGHASH_ALL, low-S
 * ECDSA) or P2TR key path (BIP341 SIGHASH_DEFAULT, BIP340 Schnorr with the BIP86 tweak).
 */
export function signInputs(w: Wallet, tx: Transaction): Transaction {
  const all = new Map(w.coins().map((c) => [c.outpoint, c]));
  const coins = tx.inputs.map((input, i) => {
    const key = outpointKey(hex(Uint8Array.from(input.prevout.txid).reverse()), input.prevout.vout);
    const coin = all.get(key);
    if (coin === undefined || !isOwnKey(coin.owner))
      throw new Error(`cannot sign input ${i}: ${key} is not a wallet key output`);
    return { coin, owner: coin.owner };
  });
  // Taproot signatures commit to every spent output, so the cache gets them all.
  const cache = new SighashCache(
    tx,
    coins.map(({ coin }) => ({ value: coin.value, script: coin.script })),
  );
  const inputs = tx.inputs.map((input, i): TxIn => {
    const { coin, owner } = coins[i]!;
    if (owner.kind === 'bip86') {
      const kp = w.keys.bip86(owner.chain, owner.index);
      if (hex(scriptOf(owner)) !== hex(coin.script) || hex(kp.pubkey) !== hex(owner.pubkey))
        throw new Error(`key mismatch for input ${i}`);
      const digest = taprootSighash(cache, i, SIGHASH_DEFAULT);
      if (digest === null) throw new Error('internal: no taproot sighash');
      // Deterministic nonce (BIP340 allows constant aux data): the pure core draws no randomness.
      const sig = schnorrSign(digest, taprootTweakedSecret(kp.secret, kp.pubkey), new Uint8Array(32));
      return { ...input, witness: [sig] };
    }
    const kp = w.keys.bip84(owner.chain, owner.index);
    if (hex(p2wpkhOfKey(kp.pubkey)) !== hex(coin.script)) throw new Error(`key mismatch for input ${i}`);
    const digest = segwitV0Sighash(
      tx,
      i,
      p2wpkhScriptCode(hash160(kp.pubkey)),
      coin.value,
      SIGHASH_ALL,
      cache,
    );
    const sig = ecdsaSign(digest, kp.secret);
    return {
      ...input,
      witness: [concat(signatureToDer(sig.compact), new Uint8Array([SIGHASH_ALL])), kp.pubkey],
    };
  });
  return { ...tx, inputs };
}

/**
 * A BIP174 PSBT of a wallet transaction: every input carries its witness UTXO, and signed inputs
 * their final witness (what CLN returns as `psbt`).
 */
export function toPsbt(w: Wallet, tx: Transaction): Psbt {
  const coins = new Map(w.coins().map((c) => [c.outpoint, c]));
  let psbt = createPsbt(tx);
  tx.inputs.forEach((input, i) => {
    const coin = coins.get(
      outpointKey(hex(Uint8Array.from(input.prevout.txid).reverse()), input.prevout.vout),
    );
    if (coin === undefined) throw new Error(`input ${i} is not a wallet coin`);
    psbt = updateInput(psbt, i, {
      witnessUtxo: { value: coin.value, script: coin.script },
      ...(input.witness.length > 0 ? { finalScriptWitness: input.witness } : {}),
    });
  });
  return psbt;
}

export const DEFAULT_MAX_FEE = 10_000_000n as Sat;

function checkMaxFee(fee: Sat, o: { readonly maxFee?: Sat }): Result<Sat, WalletError> {
  const max = o.maxFee ?? DEFAULT_MAX_FEE;
  return fee > max ? err({ kind: 'fee-too-high', fee, maxFee: max }) : ok(fee);
}

interface Plan {
  readonly coins: Coin[];
  readonly outputs: TxOut[];
  readonly changeIndex: number | null;
  readonly fee: Sat;
}

/** Chooses inputs and outputs paying `amount` (or everything) to `script`. */
function plan(
  w: Wallet,
  script: Uint8Array,
  amount: Sat | 'all',
  o: SpendOptions,
): Result<Plan, WalletError> {
  const rate = checkFeerate(o.feerate);
  if (!rate.ok) return rate;
  const dest = checkDestination(script);
  if (!dest.ok) return dest;
  const coinsR = pool(w, o);
  if (!coinsR.ok) return coinsR;
  const coins = coinsR.value;
  const dust = dustLimit(script);

  if (amount === 'all') {
    // Coins that cost more to spend than they hold are left out (unless named explicitly).
    const use =
      o.utxos !== undefined ? coins : coins.filter((c) => c.value > feeCeil(rate.value, inputWeightOf(c)));
    const total = use.reduce((a, c) => a + c.value, 0n);
    const f = feeCeil(rate.value, txOverheadWeight(use.length, 1) + outputWeight(script) + inputsWeight(use));
    const value = total - f;
    if (use.length === 0 || value <= 0n) {
      return err({
        kind: 'insufficient-funds',
        available: coins.reduce((a, c) => a + c.value, 0n) as Sat,
        needed: (f + dust) as Sat,
      });
    }
    if (value < dust) return err({ kind: 'dust', amount: value as Sat, dustLimit: dust });
    const tooHigh = checkMaxFee(f, o);
    if (!tooHigh.ok) return tooHigh;
    return ok({ coins: use, outputs: [{ value: value as Sat, script }], changeIndex: null, fee: f });
  }

  if (amount < dust) return err({ kind: 'dust', amount, dustLimit: dust });
  const change = w.peekChangeScript();
  const base = txOverheadWeight(Math.max(1, coins.length), 2) + outputWeight(script);
  const params = {
    target: amount,
    feerate: rate.value,
    longTermFeerate: o.longTermFeerate ?? FEERATE_FLOOR,
    baseWeight: base,
    changeOutputWeight: P2WPKH_OUTPUT_WEIGHT,
    changeSpendWeight: P2WPKH_INPUT_WEIGHT,
    dustLimit: dustLimit(change.script),
  };
  let selection: Selection;
  if (o.utxos !== undefined) {
    // Named inputs: all of them, change if worth it.
    const total = coins.reduce((a, c) => a + c.value, 0n);
    const w0 = base + inputsWeight(coins);
    const feeNo = feeCeil(rate.value, w0);
    const feeCh = feeCeil(rate.value, w0 + P2WPKH_OUTPUT_WEIGHT);
    if (total < amount + feeNo)
      return err({ kind: 'insufficient-funds', available: total as Sat, needed: (amount + feeNo) as Sat });
    const ch = total - amount - feeCh;
    selection =
      ch > params.dustLimit
        ? {
            inputs: candidatesOf(coins),
            fee: feeCh,
            change: ch as Sat,
            weight: w0 + P2WPKH_OUTPUT_WEIGHT,
            algorithm: 'largest-first',
            waste: 0,
          }
        : {
            inputs: candidatesOf(coins),
            fee: (total - amount) as Sat,
            change: 0n as Sat,
            weight: w0,
            algorithm: 'largest-first',
            waste: 0,
          };
  } else {
    const s = selectCoins(candidatesOf(coins), params);
    if (!s.ok)
      return err({ kind: 'insufficient-funds', available: s.error.available, needed: s.error.needed });
    selection = s.value;
  }
  const tooHigh = checkMaxFee(selection.fee, o);
  if (!tooHigh.ok) return tooHigh;
  const byKey = new Map(coins.map((c) => [c.outpoint, c]));
  const chosen = selection.inputs.map((c) => byKey.get(c.id)!);
  const outputs: TxOut[] = [{ value: amount, script }];
  if (selection.change > 0n) outputs.push({ value: selection.change, script: change.script });
  return ok({
    coins: chosen,
    outputs,
    changeIndex: selection.change > 0n ? change.index : null,
    fee: selection.fee,
  });
}

function isChangeOutput(w: Wallet, o: TxOut): boolean {
  const owner = w.ownerOf(o.script);
  return isOwnKey(owner) && owner.chain === CHANGE;
}

function feeOf(w: Wallet, tx: Transaction): Sat {
  const coins = new Map(w.coins().map((c) => [c.outpoint, c]));
  let inSum = 0n;
  for (const i of tx.inputs) {
    const c = coins.get(outpointKey(hex(Uint8Array.from(i.prevout.txid).reverse()), i.prevout.vout));
    if (c === undefined) throw new Error('input is not a wallet coin');
    inSum += c.value;
  }
  return (inSum - tx.outputs.reduce((a, o) => a + o.value, 0n)) as Sat;
}

/**
 * withdraw: pays `amount` (or everything spendable, 'all') to `destination`, returns the signed
 * transaction, records it as an unconfirmed wallet transaction and reserves its inputs. The shell
 * broadcasts it; if broadcasting fails it calls `wallet.abandon(txid)` to release the inputs.
 */
export function withdraw(
  w: Wallet,
  destination: Uint8Array,
  amount: Sat | 'all',
  o: SpendOptions,
): Result<SignedSpend, WalletError> {
  const p = plan(w, destination, amount, o);
  if (!p.ok) return p;
  const signed = signInputs(w, assemble(w, p.value.coins, p.value.outputs));
  const txid = txidHex(signed);
  // State changes only after everything above succeeded.
  const added = w.addUnconfirmed(signed, { kind: 'withdraw', all: amount === 'all' });
  if (!added.ok) return added;
  if (p.value.changeIndex !== null) w.issueChange(p.value.changeIndex);
  const reservedUntil = w.reserve(
    p.value.coins.map((c) => c.outpoint),
    txid,
  );
  const changeVout =
    p.value.changeIndex === null ? -1 : signed.outputs.findIndex((out) => isChangeOutput(w, out));
  return ok({
    tx: signed,
    txid,
    fee: feeOf(w, signed),
    changeVout: changeVout === -1 ? null : changeVout,
    reservedUntil,
  });
}

export interface UnsignedFunding {
  /** Funding txid (display hex), also the id to sign or release it. */
  readonly id: string;
  readonly tx: Transaction;
  /** Index of the funding output (BOLT 2's funding_output_index). */
  readonly outputIndex: number;
  readonly amount: Sat;
  readonly fee: Sat;
  readonly reservedUntil: number;
}

/**
 * Funds a channel output: an unsigned transaction whose txid is already final (all inputs segwit), its
 * inputs reserved until `signFunding` or `releaseFunding`.
 */
export function createFunding(
  w: Wallet,
  outputScript: Uint8Array,
  amount: Sat | 'all',
  o: SpendOptions,
): Result<UnsignedFunding, WalletError> {
  const p = plan(w, outputScript, amount, o);
  if (!p.ok) return p;
  const tx = assemble(w, p.value.coins, p.value.outputs);
  const id = txidHex(tx);
  const value = p.value.outputs[0]!.value;
  const outputIndex = tx.outputs.findIndex(
    (out) => out.value === value && hex(out.script) === hex(outputScript),
  );
  if (p.value.changeIndex !== null) w.issueChange(p.value.changeIndex);
  const reservedUntil = w.reserve(
    p.value.coins.map((c) => c.outpoint),
    id,
  );
  const pending: PendingFunding = { id, tx, outputIndex, changeIndex: p.value.changeIndex };
  w.setPending(pending);
  return ok({ id, tx, outputIndex, amount: value, fee: p.value.fee, reservedUntil });
}

/** Signs a pending funding transaction; it becomes an unconfirmed wallet transaction (to broadcast). */
export function signFunding(
  w: Wallet,
  id: string,
): Result<{ readonly tx: Transaction; readonly txid: string }, WalletError> {
  const p = w.getPending(id);
  if (p === undefined) return err({ kind: 'unknown-funding', id });
  for (const i of p.tx.inputs) {
    const k = outpointKey(hex(Uint8Array.from(i.prevout.txid).reverse()), i.prevout.vout);
    const spender = w.spenderOf(k);
    if (spender !== undefined)
      return err({ kind: 'utxo-unavailable', outpoint: k, reason: `spent by ${spender} meanwhile` });
  }
  const signed = signInputs(w, p.tx);
  const added = w.addUnconfirmed(signed, { kind: 'funding' });
  if (!added.ok) return added;
  w.deletePending(id);
  return ok({ tx: signed, txid: id });
}

/** Gives up a pending funding transaction, releasing its inputs. */
export function releaseFunding(w: Wallet, id: string): Result<readonly string[], WalletError> {
  if (w.getPending(id) === undefined) return err({ kind: 'unknown-funding', id });
  w.deletePending(id);
  return ok(w.releaseReservations(id));
}

/**
 * RBF (BIP125): replaces our unconfirmed withdrawal `txid` by one paying `feerate`, spending the same
 * inputs (plus more if needed) to the same recipients. The replacement pays at least the old fee plus
 * the incremental relay fee for its own size, and a higher feerate.
 */
export function bumpFee(
  w: Wallet,
  txid: string,
  feerateIn: number,
  o: { readonly maxFee?: Sat } = {},
): Result<SignedSpend & { readonly replaced: string }, WalletError> {
  const rate = checkFeerate(feerateIn);
  if (!rate.ok) return rate;
  const t = w.getTx(txid);
  if (t === undefined) return err({ kind: 'unknown-tx', txid });
  if (t.height !== null) return err({ kind: 'not-replaceable', txid, reason: 'it is already confirmed' });
  if (t.origin.kind !== 'withdraw') {
    return err({
      kind: 'not-replaceable',
      txid,
      reason:
        t.origin.kind === 'funding' ? 'a funding transaction must keep its txid' : 'not built by this wallet',
    });
  }
  const children = t.tx.outputs
    .map((_, v) => w.spenderOf(outpointKey(txid, v)))
    .filter((x) => x !== undefined);
  if (children.length > 0)
    return err({ kind: 'not-replaceable', txid, reason: `its outputs are spent by ${children.join(', ')}` });
  const coinsByKey = new Map(w.coins().map((c) => [c.outpoint, c]));
  const oldCoins: Coin[] = t.tx.inputs.map(
    (i) => coinsByKey.get(outpointKey(hex(Uint8Array.from(i.prevout.txid).reverse()), i.prevout.vout))!,
  );
  const oldFee = feeOf(w, t.tx);
  const oldWeight = txWeight(t.tx);
  if (rate.value * oldWeight <= Number(oldFee) * 1000) {
    return err({
      kind: 'bad-feerate',
      feerate: rate.value,
      min: Math.floor((Number(oldFee) * 1000) / oldWeight) + 1,
      max: FEERATE_CEILING,
    });
  }
  const isChange = (o: TxOut) => isChangeOutput(w, o);
  const recipients = t.tx.outputs.filter((o) => !isChange(o));
  const required = (weight: number): Sat => {
    // BIP125 rules 3 and 4: at least the asked feerate, and the old fee plus relay of the new size.
    const fees = [feeCeil(rate.value, weight), (oldFee + feeCeil(INCREMENTAL_RELAY_FEERATE, weight)) as Sat];
    return fees.reduce((a, b) => (a > b ? a : b));
  };

  let coins = oldCoins;
  let outputs: TxOut[];
  let changeIndex: number | null = null;
  if (t.origin.all && recipients.length === 1) {
    // Sweep: the recipient pays the extra fee.
    const r = recipients[0]!;
    const weight = txOverheadWeight(coins.length, 1) + outputWeight(r.script) + inputsWeight(coins);
    const total = coins.reduce((a, c) => a + c.value, 0n);
    const value = total - required(weight);
    const dust = dustLimit(r.script);
    if (value < dust) return err({ kind: 'dust', amount: (value < 0n ? 0n : value) as Sat, dustLimit: dust });
    outputs = [{ value: value as Sat, script: r.script }];
  } else {
    const pay = recipients.reduce((a, o) => a + o.value, 0n);
    const recipientWeight = recipients.reduce((a, o) => a + outputWeight(o.script), 0);
    const change = w.peekChangeScript();
    const changeDust = dustLimit(change.script);
    const extra = w.spendableCoins(1).filter((c) => !oldCoins.some((o) => o.outpoint === c.outpoint));
    // Add coins (largest first) until the old inputs plus them pay recipients and the required fee.
    const sorted = extra.slice().sort((a, b) => (a.value > b.value ? -1 : a.value < b.value ? 1 : 0));
    coins = oldCoins.slice();
    for (;;) {
      const total = coins.reduce((a, c) => a + c.value, 0n);
      const wNo =
        txOverheadWeight(coins.length, recipients.length + 1) + recipientWeight + inputsWeight(coins);
      const chValue = total - pay - required(wNo + P2WPKH_OUTPUT_WEIGHT);
      if (chValue > changeDust) {
        outputs = [...recipients, { value: chValue as Sat, script: change.script }];
        changeIndex = change.index;
        break;
      }
      if (total - pay >= required(wNo)) {
        outputs = recipients.slice();
        break;
      }
      const next = sorted.shift();
      if (next === undefined) {
        const available = (coins.reduce((a, c) => a + c.value, 0n) +
          extra.reduce((a, c) => a + c.value, 0n)) as Sat;
        return err({ kind: 'insufficient-funds', available, needed: (pay + required(wNo)) as Sat });
      }
      coins.push(next);
    }
  }
  const fee = (coins.reduce((a, c) => a + c.value, 0n) -
    outputs.reduce((a, out) => a + out.value, 0n)) as Sat;
  const tooHigh = checkMaxFee(fee, o);
  if (!tooHigh.ok) return tooHigh;
  const signed = signInputs(w, assemble(w, coins, outputs));
  const newTxid = txidHex(signed);
  if (changeIndex !== null) w.issueChange(changeIndex);
  w.replaceTx(txid, signed, t.origin);
  const reservedUntil = w.reserve(
    coins.map((c) => c.outpoint),
    newTxid,
  );
  const changeVout = changeIndex === null ? null : signed.outputs.findIndex(isChange);
  return ok({ tx: signed, txid: newTxid, fee, changeVout, reservedUntil, replaced: txid });
}
