// Route blinding (BOLT 4 "Route Blinding"): the recipient's side (create a blinded path: path keys, blinded
// node ids, encrypted_recipient_data) and the hop's side (decrypt its encrypted_data_tlv, derive the next
// path key), a typed view of encrypted_data_tlv over the shared codec, and the payment_relay arithmetic.

import {
  decodeTlvStream,
  describeWireError,
  encodeTlvStream,
  type TlvStreamValue,
} from '../bolt01-wire/index.ts';
import { err, ok, type Result } from '../core/result.ts';
import { type Msat, msat } from '../core/units.ts';
import {
  AeadError,
  aeadDecrypt,
  aeadEncrypt,
  ecdh,
  isPrivateKey,
  isPublicKey,
  privkeyTweakMul,
  pubkeyTweakMul,
  publicKeyOf,
} from '../crypto/index.ts';
import { blindingFactor, type EcdhFn, generateKey } from './keys.ts';
import type { ShortChannelId } from './payload.ts';
import { blindedNodeIdTweak } from './sphinx.ts';

export interface PaymentRelay {
  readonly cltvExpiryDelta: number;
  readonly feeProportionalMillionths: number;
  readonly feeBaseMsat: number;
}

export interface PaymentConstraints {
  readonly maxCltvExpiry: number;
  readonly htlcMinimumMsat: Msat;
}

/** The decrypted `encrypted_data_tlv`. */
export interface EncryptedData {
  readonly padding?: Uint8Array;
  readonly shortChannelId?: ShortChannelId;
  readonly nextNodeId?: Uint8Array;
  readonly pathId?: Uint8Array;
  readonly nextPathKeyOverride?: Uint8Array;
  readonly paymentRelay?: PaymentRelay;
  readonly paymentConstraints?: PaymentConstraints;
  readonly allowedFeatures?: Uint8Array;
  /** Unknown odd records, kept so a round trip is exact. */
  readonly extra?: readonly { readonly type: bigint; readonly value: Uint8Array }[];
}

// BOLT #4:
// 1. `tlv_stream`: `encrypted_data_tlv`
export const ENCRYPTED_DATA_TYPES = {
  padding: 1n,
  short_channel_id: 2n,
  next_node_id: 4n,
  path_id: 6n,
  next_path_key_override: 8n,
  payment_relay: 10n,
  payment_constraints: 12n,
  allowed_features: 14n,
} as const;

type WireEncryptedData = TlvStreamValue<'encrypted_data_tlv'>;

/** Through the shared codec (stream `encrypted_data_tlv`); throws WireEncodeError on a caller bug. */
export function encodeEncryptedData(d: EncryptedData): Uint8Array {
  const w: WireEncryptedData = {};
  if (d.padding !== undefined) w.padding = { padding: d.padding };
  if (d.shortChannelId !== undefined) w.short_channel_id = { short_channel_id: d.shortChannelId };
  if (d.nextNodeId !== undefined) w.next_node_id = { node_id: d.nextNodeId };
  if (d.pathId !== undefined) w.path_id = { data: d.pathId };
  if (d.nextPathKeyOverride !== undefined) w.next_path_key_override = { path_key: d.nextPathKeyOverride };
  if (d.paymentRelay !== undefined) {
    w.payment_relay = {
      cltv_expiry_delta: d.paymentRelay.cltvExpiryDelta,
      fee_proportional_millionths: d.paymentRelay.feeProportionalMillionths,
      fee_base_msat: d.paymentRelay.feeBaseMsat,
    };
  }
  if (d.paymentConstraints !== undefined) {
    w.payment_constraints = {
      max_cltv_expiry: d.paymentConstraints.maxCltvExpiry,
      htlc_minimum_msat: d.paymentConstraints.htlcMinimumMsat,
    };
  }
  if (d.allowedFeatures !== undefined) w.allowed_features = { features: d.allowedFeatures };
  if (d.extra !== undefined && d.extra.length > 0) w.unknown = [...d.extra];
  return encodeTlvStream('encrypted_data_tlv', w);
}

// BOLT #4:
// - If the `encrypted_recipient_data` field is missing, cannot be decrypted into an `encrypted_data_tlv` or contains unknown even fields:
//   - MUST return an error
export function decodeEncryptedData(b: Uint8Array): Result<EncryptedData, string> {
  const d = decodeTlvStream('encrypted_data_tlv', b);
  if (!d.ok) return err(describeWireError(d.error));
  const w = d.value;
  return ok({
    ...(w.padding ? { padding: w.padding.padding } : {}),
    ...(w.short_channel_id ? { shortChannelId: w.short_channel_id.short_channel_id } : {}),
    ...(w.next_node_id ? { nextNodeId: w.next_node_id.node_id } : {}),
    ...(w.path_id ? { pathId: w.path_id.data } : {}),
    ...(w.next_path_key_override ? { nextPathKeyOverride: w.next_path_key_override.path_key } : {}),
    ...(w.payment_relay
      ? {
          paymentRelay: {
            cltvExpiryDelta: w.payment_relay.cltv_expiry_delta,
            feeProportionalMillionths: w.payment_relay.fee_proportional_millionths,
            feeBaseMsat: w.payment_relay.fee_base_msat,
          },
        }
      : {}),
    ...(w.payment_constraints
      ? {
          paymentConstraints: {
            maxCltvExpiry: w.payment_constraints.max_cltv_expiry,
            htlcMinimumMsat: msat(w.payment_constraints.htlc_minimum_msat),
          },
        }
      : {}),
    ...(w.allowed_features ? { allowedFeatures: w.allowed_features.features } : {}),
    ...(w.unknown && w.unknown.length > 0 ? { extra: w.unknown } : {}),
  });
}

