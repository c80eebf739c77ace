// Payment RPC methods in Core Lightning's shapes: sendpay, waitsendpay, pay, keysend, listsendpays,
// listpays, listforwards, setchannel. The invoice methods are rpc-invoices.ts's.

import { formatShortChannelId } from '../bolt11-invoice/index.ts';
import { fromHex } from '../core/bytes.ts';
import { type Msat, msat } from '../core/units.ts';
import { invalidParams, RpcError } from '../rpc/errors.ts';
import { type MethodSpec, parseMsat } from '../rpc/methods.ts';
import type { ChannelDriver } from './channel-driver.ts';
import { type Payer, type RouteHop, sendpayJson } from './pay.ts';
import { parseDevRoutes } from './rpc-invoices.ts';
import type { PaymentSwitch } from './switch.ts';
import { scidOf } from './switch-policy.ts';

function hash32(v: unknown, name: string): Uint8Array {
  if (typeof v !== 'string' || !/^[0-9a-fA-F]{64}$/.test(v))
    throw invalidParams(`${name}: expected 32 bytes of hex`);
  return fromHex(v);
}

function routeOf(v: unknown): RouteHop[] {
  if (!Array.isArray(v)) throw invalidParams('route: expected an array');
  return v.map((h: Record<string, unknown>) => {
    if (typeof h.id !== 'string' || typeof h.channel !== 'string')
      throw invalidParams('route: hop needs id and channel');
    const delay = Number(h.delay);
    if (!Number.isInteger(delay) || delay < 0) throw invalidParams('route: hop needs delay');
    return {
      id: h.id.toLowerCase(),
      channel: h.channel,
      amount_msat: msat(parseMsat(h.amount_msat, 'amount_msat')),
      delay,
    };
  });
}

