// BOLT 7 address descriptors, as carried by node_announcement `addresses` and init's `remote_addr`.
// The spec describes them in prose, not as a message block, so they are parsed here by hand.
import { err, ok, type Result } from '../core/result.ts';
import type { WireError } from './errors.ts';

export type NetAddress =
  | { readonly kind: 'ipv4'; readonly addr: Uint8Array; readonly port: number }
  | { readonly kind: 'ipv6'; readonly addr: Uint8Array; readonly port: number }
  /** Deprecated Tor v2: kept opaque so re-encoding is exact. */
  | { readonly kind: 'torv2'; readonly data: Uint8Array }
  | { readonly kind: 'torv3'; readonly addr: Uint8Array; readonly port: number }
  | { readonly kind: 'dns'; readonly hostname: string; readonly port: number };

// BOLT #7:
//    * `1`: ipv4; data = `[4:ipv4_addr][2:port]` (length 6)
//    * `2`: ipv6; data = `[16:ipv6_addr][2:port]` (length 18)
//    * `3`: Deprecated (length 12). Used to contain Tor v2 onion services.
//    * `4`: Tor v3 onion service; data = `[35:onion_addr][2:port]` (length 37)
//    * `5`: DNS hostname; data = `[1:hostname_len][hostname_len:hostname][2:port]` (length up to 258)
const ADDR_LEN = { 1: 4, 2: 16, 4: 35 } as const;

export type DecodedAddresses = {
  readonly addresses: NetAddress[];
  /** Offset of the first descriptor of an unknown type, where parsing stopped (BOLT 7), or null. */
  readonly unknownAt: number | null;
};

/**
 * Parses a list of descriptors. An unknown type ends the list (its length is unknown); a known one that
 * does not fit, or a non-ASCII hostname, is an error.
 */
export function decodeAddresses(bytes: Uint8Array): Result<DecodedAddresses, WireError> {
  const addresses: NetAddress[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const type = bytes[pos]!;
    const at = `addresses[${addresses.length}]`;
    const need = (n: number) => pos + 1 + n <= bytes.length;
    const port = (o: number) => (bytes[o]! << 8) | bytes[o + 1]!;
    if (type === 1 || type === 2 || type === 4) {
      const len = ADDR_LEN[type];
      if (!need(len + 2)) return err({ kind: 'truncated', at });
      const addr = bytes.slice(pos + 1, pos + 1 + len);
      const kind = type === 1 ? 'ipv4' : type === 2 ? 'ipv6' : 'torv3';
      addresses.push({ kind, addr, port: port(pos + 1 + len) });
      pos += 1 + len + 2;
    } else if (type === 3) {
      if (!need(12)) return err({ kind: 'truncated', at });
      addresses.push({ kind: 'torv2', data: bytes.slice(pos + 1, pos + 13) });
      pos += 13;
    } else if (type === 5) {
      if (!need(1)) return err({ kind: 'truncated', at });
      const len = bytes[pos + 1]!;
      if (!need(1 + len + 2)) return err({ kind: 'truncated', at });
      const host = bytes.subarray(pos + 2, pos + 2 + len);
      // BOLT #7:
      //        * `hostname` bytes MUST be ASCII characters.
      if (host.some((b) => b > 0x7f)) return err({ kind: 'invalid_address', at });
      addresses.push({ kind: 'dns', hostname: String.fromCharCode(...host), port: port(pos + 2 + len) });
      pos += 2 + len + 2;
    } else {
      return ok({ addresses, unknownAt: pos });
    }
  }
  return ok({ addresses, unknownAt: null });
}

function u16(n: number): number[] {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError(`port ${n}`);
  return [n >> 8, n & 0xff];
}

export function encodeAddress(a: NetAddress): Uint8Array {
  switch (a.kind) {
    case 'ipv4':
    case 'ipv6':
    case 'torv3': {
      const type = a.kind === 'ipv4' ? 1 : a.kind === 'ipv6' ? 2 : 4;
      if (a.addr.length !== ADDR_LEN[type])
        throw new RangeError(`${a.kind} address of ${a.addr.length} bytes`);
      return Uint8Array.from([type, ...a.addr, ...u16(a.port)]);
    }
    case 'torv2':
      if (a.data.length !== 12) throw new RangeError('torv2 descriptor must be 12 bytes');
      return Uint8Array.from([3, ...a.data]);
    case 'dns': {
      const host = [...a.hostname].map((c) => c.charCodeAt(0));
      if (host.length > 255 || host.some((b) => b > 0x7f))
        throw new RangeError('hostname must be ASCII, <= 255');
      return Uint8Array.from([5, host.length, ...host, ...u16(a.port)]);
    }
  }
}

/** BOLT 7: descriptors in ascending type order. */
export function encodeAddresses(list: readonly NetAddress[]): Uint8Array {
  const order = { ipv4: 1, ipv6: 2, torv2: 3, torv3: 4, dns: 5 } as const;
  const sorted = [...list].sort((x, y) => order[x.kind] - order[y.kind]);
  const parts = sorted.map(encodeAddress);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(acc << (5 - bits)) & 31];
  return out;
}

/** `1.2.3.4:9735`, `[2001:db8::1]:9735` (uncompressed groups), `<56 chars>.onion:9735`, `host:port`. */
export function formatAddress(a: NetAddress): string {
  switch (a.kind) {
    case 'ipv4':
      return `${[...a.addr].join('.')}:${a.port}`;
    case 'ipv6': {
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2) groups.push(((a.addr[i]! << 8) | a.addr[i + 1]!).toString(16));
      return `[${groups.join(':')}]:${a.port}`;
    }
    case 'torv2':
      return `${base32(a.data.subarray(0, 10))}.onion:${(a.data[10]! << 8) | a.data[11]!}`;
    case 'torv3':
      return `${base32(a.addr)}.onion:${a.port}`;
    case 'dns':
      return `${a.hostname}:${a.port}`;
  }
}
