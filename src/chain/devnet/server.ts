// The devnet as a process: Bitcoin Core's JSON-RPC (1.0 and 2.0, batches, named parameters) over HTTP on
// loopback, with Basic auth from a user/password or a `.cookie` file in the datadir like Core, plus the
// block timer and automine.

import { timingSafeEqual } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { hex } from '../../core/bytes.ts';
import { type EntropySource, systemEntropy } from '../../crypto/random.ts';
import { Devnet, RPC } from './node.ts';
import { methods, positional, RpcError } from './rpc.ts';
import { DevnetWallet } from './wallet.ts';

export interface StartDevnetOptions {
  readonly datadir: string;
  readonly host?: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** Mine one block to the faucet every this many milliseconds. */
  readonly blockTimeMs?: number;
  /** Mine a block whenever a transaction enters the mempool. */
  readonly automine?: boolean;
  /** Core's -mempoolfullrbf (default true, as in Core 28). */
  readonly fullRbf?: boolean;
  /** Fixed credentials; the cookie works either way. */
  readonly rpcUser?: string;
  readonly rpcPassword?: string;
  readonly entropy?: EntropySource;
  /** Seconds since the epoch (tests move time forward). */
  readonly now?: () => number;
}

export interface RunningDevnet {
  readonly url: string;
  readonly rpcUser: string;
  readonly rpcPassword: string;
  readonly cookieFile: string;
  readonly node: Devnet;
  readonly wallet: DevnetWallet;
  stop(): Promise<void>;
}

const MAX_BODY = 32 * 1024 * 1024;

export async function startDevnet(options: StartDevnetOptions): Promise<RunningDevnet> {
  const entropy = options.entropy ?? systemEntropy;
  const node = new Devnet({
    datadir: options.datadir,
    automine: options.automine ?? false,
    fullRbf: options.fullRbf ?? true,
    ...(options.now ? { now: options.now } : {}),
  });
  const wallet = new DevnetWallet(node, entropy);
  node.automineScript = wallet.miningScript;
  const cookieFile = join(options.datadir, '.cookie');
  const cookiePassword = hex(entropy.randomBytes(32));
  writeFileSync(cookieFile, `__cookie__:${cookiePassword}`, { mode: 0o600 });
  const accepted = [`__cookie__:${cookiePassword}`];
  if (options.rpcUser !== undefined && options.rpcPassword !== undefined)
    accepted.push(`${options.rpcUser}:${options.rpcPassword}`);

  let stopping: Promise<void> | null = null;
  let timer: ReturnType<typeof setInterval> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (timer) clearInterval(timer);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      node.close();
      rmSync(cookieFile, { force: true });
    })();
    return stopping;
  };
  const table = methods({ node, wallet, stop: () => void stop() });

  const authorised = (req: IncomingMessage): boolean => {
    const header = req.headers.authorization ?? '';
    if (!header.startsWith('Basic ')) return false;
    const given = Buffer.from(Buffer.from(header.slice(6), 'base64').toString('utf8'));
    return accepted.some((a) => {
      const want = Buffer.from(a);
      return want.length === given.length && timingSafeEqual(want, given);
    });
  };

  const call = (request: unknown): { status: number; body: unknown } | null => {
    const req = (request ?? {}) as { method?: unknown; params?: unknown; id?: unknown; jsonrpc?: unknown };
    const v2 = req.jsonrpc === '2.0';
    const id = req.id ?? null;
    const reply = (
      result: unknown,
      error: { code: number; message: string } | null,
    ): { status: number; body: unknown } => {
      if (v2)
        return { status: 200, body: error ? { jsonrpc: '2.0', error, id } : { jsonrpc: '2.0', result, id } };
      const status = !error
        ? 200
        : error.code === RPC.INVALID_REQUEST
          ? 400
          : error.code === RPC.METHOD_NOT_FOUND
            ? 404
            : 500;
      return { status, body: { result: error ? null : result, error, id } };
    };
    try {
      if (typeof request !== 'object' || request === null || Array.isArray(request)) {
        throw new RpcError(RPC.INVALID_REQUEST, 'Invalid Request object');
      }
      if (typeof req.method !== 'string') throw new RpcError(RPC.INVALID_REQUEST, 'Method must be a string');
      const method = table.get(req.method);
      if (!method) throw new RpcError(RPC.METHOD_NOT_FOUND, 'Method not found');
      const result = method.run(positional(method, req.params));
      if (v2 && !('id' in req)) return null; // a JSON-RPC 2.0 notification gets no reply
      return reply(result === undefined ? null : result, null);
    } catch (e) {
      if (e instanceof RpcError) return reply(null, { code: e.code, message: e.message });
      return reply(null, { code: RPC.MISC_ERROR, message: e instanceof Error ? e.message : String(e) });
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const send = (status: number, payload: unknown): void => {
      const text = payload === undefined ? '' : `${JSON.stringify(payload)}\n`;
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(text);
    };
    if (!authorised(req)) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="jsonrpc"' });
      res.end();
      return;
    }
    if (req.method !== 'POST') {
      send(405, undefined);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      send(500, { result: null, error: { code: RPC.PARSE_ERROR, message: 'Parse error' }, id: null });
      return;
    }
    if (Array.isArray(parsed)) {
      const replies = parsed
        .map(call)
        .filter((r) => r !== null)
        .map((r) => r.body);
      send(200, replies);
      return;
    }
    const r = call(parsed);
    if (r === null) {
      res.writeHead(204);
      res.end();
    } else send(r.status, r.body);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        res.writeHead(413);
        res.end();
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!res.writableEnded) handle(req, res, Buffer.concat(chunks).toString('utf8'));
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  if (options.blockTimeMs && options.blockTimeMs > 0) {
    timer = setInterval(() => {
      try {
        node.mine(1, wallet.miningScript);
      } catch {
        // a failed timer block is retried on the next tick
      }
    }, options.blockTimeMs);
  }
  const creds = options.rpcUser !== undefined && options.rpcPassword !== undefined;
  return {
    url: `http://${host}:${address.port}`,
    rpcUser: creds ? options.rpcUser! : '__cookie__',
    rpcPassword: creds ? options.rpcPassword! : cookiePassword,
    cookieFile,
    node,
    wallet,
    stop,
  };
}
