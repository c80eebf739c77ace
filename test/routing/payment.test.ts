import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeHopPayload } from '../../src/bolt04-onion/payload.ts';
import { createInvoice, privateKeySigner } from '../../src/bolt11-invoice/index.ts';
import { hex } from '../../src/core/bytes.ts';
import { type Msat, msat } from '../../src/core/units.ts';
import { publicKeyOf, sha256 } from '../../src/crypto/index.ts';
import { finalHopPayloadOf, readPayloadWithKeysend } from '../../src/node/switch-keysend.ts';
import { Graph, type LocalChannel } from '../../src/routing/graph.ts';
import { KEYSEND_PREIMAGE_TLV, makeKeysend } from '../../src/routing/keysend.ts';
import {
  PAY_DESTINATION_PERM_FAIL,
  PAY_INVALID_PARAMS,
  PAY_INVOICE_EXPIRED,
  PAY_ROUTE_NOT_FOUND,
  PAY_ROUTE_TOO_EXPENSIVE,
  PAY_STOPPED_RETRYING,
  type PartFailure,
  type PaymentAction,
  type PaymentState,
  type PaymentStep,
  preparePayment,
  type RouteFinder,
  stepPayment,
} from '../../src/routing/payment.ts';
import {
  decodePayment,
  encodePayment,
  paymentKey,
  payOf,
  payResultOf,
  sendpaysOf,
} from '../../src/routing/payment-records.ts';
import { routePayloadBytes } from '../../src/routing/route.ts';
import { makeRouteFinder } from '../../src/routing/route-finder.ts';
import { key, policy } from './helpers.ts';

const PAYEE_SECRET = new Uint8Array(32).fill(0x22);
const PAYEE = hex(publicKeyOf(PAYEE_SECRET));
const NOW = 1_700_000_000_000;
const preimage = new Uint8Array(32).fill(0x33);

function invoice(
  over: { amount?: Msat | undefined; currency?: 'bc' | 'bcrt'; timestamp?: number; expiry?: number } = {},
): string {
  const r = createInvoice(
    {
      currency: over.currency ?? 'bcrt',
      amount: 'amount' in over ? over.amount : msat(50_000_000),
      timestamp: over.timestamp ?? NOW / 1000,
      paymentHash: sha256(preimage),
      paymentSecret: new Uint8Array(32).fill(0x44),
      description: 'test',
      expiry: over.expiry ?? 3600,
    },
    privateKeySigner(PAYEE_SECRET),
  );
  assert.ok(r.ok);
  return r.value;
}

/** Us (A) with channels to B and C; both reach the payee. C is cheaper. */
function graph(): { g: Graph; locals: LocalChannel[] } {
  const g = new Graph();
  const both = (scid: number, a: string, b: string, p = policy()) => {
    const capacityMsat = msat(1_000_000_000);
    g.setEdge({ scid: BigInt(scid), from: a, to: b, capacityMsat, policy: p });
    g.setEdge({ scid: BigInt(scid), from: b, to: a, capacityMsat, policy: p });
  };
  both(1, key('A'), key('B'));
  both(2, key('B'), PAYEE, policy({ feeBaseMsat: msat(3000) }));
  both(3, key('A'), key('C'));
  both(4, key('C'), PAYEE, policy({ feeBaseMsat: msat(1000) }));
  const local = (scid: bigint, peer: string): LocalChannel => ({
    scid,
    peer,
    spendableMsat: msat(600_000_000),
    htlcMinimumMsat: msat(1),
    capacityMsat: msat(1_000_000_000),
    usable: true,
  });
  return { g, locals: [local(1n, key('B')), local(3n, key('C'))] };
}

function finder(): RouteFinder {
  const { g, locals } = graph();
  return makeRouteFinder({ graph: g, source: key('A'), localChannels: locals, now: NOW });
}

const ctx = { network: 'regtest' as const, ourNodeId: key('A'), now: NOW };

function prepared(bolt11 = invoice(), extra = {}): PaymentState {
  const r = preparePayment({ bolt11, ...extra }, ctx);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.value;
}

const sends = (a: readonly PaymentAction[]) => a.filter((x) => x.type === 'send_part');
const firstChannels = (a: readonly PaymentAction[]) =>
  sends(a).map((x) => (x.type === 'send_part' ? x.route.hops.map((h) => Number(h.scid)) : []));

