// The harness must fail on what an honest network never does: these tests make each kind happen on
// purpose and check that the harness notices (a check that cannot fail would prove nothing).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeMessage } from '../../src/bolt01-wire/index.ts';
import { NETWORKS } from '../../src/node/config.ts';
import { HarnessFailure, type NetNode, Network } from '../../src/testing/network-harness.ts';

test('the harness fails on errors received, unhandled messages, logged errors and thrown handlers', async () => {
  const net = await Network.create({ seed: 11, nodes: 2 });
  try {
    const [a, b] = net.nodes as [NetNode, NetNode];
    await net.connect(a, b);
    await net.settle();
    net.check();
    const expectProblem = async (pattern: RegExp) => {
      await net.drain();
      assert.throws(
        () => net.check(),
        (e: Error) => e instanceof HarnessFailure && pattern.test(e.message),
      );
      net.problems.length = 0;
      net.check();
    };

    // An error message from the peer.
    b.peers.send(
      a.id,
      encodeMessage({ type: 'error', channel_id: new Uint8Array(32), data: new TextEncoder().encode('bad') }),
    );
    await expectProblem(/A received error from B: bad/);

    // A message no layer handles (this node does not do gossip).
    b.peers.send(
      a.id,
      encodeMessage({
        type: 'gossip_timestamp_filter',
        chain_hash: NETWORKS.regtest.chainHash,
        first_timestamp: 0,
        timestamp_range: 0xffffffff,
      }),
    );
    await expectProblem(/A: no handler took gossip_timestamp_filter from B/);

    // A handler that throws: the peer manager logs it as an error and drops the connection.
    let armed = true;
    a.peers.onMessage(() => {
      if (!armed) return;
      armed = false;
      throw new Error('boom');
    });
    b.peers.send(
      a.id,
      encodeMessage({ type: 'warning', channel_id: new Uint8Array(32), data: new Uint8Array(0) }),
    );
    await expectProblem(/A logged error: internal error handling a message/);

    // A warning logged by a node fails the run; a tolerated one does not.
    a.log.warn({}, 'something odd');
    await expectProblem(/A logged warn: something odd/);
  } finally {
    await net.close();
  }
});

test('tolerated log lines pass; a crashed node leaves no trace in its store or log', async () => {
  const net = await Network.create({
    seed: 12,
    nodes: 1,
    tolerate: [{ level: 'warn', msg: 'expected here' }],
  });
  try {
    const [a] = net.nodes as [NetNode];
    a.log.warn({}, 'this is expected here');
    net.check();
    const oldLog = a.log;
    const writes = a.writes;
    const oldChannels = a.channels;
    await net.crash(a);
    oldLog.error({}, 'after the crash');
    oldChannels.executor.submit('x', [{ kind: 'persist', ops: [] }]);
    await net.drain();
    net.check();
    assert.equal(a.writes, writes, 'a crashed life wrote to the store');
    await net.start(a);
    a.log.error({}, 'alive again');
    assert.throws(() => net.check(), /A logged error: alive again/);
    net.problems.length = 0;
  } finally {
    await net.close();
  }
});
