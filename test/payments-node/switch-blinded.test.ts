// Route blinding in the switch against a fake channel driver: the introduction node forwards with the
// next path key and payment_relay's amounts, an inner node forwards to next_node_id, the recipient accepts
// only its own path_id, and every failure leaves the blinded path in the shape BOLT 2/4 require
// (introduction: update_fail_htlc with invalid_onion_blinding; inner: update_fail_malformed_htlc).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildOnion,
  createBlindedPath,
  decodeErrorPacket,
  decryptRecipientData,
  ecdhWithSecret,
  encodeEncryptedData,
  encodeHopPayload,
} from '../../src/bolt04-onion/index.ts';
import { equal, fromHex, hex } from '../../src/core/bytes.ts';
import { msat } from '../../src/core/units.ts';
import { publicKeyOf, sha256 } from '../../src/crypto/index.ts';
import type { FinalHtlc, PaymentSwitch, Receiver } from '../../src/node/switch.ts';
import { buildReceivePath, INVALID_ONION_BLINDING, padded } from '../../src/node/switch-blinded.ts';
import { memoryStore } from '../../src/store/sqlite.ts';
import { blindedPaymentOnion } from './blinded-onion.ts';
import { addMsg, FakeDriver, fakeChannel, fakeSwitch } from './fake-driver.ts';

const secretOf = (s: string) => sha256(new TextEncoder().encode(s));
const BOB = secretOf('bob');
const CAROL = secretOf('carol');
const DAVE = secretOf('dave');
const SCID_IN = 1n << 40n;
const SCID_OUT = (700n << 40n) | (1n << 16n);
const preimage = secretOf('preimage');
const hash = sha256(preimage);
const secret = secretOf('payment secret');
const pathId = secretOf('path id');
const RELAY = { feeBaseMsat: 1000, feeProportionalMillionths: 10, cltvExpiryDelta: 34 };

/** Carol's path through Bob, and the onion a sender builds on it (Bob unblinded, Carol blinded). */
function bobCarol(
  o: { scid?: bigint; tamperCarol?: boolean; session?: string; amount?: bigint; relay?: typeof RELAY } = {},
) {
  const path = buildReceivePath({
    introNodeId: publicKeyOf(BOB),
    ourNodeId: publicKeyOf(CAROL),
    scid: o.scid ?? SCID_OUT,
    relay: o.relay ?? RELAY,
    htlcMinimumMsat: msat(0n),
    maxCltvExpiry: 2116,
    minFinalCltvDelta: 18,
    sessionKey: secretOf('e0'),
    pathId,
  });
  const carolData = fromHex(path.path[1]!.encrypted_recipient_data);
  if (o.tamperCarol === true) carolData[0]! ^= 1;
  return {
    path,
    onion: blindedPaymentOnion({
      path,
      amount: o.amount ?? 1_000_000n,
      finalCltv: 150,
      paymentHash: hash,
      sessionKey: secretOf(o.session ?? 'session'),
      recipientData: carolData,
    }),
  };
}

/** Bob's switch: an incoming channel from the sender and one to Carol. */
function bobSide() {
  const store = memoryStore();
  const d = new FakeDriver([
    fakeChannel('in', SCID_IN, [0n, 1n, 2n, 3n]),
    fakeChannel('out', SCID_OUT, [], hex(publicKeyOf(CAROL))),
  ]);
  const s = fakeSwitch(store, d, BOB);
  s.sw.start();
  return { store, d, ...s };
}

class RecordingReceiver implements Receiver {
  readonly seen: FinalHtlc[] = [];
  constructor(
    private readonly sw: PaymentSwitch,
    private readonly answer: 'settle' | 'fail',
  ) {}
  onFinalHtlc(h: FinalHtlc): void {
    this.seen.push(h);
    this.sw.settle(
      h.ref,
      this.answer === 'settle'
        ? { kind: 'settle', preimage }
        : {
            kind: 'fail',
            failure: {
              failure: 'incorrect_or_unknown_payment_details',
              htlc_msat: h.amountMsat,
              height: 100,
            },
          },
    );
  }
  recover(hs: readonly FinalHtlc[]): void {
    for (const h of hs) this.onFinalHtlc(h);
  }
}

