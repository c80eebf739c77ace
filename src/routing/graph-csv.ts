// Reads the channel-policy CSV of a graph snapshot (../shared/data/graph, see its SOURCE.md) into a
// Graph. The snapshot keeps no short channel ids, so its channel_index stands in for one.
import { msat } from '../core/units.ts';
import { Graph } from './graph.ts';

export interface CsvLoadResult {
  readonly graph: Graph;
  readonly directions: number;
  /** Rows that were disabled or carried the all-zero placeholder policy. */
  readonly unusable: number;
}

const COLUMNS = [
  'channel_index',
  'source_pubkey',
  'destination_pubkey',
  'capacity_sat',
  'enabled',
  'fee_base_msat',
  'fee_proportional_millionths',
  'cltv_expiry_delta',
  'htlc_minimum_msat',
  'htlc_maximum_msat',
  'all_zero_policy',
] as const;

export function graphFromPolicyCsv(text: string, into: Graph = new Graph()): CsvLoadResult {
  const lines = text.split(/\r?\n/);
  const header = lines[0]?.trim().split(',') ?? [];
  const col = Object.fromEntries(
    COLUMNS.map((c) => {
      const i = header.indexOf(c);
      if (i < 0) throw new Error(`graph CSV lacks column ${c}`);
      return [c, i];
    }),
  ) as Record<(typeof COLUMNS)[number], number>;
  let directions = 0;
  let unusable = 0;
  for (let li = 1; li < lines.length; li++) {
    const line = lines[li]!;
    if (line.length === 0) continue;
    const f = line.split(',');
    directions++;
    if (f[col.enabled] !== '1' || f[col.all_zero_policy] !== '0') {
      unusable++;
      continue;
    }
    const capacity = msat(BigInt(f[col.capacity_sat]!) * 1000n);
    const max = f[col.htlc_maximum_msat]!;
    into.setEdge({
      scid: BigInt(f[col.channel_index]!),
      from: f[col.source_pubkey]!,
      to: f[col.destination_pubkey]!,
      capacityMsat: capacity,
      policy: {
        feeBaseMsat: msat(BigInt(f[col.fee_base_msat]!)),
        feeProportionalMillionths: Number(f[col.fee_proportional_millionths]!),
        cltvExpiryDelta: Number(f[col.cltv_expiry_delta]!),
        htlcMinimumMsat: msat(BigInt(f[col.htlc_minimum_msat]!)),
        htlcMaximumMsat: max === '' ? undefined : msat(BigInt(max)),
        enabled: true,
      },
    });
  }
  return { graph: into, directions, unusable };
}
