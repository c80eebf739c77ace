// BOLT 4: Sphinx onions, hop payloads, failures and error packets, route blinding, onion messages.

export * from './attribution.ts';
export * from './blinding.ts';
export * from './error-packet.ts';
export * from './failure.ts';
export * from './forward.ts';
export * from './keys.ts';
export * from './onion-message.ts';
export * from './payload.ts';
export * from './relay.ts';
export * from './sphinx.ts';
