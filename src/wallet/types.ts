// Wallet data types and typed errors (pure).
import type { Transaction } from '../bitcoin/tx.ts';
import type { Sat } from '../core/units.ts';
import type { Chain, KeyPair } from '../keys/derivation.ts';

/** What the wallet needs from the key chain: BIP84 keys (KeyChain satisfies it). */
export interface WalletKeySource {
  /** Key pair for signing. */
  bip84(chain: Chain, index: number): KeyPair;
  /** Public key only (watching addresses); must equal bip84(chain, index).pubkey. */
  bip84Pubkey(chain: Chain, index: number): Uint8Array;
  /** BIP86 key pair; `pubkey` is the internal (untweaked) key. */
  bip86(chain: Chain, index: number): KeyPair;
  /** Internal public key only; must equal bip86(chain, index).pubkey. */
  bip86Pubkey(chain: Chain, index: number): Uint8Array;
}

/** A block as the chain source delivers it; `hash` in display (reversed) hex. */
export interface BlockInput {
  readonly height: number;
  readonly hash: string;
  readonly txs: readonly Transaction[];
}

export type TxOrigin =
  /** Seen on chain or in the mempool, not built by this wallet. */
  | { readonly kind: 'external' }
  /** Built by withdraw (`all`: the recipient absorbs the fee, no change). */
  | { readonly kind: 'withdraw'; readonly all: boolean }
  /** A channel funding transaction: its txid must not change, so it is never fee-bumped. */
  | { readonly kind: 'funding' };

export interface TrackedTx {
  /** Display hex. */
  readonly txid: string;
  readonly tx: Transaction;
  readonly height: number | null;
  readonly blockHash: string | null;
  readonly txIndex: number | null;
  /** Order in which the wallet first learned of it (for listings). */
  readonly seq: number;
  readonly coinbase: boolean;
  readonly origin: TxOrigin;
}

export type ScriptOwner =
  | { readonly kind: 'bip84'; readonly chain: Chain; readonly index: number; readonly pubkey: Uint8Array }
  /** P2TR key path; `pubkey` is the internal key. */
  | { readonly kind: 'bip86'; readonly chain: Chain; readonly index: number; readonly pubkey: Uint8Array }
  | { readonly kind: 'watch'; readonly label: string };

export type OwnKey = Extract<ScriptOwner, { kind: 'bip84' | 'bip86' }>;

/** True for outputs this wallet can sign for (not watch-only). */
export function isOwnKey(owner: ScriptOwner | undefined): owner is OwnKey {
  return owner !== undefined && (owner.kind === 'bip84' || owner.kind === 'bip86');
}

export type CoinStatus = 'unconfirmed' | 'confirmed' | 'spent' | 'immature';

export interface Coin {
  /** "txid:vout", txid in display hex. */
  readonly outpoint: string;
  readonly txid: string;
  readonly vout: number;
  readonly value: Sat;
  readonly script: Uint8Array;
  readonly owner: ScriptOwner;
  readonly status: CoinStatus;
  readonly height: number | null;
  readonly confirmations: number;
  readonly spentBy: string | null;
  /** Reservation expiry height when reserved. */
  readonly reservedUntil: number | null;
}

export interface Balance {
  readonly confirmed: Sat;
  readonly unconfirmed: Sat;
  readonly immature: Sat;
  readonly reserved: Sat;
}

export type WalletError =
  | { readonly kind: 'invalid-address'; readonly message: string }
  | { readonly kind: 'wrong-network'; readonly expected: string; readonly found: string }
  | { readonly kind: 'bad-destination'; readonly message: string }
  | { readonly kind: 'bad-amount'; readonly message: string }
  | { readonly kind: 'dust'; readonly amount: Sat; readonly dustLimit: Sat }
  | { readonly kind: 'insufficient-funds'; readonly available: Sat; readonly needed: Sat }
  | { readonly kind: 'fee-too-high'; readonly fee: Sat; readonly maxFee: Sat }
  | { readonly kind: 'bad-feerate'; readonly feerate: number; readonly min: number; readonly max: number }
  | { readonly kind: 'utxo-unavailable'; readonly outpoint: string; readonly reason: string }
  | { readonly kind: 'unknown-tx'; readonly txid: string }
  | { readonly kind: 'not-replaceable'; readonly txid: string; readonly reason: string }
  | { readonly kind: 'unknown-funding'; readonly id: string }
  | { readonly kind: 'bad-block'; readonly message: string }
  | { readonly kind: 'block-out-of-order'; readonly height: number; readonly tipHeight: number }
  | { readonly kind: 'not-tip'; readonly hash: string; readonly tip: string | null }
  | { readonly kind: 'conflicts-with-confirmed'; readonly txid: string; readonly confirmedTxid: string };

function sats(s: Sat): string {
  return `${s} sat`;
}

/** A message a person can act on. */
export function walletErrorMessage(e: WalletError): string {
  switch (e.kind) {
    case 'invalid-address':
      return `invalid address: ${e.message}`;
    case 'wrong-network':
      return `address is for another network (expected ${e.expected}, got ${e.found})`;
    case 'bad-destination':
      return `cannot pay to this output script: ${e.message}`;
    case 'bad-amount':
      return `bad amount: ${e.message}`;
    case 'dust':
      return `amount ${sats(e.amount)} is below the dust limit of ${sats(e.dustLimit)} for this output`;
    case 'insufficient-funds':
      return `insufficient funds: need ${sats(e.needed)} including fees, ${sats(e.available)} available`;
    case 'fee-too-high':
      return `fee ${sats(e.fee)} exceeds the maximum of ${sats(e.maxFee)}`;
    case 'bad-feerate':
      return `feerate ${e.feerate} sat/kw is outside ${e.min}..${e.max} sat/kw`;
    case 'utxo-unavailable':
      return `output ${e.outpoint} cannot be spent: ${e.reason}`;
    case 'unknown-tx':
      return `no wallet transaction ${e.txid}`;
    case 'not-replaceable':
      return `cannot bump ${e.txid}: ${e.reason}`;
    case 'unknown-funding':
      return `no pending funding transaction ${e.id}`;
    case 'bad-block':
      return `malformed block (${e.message}): expected an integer height and a 64-hex-digit hash`;
    case 'block-out-of-order':
      return `block at height ${e.height} does not extend the wallet tip at ${e.tipHeight}`;
    case 'not-tip':
      return `block ${e.hash} is not the wallet tip (${e.tip ?? 'none'})`;
    case 'conflicts-with-confirmed':
      return `transaction ${e.txid} double-spends confirmed transaction ${e.confirmedTxid}`;
  }
}
