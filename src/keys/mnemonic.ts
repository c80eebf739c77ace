// BIP39 mnemonics through @scure/bip39. Entropy always comes in as an argument: this module never
// draws randomness itself (the shell passes bytes from its EntropySource).
import {
  entropyToMnemonic,
  mnemonicToSeedSync,
  mnemonicToEntropy as scureMnemonicToEntropy,
  validateMnemonic,
} from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { err, ok, type Result } from '../core/result.ts';

/** 16 bytes give 12 words, 32 bytes give 24 words (the default for new nodes). */
export const MNEMONIC_ENTROPY_LENGTHS = [16, 20, 24, 28, 32] as const;

export type MnemonicError =
  | { readonly kind: 'bad-entropy-length'; readonly length: number }
  | { readonly kind: 'invalid-mnemonic'; readonly message: string };

export function mnemonicFromEntropy(entropy: Uint8Array): Result<string, MnemonicError> {
  if (!(MNEMONIC_ENTROPY_LENGTHS as readonly number[]).includes(entropy.length)) {
    return err({ kind: 'bad-entropy-length', length: entropy.length });
  }
  return ok(entropyToMnemonic(entropy, wordlist));
}

/** Collapses whitespace and case so a mnemonic typed by a person is accepted as written. */
export function normalizeMnemonic(mnemonic: string): string {
  return mnemonic.normalize('NFKD').trim().toLowerCase().split(/\s+/).join(' ');
}

/** Checks word list membership, word count and the BIP39 checksum; returns the entropy. */
export function mnemonicToEntropy(mnemonic: string): Result<Uint8Array, MnemonicError> {
  const words = normalizeMnemonic(mnemonic);
  const count = words === '' ? 0 : words.split(' ').length;
  if (![12, 15, 18, 21, 24].includes(count)) {
    return err({
      kind: 'invalid-mnemonic',
      message: `a mnemonic has 12, 15, 18, 21 or 24 words, got ${count}`,
    });
  }
  const unknown = words.split(' ').find((w) => !wordlist.includes(w));
  if (unknown !== undefined) {
    return err({ kind: 'invalid-mnemonic', message: `"${unknown}" is not in the BIP39 English word list` });
  }
  if (!validateMnemonic(words, wordlist)) {
    return err({
      kind: 'invalid-mnemonic',
      message: 'mnemonic checksum does not match (a word is wrong or misplaced)',
    });
  }
  return ok(scureMnemonicToEntropy(words, wordlist));
}

/** BIP39 seed (64 bytes): PBKDF2-HMAC-SHA512, 2048 rounds, salt "mnemonic" + passphrase. */
export function seedFromMnemonic(mnemonic: string, bip39Passphrase = ''): Result<Uint8Array, MnemonicError> {
  const entropy = mnemonicToEntropy(mnemonic);
  if (!entropy.ok) return entropy;
  return ok(mnemonicToSeedSync(normalizeMnemonic(mnemonic), bip39Passphrase));
}
