// The executor's grouping under load: steps of ONE channel submitted in one turn share one fsync, a
// record written several times in a batch is written once (its last value), and a deferred write is
// encoded only if it survives. Persist-before-send still holds for every step.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  ActionExecutor,
  type DeferredPut,
  type ExecAction,
  lastWriteWins,
} from '../../src/node/channel-executor.ts';
import { memoryLogger } from '../../src/node/logger.ts';
import { memoryStore } from '../../src/store/sqlite.ts';
import { del, put, type Store, type StoreOp } from '../../src/store/store.ts';

const b = (s: string) => new TextEncoder().encode(s);
const text = (u: Uint8Array | undefined) => (u === undefined ? undefined : new TextDecoder().decode(u));

function harness() {
  const inner = memoryStore();
  const log: string[] = [];
  const batches: StoreOp[][] = [];
  const store: Store = {
    ...inner,
    batch(ops: readonly StoreOp[]) {
      inner.batch(ops);
      batches.push([...ops]);
      const puts = ops
        .filter((o) => o.kind === 'put' && o.ns === 'chan')
        .map((o) => `${o.key}=${text(o.kind === 'put' ? o.value : undefined)}`);
      if (puts.length > 0) log.push(`durable ${puts.join(',')}`);
    },
  };
  const ex = new ActionExecutor({
    store,
    send: (_peer, bytes) => {
      log.push(`send ${text(bytes)}`);
      return true;
    },
    broadcast: async () => {},
    onEmit: () => {},
    log: memoryLogger(),
  });
  return { ex, log, batches, store: inner };
}

const persist = (key: string, v: string): ExecAction => ({ kind: 'persist', ops: [put('chan', key, b(v))] });
const send = (m: string): ExecAction => ({ kind: 'send', peerId: 'p', bytes: b(m) });

test('steps of one channel submitted in one turn share one batch; each send still follows its write', async () => {
  const { ex, log, batches } = harness();
  const steps = [];
  for (let i = 0; i < 20; i++) steps.push(ex.submit('c', [persist('c', `s${i}`), send(`m${i}`)]));
  await Promise.all(steps);
  assert.equal(ex.counters.batches, 1);
  assert.equal(ex.counters.durableSteps, 20);
  // Only the last state of the channel is written.
  assert.deepEqual(log[0], 'durable c=s19');
  assert.equal(batches[0]!.length, 1);
  assert.deepEqual(
    log.slice(1),
    Array.from({ length: 20 }, (_, i) => `send m${i}`),
  );
});

test('a deferred write is encoded once, at commit, and not at all when superseded', async () => {
  const { ex, store } = harness();
  const made: string[] = [];
  const deferred = (v: string): DeferredPut => ({
    kind: 'deferred',
    ns: 'chan',
    key: 'c',
    make: () => {
      made.push(v);
      return [put('chan', 'c', b(v))];
    },
  });
  const a = ex.submit('c', [{ kind: 'persist', ops: [deferred('one')] }, send('x')]);
  const c = ex.submit('c', [{ kind: 'persist', ops: [deferred('two')] }, send('y')]);
  assert.deepEqual(made, [], 'nothing encoded before the batch commits');
  await Promise.all([a, c]);
  assert.deepEqual(made, ['two']);
  assert.equal(text(store.get('chan', 'c')), 'two');
});

test("a deferred write's extra records land in the same batch; a failed batch tells the writer", async () => {
  const inner = memoryStore();
  let fail = true;
  const batches: StoreOp[][] = [];
  const store: Store = {
    ...inner,
    batch(ops) {
      if (fail) throw new Error('disk full');
      inner.batch(ops);
      batches.push([...ops]);
    },
  };
  const ex = new ActionExecutor({
    store,
    send: () => true,
    broadcast: async () => {},
    onEmit: () => {},
    log: memoryLogger(),
  });
  const failures: string[] = [];
  const deferred = (v: string): DeferredPut => ({
    kind: 'deferred',
    ns: 'chan',
    key: 'c',
    make: () => [put('chan', 'c', b(v)), put('side', `c/${v}`, b(v)), del('side', 'c/old')],
    failed: () => failures.push(v),
  });
  await assert.rejects(ex.submit('c', [{ kind: 'persist', ops: [deferred('one')] }]), /disk full/);
  assert.deepEqual(failures, ['one']);
  fail = false;
  await ex.submit('c', [{ kind: 'persist', ops: [deferred('two')] }]);
  assert.deepEqual(failures, ['one']);
  assert.equal(batches.length, 1);
  assert.deepEqual(
    batches[0]!.map((o) => `${o.kind} ${o.ns}/${o.key}`),
    ['put chan/c', 'put side/c/two', 'delete side/c/old'],
  );
  assert.equal(text(inner.get('side', 'c/two')), 'two');
});

