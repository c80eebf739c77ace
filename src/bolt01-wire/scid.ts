// short_channel_id values are bigints on the wire layer; these helpers split and format them (BOLT 7).
import { err, ok, type Result } from '../core/result.ts';

export type ScidParts = { readonly block: number; readonly txIndex: number; readonly outputIndex: number };

// BOLT #7:
// The `short_channel_id` is the unique description of the funding transaction.
// It is constructed as follows:
//   1. the most significant 3 bytes: indicating the block height
//   2. the next 3 bytes: indicating the transaction index within the block
//   3. the least significant 2 bytes: indicating the output index that pays to the channel.
export function makeScid(p: ScidParts): bigint {
  const { block, txIndex, outputIndex } = p;
  if (!Number.isInteger(block) || block < 0 || block > 0xffffff) throw new RangeError(`block ${block}`);
  if (!Number.isInteger(txIndex) || txIndex < 0 || txIndex > 0xffffff)
    throw new RangeError(`txIndex ${txIndex}`);
  if (!Number.isInteger(outputIndex) || outputIndex < 0 || outputIndex > 0xffff)
    throw new RangeError(`outputIndex ${outputIndex}`);
  return (BigInt(block) << 40n) | (BigInt(txIndex) << 16n) | BigInt(outputIndex);
}

export function scidParts(scid: bigint): ScidParts {
  return {
    block: Number((scid >> 40n) & 0xffffffn),
    txIndex: Number((scid >> 16n) & 0xffffffn),
    outputIndex: Number(scid & 0xffffn),
  };
}

/** The human-readable form `539268x845x1`. */
export function scidToString(scid: bigint): string {
  const p = scidParts(scid);
  return `${p.block}x${p.txIndex}x${p.outputIndex}`;
}

export function parseScid(text: string): Result<bigint, string> {
  const m = /^(\d{1,8})x(\d{1,8})x(\d{1,5})$/.exec(text);
  if (!m) return err(`not a short channel id: ${text}`);
  const [block, txIndex, outputIndex] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (block > 0xffffff || txIndex > 0xffffff || outputIndex > 0xffff) return err(`out of range: ${text}`);
  return ok(makeScid({ block, txIndex, outputIndex }));
}
