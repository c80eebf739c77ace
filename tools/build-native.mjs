// Builds the optional N-API addons under native/ at `npm ci`: native/libsecp256k1 (ECDSA through the
// system's libsecp256k1) and native/libsodium (ChaCha20-Poly1305 through libsodium). When one cannot be
// built (no libsecp256k1-dev / libsodium-dev, no compiler) shandian uses its portable path for that part,
// so this never fails the install; it says what happened in one line per addon.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ADDONS = [
  {
    dir: 'libsecp256k1',
    module: 'secp256k1_system',
    what: 'ECDSA, tweaks and ECDH through the system libsecp256k1',
    fallback: 'secp256k1 through the package',
    apt: 'libsecp256k1-dev',
  },
  {
    dir: 'libsodium',
    module: 'chacha20poly1305_system',
    what: 'ChaCha20-Poly1305 through libsodium',
    fallback: 'ChaCha20-Poly1305 through node:crypto',
    apt: 'libsodium-dev',
  },
];
const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'native');

/** npm's own node-gyp: npm passes its path to install scripts; else the one beside this node's npm. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(
      dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
  ];
  for (const c of candidates) if (c && existsSync(c)) return c;
  try {
    return createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return undefined;
  }
}

const gyp = nodeGyp();
for (const a of ADDONS) {
  if (gyp === undefined) {
    console.log(`shandian: node-gyp not found; ${a.fallback}`);
    continue;
  }
  const dir = join(root, a.dir);
  const args = [gyp, 'rebuild', '--directory', dir];
  if (process.env.npm_config_nodedir) args.push(`--nodedir=${process.env.npm_config_nodedir}`);
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (r.status === 0 && existsSync(join(dir, 'build', 'Release', `${a.module}.node`))) {
    console.log(`shandian: built native/${a.dir} (${a.what})`);
    continue;
  }
  const log = `${r.stderr ?? ''}${r.stdout ?? ''}`;
  const why =
    log.match(/fatal error: [^\n]*|cannot find -l\S+|error: [^\n]*/)?.[0] ?? `node-gyp exit ${r.status}`;
  console.log(
    `shandian: native/${a.dir} not built (${why}); ${a.fallback} (apt-get install ${a.apt}, then npm ci, for the faster path)`,
  );
}
