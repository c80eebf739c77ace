// The payment pieces together, pure and in memory: route -> onion -> each hop's forward decision ->
// the payee's invoice registry and receive switch -> preimage back to the payment state machine.
// And a failure: a hop's fee_insufficient error packet travels back and drives a retry.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createErrorPacket,
  decodeErrorPacket,
  wrapErrorPacket,
} from '../../src/bolt04-onion/error-packet.ts';
import { ecdhWithSecret } from '../../src/bolt04-onion/keys.ts';
import { readHopPayload } from '../../src/bolt04-onion/payload.ts';
import { buildOnion, peelOnion } from '../../src/bolt04-onion/sphinx.ts';
import { privateKeySigner } from '../../src/bolt11-invoice/index.ts';
import { fromHex, hex } from '../../src/core/bytes.ts';
import { type Msat, msat } from '../../src/core/units.ts';
import { publicKeyOf } from '../../src/crypto/index.ts';
import { emptyReceiveState, stepReceive } from '../../src/node/htlc-switch.ts';
import { InvoiceRegistry } from '../../src/node/invoice-store.ts';
import { finalHopPayloadOf, readPayloadWithKeysend } from '../../src/node/switch-keysend.ts';
import { checkForward, type ForwardingPolicy } from '../../src/node/switch-policy.ts';
import { type ChannelPolicy, Graph } from '../../src/routing/graph.ts';
import { type PaymentAction, preparePayment, stepPayment } from '../../src/routing/payment.ts';
import { type Route, routePayloadBytes } from '../../src/routing/route.ts';
import { makeRouteFinder } from '../../src/routing/route-finder.ts';
import { memoryStore } from '../../src/store/sqlite.ts';
import { ManualClock } from '../../src/testing/manual-clock.ts';
import { fakeChannel } from '../payments-node/fake-driver.ts';

const secret = (b: number) => new Uint8Array(32).fill(b);
const [A, B, C, P] = [secret(0xa1), secret(0xb2), secret(0xc3), secret(0xd4)];
const id = (s: Uint8Array) => hex(publicKeyOf(s));
const HEIGHT = 800_000;
const SESSION = secret(0x55);

const pol = (base: number, ppm: number, delta: number): ChannelPolicy => ({
  feeBaseMsat: msat(base),
  feeProportionalMillionths: ppm,
  cltvExpiryDelta: delta,
  htlcMinimumMsat: msat(1),
  htlcMaximumMsat: msat(1_000_000_000),
  enabled: true,
});

// What each forwarding node really charges on its outgoing channel (scid -> policy).
function world(cRealPolicy = pol(500, 1000, 30)) {
  const g = new Graph();
  const cap = msat(2_000_000_000);
  const add = (scid: bigint, a: Uint8Array, b: Uint8Array, pab: ChannelPolicy, pba: ChannelPolicy) => {
    g.setEdge({ scid, from: id(a), to: id(b), capacityMsat: cap, policy: pab });
    g.setEdge({ scid, from: id(b), to: id(a), capacityMsat: cap, policy: pba });
  };
  add(1n, A, B, pol(0, 0, 6), pol(0, 0, 6));
  add(2n, B, C, pol(1000, 200, 40), pol(1000, 200, 40));
  add(3n, C, P, pol(500, 1000, 30), pol(500, 1000, 30));
  // The policy a node applies (switch-policy's shape) from the one it announced.
  const applied = (p: ChannelPolicy): ForwardingPolicy => ({
    feeBaseMsat: p.feeBaseMsat,
    feePpm: p.feeProportionalMillionths,
    cltvExpiryDelta: p.cltvExpiryDelta,
    htlcMinimumMsat: p.htlcMinimumMsat,
    htlcMaximumMsat: p.htlcMaximumMsat,
  });
  const real = new Map<string, Map<bigint, ForwardingPolicy>>([
    [id(B), new Map([[2n, applied(pol(1000, 200, 40))]])],
    [id(C), new Map([[3n, applied(cRealPolicy)]])],
  ]);
  return { g, real };
}

function payee() {
  const clock = new ManualClock(1_700_000_000_000);
  let n = 0;
  const registry = new InvoiceRegistry({
    store: memoryStore(),
    clock,
    entropy: { randomBytes: (len) => new Uint8Array(len).fill(++n) },
    sign: privateKeySigner(P),
    nodeId: publicKeyOf(P),
    currency: 'bcrt',
  });
  return { clock, registry };
}

type Outcome = { kind: 'settled'; preimage: Uint8Array } | { kind: 'failed'; reason: Uint8Array };

