// The `shandian` executable. `start`, `devnet` and `demo` run something; every other word is a JSON-RPC
// call to a running node, with params positional or key=value as lightning-cli takes them.

import { homedir } from 'node:os';
import { join } from 'node:path';
import { type NetworkName, parseNetwork } from '../node/config.ts';
import { UsageError } from '../node/errors.ts';
import { RpcCallError, RpcClient } from '../rpc/client.ts';
import { stringifyJson } from '../rpc/json.ts';

export interface GlobalOptions {
  datadir: string;
  network: NetworkName;
  rpcFile?: string;
}

const LOCAL_COMMANDS = new Set(['start', 'devnet', 'demo', 'version', '--version', '-V', '--help', '-h']);

export function defaultDatadir(): string {
  return process.env.SHANDIAN_DIR ?? join(homedir(), '.shandian');
}

/** Splits `[global options] command [args...]`; global options may also follow the command. */
export function splitGlobal(argv: string[]): {
  global: GlobalOptions;
  command: string | undefined;
  rest: string[];
} {
  const global: GlobalOptions = { datadir: defaultDatadir(), network: 'devnet' };
  const rest: string[] = [];
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const [flag, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === '--datadir' || flag === '--lightning-dir') global.datadir = requireValue(flag, value());
    else if (flag === '--network') global.network = parseNetwork(requireValue(flag, value()));
    else if (flag === '--rpc-file') global.rpcFile = requireValue(flag, value());
    else if (command === undefined && !a.startsWith('-')) command = a;
    else if (command === undefined && LOCAL_COMMANDS.has(a)) command = a;
    else rest.push(a);
  }
  return { global, command, rest };
}

function requireValue(flag: string, v: string | undefined): string {
  if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
  return v;
}

/** lightning-cli's rule: a param that parses as JSON (number, bool, null, array, object) is sent as JSON. */
function cliValue(text: string): unknown {
  if (/^(-?\d+(\.\d+)?|true|false|null)$/.test(text) || /^[[{]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

export function cliParams(args: string[]): unknown[] | Record<string, unknown> {
  const named = args.length > 0 && args.every((a) => /^[a-z_][a-z0-9_]*=/.test(a));
  if (!named) return args.map(cliValue);
  const out: Record<string, unknown> = {};
  for (const a of args) {
    const eq = a.indexOf('=');
    out[a.slice(0, eq)] = cliValue(a.slice(eq + 1));
  }
  return out;
}

export function rpcPath(global: GlobalOptions): string {
  return global.rpcFile ?? join(global.datadir, global.network, 'lightning-rpc');
}

async function rpcCommand(global: GlobalOptions, method: string, args: string[]): Promise<number> {
  const client = new RpcClient(rpcPath(global));
  try {
    const result = await client.call(method, cliParams(args));
    process.stdout.write(`${stringifyJson(result, 2)}\n`);
    return 0;
  } catch (e) {
    if (e instanceof RpcCallError) {
      process.stdout.write(
        `${stringifyJson({ code: e.code, message: e.message, ...(e.data ? { data: e.data } : {}) }, 2)}\n`,
      );
      return 1;
    }
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
      process.stderr.write(
        `shandian: no node is running at ${rpcPath(global)} (start one with: shandian start --network ${global.network} --datadir ${global.datadir})\n`,
      );
      return 2;
    }
    process.stderr.write(`shandian: ${err.message}\n`);
    return 2;
  } finally {
    client.close();
  }
}

function usage(): string {
  return [
    'usage: shandian [--datadir DIR] [--network NET] <command> [params...]',
    '',
    '  start    run a node         (shandian start --network devnet --listen 127.0.0.1:9735)',
    '  devnet   run the embedded regtest chain',
    '  demo     run the seed scenario on loopback',
    '  <method> call a running node over JSON-RPC, e.g. getinfo, connect <id@host:port>, listpeers,',
    '           ping <id>, disconnect <id>, stop; params positional or key=value. `shandian help` lists all.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof splitGlobal>;
  try {
    parsed = splitGlobal(argv);
  } catch (e) {
    process.stderr.write(`shandian: ${(e as Error).message}\n${usage()}\n`);
    return 2;
  }
  const { global, command, rest } = parsed;
  try {
    switch (command) {
      case undefined:
      case '--help':
      case '-h':
        process.stdout.write(`${usage()}\n`);
        return command === undefined ? 2 : 0;
      case 'version':
      case '--version':
      case '-V': {
        const { VERSION } = await import('../node/version.ts');
        process.stdout.write(`${VERSION}\n`);
        return 0;
      }
      case 'start': {
        const { startCommand } = await import('./start.ts');
        return await startCommand(global, rest);
      }
      case 'devnet': {
        const { devnetCommand } = await import('./devnet.ts');
        return await devnetCommand(global, rest);
      }
      case 'demo': {
        const { demoCommand } = await import('./demo.ts');
        return await demoCommand(global, rest);
      }
      default:
        return await rpcCommand(global, command, rest);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`shandian: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
