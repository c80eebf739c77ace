export * from './derivation.ts';
export * from './mnemonic.ts';
export * from './node-signer.ts';
