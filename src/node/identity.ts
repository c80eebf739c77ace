// The node's identity: every key comes from one BIP39 seed kept in the seed file (0600, or encrypted with
// a passphrase). On first start the mnemonic is printed once, for the operator to write down.
import { readFileSync } from 'node:fs';
import { systemEntropy } from '../crypto/random.ts';
import { KeyChain, type Network } from '../keys/derivation.ts';
import { openOrCreateSeedFile, SeedFileError } from '../keys/seed-file.ts';
import type { NetworkParams } from './config.ts';
import { UsageError } from './errors.ts';
import type { Logger } from './logger.ts';

export interface Identity {
  readonly keys: KeyChain;
  readonly nodeSecret: Uint8Array;
}

/** devnet is a regtest chain: it keeps its seed where a regtest node would. */
export function keysNetwork(network: NetworkParams): Network {
  return network.name === 'devnet' ? 'regtest' : network.name;
}

export function loadIdentity(
  datadir: string,
  network: NetworkParams,
  passphraseFile: string | undefined,
  log: Logger,
): Identity {
  const passphrase =
    passphraseFile === undefined ? undefined : readFileSync(passphraseFile, 'utf8').replace(/\r?\n$/, '');
  let loaded: ReturnType<typeof openOrCreateSeedFile>;
  try {
    loaded = openOrCreateSeedFile(
      { datadir, network: keysNetwork(network), ...(passphrase === undefined ? {} : { passphrase }) },
      systemEntropy,
    );
  } catch (e) {
    if (e instanceof SeedFileError) throw new UsageError(e.message);
    throw e;
  }
  if (loaded.created && loaded.mnemonic) {
    process.stderr.write(
      [
        '',
        'A new node seed was created. Write these 24 words down and keep them offline: they restore',
        "this node's on-chain funds. They are shown only this once.",
        '',
        `  ${loaded.mnemonic}`,
        '',
        `Seed file: ${loaded.path}${loaded.encrypted ? ' (encrypted with your passphrase)' : ' (mode 0600)'}`,
        '',
      ].join('\n'),
    );
    log.info({ path: loaded.path, encrypted: loaded.encrypted }, 'created a new seed');
  }
  const keys = new KeyChain(loaded.seed, keysNetwork(network));
  return { keys, nodeSecret: keys.nodeKey().secret };
}
