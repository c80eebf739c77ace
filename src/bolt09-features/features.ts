// BOLT 9 feature vectors: bytes <-> sets of bits, validation (unknown even bits, dependencies, contexts)
// and negotiation between our features and a peer's.
import { err, ok, type Result } from '../core/result.ts';
import {
  FEATURE_BY_NAME,
  FEATURES,
  type FeatureContext,
  type FeatureInfo,
  type FeatureName,
  featureOfBit,
} from './table.ts';

/** Where a feature vector was found. */
export type FeatureVectorKind =
  | 'init'
  | 'node_announcement'
  | 'channel_announcement'
  | 'invoice'
  | 'blinded_path'
  | 'channel_type';

function contextLetters(kind: FeatureVectorKind): readonly FeatureContext[] {
  switch (kind) {
    case 'init':
      return ['I'];
    case 'node_announcement':
      return ['N'];
    case 'channel_announcement':
      return ['C', 'C-', 'C+'];
    case 'invoice':
      return ['9'];
    case 'blinded_path':
      return ['B'];
    case 'channel_type':
      return ['T'];
  }
}

/** An immutable set of feature bits. */
export class Features {
  private constructor(private readonly set: ReadonlySet<number>) {}

  static empty(): Features {
    return new Features(new Set());
  }

  static fromBits(bits: Iterable<number>): Features {
    const set = new Set<number>();
    for (const b of bits) {
      if (!Number.isInteger(b) || b < 0 || b > 0xffff * 8) throw new RangeError(`feature bit ${b}`);
      set.add(b);
    }
    return new Features(set);
  }

  /** Bit 0 is the least significant bit of the LAST byte (big-endian bit field). */
  static fromBytes(bytes: Uint8Array): Features {
    const set = new Set<number>();
    const n = bytes.length;
    for (let i = 0; i < n; i++) {
      const byte = bytes[n - 1 - i]!;
      if (byte === 0) continue;
      for (let j = 0; j < 8; j++) if (byte & (1 << j)) set.add(i * 8 + j);
    }
    return new Features(set);
  }

  /** Minimal encoding: no leading zero bytes (BOLT 1: SHOULD use the minimum length). */
  toBytes(): Uint8Array {
    let max = -1;
    for (const b of this.set) if (b > max) max = b;
    const out = new Uint8Array(max < 0 ? 0 : (max >> 3) + 1);
    for (const b of this.set) out[out.length - 1 - (b >> 3)]! |= 1 << (b & 7);
    return out;
  }

  bits(): number[] {
    return [...this.set].sort((a, b) => a - b);
  }

  get size(): number {
    return this.set.size;
  }

  has(bit: number): boolean {
    return this.set.has(bit);
  }

  /** Either bit of the pair is set ("offered"). */
  offers(bit: number): boolean {
    const even = bit & ~1;
    return this.set.has(even) || this.set.has(even + 1);
  }

  /** The even bit of the pair is set. BOLT 9: both bits set counts as compulsory. */
  requiresBit(bit: number): boolean {
    return this.set.has(bit & ~1);
  }

  supports(name: FeatureName): boolean {
    return this.offers(info(name).bit);
  }

  requires(name: FeatureName): boolean {
    return this.requiresBit(info(name).bit);
  }

  with(...bits: number[]): Features {
    return Features.fromBits([...this.set, ...bits]);
  }

  without(...bits: number[]): Features {
    const drop = new Set(bits);
    return new Features(new Set([...this.set].filter((b) => !drop.has(b))));
  }

  /** Sets a named feature as optional (odd bit) or compulsory (even bit), clearing the other bit. */
  withFeature(name: FeatureName, mode: 'optional' | 'compulsory'): Features {
    const { bit } = info(name);
    return this.without(bit, bit + 1).with(mode === 'compulsory' ? bit : bit + 1);
  }

  union(other: Features): Features {
    return Features.fromBits([...this.set, ...other.set]);
  }

  equals(other: Features): boolean {
    return this.set.size === other.set.size && [...this.set].every((b) => other.set.has(b));
  }

  /** Names of the known features offered (either bit). */
  names(): FeatureName[] {
    return FEATURES.filter((f) => this.offers(f.bit)).map((f) => f.name);
  }
}

function info(name: FeatureName): FeatureInfo {
  return FEATURE_BY_NAME.get(name)!;
}

export type FeatureError =
  /** An even bit we do not know: BOLT 1 requires closing the connection (BOLT 11: not paying). */
  | { readonly kind: 'unknown_required'; readonly bit: number }
  /** A feature is set without a (transitive) dependency. */
  | { readonly kind: 'missing_dependency'; readonly feature: FeatureName; readonly dependency: FeatureName }
  /** Strict mode only: a known feature in a vector where BOLT 9 does not present it, or C-/C+ violated. */
  | { readonly kind: 'not_in_context'; readonly feature: FeatureName; readonly bit: number };

export type ValidateOptions = {
  /** Also reject known features outside their BOLT 9 contexts (and C-/C+ parity). Default false: a
   *  sender's extra bits are its own mistake and harmless to us. */
  readonly strictContext?: boolean;
};

