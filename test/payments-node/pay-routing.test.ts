// The Payer's pay over src/routing, against a fake switch that plays the network: our channels to B and
// C (fake channels with real balances for the route finder), hints B->D and C->D whose liquidity only
// the fake knows, real onions and real error packets. Checks the glue: routes from local channels +
// hints, liquidity learnt from temporary_channel_failure (MPP over both routes), mission control across
// payments, exclude, and that failing payments end with a status that says why.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createErrorPacket,
  decodeHopPayload,
  ecdhWithSecret,
  type FailureInput,
  peelOnion,
  wrapErrorPacket,
} from '../../src/bolt04-onion/index.ts';
import {
  createInvoice,
  formatShortChannelId,
  privateKeySigner,
  type RouteHintHop,
} from '../../src/bolt11-invoice/index.ts';
import { fromHex, hex } from '../../src/core/bytes.ts';
import { type Msat, msat } from '../../src/core/units.ts';
import { publicKeyOf, sha256 } from '../../src/crypto/index.ts';
import type { Channel, ChannelDriver } from '../../src/node/channel-driver.ts';
import type { Clock } from '../../src/node/clock.ts';
import { createLogger } from '../../src/node/logger.ts';
import { Payer } from '../../src/node/pay.ts';
import { localChannelOf, payExclusions, sendpayRoute } from '../../src/node/pay-routes.ts';
import type { LocalResult, PaymentSwitch } from '../../src/node/switch.ts';
import { successProbability } from '../../src/routing/mission-control.ts';
import { edgeId } from '../../src/routing/pathfind.ts';
import { buildRoute } from '../../src/routing/route.ts';
import { memoryStore } from '../../src/store/sqlite.ts';

const secretOf = (s: string) => sha256(new TextEncoder().encode(s));
const idOf = (s: string) => hex(publicKeyOf(secretOf(s)));
const [A, B, C, D] = ['alice', 'bob', 'carol', 'dave'].map(idOf) as [string, string, string, string];
const scid = (n: number) => BigInt(n) << 40n;
const AB = scid(1);
const AC = scid(2);
const BD = scid(3);
const CD = scid(4);
const NOW = 1_700_000_000_000;

function fakeChannel(peerId: string, shortChannelId: bigint, toLocal: bigint): Channel {
  return {
    key: `c/${peerId.slice(0, 8)}`,
    peerId,
    state: {
      phase: 'normal',
      link: 'up',
      shutdown: undefined,
      shortChannelId,
      commitments: {
        localIsFunder: false,
        fundingAmount: 2_000_000n,
        localNextHtlcId: 0n,
        remote: { htlcMinimum: msat(1n), channelReserve: 0n, maxHtlcValueInFlight: msat(10n ** 12n) },
        localChanges: { proposed: [] },
        localCommit: { spec: { toLocal, htlcs: [], feerate: 253 } },
      },
    },
  } as unknown as Channel;
}

type Fail = FailureInput;

/** The rest of the network: what B and C can forward to D, and what D answers. */
interface World {
  /** msat B->D / C->D can still carry, by the hint's scid. */
  readonly liquidity: Map<bigint, bigint>;
  /** The forwarder answers this for the channel (by scid) instead of forwarding. */
  readonly forwarderFails: Map<bigint, Fail>;
  payeeFails?: Fail;
  /** The network holds every HTLC without an answer (a node went quiet). */
  silent?: boolean;
}

function worldOf(bd: bigint, cd: bigint, rest: Partial<World> = {}): World {
  return {
    liquidity: new Map([
      [BD, bd],
      [CD, cd],
    ]),
    forwarderFails: new Map(),
    ...rest,
  };
}

