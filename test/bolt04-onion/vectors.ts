// Loads the BOLT 4 JSON vectors from ../shared unchanged.
import { readFileSync } from 'node:fs';
import type { EncryptedData } from '../../src/bolt04-onion/blinding.ts';
import { decodeBigSize } from '../../src/core/bigsize.ts';
import { fromHex } from '../../src/core/bytes.ts';
import { msat } from '../../src/core/units.ts';
import { specPath } from '../../src/testing/spec.ts';

// biome-ignore lint/suspicious/noExplicitAny: vector files are untyped JSON
export type Json = any;

export function loadVector(name: string): Json {
  return JSON.parse(readFileSync(specPath('bolts', 'bolt04', name), 'utf8'));
}

/** onion-test.json gives payloads with their bigsize length prefix already on. */
export function stripLengthPrefix(framed: Uint8Array): Uint8Array {
  const { value, length } = decodeBigSize(framed, 0);
  if (BigInt(framed.length - length) !== value) throw new Error('vector payload length prefix mismatch');
  return framed.subarray(length);
}

export function scid(text: string): bigint {
  const [b, t, o] = text.split('x').map(BigInt);
  return (b! << 40n) | (t! << 16n) | o!;
}

/** Feature bit numbers to a big-endian bitfield, as BOLT 9 lays them out. */
function featureBits(bits: number[]): Uint8Array {
  if (bits.length === 0) return new Uint8Array(0);
  const len = Math.floor(Math.max(...bits) / 8) + 1;
  const out = new Uint8Array(len);
  for (const b of bits) out[len - 1 - Math.floor(b / 8)]! |= 1 << (b % 8);
  return out;
}

/** The vectors' JSON view of an encrypted_data_tlv, as our struct. */
export function encryptedDataFromJson(t: Json): EncryptedData {
  const extra = Object.keys(t)
    .filter((k) => k.startsWith('unknown_tag_'))
    .map((k) => ({ type: BigInt(k.slice('unknown_tag_'.length)), value: fromHex(t[k]) }));
  return {
    ...(t.padding !== undefined ? { padding: fromHex(t.padding) } : {}),
    ...(t.short_channel_id !== undefined ? { shortChannelId: scid(t.short_channel_id) } : {}),
    ...(t.next_node_id !== undefined ? { nextNodeId: fromHex(t.next_node_id) } : {}),
    ...(t.path_id !== undefined ? { pathId: fromHex(t.path_id) } : {}),
    ...(t.next_path_key_override !== undefined
      ? { nextPathKeyOverride: fromHex(t.next_path_key_override) }
      : {}),
    ...(t.payment_relay !== undefined
      ? {
          paymentRelay: {
            cltvExpiryDelta: t.payment_relay.cltv_expiry_delta,
            feeProportionalMillionths: t.payment_relay.fee_proportional_millionths ?? 0,
            feeBaseMsat: t.payment_relay.fee_base_msat ?? 0,
          },
        }
      : {}),
    ...(t.payment_constraints !== undefined
      ? {
          paymentConstraints: {
            maxCltvExpiry: t.payment_constraints.max_cltv_expiry,
            htlcMinimumMsat: msat(t.payment_constraints.htlc_minimum_msat),
          },
        }
      : {}),
    ...(t.allowed_features !== undefined
      ? { allowedFeatures: featureBits(t.allowed_features.features) }
      : {}),
    ...(extra.length > 0 ? { extra } : {}),
  };
}
