/**
 * Whether the function is likely to reach a stored server as the operator did: pure classification of
 * the server's addresses (loopback, link-local, private, shared CGNAT) and of the operator's proxy
 * settings, and the warning with the fix for each. `register` stores a server that works from the
 * operator's machine; the function runs elsewhere, without the operator's VPN, hosts or proxy.
 */
import { BlockList, isIP } from 'node:net';

export type AddressScope = 'loopback' | 'link-local' | 'private' | 'shared' | 'public';

const RANGES: Record<Exclude<AddressScope, 'public'>, { v4: string[]; v6: string[] }> = {
  // 0.0.0.0/8 and :: mean "this host" when dialled, like loopback.
  loopback: { v4: ['127.0.0.0/8', '0.0.0.0/8'], v6: ['::1/128', '::/128'] },
  'link-local': { v4: ['169.254.0.0/16'], v6: ['fe80::/10'] },
  private: { v4: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'], v6: ['fc00::/7'] },
  shared: { v4: ['100.64.0.0/10'], v6: [] },
};

const SCOPES = Object.entries(RANGES).map(([scope, ranges]) => {
  const list = new BlockList();
  for (const range of ranges.v4) {
    const [network = '', prefix] = range.split('/');
    list.addSubnet(network, Number(prefix), 'ipv4');
    // The IPv4-mapped form (::ffff:127.0.0.1) reaches the same address.
    list.addSubnet(`::ffff:${network}`, 96 + Number(prefix), 'ipv6');
  }
  for (const range of ranges.v6) {
    const [network = '', prefix] = range.split('/');
    list.addSubnet(network, Number(prefix), 'ipv6');
  }
  return { scope: scope as AddressScope, list };
});

/** The scope of an IP address; undefined when `address` is not one. */
export function addressScope(address: string): AddressScope | undefined {
  const bare = address.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(bare);
  if (family === 0) return undefined;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  return SCOPES.find(({ list }) => list.check(bare, type))?.scope ?? 'public';
}

/** The host of a server URL as it is dialled: brackets and a trailing dot removed, lower case. */
export function serverHost(server: string): string | undefined {
  try {
    return new URL(server).hostname
      .replace(/^\[(.*)\]$/, '$1')
      .replace(/\.$/, '')
      .toLowerCase();
  } catch {
    return undefined;
  }
}

/** Names that resolve to this machine without DNS. */
export function isLocalName(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost');
}

/** Environment variables that configure a proxy, in the order curl and undici read them. */
const PROXY_VARIABLES = {
  'https:': ['https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'],
  'http:': ['http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY'],
} as const;

/** The proxy variable (name) that applies to `server` in `env`, unless NO_PROXY bypasses it. */
export function proxyVariableFor(
  server: string,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return undefined;
  }
  const variables = PROXY_VARIABLES[url.protocol as keyof typeof PROXY_VARIABLES] ?? [];
  const variable = variables.find((name) => env[name]?.trim());
  if (!variable) return undefined;
  const host = serverHost(server) ?? '';
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const noProxy = (env.no_proxy ?? env.NO_PROXY ?? '').split(/[\s,]+/).filter(Boolean);
  return noProxy.some((entry) => bypasses(entry, host, port)) ? undefined : variable;
}

/** One NO_PROXY entry split into its host pattern and optional port (`[::1]:443`, `a.b:443`, `fc00::/7`). */
function splitEntry(entry: string): { pattern: string; port?: string } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return { pattern: bracketed[1] ?? '', ...(bracketed[2] ? { port: bracketed[2] } : {}) };
  // More than one colon: a bare IPv6 address or range, which cannot carry a port.
  if (entry.indexOf(':') !== entry.lastIndexOf(':')) return { pattern: entry };
  const [pattern = '', port] = entry.split(':');
  return { pattern, ...(port ? { port } : {}) };
}

