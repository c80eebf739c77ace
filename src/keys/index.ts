export * from './mnemonic.ts';
export * from './derivation.ts';
export * from './node-signer.ts';
