// EntropySource: the only place randomness enters (DESIGN.md seams). The core takes bytes as arguments.
import { randomBytes as nodeRandomBytes } from 'node:crypto';

export interface EntropySource {
  randomBytes(n: number): Uint8Array;
}

export const systemEntropy: EntropySource = {
  randomBytes: (n) => new Uint8Array(nodeRandomBytes(n)),
};
