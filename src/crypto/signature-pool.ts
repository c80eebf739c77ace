// Batches of ECDSA signatures and verifications split over worker threads, for commitment_signed with
// many HTLCs (one signature per HTLC transaction). The channel reducer is synchronous, and so is this:
// the calling thread hands each worker its share through shared memory, does its own share, then
// blocks on Atomics.wait until the workers are done. While the two nodes of a channel ping-pong, the
// second core is otherwise idle.
//
// Results are those of the in-thread path, item for item (RFC 6979 signatures are deterministic). A
// worker that cannot start, throws, dies or does not answer in time is never waited for again: its
// share, and every later batch, is done in-thread.

import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ecdsaSign, ecdsaVerify, secpBackend } from './secp256k1.ts';

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
  /** Most items one worker takes per batch (sizes its shared memory); the rest stays in-thread. */
  readonly capacity?: number;
  /** For tests: the worker's source, to make one that fails. */
  readonly workerSource?: string;
}

// Control words, in the first 16 bytes of each worker's shared memory.
const STATE = 0;
const COUNT = 1;
const OP = 2;
const FAILED = 3;
// STATE values (0, the SharedArrayBuffer's initial value: the worker is still loading).
const IDLE = 1;
const JOB = 2;
const DONE = 3;
// OP values.
const SIGN = 1;
const VERIFY = 2;
// Bytes per item: sign reads digest || secret and writes a 64-byte signature; verify reads
// signature || digest || pubkey (33) and writes one byte.
const SIGN_IN = 64;
const SIGN_OUT = 64;
const VERIFY_IN = 129;
const HEADER = 16;

