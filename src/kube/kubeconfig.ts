/**
 * Turns a stored kubeconfig into a client configuration, refusing every form that cannot work in a
 * Lambda or that weakens TLS: `exec` and `auth-provider` users spawn binaries, file references point
 * at files that do not exist there, and `insecure-skip-tls-verify` and a missing CA (the system's roots)
 * each need the cluster's explicit opt-in.
 * Messages name fields, never their values.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { ClusterSpec } from '../config/types.ts';
import { KubeconfigError } from '../errors.ts';

export interface ParsedKubeconfig {
  readonly kubeConfig: KubeConfig;
  readonly server: string;
  /** Said on every run the kubeconfig is used (insecure TLS, the system's roots). */
  readonly warnings: readonly string[];
  /** Credential strings inside the kubeconfig, for the redactor. */
  readonly secrets: readonly string[];
}

type Entry = Record<string, unknown>;

const isEntry = (value: unknown): value is Entry =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function named(list: unknown, field: string, name: unknown, fail: (m: string) => never): Entry {
  if (!Array.isArray(list)) fail(`${field} is missing or not a list`);
  const found = (list as unknown[]).find((item) => isEntry(item) && item.name === name);
  if (!isEntry(found)) fail(`${field} has no entry named ${JSON.stringify(String(name)).slice(0, 80)}`);
  return found as Entry;
}

function optionalString(
  entry: Entry,
  key: string,
  where: string,
  fail: (m: string) => never,
): string | undefined {
  const value = entry[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length === 0) fail(`${where}.${key} must be a non-empty string`);
  return value as string;
}

function base64Pem(value: string, where: string, fail: (m: string) => never, label: RegExp): string {
  const text = Buffer.from(value, 'base64').toString('utf8');
  const found = /^-----BEGIN ([A-Z ]+)-----/m.exec(text)?.[1];
  if (!found) fail(`${where} is not base64 of a PEM block`);
  // A private key pasted where certificates belong would otherwise surface as a TLS failure of the server.
  if (!label.test(found as string)) fail(`${where} holds a ${found} PEM block, not the expected kind`);
  return text;
}

const CERTIFICATE = /^CERTIFICATE$/;
const PRIVATE_KEY = /PRIVATE KEY$/;
/** Visible ASCII: what an HTTP header carries and a bearer token is made of. */
const TOKEN_CHARACTERS = /^[\x21-\x7e]+$/;
/** Far above any real token (a ServiceAccount JWT is about 1 KB), below what servers accept in headers. */
const MAX_TOKEN_CHARACTERS = 65_536;

/** When both parse, the key must be the certificate's (a mismatch fails inside TLS with an OpenSSL code). */
function keyMatchesCertificate(certPem: string, keyPem: string): boolean {
  let certificate: X509Certificate;
  let key: KeyObject;
  try {
    certificate = new X509Certificate(certPem);
    key = createPrivateKey(keyPem);
  } catch {
    return true;
  }
  return certificate.checkPrivateKey(key);
}

