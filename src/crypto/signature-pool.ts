// Batches of ECDSA signatures and verifications shared with worker threads, for commitment_signed with
// many HTLCs (one signature per HTLC transaction). The channel reducer is synchronous, and so is this:
// the calling thread puts the batch in shared memory, wakes the workers, claims items alongside them,
// then blocks on Atomics.wait until the items the workers claimed are done. While the two nodes of a
// channel ping-pong, the second core is otherwise idle.
//
// Results are those of the in-thread path, item for item (RFC 6979 signatures are deterministic). A
// worker that cannot start or dies is not used; one that does not answer in time stops the pool for
// good (it might still write the shared memory): what it had claimed, and every later batch, is done
// in-thread.

import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ecdsaSign, ecdsaVerify, secpBackend, systemSecpInUse, systemSecpPath } from './secp256k1.ts';

const require = createRequire(import.meta.url);

/** One item to verify: a 64-byte compact signature of a 32-byte digest by a 33-byte key. */
export interface VerifyItem {
  readonly signature: Uint8Array;
  readonly digest: Uint8Array;
  readonly pubkey: Uint8Array;
}

export interface SignaturePoolOptions {
  /** Worker threads; 0 does everything in the calling thread. */
  readonly workers: number;
  /** Batches smaller than this are done in-thread (handing work over costs ~50-100 µs). */
  readonly threshold?: number;
  /** How long to wait for a worker's share before doing it in-thread and dropping the worker. */
  readonly timeoutMs?: number;
  /** Most items a batch shares with the workers (sizes the shared memory); the rest stays in-thread. */
  readonly capacity?: number;
  /** For tests: the worker's source, to make one that fails. */
  readonly workerSource?: string;
  /** For tests: false leaves every item to the workers (what they do not finish is still done here). */
  readonly callerJoins?: boolean;
}

/**
 * The protocol between the calling thread and the workers, over one SharedArrayBuffer: Int32 control
 * words (the claim counter, the item count, the operation, then one state word per worker), one Int32
 * flag per item, the items' inputs, the items' outputs. Exported for the tests' misbehaving workers.
 */
export const POOL_PROTOCOL = {
  CLAIM: 0,
  COUNT: 1,
  OP: 2,
  /** Items 0..READY-1 are written: the calling thread publishes them one by one, workers already busy. */
  READY: 3,
  /** Worker k's state word is STATE_BASE + k. */
  STATE_BASE: 4,
  // States (0, the memory's initial value: the worker is still loading).
  IDLE: 1,
  JOB: 2,
  WORKING: 3,
  DONE: 4,
  // Operations.
  SIGN: 1,
  VERIFY: 2,
  // Item flags: 0 not done by a worker, DONE_ITEM its output is valid, FAILED_ITEM it threw, SKIP left
  // to the calling thread.
  DONE_ITEM: 1,
  FAILED_ITEM: 2,
  SKIP: 3,
} as const;
const P = POOL_PROTOCOL;
const MAX_WORKERS = 28;
const CONTROL_BYTES = 4 * (P.STATE_BASE + MAX_WORKERS);
// Inputs: sign reads digest || secret, verify signature || digest || pubkey (33). Outputs: a 64-byte
// signature, or one byte (1 = valid).
const INPUT_STRIDE = 129;
const OUTPUT_STRIDE = 64;

