export * from './secp256k1.ts';
export * from './hash.ts';
export * from './chacha.ts';
export * from './random.ts';
