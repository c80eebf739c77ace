// BOLT 1's fundamental types, in a module with no imports so that tools/extract-wire.ts can read the
// list even while the generated table it writes is missing or stale.

/** The fundamental types of BOLT 1 (plus `u8`), as the engine understands them. */
export const FUNDAMENTAL_TYPES = [
  'byte',
  'u8',
  's8',
  'u16',
  's16',
  'u32',
  's32',
  'u64',
  's64',
  'tu16',
  'tu32',
  'tu64',
  'bigsize',
  'chain_hash',
  'channel_id',
  'sha256',
  'signature',
  'bip340sig',
  'point',
  'short_channel_id',
  'sciddir_or_pubkey',
] as const;
export type FundamentalType = (typeof FUNDAMENTAL_TYPES)[number];
