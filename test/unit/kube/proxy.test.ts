/**
 * A cluster's forward proxy below the network: which undici failures are the proxy's and how they are
 * classified and described, and the format of the proxy's credentials secret. The connections
 * themselves are tested through a real proxy on the rig (test/integration/proxy.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { parseProxyCredentials, proxyAuthorization } from '../../../src/aws/proxy-credentials.ts';
import { ProxyError } from '../../../src/errors.ts';
import { parseKubeconfig } from '../../../src/kube/kubeconfig.ts';
import { proxyFailure } from '../../../src/kube/proxy.ts';
import { classify, describeFailure } from '../../../src/report/classify.ts';
import { Redactor } from '../../../src/report/redact.ts';

const PROXY = { url: 'http://proxy.example:3128' };
const password = `pw-${Math.random().toString(36).slice(2)}-generated`;
const WITH_CREDENTIALS = { url: 'http://proxy.example:3128', credentials: { username: 'courier', password } };
const TARGET = 'apiserver.example:6443';

/** What undici hands the connection for a CONNECT answered with `status` (lib/dispatcher/proxy-agent.js). */
const tunnelAnswer = (status: number) =>
  Object.assign(new Error(`Proxy response (${status}) !== 200 when HTTP Tunneling`), {
    code: 'UND_ERR_ABORTED',
  });
const socketError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:3128`), { code });
/** fetch wraps what the connection failed with. */
const asFetchFailure = (error: unknown) => new TypeError('fetch failed', { cause: error });

describe('Function: proxyFailure', () => {
  it.each([
    ['ECONNREFUSED', 'proxy-unreachable'],
    ['ENOTFOUND', 'proxy-unreachable'],
    ['EAI_AGAIN', 'proxy-unreachable'],
    ['EHOSTUNREACH', 'proxy-unreachable'],
    ['UND_ERR_PRX_CONN', 'proxy-unreachable'],
  ])('classifies a socket error %s as %s, naming the cluster and the proxy', (code, expected) => {
    const failure = proxyFailure('edge', PROXY, TARGET, socketError(code));
    expect(failure).toBeInstanceOf(ProxyError);
    expect(classify(asFetchFailure(failure))).toBe(expected);
    expect(failure?.message).toBe(
      `cluster edge: the proxy http://proxy.example:3128 could not be reached (${code})`,
    );
  });

  it.each([
    [407, 'proxy-auth'],
    [403, 'proxy-denied'],
    [400, 'proxy-denied'],
    [502, 'proxy-tunnel'],
    [503, 'proxy-tunnel'],
    [504, 'proxy-tunnel'],
  ])('classifies CONNECT answered %i as %s', (status, expected) => {
    const failure = proxyFailure('edge', PROXY, TARGET, tunnelAnswer(status));
    expect(failure?.status).toBe(status);
    expect(classify(asFetchFailure(failure))).toBe(expected);
  });

  it('says whether a 407 refused the configured credentials or found none, never quoting them', () => {
    const redactor = new Redactor();
    const refused = proxyFailure('edge', WITH_CREDENTIALS, TARGET, tunnelAnswer(407));
    const missing = proxyFailure('edge', PROXY, TARGET, tunnelAnswer(407));
    expect(describeFailure(asFetchFailure(refused), redactor)).toBe(
      'cluster edge: the proxy http://proxy.example:3128 answered CONNECT with 407 Proxy Authentication Required: it refused the credentials from proxy.credentialsSecret',
    );
    expect(missing?.message).toMatch(/it requires credentials: name a secret in proxy\.credentialsSecret$/);
    expect(refused?.message).not.toContain(password);
    expect(refused?.message).not.toContain(proxyAuthorization(WITH_CREDENTIALS.credentials));
  });

  it('names the target of a refused or failed tunnel', () => {
    expect(proxyFailure('edge', PROXY, TARGET, tunnelAnswer(403))?.message).toBe(
      'cluster edge: the proxy http://proxy.example:3128 refused the tunnel to apiserver.example:6443: CONNECT answered 403',
    );
    expect(proxyFailure('edge', PROXY, TARGET, tunnelAnswer(503))?.message).toBe(
      'cluster edge: the proxy http://proxy.example:3128 could not open the tunnel to apiserver.example:6443: CONNECT answered 503',
    );
  });

  it.each([
    [
      'a TLS failure inside the tunnel',
      Object.assign(new Error('self-signed'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
    ],
    ['a reset of the tunnelled connection', socketError('ECONNRESET')],
    ['a timeout', Object.assign(new Error('timed out'), { code: 'UND_ERR_CONNECT_TIMEOUT' })],
    ['another abort', Object.assign(new Error('Request aborted'), { code: 'UND_ERR_ABORTED' })],
  ])('leaves %s as it is (the apiserver or the network, not the proxy)', (_what, error) => {
    expect(proxyFailure('edge', PROXY, TARGET, error)).toBeUndefined();
  });
});

