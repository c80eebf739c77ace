// BOLT 9: the feature table against 09-features.md, feature vectors, validation and negotiation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  defaultInitFeatures,
  FEATURES,
  type FeatureContext,
  Features,
  negotiate,
  restrictToContext,
  validateFeatures,
} from '../../src/bolt09-features/index.ts';
import { fromHex, hex } from '../../src/core/bytes.ts';
import { readBolt } from '../../src/testing/spec.ts';

type Row = { bits: number; name: string; contexts: FeatureContext[]; deps: string[]; assumed: boolean };

function specRows(): Row[] {
  const md = readBolt('09-features.md');
  const rows: Row[] = [];
  for (const line of md.split('\n')) {
    const m = /^\|\s*(\d+)\/(\d+)\s*\|\s*`([a-z0-9_]+)`\s*\|([^|]*)\|([^|]*)\|([^|]*)\|/.exec(line);
    if (!m) continue;
    assert.equal(Number(m[2]), Number(m[1]) + 1, `${m[3]}: bits are not a pair`);
    const ctx = m[5]!.trim();
    const contexts = [...ctx.matchAll(/C[-+]?|[IN9BT]/g)].map((x) => x[0] as FeatureContext);
    assert.equal(contexts.join(''), ctx, `${m[3]}: unparsed context ${ctx}`);
    const deps = [...m[6]!.matchAll(/`([a-z0-9_]+)`/g)].map((x) => x[1]!);
    rows.push({ bits: Number(m[1]), name: m[3]!, contexts, deps, assumed: m[4]!.trim() === 'ASSUMED' });
  }
  return rows;
}

test('BOLT 9 table: our feature table matches 09-features.md row for row', (t) => {
  const rows = specRows();
  assert.ok(rows.length >= 20, `only ${rows.length} rows parsed`);
  t.diagnostic(`${rows.length} feature rows compared`);
  assert.deepEqual(
    FEATURES.map((f) => ({
      bits: f.bit,
      name: f.name,
      contexts: [...f.contexts],
      deps: [...f.dependencies],
      assumed: f.assumed,
    })),
    rows,
  );
});

test('feature vectors: bit 0 is the low bit of the last byte; minimal encoding', () => {
  assert.deepEqual(Features.fromBytes(fromHex('01')).bits(), [0]);
  assert.deepEqual(Features.fromBytes(fromHex('0100')).bits(), [8]);
  assert.deepEqual(Features.fromBytes(fromHex('000a')).bits(), [1, 3]);
  assert.equal(hex(Features.fromBits([8, 1]).toBytes()), '0102');
  assert.equal(hex(Features.fromBytes(fromHex('0000ff')).toBytes()), 'ff');
  assert.equal(Features.empty().toBytes().length, 0);
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 300 }), { maxLength: 20 }), (bits) => {
      const f = Features.fromBits(bits);
      assert.deepEqual(
        Features.fromBytes(f.toBytes()).bits(),
        [...bits].sort((a, b) => a - b),
      );
      const bytes = f.toBytes();
      assert.ok(bytes.length === 0 || bytes[0] !== 0, 'minimal');
    }),
  );
});

test('validateFeatures: unknown even bit fails, unknown odd bit is ignored', () => {
  const even = validateFeatures(Features.fromBits([100]), 'init');
  assert.deepEqual(even, { ok: false, error: { kind: 'unknown_required', bit: 100 } });
  assert.ok(validateFeatures(Features.fromBits([101]), 'init').ok);
  // Both bits of a known pair set: treated as compulsory, not an error.
  assert.ok(validateFeatures(Features.fromBits([16, 17, 15]), 'init').ok);
});

test('validateFeatures: dependencies (option_zeroconf needs option_scid_alias; simple_close needs anysegwit)', () => {
  const zeroconf = validateFeatures(Features.fromBits([51]), 'init');
  assert.deepEqual(zeroconf, {
    ok: false,
    error: { kind: 'missing_dependency', feature: 'option_zeroconf', dependency: 'option_scid_alias' },
  });
  assert.ok(validateFeatures(Features.fromBits([51, 47]), 'init').ok);
  const close = validateFeatures(Features.fromBits([60]), 'init');
  assert.equal(close.ok ? '' : close.error.kind, 'missing_dependency');
  assert.ok(validateFeatures(Features.fromBits([60, 27]), 'init').ok);
  // basic_mpp depends on payment_secret, which BOLT 9 now marks ASSUMED: satisfied without the bit.
  assert.ok(validateFeatures(Features.fromBits([17]), 'init').ok);
  // Every dependency listed in the table is enforced.
  for (const f of FEATURES) {
    for (const dep of f.dependencies) {
      const d = FEATURES.find((x) => x.name === dep)!;
      const r = validateFeatures(Features.fromBits([f.bit + 1]), 'init');
      assert.equal(r.ok, d.assumed, `${f.name} without ${dep}`);
    }
  }
});