test('a step submitted after the batch was written waits for the next one', async () => {
  const { ex, log } = harness();
  await ex.submit('c', [persist('c', '1'), send('first')]);
  await ex.submit('c', [persist('c', '2'), send('second')]);
  assert.equal(ex.counters.batches, 2);
  assert.deepEqual(log, ['durable c=1', 'send first', 'durable c=2', 'send second']);
});

test('lastWriteWins: the batch has the same effect as writing every op in order', () => {
  const op = fc.oneof(
    fc.record({
      kind: fc.constant('put' as const),
      ns: fc.constantFrom('a', 'b'),
      key: fc.constantFrom('k1', 'k2', 'k3'),
      v: fc.string({ maxLength: 3 }),
    }),
    fc.record({
      kind: fc.constant('delete' as const),
      ns: fc.constantFrom('a', 'b'),
      key: fc.constantFrom('k1', 'k2', 'k3'),
    }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 30 }), (plan) => {
      const ops: StoreOp[] = plan.map((o) =>
        o.kind === 'put' ? put(o.ns, o.key, b(o.v)) : del(o.ns, o.key),
      );
      const all = memoryStore();
      for (const o of ops) all.batch([o]);
      const once = memoryStore();
      const kept = lastWriteWins(ops);
      once.batch(kept);
      for (const ns of ['a', 'b'])
        assert.deepEqual(
          once.list(ns).map((r) => [r.key, text(r.value)]),
          all.list(ns).map((r) => [r.key, text(r.value)]),
        );
      // At most one op per record survives.
      assert.equal(new Set(kept.map((o) => `${o.ns}/${o.key}`)).size, kept.length);
    }),
    { numRuns: 300 },
  );
});

test('property: many steps over a few channels in one turn: final store = last state per channel, sends after their write', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.boolean()), { minLength: 1, maxLength: 25 }),
      async (plan) => {
        const { ex, log, store } = harness();
        const jobs = plan.map(([chan, doPersist], i) =>
          ex.submit(`c${chan}`, doPersist ? [persist(`c${chan}`, `s${i}`), send(`m${i}`)] : [send(`m${i}`)]),
        );
        await Promise.all(jobs);
        for (let c = 0; c < 3; c++) {
          const last = plan.map(([chan, p], i) => (chan === c && p ? `s${i}` : undefined)).filter((x) => x);
          assert.equal(text(store.get('chan', `c${c}`)), last[last.length - 1]);
        }
        plan.forEach(([chan, doPersist], i) => {
          const sent = log.indexOf(`send m${i}`);
          assert.ok(sent >= 0);
          if (doPersist) {
            // The write that covers step i: this channel's state of step i or of a later step.
            const covers = (l: string) =>
              l.startsWith('durable') &&
              l
                .slice('durable '.length)
                .split(',')
                .some((w) => w.startsWith(`c${chan}=s`) && Number(w.split('=s')[1]) >= i);
            const durable = log.findIndex(covers);
            assert.ok(durable >= 0 && durable < sent, `step ${i} sent before its write`);
          }
        });
      },
    ),
    { numRuns: 100 },
  );
});

test('commitNow writes the open group at once (its send follows), and its immediate writes nothing again', async () => {
  const { ex, log, batches, store } = harness();
  const step = ex.submit('c', [persist('c', 'signed'), send('commitment_signed')]);
  assert.equal(store.get('chan', 'c'), undefined, 'nothing written before the turn ends');
  ex.commitNow();
  assert.equal(text(store.get('chan', 'c')), 'signed', 'durable without waiting for the turn');
  assert.equal(ex.counters.batches, 1);
  await step;
  assert.deepEqual(log, ['durable c=signed', 'send commitment_signed']);
  await new Promise((r) => setImmediate(r));
  assert.equal(batches.length, 1, 'the group is not written twice');
  // A step submitted after it opens a group of its own, committed at its turn's end as before.
  await ex.submit('c', [persist('c', 'next'), send('revoke_and_ack')]);
  assert.equal(ex.counters.batches, 2);
  ex.commitNow(); // nothing open: nothing written
  assert.equal(ex.counters.batches, 2);
});
