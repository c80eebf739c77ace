// Route blinding in the switch (shell): the failure rules for HTLCs inside a blinded path, the blinded
// paths this node hands out for its own invoices (path_id -> payment), and building such a path.
//
// An incoming HTLC inside a blinded path gets a tag (introduction node, or inner node) when it is peeled;
// every resolution of that HTLC then passes through `blindedResolution`, so a local failure, a downstream
// failure, a receiver's refusal and a failure after a restart all leave in the one shape the spec allows.
import { failureCodeOf } from '../bolt01-wire/index.ts';
import {
  aggregateBlindedPayinfo,
  createBlindedPath,
  createErrorPacket,
  type EncryptedData,
  encodeEncryptedData,
  type PaymentRelay,
} from '../bolt04-onion/index.ts';
import { fromHex, hex } from '../core/bytes.ts';
import type { Msat } from '../core/units.ts';
import { decodeRecord, del, encodeRecord, put, type Store, type StoreOp } from '../store/store.ts';
import type { Resolution } from './switch.ts';

const TAGS_NS = 'switch-blind';
const PATHS_NS = 'blinded-paths';

/** Where this node sits in a blinded path for one incoming HTLC. */
export type BlindRole = 'introduction' | 'inner';

interface TagRec {
  readonly role: BlindRole;
  readonly onionHash: string;
  readonly sharedSecret: string;
  readonly expiry: number;
}

/** The blinded-path role of incoming HTLCs that are not resolved yet, persisted by HTLC key. */
export class BlindTags {
  constructor(private readonly store: Store) {}

  /** The op that tags `htlc` (the caller writes it with its other records). */
  tagOp(
    htlc: string,
    role: BlindRole,
    onionHash: Uint8Array,
    sharedSecret: Uint8Array,
    expiry: number,
  ): StoreOp {
    const r: TagRec = { role, onionHash: hex(onionHash), sharedSecret: hex(sharedSecret), expiry };
    return put(TAGS_NS, htlc, encodeRecord(1, r));
  }

  role(htlc: string): BlindRole | null {
    const b = this.store.get(TAGS_NS, htlc);
    return b === undefined ? null : decodeRecord<TagRec>(b).role;
  }

  /** The resolution to persist and run for `htlc`, and the op that forgets its tag (same batch). */
  apply(htlc: string, res: Resolution): { res: Resolution; ops: StoreOp[] } {
    const b = this.store.get(TAGS_NS, htlc);
    if (b === undefined) return { res, ops: [] };
    const t = decodeRecord<TagRec>(b);
    return {
      res: blindedResolution(t.role, fromHex(t.onionHash), fromHex(t.sharedSecret), res),
      ops: [del(TAGS_NS, htlc)],
    };
  }

  /** Tags whose HTLC expired (it left the channel some other way, e.g. on chain). */
  prune(height: number): void {
    const ops = this.store
      .list(TAGS_NS)
      .filter(({ value }) => decodeRecord<TagRec>(value).expiry < height)
      .map(({ key }) => del(TAGS_NS, key));
    if (ops.length > 0) this.store.batch(ops);
  }
}

export const INVALID_ONION_BLINDING = failureCodeOf('invalid_onion_blinding');

/** A fulfill passes; every failure becomes invalid_onion_blinding in the shape `role` requires. */
export function blindedResolution(
  role: BlindRole,
  onionHash: Uint8Array,
  sharedSecret: Uint8Array,
  res: Resolution,
): Resolution {
  if (res.kind === 'fulfill') return res;
  switch (role) {
    case 'introduction':
      // BOLT #2:
      //     - If `current_path_key` is set in the onion payload and it is not the
      //       final node:
      //       - MUST send an `update_fail_htlc` error using the `invalid_onion_blinding`
      //         failure code for any local or downstream errors.
      //       - SHOULD use the `sha256_of_onion` of the onion it received.
      return {
        kind: 'fail',
        reason: createErrorPacket(sharedSecret, {
          failure: 'invalid_onion_blinding',
          sha256_of_onion: onionHash,
        }),
      };
    case 'inner':
      // BOLT #2:
      //     - If `path_key` is set in the incoming `update_add_htlc`:
      //       - MUST send an `update_fail_malformed_htlc` error using the
      //         `invalid_onion_blinding` failure code for any local or downstream errors.
      //       - SHOULD use the `sha256_of_onion` of the onion it received.
      return { kind: 'malformed', code: INVALID_ONION_BLINDING, sha256OfOnion: onionHash };
  }
}

