// The signature worker pool answers exactly as the calling thread does, whichever share an item falls
// in, and falls back to the calling thread when a worker cannot start, dies, hangs or fails.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ecdsaSign, ecdsaVerify, publicKeyOf, sha256 } from '../../src/crypto/index.ts';
import { POOL_PROTOCOL as P, SignaturePool, type VerifyItem } from '../../src/crypto/signature-pool.ts';

const pools: SignaturePool[] = [];
after(() => {
  for (const p of pools) p.close();
});

function pool(options: ConstructorParameters<typeof SignaturePool>[0]): SignaturePool {
  const p = new SignaturePool({ threshold: 2, ...options });
  pools.push(p);
  return p;
}

async function ready(p: SignaturePool, workers: number): Promise<void> {
  p.start();
  for (let i = 0; i < 200 && p.readyWorkers < workers; i++) await sleep(25);
  assert.equal(p.readyWorkers, workers, 'workers did not start');
}

/** Deterministic pseudo-random bytes for item `i` of batch `tag`. */
const bytes = (tag: number, i: number) => sha256(new Uint8Array([tag, i & 0xff, i >> 8]));

function batch(tag: number, n: number) {
  const secrets = Array.from({ length: n }, (_, i) => bytes(tag, i));
  const digests = Array.from({ length: n }, (_, i) => bytes(tag + 1, i));
  return { secrets, digests };
}

function inThreadSigs(digests: readonly Uint8Array[], secrets: readonly Uint8Array[]): Uint8Array[] {
  return digests.map((d, i) => ecdsaSign(d, secrets[i]!).compact);
}

/** Valid signatures, with some made invalid: a flipped bit, a wrong key, wrong sizes, r = n. */
function verifyItems(tag: number, n: number, bad: ReadonlySet<number>): VerifyItem[] {
  const { secrets, digests } = batch(tag, n);
  return digests.map((digest, i) => {
    const signature = ecdsaSign(digest, secrets[i]!).compact;
    const pubkey = publicKeyOf(secrets[i]!);
    if (!bad.has(i)) return { signature, digest, pubkey };
    switch (i % 5) {
      case 0: {
        const s = Uint8Array.from(signature);
        s[10]! ^= 1;
        return { signature: s, digest, pubkey };
      }
      case 1:
        return { signature, digest, pubkey: publicKeyOf(bytes(tag + 2, i)) };
      case 2:
        return { signature: signature.subarray(0, 63), digest, pubkey };
      case 3:
        return { signature: new Uint8Array(64).fill(0xff), digest, pubkey };
      default:
        return { signature, digest, pubkey: publicKeyOf(secrets[i]!, false) }; // 65 bytes: still valid
    }
  });
}

const inThreadVerify = (items: readonly VerifyItem[]) =>
  items.map((it) => ecdsaVerify(it.signature, it.digest, it.pubkey));

test('signatures from the pool are those of the calling thread, in order, for random batches', async () => {
  const p = pool({ workers: 1 });
  await ready(p, 1);
  for (const [tag, n] of [
    [10, 2],
    [20, 3],
    [30, 31],
    [40, 483],
  ] as const) {
    const { secrets, digests } = batch(tag, n);
    assert.deepEqual(p.signAll(digests, secrets), inThreadSigs(digests, secrets));
  }
  assert.equal(p.readyWorkers, 1, 'the worker is still in use');
});

test('verification answers match the calling thread, a bad signature found by a worker', async () => {
  // The calling thread leaves every item to the worker: the worker's answers are what is checked.
  const p = pool({ workers: 1, callerJoins: false });
  await ready(p, 1);
  const n = 100;
  for (const bad of [[], [1], [n - 1], [0, 2, 3, 4, 50, 51, 52, 53, 54, 97, 98, 99]]) {
    const items = verifyItems(50, n, new Set(bad));
    const got = p.verifyAll(items);
    assert.deepEqual(got, inThreadVerify(items));
    for (const i of bad) if (i % 5 !== 4) assert.equal(got[i], false, `item ${i} must fail`);
    assert.equal(got.filter((x) => !x).length, bad.filter((i) => i % 5 !== 4).length);
  }
  // Wrong sizes (a 63-byte signature, a 65-byte key) are answered by the calling thread.
  const wrongSized = [1, n - 1, 0, 2, 3, 4, 50, 51, 52, 53, 54, 97, 98, 99].filter(
    (i) => i % 5 === 2 || i % 5 === 4,
  );
  assert.equal(p.workerItems, 4 * n - wrongSized.length, 'the worker checked all the others');
});

