// The chain seams conformance suite against the devnet in process (DevnetChain over a Devnet).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressFromScript } from '../../src/bitcoin/address.ts';
import { DevnetChain } from '../../src/chain/devnet/adapter.ts';
import { Devnet } from '../../src/chain/devnet/node.ts';
import { DevnetWallet } from '../../src/chain/devnet/wallet.ts';
import { systemEntropy } from '../../src/crypto/random.ts';
import { conformance } from './conformance.ts';

conformance('devnet in process', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shandian-devnet-'));
  const node = new Devnet({ datadir: dir });
  const wallet = new DevnetWallet(node, systemEntropy);
  return {
    chain: new DevnetChain(node),
    control: {
      mine: async (n) => node.mine(n, wallet.miningScript),
      invalidate: async (id) => {
        const r = node.invalidateBlock(id);
        if (!r.ok) throw new Error(r.error.message);
      },
      reconsider: async (id) => {
        const r = node.reconsiderBlock(id);
        if (!r.ok) throw new Error(r.error.message);
      },
      fund: async (script, sats) => {
        const r = wallet.send(addressFromScript('regtest', script)!, sats);
        if (!r.ok) throw new Error(r.error.message);
        return r.value.id;
      },
    },
    close: async () => {
      node.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
