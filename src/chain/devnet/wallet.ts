// The devnet faucet: a handful of P2WPKH keys derived from a seed kept in the devnet's store. Coinbases
// pay it; getnewaddress / sendtoaddress / getbalance spend from it.

import { addressFromScript, decodeAddress } from '../../bitcoin/address.ts';
import type { Transaction, TxOut } from '../../bitcoin/tx.ts';
import { concat, hex, u32be } from '../../core/bytes.ts';
import { err, type Result } from '../../core/result.ts';
import type { Sat } from '../../core/units.ts';
import { isPrivateKey, publicKeyOf, sha256 } from '../../crypto/index.ts';
import type { EntropySource } from '../../crypto/random.ts';
import type { MempoolEntry } from './mempool.ts';
import { type Devnet, RPC, type TxRefusal } from './node.ts';
import { dustThreshold } from './policy.ts';
import { p2wpkhScript, p2wpkhWitness, withWitness } from './signer.ts';
import { outpointKey } from './validate.ts';

interface Spendable {
  readonly txid: Uint8Array;
  readonly vout: number;
  readonly output: TxOut;
  readonly secret: Uint8Array;
  readonly confirmed: boolean;
}

export class DevnetWallet {
  private readonly seed: Uint8Array;
  private readonly keys = new Map<string, Uint8Array>();
  private count: number;

  constructor(
    private readonly node: Devnet,
    entropy: EntropySource,
  ) {
    let seed = node.store.getMeta('wallet-seed');
    if (!seed) {
      seed = entropy.randomBytes(32);
      node.store.setMeta('wallet-seed', seed);
    }
    this.seed = seed;
    const n = node.store.getMeta('wallet-keys');
    this.count = n ? Number(new TextDecoder().decode(n)) : 0;
    for (let i = 0; i < Math.max(1, this.count); i++) this.derive(i);
    if (this.count === 0) this.setCount(1);
  }

  private derive(i: number): Uint8Array {
    let secret = sha256(concat(this.seed, u32be(i)));
    while (!isPrivateKey(secret)) secret = sha256(secret);
    const script = p2wpkhScript(publicKeyOf(secret));
    this.keys.set(hex(script), secret);
    return script;
  }

  private setCount(n: number): void {
    this.count = n;
    this.node.store.setMeta('wallet-keys', new TextEncoder().encode(String(n)));
  }

  /** The script of key 0: where timer-mined and automined coinbases go. */
  get miningScript(): Uint8Array {
    return this.scriptAt(0);
  }

  private scriptAt(i: number): Uint8Array {
    let secret = sha256(concat(this.seed, u32be(i)));
    while (!isPrivateKey(secret)) secret = sha256(secret);
    return p2wpkhScript(publicKeyOf(secret));
  }

  newAddress(): string {
    const script = this.derive(this.count);
    this.setCount(this.count + 1);
    return addressFromScript('regtest', script)!;
  }

  isMine(script: Uint8Array): boolean {
    return this.keys.has(hex(script));
  }

  private spendable(): Spendable[] {
    const out: Spendable[] = [];
    for (const [key, coin] of this.node.allCoins()) {
      const secret = this.keys.get(hex(coin.output.script));
      if (!secret) continue;
      // Like Core's wallet, a coinbase counts once it has 101 confirmations (one more than consensus needs).
      if (coin.coinbase && this.node.height - coin.height + 1 < 101) continue;
      if (this.node.mempool.spender(key)) continue;
      const [t, v] = key.split(':') as [string, string];
      out.push({
        txid: Uint8Array.from(Buffer.from(t, 'hex')),
        vout: Number(v),
        output: coin.output,
        secret,
        confirmed: true,
      });
    }
    for (const e of this.node.mempool.entries()) {
      if (!this.fromMe(e.tx)) continue;
      e.tx.outputs.forEach((o, vout) => {
        const secret = this.keys.get(hex(o.script));
        if (!secret || this.node.mempool.spender(outpointKey({ txid: e.txid, vout }))) return;
        out.push({ txid: e.txid, vout, output: o, secret, confirmed: false });
      });
    }
    return out;
  }

  /** Every input spends a wallet coin: the transaction is ours and its change is trusted (as Core's IsTrusted). */
  private fromMe(tx: Transaction): boolean {
    return tx.inputs.every((i) => {
      const key = outpointKey(i.prevout);
      const coin = this.node.coin(key) ?? this.node.mempool.coin(key, this.node.height + 1);
      return coin !== null && this.isMine(coin.output.script);
    });
  }

  /** Mature confirmed coins plus the wallet's own unconfirmed change, in satoshis. */
  balance(): bigint {
    return this.spendable().reduce((s, c) => s + c.output.value, 0n);
  }

  /** sendtoaddress: pays `amount` to `address` at `feeRatePerKvb`, change back to the wallet. */
  send(address: string, amount: bigint, feeRatePerKvb = 2000n): Result<MempoolEntry, TxRefusal> {
    const decoded = decodeAddress('regtest', address);
    if (!decoded.ok)
      return err({ code: RPC.INVALID_ADDRESS_OR_KEY, message: 'Invalid address', rejectReason: '' });
    const script = decoded.value;
    if (amount <= 0n)
      return err({ code: RPC.TYPE_ERROR, message: 'Invalid amount for send', rejectReason: '' });
    if (amount < dustThreshold({ value: amount as Sat, script })) {
      return err({
        code: RPC.WALLET_INSUFFICIENT_FUNDS,
        message: 'Transaction amount too small',
        rejectReason: '',
      });
    }
    const coins = this.spendable().sort((a, b) =>
      a.confirmed !== b.confirmed ? (a.confirmed ? -1 : 1) : Number(b.output.value - a.output.value),
    );
    const change = this.miningScript;
    const picked: Spendable[] = [];
    let total = 0n;
    for (const c of coins) {
      picked.push(c);
      total += c.output.value;
      const fee = this.estimateFee(picked.length, script, feeRatePerKvb);
      if (total >= amount + fee) break;
    }
    const fee = this.estimateFee(picked.length, script, feeRatePerKvb);
    if (total < amount + fee)
      return err({ code: RPC.WALLET_INSUFFICIENT_FUNDS, message: 'Insufficient funds', rejectReason: '' });
    const outputs: TxOut[] = [{ value: amount as Sat, script }];
    const rest = total - amount - fee;
    if (rest >= dustThreshold({ value: rest as Sat, script: change }))
      outputs.push({ value: rest as Sat, script: change });
    let tx: Transaction = {
      version: 2,
      inputs: picked.map((c) => ({
        prevout: { txid: c.txid, vout: c.vout },
        scriptSig: new Uint8Array(0),
        sequence: 0xfffffffd,
        witness: [],
      })),
      outputs,
      locktime: this.node.height,
    };
    picked.forEach((c, i) => {
      tx = withWitness(tx, i, p2wpkhWitness(tx, i, c.output.value, c.secret));
    });
    return this.node.accept(tx, { maxFeeRatePerKvb: 0n });
  }

  private estimateFee(inputs: number, script: Uint8Array, rate: bigint): bigint {
    // P2WPKH inputs are 68 vbytes with a 72-byte signature; 11 bytes of overhead, a 31-byte change output.
    const size = 11 + inputs * 68 + 9 + script.length + 31;
    return (rate * BigInt(size) + 999n) / 1000n;
  }

  /** The wallet can spend the output (used by tests). */
  secretFor(script: Uint8Array): Uint8Array | null {
    return this.keys.get(hex(script)) ?? null;
  }
}
