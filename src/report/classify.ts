/**
 * Failure classes: what went wrong, in words an operator can act on, and whether trying again can help.
 * The class is what logs, metrics and the CLI's JSON report carry; it is a small fixed set so it can be
 * a metric dimension.
 */
import { ApiException } from '@kubernetes/client-node';
import { printable } from '../config/schema.ts';
import {
  ConfigError,
  CredCourierError,
  KubeconfigError,
  MintError,
  MissingObjectError,
  OwnershipConflictError,
  ProxyError,
  RedirectRefusedError,
} from '../errors.ts';
import type { Redactor } from './redact.ts';

export const FAILURE_CLASSES = {
  refused: 'connection refused: nothing listens at the server address',
  dns: 'the server name does not resolve',
  tls: "TLS failed: the server's certificate is not trusted by the kubeconfig's CA, expired, or for another name",
  timeout: 'no answer in time (request timeout or cluster deadline)',
  network: 'the connection broke (reset, closed mid-response)',
  unauthorized: 'HTTP 401: the credential in the kubeconfig is invalid, expired or revoked',
  forbidden: 'HTTP 403: the identity lacks a permission delivery needs (see `cred-courier rbac`)',
  'not-found': 'HTTP 404 or a missing namespace/ServiceAccount',
  conflict: 'HTTP 409/422 or an object cred-courier does not own: left untouched',
  throttled: 'HTTP 429: the apiserver asked to slow down',
  server: 'HTTP 5xx: the apiserver failed',
  redirect: 'HTTP 3xx: the server answered with a redirect, which is never followed (nothing is sent again)',
  'proxy-unreachable': "the cluster's forward proxy could not be reached (refused, unresolvable, unroutable)",
  'proxy-auth':
    "the cluster's forward proxy refused its credentials (HTTP 407), or the proxy's credentials secret is unreadable or malformed",
  'proxy-denied':
    "the cluster's forward proxy refused the tunnel to the apiserver (CONNECT answered 403 or another 4xx)",
  'proxy-tunnel':
    "the cluster's forward proxy could not open the tunnel to the apiserver (CONNECT answered 5xx, e.g. 502/503)",
  kubeconfig: 'the stored kubeconfig is missing, unreadable or of a refused form',
  mint: 'AWS refused or failed to mint the credential',
  config: 'the registration file is invalid',
  deadline: 'not reached before the run had to stop',
  unknown: 'an unexpected error',
} as const;

export type FailureClass = keyof typeof FAILURE_CLASSES;

/** What to do about each class: shown after failures in the CLI's text output and in notifications. */
export const FAILURE_ADVICE: Readonly<Record<FailureClass, string>> = {
  refused:
    'check the server URL and port in the kubeconfig (`cred-courier check CLUSTER`), and that the API server is running and reachable from where cred-courier runs; if the cluster was decommissioned, remove it from the registration file',
  dns: "check the server's host name in the kubeconfig; a private name resolves only inside its network",
  tls: 'store a kubeconfig whose certificate-authority-data is the CA that signed the server certificate (`cred-courier register CLUSTER --kubeconfig FILE --rotate`), and check the server name matches the certificate',
  timeout:
    'check that the server is reachable from where cred-courier runs (firewall, authorised networks, egress IPs); raise settings.requestTimeoutSeconds only for a slow but reachable server',
  network:
    'the message names the cause: a reset or closed connection usually passes on the next run; a port fetch refuses (bad port) needs the API served on another port; if it persists, check proxies and firewalls between here and the server',
  unauthorized:
    'store a fresh credential: `cred-courier register CLUSTER --kubeconfig ADMIN --rotate`, then `cred-courier check CLUSTER`',
  forbidden:
    'apply the RBAC delivery needs: `cred-courier rbac CLUSTER | kubectl apply -f -` (or `register CLUSTER`), then `cred-courier check CLUSTER`',
  'not-found':
    "create the namespace or ServiceAccount the file names exactly, or fix the name; a server that is not a Kubernetes apiserver also answers 404: check the kubeconfig's server URL",
  conflict:
    "a Secret of that name exists and is not cred-courier's: rename secretName, delete the other Secret, or set adoptExistingSecrets: true to take it over",
  throttled: 'usually passes on the next run; lower settings.requestConcurrency if it persists',
  server: "the apiserver failed: check the cluster's control plane; the next run retries",
  redirect: "point the kubeconfig's server at the API server itself, not at something that redirects",
  'proxy-unreachable':
    "check the cluster's proxy.url in the registration file and that the proxy runs and accepts connections from where cred-courier runs",
  'proxy-auth':
    'fix the credentials in the secret named by proxy.credentialsSecret (JSON {"username", "password"}), or the proxy\'s user list',
  'proxy-denied': "allow CONNECT to the apiserver's host and port in the proxy's rules (ACL)",
  'proxy-tunnel':
    "check that the proxy reaches the apiserver (its DNS, routes and firewall) and the proxy's log",
  kubeconfig:
    'check that the kubeconfig secret exists in the region and account it is read from and that the reader may read it (`cred-courier check CLUSTER`); register the cluster again if it is missing or malformed',
  mint: 'check the role ARN, its trust policy (it must trust the identity cred-courier runs as) and the region; the message names what AWS refused',
  config: 'fix the registration file where the message points; `cred-courier validate` lists every problem',
  deadline:
    'raise the Lambda timeout or settings.clusterDeadlineSeconds, or raise settings.concurrency; the clusters that finished are delivered',
  unknown: "read the log for this cluster's full message (run with -v); the other clusters were not affected",
};

