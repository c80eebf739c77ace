import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cliParams } from '../../src/cli/main.ts';
import { memoryLogger } from '../../src/node/logger.ts';
import { type RpcCallError, RpcClient } from '../../src/rpc/client.ts';
import { RpcError } from '../../src/rpc/errors.ts';
import { JsonStreamSplitter, stringifyJson } from '../../src/rpc/json.ts';
import { bindParams, type MethodSpec, methodTable, parseMsat } from '../../src/rpc/methods.ts';
import { startRpcServer } from '../../src/rpc/server.ts';

const echo: MethodSpec = {
  name: 'echo',
  description: 'returns its params',
  params: [
    { name: 'text', type: 'string', required: true },
    { name: 'count', type: 'integer' },
    { name: 'amount', type: 'msat' },
  ],
  handler: (p) => p,
};

test('positional and named params bind to the declared names, with type checks', () => {
  assert.deepEqual(bindParams(echo, ['hi', 3]), { text: 'hi', count: 3 });
  assert.deepEqual(bindParams(echo, { text: 'hi', amount: '5sat' }), { text: 'hi', amount: 5000n });
  assert.throws(() => bindParams(echo, []), /missing required parameter 'text'/);
  assert.throws(() => bindParams(echo, ['a', 'x']), /count: expected an integer/);
  assert.throws(() => bindParams(echo, { text: 'a', bogus: 1 }), /unknown parameter 'bogus'/);
  assert.throws(() => bindParams(echo, ['a', 1, 2, 3]), /at most 3 parameters/);
});

test('amounts parse as Core Lightning accepts them', () => {
  assert.equal(parseMsat(1000, 'a'), 1000n);
  assert.equal(parseMsat('1000msat', 'a'), 1000n);
  assert.equal(parseMsat('7sat', 'a'), 7000n);
  assert.equal(parseMsat('0.001btc', 'a'), 100_000_000n);
  assert.throws(() => parseMsat('-1', 'a'), RpcError);
  assert.throws(() => parseMsat(1.5, 'a'), RpcError);
});

test('the stream splitter finds back-to-back JSON objects across chunk boundaries', () => {
  const s = new JsonStreamSplitter();
  assert.deepEqual(s.push('{"a":"}{"}{"b'), ['{"a":"}{"}']);
  assert.deepEqual(s.push('":[1,{"c":"\\""}]}  \n{"d":1}'), ['{"b":[1,{"c":"\\""}]}', '{"d":1}']);
  assert.throws(() => s.push('x'), SyntaxError);
});

test('bigints print as exact JSON numbers', () => {
  assert.equal(stringifyJson({ a: 5n, b: 2n ** 64n }), `{"a":5,"b":${2n ** 64n}}`);
});

test('lightning-cli parameter conventions', () => {
  assert.deepEqual(cliParams(['abc', '12', 'true']), ['abc', 12, true]);
  assert.deepEqual(cliParams(['id=02ab', 'amount_msat=100']), { id: '02ab', amount_msat: 100 });
  assert.deepEqual(cliParams(['02ab@127.0.0.1:9735']), ['02ab@127.0.0.1:9735']);
});

test('unix socket server: calls, errors, malformed input, and the socket is 0600', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shandian-rpc-'));
  const path = join(dir, 'lightning-rpc');
  const failing: MethodSpec = {
    name: 'fail',
    description: '',
    params: [],
    handler: () => {
      throw new RpcError(402, 'peer went away');
    },
  };
  const crashing: MethodSpec = {
    name: 'crash',
    description: '',
    params: [],
    handler: () => {
      throw new Error('boom');
    },
  };
  const server = await startRpcServer(path, methodTable([echo, failing, crashing]), memoryLogger());
  try {
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const client = new RpcClient(path);
    assert.deepEqual(await client.call('echo', ['x', 2]), { text: 'x', count: 2 });
    await assert.rejects(
      client.call('fail'),
      (e: RpcCallError) => e.code === 402 && e.message === 'peer went away',
    );
    await assert.rejects(
      client.call('crash'),
      (e: RpcCallError) => e.code === -32603 && /boom/.test(e.message),
    );
    await assert.rejects(client.call('nope'), (e: RpcCallError) => e.code === -32601);
    await assert.rejects(client.call('echo', [1]), (e: RpcCallError) => e.code === -32602);
    // Garbage gets a parse error and the connection closes; the server keeps serving others.
    const raw = await new Promise<string>((resolve) => {
      const s = connect(path);
      let out = '';
      s.on('data', (d) => (out += d));
      s.on('close', () => resolve(out));
      s.write('not json');
    });
    assert.match(raw, /"code":-32700/);
    assert.deepEqual(await client.call('echo', { text: 'still here' }), { text: 'still here' });
    client.close();
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unix socket server: a burst of requests in one write gets every response, in order, then more work later', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shandian-rpc-'));
  const path = join(dir, 'lightning-rpc');
  const server = await startRpcServer(path, methodTable([echo]), memoryLogger());
  try {
    const N = 500;
    const burst = Array.from({ length: N }, (_, i) =>
      stringifyJson({ jsonrpc: '2.0', id: i, method: 'echo', params: [`m${i}`] }),
    ).join('');
    const ids: number[] = [];
    const s = connect(path);
    const splitter = new JsonStreamSplitter();
    const done = new Promise<void>((resolve) =>
      s.on('data', (d) => {
        for (const t of splitter.push(d.toString())) {
          const r = JSON.parse(t);
          assert.equal(r.result.text, `m${r.id}`);
          ids.push(r.id);
          if (ids.length === N + 1) resolve();
        }
      }),
    );
    s.write(burst);
    // A request in a later turn still gets its answer (the per-turn write queue starts again).
    setTimeout(
      () => s.write(stringifyJson({ jsonrpc: '2.0', id: N, method: 'echo', params: [`m${N}`] })),
      50,
    );
    await done;
    assert.deepEqual(
      ids,
      Array.from({ length: N + 1 }, (_, i) => i),
    );
    s.destroy();
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unix socket server: the answers to a burst are written together before an immediate queued during it runs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shandian-rpc-'));
  const path = join(dir, 'lightning-rpc');
  // As a node's first dev-addhtlc schedules the signing of the commitment: an immediate that would hold
  // the answers back if they waited for the turn's end.
  const order: string[] = [];
  let handled = 0;
  const mark: MethodSpec = {
    name: 'mark',
    description: 'test',
    params: [],
    handler: () => {
      if (handled++ === 0) setImmediate(() => order.push('immediate'));
      return { n: handled };
    },
  };
  const server = await startRpcServer(path, methodTable([mark]), memoryLogger());
  const realWrite = Socket.prototype.write;
  Socket.prototype.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
    // Only the server's writes, once it answers (the client's burst is written before any handler).
    if (handled > 0) order.push(`write ${String(args[0]).split('"jsonrpc"').length - 1}`);
    return realWrite.apply(this, args);
  } as Socket['write'];
  try {
    const N = 100;
    const s = connect(path);
    const splitter = new JsonStreamSplitter();
    let got = 0;
    const done = new Promise<void>((resolve) =>
      s.on('data', (d) => {
        got += splitter.push(d.toString()).length;
        if (got === N) resolve();
      }),
    );
    s.write(
      Array.from({ length: N }, (_, i) =>
        stringifyJson({ jsonrpc: '2.0', id: i, method: 'mark', params: [] }),
      ).join(''),
    );
    await done;
    assert.deepEqual(order.slice(0, 2), [`write ${N}`, 'immediate']);
    s.destroy();
  } finally {
    Socket.prototype.write = realWrite;
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
