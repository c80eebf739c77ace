// BOLT 8 Appendix A, read unchanged from ../shared/spec/bolts/08-transport.md.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Decryptor,
  Encryptor,
  HandshakeStream,
  initiatorActOne,
  initiatorActTwo,
  localKeyFromSecret,
  responderActOne,
  responderActThree,
  responderStart,
  specErrorName,
  type TransportError,
} from '../../src/bolt08-transport/index.ts';
import { fromHex, hex, utf8 } from '../../src/core/bytes.ts';
import { commentValues, errorName, type HandshakeVector, loadAppendixA } from './appendix-a.ts';

const vectors = loadAppendixA();

function field(v: HandshakeVector, k: string): Uint8Array {
  const x = v.fields.get(k);
  if (x === undefined) throw new Error(`${v.name}: missing ${k}`);
  return fromHex(x);
}

function stepsOf(v: HandshakeVector, act: number, kind: 'input' | 'output'): string[] {
  return v.steps.filter((s) => s.act === act && s.kind === kind).map((s) => s.value);
}

function only<T>(xs: T[], what: string): T {
  assert.equal(xs.length, 1, `expected exactly one ${what}`);
  return xs[0] as T;
}

/** The spec writes `ACT2_BAD_VERSION 1` but `ACT1_BAD_VERSION`: accept our name with or without the version. */
function assertSpecError(e: TransportError, expected: string): void {
  const name = specErrorName(e);
  assert.ok(
    name === expected || name.replace(/ \d+$/, '') === expected,
    `got ${name}, spec says ${expected}`,
  );
}

function expectKeys(output: string, first: Uint8Array, second: Uint8Array): void {
  const m = /^(sk,rk|rk,sk)=0x([0-9a-f]{64}),0x([0-9a-f]{64})$/.exec(output);
  assert.ok(m, `unexpected key output ${output}`);
  assert.equal(hex(first), m[2]);
  assert.equal(hex(second), m[3]);
}

test('Appendix A has the expected number of vectors', () => {
  // Guards the parser: a spec change that drops or adds cases must be noticed, not silently passed.
  assert.equal(vectors.initiator.length, 5);
  assert.equal(vectors.responder.length, 10);
  assert.equal(vectors.messages.length, 1);
});

for (const v of vectors.initiator) {
  test(`BOLT 8 ${v.name}`, () => {
    const local = localKeyFromSecret(field(v, 'ls.priv'));
    assert.ok(local.ok);
    assert.equal(hex(local.value.publicKey), hex(field(v, 'ls.pub')));
    const a1 = initiatorActOne({
      local: local.value,
      remotePubkey: field(v, 'rs.pub'),
      ephemeralSecret: field(v, 'e.priv'),
    });
    assert.ok(a1.ok);
    const outputs = v.steps.filter((x) => x.kind === 'output');
    // Act one's output sits before or under `# Act One` depending on the case.
    assert.equal(`0x${hex(a1.value.act)}`, outputs[0]?.value);
    assert.ok((outputs[0]?.act ?? 9) <= 1);
    assert.equal(hex(a1.value.act.subarray(1, 34)), hex(field(v, 'e.pub')));
    const c1 = commentValues(v.comments.filter((c) => c.act === 1));
    if (c1.size > 0) {
      // The `# ...` lines give the internal state after act one.
      assert.equal(hex(a1.value.state.st.ck), c1.get('ck'));
      assert.equal(hex(a1.value.state.st.h), c1.get('h'));
    }
    const input = fromHex(
      only(
        v.steps.filter((x) => x.kind === 'input').map((x) => x.value),
        'act two input',
      ),
    );
    const errors = outputs.map((o) => errorName(o.value)).filter((e) => e !== null);
    const expectedError = errors.length === 0 ? null : only(errors, 'error');
    const r = initiatorActTwo(a1.value.state, input);
    // Streaming form: the same bytes one at a time, then end-of-stream.
    const s = HandshakeStream.initiator({
      local: local.value,
      remotePubkey: field(v, 'rs.pub'),
      ephemeralSecret: field(v, 'e.priv'),
    });
    assert.ok(s.ok);
    let streamed: ReturnType<HandshakeStream['push']> | null = null;
    for (
      let i = 0;
      i < input.length && (streamed === null || (streamed.ok && streamed.value.done === null));
      i++
    ) {
      streamed = s.value.handshake.push(input.subarray(i, i + 1));
    }
    if (expectedError !== null) {
      assert.equal(r.ok, false);
      if (!r.ok) assertSpecError(r.error, expectedError);
      const streamError = streamed !== null && !streamed.ok ? streamed.error : s.value.handshake.end();
      assertSpecError(streamError, expectedError);
      return;
    }
    assert.ok(r.ok);
    const act3 = only(
      stepsOf(v, 3, 'output').filter((o) => o.startsWith('0x')),
      'act three output',
    );
    assert.equal(`0x${hex(r.value.act)}`, act3);
    const keysLine = only(
      outputs.map((o) => o.value).filter((o) => o.startsWith('sk,rk')),
      'final keys',
    );
    expectKeys(keysLine, r.value.session.keys.sendingKey, r.value.session.keys.receivingKey);
    const c3 = commentValues(v.comments.filter((c) => c.act === 3));
    assert.equal(hex(r.value.session.keys.chainingKey), c3.get('ck'));
    assert.ok(streamed?.ok && streamed.value.done !== null);
    assert.equal(hex(streamed.value.send ?? new Uint8Array(0)), hex(r.value.act));
    assert.equal(streamed.value.done.leftover.length, 0);
  });
}

