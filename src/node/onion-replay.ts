// Onion replay protection (shell). Every onion we peel yields a shared secret that only the sender and we
// can compute; the same onion arriving in a second HTLC yields the same secret. Like LND's decaying log we
// keep a short hash of each secret with the HTLC it arrived in and that HTLC's cltv_expiry, durably, and
// refuse the onion in any other HTLC.
//
// Why pruning by the first HTLC's cltv_expiry is safe: the onion's outgoing_cltv_value is at most that
// expiry (the peel checks incoming cltv_expiry >= outgoing_cltv_value). Once the chain is past it, a
// replayed forward would ask us to offer an HTLC that expires in the past, which the forwarding checks
// refuse (expiry_too_soon) without this log; a replayed final onion meets an invoice already paid.
import { hex } from '../core/bytes.ts';
import { sha256 } from '../crypto/index.ts';
import { decodeRecord, del, encodeRecord, put, type Store, type StoreOp } from '../store/store.ts';

const NS = 'onion-replay';
/** 20 bytes of SHA256(shared secret), as LND keeps: collisions are out of reach, the log stays small. */
const KEY_BYTES = 20;

interface Entry {
  /** The incoming HTLC that first carried the onion (`channel/id`). */
  readonly htlc: string;
  readonly expiry: number;
}

export type ReplayVerdict = 'fresh' | 'replay';

export class OnionReplayLog {
  private lastPruned = -1;

  constructor(private readonly store: Store) {}

  /**
   * 'replay' when another HTLC already carried this onion; the same HTLC seen again (a restart before it
   * was handled) is 'fresh'. `ops` record a fresh onion: write them before acting on the HTLC.
   */
  check(
    sharedSecret: Uint8Array,
    htlc: string,
    cltvExpiry: number,
  ): { verdict: ReplayVerdict; ops: StoreOp[] } {
    const key = hex(sha256(sharedSecret).subarray(0, KEY_BYTES));
    const b = this.store.get(NS, key);
    if (b !== undefined)
      return { verdict: decodeRecord<Entry>(b).htlc === htlc ? 'fresh' : 'replay', ops: [] };
    const e: Entry = { htlc, expiry: cltvExpiry };
    return { verdict: 'fresh', ops: [put(NS, key, encodeRecord(1, e))] };
  }

  /** Forgets onions whose first HTLC expired at or before `height`; at most once per height. */
  prune(height: number): number {
    if (height <= this.lastPruned) return 0;
    this.lastPruned = height;
    const ops = this.store
      .list(NS)
      .filter(({ value }) => decodeRecord<Entry>(value).expiry <= height)
      .map(({ key }) => del(NS, key));
    if (ops.length > 0) this.store.batch(ops);
    return ops.length;
  }

  size(): number {
    return this.store.list(NS).length;
  }
}
