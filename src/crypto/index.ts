export * from './chacha.ts';
export * from './hash.ts';
export * from './random.ts';
export * from './secp256k1.ts';
