// Persisting a channel: the state is plain data, written as JSON with bigints and bytes tagged, inside
// a versioned envelope with room for fields a later version adds.

import { fromHex, hex } from '../core/bytes.ts';
import { err, ok, type Result } from '../core/result.ts';
import { CHANNEL_STATE_VERSION, type ChannelState } from './state.ts';

const PHASES = new Set([
  'wait_accept',
  'wait_funding_tx',
  'wait_funding_created',
  'wait_funding_signed',
  'wait_channel_ready',
  'normal',
  'negotiating',
  'closing',
  'closed',
]);

export function encodeChannelState(state: ChannelState): string {
  return JSON.stringify({ version: CHANNEL_STATE_VERSION, state }, (_key, value: unknown) => {
    if (typeof value === 'bigint') return { $n: value.toString() };
    if (value instanceof Uint8Array) return { $b: hex(value) };
    return value;
  });
}

export function decodeChannelState(text: string): Result<ChannelState, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, (_key, value: unknown) => {
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        const o = value as Record<string, unknown>;
        const keys = Object.keys(o);
        if (keys.length === 1 && typeof o.$n === 'string' && /^-?\d+$/.test(o.$n)) return BigInt(o.$n);
        if (keys.length === 1 && typeof o.$b === 'string' && /^([0-9a-f]{2})*$/.test(o.$b)) return fromHex(o.$b);
      }
      return value;
    });
  } catch (e) {
    return err(`not JSON: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object') return err('not an object');
  const env = parsed as { version?: unknown; state?: unknown };
  if (env.version !== CHANNEL_STATE_VERSION) return err(`unsupported channel state version ${String(env.version)}`);
  const s = env.state as { phase?: unknown } | null;
  if (s === null || typeof s !== 'object' || typeof s.phase !== 'string' || !PHASES.has(s.phase))
    return err('not a channel state');
  return ok(s as ChannelState);
}
