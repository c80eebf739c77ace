// End to end on loopback: three `shandian start` processes A, B, C, connected A-B and B-C (no channels:
// onion messages need none). A sends an onion message to C through B; C's dev-waitonionmessage returns
// the payload. A message for a node B is not connected to goes nowhere.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeProcess } from '../../src/testing/processes.ts';
import { withProcessNet } from '../channel-node/devnet-process.ts';

interface Delivered {
  index: number;
  peer_id: string;
  fields: { type: string; value: string }[];
}

test('three processes: A -> B -> C onion message delivered; unreachable next hop dropped', {
  timeout: 120_000,
}, async () => {
  await withProcessNet('shandian-onionmsg-', async ({ start }) => {
    const [A, B, C] = [await start('A'), await start('B'), await start('C')];
    const info = (n: NodeProcess) => n.call<{ id: string; binding: { port: number }[] }>('getinfo');
    const [ib, ic] = [await info(B), await info(C)];
    await A.call('connect', { id: ib.id, host: '127.0.0.1', port: ib.binding[0]!.port });
    await C.call('connect', { id: ib.id, host: '127.0.0.1', port: ib.binding[0]!.port });

    const waiting = C.call<Delivered>('dev-waitonionmessage', { timeout: 30 });
    const sent = await A.call<{ sent: boolean }>('dev-sendonionmessage', {
      hops: [ib.id, ic.id],
      fields: [{ type: 65, value: '68656c6c6f' }],
    });
    assert.equal(sent.sent, true);
    const got = await waiting;
    assert.equal(got.peer_id, ib.id, 'handed over by B');
    assert.deepEqual(got.fields, [{ type: '65', value: '68656c6c6f' }]);

    // To a node B has no connection with: B drops it, C sees nothing new.
    const stranger = '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798'; // G
    await assert.rejects(
      A.call('dev-sendonionmessage', { hops: [ib.id, `02${'11'.repeat(32)}`] }),
      /node id/,
    );
    await A.call('dev-sendonionmessage', { hops: [ib.id, stranger], fields: [{ type: 65, value: '00' }] });
    // A's first hop must be a connected peer.
    await assert.rejects(A.call('dev-sendonionmessage', { hops: [ic.id] }), /not connected/);
    // A second message still arrives, in order.
    const next = C.call<Delivered>('dev-waitonionmessage', { after_index: got.index, timeout: 30 });
    await A.call('dev-sendonionmessage', { hops: [ib.id, ic.id], fields: [{ type: 67, value: '02' }] });
    const got2 = await next;
    assert.equal(got2.index, got.index + 1);
    assert.deepEqual(got2.fields, [{ type: '67', value: '02' }]);
  });
});