/** Carol's switch with a receiver; `bind` hands out the path_id for `hash`. */
function carolSide(answer: 'settle' | 'fail', bind = true) {
  const d = new FakeDriver([fakeChannel('fromBob', SCID_OUT, [0n, 1n])]);
  const { sw } = fakeSwitch(memoryStore(), d, CAROL);
  const r = new RecordingReceiver(sw, answer);
  sw.setReceiver(r);
  if (bind) sw.blindedPaths.bind(pathId, { paymentHash: hash, paymentSecret: secret }, 0);
  sw.start();
  return { d, sw, r };
}

test('introduction node forwards with payment_relay amounts and the next path key; the recipient takes its path_id', () => {
  const bob = bobSide();
  const { path, onion } = bobCarol();
  // 1_000_000 to Carol + 1000 base + 10 ppm (rounded up) for Bob.
  bob.d.emit('in', addMsg(0n, 1_001_010n, hash, 184, onion.packet));
  const add = bob.d.commands[0]!;
  assert.equal(add.ch, 'out');
  assert.ok(add.cmd.kind === 'add_htlc');
  assert.equal(add.cmd.amount, 1_000_000n);
  assert.equal(add.cmd.cltvExpiry, 150);
  const expectKey = decryptRecipientData(
    fromHex(path.first_path_key),
    fromHex(path.path[0]!.encrypted_recipient_data),
    ecdhWithSecret(BOB),
  );
  assert.ok(expectKey.ok && add.cmd.pathKey !== undefined);
  assert.ok(equal(add.cmd.pathKey, expectKey.value.nextPathKey), 'E_1 goes in the update_add_htlc');

  const carol = carolSide('settle');
  carol.d.emit(
    'fromBob',
    addMsg(0n, add.cmd.amount, hash, add.cmd.cltvExpiry, add.cmd.onion, add.cmd.pathKey),
  );
  assert.equal(carol.r.seen.length, 1);
  const f = carol.r.seen[0]!;
  assert.ok(f.paymentSecret !== null && equal(f.paymentSecret, secret), "the invoice's secret, via path_id");
  assert.equal(f.totalMsat, 1_000_000n);
  assert.ok(carol.d.commands[0]!.cmd.kind === 'fulfill_htlc');
  bob.d.emit('out', { kind: 'htlc_fulfilled', id: 0n, preimage });
  const back = bob.d.commands[1]!;
  assert.ok(back.ch === 'in' && back.cmd.kind === 'fulfill_htlc' && equal(back.cmd.preimage, preimage));
});

test('recipient: an unknown path_id, a tampered encrypted_recipient_data, or a refusal leave as malformed invalid_onion_blinding', () => {
  const run = (tamper: boolean, bind: boolean, answer: 'settle' | 'fail') => {
    const bob = bobSide();
    bob.d.emit('in', addMsg(0n, 1_001_010n, hash, 184, bobCarol({ tamperCarol: tamper }).onion.packet));
    const add = bob.d.commands[0]!.cmd;
    assert.ok(add.kind === 'add_htlc');
    const carol = carolSide(answer, bind);
    carol.d.emit('fromBob', addMsg(0n, add.amount, hash, add.cltvExpiry, add.onion, add.pathKey));
    const c = carol.d.commands[0]!.cmd;
    assert.ok(c.kind === 'fail_malformed_htlc', `got ${c.kind}`);
    assert.equal(c.failureCode, INVALID_ONION_BLINDING);
    assert.ok(equal(c.sha256OfOnion, sha256(add.onion)), 'sha256_of_onion of the onion Carol received');
    return carol.r.seen.length;
  };
  assert.equal(run(true, true, 'settle'), 0, 'tampered: never reaches the receiver');
  assert.equal(run(false, false, 'settle'), 0, 'unknown path_id: ignored');
  assert.equal(run(false, true, 'fail'), 1, 'the receiver refused');
});

