// Pure machine properties: handshakes between random keys, framing under arbitrary chunking, bad input.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  Decryptor,
  Encryptor,
  HandshakeStream,
  initiatorActOne,
  initiatorActTwo,
  localKeyFromSecret,
  MAX_FRAME_SIZE,
  MAX_MESSAGE_LENGTH,
  responderActOne,
  responderActThree,
  responderStart,
  type Session,
  specErrorName,
} from '../../src/bolt08-transport/index.ts';
import { hex } from '../../src/core/bytes.ts';
import { isPrivateKey } from '../../src/crypto/index.ts';

const secretArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter(isPrivateKey);

function handshake(
  ls: Uint8Array,
  le: Uint8Array,
  rsec: Uint8Array,
  re: Uint8Array,
): { a: Session; b: Session } {
  const il = localKeyFromSecret(ls);
  const rl = localKeyFromSecret(rsec);
  assert.ok(il.ok && rl.ok);
  const a1 = initiatorActOne({ local: il.value, remotePubkey: rl.value.publicKey, ephemeralSecret: le });
  assert.ok(a1.ok);
  const r0 = responderStart({ local: rl.value, ephemeralSecret: re });
  assert.ok(r0.ok);
  const r1 = responderActOne(r0.value, a1.value.act);
  assert.ok(r1.ok);
  const a2 = initiatorActTwo(a1.value.state, r1.value.act);
  assert.ok(a2.ok);
  const r3 = responderActThree(r1.value.state, a2.value.act);
  assert.ok(r3.ok);
  assert.equal(hex(r3.value.remotePubkey), hex(il.value.publicKey));
  assert.equal(hex(a2.value.session.remotePubkey), hex(rl.value.publicKey));
  return { a: a2.value.session, b: r3.value };
}

const K = (b: number): Uint8Array => new Uint8Array(32).fill(b);

/** Splits bytes at the given cut points. */
function chop(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.slice(prev, p));
    prev = p;
  }
  out.push(bytes.slice(prev));
  return out;
}

test('random keys: both sides agree on keys, and messages flow both ways', () => {
  fc.assert(
    fc.property(
      secretArb,
      secretArb,
      secretArb,
      secretArb,
      fc.uint8Array({ maxLength: 300 }),
      (ls, le, rs, re, msg) => {
        const { a, b } = handshake(ls, le, rs, re);
        assert.equal(hex(a.keys.sendingKey), hex(b.keys.receivingKey));
        assert.equal(hex(a.keys.receivingKey), hex(b.keys.sendingKey));
        const f = a.encryptor.encrypt(msg);
        assert.ok(f.ok);
        const got = b.decryptor.push(f.value);
        assert.ok(got.error === null);
        assert.deepEqual(got.messages.map(hex), [hex(msg)]);
        const back = b.encryptor.encrypt(msg);
        assert.ok(back.ok);
        const got2 = a.decryptor.push(back.value);
        assert.ok(
          got2.error === null &&
            got2.messages.length === 1 &&
            hex(got2.messages[0] as Uint8Array) === hex(msg),
        );
      },
    ),
    { numRuns: 30 },
  );
});

test('any chunking of a stream of frames yields the same messages, in order', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 2000 }), { minLength: 1, maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 40 }),
      (msgs, cuts) => {
        const enc = new Encryptor(K(1), K(2));
        const dec = new Decryptor(K(1), K(2));
        const stream = Buffer.concat(
          msgs.map((m) => {
            const f = enc.encrypt(m);
            assert.ok(f.ok);
            return f.value;
          }),
        );
        const got: string[] = [];
        for (const piece of chop(stream, cuts)) {
          const r = dec.push(piece);
          assert.ok(r.error === null);
          got.push(...r.messages.map(hex));
        }
        assert.deepEqual(got, msgs.map(hex));
        assert.equal(dec.pendingBytes, 0);
      },
    ),
    { numRuns: 200 },
  );
});

test('thousands of messages across many rotations, byte-by-byte tail', () => {
  const enc = new Encryptor(K(3), K(4));
  const dec = new Decryptor(K(3), K(4));
  for (let i = 0; i < 2600; i++) {
    const m = new Uint8Array(i % 97).fill(i & 0xff);
    const f = enc.encrypt(m);
    assert.ok(f.ok);
    const r = dec.push(f.value);
    assert.ok(r.error === null && r.messages.length === 1);
    assert.equal(hex(r.messages[0] as Uint8Array), hex(m));
  }
  // 2600 messages = 5200 nonces: five rotations, nonce 200 of the sixth key.
  assert.equal(enc.cipherState.state.nonce, 200);
  assert.equal(hex(enc.cipherState.state.key), hex(dec.cipherState.state.key));
  const last = enc.encrypt(new Uint8Array([1, 2, 3]));
  assert.ok(last.ok);
  for (let i = 0; i < last.value.length - 1; i++) {
    const r = dec.push(last.value.subarray(i, i + 1));
    assert.ok(r.error === null && r.messages.length === 0);
  }
  const r = dec.push(last.value.subarray(last.value.length - 1));
  assert.ok(r.error === null && r.messages.length === 1);
});