/** `timersFire`: every clock timer fires at once (to see what pay does when its waits run out). */
function setup(world: World, timersFire = false) {
  const channels = [fakeChannel(B, AB, 1_000_000_000n), fakeChannel(C, AC, 1_000_000_000n)];
  const driver = {
    list: () => channels,
    find: (s: string) =>
      channels.find(
        (c) => formatShortChannelId((c.state as { shortChannelId: bigint }).shortChannelId) === s,
      ),
    tipHeight: () => 100,
  };
  let listener: (tag: string, r: LocalResult) => void = () => {};
  const preimages = new Map<string, Uint8Array>();
  const totals = new Map<string, bigint>();
  const held = new Map<string, { tag: string; amount: bigint; channel: bigint }[]>();
  const sent: { first: bigint; amount: bigint }[] = [];
  const onions: Uint8Array[] = [];
  let payer: Payer;
  const answer = (tag: string, r: LocalResult) => setImmediate(() => listener(tag, r));
  const sw = {
    onLocalResult: (fn: typeof listener) => {
      listener = fn;
    },
    sendLocal: (
      ch: Channel,
      amount: Msat,
      _cltv: number,
      hash: Uint8Array,
      onion: Uint8Array,
      tag: string,
    ) => {
      onions.push(onion);
      const first = (ch.state as { shortChannelId: bigint }).shortChannelId;
      sent.push({ first, amount });
      const rec = payer.listSendpays(hex(hash)).find((p) => `sp/${p.created_index}` === tag)!;
      const secrets = rec.secrets.map(fromHex);
      const errorFrom = (hop: number, f: Fail) => {
        let packet = createErrorPacket(secrets[hop]!, f);
        for (let j = hop - 1; j >= 0; j--) packet = wrapErrorPacket(secrets[j]!, packet);
        answer(tag, { kind: 'failed', reason: packet });
      };
      // Route: [forwarder B or C, payee D]; the forwarder sends rec.amount_msat over route[1]'s channel.
      const [blk, tx, o] = rec.route[1]!.split(':')[1]!.split('x').map(BigInt) as [bigint, bigint, bigint];
      const out = (blk << 40n) | (tx << 16n) | o;
      const left = world.liquidity.get(out) ?? 0n;
      const fail =
        world.forwarderFails.get(out) ??
        (rec.amount_msat > left
          ? { failure: 'temporary_channel_failure' as const, channel_update: new Uint8Array(), tlvs: {} }
          : undefined);
      if (fail !== undefined) {
        errorFrom(0, fail);
        return null;
      }
      if (world.silent === true) return null;
      if (world.payeeFails !== undefined) {
        errorFrom(1, world.payeeFails);
        return null;
      }
      world.liquidity.set(out, left - rec.amount_msat);
      const h = hex(hash);
      const parts = [...(held.get(h) ?? []), { tag, amount: rec.amount_msat, channel: out }];
      held.set(h, parts);
      if (parts.reduce((t, p) => t + p.amount, 0n) >= totals.get(h)!) {
        for (const p of parts) answer(p.tag, { kind: 'fulfilled', preimage: preimages.get(h)! });
        held.delete(h);
      }
      return null;
    },
  };
  const clock: Clock = {
    now: () => NOW,
    after: (_ms, fn) => {
      if (timersFire) setImmediate(fn);
      return { cancel: () => {} };
    },
  };
  let n = 0;
  const store = memoryStore();
  const start = () =>
    new Payer({
      store,
      driver: driver as unknown as ChannelDriver,
      switch: sw as unknown as PaymentSwitch,
      entropy: { randomBytes: (len) => new Uint8Array(len).fill(++n % 250) },
      clock,
      log: createLogger({ level: 'error', stderr: false }),
      ourId: A,
      network: 'regtest',
    });
  payer = start();
  /** A new Payer on the same store, as after a restart; the switch now reports to it. */
  const restart = (): Payer => {
    payer = start();
    return payer;
  };
  /** The HTLC of the part `tag` comes back failed from its first hop. */
  const failPart = (tag: string, hash: string) => {
    const rec = payer.listSendpays(hash).find((p) => `sp/${p.created_index}` === tag)!;
    const packet = createErrorPacket(fromHex(rec.secrets[0]!), {
      failure: 'temporary_node_failure',
      tlvs: {},
    });
    listener(tag, { kind: 'failed', reason: packet });
  };
  const hints: RouteHintHop[][] = [
    [
      {
        pubkey: fromHex(B),
        shortChannelId: BD,
        feeBaseMsat: msat(1000),
        feeProportionalMillionths: 10,
        cltvExpiryDelta: 34,
      },
    ],
    [
      {
        pubkey: fromHex(C),
        shortChannelId: CD,
        feeBaseMsat: msat(2000),
        feeProportionalMillionths: 10,
        cltvExpiryDelta: 34,
      },
    ],
  ];
  const invoice = (amountMsat: bigint, label: string, metadata?: Uint8Array): string => {
    const preimage = secretOf(`preimage ${label}`);
    const hash = hex(sha256(preimage));
    preimages.set(hash, preimage);
    totals.set(hash, amountMsat);
    const r = createInvoice(
      {
        currency: 'bcrt',
        amount: msat(amountMsat),
        timestamp: NOW / 1000,
        paymentHash: sha256(preimage),
        paymentSecret: secretOf(`secret ${label}`),
        description: label,
        routeHints: hints,
        features: Uint8Array.of(0x02, 0x41, 0x00),
        ...(metadata !== undefined ? { metadata } : {}),
      },
      privateKeySigner(secretOf('dave')),
    );
    assert.ok(r.ok);
    return r.value;
  };
  return { payer, sent, onions, invoice, world, restart, failPart };
}

