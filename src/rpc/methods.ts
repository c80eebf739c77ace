// Schema-first method table: every method declares its parameters, so the server can map positional
// params (lightning-cli style) and validate types before a handler runs.
import { invalidParams, RpcError } from './errors.ts';

export type ParamType = 'string' | 'integer' | 'boolean' | 'msat' | 'any' | 'array' | 'object';

export interface ParamSpec {
  readonly name: string;
  readonly type: ParamType;
  readonly required?: boolean;
  readonly description?: string;
}

export type Params = Record<string, unknown>;

export interface MethodSpec {
  readonly name: string;
  readonly description: string;
  readonly params: readonly ParamSpec[];
  readonly handler: (params: Params) => Promise<unknown> | unknown;
}

export type MethodTable = ReadonlyMap<string, MethodSpec>;

export function methodTable(methods: readonly MethodSpec[]): MethodTable {
  return new Map(methods.map((m) => [m.name, m]));
}

/** Amounts as Core Lightning accepts them: a number of msat, or a string "123msat", "5sat", "0.1btc", "any". */
export function parseMsat(value: unknown, name: string): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === 'bigint' && value >= 0n) return value;
  if (typeof value === 'string') {
    const m = /^(\d+)(msat|sat)?$/.exec(value) ?? /^(\d+(?:\.\d{1,11})?)(btc)$/.exec(value);
    if (m) {
      const unit = m[2] ?? 'msat';
      if (unit === 'msat') return BigInt(m[1]!);
      if (unit === 'sat') return BigInt(m[1]!) * 1000n;
      const [whole, frac = ''] = m[1]!.split('.');
      return BigInt(whole!) * 100_000_000_000n + BigInt(`${frac}00000000000`.slice(0, 11));
    }
  }
  throw invalidParams(
    `${name}: expected an amount such as 1000, "1000msat", "5sat" or "0.001btc", got ${JSON.stringify(value)}`,
  );
}

function checkType(spec: ParamSpec, value: unknown): unknown {
  switch (spec.type) {
    case 'string':
      if (typeof value !== 'string') throw invalidParams(`${spec.name}: expected a string`);
      return value;
    case 'integer': {
      const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isSafeInteger(n))
        throw invalidParams(`${spec.name}: expected an integer`);
      return n;
    }
    case 'boolean':
      if (value === 'true') return true;
      if (value === 'false') return false;
      if (typeof value !== 'boolean') throw invalidParams(`${spec.name}: expected true or false`);
      return value;
    case 'msat':
      return value === 'any' ? 'any' : parseMsat(value, spec.name);
    case 'array':
      if (!Array.isArray(value)) throw invalidParams(`${spec.name}: expected an array`);
      return value;
    case 'object':
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw invalidParams(`${spec.name}: expected an object`);
      }
      return value;
    case 'any':
      return value;
  }
}

/** Maps positional or named params onto the method's declared parameters and checks their types. */
export function bindParams(method: MethodSpec, raw: unknown): Params {
  const out: Params = {};
  if (raw === undefined || raw === null) raw = {};
  if (Array.isArray(raw)) {
    if (raw.length > method.params.length) {
      throw invalidParams(
        `${method.name} takes at most ${method.params.length} parameters, got ${raw.length}`,
      );
    }
    raw.forEach((v, i) => {
      if (v !== null && v !== undefined) out[method.params[i]!.name] = v;
    });
  } else if (typeof raw === 'object') {
    const known = new Set(method.params.map((p) => p.name));
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
      if (!known.has(k)) throw invalidParams(`${method.name}: unknown parameter '${k}'`);
      if (v !== null && v !== undefined) out[k] = v;
    }
  } else {
    throw invalidParams('params must be an array or an object');
  }
  for (const spec of method.params) {
    if (!(spec.name in out)) {
      if (spec.required) throw invalidParams(`${method.name}: missing required parameter '${spec.name}'`);
      continue;
    }
    out[spec.name] = checkType(spec, out[spec.name]);
  }
  return out;
}

export async function callMethod(table: MethodTable, name: string, params: unknown): Promise<unknown> {
  const method = table.get(name);
  if (!method) throw new RpcError(-32601, `Unknown command '${name}'`);
  return method.handler(bindParams(method, params));
}
