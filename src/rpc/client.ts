// A JSON-RPC client for the node's unix socket: what the CLI, the demo and the end-to-end tests use.
import { connect, type Socket } from 'node:net';
import { JsonStreamSplitter, stringifyJson } from './json.ts';

export class RpcCallError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export class RpcClient {
  private nextId = 1;
  private socket: Socket | null = null;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(readonly path: string) {}

  private open(): Promise<Socket> {
    if (this.socket) return Promise.resolve(this.socket);
    return new Promise((resolve, reject) => {
      const socket = connect(this.path);
      const splitter = new JsonStreamSplitter();
      socket.setEncoding('utf8');
      socket.once('connect', () => {
        this.socket = socket;
        resolve(socket);
      });
      socket.on('data', (chunk: string) => {
        for (const text of splitter.push(chunk)) {
          const msg = JSON.parse(text) as {
            id: number;
            result?: unknown;
            error?: { code: number; message: string; data?: unknown };
          };
          const waiter = this.pending.get(msg.id);
          if (!waiter) continue;
          this.pending.delete(msg.id);
          if (msg.error) waiter.reject(new RpcCallError(msg.error.code, msg.error.message, msg.error.data));
          else waiter.resolve(msg.result);
        }
      });
      const fail = (e: Error) => {
        this.socket = null;
        reject(e);
        for (const w of this.pending.values())
          w.reject(new Error(`connection to ${this.path} lost: ${e.message}`));
        this.pending.clear();
      };
      socket.on('error', fail);
      socket.on('close', () => fail(new Error('closed')));
    });
  }

  async call<T = unknown>(method: string, params: unknown = {}): Promise<T> {
    const socket = await this.open();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      socket.write(stringifyJson({ jsonrpc: '2.0', id, method, params }));
    });
  }

  close(): void {
    this.socket?.end();
    this.socket = null;
  }
}
