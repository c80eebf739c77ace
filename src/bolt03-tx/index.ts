// BOLT 3: keys, per-commitment secrets, commitment / HTLC / closing transactions. Pure: no I/O, no
// clock, no randomness (seeds and keys come in as arguments).
export * from './shachain.ts';
export * from './keys.ts';
export * from './fees.ts';
export * from './scripts.ts';
export * from './commitment.ts';
export * from './htlc.ts';
export * from './closing.ts';
export * from './sign.ts';
export * from './channel.ts';
export * from './witness.ts';