/**
 * The worker: the native libsecp256k1 binding, loaded in the worker's own thread (N-API addons load
 * per thread), and a loop that sleeps on its state word. Jobs are shared by claiming items one at a
 * time from one counter, the calling thread included: a worker that is slow to wake (the other core
 * busy) takes fewer items instead of making the caller wait. CommonJS source run with `eval`, so it
 * needs no TypeScript loader.
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const lib = require(workerData.binding);
const { memory, capacity, stateWord } = workerData;
const ctl = new Int32Array(memory, 0, ${CONTROL_BYTES / 4});
const flags = new Int32Array(memory, ${CONTROL_BYTES}, capacity);
const input = new Uint8Array(memory, ${CONTROL_BYTES} + 4 * capacity, capacity * ${INPUT_STRIDE});
const output = new Uint8Array(memory, ${CONTROL_BYTES} + 4 * capacity + capacity * ${INPUT_STRIDE}, capacity * ${OUTPUT_STRIDE});
Atomics.store(ctl, stateWord, ${P.IDLE});
Atomics.notify(ctl, stateWord);
for (;;) {
  const state = Atomics.load(ctl, stateWord);
  if (state !== ${P.JOB}) {
    Atomics.wait(ctl, stateWord, state);
    continue;
  }
  // The caller may have taken the job back (it finished every item first).
  if (Atomics.compareExchange(ctl, stateWord, ${P.JOB}, ${P.WORKING}) !== ${P.JOB}) continue;
  const n = Atomics.load(ctl, ${P.COUNT});
  const sign = Atomics.load(ctl, ${P.OP}) === ${P.SIGN};
  for (;;) {
    const i = Atomics.add(ctl, ${P.CLAIM}, 1);
    if (i >= n) break;
    // Not written yet: the calling thread is still making the inputs (it always finishes them).
    for (let r = Atomics.load(ctl, ${P.READY}); r <= i; r = Atomics.load(ctl, ${P.READY})) Atomics.wait(ctl, ${P.READY}, r, 50);
    if (Atomics.load(flags, i) === ${P.SKIP}) continue;
    const at = i * ${INPUT_STRIDE};
    let flag = ${P.DONE_ITEM};
    try {
      if (sign) {
        const s = lib.ecdsaSign(input.subarray(at, at + 32), input.subarray(at + 32, at + 64));
        output.set(s.signature, i * ${OUTPUT_STRIDE});
      } else {
        let ok = false;
        try {
          ok = lib.ecdsaVerify(input.subarray(at, at + 64), input.subarray(at + 64, at + 96), input.subarray(at + 96, at + 129));
        } catch {}
        output[i * ${OUTPUT_STRIDE}] = ok ? 1 : 0;
      }
    } catch {
      flag = ${P.FAILED_ITEM};
    }
    Atomics.store(flags, i, flag);
  }
  Atomics.store(ctl, stateWord, ${P.DONE});
  Atomics.notify(ctl, stateWord);
}
`;

interface Lane {
  readonly worker: Worker;
  readonly stateWord: number;
  dead: boolean;
}

/** Where the native binding's module is, for the worker to load; undefined when it is not in use. */
function nativeBindingPath(): string | undefined {
  if (!secpBackend.includes('native')) return undefined;
  if (systemSecpInUse) return systemSecpPath; // the same ecdsaSign / ecdsaVerify shapes
  try {
    return require.resolve('secp256k1/bindings');
  } catch {
    return undefined;
  }
}

export class SignaturePool {
  private readonly lanes: Lane[] = [];
  private readonly threshold: number;
  private readonly timeoutMs: number;
  private readonly capacity: number;
  private readonly control: Int32Array;
  private readonly flags: Int32Array;
  private readonly input: Uint8Array;
  private readonly output: Uint8Array;
  private readonly memory: SharedArrayBuffer;
  private started = false;
  /** Set for good when a worker misbehaved: nobody reads the shared memory again. */
  private disabled = false;
  private shared = 0;

  /** Workers start with the first batch worth sharing (which itself runs in-thread while they load). */
  constructor(private readonly options: SignaturePoolOptions) {
    this.threshold = Math.max(2, options.threshold ?? 16);
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.capacity = options.capacity ?? 1024;
    const c = this.capacity;
    this.memory = new SharedArrayBuffer(CONTROL_BYTES + c * (4 + INPUT_STRIDE + OUTPUT_STRIDE));
    this.control = new Int32Array(this.memory, 0, CONTROL_BYTES / 4);
    this.flags = new Int32Array(this.memory, CONTROL_BYTES, c);
    this.input = new Uint8Array(this.memory, CONTROL_BYTES + 4 * c, c * INPUT_STRIDE);
    this.output = new Uint8Array(this.memory, CONTROL_BYTES + 4 * c + c * INPUT_STRIDE, c * OUTPUT_STRIDE);
  }

  /** Starts the workers now rather than with the first large batch. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const binding = nativeBindingPath();
    if (binding === undefined) return; // WASM or JS fallback: no worker could do better than this thread
    const workers = Math.min(MAX_WORKERS, this.options.workers);
    for (let k = 0; k < workers; k++) {
      const lane = this.startLane(binding, this.options.workerSource ?? WORKER_SOURCE, P.STATE_BASE + k);
      if (lane !== undefined) this.lanes.push(lane);
    }
  }

  private startLane(binding: string, source: string, stateWord: number): Lane | undefined {
    let worker: Worker;
    try {
      worker = new Worker(source, {
        eval: true,
        workerData: { binding, memory: this.memory, capacity: this.capacity, stateWord },
        // The worker loads nothing but the binding: no need for the parent's flags (e.g. --cpu-prof).
        execArgv: [],
      });
    } catch {
      return undefined;
    }
    const lane: Lane = { worker, stateWord, dead: false };
    const drop = () => {
      lane.dead = true;
    };
    worker.on('error', drop);
    worker.on('exit', drop);
    // Never keeps the process alive.
    worker.unref();
    return lane;
  }

  /** Items the workers have signed or verified so far (for tests and benchmarks). */
  get workerItems(): number {
    return this.shared;
  }

