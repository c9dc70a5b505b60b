/**
 * A cluster's forward proxy credentials from Secrets Manager, read through the same cached source as
 * kubeconfigs. The secret holds JSON `{"username": "...", "password": "..."}`; messages about it name
 * the secret and the field, never a value.
 */
import type { ClusterSpec } from '../config/types.ts';
import { ProxyError } from '../errors.ts';
import type { Redactor } from '../report/redact.ts';
import { awsErrorSummary } from './assume-role.ts';
import type { KubeconfigSource } from './kubeconfig-store.ts';

export interface ProxyCredentials {
  readonly username: string;
  readonly password: string;
}

/** Where a cluster's Kubernetes connections go: the proxy's origin (no credentials in it) and its credentials. */
export interface ClusterProxy {
  readonly url: string;
  readonly credentials?: ProxyCredentials;
}

/** The value of Proxy-Authorization for basic credentials. */
export function proxyAuthorization(credentials: ProxyCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

/** Shorter passwords would be below what the redactor recognises, so they could reach a log line. */
const MIN_PASSWORD_LENGTH = 8;
/** Basic auth joins the two with `:`; other control characters would corrupt the header. */
const USERNAME = /^[\x21-\x39\x3b-\x7e]+$/;
const PASSWORD = /^[\x20-\x7e]+$/;

/** Checks the secret's text; a problem names the secret and the field, never what it holds. */
export function parseProxyCredentials(cluster: string, secretId: string, text: string): ProxyCredentials {
  const fail = (problem: string): never => {
    throw new ProxyError(
      cluster,
      'auth',
      `proxy credentials secret ${secretId}: ${problem}; expected JSON {"username": "...", "password": "..."}`,
    );
  };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    fail('not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('not a JSON object');
  const { username, password, ...rest } = value as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) fail(`unknown key ${JSON.stringify(extra[0]).slice(0, 40)}`);
  if (typeof username !== 'string' || !USERNAME.test(username))
    fail('username is missing, or holds spaces, control characters, non-ASCII characters or ":"');
  if (typeof password !== 'string' || !PASSWORD.test(password))
    fail('password is missing, or holds control or non-ASCII characters');
  if ((password as string).length < MIN_PASSWORD_LENGTH)
    fail(`password is shorter than ${MIN_PASSWORD_LENGTH} characters`);
  return { username: username as string, password: password as string };
}

/** The credentials in `secretId`, for `cluster`'s proxy. Throws ProxyError (class proxy-auth). */
export async function readProxyCredentials(
  secrets: KubeconfigSource,
  cluster: string,
  secretId: string,
): Promise<ProxyCredentials> {
  let text: string;
  try {
    text = await secrets.get(cluster, secretId);
  } catch (error) {
    // The source says "kubeconfig" in its messages: say what was read, from its AWS cause.
    const cause = (error as { cause?: unknown }).cause;
    const reason = cause === undefined ? 'is empty' : `could not be read: ${awsErrorSummary(cause)}`;
    throw new ProxyError(cluster, 'auth', `proxy credentials secret ${secretId} ${reason}`, { cause: error });
  }
  return parseProxyCredentials(cluster, secretId, text);
}

/**
 * The cluster's forward proxy from the registration file, with its credentials read through `secrets`
 * and registered for redaction at once; undefined when the cluster names none.
 * @throws ProxyError when the credentials secret cannot be read or is malformed.
 */
export async function clusterProxy(
  cluster: Pick<ClusterSpec, 'name' | 'proxy'>,
  secrets: KubeconfigSource,
  redactor: Pick<Redactor, 'add'>,
): Promise<ClusterProxy | undefined> {
  if (!cluster.proxy) return undefined;
  const { url, credentialsSecret } = cluster.proxy;
  if (!credentialsSecret) return { url };
  const credentials = await readProxyCredentials(secrets, cluster.name, credentialsSecret);
  redactor.add(
    credentials.password,
    proxyAuthorization(credentials),
    `${credentials.username}:${credentials.password}`,
  );
  return { url, credentials };
}
