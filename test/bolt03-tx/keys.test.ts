// BOLT 3 Appendix E (key derivation), read from the spec unchanged.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  commitmentNumberObscurer,
  derivePrivkey,
  derivePubkey,
  deriveRevocationPrivkey,
  deriveRevocationPubkey,
  perCommitmentPoint,
} from '../../src/bolt03-tx/keys.ts';
import { fromHex, hex } from '../../src/core/bytes.ts';
import { publicKeyOf } from '../../src/crypto/index.ts';
import { appendixC, appendixE } from './vectors.ts';

const e = appendixE();

test('Appendix E: common points follow from the secrets', () => {
  assert.equal(hex(publicKeyOf(e.baseSecret)), hex(e.basePoint));
  assert.equal(hex(perCommitmentPoint(e.perCommitmentSecret)), hex(e.perCommitmentPoint));
});

test('Appendix E: every case is known and run', () => {
  const fields = e.cases.map((c) => c.field).sort();
  assert.deepEqual(fields, ['localprivkey', 'localpubkey', 'revocationprivkey', 'revocationpubkey']);
});

for (const c of e.cases) {
  test(`Appendix E: ${c.name}`, () => {
    let got: Uint8Array;
    switch (c.field) {
      case 'localpubkey':
        got = derivePubkey(e.basePoint, e.perCommitmentPoint);
        break;
      case 'localprivkey':
        got = derivePrivkey(e.baseSecret, e.perCommitmentPoint);
        assert.equal(hex(publicKeyOf(got)), hex(derivePubkey(e.basePoint, e.perCommitmentPoint)));
        break;
      case 'revocationpubkey':
        got = deriveRevocationPubkey(e.basePoint, e.perCommitmentPoint);
        break;
      case 'revocationprivkey':
        got = deriveRevocationPrivkey(e.baseSecret, e.perCommitmentSecret);
        assert.equal(hex(publicKeyOf(got)), hex(deriveRevocationPubkey(e.basePoint, e.perCommitmentPoint)));
        break;
      default:
        throw new Error(`unknown Appendix E field ${c.field}`);
    }
    assert.equal(hex(got), hex(c.value));
  });
}

test('Appendix C: obscuring factor 0x2bb038521914 from the payment basepoints', () => {
  const c = appendixC();
  const local = fromHex(c.params.get('local_payment_basepoint')!);
  const remote = fromHex(c.params.get('remote_payment_basepoint')!);
  assert.equal(commitmentNumberObscurer(local, remote), 0x2bb038521914n);
});

test('derivePubkey rejects a non-point', () => {
  assert.throws(() => derivePubkey(new Uint8Array(33), e.perCommitmentPoint));
});
