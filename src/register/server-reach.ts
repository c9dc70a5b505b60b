/**
 * The warnings of src/register/server-address.ts for a server as the operator's machine sees it: its
 * host resolved here (a name that does not resolve gives no warning; the reachability check says why)
 * and the operator's proxy environment.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { isLocalName, serverHost, serverReachWarnings } from './server-address.ts';

/** A slow resolver must not hold up `register` or `check`: after this, the name counts as unresolved. */
const LOOKUP_TIMEOUT_MS = 5000;

export interface ServerReachOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The admin kubeconfig's `proxy-url`, when the stored server is the admin's. */
  readonly kubeconfigProxyUrl?: string;
  readonly resolve?: (host: string) => Promise<readonly string[]>;
}

async function resolveHere(host: string): Promise<readonly string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<readonly string[]>((resolve) => {
    timer = setTimeout(() => resolve([]), LOOKUP_TIMEOUT_MS);
  });
  const answer = lookup(host, { all: true }).then(
    (found) => found.map((a) => a.address),
    () => [],
  );
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Why the function may not reach `server`, with the fix for each reason. */
export async function serverWarnings(server: string, options: ServerReachOptions = {}): Promise<string[]> {
  const host = serverHost(server);
  if (!host) return [];
  const addresses =
    isIP(host) !== 0 ? [host] : isLocalName(host) ? [] : await (options.resolve ?? resolveHere)(host);
  return serverReachWarnings({
    server,
    addresses,
    env: options.env ?? process.env,
    ...(options.kubeconfigProxyUrl ? { kubeconfigProxyUrl: options.kubeconfigProxyUrl } : {}),
  });
}
