// Reading a final-hop payload that may carry keysend's preimage. Keysend's record type 5482373484 is
// even, which the generic payload decoder rightly refuses as unknown; a node that accepts keysend
// takes that one record out first, then decodes the rest as usual.
import {
  type HopInstruction,
  type PayloadContext,
  type PayloadValidationError,
  readHopPayload,
} from '../bolt04-onion/payload.ts';
import { err, ok, type Result } from '../core/result.ts';
import { KEYSEND_PREIMAGE_TLV } from '../routing/keysend.ts';
import { readRawTlvRecords, writeRawTlvRecords } from '../routing/tlv-records.ts';
import type { FinalHopPayload } from './htlc-switch.ts';

export interface ReadPayload {
  readonly instruction: HopInstruction;
  /** Present only when keysend is accepted and the record is 32 bytes. */
  readonly keysendPreimage?: Uint8Array;
}

export function readPayloadWithKeysend(
  bytes: Uint8Array,
  ctx: PayloadContext,
  acceptKeysend: boolean,
): Result<ReadPayload, PayloadValidationError> {
  if (!acceptKeysend || !ctx.isFinal) return mapOk(readHopPayload(bytes, ctx));
  const recs = readRawTlvRecords(bytes);
  if (!recs.ok) return mapOk(readHopPayload(bytes, ctx));
  const ks = recs.value.find((r) => r.type === KEYSEND_PREIMAGE_TLV);
  if (ks === undefined) return mapOk(readHopPayload(bytes, ctx));
  if (ks.value.length !== 32) {
    return err({
      failure: 'invalid_onion_payload',
      tlvType: KEYSEND_PREIMAGE_TLV,
      offset: ks.offset,
      message: 'keysend preimage must be 32 bytes',
    });
  }
  const rest = writeRawTlvRecords(
    recs.value.filter((r) => r !== ks).map((r) => ({ type: r.type, value: r.value })),
  );
  const inner = readHopPayload(rest, ctx);
  if (!inner.ok) return inner;
  return ok({ instruction: inner.value, keysendPreimage: ks.value.slice() });
}

function mapOk(
  r: Result<HopInstruction, PayloadValidationError>,
): Result<ReadPayload, PayloadValidationError> {
  return r.ok ? ok({ instruction: r.value }) : r;
}

/** The switch's view of a final hop, or undefined when the instruction is not a plain final hop. */
export function finalHopPayloadOf(r: ReadPayload): FinalHopPayload | undefined {
  const i = r.instruction;
  if (i.type !== 'final') return undefined;
  return {
    amtToForward: i.amtToForward,
    outgoingCltvValue: i.outgoingCltvValue,
    totalMsat: i.totalMsat,
    paymentSecret: i.paymentSecret,
    paymentMetadata: i.paymentMetadata,
    ...(r.keysendPreimage !== undefined ? { keysendPreimage: r.keysendPreimage } : {}),
  };
}
