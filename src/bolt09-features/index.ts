// BOLT 9 feature bits: the table, feature vectors, validation and negotiation.
export * from './features.ts';
export * from './table.ts';