async function payError(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code: number; message: string };
  }
  throw new Error('expected pay to fail');
}

test('glue: our channels as first hops, hints as edges; sendpay hop shape; exclusions of both directions', () => {
  const l = localChannelOf(fakeChannel(B, AB, 500_000_000n));
  assert.deepEqual(
    { scid: l?.scid, peer: l?.peer, spendable: l?.spendableMsat, usable: l?.usable },
    { scid: AB, peer: B, spendable: 500_000_000n, usable: true },
  );
  const route = buildRoute(
    [
      {
        scid: AB,
        direction: 0,
        from: A,
        to: B,
        policy: {
          feeBaseMsat: msat(0),
          feeProportionalMillionths: 0,
          cltvExpiryDelta: 0,
          htlcMinimumMsat: msat(0),
          htlcMaximumMsat: undefined,
          enabled: true,
        },
        capacityMsat: undefined,
        source: 'local',
      },
      {
        scid: BD,
        direction: 1,
        from: B,
        to: D,
        policy: {
          feeBaseMsat: msat(1000),
          feeProportionalMillionths: 10,
          cltvExpiryDelta: 34,
          htlcMinimumMsat: msat(0),
          htlcMaximumMsat: undefined,
          enabled: true,
        },
        capacityMsat: undefined,
        source: 'hint',
      },
    ],
    msat(1_000_000n),
    18,
  );
  assert.deepEqual(sendpayRoute(route), [
    { id: B, channel: '1x0x0', amount_msat: 1_001_010n, delay: 52 },
    { id: D, channel: '3x0x0', amount_msat: 1_000_000n, delay: 18 },
  ]);
  assert.deepEqual(payExclusions(['1x0x0', '3x0x0/1', B]), ['1x0x0/0', '1x0x0/1', '3x0x0/0', '3x0x0/1', B]);
});

test('hint channels of unknown liquidity: pay learns their limits and completes over both routes', async () => {
  const world = worldOf(300_000_000n, 500_000_000n);
  const { payer, sent, invoice } = setup(world);
  const bolt11 = invoice(700_000_000n, 'mpp');
  const r = await payer.pay({ bolt11 });
  assert.equal(r.status, 'complete');
  const parts = payer.listSendpays().filter((p) => p.status === 'complete');
  assert.equal(r.parts, parts.length);
  assert.ok(parts.length >= 3, `${parts.length} parts`);
  assert.equal(
    parts.reduce((t, p) => t + p.amount_msat, 0n),
    700_000_000n,
  );
  assert.deepEqual(new Set(parts.map((p) => p.first_hop)), new Set(['1x0x0', '2x0x0']));
  // What each hint channel carried stays within what it had; failures were learnt, not repeated blindly.
  assert.ok(world.liquidity.get(BD)! >= 0n && world.liquidity.get(CD)! >= 0n);
  assert.ok(sent.length <= 12, `${sent.length} attempts`);
  const pays = payer.listPays();
  assert.equal(pays.length, 1);
  assert.equal(pays[0]!.status, 'complete');
  assert.equal(pays[0]!.number_of_parts, parts.length);
});