test('workers and the calling thread share a batch: results in order, whoever did each item', async () => {
  const p = pool({ workers: 1 });
  await ready(p, 1);
  for (let round = 0; round < 5; round++) {
    const items = verifyItems(60 + round, 200, new Set([0, 1, 2, 100, 150, 197, 198, 199]));
    assert.deepEqual(p.verifyAll(items), inThreadVerify(items));
  }
});

test('two workers and a capacity smaller than the batch: the rest stays in the calling thread', async () => {
  const p = pool({ workers: 2, capacity: 10, callerJoins: false });
  await ready(p, 2);
  const { secrets, digests } = batch(60, 77);
  assert.deepEqual(p.signAll(digests, secrets), inThreadSigs(digests, secrets));
  assert.equal(p.workerItems, 10);
  const items = verifyItems(70, 77, new Set([5, 70, 76]));
  assert.deepEqual(p.verifyAll(items), inThreadVerify(items));
});

test('an invalid secret throws as it does in the calling thread, wherever it falls', async () => {
  const p = pool({ workers: 1, callerJoins: false });
  await ready(p, 1);
  const { secrets, digests } = batch(80, 20);
  secrets[19] = new Uint8Array(32); // zero: not a valid secret, in the worker's share
  assert.throws(() => p.signAll(digests, secrets));
  secrets[19] = new Uint8Array(31); // wrong size: never sent to the worker
  assert.throws(() => p.signAll(digests, secrets));
  assert.equal(p.readyWorkers, 1, 'a failed item does not cost the worker');
  const fine = batch(81, 20);
  assert.deepEqual(p.signAll(fine.digests, fine.secrets), inThreadSigs(fine.digests, fine.secrets));
});

test('a worker that cannot start: everything runs in the calling thread', async () => {
  const p = pool({ workers: 1, workerSource: 'throw new Error("no")' });
  p.start();
  await sleep(300);
  assert.equal(p.readyWorkers, 0);
  const { secrets, digests } = batch(90, 40);
  assert.deepEqual(p.signAll(digests, secrets), inThreadSigs(digests, secrets));
});

// A worker that says it is ready, then misbehaves once it has a job (`took`: after taking it).
const readyThen = (onJob: string, took = true) => `
const { workerData } = require('node:worker_threads');
const ctl = new Int32Array(workerData.memory, 0, 8);
const w = workerData.stateWord;
Atomics.store(ctl, w, ${P.IDLE});
Atomics.notify(ctl, w);
while (Atomics.load(ctl, w) !== ${P.JOB}) Atomics.wait(ctl, w, Atomics.load(ctl, w));
${took ? `Atomics.compareExchange(ctl, w, ${P.JOB}, ${P.WORKING});` : ''}
${onJob}
`;

test('a worker that dies during a job: its share is done in the calling thread, then no more worker', async () => {
  // The calling thread leaves the items to the worker, so the worker surely takes the job.
  // A death is seen when the worker's 'exit' event runs, which the blocked calling thread cannot run:
  // it waits out the timeout (the node's is 2 s), so the test keeps both short.
  for (const timeoutMs of [500, 3_000]) {
    const p = pool({
      workers: 1,
      timeoutMs,
      callerJoins: false,
      workerSource: readyThen('process.exit(1);'),
    });
    await ready(p, 1);
    const items = verifyItems(100, 60, new Set([3, 59]));
    assert.deepEqual(p.verifyAll(items), inThreadVerify(items));
    await sleep(50);
    assert.equal(p.readyWorkers, 0);
    const { secrets, digests } = batch(110, 60);
    assert.deepEqual(p.signAll(digests, secrets), inThreadSigs(digests, secrets));
  }
});

test('a worker that takes a job and never answers: the caller waits at most the timeout', async () => {
  // It claims an item, so the calling thread cannot finish without it.
  const hangs = readyThen(`Atomics.add(ctl, ${P.CLAIM}, 1); for (;;) Atomics.wait(ctl, 7, 0);`);
  const p = pool({ workers: 1, timeoutMs: 300, callerJoins: false, workerSource: hangs });
  await ready(p, 1);
  const { secrets, digests } = batch(120, 60);
  const start = performance.now();
  assert.deepEqual(p.signAll(digests, secrets), inThreadSigs(digests, secrets));
  assert.ok(performance.now() - start < 5000, 'never hangs');
  assert.equal(p.readyWorkers, 0, 'a worker that did not answer is never used again');
  const items = verifyItems(130, 60, new Set([0, 59]));
  assert.deepEqual(p.verifyAll(items), inThreadVerify(items));
  assert.equal(p.workerItems, 0);
});

