// RPC methods of the on-chain wallet, in Core Lightning's shapes: newaddr, listfunds, withdraw,
// listtransactions. The wallet core builds and signs; here we persist, broadcast and report.

import { fromHex } from '../core/bytes.ts';
import type { FeeratePerKw } from '../core/units.ts';
import { RpcError } from '../rpc/errors.ts';
import type { MethodSpec } from '../rpc/methods.ts';
import {
  listfunds,
  listtransactions,
  newaddr,
  parseFeerate,
  walletErrorCode,
  withdrawRpc,
} from '../wallet/rpc.ts';
import { type WalletError, walletErrorMessage } from '../wallet/types.ts';
import type { Onchain } from './onchain.ts';

function fail(e: WalletError): never {
  throw new RpcError(walletErrorCode(e), walletErrorMessage(e), { kind: e.kind });
}

/** Confirmation targets for CLN's named feerates. */
const TARGETS = { urgent: 2, normal: 6, slow: 12 } as const;

export function walletMethods(onchain: Onchain): MethodSpec[] {
  const w = onchain.wallet;
  return [
    {
      name: 'newaddr',
      description: 'A fresh address of the on-chain wallet: newaddr [bech32|p2tr|all]',
      params: [{ name: 'addresstype', type: 'string' }],
      handler: (p) => {
        const r = newaddr(w, p.addresstype ?? 'bech32');
        if (!r.ok) fail(r.error);
        return r.value;
      },
    },
    {
      name: 'listfunds',
      description: 'Outputs the on-chain wallet holds (and, later, channels)',
      params: [{ name: 'spent', type: 'boolean' }],
      handler: async (p) => {
        await onchain.sync();
        return listfunds(w, { spent: p.spent === true });
      },
    },
    {
      name: 'listtransactions',
      description: 'Transactions of the on-chain wallet',
      params: [],
      handler: async () => {
        await onchain.sync();
        return listtransactions(w);
      },
    },
    {
      name: 'withdraw',
      description: 'Send on-chain funds: withdraw destination satoshi|all [feerate] [minconf] [utxos]',
      params: [
        { name: 'destination', type: 'string', required: true },
        { name: 'satoshi', type: 'any', required: true },
        { name: 'feerate', type: 'any' },
        { name: 'minconf', type: 'integer' },
        { name: 'utxos', type: 'array' },
      ],
      handler: async (p) => {
        await onchain.sync();
        const estimates = new Map<string, FeeratePerKw>();
        for (const [name, target] of Object.entries(TARGETS))
          estimates.set(name, await onchain.chain.feeratePerKw(target));
        const feerate = parseFeerate(p.feerate ?? 'normal', (t) => estimates.get(t)!);
        if (!feerate.ok) fail(feerate.error);
        const r = withdrawRpc(w, {
          destination: p.destination as string,
          satoshi: p.satoshi,
          feerate: feerate.value,
          ...(p.minconf !== undefined ? { minconf: p.minconf as number } : {}),
          ...(p.utxos !== undefined ? { utxos: p.utxos as string[] } : {}),
        });
        if (!r.ok) fail(r.error);
        const sent = await onchain.persistAndBroadcast(r.value.txid, fromHex(r.value.tx));
        if (!sent.ok) throw new RpcError(-1, `the chain refused the transaction: ${sent.message}`);
        return r.value;
      },
    },
  ];
}
