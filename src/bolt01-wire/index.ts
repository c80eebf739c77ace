// BOLT 1 wire layer: the generated message table, the generic codec engine and peer-message helpers.
export * from './errors.ts';
export * from './messages.ts';
export * from './peer.ts';
export * from './scid.ts';
export { specTable } from './spec-table.ts';
export type * from './types.ts';
