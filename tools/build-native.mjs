// Builds native/libsecp256k1 (an N-API binding to the system's libsecp256k1) at `npm ci`. Optional:
// when the build fails (no libsecp256k1-dev, no compiler) shandian uses the `secp256k1` package for
// everything, so this never fails the install; it says what happened in one line.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'native', 'libsecp256k1');
const out = join(dir, 'build', 'Release', 'secp256k1_system.node');

/** npm's own node-gyp: npm passes its path to install scripts; else the one beside this node's npm. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  for (const c of candidates) if (c && existsSync(c)) return c;
  try {
    return createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return undefined;
  }
}

const gyp = nodeGyp();
if (gyp === undefined) {
  console.log('shandian: node-gyp not found; ECDSA through the secp256k1 package');
  process.exit(0);
}
const args = [gyp, 'rebuild', '--directory', dir];
if (process.env.npm_config_nodedir) args.push(`--nodedir=${process.env.npm_config_nodedir}`);
const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
if (r.status === 0 && existsSync(out)) {
  console.log('shandian: built native/libsecp256k1 (ECDSA through the system libsecp256k1)');
} else {
  const why = `${r.stderr ?? ''}${r.stdout ?? ''}`.match(/fatal error: [^\n]*|cannot find -l\S+|error: [^\n]*/)?.[0];
  console.log(
    `shandian: native/libsecp256k1 not built (${why ?? `node-gyp exit ${r.status}`}); ECDSA through the secp256k1 package (apt-get install libsecp256k1-dev, then npm ci, for the faster path)`,
  );
}
