import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodePlain, encodePlain } from '../../src/node/channel-codec.ts';
import { ActionExecutor, type EmittedEvent, type ExecAction } from '../../src/node/channel-executor.ts';
import { memoryLogger } from '../../src/node/logger.ts';
import { memoryStore } from '../../src/store/sqlite.ts';
import { put, type Store, type StoreOp } from '../../src/store/store.ts';

const b = (s: string) => new TextEncoder().encode(s);

/** A store that records, in one log with the sends, when each batch became durable. */
function harness(opts: { failBatch?: () => boolean; onEmit?: (e: EmittedEvent) => void } = {}) {
  const inner = memoryStore();
  const log: string[] = [];
  const store: Store = {
    ...inner,
    get: inner.get,
    list: inner.list,
    batch(ops: readonly StoreOp[]) {
      if (opts.failBatch?.()) throw new Error('disk full');
      inner.batch(ops);
      const puts = ops.filter((o) => o.kind === 'put' && o.ns === 'chan').map((o) => o.key);
      if (puts.length > 0) log.push(`durable ${puts.join(',')}`);
    },
  };
  const events: EmittedEvent[] = [];
  const ex = new ActionExecutor({
    store,
    send: (peer, bytes) => {
      log.push(`send ${peer} ${new TextDecoder().decode(bytes)}`);
      return true;
    },
    broadcast: async (_raw, label) => {
      log.push(`broadcast ${label}`);
    },
    onEmit: (e) => {
      opts.onEmit?.(e);
      events.push(e);
      log.push(`emit ${encodePlain(e.event)}`);
    },
    log: memoryLogger(),
  });
  return { ex, log, events, store: inner };
}

const persist = (key: string, v = 'x'): ExecAction => ({ kind: 'persist', ops: [put('chan', key, b(v))] });
const send = (m: string): ExecAction => ({ kind: 'send', peerId: 'p', bytes: b(m) });

test('a send after a persist leaves only once the persist is durable', async () => {
  const { ex, log } = harness();
  await ex.submit('c1', [
    send('early'),
    persist('c1'),
    send('commitment_signed'),
    { kind: 'broadcast', raw: b('tx'), label: 'funding' },
  ]);
  assert.deepEqual(log, ['send p early', 'durable c1', 'send p commitment_signed', 'broadcast funding']);
});

test('durable writes of concurrent steps share one batch (one fsync)', async () => {
  const { ex, log } = harness();
  const steps = [];
  for (let i = 0; i < 50; i++) steps.push(ex.submit(`c${i}`, [persist(`c${i}`), send(`m${i}`)]));
  await Promise.all(steps);
  assert.equal(ex.counters.batches, 1);
  assert.equal(ex.counters.durableSteps, 50);
  assert.equal(log[0]!.split(',').length, 50);
  assert.ok(log[0]!.startsWith('durable '));
  assert.equal(log.length, 51);
});

test('steps of one channel run in order even when a later one needs no write', async () => {
  const { ex, log } = harness();
  const a = ex.submit('c', [persist('c', '1'), send('first')]);
  const bb = ex.submit('c', [send('second')]);
  await Promise.all([a, bb]);
  assert.deepEqual(log, ['durable c', 'send p first', 'send p second']);
});

test('a failed durable write stops the step: nothing after it leaves', async () => {
  let fail = true;
  const { ex, log } = harness({ failBatch: () => fail });
  await assert.rejects(ex.submit('c', [persist('c'), send('revoke_and_ack')]), /disk full/);
  assert.deepEqual(log, []);
  fail = false;
  await ex.submit('c', [persist('c'), send('next')]);
  assert.deepEqual(log, ['durable c', 'send p next']);
});