describe('Function: parseProxyCredentials', () => {
  it('reads {"username", "password"}', () => {
    expect(
      parseProxyCredentials('edge', 'proxies/corp', JSON.stringify({ username: 'courier', password })),
    ).toEqual({
      username: 'courier',
      password,
    });
  });

  it.each([
    ['not JSON', 'courier:secret-value-1', /: not JSON; expected JSON/],
    ['a list', '["courier"]', /: not a JSON object;/],
    ['no password', '{"username":"courier"}', /: password is missing/],
    [
      'a short password',
      '{"username":"courier","password":"tiny5pw"}',
      /: password is shorter than 8 characters/,
    ],
    [
      'a user name with ":"',
      '{"username":"a:b","password":"long-enough-1"}',
      /: username is missing, or holds/,
    ],
    [
      'a password with a newline',
      '{"username":"a","password":"long-enough\\n1"}',
      /: password is missing, or holds/,
    ],
    ['an unknown key', '{"username":"a","password":"long-enough-1","user":"x"}', /: unknown key "user"/],
  ])('refuses %s with class proxy-auth, naming the secret and not the value', (_what, text, message) => {
    let caught: unknown;
    try {
      parseProxyCredentials('edge', 'proxies/corp', text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ProxyError);
    expect(classify(caught)).toBe('proxy-auth');
    const described = describeFailure(caught, new Redactor());
    expect(described).toMatch(/^cluster edge: proxy credentials secret proxies\/corp: /);
    expect(described).toMatch(message);
    for (const secret of ['secret-value-1', 'long-enough', 'tiny5pw'])
      expect(described).not.toContain(secret);
  });
});

describe("a stored kubeconfig's proxy-url", () => {
  it('is not carried into the client configuration (the registration file decides where traffic goes)', () => {
    const ca = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString(
      'base64',
    );
    const text = [
      'apiVersion: v1',
      'kind: Config',
      'current-context: c',
      'contexts: [{ name: c, context: { cluster: c, user: u } }]',
      `clusters: [{ name: c, cluster: { server: "https://apiserver.example:6443", certificate-authority-data: ${ca}, proxy-url: "http://elsewhere.example:3128" } }]`,
      'users: [{ name: u, user: { token: "a-token-of-enough-length" } }]',
    ].join('\n');
    const cluster = {
      name: 'edge',
      kubeconfigSecret: 'k/edge',
      namespaces: { names: ['x'], exclude: [] },
      s3: [],
      allowInsecureSkipTlsVerify: false,
      trustSystemRoots: false,
      adoptExistingSecrets: false,
    };
    const parsed = parseKubeconfig(cluster, text);
    expect(parsed.kubeConfig.getCurrentCluster()?.server).toBe('https://apiserver.example:6443');
    expect(parsed.kubeConfig.getCurrentCluster()?.proxyUrl).toBeUndefined();
  });
});
