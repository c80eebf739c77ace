export * from './coin-selection.ts';
export * from './records.ts';
export * from './rpc.ts';
export * from './spend.ts';
export * from './types.ts';
export * from './wallet.ts';
export * from './weights.ts';