test('pay parameters: network, expiry, amounts, own invoice, exclusions, fee limit', () => {
  const e = (bolt11: string, extra = {}, c = ctx) => {
    const r = preparePayment({ bolt11, ...extra }, c);
    assert.equal(r.ok, false);
    return r.ok ? undefined : r.error;
  };
  const other = e(invoice({ currency: 'bc' }));
  assert.equal(other?.code, PAY_INVALID_PARAMS);
  assert.match(other!.message, /another network: mainnet/);
  assert.equal(e(invoice({ timestamp: NOW / 1000 - 7200 }))?.code, PAY_INVOICE_EXPIRED);
  assert.match(e(invoice({ amount: undefined }))!.message, /amount_msat parameter required/);
  assert.match(e(invoice(), { amountMsat: msat(1) })!.message, /unnecessary/);
  assert.match(e(invoice(), {}, { ...ctx, ourNodeId: PAYEE })!.message, /our own/);
  assert.match(e(invoice(), { exclude: ['nonsense'] })!.message, /exclude/);
  assert.match(e('lnbcrt1garbage')!.message, /Invalid bolt11/);
  const any = prepared(invoice({ amount: undefined }), { amountMsat: msat(7000) });
  assert.equal(any.amountMsat, 7000n);
  // 0.5% of 50_000_000 = 250_000 msat; exempt 5000 applies to small payments.
  assert.equal(prepared().maxFeeMsat, 250_000n);
  assert.equal(any.maxFeeMsat, 5000n);
  assert.equal(prepared(invoice(), { maxFeePercent: 1 }).maxFeeMsat, 500_000n);
  const ex = prepared(invoice(), { exclude: ['0x0x4/0', `${key('B')}`, '3/1'] });
  assert.deepEqual([...ex.excludeChannels].sort(), ['3/1', '4/0']);
  assert.deepEqual([...ex.excludeNodes], [key('B')]);
  assert.equal(prepared().deadline, NOW + 60_000);
  assert.equal(prepared(invoice(), { maxFeeMsat: msat(1234) }).maxFeeMsat, 1234n);
  assert.match(e(invoice(), { maxFeeMsat: msat(1), maxFeePercent: 1 })!.message, /maxfee cannot be combined/);
});

test('happy path: one part, then complete with the preimage; records in CLN shapes', () => {
  const find = finder();
  let s: PaymentStep = stepPayment(prepared(), { type: 'start', now: NOW }, find);
  assert.deepEqual(firstChannels(s.actions), [[3, 4]]);
  assert.equal(s.state.status, 'pending');
  assert.equal(payOf(s.state).status, 'pending');
  s = stepPayment(s.state, { type: 'part_succeeded', partId: 1, preimage, now: NOW + 500 }, find);
  assert.equal(s.state.status, 'complete');
  assert.deepEqual(s.actions.at(-1), { type: 'completed', preimage });
  const pay = payOf(s.state);
  assert.equal(pay.status, 'complete');
  assert.equal(pay.amount_msat, 50_000_000n);
  assert.equal(pay.amount_sent_msat, 50_000_000n + 1000n + 5000n); // C's fee: 1000 + 100 ppm
  assert.equal(pay.preimage, hex(preimage));
  const sp = sendpaysOf(s.state, 10);
  assert.equal(sp.length, 1);
  assert.equal(sp[0]!.status, 'complete');
  assert.equal(sp[0]!.first_hop, '0x0x3');
  assert.equal(sp[0]!.payment_preimage, hex(preimage));
  assert.equal(payResultOf(s.state).parts, 1);
  // Nothing happens after the end.
  assert.deepEqual(stepPayment(s.state, { type: 'tick', now: NOW + 1e9 }, find).actions, []);
});

