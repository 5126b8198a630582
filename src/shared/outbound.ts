import dns from 'node:dns';
import net, { BlockList, isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector } from 'undici';

/**
 * Connections the server opens to addresses that instance and org administrators configure:
 * external IdPs (discovery, token, userinfo, keys), the SMS webhook and instance SMTP servers.
 * Those administrators are tenants, so by default such a connection may not reach the server's
 * own networks (loopback, private, link-local with the cloud metadata endpoint, and the like):
 * every address a name resolves to is checked, and the connection goes to the address checked,
 * so a name that changes its answer in between (DNS rebinding) gains nothing. Redirects are new
 * connections and are checked alike. The installation decides the exceptions (config `outbound`).
 */
export interface OutboundConfig {
  /** true: no address is refused (a development machine, or an installation whose tenants are all trusted) */
  allowPrivateNetworks: boolean;
  /** host names or addresses allowed even when they resolve to a private address (an IdP inside the company network) */
  allowedHosts: string[];
}

/** A connection refused because it would reach an address of the server's own networks. */
export class OutboundRefused extends Error {
  readonly code = 'EOUTBOUNDREFUSED';
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(
      `${host === address ? `${address} is` : `${host} resolves to ${address},`} an address of a private, loopback or link-local network: refused (an installation may allow it: outbound.allowedHosts)`,
    );
  }
}

// IANA's special-purpose ranges that are not the public internet; IPv4-mapped IPv6 addresses are checked as IPv4.
const INTERNAL = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  INTERNAL.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  INTERNAL.addSubnet(network, prefix, 'ipv6');

/** Whether an IP address belongs to a network a tenant's URL must not reach. */
export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  return family === 0 || INTERNAL.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

const bare = (host: string) =>
  host
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
    .toLowerCase();

export class Outbound {
  private readonly allowed: Set<string>;
  /** For net.connect and undici: resolves like dns.lookup, refusing a name with any internal address. */
  readonly lookup: LookupFunction;
  /** The global fetch, every connection of which is checked. */
  readonly fetch: typeof fetch;

  constructor(private readonly config: OutboundConfig) {
    this.allowed = new Set(config.allowedHosts.map(bare));
    this.lookup = (hostname, options, callback) => {
      dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
        if (err) return callback(err, '', 0);
        const refused = this.refuses(hostname) ? addresses.find((a) => isInternalAddress(a.address)) : undefined;
        if (refused) return callback(new OutboundRefused(hostname, refused.address), '', 0);
        if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
        callback(null, addresses[0].address, addresses[0].family);
      });
    };
    const connect = buildConnector({ lookup: this.lookup } as buildConnector.BuildOptions);
    const dispatcher = new Agent({
      // A name is checked by the lookup; an address in the URL (or a redirect to one) never reaches a lookup.
      connect: (options, callback) => {
        const refused = this.refusedAddress(options.hostname);
        if (refused) return callback(refused, null);
        connect(options, callback);
      },
    });
    this.fetch = (input, init) => fetch(input, { ...init, dispatcher } as RequestInit);
  }

  private refuses(host: string): boolean {
    return !this.config.allowPrivateNetworks && !this.allowed.has(bare(host));
  }

  /** The refusal of a host that is itself an internal address (no lookup checks those). */
  private refusedAddress(host: string): OutboundRefused | undefined {
    const address = bare(host);
    return isIP(address) && this.refuses(address) && isInternalAddress(address) ? new OutboundRefused(address, address) : undefined;
  }

  /** A TCP connection to host:port under the same rule (for SMTP: nodemailer's getSocket). */
  connect(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
    const refused = this.refusedAddress(host);
    if (refused) return Promise.reject(refused);
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: bare(host), port, lookup: this.lookup, timeout: timeoutMs });
      const fail = (err: Error) => {
        socket.destroy();
        reject(err);
      };
      const timedOut = () => fail(Object.assign(new Error(`connection to ${host}:${port} timed out`), { code: 'ETIMEDOUT' }));
      socket.once('error', fail);
      socket.once('timeout', timedOut);
      socket.once('connect', () => {
        socket.removeListener('error', fail);
        socket.removeListener('timeout', timedOut);
        socket.setTimeout(0);
        resolve(socket);
      });
    });
  }
}
