// The onion a sender builds on a two-hop blinded path from dev-blindedpath: the introduction node is
// reached unblinded and given the path key, the recipient only by its blinded id.
import assert from 'node:assert/strict';
import { type BuiltOnion, buildOnion, encodeHopPayload } from '../../src/bolt04-onion/index.ts';
import { fromHex } from '../../src/core/bytes.ts';
import { msat } from '../../src/core/units.ts';
import type { BlindedPathJson } from '../../src/node/switch-blinded.ts';

export function blindedPaymentOnion(o: {
  path: BlindedPathJson;
  amount: bigint;
  finalCltv: number;
  paymentHash: Uint8Array;
  sessionKey: Uint8Array;
  /** Replaces the recipient's encrypted_recipient_data (tampering tests). */
  recipientData?: Uint8Array;
}): BuiltOnion {
  const { path } = o;
  const built = buildOnion({
    sessionKey: o.sessionKey,
    hops: [
      {
        publicKey: fromHex(path.introduction_node_id),
        payload: encodeHopPayload({
          encryptedRecipientData: fromHex(path.path[0]!.encrypted_recipient_data),
          currentPathKey: fromHex(path.first_path_key),
        }),
      },
      {
        publicKey: fromHex(path.path[1]!.blinded_node_id),
        payload: encodeHopPayload({
          encryptedRecipientData: o.recipientData ?? fromHex(path.path[1]!.encrypted_recipient_data),
          amtToForward: msat(o.amount),
          outgoingCltvValue: o.finalCltv,
          totalAmountMsat: msat(o.amount),
        }),
      },
    ],
    associatedData: o.paymentHash,
  });
  assert.ok(built.ok);
  return built.value;
}