test('retries around a temporary_channel_failure: that channel direction is kept below the failed amount', () => {
  const find = finder();
  let s = stepPayment(prepared(), { type: 'start', now: NOW }, find);
  const failure: PartFailure = {
    kind: 'remote',
    hopIndex: 0,
    failure: { failure: 'temporary_channel_failure', channel_update: new Uint8Array(), tlvs: {} },
  };
  s = stepPayment(s.state, { type: 'part_failed', partId: 1, failure, now: NOW + 100 }, find);
  assert.deepEqual(firstChannels(s.actions), [[1, 2]]);
  const c4 = `4/${key('C') < PAYEE ? 0 : 1}`;
  assert.equal(s.state.excludeChannels.has(c4), false);
  assert.equal(s.state.liquidityBounds?.get(c4), 50_000_000n);
  const observed = s.actions.find((a) => a.type === 'observe' && a.observation.kind === 'channel_failed');
  assert.ok(observed?.type === 'observe' && observed.observation.kind === 'channel_failed');
  assert.equal(observed.observation.amountMsat, 50_000_000n);
  // A smaller amount may still go over C (the cheaper route): the bound is on the amount, not the channel.
  const small = find({
    destination: PAYEE,
    amountMsat: msat(20_000_000),
    finalCltvDelta: 18,
    maxFeeMsat: msat(1_000_000),
    maxCltv: undefined,
    excludeChannels: new Set(),
    excludeNodes: new Set(),
    routeHints: [],
    usage: new Map(),
    liquidityBounds: s.state.liquidityBounds!,
  });
  assert.ok(small.ok);
  assert.deepEqual(
    small.value.map((r) => r.hops.map((h) => Number(h.scid))),
    [[3, 4]],
  );
  assert.match(s.state.lastFailure!, /temporary_channel_failure from .* on channel 0x0x4/);
  s = stepPayment(s.state, { type: 'part_succeeded', partId: 2, preimage, now: NOW + 200 }, find);
  assert.equal(s.state.status, 'complete');
  assert.deepEqual(
    sendpaysOf(s.state, 1).map((p) => p.status),
    ['failed', 'complete'],
  );
});

test('a policy failure is retried once with the channel_update, then the channel is excluded', () => {
  const find = finder();
  const upd = new Uint8Array([1, 2, 3]);
  const fee: PartFailure = {
    kind: 'remote',
    hopIndex: 0,
    failure: { failure: 'fee_insufficient', htlc_msat: msat(1), channel_update: upd, tlvs: {} },
  };
  let s = stepPayment(prepared(), { type: 'start', now: NOW }, find);
  s = stepPayment(s.state, { type: 'part_failed', partId: 1, failure: fee, now: NOW }, find);
  assert.ok(s.actions.some((a) => a.type === 'observe' && a.observation.kind === 'channel_update'));
  assert.deepEqual(firstChannels(s.actions), [[3, 4]]);
  s = stepPayment(s.state, { type: 'part_failed', partId: 2, failure: fee, now: NOW }, find);
  assert.deepEqual(firstChannels(s.actions), [[1, 2]]);
});

test('the payee refusing ends the payment at once with 203 and a readable reason', () => {
  const find = finder();
  let s = stepPayment(prepared(), { type: 'start', now: NOW }, find);
  s = stepPayment(
    s.state,
    {
      type: 'part_failed',
      partId: 1,
      failure: {
        kind: 'remote',
        hopIndex: 1,
        failure: {
          failure: 'incorrect_or_unknown_payment_details',
          htlc_msat: msat(1),
          height: 100,
          tlvs: {},
        },
      },
      now: NOW,
    },
    find,
  );
  assert.equal(s.state.status, 'failed');
  assert.equal(s.state.error?.code, PAY_DESTINATION_PERM_FAIL);
  assert.match(s.state.error!.message, /payee rejected/);
  assert.equal(payOf(s.state).failure?.code, PAY_DESTINATION_PERM_FAIL);
});

test('a route that costs more than maxfeepercent allows fails with 206, not 205', () => {
  const s = stepPayment(
    prepared(invoice(), { maxFeePercent: 0, exemptFeeMsat: msat(0) }),
    { type: 'start', now: NOW },
    finder(),
  );
  assert.equal(s.state.status, 'failed');
  assert.equal(s.state.error?.code, PAY_ROUTE_TOO_EXPENSIVE);
  assert.match(s.state.error!.message, /within the fee limit/);
  assert.equal(sends(s.actions).length, 0);
});

