// Loads the BOLT 4 JSON vectors from ../shared unchanged.
import { readFileSync } from 'node:fs';
import { decodeBigSize } from '../../src/core/bigsize.ts';
import { specPath } from '../../src/testing/spec.ts';

// biome-ignore lint/suspicious/noExplicitAny: vector files are untyped JSON
export type Json = any;

export function loadVector(name: string): Json {
  return JSON.parse(readFileSync(specPath('bolts', 'bolt04', name), 'utf8'));
}

/** onion-test.json gives payloads with their bigsize length prefix already on. */
export function stripLengthPrefix(framed: Uint8Array): Uint8Array {
  const { value, length } = decodeBigSize(framed, 0);
  if (BigInt(framed.length - length) !== value) throw new Error('vector payload length prefix mismatch');
  return framed.subarray(length);
}
