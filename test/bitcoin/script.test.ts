import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  classifyOutput,
  decodeScriptNum,
  encodeScriptNum,
  isMinimalScriptNum,
  isOpReturn,
  isP2PKH,
  isP2SH,
  isP2TR,
  isP2WPKH,
  isP2WSH,
  isPushOnly,
  OP,
  opcodeName,
  opReturn,
  p2pkh,
  p2sh,
  p2tr,
  p2wpkh,
  p2wsh,
  p2wshOfScript,
  parseScript,
  parseScriptText,
  pushData,
  script,
  toAsm,
  witnessProgram,
} from '../../src/bitcoin/script.ts';
import { fromHex, hex } from '../../src/core/bytes.ts';

test('script numbers: known encodings', () => {
  const cases: [bigint, string][] = [
    [0n, ''],
    [1n, '01'],
    [-1n, '81'],
    [127n, '7f'],
    [128n, '8000'],
    [-128n, '8080'],
    [255n, 'ff00'],
    [256n, '0001'],
    [-255n, 'ff80'],
    [0x7fffffffn, 'ffffff7f'],
    [-0x7fffffffn, 'ffffffff'],
    [0x80000000n, '0000008000'],
  ];
  for (const [n, h] of cases) {
    assert.equal(hex(encodeScriptNum(n)), h, `encode ${n}`);
    const d = decodeScriptNum(fromHex(h), true, 5);
    assert.ok(d.ok && d.value === n, `decode ${h}`);
  }
});

test('script numbers: minimal rule and overflow', () => {
  assert.equal(isMinimalScriptNum(fromHex('00')), false);
  assert.equal(isMinimalScriptNum(fromHex('80')), false);
  assert.equal(isMinimalScriptNum(fromHex('0100')), false);
  assert.equal(isMinimalScriptNum(fromHex('8000')), true);
  assert.equal(isMinimalScriptNum(fromHex('ff80')), true);
  assert.deepEqual(decodeScriptNum(fromHex('0100'), true), { ok: false, error: 'non-minimal' });
  assert.deepEqual(decodeScriptNum(fromHex('0100'), false), { ok: true, value: 1n });
  assert.deepEqual(decodeScriptNum(fromHex('0000000001'), false), { ok: false, error: 'overflow' });
  // Negative zero decodes to zero when minimality is not required.
  assert.deepEqual(decodeScriptNum(fromHex('80'), false), { ok: true, value: 0n });
});

test('script numbers: property round-trip, always minimal', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n }), (n) => {
      const b = encodeScriptNum(n);
      assert.ok(isMinimalScriptNum(b));
      const d = decodeScriptNum(b, true, 9);
      assert.ok(d.ok);
      assert.equal(d.value, n);
    }),
  );
});

test('builder: minimal pushes and numbers', () => {
  assert.equal(hex(pushData(new Uint8Array(0))), '00');
  assert.equal(hex(pushData(fromHex('05'))), '55');
  assert.equal(hex(pushData(fromHex('81'))), '4f');
  assert.equal(hex(pushData(fromHex('00'))), '0100');
  assert.equal(hex(pushData(new Uint8Array(75))).slice(0, 2), '4b');
  assert.equal(hex(pushData(new Uint8Array(76))).slice(0, 4), '4c4c');
  assert.equal(hex(pushData(new Uint8Array(256))).slice(0, 6), '4d0001');
  assert.equal(hex(pushData(new Uint8Array(65536))).slice(0, 10), '4e00000100');
  assert.equal(hex(script(0n, 1n, 16n, -1n, 17n, 1000n, -1000n)), '0051604f' + '0111' + '02e803' + '02e883');
  assert.throws(() => script(0x4c));
  assert.throws(() => script(0x100));
});

test('parser: ops, truncated pushes are typed errors', () => {
  const s = fromHex(`76a914${'11'.repeat(20)}88ac`);
  const r = parseScript(s);
  assert.ok(r.ok);
  assert.deepEqual(
    r.value.map((o) => o.opcode),
    [OP.OP_DUP, OP.OP_HASH160, 20, OP.OP_EQUALVERIFY, OP.OP_CHECKSIG],
  );
  assert.equal(hex(r.value[2]!.data!), '11'.repeat(20));
  for (const bad of ['01', '4c', '4c01', '4d0100', '4e01000000', '4e', '0201']) {
    const e = parseScript(fromHex(bad));
    assert.ok(!e.ok, bad);
    assert.equal(e.error.kind, 'truncated-push');
  }
});

test('parser fuzz: random bytes give ops or a typed error, and re-serialize exactly', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
      const r = parseScript(bytes);
      if (!r.ok) {
        assert.equal(r.error.kind, 'truncated-push');
        return;
      }
      let total = 0;
      for (let i = 0; i < r.value.length; i++) {
        const next = r.value[i + 1]?.offset ?? bytes.length;
        total += next - r.value[i]!.offset;
      }
      assert.equal(total, bytes.length);
      toAsm(bytes);
    }),
    { numRuns: 10000 },
  );
});