test('maximum size: 65535 bytes round-trips, 65536 is a typed error', () => {
  const enc = new Encryptor(K(5), K(6));
  const dec = new Decryptor(K(5), K(6));
  const big = new Uint8Array(MAX_MESSAGE_LENGTH).fill(7);
  const f = enc.encrypt(big);
  assert.ok(f.ok);
  assert.equal(f.value.length, MAX_FRAME_SIZE);
  assert.equal(MAX_FRAME_SIZE, 65569);
  const r = dec.push(f.value);
  assert.ok(
    r.error === null &&
      r.messages.length === 1 &&
      (r.messages[0] as Uint8Array).length === MAX_MESSAGE_LENGTH,
  );
  const tooLong = enc.encrypt(new Uint8Array(MAX_MESSAGE_LENGTH + 1));
  assert.equal(tooLong.ok, false);
  if (!tooLong.ok) assert.deepEqual(tooLong.error, { kind: 'message-too-long', length: 65536 });
  // The failed call consumed no nonce: the stream continues.
  const next = enc.encrypt(new Uint8Array(0));
  assert.ok(next.ok);
  const r2 = dec.push(next.value);
  assert.ok(r2.error === null && r2.messages.length === 1 && (r2.messages[0] as Uint8Array).length === 0);
});

test('flipping any bit of a frame is a bad length MAC or bad body MAC, and poisons the decryptor', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 200 }),
      fc.nat(),
      fc.integer({ min: 0, max: 7 }),
      (msg, at, bit) => {
        const enc = new Encryptor(K(8), K(9));
        const dec = new Decryptor(K(8), K(9));
        const f = enc.encrypt(msg);
        assert.ok(f.ok);
        const bad = Uint8Array.from(f.value);
        const i = at % bad.length;
        bad[i] = (bad[i] as number) ^ (1 << bit);
        const r = dec.push(bad);
        if (i < 18) {
          assert.ok(r.error !== null && r.error.kind === 'bad-length-mac');
        } else {
          assert.ok(r.error !== null && r.error.kind === 'bad-body-mac');
        }
        const again = dec.push(new Uint8Array(1));
        assert.ok(again.error !== null && again.error.kind === 'poisoned');
        assert.ok(dec.failed !== null);
      },
    ),
    { numRuns: 300 },
  );
});

test('messages before a bad frame in the same chunk are still returned, with the error', () => {
  const enc = new Encryptor(K(12), K(13));
  const dec = new Decryptor(K(12), K(13));
  const a = enc.encrypt(Uint8Array.of(1));
  const b = enc.encrypt(Uint8Array.of(2));
  assert.ok(a.ok && b.ok);
  const bad = Uint8Array.from(b.value);
  bad[20] = (bad[20] as number) ^ 0x80;
  const r = dec.push(Buffer.concat([a.value, bad]));
  assert.deepEqual(r.messages.map(hex), ['01']);
  assert.equal(r.error?.kind, 'bad-body-mac');
});

test('decryptor fuzz: random garbage never throws and never yields a message', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 8 }), (chunks) => {
      const dec = new Decryptor(K(10), K(11));
      for (const c of chunks) {
        const r = dec.push(c);
        assert.equal(r.messages.length, 0);
        if (r.error !== null) return;
      }
    }),
    { numRuns: 2000 },
  );
});