test('introduction node: a local failure and a downstream failure both become invalid_onion_blinding for the sender', () => {
  // Local: the path names a channel Bob does not have.
  const bob = bobSide();
  const unknown = bobCarol({ scid: 42n });
  bob.d.emit('in', addMsg(0n, 1_001_010n, hash, 184, unknown.onion.packet));
  const check = (cmd: (typeof bob.d.commands)[number]['cmd'], onion: typeof unknown.onion) => {
    assert.ok(cmd.kind === 'fail_htlc', `got ${cmd.kind}`);
    const dec = decodeErrorPacket(
      onion.hopKeys.map((k) => k.sharedSecret),
      cmd.reason,
    );
    assert.ok(dec.ok && dec.value.hopIndex === 0, 'attributed to the introduction node');
    const f = dec.value.failure;
    assert.ok(f.ok && f.value.failure === 'invalid_onion_blinding');
    assert.ok(equal(f.value.sha256_of_onion, sha256(onion.packet)));
  };
  check(bob.d.commands[0]!.cmd, unknown.onion);
  // Downstream: Carol answers malformed; Bob turns it into an error the sender can read.
  const ok = bobCarol({ session: 'session-2' });
  bob.d.emit('in', addMsg(1n, 1_001_010n, hash, 184, ok.onion.packet));
  assert.ok(bob.d.commands[1]!.cmd.kind === 'add_htlc');
  bob.d.emit('out', {
    kind: 'htlc_failed',
    id: 0n,
    reason: { kind: 'malformed', sha256OfOnion: new Uint8Array(32), failureCode: INVALID_ONION_BLINDING },
  });
  check(bob.d.commands[2]!.cmd, ok.onion);
});

test('inner node: forwards to next_node_id with the next path key; a downstream failure goes back malformed', () => {
  // A three-hop path Bob -> Carol -> Dave, Carol in the middle.
  const relayData = (next: Uint8Array) =>
    encodeEncryptedData({
      nextNodeId: next,
      paymentRelay: RELAY,
      paymentConstraints: { maxCltvExpiry: 3000, htlcMinimumMsat: msat(0n) },
    });
  const { path } = createBlindedPath({
    sessionKey: secretOf('e0-3'),
    hops: [
      { nodeId: publicKeyOf(BOB), encryptedData: relayData(publicKeyOf(CAROL)) },
      { nodeId: publicKeyOf(CAROL), encryptedData: relayData(publicKeyOf(DAVE)) },
      { nodeId: publicKeyOf(DAVE), encryptedData: encodeEncryptedData({ pathId }) },
    ],
  });
  const built = buildOnion({
    sessionKey: secretOf('s3'),
    hops: [
      {
        publicKey: publicKeyOf(BOB),
        payload: encodeHopPayload({
          encryptedRecipientData: path.hops[0]!.encryptedRecipientData,
          currentPathKey: path.firstPathKey,
        }),
      },
      {
        publicKey: path.hops[1]!.blindedNodeId,
        payload: encodeHopPayload({ encryptedRecipientData: path.hops[1]!.encryptedRecipientData }),
      },
      {
        publicKey: path.hops[2]!.blindedNodeId,
        payload: encodeHopPayload({
          encryptedRecipientData: path.hops[2]!.encryptedRecipientData,
          amtToForward: msat(1_000_000n),
          outgoingCltvValue: 150,
          totalAmountMsat: msat(1_000_000n),
        }),
      },
    ],
    associatedData: hash,
  });
  assert.ok(built.ok);
  const bob = bobSide();
  bob.d.emit('in', addMsg(0n, 1_002_020n, hash, 218, built.value.packet));
  const toCarol = bob.d.commands[0]!.cmd;
  assert.ok(toCarol.kind === 'add_htlc', 'Bob found the channel to Carol by node id');
  assert.equal(toCarol.amount, 1_001_010n);
  const d = new FakeDriver([
    fakeChannel('fromBob', SCID_OUT, [0n]),
    fakeChannel('toDave', 900n << 40n, [], hex(publicKeyOf(DAVE))),
  ]);
  const { sw } = fakeSwitch(memoryStore(), d, CAROL);
  sw.start();
  d.emit('fromBob', addMsg(0n, toCarol.amount, hash, toCarol.cltvExpiry, toCarol.onion, toCarol.pathKey));
  const toDave = d.commands[0]!;
  assert.equal(toDave.ch, 'toDave');
  assert.ok(toDave.cmd.kind === 'add_htlc' && toDave.cmd.pathKey !== undefined);
  assert.equal(toDave.cmd.amount, 1_000_000n);
  assert.equal(toDave.cmd.cltvExpiry, 150);
  // Dave fails it with an ordinary error packet: Carol must not pass it on, only invalid_onion_blinding.
  d.emit('toDave', { kind: 'htlc_failed', id: 0n, reason: { kind: 'onion', reason: new Uint8Array(292) } });
  const back = d.commands[1]!.cmd;
  assert.ok(back.kind === 'fail_malformed_htlc');
  assert.equal(back.failureCode, INVALID_ONION_BLINDING);
  assert.ok(equal(back.sha256OfOnion, sha256(toCarol.onion)));
});