test('validateFeatures strict context: features outside their contexts are refused', () => {
  // option_payment_metadata is only presented in invoices (9).
  assert.ok(validateFeatures(Features.fromBits([49]), 'init').ok);
  const strict = validateFeatures(Features.fromBits([49]), 'init', { strictContext: true });
  assert.equal(strict.ok ? '' : strict.error.kind, 'not_in_context');
  assert.ok(validateFeatures(Features.fromBits([49]), 'invoice', { strictContext: true }).ok);
  // option_anchors is a channel_type (T) feature, basic_mpp is not.
  assert.ok(validateFeatures(Features.fromBits([22]), 'channel_type', { strictContext: true }).ok);
  assert.equal(validateFeatures(Features.fromBits([16]), 'channel_type', { strictContext: true }).ok, false);
  // Accepts raw bytes too.
  assert.ok(validateFeatures(fromHex('02'), 'init').ok);
});

test('negotiate: BOLT 1 offered/negotiated semantics', () => {
  const local = Features.fromBits([17, 23, 46]); // mpp optional, anchors optional, scid_alias compulsory
  const remote = Features.fromBits([16, 27]); // mpp compulsory, anysegwit optional
  const n = negotiate(local, remote);
  assert.equal(n.compatible, true);
  // mpp: both offered, remote requires -> even; scid_alias: we offered it as even -> negotiated.
  assert.deepEqual(n.negotiated.bits(), [16, 46]);
  assert.deepEqual(n.localRequiresMissing, [46]);
  assert.deepEqual(n.remoteRequiresUnsupported, []);

  const needy = negotiate(local, Features.fromBits([62, 101]));
  assert.equal(needy.compatible, false);
  assert.deepEqual(needy.remoteRequiresUnsupported, [62]);
  // An unknown odd bit from the peer is ignored.
  assert.ok(!needy.negotiated.has(101));
});

test('negotiate is symmetric in what both offer (property)', () => {
  const bits = fc.uniqueArray(fc.integer({ min: 0, max: 70 }), { maxLength: 12 });
  fc.assert(
    fc.property(bits, bits, (a, b) => {
      const la = Features.fromBits(a);
      const lb = Features.fromBits(b);
      const ab = negotiate(la, lb);
      const ba = negotiate(lb, la);
      for (let even = 0; even <= 70; even += 2) {
        if (la.offers(even) && lb.offers(even)) {
          assert.ok(ab.negotiated.offers(even) && ba.negotiated.offers(even));
        }
        assert.equal(ab.remoteRequiresUnsupported.includes(even), lb.requiresBit(even) && !la.offers(even));
      }
    }),
  );
});

test('defaultInitFeatures: valid for init, and what we announce is restricted per context', () => {
  const ours = defaultInitFeatures();
  assert.ok(validateFeatures(ours, 'init').ok);
  for (const name of [
    'var_onion_optin',
    'payment_secret',
    'option_static_remotekey',
    'option_data_loss_protect',
  ] as const) {
    assert.ok(ours.requires(name), `${name} compulsory`);
  }
  for (const name of [
    'basic_mpp',
    'option_anchors',
    'option_route_blinding',
    'option_shutdown_anysegwit',
    'option_channel_type',
    'option_scid_alias',
    'gossip_queries',
  ] as const) {
    assert.ok(ours.supports(name) && !ours.requires(name), `${name} optional`);
  }
  const node = restrictToContext(ours, 'node_announcement');
  assert.ok(validateFeatures(node, 'node_announcement', { strictContext: true }).ok);
  assert.ok(!node.supports('var_onion_optin'), 'ASSUMED features are not announced');
  assert.ok(node.supports('option_anchors'));
  const invoice = restrictToContext(ours, 'invoice');
  assert.deepEqual(invoice.names(), ['basic_mpp', 'option_route_blinding']);
  // A peer with the same defaults is compatible with us.
  assert.ok(negotiate(ours, defaultInitFeatures()).compatible);
});
