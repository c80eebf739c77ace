// Locates the shared specification and vectors beside the checkout (../shared), read unchanged.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const sharedRoot = resolve(repoRoot, '..', 'shared');

export function specPath(...parts: string[]): string {
  return join(sharedRoot, 'spec', ...parts);
}

export function readSpec(...parts: string[]): string {
  return readFileSync(specPath(...parts), 'utf8');
}

export function readBolt(name: string): string {
  return readSpec('bolts', name);
}

export function vectorPath(...parts: string[]): string {
  return join(sharedRoot, 'vectors', ...parts);
}