test('a failed write of outbox removals alone (nobody waiting on it) is logged, not an unhandled rejection', async () => {
  let batches = 0;
  const { ex } = harness({ failBatch: () => ++batches >= 2 });
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    await ex.submit('c', [{ kind: 'emit', event: { kind: 'x' } }]);
    await ex.idle();
    for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(batches >= 2, 'the removal batch was attempted');
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test('events: written with the state, delivered after it, removed once handled, ids unique', async () => {
  const { ex, log, events, store } = harness();
  await ex.submit('c', [persist('c'), { kind: 'emit', event: { kind: 'channel_ready', id: b('ab') } }]);
  await ex.submit('c', [{ kind: 'emit', event: { kind: 'htlc', amount: 5n } }]);
  await ex.idle();
  assert.equal(log[0], 'durable c');
  assert.equal(events.length, 2);
  assert.notEqual(events[0]!.id, events[1]!.id);
  assert.deepEqual(events[1]!.event, { kind: 'htlc', amount: 5n });
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    store.list('outbox').map((r) => r.key),
    ['seq'],
  );
});

test('an event whose handler did not finish (crash) is replayed on the next start, with the same id', async () => {
  let crash = true;
  const first = harness({
    onEmit: () => {
      if (crash) throw new Error('process died');
    },
  });
  await first.ex.submit('c', [
    persist('c'),
    { kind: 'emit', event: { kind: 'htlc_received', hash: b('01') } },
  ]);
  const lostId = first.store.list('outbox').find((r) => r.key !== 'seq')!.key;
  crash = false;
  // A new executor over the same store (the restarted process).
  const replayed: EmittedEvent[] = [];
  const again = new ActionExecutor({
    store: first.store,
    send: () => true,
    broadcast: async () => {},
    onEmit: (e) => {
      replayed.push(e);
    },
    log: memoryLogger(),
  });
  assert.equal(await again.replayOutbox(), 1);
  assert.equal(replayed[0]!.id, lostId);
  assert.equal(replayed[0]!.replayed, true);
  assert.deepEqual(replayed[0]!.event, { kind: 'htlc_received', hash: b('01') });
  // New events never reuse an id.
  await again.submit('c', [{ kind: 'emit', event: { k: 1 } }]);
  assert.ok(replayed[1]!.id > lostId);
});

test('property: for any interleaving of steps, no send precedes the durable write of its own step', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.boolean(), fc.integer({ min: 0, max: 3 })), {
        minLength: 1,
        maxLength: 30,
      }),
      async (plan) => {
        const { ex, log } = harness();
        const jobs = plan.map(([chan, doPersist, nSends], i) => {
          const acts: ExecAction[] = [];
          if (doPersist) acts.push(persist(`s${i}`));
          for (let k = 0; k < nSends; k++) acts.push(send(`s${i}.${k}`));
          return ex.submit(`c${chan}`, acts);
        });
        await Promise.all(jobs);
        plan.forEach(([chan, doPersist, nSends], i) => {
          if (!doPersist || nSends === 0) return;
          const durable = log.findIndex(
            (l) => l.startsWith('durable') && l.split(' ')[1]!.split(',').includes(`s${i}`),
          );
          const firstSend = log.indexOf(`send p s${i}.0`);
          assert.ok(durable >= 0 && durable < firstSend, `step ${i} on c${chan}`);
        });
        // Per channel, sends keep submission order.
        for (let c = 0; c < 4; c++) {
          const expected = plan.flatMap(([chan, , n], i) =>
            chan === c ? Array.from({ length: n }, (_, k) => `send p s${i}.${k}`) : [],
          );
          assert.deepEqual(
            log.filter((l) => expected.includes(l)),
            expected,
          );
        }
      },
    ),
    { numRuns: 200 },
  );
});

test('codec: bytes and bigints round-trip inside plain data', () => {
  fc.assert(
    fc.property(fc.uint8Array(), fc.bigInt(), fc.string(), (bytes, n, s) => {
      const v = { bytes, n, s, list: [bytes, n, { deep: [s] }], nil: null };
      assert.deepEqual(decodePlain(encodePlain(v)), v);
    }),
  );
});

test('the events of one batch are one outbox record, removed once every one of them was handled', async () => {
  let holdBack = true;
  const { ex, store } = harness({
    onEmit: (e) => {
      if (holdBack && (e.event as { n: number }).n === 2) throw new Error('handler not ready');
    },
  });
  const steps = [1, 2, 3].map((n) => ex.submit(`c${n}`, [persist(`c${n}`), { kind: 'emit', event: { n } }]));
  await Promise.all(steps);
  await ex.idle();
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  // Event 2's handler failed: the bundle stays, and a restart replays all three (at least once).
  const rows = store.list('outbox').filter((r) => r.key !== 'seq');
  assert.equal(rows.length, 1);
  holdBack = false;
  const replayed: EmittedEvent[] = [];
  const again = new ActionExecutor({
    store,
    send: () => true,
    broadcast: async () => {},
    onEmit: (e) => {
      replayed.push(e);
    },
    log: memoryLogger(),
  });
  assert.equal(await again.replayOutbox(), 3);
  assert.deepEqual(
    replayed.map((e) => [(e.event as { n: number }).n, e.replayed]),
    [
      [1, true],
      [2, true],
      [3, true],
    ],
  );
  await again.idle();
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    store.list('outbox').map((r) => r.key),
    ['seq'],
  );
});

test('outbox records of an older shandian (one JSON event each) are replayed; unreadable ones are skipped and kept', async () => {
  const store = memoryStore();
  const old = (key: string, event: unknown) =>
    new TextEncoder().encode(JSON.stringify({ v: 1, key, event: encodePlain(event) }));
  store.batch([
    put('outbox', '00000000000000000001', old('c/1', { kind: 'htlc', amount: 5n, hash: b('ab') })),
    put('outbox', '00000000000000000002', new Uint8Array([0xff, 0x00])),
    put('outbox', 'seq', new TextEncoder().encode('{"v":1,"seq":"2n"}')),
  ]);
  const replayed: EmittedEvent[] = [];
  const logs: { level: string; msg: string }[] = [];
  const ex = new ActionExecutor({
    store,
    send: () => true,
    broadcast: async () => {},
    onEmit: (e) => {
      replayed.push(e);
    },
    log: memoryLogger(logs),
  });
  assert.equal(await ex.replayOutbox(), 1);
  assert.deepEqual(replayed[0]!.event, { kind: 'htlc', amount: 5n, hash: b('ab') });
  assert.equal(replayed[0]!.id, '00000000000000000001');
  assert.ok(logs.some((l) => l.level === 'error' && /unreadable/.test(l.msg)));
  await ex.idle();
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    store.list('outbox').map((r) => r.key),
    ['00000000000000000002', 'seq'],
  );
  // New ids continue after the old sequence.
  await ex.submit('c', [{ kind: 'emit', event: { k: 1 } }]);
  assert.ok(replayed[1]!.id > '00000000000000000002');
});