test('the blinded path: equal-length padded records, each hop decrypts its own data, path_id only for us', () => {
  const { path } = bobCarol();
  const lens = padded([{ pathId }, { shortChannelId: SCID_OUT, paymentRelay: RELAY }]).map((b) => b.length);
  assert.equal(lens[0], lens[1]);
  assert.equal(
    path.path[0]!.encrypted_recipient_data.length,
    path.path[1]!.encrypted_recipient_data.length,
    'the hops look alike',
  );
  const b = decryptRecipientData(
    fromHex(path.first_path_key),
    fromHex(path.path[0]!.encrypted_recipient_data),
    ecdhWithSecret(BOB),
  );
  assert.ok(b.ok && b.value.data.shortChannelId === SCID_OUT && b.value.data.pathId === undefined);
  const c = decryptRecipientData(
    b.value.nextPathKey,
    fromHex(path.path[1]!.encrypted_recipient_data),
    ecdhWithSecret(CAROL),
  );
  assert.ok(c.ok && c.value.data.pathId !== undefined && equal(c.value.data.pathId, pathId));
  // The sender's view: 1000 + 10 ppm, and Bob's delta on top of the invoice's 18.
  assert.deepEqual(path.payinfo, {
    fee_base_msat: 1000n,
    fee_proportional_millionths: 10,
    cltv_expiry_delta: 52,
    htlc_minimum_msat: 0n,
  });
});

test('introduction node: payment_relay rounding up is not mistaken for a short fee', () => {
  // 99,999 msat to Carol: the sender pays 1000 + ceil(0.99999) = 1001 msat fee, Bob forwards
  // ceil(100,000 * 1e6 / 1,000,010) = 100,000; a plain fee check would want 1001 on 100,000 and refuse.
  const bob = bobSide();
  bob.d.emit('in', addMsg(0n, 101_000n, hash, 184, bobCarol({ amount: 99_999n }).onion.packet));
  const add = bob.d.commands[0]!.cmd;
  assert.ok(add.kind === 'add_htlc', `got ${add.kind}`);
  assert.equal(add.amount, 100_000n);
  // A path whose payment_relay charges less than Bob's policy (500 msat base) is refused.
  const cheap = bobCarol({ amount: 99_999n, session: 's-low', relay: { ...RELAY, feeBaseMsat: 500 } });
  bob.d.emit('in', addMsg(1n, 100_500n, hash, 184, cheap.onion.packet));
  const low = bob.d.commands[1]!.cmd;
  assert.ok(low.kind === 'fail_htlc', `got ${low.kind}`);
});
