// The BOLT 9 feature table. Hand-kept, and a test compares it row by row with 09-features.md.
// `bits` is the even (compulsory) bit; the odd (optional) bit is `bits + 1`. An empty context means the
// spec marks the feature ASSUMED (or, for gossip_queries, lists no context): every node has it.

/** BOLT 9 "Context" letters: I init, N node_announcement, C channel_announcement (C- always odd, C+ always
 *  even), 9 BOLT 11 invoices, B blinded path allowed_features, T channel_type. */
export type FeatureContext = 'I' | 'N' | 'C' | 'C-' | 'C+' | '9' | 'B' | 'T';

export type FeatureName =
  | 'option_data_loss_protect'
  | 'option_upfront_shutdown_script'
  | 'gossip_queries'
  | 'var_onion_optin'
  | 'gossip_queries_ex'
  | 'option_static_remotekey'
  | 'payment_secret'
  | 'basic_mpp'
  | 'option_support_large_channel'
  | 'option_anchors'
  | 'option_route_blinding'
  | 'option_shutdown_anysegwit'
  | 'option_dual_fund'
  | 'option_quiesce'
  | 'option_attribution_data'
  | 'option_onion_messages'
  | 'option_provide_storage'
  | 'option_channel_type'
  | 'option_scid_alias'
  | 'option_payment_metadata'
  | 'option_zeroconf'
  | 'option_simple_close'
  | 'option_splice';

export type FeatureInfo = {
  readonly name: FeatureName;
  /** The even bit of the pair. */
  readonly bit: number;
  readonly contexts: readonly FeatureContext[];
  readonly dependencies: readonly FeatureName[];
  /** The spec says ASSUMED: present on every node, safe to ignore, dependencies on it always hold. */
  readonly assumed: boolean;
};

const f = (
  name: FeatureName,
  bit: number,
  contexts: readonly FeatureContext[],
  dependencies: readonly FeatureName[] = [],
  assumed = false,
): FeatureInfo => ({ name, bit, contexts, dependencies, assumed });

export const FEATURES: readonly FeatureInfo[] = [
  f('option_data_loss_protect', 0, [], [], true),
  f('option_upfront_shutdown_script', 4, ['I', 'N']),
  f('gossip_queries', 6, []),
  f('var_onion_optin', 8, [], [], true),
  f('gossip_queries_ex', 10, ['I', 'N']),
  f('option_static_remotekey', 12, [], [], true),
  f('payment_secret', 14, [], [], true),
  f('basic_mpp', 16, ['I', 'N', '9'], ['payment_secret']),
  f('option_support_large_channel', 18, ['I', 'N']),
  f('option_anchors', 22, ['I', 'N', 'T']),
  f('option_route_blinding', 24, ['I', 'N', '9']),
  f('option_shutdown_anysegwit', 26, ['I', 'N']),
  f('option_dual_fund', 28, ['I', 'N']),
  f('option_quiesce', 34, ['I', 'N']),
  f('option_attribution_data', 36, ['I', 'N', '9']),
  f('option_onion_messages', 38, ['I', 'N']),
  f('option_provide_storage', 42, ['I', 'N']),
  f('option_channel_type', 44, [], [], true),
  f('option_scid_alias', 46, ['I', 'N', 'T']),
  f('option_payment_metadata', 48, ['9']),
  f('option_zeroconf', 50, ['I', 'N', 'T'], ['option_scid_alias']),
  f('option_simple_close', 60, ['I', 'N'], ['option_shutdown_anysegwit']),
  f('option_splice', 62, ['I', 'N']),
];

export const FEATURE_BY_NAME: ReadonlyMap<FeatureName, FeatureInfo> = new Map(
  FEATURES.map((x) => [x.name, x]),
);
/** Keyed by the even bit of the pair. */
export const FEATURE_BY_BIT: ReadonlyMap<number, FeatureInfo> = new Map(FEATURES.map((x) => [x.bit, x]));

/** The feature a bit belongs to (either bit of the pair), if known. */
export function featureOfBit(bit: number): FeatureInfo | undefined {
  return FEATURE_BY_BIT.get(bit & ~1);
}
