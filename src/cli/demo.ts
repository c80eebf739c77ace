// `shandian demo`: the seed scenario on loopback, narrated. A devnet chain and two nodes run as separate
// processes: the nodes open an encrypted BOLT 8 connection, exchange init and pings, and move coins on
// chain through their wallets. Later issues grow it into channels and payments.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DevnetProcess, type NodeProcess, spawnDevnet, spawnNode } from '../testing/processes.ts';
import type { GlobalOptions } from './main.ts';

interface Info {
  id: string;
  alias: string;
  binding: { address: string; port: number }[];
  blockheight: number;
}

interface Channel {
  state: string;
  short_channel_id?: string;
  to_us_msat: number;
  total_msat: number;
  local_commitment_number?: number;
  remote_commitment_number?: number;
  htlcs?: { payment_hash: string; state: string }[];
}

interface Funds {
  outputs: { amount_msat: number; status: string }[];
}

const btc = (msat: number) => `${(msat / 1e11).toFixed(8)} BTC`;
const confirmed = (f: Funds) =>
  f.outputs.filter((o) => o.status === 'confirmed').reduce((a, o) => a + o.amount_msat, 0);

async function until<T>(f: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function demoCommand(_global: GlobalOptions, args: string[]): Promise<number> {
  const keep = args.includes('--keep');
  const verbose = args.includes('--verbose');
  const base = mkdtempSync(join(tmpdir(), 'shandian-demo-'));
  const say = (text: string) => process.stdout.write(`${text}\n`);
  const nodes: NodeProcess[] = [];
  let devnet: DevnetProcess | null = null;
  try {
    say('shandian demo: a regtest chain and two Lightning nodes, each its own process, on loopback');
    say(`  data in ${base}`);
    devnet = await spawnDevnet(join(base, 'chain'));
    const faucet = await devnet.rpc.call<string>('getnewaddress');
    await devnet.rpc.call('generatetoaddress', [101, faucet]);
    say(
      `  devnet: Bitcoin Core-compatible JSON-RPC at ${devnet.url}, ${await devnet.rpc.call<number>('getblockcount')} blocks`,
    );
    for (const name of ['alice', 'bob']) {
      const node = await spawnNode({
        name,
        datadir: join(base, name),
        args: [...devnet.nodeArgs, '--chain-poll', '0.2'],
        ...(verbose ? { echo: (l: string) => process.stderr.write(`  [${name}] ${l}\n`) } : {}),
      });
      nodes.push(node);
      const info = await node.call<Info>('getinfo');
      say(`  started ${name}: ${info.id} on ${info.binding[0]?.address}:${info.binding[0]?.port}`);
    }
    const [alice, bob] = nodes as [NodeProcess, NodeProcess];
    const bobInfo = await bob.call<Info>('getinfo');

    say('\n1. alice connects to bob: BOLT 8 Noise_XK handshake, then BOLT 1 init with BOLT 9 features');
    const conn = await alice.call<{ direction: string; features: string }>('connect', [
      `${bobInfo.id}@${bobInfo.binding[0]!.address}:${bobInfo.binding[0]!.port}`,
    ]);
    const bobPeers = await bob.call<{ peers: { direction: string }[] }>('listpeers');
    say(
      `   connected (alice: ${conn.direction}, bob: ${bobPeers.peers[0]?.direction}); bob's init features ${conn.features}`,
    );

    say('\n2. ping/pong over the encrypted link');
    for (const [len, pongbytes] of [
      [0, 0],
      [1000, 4000],
    ] as const) {
      const r = await alice.call<{ totlen: number }>('ping', { id: bobInfo.id, len, pongbytes });
      say(`   ping of ${len} bytes asking for ${pongbytes} -> pong of ${r.totlen} bytes`);
    }

    say('\n3. alice funds her on-chain wallet from the devnet faucet');
    const { bech32 } = await alice.call<{ bech32: string }>('newaddr');
    await devnet.rpc.call('sendtoaddress', [bech32, 0.5]);
    await devnet.rpc.call('generatetoaddress', [1, faucet]);
    const aliceFunds = await until(async () => {
      const f = await alice.call<Funds>('listfunds');
      return confirmed(f) > 0 ? f : undefined;
    }, 'alice to see her deposit');
    say(`   ${bech32}: ${btc(confirmed(aliceFunds))} confirmed`);

    say(
      "\n4. alice sends 0.1 BTC to bob on chain (a signed P2WPKH spend, checked by devnet's script interpreter)",
    );
    const bobAddr = (await bob.call<{ bech32: string }>('newaddr')).bech32;
    const w = await alice.call<{ txid: string }>('withdraw', [bobAddr, 10_000_000]);
    say(`   txid ${w.txid}`);
    await devnet.rpc.call('generatetoaddress', [1, faucet]);
    const bobFunds = await until(async () => {
      const f = await bob.call<Funds>('listfunds');
      return confirmed(f) > 0 ? f : undefined;
    }, 'bob to see the payment');
    const aliceAfter = await until(async () => {
      const f = await alice.call<Funds>('listfunds');
      return confirmed(f) < confirmed(aliceFunds) - 10_000_000_000 ? f : undefined;
    }, 'alice to see her change');
    say(
      `   bob has ${btc(confirmed(bobFunds))}; alice has ${btc(confirmed(aliceAfter))} (the rest paid the fee)`,
    );

    say(
      '\n5. alice opens a 0.15 BTC channel to bob: the 2-of-2 funding output, both commitments signed first',
    );
    const aliceId = (await alice.call<Info>('getinfo')).id;
    const funded = await alice.call<{ txid: string; outnum: number; channel_type?: { names?: string[] } }>(
      'fundchannel',
      [bobInfo.id, 15_000_000],
    );
    say(
      `   funding ${funded.txid}:${funded.outnum}${funded.channel_type?.names ? ` (${funded.channel_type.names.join(', ')})` : ''}`,
    );
    await devnet.rpc.call('generatetoaddress', [3, faucet]);
    const ch = await until(async () => {
      const a = (await alice.call<{ channels: Channel[] }>('listpeerchannels')).channels[0];
      const b = (await bob.call<{ channels: Channel[] }>('listpeerchannels')).channels[0];
      return a?.state === 'CHANNELD_NORMAL' && b?.state === 'CHANNELD_NORMAL' ? a : undefined;
    }, 'the channel to lock in');
    say(
      `   locked in after 3 blocks: ${ch.short_channel_id}, alice ${btc(ch.to_us_msat)} of ${btc(ch.total_msat)}`,
    );

    say('\n6. a Lightning payment: bob writes a BOLT 11 invoice, alice pays it over the channel (an HTLC');
    say(
      "   locked to the invoice's hash; bob reveals the preimage; both sign new commitments, revoke the old)",
    );
    const inv = await bob.call<{ bolt11: string; payment_hash: string }>('invoice', [
      5_000_000_000,
      'demo-coffee',
      'a coffee, paid through shandian',
    ]);
    const decoded = await alice.call<{ amount_msat: number; description: string; payee: string }>('decode', [
      inv.bolt11,
    ]);
    say(`   invoice ${inv.bolt11.slice(0, 40)}... for ${btc(decoded.amount_msat)}: "${decoded.description}"`);
    const paid = await alice.call<{ status: string; payment_preimage: string; amount_sent_msat: number }>(
      'pay',
      [inv.bolt11],
    );
    say(`   pay: ${paid.status}, preimage ${paid.payment_preimage}`);
    const settled = await until(async () => {
      const a = (await alice.call<{ channels: Channel[] }>('listpeerchannels')).channels[0];
      return a && (a.htlcs ?? []).length === 0 && a.to_us_msat < ch.to_us_msat ? a : undefined;
    }, 'the HTLC to settle');
    const invoices = await bob.call<{ invoices: { status: string }[] }>('listinvoices', ['demo-coffee']);
    say(`   bob's invoice is ${invoices.invoices[0]?.status}`);
    // Bob's side settles on its own clock: his last revoke_and_ack may still be on the wire.
    const bobCh = await until(async () => {
      const b = (await bob.call<{ channels: Channel[] }>('listpeerchannels')).channels[0];
      return b && (b.htlcs ?? []).length === 0 && b.to_us_msat > 0 ? b : undefined;
    }, "bob's side to settle");
    say(
      `   settled: alice ${btc(settled.to_us_msat)}, bob ${btc(bobCh.to_us_msat)} (commitments ${settled.local_commitment_number ?? '?'}/${settled.remote_commitment_number ?? '?'}, each old one revoked)`,
    );

    say('\n7. a cooperative close: both sign one closing transaction that pays each side its balance');
    const closed = await bob.call<{ type: string; txid: string }>('close', [aliceId]);
    say(`   ${closed.type} close ${closed.txid}`);
    await devnet.rpc.call('generatetoaddress', [1, faucet]);
    const bobWallet = await until(async () => {
      const f = await bob.call<Funds>('listfunds');
      return confirmed(f) >= confirmed(bobFunds) + bobCh.to_us_msat - 1000 ? f : undefined;
    }, 'bob to be paid on chain');
    say(`   bob's wallet now holds ${btc(confirmed(bobWallet))}`);
    say('\ndemo complete.');
    return 0;
  } catch (e) {
    process.stderr.write(`demo failed: ${(e as Error).message}\n`);
    for (const n of nodes) process.stderr.write(`--- ${n.name} log ---\n${n.log.slice(-30).join('\n')}\n`);
    return 1;
  } finally {
    for (const n of nodes) await n.stop();
    await devnet?.stop();
    if (!keep) rmSync(base, { recursive: true, force: true });
  }
}
