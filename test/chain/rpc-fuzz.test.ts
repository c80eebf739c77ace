// Fuzz: every devnet RPC method with random parameters either answers or fails with an RpcError carrying
// a Core error code; nothing else escapes (that would be a -1 "internal" answer or a crash path).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { Devnet } from '../../src/chain/devnet/node.ts';
import { methods, positional, RpcError } from '../../src/chain/devnet/rpc.ts';
import { DevnetWallet } from '../../src/chain/devnet/wallet.ts';
import { systemEntropy } from '../../src/crypto/random.ts';

test('fuzz: random parameters to every method give a result or an RpcError', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shandian-rpcfuzz-'));
  const node = new Devnet({ datadir: dir });
  try {
    const wallet = new DevnetWallet(node, systemEntropy);
    node.mine(3, wallet.miningScript);
    const table = methods({ node, wallet, stop: () => undefined });
    // Mining with a random count could run for hours, stop would stop: both are exercised elsewhere.
    const names = [...table.keys()].filter(
      (n) => !['stop', 'generatetoaddress', 'generatetodescriptor', 'generateblock'].includes(n),
    );
    const hashLike = fc.constantFrom(node.tipId, node.idAt(0)!, '00'.repeat(32), 'zz', '');
    const param = fc.oneof(
      fc.anything(),
      hashLike,
      fc.integer({ min: -5, max: 5 }),
      fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b).toString('hex')),
    );
    let answered = 0;
    let refused = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.oneof(fc.array(param, { maxLength: 4 }), fc.dictionary(fc.string(), param)),
        (name, params) => {
          const m = table.get(name)!;
          try {
            m.run(positional(m, params));
            answered++;
          } catch (e) {
            assert.ok(e instanceof RpcError, `${name}(${JSON.stringify(params)}) threw ${String(e)}`);
            assert.ok(Number.isInteger(e.code) && e.code < 0);
            refused++;
          }
        },
      ),
      { numRuns: 3000 },
    );
    assert.ok(answered > 0 && refused > 0, `answered ${answered}, refused ${refused}`);
  } finally {
    node.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
