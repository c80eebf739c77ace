// BOLT 11 invoices: public surface.
export * from './errors.ts';
export * from './hrp.ts';
export * from './words.ts';
export * from './features.ts';
export * from './fallback.ts';
export * from './fields.ts';
export * from './invoice.ts';
export * from './json.ts';
