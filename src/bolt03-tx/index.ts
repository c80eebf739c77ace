// BOLT 3: keys, per-commitment secrets, commitment / HTLC / closing transactions. Pure: no I/O, no
// clock, no randomness (seeds and keys come in as arguments).

export * from './channel.ts';
export * from './channel-sign.ts';
export * from './closing.ts';
export * from './commitment.ts';
export * from './fees.ts';
export * from './htlc.ts';
export * from './keys.ts';
export * from './scripts.ts';
export * from './shachain.ts';
export * from './sign.ts';
export * from './witness.ts';