test('mission control: a channel that failed is avoided by the next payment for that amount or more', async () => {
  const world = worldOf(0n, 10_000_000_000n);
  const { payer, sent, invoice } = setup(world);
  await payer.pay({ bolt11: invoice(100_000_000n, 'one') });
  // B is cheaper, so it was tried first, failed, and C carried the payment.
  assert.deepEqual(
    sent.map((s) => s.first),
    [AB, AC],
  );
  await payer.pay({ bolt11: invoice(100_000_000n, 'two') });
  assert.deepEqual(
    sent.map((s) => s.first),
    [AB, AC, AC],
    'the second payment went straight to C',
  );
  const bd = { scid: BD, direction: B < D ? (0 as const) : (1 as const), from: B };
  const mc = payer.missionControl();
  assert.ok(mc.channels.has(edgeId(bd.scid, bd.direction)));
  assert.ok(successProbability(mc, bd, 100_000_000, NOW) < 0.01);
  assert.equal(successProbability(mc, bd, 50_000_000, NOW), 0.6, 'a smaller amount is still worth a try');
  // With C excluded, B is still found for a smaller amount (the failure bounds the amount, not the channel).
  world.liquidity.set(BD, 10_000_000_000n);
  const r = await payer.pay({ bolt11: invoice(50_000_000n, 'three'), exclude: ['2x0x0'] });
  assert.equal(r.status, 'complete');
  assert.equal(sent.at(-1)!.first, AB);
});

test('exclude: a channel or node named is not used; excluding every way out is 205 without sending', async () => {
  const world = worldOf(10_000_000_000n, 10_000_000_000n);
  const { payer, sent, invoice } = setup(world);
  await payer.pay({ bolt11: invoice(10_000_000n, 'x1'), exclude: ['1x0x0/0'] });
  assert.deepEqual(
    sent.map((s) => s.first),
    [AC],
  );
  await payer.pay({ bolt11: invoice(10_000_000n, 'x2'), exclude: [C] });
  assert.deepEqual(
    sent.map((s) => s.first),
    [AC, AB],
  );
  const e = await payError(payer.pay({ bolt11: invoice(10_000_000n, 'x3'), exclude: [B, '4x0x0/0'] }));
  assert.equal(e.code, 205);
  assert.match(e.message, /Could not find a route/);
  assert.equal(sent.length, 2);
  const failed = payer.listPays().find((p) => p.status === 'failed');
  assert.deepEqual((failed?.failure as { code: number } | undefined)?.code, 205);
});

test('every route failing ends the payment with 210 and the last error; the payee refusing ends it with 203', async () => {
  const world = worldOf(10_000_000_000n, 10_000_000_000n, {
    forwarderFails: new Map([
      [BD, { failure: 'unknown_next_peer', tlvs: {} }],
      [CD, { failure: 'unknown_next_peer', tlvs: {} }],
    ]),
  });
  const { payer, sent, invoice } = setup(world);
  const e = await payError(payer.pay({ bolt11: invoice(10_000_000n, 'f1') }));
  assert.equal(e.code, 210);
  assert.match(e.message, /unknown_next_peer/);
  assert.equal(sent.length, 2, 'each route tried once');
  world.forwarderFails.clear();
  world.payeeFails = {
    failure: 'incorrect_or_unknown_payment_details',
    htlc_msat: msat(1),
    height: 100,
    tlvs: {},
  };
  // A smaller amount: mission control now avoids both hint channels at 10_000_000 msat and more.
  const e2 = await payError(payer.pay({ bolt11: invoice(5_000_000n, 'f2') }));
  assert.equal(e2.code, 203);
  assert.match(e2.message, /payee rejected/);
  assert.equal(sent.length, 3, 'no retry after the payee said no');
});

