// A channel driver fake for switch tests: channels as plain objects, commands recorded, events emitted
// by hand, the tip height settable.
import type { ChannelCommand, ChannelNotification } from '../../src/bolt02-channel/index.ts';
import { msat } from '../../src/core/units.ts';
import type { Channel, ChannelDriver } from '../../src/node/channel-driver.ts';
import type { Clock } from '../../src/node/clock.ts';
import { createLogger } from '../../src/node/logger.ts';
import { PaymentSwitch } from '../../src/node/switch.ts';
import type { Store } from '../../src/store/store.ts';

export function fakeChannel(key: string, scid: bigint, received: bigint[], peerId = key): Channel {
  const htlcs = received.map((id) => ({ id, direction: 'received' }));
  return {
    key,
    peerId,
    state: {
      phase: 'normal',
      link: 'up',
      shutdown: undefined,
      shortChannelId: scid,
      commitments: {
        localNextHtlcId: 0n,
        remote: { htlcMinimum: msat(1n), channelReserve: 1000n },
        localChanges: { proposed: [], signed: [], acked: [] },
        localCommit: { spec: { toLocal: 1_000_000_000n, htlcs } },
        remoteCommit: { spec: { htlcs } },
        waiting: undefined,
      },
    },
  } as unknown as Channel;
}

export class FakeDriver {
  readonly listeners: ((ch: Channel, n: ChannelNotification) => void)[] = [];
  readonly commands: { ch: string; cmd: ChannelCommand }[] = [];
  height = 100;
  constructor(readonly channels: Channel[]) {}
  onNotification(h: (ch: Channel, n: ChannelNotification) => void) {
    this.listeners.push(h);
  }
  list() {
    return this.channels;
  }
  get(key: string) {
    return this.channels.find((c) => c.key === key);
  }
  /** Incoming HTLC ids to report as added after our shutdown. */
  readonly shutdownAdds = new Set<bigint>();
  addedAfterOurShutdown(_ch: Channel, id: bigint): boolean {
    return this.shutdownAdds.has(id);
  }
  tipHeight() {
    return this.height;
  }
  htlcCommand(ch: Channel, cmd: ChannelCommand): string | null {
    const s = ch.state as unknown as {
      link: string;
      commitments: { localNextHtlcId: bigint; localChanges: { proposed: { type: string; id: bigint }[] } };
    };
    if (s.link !== 'up') return 'peer is not connected';
    if (cmd.kind === 'add_htlc') s.commitments.localNextHtlcId++;
    if (cmd.kind === 'fulfill_htlc' || cmd.kind === 'fail_htlc' || cmd.kind === 'fail_malformed_htlc') {
      // As the channel does: it carries the removal (and refuses a second one) until a disconnect.
      const proposed = s.commitments.localChanges.proposed;
      if (proposed.some((u) => u.type !== 'update_add_htlc' && u.id === cmd.id))
        return `htlc ${cmd.id} is already being removed`;
      proposed.push({ type: `update_${cmd.kind}`, id: cmd.id });
    }
    this.commands.push({ ch: ch.key, cmd });
    return null;
  }
  emit(key: string, n: ChannelNotification) {
    for (const h of this.listeners) h(this.get(key)!, n);
  }
}

export function fakeSwitch(
  store: Store,
  driver: FakeDriver,
  nodeSecret: Uint8Array,
): { sw: PaymentSwitch; tick: () => void } {
  let timer: (() => void) | null = null;
  const clock: Clock = {
    now: () => 1_700_000_000_000,
    after: (_ms, fn) => {
      timer = fn;
      return { cancel: () => {} };
    },
  };
  const sw = new PaymentSwitch({
    store,
    driver: driver as unknown as ChannelDriver,
    nodeSecret,
    clock,
    log: createLogger({ level: 'error', stderr: false }),
  });
  return { sw, tick: () => timer?.() };
}

export function addMsg(
  id: bigint,
  amount: bigint,
  hash: Uint8Array,
  cltv: number,
  onion: Uint8Array,
  pathKey?: Uint8Array,
): ChannelNotification {
  return {
    kind: 'htlc_received',
    dustExposureExceeded: false,
    htlc: {
      type: 'update_add_htlc',
      channel_id: new Uint8Array(32),
      id,
      amount_msat: amount,
      payment_hash: hash,
      cltv_expiry: cltv,
      onion_routing_packet: onion,
      tlvs: pathKey !== undefined ? { blinded_path: { path_key: pathKey } } : {},
    },
  } as unknown as ChannelNotification;
}
