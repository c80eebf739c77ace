// SHA256 of one buffer through node:crypto's one-shot `hash` (Node >= 20.12): ~1.7x faster than
// createHash for the 32-byte inputs of hash chains (the shachain walks up to 48 of them per secret).
import * as nodeCrypto from 'node:crypto';

type OneShot = (algo: string, data: Uint8Array, encoding: 'buffer') => Buffer;
const oneShot = (nodeCrypto as unknown as { hash?: OneShot }).hash;

export const sha256Oneshot: (data: Uint8Array) => Uint8Array =
  oneShot !== undefined
    ? (data) => {
        const b = oneShot('sha256', data, 'buffer');
        // A copy: small results may sit in a shared pool, and callers may mutate what they get.
        return new Uint8Array(b);
      }
    : (data) => new Uint8Array(nodeCrypto.createHash('sha256').update(data).digest());
