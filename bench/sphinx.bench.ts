// Sphinx benchmark: build a 20-hop payment onion, peel one hop (plain and blinded), attribute a returned
// error over 20 hops, each beside the cost of one ECDH (src/crypto) measured in the same run, and the
// number of secp256k1 operations each needs. Writes bench/results/sphinx.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createBlindedPath,
  decryptRecipientData,
  encodeEncryptedData,
} from '../src/bolt04-onion/blinding.ts';
import { createErrorPacket, decodeErrorPacket, wrapErrorPacket } from '../src/bolt04-onion/error-packet.ts';
import { ecdhWithSecret } from '../src/bolt04-onion/keys.ts';
import { encodeHopPayload } from '../src/bolt04-onion/payload.ts';
import { buildOnion, peelOnion } from '../src/bolt04-onion/sphinx.ts';
import { msat } from '../src/core/units.ts';
import { ecdh, pubkeyTweakMul, publicKeyOf, secpBackend, sha256 } from '../src/crypto/index.ts';
import { repoRoot } from '../src/testing/spec.ts';

const ROUNDS = 7;
const ROUND_MS = 300;

/** Microseconds per call: batches for about `ms`, median over ROUNDS. */
function micros(fn: () => void): number {
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let n = 0;
    const start = performance.now();
    let now = start;
    while (now - start < ROUND_MS) {
      for (let i = 0; i < 8; i++) fn();
      n += 8;
      now = performance.now();
    }
    rounds.push(((now - start) * 1000) / n);
  }
  rounds.sort((a, b) => a - b);
  return rounds[Math.floor(rounds.length / 2)]!;
}

function must<T>(r: { ok: true; value: T } | { ok: false; error: unknown }): T {
  if (!r.ok) throw new Error(`bench setup failed: ${JSON.stringify(r.error)}`);
  return r.value;
}

const HOPS = 20;
const keys = Array.from({ length: HOPS }, (_, i) => sha256(new Uint8Array([1, i])));
const ids = keys.map((k) => publicKeyOf(k));
const session = sha256(new Uint8Array([2]));
const ad = sha256(new Uint8Array([3]));
// A realistic forward payload (amount, expiry, channel): 22 bytes, 55 with its frame; 20 hops fit in 1300.
const payloads = keys.map((_, i) =>
  encodeHopPayload({
    amtToForward: msat(1_000_000 + i),
    outgoingCltvValue: 800_000 + i,
    shortChannelId: BigInt(i) << 20n,
  }),
);
const route = ids.map((publicKey, i) => ({ publicKey, payload: payloads[i]! }));
const built = must(buildOnion({ sessionKey: session, associatedData: ad, hops: route }));
const ecdh0 = ecdhWithSecret(keys[0]!);

// A blinded hop: the node receives path_key beside the onion.
const { path } = createBlindedPath({
  sessionKey: sha256(new Uint8Array([4])),
  hops: [
    {
      nodeId: ids[0]!,
      encryptedData: encodeEncryptedData({
        shortChannelId: 5n,
        paymentRelay: { cltvExpiryDelta: 40, feeProportionalMillionths: 100, feeBaseMsat: 1000 },
      }),
    },
    { nodeId: ids[1]!, encryptedData: encodeEncryptedData({ pathId: new Uint8Array(32) }) },
  ],
});
const blindedOnion = must(
  buildOnion({
    sessionKey: session,
    associatedData: ad,
    hops: path.hops.map((h) => ({
      publicKey: h.blindedNodeId,
      payload: encodeHopPayload({ encryptedRecipientData: h.encryptedRecipientData }),
    })),
  }),
).packet;
const secrets = built.hopKeys.map((k) => k.sharedSecret);
let errorPacket = createErrorPacket(secrets[HOPS - 1]!, new Uint8Array([0x20, 0x02]));
for (let i = HOPS - 2; i >= 0; i--) errorPacket = wrapErrorPacket(secrets[i]!, errorPacket);

const scalar = sha256(new Uint8Array([5]));
const ecdhUs = micros(() => ecdh(ids[0]!, keys[1]!));
const tweakUs = micros(() => pubkeyTweakMul(ids[0]!, scalar));
const buildUs = micros(() => must(buildOnion({ sessionKey: session, associatedData: ad, hops: route })));
const peelUs = micros(() => must(peelOnion(built.packet, ecdh0, ad)));
const peelBlindedUs = micros(() => {
  const p = must(peelOnion(blindedOnion, ecdh0, ad, { pathKey: path.firstPathKey }));
  must(
    decryptRecipientData(path.firstPathKey, path.hops[0]!.encryptedRecipientData, {
      pathKeySharedSecret: p.pathKeySharedSecret!,
    }),
  );
});
const errorUs = micros(() => must(decodeErrorPacket(secrets, errorPacket)));

const figures = [
  { metric: 'ECDH (src/crypto, one call)', value: ecdhUs, unit: 'us', ecdh: 1, bound: 'reference' },
  { metric: 'pubkey tweak-mul (one call)', value: tweakUs, unit: 'us', ecdh: 0, bound: 'reference' },
  {
    metric: `build ${HOPS}-hop payment onion`,
    value: buildUs,
    unit: 'us',
    ecdh: HOPS,
    ops: `${HOPS} ECDH + ${HOPS} base-point mults + ${HOPS - 1} scalar mults (mod n)`,
    bound: `${(buildUs / ecdhUs).toFixed(1)} ECDH-equivalents (floor: ~${2 * HOPS})`,
  },
  {
    metric: 'peel one hop (forward)',
    value: peelUs,
    unit: 'us',
    ecdh: 1,
    ops: '1 ECDH + 1 pubkey tweak-mul + HMAC + 2600-byte ChaCha20',
    bound: `${(peelUs / ecdhUs).toFixed(2)} ECDH-equivalents (floor: ~${((ecdhUs + tweakUs) / ecdhUs).toFixed(2)})`,
  },
  {
    metric: 'peel one blinded hop + decrypt encrypted_recipient_data',
    value: peelBlindedUs,
    unit: 'us',
    ecdh: 2,
    ops: '2 ECDH + 2 pubkey tweak-mul + HMAC + ChaCha20 + ChaCha20-Poly1305 (+1 tweak-mul for the next path key)',
    bound: `${(peelBlindedUs / ecdhUs).toFixed(2)} ECDH-equivalents`,
  },
  {
    metric: `attribute an error over ${HOPS} hops (27 rounds)`,
    value: errorUs,
    unit: 'us',
    ecdh: 0,
    ops: '27 x (ammag ChaCha20 + um HMAC); shared secrets come from the build',
    bound: `${(errorUs / ecdhUs).toFixed(2)} ECDH-equivalents`,
  },
];

console.log(`secp256k1 backend: ${secpBackend}`);
for (const f of figures) {
  console.log(`${f.metric.padEnd(58)} ${f.value.toFixed(1).padStart(9)} us   ${f.bound}`);
}
const dir = join(repoRoot, 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(
  join(dir, 'sphinx.json'),
  `${JSON.stringify({ bench: 'sphinx', node: process.version, secpBackend, rounds: ROUNDS, roundMs: ROUND_MS, figures }, null, 2)}\n`,
);