/** Whether one NO_PROXY entry (`*`, a name or `.suffix`, an IP or CIDR, each with an optional port) matches. */
function bypasses(entry: string, host: string, port: string): boolean {
  if (entry === '*') return true;
  const split = splitEntry(entry.toLowerCase());
  if (split.port && split.port !== port) return false;
  if (split.pattern.includes('/')) {
    const [network = '', prefix] = split.pattern.split('/');
    const family = isIP(network);
    if (family === 0 || isIP(host) !== family) return false;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const list = new BlockList();
    list.addSubnet(network, Number(prefix), type);
    return list.check(host, type);
  }
  const name = split.pattern.replace(/^\*?\./, '');
  return name !== '' && (host === name || host.endsWith(`.${name}`));
}

/** A proxy URL shown without its credentials: scheme, host and port only. */
export function proxyShown(proxyUrl: string): string {
  // Everything before the last `@` may be credentials: in a password left unencoded, the URL parser reads
  // what precedes a / ? # or \ as host and port. Proxy variables without a scheme mean http.
  const at = proxyUrl.lastIndexOf('@');
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(proxyUrl)?.[0] ?? 'http://';
  const bare = at === -1 ? proxyUrl : `${scheme}${proxyUrl.slice(at + 1)}`;
  try {
    const url = new URL(bare);
    return `${url.protocol}//${url.host}`;
  } catch {
    return '(unparsable proxy URL)';
  }
}

export interface ServerReachInput {
  /** The server URL as stored for the function. */
  readonly server: string;
  /** The addresses the server's host resolved to on the operator's machine (the host itself for an IP). */
  readonly addresses: readonly string[];
  /** The operator's environment, for proxy variables. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The admin kubeconfig's `proxy-url`, when the stored server is the admin's. */
  readonly kubeconfigProxyUrl?: string;
}

const PROXY_FIX =
  "name a forward proxy for the cluster in the registration file (the entry's proxy field), or run the function in VPC mode with a route to the server";

/** Why the function may not reach `input.server`, with the fix for each reason; empty when nothing is known. */
export function serverReachWarnings(input: ServerReachInput): string[] {
  const { server } = input;
  const host = serverHost(server);
  if (!host) return [];
  const warnings: string[] = [];
  const scopes = isLocalName(host)
    ? (['loopback'] as AddressScope[])
    : [...new Set(input.addresses.map(addressScope).filter((s) => s !== undefined && s !== 'public'))];
  const resolved =
    isIP(host) || isLocalName(host) ? '' : ` (${host} resolves to ${input.addresses.join(', ')})`;
  for (const scope of scopes) {
    if (scope === 'loopback') {
      warnings.push(
        `server ${server} is a loopback address${resolved}: the function cannot reach it, it would dial itself. Store the address the function reaches with --server: for k3s, start the server with --tls-san <public address> and register with --server https://<public address>:6443`,
      );
    } else if (scope === 'link-local') {
      warnings.push(
        `server ${server} is a link-local address${resolved}, reachable only on the operator's own network link: the function cannot reach it. Register with --server and an address the function reaches`,
      );
    } else {
      const what = scope === 'shared' ? 'a shared (CGNAT, 100.64.0.0/10) address' : 'a private address';
      warnings.push(
        `server ${server} is ${what}${resolved}: the function reaches it only in VPC mode, in subnets routed to that network (VPN, Transit Gateway, peering), or through a proxy named for the cluster in the registration file; otherwise register with --server and its public address`,
      );
    }
  }
  const variable = proxyVariableFor(server, input.env);
  if (variable) {
    warnings.push(
      `your environment sends ${host} through a proxy (${variable}=${proxyShown(input.env[variable] ?? '')}, not bypassed by NO_PROXY); the function does not use your proxy settings and may not reach ${server} directly: allowlist the function's egress addresses at the server, or ${PROXY_FIX}`,
    );
  }
  if (input.kubeconfigProxyUrl) {
    warnings.push(
      `the admin kubeconfig reaches ${server} through its proxy-url (${proxyShown(input.kubeconfigProxyUrl)}), which cred-courier never uses from a stored kubeconfig: the function may not reach the server; ${PROXY_FIX}`,
    );
  }
  return warnings;
}
