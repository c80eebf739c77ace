// JSON-RPC 2.0 on a unix socket, as Core Lightning's `lightning-rpc`: requests are JSON objects streamed
// back to back; each response is a JSON object followed by a blank line.

import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { flushWhenQuiet } from '../core/quiet-flush.ts';
import { RPC_INTERNAL_ERROR, RPC_INVALID_REQUEST, RPC_PARSE_ERROR, RpcError } from './errors.ts';
import { JsonStreamSplitter, stringifyJson } from './json.ts';
import { callMethod, type MethodTable } from './methods.ts';

export interface RpcLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface RpcServer {
  readonly path: string;
  close(): Promise<void>;
}

type Id = string | number | null;

function response(id: Id, body: { result: unknown } | { error: unknown }): string {
  return `${stringifyJson({ jsonrpc: '2.0', id, ...body })}\n\n`;
}

/** Runs one request text to a response text; never throws. */
export async function handleRequestText(table: MethodTable, text: string, log: RpcLogger): Promise<string> {
  let req: { id?: Id; method?: unknown; params?: unknown };
  try {
    req = JSON.parse(text);
  } catch {
    return response(null, { error: new RpcError(RPC_PARSE_ERROR, 'Parse error: request is not valid JSON') });
  }
  const id: Id = req && (typeof req.id === 'string' || typeof req.id === 'number') ? req.id : null;
  if (!req || typeof req !== 'object' || typeof req.method !== 'string') {
    return response(id, {
      error: new RpcError(RPC_INVALID_REQUEST, 'Invalid request: expected {"method": ...}'),
    });
  }
  try {
    // No log line per successful call: at 483 dev-addhtlc per burst the debug file's pino writes were
    // ~14 µs each; failures below are still logged.
    const result = await callMethod(table, req.method, req.params);
    return response(id, { result: result ?? {} });
  } catch (e) {
    if (e instanceof RpcError) return response(id, { error: e });
    log.warn({ method: req.method, err: (e as Error).stack }, 'rpc handler failed');
    return response(id, {
      error: new RpcError(RPC_INTERNAL_ERROR, `internal error: ${(e as Error).message}`),
    });
  }
}

export async function startRpcServer(path: string, table: MethodTable, log: RpcLogger): Promise<RpcServer> {
  if (existsSync(path)) unlinkSync(path); // a stale socket from a crash; the datadir lock guards against a live node
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.setEncoding('utf8');
    const splitter = new JsonStreamSplitter();
    let chain = Promise.resolve();
    // Answers finished in one burst of callbacks go out in one write (483 dev-addhtlc in one burst
    // were 483 writes), as soon as the burst is over: not at the turn's end, where they waited behind
    // the signing of the commitment those adds went into.
    let out: string[] = [];
    const write = () => {
      const texts = out;
      out = [];
      if (texts.length > 0 && !socket.destroyed) socket.write(texts.join(''));
    };
    const queue = (text: string) => {
      if (socket.destroyed) return;
      out.push(text);
      if (out.length === 1) flushWhenQuiet(() => out.length, write);
    };
    socket.on('data', (chunk: string) => {
      let texts: string[];
      try {
        texts = splitter.push(chunk);
      } catch (e) {
        socket.end(
          response(null, { error: new RpcError(RPC_PARSE_ERROR, `Parse error: ${(e as Error).message}`) }),
        );
        return;
      }
      for (const text of texts) {
        // Answer in order, one request at a time per connection.
        chain = chain.then(async () => {
          queue(await handleRequestText(table, text, log));
        });
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