/**
 * The worker: the native libsecp256k1 binding, loaded in the worker's own thread (N-API addons load
 * per thread), and a loop that sleeps on the STATE word. CommonJS source run with `eval`, so it needs
 * no TypeScript loader.
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const lib = require(workerData.binding);
const ctl = new Int32Array(workerData.memory, 0, 4);
const bytes = new Uint8Array(workerData.memory, ${HEADER});
const capacity = workerData.capacity;
Atomics.store(ctl, ${STATE}, ${IDLE});
Atomics.notify(ctl, ${STATE});
for (;;) {
  // Sleeps until the caller posts a job (IDLE, or DONE not yet collected: both wait for a notify).
  const state = Atomics.load(ctl, ${STATE});
  if (state !== ${JOB}) {
    Atomics.wait(ctl, ${STATE}, state);
    continue;
  }
  const n = Atomics.load(ctl, ${COUNT});
  let failed = 0;
  try {
    if (Atomics.load(ctl, ${OP}) === ${SIGN}) {
      const out = capacity * ${SIGN_IN};
      for (let i = 0; i < n; i++) {
        const at = i * ${SIGN_IN};
        const s = lib.ecdsaSign(bytes.subarray(at, at + 32), bytes.subarray(at + 32, at + 64));
        bytes.set(s.signature, out + i * ${SIGN_OUT});
      }
      bytes.fill(0, 0, n * ${SIGN_IN});
    } else {
      const out = capacity * ${VERIFY_IN};
      for (let i = 0; i < n; i++) {
        const at = i * ${VERIFY_IN};
        let ok = false;
        try {
          ok = lib.ecdsaVerify(bytes.subarray(at, at + 64), bytes.subarray(at + 64, at + 96), bytes.subarray(at + 96, at + 129));
        } catch {}
        bytes[out + i] = ok ? 1 : 0;
      }
    }
  } catch {
    failed = 1;
  }
  Atomics.store(ctl, ${FAILED}, failed);
  Atomics.store(ctl, ${STATE}, ${DONE});
  Atomics.notify(ctl, ${STATE});
}
`;

interface Lane {
  readonly worker: Worker;
  readonly control: Int32Array;
  readonly bytes: Uint8Array;
  dead: boolean;
}

/** Where the native binding's module is, for the worker to load; undefined when it is not in use. */
function nativeBindingPath(): string | undefined {
  if (!secpBackend.includes('native')) return undefined;
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
  private started = false;
  private shared = 0;

  /** Workers start with the first batch worth sharing (which itself runs in-thread while they load). */
  constructor(private readonly options: SignaturePoolOptions) {
    this.threshold = Math.max(2, options.threshold ?? 16);
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.capacity = options.capacity ?? 1024;
  }

  /** Starts the workers now rather than with the first large batch. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const binding = nativeBindingPath();
    if (binding === undefined) return; // WASM or JS fallback: no worker could do better than this thread
    for (let i = 0; i < this.options.workers; i++) {
      const lane = this.startLane(binding, this.options.workerSource ?? WORKER_SOURCE);
      if (lane !== undefined) this.lanes.push(lane);
    }
  }

  private startLane(binding: string, source: string): Lane | undefined {
    const memory = new SharedArrayBuffer(HEADER + this.capacity * (SIGN_IN + SIGN_OUT + VERIFY_IN));
    let worker: Worker;
    try {
      worker = new Worker(source, {
        eval: true,
        workerData: { binding, memory, capacity: this.capacity },
        // The worker loads nothing but the binding: no need for the parent's flags (e.g. --cpu-prof).
        execArgv: [],
      });
    } catch {
      return undefined;
    }
    const lane: Lane = {
      worker,
      control: new Int32Array(memory, 0, 4),
      bytes: new Uint8Array(memory, HEADER),
      dead: false,
    };
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
    return this.lanes.filter((l) => this.usable(l)).length;
  }

  /** Stops every worker; later batches run in-thread. */
  close(): void {
    this.started = true;
    for (const l of this.lanes) {
      l.dead = true;
      void l.worker.terminate();
    }
  }

  private usable(l: Lane): boolean {
    return !l.dead && Atomics.load(l.control, STATE) === IDLE;
  }

  /** The workers that take a share of a batch of `n`, and the size of each share (the caller's too). */
  private plan(n: number): { lanes: Lane[]; share: number } {
    if (n < this.threshold) return { lanes: [], share: n };
    this.start();
    const lanes = this.lanes.filter((l) => this.usable(l));
    const share = Math.min(this.capacity, Math.ceil(n / (lanes.length + 1)));
    return { lanes, share };
  }

  /** Hands `count` items (already written to the lane's memory) to the lane's worker. */
  private post(l: Lane, op: number, count: number): void {
    Atomics.store(l.control, COUNT, count);
    Atomics.store(l.control, OP, op);
    Atomics.store(l.control, FAILED, 0);
    Atomics.store(l.control, STATE, JOB);
    Atomics.notify(l.control, STATE);
  }

  /** Waits for the lane's answer: true when its results are ready to read, false when it is dropped. */
  private collect(l: Lane, deadline: number): boolean {
    for (;;) {
      const state = Atomics.load(l.control, STATE);
      if (state === DONE) break;
      const left = deadline - performance.now();
      if (left <= 0 || l.dead) {
        // Too slow or gone: never wait for it again (it may still write its memory; nobody reads it).
        l.dead = true;
        void l.worker.terminate();
        return false;
      }
      Atomics.wait(l.control, STATE, state, left);
    }
    const ok = Atomics.load(l.control, FAILED) === 0;
    if (ok) this.shared += Atomics.load(l.control, COUNT);
    Atomics.store(l.control, STATE, IDLE);
    return ok;
  }

  /** ECDSA signatures (64-byte compact, low-S) of each digest with the secret at the same index. */
  signAll(digests: readonly Uint8Array[], secrets: readonly Uint8Array[]): Uint8Array[] {
    if (digests.length !== secrets.length) throw new RangeError('one secret per digest');
    const n = digests.length;
    const { lanes, share } = this.plan(n);
    const out = new Array<Uint8Array>(n);
    const ranges: { lane: Lane; from: number; to: number }[] = [];
    // The workers take the tail, this thread the head.
    let from = n;
    for (const lane of lanes) {
      const to = from;
      from = Math.max(share, to - share);
      if (from >= to) break;
      // Only well-formed items cross over; anything else is left to this thread, which throws for it.
      let wellFormed = true;
      for (let i = from; i < to; i++) {
        const d = digests[i]!;
        const k = secrets[i]!;
        if (d.length !== 32 || k.length !== 32) {
          wellFormed = false;
          break;
        }
        lane.bytes.set(d, (i - from) * SIGN_IN);
        lane.bytes.set(k, (i - from) * SIGN_IN + 32);
      }
      if (!wellFormed) {
        lane.bytes.fill(0, 0, (to - from) * SIGN_IN);
        from = to;
        break;
      }
      this.post(lane, SIGN, to - from);
      ranges.push({ lane, from, to });
    }
    for (let i = 0; i < from; i++) out[i] = ecdsaSign(digests[i]!, secrets[i]!).compact;
    const deadline = performance.now() + this.timeoutMs;
    for (const { lane, from: f, to } of ranges) {
      if (this.collect(lane, deadline)) {
        const base = this.capacity * SIGN_IN;
        for (let i = f; i < to; i++) {
          const at = base + (i - f) * SIGN_OUT;
          out[i] = lane.bytes.slice(at, at + SIGN_OUT);
        }
      } else {
        lane.bytes.fill(0, 0, (to - f) * SIGN_IN);
        for (let i = f; i < to; i++) out[i] = ecdsaSign(digests[i]!, secrets[i]!).compact;
      }
    }
    return out;
  }

  /** Whether each signature is valid, as ecdsaVerify answers it (malformed input is `false`). */
  verifyAll(items: readonly VerifyItem[]): boolean[] {
    const n = items.length;
    const { lanes, share } = this.plan(n);
    const out = new Array<boolean>(n);
    const ranges: { lane: Lane; from: number; to: number }[] = [];
    let from = n;
    for (const lane of lanes) {
      const to = from;
      from = Math.max(share, to - share);
      if (from >= to) break;
      for (let i = from; i < to; i++) {
        const it = items[i]!;
        const at = (i - from) * VERIFY_IN;
        // Other sizes are answered in this thread, as the caller would; the worker's slot gets zeros.
        if (wellFormed(it)) {
          lane.bytes.set(it.signature, at);
          lane.bytes.set(it.digest, at + 64);
          lane.bytes.set(it.pubkey, at + 96);
        } else lane.bytes.fill(0, at, at + VERIFY_IN);
      }
      this.post(lane, VERIFY, to - from);
      ranges.push({ lane, from, to });
    }
    const verify = (it: VerifyItem) => ecdsaVerify(it.signature, it.digest, it.pubkey);
    for (let i = 0; i < from; i++) out[i] = verify(items[i]!);
    const deadline = performance.now() + this.timeoutMs;
    for (const { lane, from: f, to } of ranges) {
      const answered = this.collect(lane, deadline);
      const base = this.capacity * VERIFY_IN;
      for (let i = f; i < to; i++) {
        const it = items[i]!;
        out[i] = answered && wellFormed(it) ? lane.bytes[base + (i - f)] === 1 : verify(it);
      }
    }
    return out;
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
