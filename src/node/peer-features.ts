// Which BOLT 9 features this node offers in init, and whether a peer's init lets the connection go on.
import { type FeatureError, Features, negotiate, validateFeatures } from '../bolt09-features/features.ts';
import { assertNever } from '../core/result.ts';

/**
 * What we put in init today: only what this node really does. Channel and gossip features join as the
 * code behind them lands (they are negotiated per connection, so adding them later is safe).
 */
export function ourInitFeatures(): Uint8Array {
  // Route blinding: the switch forwards and receives blinded payments; onion-messages.ts relays messages.
  return Features.empty()
    .withFeature('option_data_loss_protect', 'compulsory')
    .withFeature('var_onion_optin', 'compulsory')
    .withFeature('option_static_remotekey', 'compulsory')
    .withFeature('payment_secret', 'compulsory')
    .withFeature('option_anchors', 'optional')
    .withFeature('option_shutdown_anysegwit', 'optional')
    .withFeature('option_channel_type', 'optional')
    .withFeature('option_provide_storage', 'optional')
    .withFeature('option_route_blinding', 'optional')
    .withFeature('option_onion_messages', 'optional')
    .toBytes();
}

function describe(e: FeatureError): string {
  switch (e.kind) {
    case 'unknown_required':
      return `unknown even feature bit ${e.bit}`;
    case 'missing_dependency':
      return `feature ${e.feature} set without its dependency ${e.dependency}`;
    case 'not_in_context':
      return `feature ${e.feature} (bit ${e.bit}) is not allowed in init`;
  }
  return assertNever(e, 'feature error');
}

/** null when the peer's init features are acceptable; otherwise why BOLT 1 says to close the connection. */
export function checkRemoteInitFeatures(remote: Uint8Array): string | null {
  const v = validateFeatures(remote, 'init');
  if (!v.ok) return describe(v.error);
  const n = negotiate(Features.fromBytes(ourInitFeatures()), v.value);
  if (!n.compatible)
    return `peer requires features we do not support: bits ${n.remoteRequiresUnsupported.join(', ')}`;
  return null;
}

// BOLT #1: - SHOULD NOT set private addresses as `remote_addr`.
function isPrivateV4([a, b]: number[]): boolean {
  return (
    a === 10 ||
    a === 127 ||
    a === 0 ||
    (a === 172 && b! >= 16 && b! <= 31) ||
    (a === 192 && b === 168) ||
    (a === 169 && b === 254)
  );
}

/** BOLT 7 address descriptor for init's remote_addr (IPv4 type 1, IPv6 type 2); null for anything else. */
export function encodeAddressDescriptor(host: string, port: number): Uint8Array | null {
  const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host);
  if (v4) {
    const octets = v4.slice(1, 5).map(Number);
    if (octets.some((o) => o > 255) || isPrivateV4(octets)) return null;
    return new Uint8Array([1, ...octets, port >> 8, port & 0xff]);
  }
  return null;
}
