// The chain seams conformance suite against the Bitcoin Core adapter, talking JSON-RPC to a devnet server
// (authenticated with the cookie file from its datadir, as with bitcoind).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { URL } from 'node:url';
import { addressFromScript } from '../../src/bitcoin/address.ts';
import { BitcoindChain } from '../../src/chain/bitcoind.ts';
import { startDevnet } from '../../src/chain/devnet/server.ts';
import { conformance } from './conformance.ts';

conformance('bitcoind adapter over JSON-RPC', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shandian-devnet-'));
  const devnet = await startDevnet({ datadir: dir });
  const url = new URL(devnet.url);
  const chain = new BitcoindChain({
    rpcconnect: url.hostname,
    rpcport: Number(url.port),
    datadir: dir,
    network: 'regtest',
  });
  const mineTo = await chain.rpc.call<string>('getnewaddress');
  return {
    chain,
    control: {
      mine: (n) => chain.rpc.call<string[]>('generatetoaddress', [n, mineTo]),
      invalidate: async (id) => {
        await chain.rpc.call('invalidateblock', [id]);
      },
      reconsider: async (id) => {
        await chain.rpc.call('reconsiderblock', [id]);
      },
      fund: (script, sats) =>
        chain.rpc.call<string>('sendtoaddress', [addressFromScript('regtest', script), Number(sats) / 1e8]),
    },
    close: async () => {
      await devnet.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