/** Classes worth retrying within a run: the next attempt may succeed without anyone changing anything. */
const TRANSIENT: ReadonlySet<FailureClass> = new Set([
  'timeout',
  'network',
  'throttled',
  'server',
  'refused',
  // A proxy restarting, or briefly unable to reach the apiserver, may work on the next attempt; a 407
  // or a rule refusing the tunnel does not change without someone changing the proxy or the secret.
  'proxy-unreachable',
  'proxy-tunnel',
]);

export function isTransient(failureClass: FailureClass): boolean {
  return TRANSIENT.has(failureClass);
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
]);

/** The chain of causes of an error, outermost first (fetch wraps socket errors in `cause`). */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current = error;
  while (current !== undefined && current !== null && chain.length < 8) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

function classOfStatus(status: number): FailureClass {
  if (status >= 300 && status < 400) return 'redirect';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status === 409 || status === 422) return 'conflict';
  if (status === 429) return 'throttled';
  if (status >= 500) return 'server';
  return 'unknown';
}

export function classify(error: unknown): FailureClass {
  for (const item of causes(error)) {
    if (item instanceof ProxyError) return `proxy-${item.reason}`;
    if (item instanceof RedirectRefusedError) return 'redirect';
    if (item instanceof OwnershipConflictError) return 'conflict';
    if (item instanceof MissingObjectError) return 'not-found';
    if (item instanceof KubeconfigError) return 'kubeconfig';
    if (item instanceof MintError) return 'mint';
    if (item instanceof ConfigError) return 'config';
    if (item instanceof ApiException) return classOfStatus(item.code);
    const { name } = item as { name?: string };
    // DOMExceptions carry a numeric `code`; only Node's string codes name socket and TLS failures.
    const rawCode = (item as { code?: unknown }).code;
    const code = typeof rawCode === 'string' ? rawCode : undefined;
    if (
      name === 'TimeoutError' ||
      name === 'AbortError' ||
      code === 'ETIMEDOUT' ||
      code === 'UND_ERR_CONNECT_TIMEOUT'
    ) {
      return 'timeout';
    }
    if (code === 'ECONNREFUSED') return 'refused';
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns';
    if (code && (TLS_CODES.has(code) || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL')))
      return 'tls';
    if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET' || code === 'UND_ERR_CLOSED') {
      return 'network';
    }
  }
  // fetch failed before or while connecting and said no socket code (e.g. a port fetch refuses).
  if (causes(error).some(isFetchFailure)) return 'network';
  return 'unknown';
}

/** Seconds the server asked us to wait (429/503 Retry-After), if it said. */
export function retryAfterSeconds(error: unknown): number | undefined {
  for (const item of causes(error)) {
    if (item instanceof ApiException) {
      const value = Number(item.headers?.['retry-after']);
      return Number.isFinite(value) && value >= 0 ? value : undefined;
    }
  }
  return undefined;
}

/** Longest description kept: enough for an apiserver's reason, bounded for log lines and the ledger. */
export const MAX_DESCRIPTION_CHARACTERS = 500;

/**
 * A one-line description safe to log: the class, the HTTP status or socket code, the server's reason.
 * Scrubbed by `redactor` before it is cut, so a secret the cut would split is replaced whole, never left
 * as a fragment the redactor no longer recognises; text the project did not write then has its control
 * and bidi characters escaped (after the scrub, which knows secrets as written), so an apiserver's or an
 * admission webhook's message cannot erase or forge lines of the CLI's output. Without a redactor only
 * for errors that cannot hold secret material (e.g. the ledger's own AWS errors).
 */
export function describeFailure(error: unknown, redactor?: Pick<Redactor, 'scrub'>): string {
  const { own, foreign } = fullDescription(error);
  const scrub = (text: string) => (redactor ? redactor.scrub(text) : text);
  return (scrub(own) + printable(scrub(foreign))).slice(0, MAX_DESCRIPTION_CHARACTERS);
}

/** The description: `own` is the project's words, `foreign` what a server or library said. */
function fullDescription(error: unknown): { own: string; foreign: string } {
  for (const item of causes(error)) {
    // The project's own errors say what happened in its terms (a foreign Secret, a missing namespace);
    // the HTTP error under them would only say what the apiserver answered.
    // A cluster's report already names the cluster and the class: the bare detail, not the prefix again.
    if (item instanceof KubeconfigError) return { own: item.detail, foreign: '' };
    if (item instanceof CredCourierError) return { own: item.message, foreign: '' };
    if (item instanceof ApiException) {
      let reason = '';
      try {
        const body = JSON.parse(String(item.body)) as { message?: string };
        reason = body.message ? `: ${body.message}` : '';
      } catch {
        // 401s come without a JSON body
      }
      // An apiserver answers every API path it does not serve with a Status object; anything else
      // answering 404 is not one (a wrong host or port, a web server, a load balancer's default page).
      if (item.code === 404 && !isStatusBody(item.body))
        return {
          own: "HTTP 404 from a server that is not a Kubernetes apiserver (its answer is not a Kubernetes Status): check the kubeconfig's server URL",
          foreign: '',
        };
      return { own: `HTTP ${item.code}`, foreign: reason };
    }
    const code = (item as { code?: unknown }).code;
    if (item instanceof Error && typeof code === 'string')
      return { own: '', foreign: `${code}: ${item.message}` };
  }
  return { own: '', foreign: chainMessage(error) };
}

/** Every message of the chain (`fetch failed: bad port`): fetch's own message alone says nothing. */
function chainMessage(error: unknown): string {
  const messages = causes(error).map((item) => (item instanceof Error ? item.message : String(item)));
  const text = [...new Set(messages.filter(Boolean))].join(': ');
  return text.endsWith('fetch failed: bad port')
    ? `${text} (fetch never connects to this port, one of the browsers' blocked ports: serve the API on another port)`
    : text;
}

/**
 * Whether the chain is fetch's own failure (`TypeError: fetch failed`, which client-node may prefix
 * with its own words) around an uncoded cause.
 */
function isFetchFailure(item: unknown): boolean {
  return item instanceof TypeError && /\bfetch failed$/.test(item.message);
}

/**
 * Whether an error is the apiserver's answer `code`: for 404, only with a Kubernetes Status body, so a
 * server that is not an apiserver (a web page's 404) is never read as "the object does not exist".
 */
export function isApiStatus(error: unknown, code: number): boolean {
  if (!(error instanceof ApiException) || error.code !== code) return false;
  return code !== 404 || isStatusBody(error.body);
}

function isStatusBody(body: unknown): boolean {
  try {
    return (JSON.parse(String(body)) as { kind?: string }).kind === 'Status';
  } catch {
    return false;
  }
}