test('a worker that never wakes up: the calling thread takes the job back and does it all', async () => {
  const sleeps = readyThen('for (;;) Atomics.wait(ctl, 7, 0);', false);
  const p = pool({ workers: 1, timeoutMs: 60_000, workerSource: sleeps });
  await ready(p, 1);
  const { secrets, digests } = batch(125, 60);
  const start = performance.now();
  assert.deepEqual(p.signAll(digests, secrets), inThreadSigs(digests, secrets));
  assert.ok(performance.now() - start < 30_000, 'did not wait for the timeout');
});

test('a worker that reports items failed or undone: the calling thread redoes them', async () => {
  const lazy = readyThen(
    `const flags = new Int32Array(workerData.memory, ${4 * (P.STATE_BASE + 28)}, workerData.capacity);
     for (let i = Atomics.add(ctl, ${P.CLAIM}, 1); i < Atomics.load(ctl, ${P.COUNT}); i = Atomics.add(ctl, ${P.CLAIM}, 1))
       if (i % 2 === 0) Atomics.store(flags, i, ${P.FAILED_ITEM});
     Atomics.store(ctl, w, ${P.DONE}); Atomics.notify(ctl, w); for (;;) Atomics.wait(ctl, 7, 0);`,
  );
  const p = pool({ workers: 1, callerJoins: false, workerSource: lazy });
  await ready(p, 1);
  const items = verifyItems(140, 40, new Set([1, 39]));
  assert.deepEqual(p.verifyAll(items), inThreadVerify(items));
  assert.equal(p.workerItems, 0);
});

test('no workers, or batches under the threshold: the calling thread alone', () => {
  const p = pool({ workers: 0 });
  const { secrets, digests } = batch(150, 30);
  assert.deepEqual(p.signAll(digests, secrets), inThreadSigs(digests, secrets));
  assert.equal(p.readyWorkers, 0);
  assert.equal(p.workerItems, 0);
  const q = pool({ workers: 1, threshold: 100 });
  assert.deepEqual(q.signAll(digests, secrets), inThreadSigs(digests, secrets));
  assert.equal(q.readyWorkers, 0, 'not started for a small batch');
});

test("signEach / verifyEach: inputs made one by one while the worker runs give the calling thread's answers", async () => {
  const p = pool({ workers: 1 });
  await ready(p, 1);
  const secret = bytes(90, 0);
  const { digests } = batch(91, 483);
  // A slow maker (as a sighash is): the worker catches up with it and must wait for each item.
  const slow = (i: number) => {
    const until = performance.now() + 0.05;
    while (performance.now() < until);
    return digests[i]!;
  };
  const sigs = p.signEach(483, slow, secret);
  assert.deepEqual(
    sigs,
    digests.map((d) => ecdsaSign(d, secret).compact),
  );
  const items = verifyItems(92, 300, new Set([0, 7, 150, 299]));
  // undefined: an item that cannot be valid (as a missing sighash), answered false.
  const got = p.verifyEach(301, (i) => (i === 300 ? undefined : items[i]!));
  assert.deepEqual(got, [...inThreadVerify(items), false]);
  assert.ok(p.workerItems > 0, 'the worker took part');
});

test('signEach: a maker that throws part-way throws, and the pool still answers right afterwards', async () => {
  const p = pool({ workers: 1, timeoutMs: 60_000 });
  await ready(p, 1);
  const { secrets, digests } = batch(95, 200);
  const start = performance.now();
  assert.throws(
    () =>
      p.signEach(
        200,
        (i) => {
          if (i === 120) throw new Error('no sighash for item 120');
          return digests[i]!;
        },
        secrets[0]!,
      ),
    /no sighash for item 120/,
  );
  assert.ok(performance.now() - start < 30_000, 'no worker left waiting for the rest');
  assert.equal(p.readyWorkers, 1, 'the worker is still in use');
  assert.deepEqual(p.signAll(digests, secrets), inThreadSigs(digests, secrets));
});