const ZERO_NONCE = new Uint8Array(12);
const EMPTY = new Uint8Array(0);

// BOLT #4:
// - MUST encrypt each `encrypted_data_tlv[i]` with ChaCha20-Poly1305 using the corresponding $`rho_i`$ key and an all-zero nonce to produce `encrypted_recipient_data[i]`
export function encryptRecipientData(rho: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return aeadEncrypt(rho, ZERO_NONCE, EMPTY, plaintext);
}

/** null when the tag does not verify. */
export function decryptRecipientDataRaw(rho: Uint8Array, ciphertext: Uint8Array): Uint8Array | null {
  try {
    return aeadDecrypt(rho, ZERO_NONCE, EMPTY, ciphertext);
  } catch (e) {
    if (e instanceof AeadError) return null;
    throw e;
  }
}

// BOLT #4:
//     - $`E_{i+1} = SHA256(E_i || ss_i) * E_i`$ (`path_key`. NB: $`N_i`$ MUST NOT learn $`e_i`$)
export function nextPathKey(pathKey: Uint8Array, sharedSecret: Uint8Array): Uint8Array {
  return pubkeyTweakMul(pathKey, blindingFactor(pathKey, sharedSecret));
}

export interface BlindedHop {
  readonly blindedNodeId: Uint8Array;
  readonly encryptedRecipientData: Uint8Array;
}

/** What the recipient hands out (BOLT 4 `blinded_path`), with an unblinded introduction node id. */
export interface BlindedPath {
  readonly firstNodeId: Uint8Array;
  readonly firstPathKey: Uint8Array;
  readonly hops: readonly BlindedHop[];
}

export interface BlindedPathHopDetail {
  readonly pathPrivkey: Uint8Array;
  readonly pathKey: Uint8Array;
  readonly sharedSecret: Uint8Array;
  readonly rho: Uint8Array;
}

export interface CreateBlindedPathOptions {
  /** e_0: fresh randomness from the caller's EntropySource. */
  readonly sessionKey: Uint8Array;
  /** Node ids N_0..N_r (introduction first, recipient last) and each one's serialized encrypted_data_tlv. */
  readonly hops: readonly { readonly nodeId: Uint8Array; readonly encryptedData: Uint8Array }[];
}

/**
 * Builds one blinded path segment. To join segments (`next_path_key_override`), build each with its own
 * session key and concatenate the hops; the override in the earlier segment's last hop names the
 * later segment's first path key.
 */
export function createBlindedPath(options: CreateBlindedPathOptions): {
  path: BlindedPath;
  details: BlindedPathHopDetail[];
} {
  const { sessionKey, hops } = options;
  if (hops.length === 0) throw new RangeError('a blinded path needs at least one hop');
  if (!isPrivateKey(sessionKey)) throw new RangeError('session key is not a valid secp256k1 secret');
  let e = sessionKey;
  const out: BlindedHop[] = [];
  const details: BlindedPathHopDetail[] = [];
  for (const [i, hop] of hops.entries()) {
    if (hop.nodeId.length !== 33 || !isPublicKey(hop.nodeId)) throw new RangeError(`hop ${i}: bad node id`);
    const E_i = publicKeyOf(e);
    // BOLT #4:
    //     - $`ss_i = SHA256(e_i * N_i) = SHA256(k_i * E_i)`$ (ECDH shared secret known only by $`N_r`$ and $`N_i`$)
    //     - $`rho_i = HMAC256(\text{"rho"}, ss_i)`$ (key used to encrypt `encrypted_recipient_data` for $`N_i`$ by $`N_r`$)
    const ss = ecdh(hop.nodeId, e);
    const rho = generateKey('rho', ss);
    details.push({ pathPrivkey: e, pathKey: E_i, sharedSecret: ss, rho });
    // BOLT #4:
    //   - $`B_i = HMAC256(\text{"blinded\_node\_id"}, ss_i) * N_i`$ (blinded `node_id` for $`N_i`$, private key known only by $`N_i`$)
    out.push({
      blindedNodeId: pubkeyTweakMul(hop.nodeId, blindedNodeIdTweak(ss)),
      encryptedRecipientData: encryptRecipientData(rho, hop.encryptedData),
    });
    // BOLT #4:
    //     - $`e_{i+1} = SHA256(E_i || ss_i) * e_i`$ (ephemeral private path key, only known by $`N_r`$)
    e = privkeyTweakMul(e, blindingFactor(E_i, ss));
  }
  return {
    path: { firstNodeId: hops[0]!.nodeId, firstPathKey: publicKeyOf(sessionKey), hops: out },
    details,
  };
}

