// Optional N-API addons under native/ (built at npm ci by tools/build-native.mjs when the system library
// they bind is installed). A missing addon is normal: the caller falls back to its portable path.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** Where an addon's module is once built: native/<dir>/build/Release/<name>.node. */
export function nativeAddonPath(dir: string, name: string): string {
  return fileURLToPath(new URL(`../../native/${dir}/build/Release/${name}.node`, import.meta.url));
}

/**
 * The addon, or undefined when it is not built, cannot load, or `disableEnv` is set to 0 (for A/B runs
 * and tests of the fallback).
 */
export function loadNativeAddon<T>(path: string, disableEnv: string): T | undefined {
  if (process.env[disableEnv] === '0') return undefined;
  try {
    return require(path) as T;
  } catch {
    return undefined;
  }
}