  /** Workers started and answering (they take a few tens of ms to load after construction). */
  get readyWorkers(): number {
    return this.usableLanes().length;
  }

  /** Stops every worker; later batches run in-thread. */
  close(): void {
    this.started = true;
    this.disable();
  }

  private disable(): void {
    this.disabled = true;
    for (const l of this.lanes) {
      l.dead = true;
      void l.worker.terminate();
    }
  }

  private usableLanes(): Lane[] {
    if (this.disabled) return [];
    return this.lanes.filter((l) => !l.dead && Atomics.load(this.control, l.stateWord) === P.IDLE);
  }

  /**
   * Runs `local` for items 0..n-1, the workers taking a share when the batch is large enough: items
   * are claimed one at a time from a shared counter, by this thread too. `write` puts item i's input
   * at `at` in the shared memory and answers false for an item a worker must leave alone; `fromWorker`
   * reads a worker's output at `at`. Whatever a worker did not finish is done here.
   */
  private run<T>(
    n: number,
    op: number,
    write: (i: number, input: Uint8Array, at: number) => boolean,
    local: (i: number) => T,
    fromWorker: (output: Uint8Array, at: number) => T,
  ): T[] {
    const out = new Array<T>(n);
    if (n >= this.threshold) this.start();
    const lanes = n >= this.threshold ? this.usableLanes() : [];
    if (lanes.length === 0) {
      for (let i = 0; i < n; i++) out[i] = local(i);
      return out;
    }
    const m = Math.min(n, this.capacity);
    const ctl = this.control;
    this.flags.fill(0, 0, m);
    Atomics.store(ctl, P.READY, 0);
    Atomics.store(ctl, P.CLAIM, 0);
    Atomics.store(ctl, P.COUNT, m);
    Atomics.store(ctl, P.OP, op);
    // The workers start now, on the first items, while this thread makes the rest (a digest is a
    // BIP143 sighash: ~10 us each, a third of the work of a 483-HTLC commitment_signed on this thread).
    for (const l of lanes) {
      Atomics.store(ctl, l.stateWord, P.JOB);
      Atomics.notify(ctl, l.stateWord);
    }
    const mine = new Uint8Array(m);
    try {
      let i = 0;
      try {
        for (; i < m; i++) {
          if (!write(i, this.input, i * INPUT_STRIDE)) this.flags[i] = P.SKIP;
          Atomics.store(ctl, P.READY, i + 1);
          Atomics.notify(ctl, P.READY);
        }
      } finally {
        // write() threw: what it did not write is left alone, so no worker waits for it.
        if (i < m) {
          this.flags.fill(P.SKIP, i, m);
          Atomics.store(ctl, P.READY, m);
          Atomics.notify(ctl, P.READY);
        }
      }
      if (this.options.callerJoins !== false) {
        for (let i = Atomics.add(ctl, P.CLAIM, 1); i < m; i = Atomics.add(ctl, P.CLAIM, 1)) {
          mine[i] = 1;
          out[i] = local(i);
        }
      }
      for (let i = m; i < n; i++) out[i] = local(i);
    } finally {
      this.retire(lanes);
      if (op === P.SIGN) this.input.fill(0, 0, m * INPUT_STRIDE); // secrets do not stay behind
    }
    for (let i = 0; i < m; i++) {
      if (mine[i] === 1) continue;
      if (!this.disabled && Atomics.load(this.flags, i) === P.DONE_ITEM) {
        out[i] = fromWorker(this.output, i * OUTPUT_STRIDE);
        this.shared++;
      } else out[i] = local(i);
    }
    return out;
  }