test('asm: Core ScriptToAsmStr style', () => {
  assert.equal(
    toAsm(p2pkh(new Uint8Array(20).fill(0xab))),
    `OP_DUP OP_HASH160 ${'ab'.repeat(20)} OP_EQUALVERIFY OP_CHECKSIG`,
  );
  assert.equal(
    toAsm(script(0n, 1n, -1n, 16n, 1000n, OP.OP_CHECKLOCKTIMEVERIFY)),
    '0 1 -1 16 1000 OP_CHECKLOCKTIMEVERIFY',
  );
  assert.equal(toAsm(fromHex('4c')), '[error]');
  // A scriptSig with a DER signature: hash type decoded only on request, as Core does for scriptSigs.
  const sig =
    '3044022047ac8e878352d3ebbde1c94ce3a10d057c24175747116f8288e5d794d12d482f0220217f36a485cae903c713331d877c1f64677e3622ad4010726870540656fe9dcb';
  const scriptSig = fromHex(`47${sig}83`);
  assert.equal(toAsm(scriptSig), `${sig}83`);
  assert.equal(toAsm(scriptSig, true), `${sig}[SINGLE|ANYONECANPAY]`);
  assert.equal(toAsm(fromHex(`47${sig}04`), true), `${sig}04`);
  assert.equal(opcodeName(0xbb), 'OP_UNKNOWN');
  assert.equal(opcodeName(0xba), 'OP_CHECKSIGADD');
  assert.equal(opcodeName(0xb2), 'OP_CHECKSEQUENCEVERIFY');
});

test('ParseScript text format (script_tests.json)', () => {
  assert.equal(hex(parseScriptText('0x4c 0x01 0x07')), '4c0107');
  assert.equal(hex(parseScriptText("'Az' EQUAL")), '02417a87');
  assert.equal(hex(parseScriptText("''")), '00');
  assert.equal(hex(parseScriptText('  1  2  ')), '5152');
  assert.equal(hex(parseScriptText('-1 0 16 17 -2')), '4f006001110182');
  assert.equal(hex(parseScriptText('DUP OP_HASH160 NOP2 CHECKLOCKTIMEVERIFY OP_NOP3')), '76a9b1b1b2');
  assert.equal(hex(parseScriptText('RESERVED OP_RESERVED')), '5050');
  assert.equal(hex(parseScriptText('4294967295')), '05ffffffff00');
  assert.throws(() => parseScriptText('4294967296'));
  assert.throws(() => parseScriptText('FOO'));
  assert.throws(() => parseScriptText('OP_1'), 'number opcodes are written as numbers in Core text');
  assert.throws(() => parseScriptText('0x'));
  assert.throws(() => parseScriptText('0x123'));
});

test('templates and classifiers', () => {
  const h20 = new Uint8Array(20).fill(1);
  const h32 = new Uint8Array(32).fill(2);
  assert.equal(hex(p2wpkh(h20)), `0014${hex(h20)}`);
  assert.equal(hex(p2wsh(h32)), `0020${hex(h32)}`);
  assert.equal(hex(p2tr(h32)), `5120${hex(h32)}`);
  assert.equal(hex(p2sh(h20)), `a914${hex(h20)}87`);
  assert.equal(hex(p2pkh(h20)), `76a914${hex(h20)}88ac`);
  assert.ok(isP2WPKH(p2wpkh(h20)) && !isP2WSH(p2wpkh(h20)));
  assert.ok(isP2WSH(p2wsh(h32)) && !isP2TR(p2wsh(h32)));
  assert.ok(isP2TR(p2tr(h32)));
  assert.ok(isP2SH(p2sh(h20)) && isP2PKH(p2pkh(h20)));
  assert.throws(() => p2wpkh(h32));
  assert.deepEqual(witnessProgram(p2tr(h32)), { version: 1, program: h32 });
  assert.equal(witnessProgram(fromHex('0001ff')), null);
  assert.deepEqual(witnessProgram(fromHex('6002abcd')), { version: 16, program: fromHex('abcd') });
  assert.equal(witnessProgram(fromHex('4f02abcd')), null);
  assert.equal(classifyOutput(fromHex('6002abcd')), 'witness_unknown');
  assert.equal(classifyOutput(opReturn(fromHex('deadbeef'))), 'nulldata');
  assert.equal(classifyOutput(fromHex('ac')), 'nonstandard');
  assert.ok(isOpReturn(opReturn()) && !isOpReturn(p2tr(h32)));
  assert.ok(
    isPushOnly(fromHex('0001ff4f5060')) && !isPushOnly(fromHex('61')) && !isPushOnly(fromHex('02ff')),
  );
  // BOLT 3 funding output: 2-of-2 P2WSH.
  const a = fromHex('023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb');
  const b = fromHex('030e9f7b623d2ccc7c9bd44d66d5ce21ce504c0acf6385a132cec6d3c39fa711c1');
  const ws = script(OP.OP_2, a, b, OP.OP_2, OP.OP_CHECKMULTISIG);
  assert.equal(
    hex(ws),
    '5221023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb21030e9f7b623d2ccc7c9bd44d66d5ce21ce504c0acf6385a132cec6d3c39fa711c152ae',
  );
  assert.ok(isP2WSH(p2wshOfScript(ws)));
});
