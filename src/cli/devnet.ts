// `shandian devnet`: the embedded regtest chain as its own process.
import type { GlobalOptions } from './main.ts';
import { UsageError } from '../node/errors.ts';

export async function devnetCommand(_global: GlobalOptions, _args: string[]): Promise<number> {
  throw new UsageError('devnet is not wired into the CLI yet');
}