test('handshake stream: acts split anywhere, act three coalesced with the first message', () => {
  fc.assert(
    fc.property(
      fc.array(fc.nat(), { maxLength: 10 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      (cuts1, cuts3) => {
        const il = localKeyFromSecret(K(0x11));
        const rl = localKeyFromSecret(K(0x21));
        assert.ok(il.ok && rl.ok);
        const i = HandshakeStream.initiator({
          local: il.value,
          remotePubkey: rl.value.publicKey,
          ephemeralSecret: K(0x12),
        });
        const r = HandshakeStream.responder({ local: rl.value, ephemeralSecret: K(0x22) });
        assert.ok(i.ok && r.ok);
        assert.equal(r.value.awaitingAct, 1);
        let act2: Uint8Array | null = null;
        for (const piece of chop(i.value.actOne, cuts1)) {
          const p = r.value.push(piece);
          assert.ok(p.ok);
          if (p.value.send !== null) act2 = p.value.send;
        }
        assert.ok(act2 !== null);
        assert.equal(r.value.awaitingAct, 3);
        const p2 = i.value.handshake.push(act2);
        assert.ok(p2.ok && p2.value.done !== null && p2.value.send !== null);
        const first = p2.value.done.session.encryptor.encrypt(new Uint8Array([0, 16, 0, 0, 0, 0]));
        assert.ok(first.ok);
        const wire = Buffer.concat([p2.value.send, first.value]);
        let done: { session: Session; leftover: Uint8Array } | null = null;
        const msgs: string[] = [];
        for (const piece of chop(wire, cuts3)) {
          if (done === null) {
            const p = r.value.push(piece);
            assert.ok(p.ok);
            if (p.value.done !== null) {
              done = p.value.done;
              const m = done.session.decryptor.push(done.leftover);
              assert.ok(m.error === null);
              msgs.push(...m.messages.map(hex));
            }
          } else {
            const m = done.session.decryptor.push(piece);
            assert.ok(m.error === null);
            msgs.push(...m.messages.map(hex));
          }
        }
        assert.ok(done !== null);
        assert.equal(hex(done.session.remotePubkey), hex(il.value.publicKey));
        assert.deepEqual(msgs, ['001000000000']);
      },
    ),
    { numRuns: 100 },
  );
});

test('handshake stream: garbage act one is rejected without a reply, and the stream stays failed', () => {
  const rl = localKeyFromSecret(K(0x21));
  assert.ok(rl.ok);
  const r = HandshakeStream.responder({ local: rl.value, ephemeralSecret: K(0x22) });
  assert.ok(r.ok);
  // Shorter than act one: refused on its first byte, not after waiting for 50.
  const p = r.value.push(new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n'));
  assert.ok(!p.ok);
  assert.equal(specErrorName(p.error), 'ACT1_BAD_VERSION 71');
  const again = r.value.push(new Uint8Array(50));
  assert.ok(!again.ok && again.error.kind === 'poisoned');
});

test('handshake fuzz: random bytes and bit-flipped acts never complete a handshake and never throw', () => {
  const il = localKeyFromSecret(K(0x11));
  const rl = localKeyFromSecret(K(0x21));
  assert.ok(il.ok && rl.ok);
  const good = HandshakeStream.initiator({
    local: il.value,
    remotePubkey: rl.value.publicKey,
    ephemeralSecret: K(0x12),
  });
  assert.ok(good.ok);
  const act1 = good.value.actOne;
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), (junk) => {
      const r = HandshakeStream.responder({ local: rl.value, ephemeralSecret: K(0x22) });
      assert.ok(r.ok);
      const p = r.value.push(junk);
      // 50 random bytes pass act one only with a forged MAC: never.
      assert.ok(!p.ok || p.value.done === null);
    }),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(fc.integer({ min: 0, max: act1.length * 8 - 1 }), (bit) => {
      const r = HandshakeStream.responder({ local: rl.value, ephemeralSecret: K(0x22) });
      assert.ok(r.ok);
      const bad = Uint8Array.from(act1);
      bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
      const p = r.value.push(bad);
      assert.ok(!p.ok, `bit ${bit} accepted`);
      assert.ok(['bad-version', 'bad-pubkey', 'bad-tag'].includes(p.error.kind));
    }),
    { numRuns: 400 },
  );
});

test('bad keys are typed errors, not exceptions', () => {
  assert.deepEqual(localKeyFromSecret(new Uint8Array(32)), {
    ok: false,
    error: { kind: 'bad-local-key', which: 'static' },
  });
  const l = localKeyFromSecret(K(1));
  assert.ok(l.ok);
  const badRemote = initiatorActOne({
    local: l.value,
    remotePubkey: Uint8Array.from([2, ...new Uint8Array(32).fill(0xff)]),
    ephemeralSecret: K(2),
  });
  assert.ok(!badRemote.ok && badRemote.error.kind === 'bad-remote-pubkey');
  const uncompressed = initiatorActOne({
    local: l.value,
    remotePubkey: new Uint8Array(65).fill(4),
    ephemeralSecret: K(2),
  });
  assert.ok(!uncompressed.ok && uncompressed.error.kind === 'bad-remote-pubkey');
  const badEph = responderStart({ local: l.value, ephemeralSecret: new Uint8Array(32).fill(0xff) });
  assert.ok(!badEph.ok && badEph.error.kind === 'bad-local-key');
});