test('a pay interrupted by a restart is not left pending: once its parts settle, listpays says failed and why', async () => {
  const world = worldOf(10_000_000_000n, 10_000_000_000n, { silent: true });
  const { payer, invoice, restart, failPart } = setup(world);
  void payer.pay({ bolt11: invoice(10_000_000n, 'r1') }).catch(() => {});
  await new Promise((r) => setImmediate(r));
  const [part] = payer.listSendpays();
  assert.equal(part?.status, 'pending');
  const after = restart();
  assert.equal(after.listPays()[0]!.status, 'pending', 'its part is still in flight');
  failPart(`sp/${part!.created_index}`, part!.payment_hash);
  const pays = after.listPays();
  assert.equal(pays[0]!.status, 'failed');
  assert.match((pays[0]!.failure as { message: string }).message, /interrupted by a restart/);
});

test('parts still in flight past retry_for: pay answers 200 (in progress), and the payment still ends', async () => {
  const world = worldOf(10_000_000_000n, 10_000_000_000n, { silent: true });
  const { payer, invoice, failPart } = setup(world, true);
  const e = await payError(payer.pay({ bolt11: invoice(10_000_000n, 'slow'), retryForS: 0 }));
  assert.equal(e.code, 200);
  assert.match(e.message, /still in flight/);
  assert.equal(payer.listPays()[0]!.status, 'pending');
  const [part] = payer.listSendpays();
  failPart(`sp/${part!.created_index}`, part!.payment_hash);
  await new Promise((r) => setImmediate(r));
  const pay = payer.listPays()[0]!;
  assert.equal(pay.status, 'failed');
  assert.equal((pay.failure as { code: number }).code, 210);
  assert.match((pay.failure as { message: string }).message, /Ran out of time/);
});

test('maxfee: a route costing more fails with 206 before anything is sent; enough maxfee pays', async () => {
  const { payer, sent, invoice } = setup(worldOf(10_000_000_000n, 10_000_000_000n));
  const e = await payError(payer.pay({ bolt11: invoice(10_000_000n, 'fee1'), maxFeeMsat: msat(1000) }));
  assert.equal(e.code, 206);
  assert.equal(sent.length, 0);
  // B's fee for 10_000_000 msat: 1000 + 100 = 1100 msat.
  const r = await payer.pay({ bolt11: invoice(10_000_000n, 'fee2'), maxFeeMsat: msat(1100) });
  assert.equal(r.status, 'complete');
  assert.equal(r.amount_sent_msat, 10_001_100n);
});

test("the invoice's payment_metadata reaches the payee in its final payload (BOLT 11: MUST include it)", async () => {
  const { payer, onions, invoice } = setup(worldOf(1_000_000_000n, 1_000_000_000n));
  const metadata = Uint8Array.of(1, 2, 3, 4, 5);
  const bolt11 = invoice(10_000_000n, 'meta', metadata);
  const r = await payer.pay({ bolt11 });
  assert.equal(r.status, 'complete');
  assert.equal(onions.length, 1);
  const hash = sha256(secretOf('preimage meta'));
  // Peel the forwarder's layer (B or C), then the payee's (D).
  const forwarder = [secretOf('bob'), secretOf('carol')]
    .map((k) => peelOnion(onions[0]!, ecdhWithSecret(k), hash))
    .find((p) => p.ok);
  assert.ok(forwarder?.ok && forwarder.value.type === 'forward');
  const atPayee = peelOnion(forwarder.value.nextOnion, ecdhWithSecret(secretOf('dave')), hash);
  assert.ok(atPayee.ok && atPayee.value.type === 'final');
  const payload = decodeHopPayload(atPayee.value.payload);
  assert.ok(payload.ok);
  assert.deepEqual(payload.value.paymentMetadata, metadata);
});
