// SHA256 of one buffer: hash.ts takes node:crypto's one-shot path for a single part (~1.7x faster than
// createHash for the 32-byte inputs of hash chains; the shachain walks up to 48 of them per secret).
import { sha256 } from './hash.ts';

export const sha256Oneshot = (data: Uint8Array): Uint8Array => sha256(data);