test('no route at all fails with 205; running out of routes after attempts fails with 210', () => {
  const find = finder();
  const none = stepPayment(
    prepared(invoice(), { exclude: [key('B'), key('C')] }),
    { type: 'start', now: NOW },
    find,
  );
  assert.equal(none.state.status, 'failed');
  assert.equal(none.state.error?.code, PAY_ROUTE_NOT_FOUND);
  let s = stepPayment(prepared(), { type: 'start', now: NOW }, find);
  const local: PartFailure = { kind: 'local', message: 'peer disconnected' };
  s = stepPayment(s.state, { type: 'part_failed', partId: 1, failure: local, now: NOW }, find);
  s = stepPayment(s.state, { type: 'part_failed', partId: 2, failure: local, now: NOW }, find);
  assert.equal(s.state.status, 'failed');
  assert.equal(s.state.error?.code, PAY_STOPPED_RETRYING);
  assert.match(s.state.error!.message, /refused the HTLC: peer disconnected/);
});

test('after retry_for no new part starts; the payment fails once the last part fails', () => {
  const find = finder();
  let s = stepPayment(prepared(invoice(), { retryForSeconds: 10 }), { type: 'start', now: NOW }, find);
  s = stepPayment(
    s.state,
    {
      type: 'part_failed',
      partId: 1,
      failure: { kind: 'remote', hopIndex: 1, failure: { failure: 'mpp_timeout', tlvs: {} } },
      now: NOW + 10_000,
    },
    find,
  );
  assert.equal(s.state.status, 'failed');
  assert.equal(s.state.error?.code, PAY_STOPPED_RETRYING);
  assert.match(s.state.error!.message, /Ran out of time.*mpp_timeout/);
});

test('multi-part: splits when no single channel can carry it, completes on the preimage', () => {
  const find = finder();
  const bolt11 = invoice({ amount: msat(900_000_000) });
  let s = stepPayment(prepared(bolt11), { type: 'start', now: NOW }, find);
  const parts = sends(s.actions);
  assert.ok(parts.length >= 2);
  const total = parts.reduce((a, p) => a + (p.type === 'send_part' ? p.route.amountMsat : 0n), 0n);
  assert.equal(total, 900_000_000n);
  for (const p of parts) assert.ok(p.type === 'send_part' && p.final.totalMsat === 900_000_000n);
  s = stepPayment(s.state, { type: 'part_succeeded', partId: 1, preimage, now: NOW }, find);
  assert.equal(s.state.status, 'complete');
  assert.equal(payOf(s.state).number_of_parts, parts.length);
});

test('property: whatever the results, a payment always ends, and never overspends its fee limit', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          ok: fc.boolean(),
          hop: fc.integer({ min: -1, max: 2 }),
          code: fc.constantFrom(
            'temporary_channel_failure',
            'unknown_next_peer',
            'temporary_node_failure',
            'mpp_timeout',
            'fee_insufficient',
            'unreadable',
            'local',
          ),
          dt: fc.integer({ min: 0, max: 20_000 }),
        }),
        { maxLength: 60 },
      ),
      (script) => {
        const find = finder();
        let s = stepPayment(
          prepared(invoice({ amount: msat(900_000_000) })),
          { type: 'start', now: NOW },
          find,
        );
        let now = NOW;
        let i = 0;
        for (let guard = 0; guard < 1000 && s.state.status === 'pending'; guard++) {
          const pending = s.state.parts.filter((p) => p.status === 'pending');
          if (pending.length === 0) {
            now += 1000;
            s = stepPayment(s.state, { type: 'tick', now }, find);
            continue;
          }
          const step = script[i++ % Math.max(1, script.length)] ?? {
            ok: false,
            hop: 0,
            code: 'local',
            dt: 5000,
          };
          now += step.dt + 1;
          const part = pending[0]!;
          if (step.ok && script.length > 0 && i > script.length) {
            s = stepPayment(s.state, { type: 'part_succeeded', partId: part.partId, preimage, now }, find);
            continue;
          }
          const hop = Math.min(step.hop, part.route.hops.length - 1);
          const failure: PartFailure =
            step.code === 'local' || hop < 0
              ? { kind: 'local', message: 'x' }
              : step.code === 'unreadable'
                ? { kind: 'unattributable' }
                : {
                    kind: 'remote',
                    hopIndex: hop,
                    failure:
                      step.code === 'fee_insufficient'
                        ? {
                            failure: 'fee_insufficient',
                            htlc_msat: msat(1),
                            channel_update: new Uint8Array([1]),
                            tlvs: {},
                          }
                        : step.code === 'temporary_channel_failure'
                          ? {
                              failure: 'temporary_channel_failure',
                              channel_update: new Uint8Array(),
                              tlvs: {},
                            }
                          : { failure: step.code, tlvs: {} },
                  };
          s = stepPayment(s.state, { type: 'part_failed', partId: part.partId, failure, now }, find);
          const fees = s.state.parts
            .filter((p) => p.status !== 'failed')
            .reduce((a, p) => a + p.route.feeMsat, 0n);
          assert.ok(fees <= s.state.maxFeeMsat);
        }
        assert.notEqual(s.state.status, 'pending', 'payment did not end');
        if (s.state.status === 'failed')
          assert.ok(s.state.error !== undefined && s.state.error.message.length > 0);
      },
    ),
    { numRuns: 150 },
  );
});