export function paymentMethods(o: {
  payer: Payer;
  switch: PaymentSwitch;
  driver: ChannelDriver;
}): MethodSpec[] {
  const { payer } = o;
  const optMsat = (v: unknown, name: string): Msat | undefined =>
    v === undefined ? undefined : msat(parseMsat(v, name));
  return [
    {
      name: 'sendpay',
      description:
        'Send along a route: sendpay route payment_hash [label] [amount_msat] [bolt11] [payment_secret] [partid] [groupid]',
      params: [
        { name: 'route', type: 'array', required: true },
        { name: 'payment_hash', type: 'string', required: true },
        { name: 'label', type: 'string' },
        { name: 'amount_msat', type: 'any' },
        { name: 'bolt11', type: 'string' },
        { name: 'payment_secret', type: 'string' },
        { name: 'partid', type: 'integer' },
        { name: 'groupid', type: 'integer' },
      ],
      handler: (p) => {
        const amount = optMsat(p.amount_msat, 'amount_msat');
        const r = payer.sendpay({
          route: routeOf(p.route),
          paymentHash: hash32(p.payment_hash, 'payment_hash'),
          ...(p.label !== undefined ? { label: p.label as string } : {}),
          ...(amount !== undefined ? { amountMsat: amount } : {}),
          ...(p.bolt11 !== undefined ? { bolt11: p.bolt11 as string } : {}),
          ...(p.payment_secret !== undefined
            ? { paymentSecret: hash32(p.payment_secret, 'payment_secret') }
            : {}),
          ...(p.partid !== undefined ? { partid: p.partid as number } : {}),
          ...(p.groupid !== undefined ? { groupid: p.groupid as number } : {}),
        });
        return { message: 'Monitor status with listpays or waitsendpay', ...sendpayJson(r) };
      },
    },
    {
      name: 'waitsendpay',
      description: 'Wait for a sendpay to complete: waitsendpay payment_hash [timeout] [partid]',
      params: [
        { name: 'payment_hash', type: 'string', required: true },
        { name: 'timeout', type: 'integer' },
        { name: 'partid', type: 'integer' },
      ],
      handler: (p) =>
        payer.waitsendpay(
          (p.payment_hash as string).toLowerCase(),
          (p.timeout as number | undefined) ?? 3600,
          p.partid as number | undefined,
        ),
    },
    {
      name: 'pay',
      description:
        'Pay a bolt11 invoice: pay bolt11 [amount_msat] [maxfeepercent] [retry_for] [maxdelay] [exclude] [maxfee] [exemptfee]',
      params: [
        { name: 'bolt11', type: 'string', required: true },
        { name: 'amount_msat', type: 'any' },
        { name: 'maxfeepercent', type: 'any' },
        { name: 'retry_for', type: 'integer' },
        { name: 'maxdelay', type: 'integer' },
        { name: 'exclude', type: 'array' },
        { name: 'maxfee', type: 'any' },
        { name: 'exemptfee', type: 'any' },
      ],
      handler: (p) => {
        const amount = optMsat(p.amount_msat, 'amount_msat');
        const maxfee = optMsat(p.maxfee, 'maxfee');
        const exemptfee = optMsat(p.exemptfee, 'exemptfee');
        return payer.pay({
          bolt11: p.bolt11 as string,
          ...(amount !== undefined ? { amountMsat: amount } : {}),
          ...(p.maxfeepercent !== undefined ? { maxFeePercent: Number(p.maxfeepercent) } : {}),
          ...(p.retry_for !== undefined ? { retryForS: p.retry_for as number } : {}),
          ...(p.maxdelay !== undefined ? { maxDelay: p.maxdelay as number } : {}),
          ...(p.exclude !== undefined ? { exclude: (p.exclude as unknown[]).map(String) } : {}),
          ...(maxfee !== undefined ? { maxFeeMsat: maxfee } : {}),
          ...(exemptfee !== undefined ? { exemptFeeMsat: exemptfee } : {}),
        });
      },
    },
    {
      name: 'keysend',
      description:
        'Pay a node without an invoice: keysend destination amount_msat [maxfeepercent] [retry_for] [maxdelay] [routehints]',
      params: [
        { name: 'destination', type: 'string', required: true },
        { name: 'amount_msat', type: 'msat', required: true },
        { name: 'maxfeepercent', type: 'any' },
        { name: 'retry_for', type: 'integer' },
        { name: 'maxdelay', type: 'integer' },
        { name: 'routehints', type: 'array' },
      ],
      handler: (p) =>
        payer.keysend({
          destination: p.destination as string,
          amountMsat: msat(p.amount_msat as bigint),
          hints: p.routehints === undefined ? [] : parseDevRoutes(p.routehints),
          ...(p.maxfeepercent !== undefined ? { maxFeePercent: Number(p.maxfeepercent) } : {}),
          ...(p.retry_for !== undefined ? { retryForS: p.retry_for as number } : {}),
          ...(p.maxdelay !== undefined ? { maxDelay: p.maxdelay as number } : {}),
        }),
    },
    {
      name: 'listsendpays',
      description: 'List payment parts: listsendpays [bolt11] [payment_hash]',
      params: [
        { name: 'bolt11', type: 'string' },
        { name: 'payment_hash', type: 'string' },
      ],
      handler: (p) => ({
        payments: payer
          .listSendpays(p.payment_hash as string | undefined)
          .filter((x) => p.bolt11 === undefined || x.bolt11 === p.bolt11)
          .map(sendpayJson),
      }),
    },
    {
      name: 'listpays',
      description: 'List payments: listpays [bolt11] [payment_hash]',
      params: [
        { name: 'bolt11', type: 'string' },
        { name: 'payment_hash', type: 'string' },
      ],
      handler: (p) => ({
        pays: payer
          .listPays(p.payment_hash as string | undefined)
          .filter((x) => p.bolt11 === undefined || x.bolt11 === p.bolt11),
      }),
    },
    {
      name: 'listforwards',
      description: 'List forwarded HTLCs: listforwards [status] [in_channel] [out_channel]',
      params: [
        { name: 'status', type: 'string' },
        { name: 'in_channel', type: 'string' },
        { name: 'out_channel', type: 'string' },
      ],
      handler: (p) => ({
        forwards: o.switch
          .listForwards()
          .filter(
            (f) =>
              (p.status === undefined || f.status === p.status) &&
              (p.in_channel === undefined || f.in_channel === p.in_channel) &&
              (p.out_channel === undefined || f.out_channel === p.out_channel),
          ),
      }),
    },
    {
      name: 'setchannel',
      description:
        "Set a channel's forwarding fees and limits: setchannel id [feebase] [feeppm] [htlcmin] [htlcmax]",
      params: [
        { name: 'id', type: 'string', required: true },
        { name: 'feebase', type: 'any' },
        { name: 'feeppm', type: 'integer' },
        { name: 'htlcmin', type: 'any' },
        { name: 'htlcmax', type: 'any' },
      ],
      handler: (p) => {
        const ch = o.driver.find(p.id as string);
        if (!ch) throw new RpcError(-1, `Could not find channel ${String(p.id)}`);
        const cur = o.switch.policies.get(ch.key);
        const feebase = optMsat(p.feebase, 'feebase');
        const htlcmin = optMsat(p.htlcmin, 'htlcmin');
        const htlcmax = optMsat(p.htlcmax, 'htlcmax');
        if (p.feeppm !== undefined && (p.feeppm as number) < 0)
          throw invalidParams('feeppm must not be negative');
        const next = {
          ...cur,
          ...(feebase !== undefined ? { feeBaseMsat: feebase } : {}),
          ...(p.feeppm !== undefined ? { feePpm: p.feeppm as number } : {}),
          ...(htlcmin !== undefined ? { htlcMinimumMsat: htlcmin } : {}),
          ...(htlcmax !== undefined ? { htlcMaximumMsat: htlcmax } : {}),
        };
        o.switch.policies.set(ch.key, next);
        const scid = scidOf(ch.state);
        return {
          channels: [
            {
              peer_id: ch.peerId,
              ...(scid !== undefined ? { short_channel_id: formatShortChannelId(scid) } : {}),
              fee_base_msat: next.feeBaseMsat,
              fee_proportional_millionths: next.feePpm,
              minimum_htlc_out_msat: next.htlcMinimumMsat,
              ...(next.htlcMaximumMsat !== undefined ? { maximum_htlc_out_msat: next.htlcMaximumMsat } : {}),
              cltv_expiry_delta: next.cltvExpiryDelta,
            },
          ],
        };
      },
    },
  ];
}
