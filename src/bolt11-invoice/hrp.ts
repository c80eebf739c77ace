// The human-readable part: `ln` + currency prefix + optional amount with multiplier.

import { err, ok, type Result } from '../core/result.ts';
import { MAX_MONEY_SAT, type Msat } from '../core/units.ts';
import { type InvoiceError, invoiceError } from './errors.ts';

/** BOLT 11 currency prefixes (BIP 173 names; `tbs` is signet). */
export type Currency = 'bc' | 'tb' | 'tbs' | 'bcrt';
export type BitcoinNetwork = 'mainnet' | 'testnet' | 'signet' | 'regtest';

export const CURRENCIES: readonly Currency[] = ['bc', 'tb', 'tbs', 'bcrt'];

export function networkOfCurrency(c: Currency): BitcoinNetwork {
  switch (c) {
    case 'bc':
      return 'mainnet';
    case 'tb':
      return 'testnet';
    case 'tbs':
      return 'signet';
    case 'bcrt':
      return 'regtest';
  }
}

export function currencyOfNetwork(n: BitcoinNetwork): Currency {
  switch (n) {
    case 'mainnet':
      return 'bc';
    case 'testnet':
      return 'tb';
    case 'signet':
      return 'tbs';
    case 'regtest':
      return 'bcrt';
  }
}

// Longest first, so `bcrt` is not read as `bc` + garbage and `tbs` not as `tb` + garbage.
const BY_LENGTH: readonly Currency[] = ['bcrt', 'tbs', 'bc', 'tb'];

/** Millisatoshi per unit, written as pico-bitcoin per unit divided by 10 (1 msat = 10 pico-BTC). */
const PICO_PER: Readonly<Record<'' | 'm' | 'u' | 'n' | 'p', bigint>> = {
  '': 1_000_000_000_000n,
  m: 1_000_000_000n,
  u: 1_000_000n,
  n: 1_000n,
  p: 1n,
};

export const MAX_INVOICE_MSAT = MAX_MONEY_SAT * 1000n;

export interface ParsedHrp {
  readonly currency: Currency;
  readonly amount: Msat | undefined;
}

/** Parses a lower-cased human-readable part. */
export function parseHrp(hrp: string): Result<ParsedHrp, InvoiceError> {
  if (!hrp.startsWith('ln'))
    return err(invoiceError('unknown_prefix', `prefix "${hrp}" does not start with "ln"`));
  const rest = hrp.slice(2);
  const currency = BY_LENGTH.find((c) => rest.startsWith(c) && !/^[a-z]/.test(rest.slice(c.length)));
  if (currency === undefined)
    return err(invoiceError('unknown_prefix', `unknown currency prefix in "${hrp}"`));
  const amountText = rest.slice(currency.length);
  if (amountText === '') return ok({ currency, amount: undefined });
  const m = /^([0-9]+)([a-z]?)$/.exec(amountText);
  if (m === null)
    return err(
      invoiceError(
        'invalid_amount',
        `amount "${amountText}" is not digits followed by an optional multiplier`,
      ),
    );
  const digits = m[1]!;
  const mult = m[2]!;
  if (mult !== '' && mult !== 'm' && mult !== 'u' && mult !== 'n' && mult !== 'p') {
    return err(invoiceError('invalid_multiplier', `unknown multiplier "${mult}" (expected m, u, n or p)`));
  }
  if (digits.startsWith('0'))
    return err(
      invoiceError('invalid_amount', `amount "${digits}" must be a positive integer without leading zeros`),
    );
  const pico = BigInt(digits) * PICO_PER[mult];
  // BOLT #11:
  // - if multiplier is `p` and the last decimal of `amount` is not 0:
  //   - MUST fail the payment.
  if (pico % 10n !== 0n)
    return err(
      invoiceError('sub_millisatoshi', `amount ${amountText} is not a whole number of millisatoshis`),
    );
  const msat = pico / 10n;
  if (msat > MAX_INVOICE_MSAT)
    return err(invoiceError('amount_too_large', `amount ${amountText} exceeds 21 million bitcoin`));
  return ok({ currency, amount: msat as Msat });
}

/** Shortest amount text: the largest multiplier that keeps the number whole. */
export function formatAmount(amount: Msat): string {
  const pico = amount * 10n;
  for (const unit of ['', 'm', 'u', 'n'] as const) {
    const per = PICO_PER[unit];
    if (pico % per === 0n) return `${pico / per}${unit}`;
  }
  return `${pico}p`;
}

export function formatHrp(currency: Currency, amount: Msat | undefined): string {
  return `ln${currency}${amount === undefined ? '' : formatAmount(amount)}`;
}