  /** Ends the job for every lane: takes it back from a worker that never started, waits for the rest. */
  private retire(lanes: readonly Lane[]): void {
    const ctl = this.control;
    const deadline = performance.now() + this.timeoutMs;
    const takeBack = this.options.callerJoins !== false;
    for (const l of lanes) {
      if (takeBack && Atomics.compareExchange(ctl, l.stateWord, P.JOB, P.IDLE) === P.JOB) continue;
      for (;;) {
        const state = Atomics.load(ctl, l.stateWord);
        if (state === P.DONE) {
          Atomics.store(ctl, l.stateWord, P.IDLE);
          break;
        }
        const left = deadline - performance.now();
        if (left <= 0 || l.dead) {
          // Too slow or gone: it may still write the shared memory, so no worker is used again.
          Atomics.compareExchange(ctl, l.stateWord, P.JOB, P.IDLE);
          this.disable();
          return;
        }
        Atomics.wait(ctl, l.stateWord, state, left);
      }
    }
  }

  /** ECDSA signatures (64-byte compact, low-S) of each digest with the secret at the same index. */
  signAll(digests: readonly Uint8Array[], secrets: readonly Uint8Array[]): Uint8Array[] {
    if (digests.length !== secrets.length) throw new RangeError('one secret per digest');
    return this.run(
      digests.length,
      P.SIGN,
      (i, input, at) => {
        const d = digests[i]!;
        const k = secrets[i]!;
        // Only well-formed items cross over; this thread throws for the others, as it always would.
        if (d.length !== 32 || k.length !== 32) return false;
        input.set(d, at);
        input.set(k, at + 32);
        return true;
      },
      (i) => ecdsaSign(digests[i]!, secrets[i]!).compact,
      (output, at) => output.slice(at, at + 64),
    );
  }

  /**
   * {@link signAll} of `n` digests all signed with `secret`, each made by `digestOf(i)` only when its
   * turn comes: the workers sign the first ones while this thread makes the rest. What digestOf throws
   * is thrown here (after the job is wound up).
   */
  signEach(n: number, digestOf: (i: number) => Uint8Array, secret: Uint8Array): Uint8Array[] {
    const digests = new Array<Uint8Array>(n);
    const digest = (i: number) => {
      digests[i] ??= digestOf(i);
      return digests[i]!;
    };
    return this.run(
      n,
      P.SIGN,
      (i, input, at) => {
        const d = digest(i);
        if (d.length !== 32 || secret.length !== 32) return false;
        input.set(d, at);
        input.set(secret, at + 32);
        return true;
      },
      (i) => ecdsaSign(digest(i), secret).compact,
      (output, at) => output.slice(at, at + 64),
    );
  }

  /** Whether each signature is valid, as ecdsaVerify answers it (malformed input is `false`). */
  verifyAll(items: readonly VerifyItem[]): boolean[] {
    return this.verifyEach(items.length, (i) => items[i]!);
  }

  /**
   * {@link verifyAll} of `n` items, each made by `itemOf(i)` only when its turn comes (undefined: an
   * item that cannot be valid, answered `false`), the workers checking the first ones meanwhile.
   */
  verifyEach(n: number, itemOf: (i: number) => VerifyItem | undefined): boolean[] {
    const items = new Array<VerifyItem | undefined | null>(n).fill(null);
    const item = (i: number) => {
      if (items[i] === null) items[i] = itemOf(i);
      return items[i] as VerifyItem | undefined;
    };
    return this.run(
      n,
      P.VERIFY,
      (i, input, at) => {
        const it = item(i);
        // Other sizes are answered in this thread, as the caller would.
        if (it === undefined || !wellFormed(it)) return false;
        input.set(it.signature, at);
        input.set(it.digest, at + 64);
        input.set(it.pubkey, at + 96);
        return true;
      },
      (i) => {
        const it = item(i);
        return it !== undefined && ecdsaVerify(it.signature, it.digest, it.pubkey);
      },
      (output, at) => output[at] === 1,
    );
  }
}

function wellFormed(it: VerifyItem): boolean {
  return it.signature.length === 64 && it.digest.length === 32 && it.pubkey.length === 33;
}

let shared: SignaturePool | undefined;

/**
 * The process's pool, started on first use: os.availableParallelism() - 1 workers (none on one core),
 * or SHANDIAN_SIGNING_WORKERS. Like the secp256k1 backend, one per process: it holds threads, not
 * state, and answers exactly as the calling thread would.
 */
export function signaturePool(): SignaturePool {
  if (shared === undefined) {
    const text = process.env.SHANDIAN_SIGNING_WORKERS ?? '';
    const configured = text === '' ? Number.NaN : Number(text);
    const workers = Number.isInteger(configured) && configured >= 0 ? configured : availableParallelism() - 1;
    shared = new SignaturePool({ workers: Math.max(0, workers) });
  }
  return shared;
}