/** b_i = HMAC256("blinded_node_id", ss_i) * k_i: the key a hop's blinded node id belongs to. */
export function blindedNodeSecret(nodeSecret: Uint8Array, pathKeySharedSecret: Uint8Array): Uint8Array {
  return privkeyTweakMul(nodeSecret, blindedNodeIdTweak(pathKeySharedSecret));
}

export interface UnblindedHop {
  readonly data: EncryptedData;
  readonly plaintext: Uint8Array;
  readonly sharedSecret: Uint8Array;
  /** The path key to hand to the next node: the override if present, else E_{i+1}. */
  readonly nextPathKey: Uint8Array;
}

export type UnblindError =
  | { readonly code: 'bad_path_key' }
  | { readonly code: 'decrypt_failed' }
  | { readonly code: 'bad_encrypted_data'; readonly message: string };

/**
 * The reader of `encrypted_recipient_data`. Pass the ECDH callback, or the path-key shared secret that
 * peelOnion already computed (saves one ECDH).
 */
export function decryptRecipientData(
  pathKey: Uint8Array,
  encryptedRecipientData: Uint8Array,
  keyAccess: EcdhFn | { readonly pathKeySharedSecret: Uint8Array },
): Result<UnblindedHop, UnblindError> {
  if (pathKey.length !== 33 || !isPublicKey(pathKey)) return err({ code: 'bad_path_key' });
  const ss = typeof keyAccess === 'function' ? keyAccess(pathKey) : keyAccess.pathKeySharedSecret;
  const plaintext = decryptRecipientDataRaw(generateKey('rho', ss), encryptedRecipientData);
  if (plaintext === null) return err({ code: 'decrypt_failed' });
  const data = decodeEncryptedData(plaintext);
  if (!data.ok) return err({ code: 'bad_encrypted_data', message: data.error });
  // BOLT #4:
  // - If the `encrypted_data_tlv` contains a `next_path_key_override`:
  //   - MUST use it as the next `path_key`.
  const next = data.value.nextPathKeyOverride ?? nextPathKey(pathKey, ss);
  return ok({ data: data.value, plaintext, sharedSecret: ss, nextPathKey: next });
}

// BOLT #4:
//         - `amt_to_forward = ((amount_msat - fee_base_msat) * 1000000 + 1000000 + fee_proportional_millionths - 1) / (1000000 + fee_proportional_millionths)`
//         - `outgoing_cltv_value = cltv_expiry - payment_relay.cltv_expiry_delta`
/** null when the incoming HTLC cannot pay the relay's fee or expiry delta. */
export function blindedForward(
  amountMsat: Msat,
  cltvExpiry: number,
  relay: PaymentRelay,
): { amtToForward: Msat; outgoingCltvValue: number } | null {
  const base = BigInt(relay.feeBaseMsat);
  const prop = BigInt(relay.feeProportionalMillionths);
  if (amountMsat < base || cltvExpiry < relay.cltvExpiryDelta) return null;
  const amt = ((amountMsat - base) * 1_000_000n + 1_000_000n + prop - 1n) / (1_000_000n + prop);
  return { amtToForward: msat(amt), outgoingCltvValue: cltvExpiry - relay.cltvExpiryDelta };
}

export interface BlindedPayinfo {
  readonly feeBaseMsat: Msat;
  readonly feeProportionalMillionths: bigint;
  readonly cltvExpiryDelta: number;
}

/**
 * Aggregate fees and CLTV delta of a blinded route for the sender, from each non-final hop's relay (in
 * path order) and the recipient's min_final_cltv_expiry_delta. Rounds up, as the spec requires.
 */
export function aggregateBlindedPayinfo(
  relays: readonly PaymentRelay[],
  minFinalCltvExpiryDelta: number,
): BlindedPayinfo {
  let base = 0n;
  let prop = 0n;
  let cltv = minFinalCltvExpiryDelta;
  // BOLT #4:
  //     - `total_fee_base_msat(n+1) = (fee_base_msat(n+1) * 1000000 + total_fee_base_msat(n) * (1000000 + fee_proportional_millionths(n+1)) + 1000000 - 1) / 1000000`
  //     - `total_fee_proportional_millionths(n+1) = ((total_fee_proportional_millionths(n) + fee_proportional_millionths(n+1)) * 1000000 + total_fee_proportional_millionths(n) * fee_proportional_millionths(n+1) + 1000000 - 1) / 1000000`
  for (let i = relays.length - 1; i >= 0; i--) {
    const r = relays[i]!;
    const fb = BigInt(r.feeBaseMsat);
    const fp = BigInt(r.feeProportionalMillionths);
    base = (fb * 1_000_000n + base * (1_000_000n + fp) + 1_000_000n - 1n) / 1_000_000n;
    prop = ((prop + fp) * 1_000_000n + prop * fp + 1_000_000n - 1n) / 1_000_000n;
    cltv += r.cltvExpiryDelta;
  }
  return { feeBaseMsat: msat(base), feeProportionalMillionths: prop, cltvExpiryDelta: cltv };
}
