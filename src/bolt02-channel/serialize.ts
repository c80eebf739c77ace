// Persisting a channel: the state is plain data, written in the compact binary plain-data format inside
// a versioned envelope ({version, state}) with room for fields a later version adds. States written by
// an older shandian (JSON, bigints and bytes tagged, the shachain as hex) still decode.

import { decodeShachain } from '../bolt03-tx/index.ts';
import { fromHex } from '../core/bytes.ts';
import { decodePlainBinary, encodePlainBinary } from '../core/plain-binary.ts';
import { err, ok, type Result } from '../core/result.ts';
import { CHANNEL_STATE_VERSION, type Changes, type ChannelState, type UpdateMessage } from './state.ts';

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

/** The first byte of a JSON envelope; a binary one starts with the object tag, never this. */
const JSON_OPEN_BRACE = 0x7b;

export function encodeChannelState(state: ChannelState): Uint8Array {
  return encodePlainBinary({ version: CHANNEL_STATE_VERSION, state });
}

/** Binary (this version) or JSON (older versions, as text or as its UTF-8 bytes). Never throws. */
export function decodeChannelState(stored: Uint8Array | string): Result<ChannelState, string> {
  let parsed: unknown;
  if (typeof stored === 'string' || stored[0] === JSON_OPEN_BRACE) {
    const r = parseLegacyJson(typeof stored === 'string' ? stored : new TextDecoder().decode(stored));
    if (!r.ok) return r;
    parsed = r.value;
  } else {
    const r = decodePlainBinary(stored);
    if (!r.ok) return err(r.error);
    parsed = r.value;
  }
  if (parsed === null || typeof parsed !== 'object') return err('not an object');
  const env = parsed as { version?: unknown; state?: unknown };
  if (env.version !== CHANNEL_STATE_VERSION)
    return err(`unsupported channel state version ${String(env.version)}`);
  const s = env.state as { phase?: unknown } | null;
  if (s === null || typeof s !== 'object' || typeof s.phase !== 'string' || !PHASES.has(s.phase))
    return err('not a channel state');
  return ok(s as ChannelState);
}

/** The JSON format of shandian before the binary one: {$n}, {$b} and {$shachain} tags. */
function parseLegacyJson(text: string): Result<unknown, string> {
  try {
    return ok(
      JSON.parse(text, (_key, value: unknown) => {
        // The state never holds null: JSON turns undefined array slots into it.
        if (value === null) return undefined;
        if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
          const o = value as Record<string, unknown>;
          const keys = Object.keys(o);
          if (keys.length === 1 && typeof o.$n === 'string' && /^-?\d+$/.test(o.$n)) return BigInt(o.$n);
          if (keys.length === 1 && typeof o.$shachain === 'string') {
            const r = decodeShachain(fromHex(o.$shachain));
            if (!r.ok) throw new Error(`bad shachain: ${r.error}`);
            return r.value;
          }
          if (keys.length === 1 && typeof o.$b === 'string' && /^([0-9a-f]{2})*$/.test(o.$b))
            return fromHex(o.$b);
        }
        return value;
      }),
    );
  } catch (e) {
    return err(`not JSON: ${(e as Error).message}`);
  }
}

/**
 * An add's onion while it is kept apart from the state, under `${side}/${id}`: 'l' for our adds
 * (localChanges), 'r' for theirs (remoteChanges). In the detached state the add's onion is empty,
 * which no real add has (the wire format fixes it at 1,366 bytes).
 */
export type DetachedOnions = Map<string, Uint8Array>;

type Add = UpdateMessage & { readonly type: 'update_add_htlc' };

const isAdd = (u: UpdateMessage): u is Add => u.type === 'update_add_htlc';
const NO_ONION = new Uint8Array(0);

/**
 * The state with every pending add's onion taken out, and the onions. The adds stay in the state, so
 * the onions (1,366 bytes each, the bulk of a state with many HTLCs in flight) can be written once
 * each instead of in every state write while they are pending. The state passed in is not changed.
 */
export function detachOnions(state: ChannelState): { state: ChannelState; onions: DetachedOnions } {
  const onions: DetachedOnions = new Map();
  const c = 'commitments' in state ? state.commitments : undefined;
  if (c === undefined) return { state, onions };
  const strip = (side: 'l' | 'r', changes: Changes): Changes => {
    const each = (list: readonly UpdateMessage[]): readonly UpdateMessage[] =>
      list.some(isAdd)
        ? list.map((u) => {
            if (!isAdd(u)) return u;
            onions.set(`${side}/${u.id}`, u.onion_routing_packet);
            return { ...u, onion_routing_packet: NO_ONION };
          })
        : list;
    return { proposed: each(changes.proposed), signed: each(changes.signed), acked: each(changes.acked) };
  };
  const localChanges = strip('l', c.localChanges);
  const remoteChanges = strip('r', c.remoteChanges);
  if (onions.size === 0) return { state, onions };
  return { state: { ...state, commitments: { ...c, localChanges, remoteChanges } } as ChannelState, onions };
}

/** Puts the onions back into a state read from the store; an onion that cannot be found is an error. */
export function attachOnions(
  state: ChannelState,
  onionOf: (key: string) => Uint8Array | undefined,
): Result<ChannelState, string> {
  const c = 'commitments' in state ? state.commitments : undefined;
  if (c === undefined) return ok(state);
  const missing: string[] = [];
  const fill = (side: 'l' | 'r', changes: Changes): Changes => {
    const each = (list: readonly UpdateMessage[]): readonly UpdateMessage[] =>
      list.map((u) => {
        if (!isAdd(u) || u.onion_routing_packet.length > 0) return u;
        const onion = onionOf(`${side}/${u.id}`);
        if (onion === undefined) {
          missing.push(`${side}/${u.id}`);
          return u;
        }
        return { ...u, onion_routing_packet: onion };
      });
    return { proposed: each(changes.proposed), signed: each(changes.signed), acked: each(changes.acked) };
  };
  const localChanges = fill('l', c.localChanges);
  const remoteChanges = fill('r', c.remoteChanges);
  if (missing.length > 0) return err(`onions missing for HTLCs ${missing.join(', ')}`);
  return ok({ ...state, commitments: { ...c, localChanges, remoteChanges } } as ChannelState);
}