// BOLT #1:
//   - upon receiving unknown _odd_ feature bits that are non-zero:
//     - MUST ignore the bit.
//   - upon receiving unknown _even_ feature bits that are non-zero:
//     - MUST close the connection.
//   - if the feature vector does not set all known, transitive dependencies:
//     - MUST close the connection.
export function validateFeatures(
  input: Uint8Array | Features,
  kind: FeatureVectorKind,
  opts: ValidateOptions = {},
): Result<Features, FeatureError> {
  const features = input instanceof Features ? input : Features.fromBytes(input);
  for (const bit of features.bits()) {
    const known = featureOfBit(bit);
    if (!known) {
      if (bit % 2 === 0) return err({ kind: 'unknown_required', bit });
      continue;
    }
    if (opts.strictContext && !known.assumed) {
      const letters = contextLetters(kind);
      const allowed = known.contexts.filter((c) => letters.includes(c));
      if (allowed.length === 0) return err({ kind: 'not_in_context', feature: known.name, bit });
      const odd = bit % 2 === 1;
      if (kind === 'channel_announcement' && allowed.every((c) => c === 'C-') && !odd)
        return err({ kind: 'not_in_context', feature: known.name, bit });
      if (kind === 'channel_announcement' && allowed.every((c) => c === 'C+') && odd)
        return err({ kind: 'not_in_context', feature: known.name, bit });
    }
  }
  // Direct dependencies of every set feature are checked, so the transitive closure is covered too.
  for (const f of FEATURES) {
    if (!features.offers(f.bit)) continue;
    for (const dep of f.dependencies) {
      const d = info(dep);
      if (!d.assumed && !features.offers(d.bit))
        return err({ kind: 'missing_dependency', feature: f.name, dependency: dep });
    }
  }
  return ok(features);
}

export type Negotiation = {
  /** True when the peer requires nothing we lack: the connection may proceed. */
  readonly compatible: boolean;
  /** Pairs negotiated per BOLT 1 (both offered, or we offered it as even); even bit when either requires. */
  readonly negotiated: Features;
  /** Even bits the peer sets for pairs we do not offer at all: BOLT 1 says close the connection. */
  readonly remoteRequiresUnsupported: readonly number[];
  /** Even bits we set for pairs the peer does not offer (the peer should disconnect us; informational). */
  readonly localRequiresMissing: readonly number[];
};

// BOLT #1:
// A feature is *offered* if a peer set it in the `init` message for the current connection (as either even or odd).  A feature is *negotiated* if either both peers offered it, or the local node offered it as even: it can assume the peer supports it, as it did not disconnect as it would be required to do.
export function negotiate(local: Features, remote: Features): Negotiation {
  const pairs = new Set<number>();
  for (const b of local.bits()) pairs.add(b & ~1);
  for (const b of remote.bits()) pairs.add(b & ~1);
  const negotiated: number[] = [];
  const remoteRequiresUnsupported: number[] = [];
  const localRequiresMissing: number[] = [];
  for (const even of [...pairs].sort((a, b) => a - b)) {
    const lo = local.offers(even);
    const ro = remote.offers(even);
    const lr = local.requiresBit(even);
    const rr = remote.requiresBit(even);
    if (rr && !lo) remoteRequiresUnsupported.push(even);
    if (lr && !ro) localRequiresMissing.push(even);
    if ((lo && ro) || lr) negotiated.push(lr || rr ? even : even + 1);
  }
  return {
    compatible: remoteRequiresUnsupported.length === 0,
    negotiated: Features.fromBits(negotiated),
    remoteRequiresUnsupported,
    localRequiresMissing,
  };
}

/**
 * The features shandian puts in `init`. The ASSUMED ones (data_loss_protect, var_onion_optin,
 * static_remotekey, payment_secret, channel_type) are still set, compulsory where older peers expect it,
 * because peers predating the ASSUMED change look for them.
 */
export function defaultInitFeatures(): Features {
  return Features.empty()
    .withFeature('option_data_loss_protect', 'compulsory')
    .withFeature('gossip_queries', 'optional')
    .withFeature('var_onion_optin', 'compulsory')
    .withFeature('option_static_remotekey', 'compulsory')
    .withFeature('payment_secret', 'compulsory')
    .withFeature('basic_mpp', 'optional')
    .withFeature('option_anchors', 'optional')
    .withFeature('option_route_blinding', 'optional')
    .withFeature('option_shutdown_anysegwit', 'optional')
    .withFeature('option_channel_type', 'optional')
    .withFeature('option_scid_alias', 'optional');
}

/**
 * Keeps only the known features BOLT 9 presents in `kind` (e.g. our init features -> node_announcement),
 * honouring C-/C+ parity. ASSUMED features are dropped unless `keepAssumed`.
 */
export function restrictToContext(
  features: Features,
  kind: FeatureVectorKind,
  keepAssumed = false,
): Features {
  const letters = contextLetters(kind);
  const bits: number[] = [];
  for (const bit of features.bits()) {
    const known = featureOfBit(bit);
    if (!known) continue;
    if (known.assumed) {
      if (keepAssumed) bits.push(bit);
      continue;
    }
    const allowed = known.contexts.filter((c) => letters.includes(c));
    if (allowed.length === 0) continue;
    if (allowed.every((c) => c === 'C-')) bits.push(known.bit + 1);
    else if (allowed.every((c) => c === 'C+')) bits.push(known.bit);
    else bits.push(bit);
  }
  return Features.fromBits(bits);
}