test('keysend: random preimage in TLV 5482373484 that the receive side reads back; hash is its sha256', () => {
  let n = 0;
  const entropy = { randomBytes: (len: number) => new Uint8Array(len).fill(++n) };
  const { state, preimage: pre } = makeKeysend(
    { destination: PAYEE, amountMsat: msat(10_000) },
    entropy,
    NOW,
  );
  assert.deepEqual(state.paymentHash, sha256(pre));
  assert.equal(state.final.paymentSecret, undefined);
  assert.equal(state.final.extra?.[0]?.type, KEYSEND_PREIMAGE_TLV);
  const find = finder();
  const s = stepPayment(state, { type: 'start', now: NOW }, find);
  const send = sends(s.actions)[0];
  assert.ok(send?.type === 'send_part');
  const bytes = routePayloadBytes(send.route, 800_000, send.final);
  // The generic decoder refuses the unknown even record; the keysend-aware reader takes it out.
  assert.equal(decodeHopPayload(bytes.at(-1)!).ok, false);
  const refused = readPayloadWithKeysend(bytes.at(-1)!, { isFinal: true }, false);
  assert.equal(refused.ok, false);
  const read = readPayloadWithKeysend(bytes.at(-1)!, { isFinal: true }, true);
  assert.ok(read.ok);
  const fin = finalHopPayloadOf(read.value);
  assert.deepEqual(fin?.keysendPreimage, pre);
  assert.equal(fin?.paymentSecret, null);
  assert.equal(fin?.amtToForward, 10_000n);
  assert.equal(fin?.totalMsat, 10_000n);
  // Intermediate payloads are untouched.
  const first = decodeHopPayload(bytes[0]!);
  assert.ok(first.ok && first.value.shortChannelId !== undefined);
});

test('a payment state survives encode/decode for the store (bytes, sets, bigints)', () => {
  const find = finder();
  let s = stepPayment(
    prepared(invoice(), { exclude: ['1x2x3/1', key('Z')] }),
    { type: 'start', now: NOW },
    find,
  );
  s = stepPayment(
    s.state,
    { type: 'part_failed', partId: 1, failure: { kind: 'local', message: 'x' }, now: NOW },
    find,
  );
  const back = decodePayment(encodePayment(s.state));
  // Equal up to keys whose value was undefined.
  const defined = (o: object) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  assert.deepEqual(defined(back), defined(s.state));
  assert.deepEqual(back.paymentHash, s.state.paymentHash);
  assert.deepEqual(back.final.paymentSecret, s.state.final.paymentSecret);
  assert.deepEqual([...back.excludeChannels].sort(), [...s.state.excludeChannels].sort());
  assert.deepEqual([...back.excludeNodes], [key('Z')]);
  assert.equal(back.parts.length, s.state.parts.length);
  assert.equal(back.parts[0]!.route.hops[0]!.scid, s.state.parts[0]!.route.hops[0]!.scid);
  assert.equal(back.parts[0]!.route.hops[0]!.amountMsat, s.state.parts[0]!.route.hops[0]!.amountMsat);
  assert.equal(back.maxFeeMsat, s.state.maxFeeMsat);
  // The decoded state keeps working: the pending part completes the payment.
  const pending = back.parts.find((p) => p.status === 'pending')!;
  const done = stepPayment(
    back,
    { type: 'part_succeeded', partId: pending.partId, preimage, now: NOW },
    find,
  );
  assert.equal(done.state.status, 'complete');
  assert.equal(paymentKey(back), hex(sha256(preimage)));
});