// ---- the paths we hand out ------------------------------------------------------------------------

/** What a final blinded hop's path_id stands for: one of our invoices. */
export interface PathBinding {
  readonly paymentHash: Uint8Array;
  /** The invoice's payment_secret: the receiver checks it as for a plain payment. */
  readonly paymentSecret: Uint8Array;
}

interface BindingRec {
  readonly payment_hash: string;
  readonly payment_secret: string;
  readonly created_at: number;
}

export class BlindedPathBook {
  constructor(private readonly store: Store) {}

  bind(pathId: Uint8Array, b: PathBinding, nowS: number): void {
    const r: BindingRec = {
      payment_hash: hex(b.paymentHash),
      payment_secret: hex(b.paymentSecret),
      created_at: nowS,
    };
    this.store.batch([put(PATHS_NS, hex(pathId), encodeRecord(1, r))]);
  }

  lookup(pathId: Uint8Array): PathBinding | null {
    if (pathId.length === 0 || pathId.length > 64) return null;
    const b = this.store.get(PATHS_NS, hex(pathId));
    if (b === undefined) return null;
    const r = decodeRecord<BindingRec>(b);
    return { paymentHash: fromHex(r.payment_hash), paymentSecret: fromHex(r.payment_secret) };
  }
}

export interface BlindedPathJson {
  introduction_node_id: string;
  first_path_key: string;
  path: { blinded_node_id: string; encrypted_recipient_data: string }[];
  payinfo: {
    fee_base_msat: Msat;
    fee_proportional_millionths: number;
    cltv_expiry_delta: number;
    htlc_minimum_msat: Msat;
  };
}

/**
 * A two-hop blinded payment path introduction -> us over the channel `scid`. `relay` is what the
 * introduction node charges on that channel; `minFinalCltvDelta` is the invoice's. Pure: the session
 * key and path_id come from the caller.
 */
export function buildReceivePath(o: {
  introNodeId: Uint8Array;
  ourNodeId: Uint8Array;
  scid: bigint;
  relay: PaymentRelay;
  htlcMinimumMsat: Msat;
  maxCltvExpiry: number;
  minFinalCltvDelta: number;
  sessionKey: Uint8Array;
  pathId: Uint8Array;
}): BlindedPathJson {
  const intro: EncryptedData = {
    shortChannelId: o.scid,
    paymentRelay: o.relay,
    paymentConstraints: {
      maxCltvExpiry: o.maxCltvExpiry + o.relay.cltvExpiryDelta,
      htlcMinimumMsat: o.htlcMinimumMsat,
    },
  };
  const final: EncryptedData = {
    pathId: o.pathId,
    paymentConstraints: { maxCltvExpiry: o.maxCltvExpiry, htlcMinimumMsat: o.htlcMinimumMsat },
  };
  const { path } = createBlindedPath({
    sessionKey: o.sessionKey,
    hops: padded([intro, final]).map((encryptedData, i) => ({
      nodeId: i === 0 ? o.introNodeId : o.ourNodeId,
      encryptedData,
    })),
  });
  const pay = aggregateBlindedPayinfo([o.relay], o.minFinalCltvDelta);
  return {
    introduction_node_id: hex(path.firstNodeId),
    first_path_key: hex(path.firstPathKey),
    path: path.hops.map((h) => ({
      blinded_node_id: hex(h.blindedNodeId),
      encrypted_recipient_data: hex(h.encryptedRecipientData),
    })),
    payinfo: {
      fee_base_msat: pay.feeBaseMsat,
      fee_proportional_millionths: Number(pay.feeProportionalMillionths),
      cltv_expiry_delta: pay.cltvExpiryDelta,
      htlc_minimum_msat: o.htlcMinimumMsat,
    },
  };
}

// BOLT #4:
// - SHOULD add padding data to ensure all `encrypted_data_tlv[i]` have the same length
/** Each record gets a padding TLV so that every serialization is as long as the longest plus two. */
export function padded(ds: readonly EncryptedData[]): Uint8Array[] {
  const plain = ds.map((d) => encodeEncryptedData(d).length);
  const target = Math.max(...plain) + 2;
  return ds.map((d, i) => encodeEncryptedData({ ...d, padding: new Uint8Array(target - plain[i]! - 2) }));
}
