// BOLT 11 invoices: public surface.
export * from './errors.ts';
export * from './fallback.ts';
export * from './features.ts';
export * from './fields.ts';
export * from './hrp.ts';
export * from './invoice.ts';
export * from './json.ts';
export * from './words.ts';
