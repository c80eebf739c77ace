// BOLT 1 peer storage: we keep the latest blob each peer gives us and hand it back after every
// reconnection, so a peer that lost its data can recover (option_provide_storage).

import { fromHex, hex } from '../core/bytes.ts';
import { decodeRecord, encodeRecord, put, type Store } from '../store/store.ts';
import { encodePeerStorageRetrieval } from './peer-wire.ts';

const NS = 'peer_storage';
const RECORD_VERSION = 1;

export class PeerStorage {
  constructor(private readonly store: Store) {}

  save(peerId: string, blob: Uint8Array): void {
    this.store.batch([put(NS, peerId, encodeRecord(RECORD_VERSION, { blob: hex(blob) }))]);
  }

  /** The peer_storage_retrieval message to send after init, or null if we hold nothing for this peer. */
  retrieval(peerId: string): Uint8Array | null {
    const raw = this.store.get(NS, peerId);
    if (!raw) return null;
    const rec = decodeRecord<{ blob: string }>(raw);
    return encodePeerStorageRetrieval(fromHex(rec.blob));
  }
}