/** Parses and checks `text`; the client uses a user name unique to the cluster (client-node caches by it). */
export function parseKubeconfig(cluster: ClusterSpec, text: string): ParsedKubeconfig {
  const fail = (message: string): never => {
    throw new KubeconfigError(cluster.name, message);
  };
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    // The YAML parser quotes the offending source line, which could hold a credential: keep only its position.
    const where =
      error instanceof Error && 'linePos' in error
        ? ` near line ${String((error as { linePos?: [{ line: number }] }).linePos?.[0]?.line)}`
        : '';
    fail(`not valid YAML${where}`);
  }
  if (!isEntry(document)) fail('not a kubeconfig (expected a YAML mapping)');
  const config = document as Entry;
  const contextName = config['current-context'];
  if (typeof contextName !== 'string' || !contextName) fail('current-context is missing');
  const context = named(config.contexts, 'contexts', contextName, fail).context;
  if (!isEntry(context)) fail(`contexts[${contextName}].context is missing`);
  const ctx = context as Entry;
  const clusterEntry = named(config.clusters, 'clusters', ctx.cluster, fail).cluster;
  const userEntry = named(config.users, 'users', ctx.user, fail).user;
  if (!isEntry(clusterEntry)) fail('clusters[].cluster is missing');
  if (!isEntry(userEntry)) fail('users[].user is missing');
  const c = clusterEntry as Entry;
  const u = userEntry as Entry;

  const server = optionalString(c, 'server', 'cluster', fail);
  if (!server) fail('cluster.server is missing');
  let url: URL | undefined;
  try {
    url = new URL(server as string);
  } catch {
    fail('cluster.server is not a URL');
  }
  if (url?.protocol !== 'https:')
    fail('cluster.server must use https (a token over plain http is readable on the wire)');
  // Credentials in the URL would be basic auth, and would be quoted back by errors naming the URL.
  if (url?.username || url?.password)
    fail(
      'cluster.server holds a user name or password (user:password@host); put the credential in users[].user',
    );
  // client-node appends each request's path to the server as text: after a `?` or `#` the path would be
  // query or dropped, so requests would not go where they say (and a query could carry a credential).
  if (url?.search || url?.hash || /[?#]/.test(server as string))
    fail(
      'cluster.server holds a query or fragment (? or #); point it at the apiserver itself (a path prefix is fine)',
    );
  if (c['certificate-authority'] !== undefined) {
    fail('cluster.certificate-authority refers to a file; embed it as certificate-authority-data');
  }
  const caData = optionalString(c, 'certificate-authority-data', 'cluster', fail);
  if (caData) base64Pem(caData, 'cluster.certificate-authority-data', fail, CERTIFICATE);
  const warnings: string[] = [];
  const insecure = c['insecure-skip-tls-verify'] === true;
  // Without its own CA, any publicly trusted certificate for the server's name would be accepted.
  if (!caData && !insecure) {
    if (!cluster.trustSystemRoots) {
      fail(
        "cluster.certificate-authority-data is missing: embed the cluster's CA (base64 of its PEM), or, for an API server with a publicly trusted certificate, set trustSystemRoots: true on the cluster entry",
      );
    }
    warnings.push(
      "no CA embedded for this cluster (trustSystemRoots): any certificate the system's root CAs trust for its name is accepted",
    );
  }
  if (insecure) {
    if (!cluster.allowInsecureSkipTlsVerify) {
      fail(
        'cluster.insecure-skip-tls-verify is set; the cluster entry must set allowInsecureSkipTlsVerify: true to accept it',
      );
    }
    warnings.push(
      'TLS verification is off for this cluster (insecure-skip-tls-verify): its identity is not checked',
    );
  }

  for (const refused of ['exec', 'auth-provider'] as const) {
    if (u[refused] !== undefined) {
      fail(
        `users[].user.${refused} is not supported: it runs a program, which cannot work in Lambda; use a token or client certificate`,
      );
    }
  }
  for (const fileField of ['tokenFile', 'token-file', 'client-certificate', 'client-key'] as const) {
    if (u[fileField] !== undefined)
      fail(`users[].user.${fileField} refers to a file; embed the credential in the kubeconfig`);
  }
  if (u.username !== undefined || u.password !== undefined)
    fail('users[].user basic auth is not supported; use a token');
  const token = optionalString(u, 'token', 'user', fail);
  if (token !== undefined && token.length > MAX_TOKEN_CHARACTERS)
    fail(`user.token has ${token.length} characters, more than a bearer token can (${MAX_TOKEN_CHARACTERS})`);
  if (token !== undefined && !TOKEN_CHARACTERS.test(token))
    fail('user.token holds characters a bearer token cannot (whitespace, control or non-ASCII characters)');
  const certData = optionalString(u, 'client-certificate-data', 'user', fail);
  const keyData = optionalString(u, 'client-key-data', 'user', fail);
  if (!token && !(certData && keyData)) {
    fail('users[].user needs a token, or client-certificate-data with client-key-data');
  }
  if (Boolean(certData) !== Boolean(keyData))
    fail('users[].user needs both client-certificate-data and client-key-data');
  const certPem = certData
    ? base64Pem(certData, 'user.client-certificate-data', fail, CERTIFICATE)
    : undefined;
  const keyPem = keyData ? base64Pem(keyData, 'user.client-key-data', fail, PRIVATE_KEY) : undefined;
  if (certPem && keyPem && !keyMatchesCertificate(certPem, keyPem))
    fail('users[].user.client-key-data is not the private key of client-certificate-data');

  const userName = `cred-courier-${cluster.name}`;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: cluster.name, server, ...(caData ? { caData } : {}), skipTLSVerify: insecure }],
    users: [{ name: userName, ...(token ? { token } : {}), ...(certData ? { certData, keyData } : {}) }],
    contexts: [{ name: cluster.name, cluster: cluster.name, user: userName }],
    currentContext: cluster.name,
  });
  const secrets = [token, certData, keyData, keyPem, certPem].filter((s): s is string => Boolean(s));
  return { kubeConfig, server: server as string, warnings, secrets };
}