/** Carries one part through the hops; returns the preimage or the error packet as A receives it. */
function deliver(
  route: Route,
  paymentHash: Uint8Array,
  action: Extract<PaymentAction, { type: 'send_part' }>,
  w: ReturnType<typeof world>,
  pay: ReturnType<typeof payee>,
): Outcome {
  const onion = buildOnion({
    sessionKey: SESSION,
    hops: route.hops.map((h, i) => ({
      publicKey: fromHex(h.nodeId),
      payload: routePayloadBytes(route, HEIGHT, action.final)[i]!,
    })),
    associatedData: paymentHash,
  });
  assert.ok(onion.ok);
  let packet = onion.value.packet;
  let amount = route.totalAmountMsat as Msat;
  let cltv = HEIGHT + route.totalDelay;
  const secrets = [B, C, P];
  const shared: Uint8Array[] = [];
  for (let i = 0; i < route.hops.length; i++) {
    const peeled = peelOnion(packet, ecdhWithSecret(secrets[i]!), paymentHash);
    assert.ok(peeled.ok);
    shared.push(peeled.value.sharedSecret);
    const back = (failurePacket: Uint8Array): Outcome => {
      let reason = failurePacket;
      for (let j = i - 1; j >= 0; j--) reason = wrapErrorPacket(shared[j]!, reason);
      return { kind: 'failed', reason };
    };
    if (peeled.value.type === 'forward') {
      const ins = readHopPayload(peeled.value.payload, { isFinal: false });
      assert.ok(ins.ok && ins.value.type === 'forward');
      const me = id(secrets[i]!);
      const scid = ins.value.shortChannelId;
      const policy = w.real.get(me)?.get(scid);
      const v = checkForward(
        {
          incomingAmountMsat: amount,
          incomingCltvExpiry: cltv,
          amtToForward: ins.value.amtToForward,
          outgoingCltvValue: ins.value.outgoingCltvValue,
          height: HEIGHT,
        },
        policy === undefined ? undefined : { ch: fakeChannel(`${me}/${scid}`, scid, []), policy },
      );
      if (!v.ok) return back(createErrorPacket(peeled.value.sharedSecret, v.failure));
      amount = ins.value.amtToForward;
      cltv = ins.value.outgoingCltvValue;
      packet = peeled.value.nextOnion;
      continue;
    }
    const read = readPayloadWithKeysend(peeled.value.payload, { isFinal: true }, true);
    assert.ok(read.ok);
    const fin = finalHopPayloadOf(read.value);
    assert.ok(fin !== undefined);
    const htlc = { channel: '3', htlcId: 0n, amountMsat: amount, cltvExpiry: cltv, paymentHash };
    const step = stepReceive({ keysendEnabled: true }, emptyReceiveState, {
      type: 'htlc',
      htlc,
      payload: fin,
      invoice: pay.registry.receivable(paymentHash),
      height: HEIGHT,
      now: pay.clock.now(),
    });
    assert.ok(!('error' in step));
    for (const a of step.actions) {
      if (a.type === 'paid') pay.registry.markPaid(a.paymentHash, a.amountReceivedMsat, a.preimage);
      if (a.type === 'settle') return { kind: 'settled', preimage: a.preimage };
      if (a.type === 'fail') return back(createErrorPacket(peeled.value.sharedSecret, a.failure));
    }
    assert.fail(`payee did nothing: ${JSON.stringify(step.actions.map((a) => a.type))}`);
  }
  assert.fail('route ended without a final hop');
}

function run(cRealPolicy?: ChannelPolicy) {
  const w = world(cRealPolicy);
  const pay = payee();
  const inv = pay.registry.create({ label: 'e2e', amountMsat: msat(1_000_000), description: 'end to end' });
  const find = makeRouteFinder({ graph: w.g, source: id(A), now: pay.clock.now() });
  const prepared = preparePayment(
    { bolt11: inv.bolt11 },
    { network: 'regtest', ourNodeId: id(A), now: pay.clock.now() },
  );
  assert.ok(prepared.ok, prepared.ok ? '' : prepared.error.message);
  let s = stepPayment(prepared.value, { type: 'start', now: pay.clock.now() }, find);
  const log: string[] = [];
  for (let guard = 0; guard < 10 && s.state.status === 'pending'; guard++) {
    const send = s.actions.find((a) => a.type === 'send_part');
    assert.ok(send?.type === 'send_part');
    const out = deliver(send.route, s.state.paymentHash, send, w, pay);
    if (out.kind === 'settled') {
      log.push('settled');
      s = stepPayment(
        s.state,
        { type: 'part_succeeded', partId: send.partId, preimage: out.preimage, now: pay.clock.now() },
        find,
      );
      continue;
    }
    const dec = decodeErrorPacket(onionSecrets(send.route, s.state.paymentHash, send), out.reason);
    assert.ok(dec.ok);
    assert.ok(dec.value.failure.ok);
    log.push(`${dec.value.failure.value.failure}@${dec.value.hopIndex}`);
    s = stepPayment(
      s.state,
      {
        type: 'part_failed',
        partId: send.partId,
        failure: { kind: 'remote', hopIndex: dec.value.hopIndex, failure: dec.value.failure.value },
        now: pay.clock.now(),
      },
      find,
    );
  }
  return { s, log, pay };
}

function onionSecrets(
  route: Route,
  paymentHash: Uint8Array,
  action: Extract<PaymentAction, { type: 'send_part' }>,
): Uint8Array[] {
  const onion = buildOnion({
    sessionKey: SESSION,
    hops: route.hops.map((h, i) => ({
      publicKey: fromHex(h.nodeId),
      payload: routePayloadBytes(route, HEIGHT, action.final)[i]!,
    })),
    associatedData: paymentHash,
  });
  assert.ok(onion.ok);
  return onion.value.hopKeys.map((k) => k.sharedSecret);
}

test('A pays P through B and C: every hop accepts the amounts and CLTVs the route computed', () => {
  const { s, log, pay } = run();
  assert.deepEqual(log, ['settled']);
  assert.equal(s.state.status, 'complete');
  const rec = pay.registry.get('e2e')!;
  assert.equal(rec.state, 'paid');
  assert.equal(rec.preimage, hex(s.state.preimage!));
  // Fees: C charges 500 + 1_000_000*1000/1e6 = 1500; B charges 1000 + 1_001_500*200/1e6 = 1200.
  assert.equal(s.state.parts[0]!.route.feeMsat, 2700n);
});

test('stale gossip: C really charges more, its fee_insufficient comes back attributed to C, the payment gives up', () => {
  // The switch's failures carry no channel_update (we do not announce channels yet), so there is no
  // newer policy to retry with: the only route is excluded at once.
  const { s, log } = run(pol(900, 1000, 30));
  assert.deepEqual(log, ['fee_insufficient@1']);
  assert.equal(s.state.status, 'failed');
  assert.match(s.state.error!.message, /fee_insufficient/);
});
