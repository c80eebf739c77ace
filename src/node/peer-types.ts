// What the rest of the node sees of a peer connection (RPC shapes follow Core Lightning's listpeers/connect).

export interface PeerAddress {
  readonly type: 'ipv4' | 'ipv6' | 'dns' | 'local socket';
  readonly address: string;
  readonly port: number;
}

export interface PeerSummary {
  readonly id: string;
  readonly connected: boolean;
  readonly direction: 'in' | 'out';
  readonly netaddr: readonly string[];
  readonly remote_addr?: string;
  /** Their init features (globalfeatures | features), hex. */
  readonly features: string;
}

export function addressOf(host: string, port: number): PeerAddress {
  if (host.includes(':')) return { type: 'ipv6', address: host, port };
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return { type: 'ipv4', address: host, port };
  return { type: 'dns', address: host, port };
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