for (const v of vectors.responder) {
  test(`BOLT 8 ${v.name}`, () => {
    const local = localKeyFromSecret(field(v, 'ls.priv'));
    assert.ok(local.ok);
    assert.equal(hex(local.value.publicKey), hex(field(v, 'ls.pub')));
    const st = responderStart({ local: local.value, ephemeralSecret: field(v, 'e.priv') });
    assert.ok(st.ok);
    const in1 = fromHex(only(stepsOf(v, 1, 'input'), 'act one input'));
    const out1 = [...stepsOf(v, 1, 'output'), ...stepsOf(v, 2, 'output')];
    const r1 = responderActOne(st.value, in1);
    const err1 = errorName(out1[0] ?? '');
    const hs = HandshakeStream.responder({ local: local.value, ephemeralSecret: field(v, 'e.priv') });
    assert.ok(hs.ok);
    const p1 = hs.value.push(in1);
    if (err1 !== null) {
      assert.equal(r1.ok, false);
      if (!r1.ok) assertSpecError(r1.error, err1);
      // Streaming: a short act is only an error once the stream ends; nothing is sent either way.
      if (p1.ok) assert.equal(p1.value.send, null);
      const e = p1.ok ? hs.value.end() : p1.error;
      assertSpecError(e, err1);
      return;
    }
    assert.ok(r1.ok);
    assert.equal(`0x${hex(r1.value.act)}`, only(out1, 'act two output'));
    assert.equal(hex(r1.value.act.subarray(1, 34)), hex(field(v, 'e.pub')));
    assert.ok(p1.ok);
    assert.equal(hex(p1.value.send ?? new Uint8Array(0)), hex(r1.value.act));
    const c2 = commentValues(v.comments.filter((c) => c.act === 2));
    if (c2.size > 0) {
      assert.equal(hex(r1.value.state.st.h), c2.get('h'));
      assert.equal(hex(r1.value.state.st.ck), c2.get('ck'));
      assert.equal(hex(r1.value.state.tempK2), c2.get('temp_k2'));
    }
    const in3 = fromHex(only(stepsOf(v, 3, 'input'), 'act three input'));
    const out3 = only(stepsOf(v, 3, 'output'), 'act three output');
    const r3 = responderActThree(r1.value.state, in3);
    const p3 = hs.value.push(in3);
    const err3 = errorName(out3);
    if (err3 !== null) {
      assert.equal(r3.ok, false);
      if (!r3.ok) assertSpecError(r3.error, err3);
      if (p3.ok) assert.equal(p3.value.done, null);
      const e = p3.ok ? hs.value.end() : p3.error;
      assertSpecError(e, err3);
      return;
    }
    assert.ok(r3.ok);
    expectKeys(out3, r3.value.keys.receivingKey, r3.value.keys.sendingKey);
    assert.ok(p3.ok && p3.value.done !== null);
    assert.equal(hex(p3.value.done.session.keys.sendingKey), hex(r3.value.keys.sendingKey));
    const c3 = commentValues(v.comments.filter((c) => c.act === 3));
    assert.equal(hex(r3.value.remotePubkey), c3.get('rs'));
    assert.equal(hex(r3.value.keys.chainingKey), c3.get('ck'));
  });
}

for (const v of vectors.messages) {
  test(`BOLT 8 ${v.name}: "hello" 1002 times across two key rotations`, () => {
    const get = (k: string): Uint8Array => fromHex(v.fields.get(k) ?? '');
    const ck = get('ck');
    const enc = new Encryptor(get('sk'), ck);
    // The receiving side of the same stream decrypts with the sender's key.
    const dec = new Decryptor(get('sk'), ck);
    const hello = utf8('hello');
    // `# encrypt l: ... => 0x...` / `# encrypt m: ... => 0x...` give message 0 and 1 in two halves.
    const halves = v.comments.flatMap((c) => {
      const m = /^encrypt [lm]: .* => 0x([0-9a-f]+)$/.exec(c);
      return m === null ? [] : [m[1] as string];
    });
    assert.equal(halves.length, 4);
    // `# ck', k' = HKDF(ck, k)` lines: the rotated sending key state, twice each in the spec.
    const rotations = [
      ...new Set(
        v.comments.flatMap((c) => {
          const m = /^0x([0-9a-f]{64}), 0x([0-9a-f]{64}) = HKDF\(/.exec(c);
          return m === null ? [] : [`${m[1]},${m[2]}`];
        }),
      ),
    ];
    assert.equal(rotations.length, 2);
    assert.ok(v.outputs.size === 6 && [0, 1, 500, 501, 1000, 1001].every((i) => v.outputs.has(i)));
    let checked = 0;
    for (let i = 0; i <= 1001; i++) {
      if (i === 500 || i === 1000) {
        const [ck2, k2] = (rotations[i === 500 ? 0 : 1] as string).split(',');
        assert.equal(hex(enc.cipherState.state.chainingKey), ck2);
        assert.equal(hex(enc.cipherState.state.key), k2);
        assert.equal(enc.cipherState.state.nonce, 0);
      }
      const frame = enc.encrypt(hello);
      assert.ok(frame.ok);
      const want = v.outputs.get(i);
      if (want !== undefined) {
        assert.equal(hex(frame.value), want, `output ${i}`);
        checked++;
      }
      if (i < 2) assert.equal(hex(frame.value), `${halves[2 * i]}${halves[2 * i + 1]}`);
      const got = dec.push(frame.value);
      assert.ok(got.error === null);
      assert.equal(got.messages.length, 1);
      assert.equal(hex(got.messages[0] as Uint8Array), hex(hello));
    }
    assert.equal(checked, 6);
  });
}
