import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { ClusterSpec } from '../../../src/config/types.ts';
import { KubeconfigError } from '../../../src/errors.ts';
import { parseKubeconfig } from '../../../src/kube/kubeconfig.ts';
import { clusterSpec } from '../../support/cluster-spec.ts';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.kubeconfig-test-token.SECRET-0123456789';
const PEM = (label: string) => `-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`;
const b64 = (text: string) => Buffer.from(text).toString('base64');
const CA_DATA = b64(PEM('CERTIFICATE'));
const CERT_DATA = b64(PEM('CERTIFICATE'));
const KEY_DATA = b64(PEM('RSA PRIVATE KEY'));
const SERVER = 'https://10.0.0.1:6443';

type Entry = Record<string, unknown>;

/** A kubeconfig document whose user holds TOKEN; `change` edits the parsed form before it is written. */
function kubeconfig(
  change: (doc: { config: Entry; cluster: Entry; user: Entry; context: Entry }) => void = () => {},
): string {
  const cluster: Entry = { server: SERVER, 'certificate-authority-data': CA_DATA };
  const user: Entry = { token: TOKEN };
  const context: Entry = { cluster: 'remote', user: 'admin' };
  const config: Entry = {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'ctx',
    contexts: [{ name: 'ctx', context }],
    clusters: [{ name: 'remote', cluster }],
    users: [{ name: 'admin', user }],
  };
  change({ config, cluster, user, context });
  return stringify(config);
}

/** The KubeconfigError `text` raises for the gke-prod cluster. */
function failureOf(text: string, spec: ClusterSpec = clusterSpec()): KubeconfigError {
  try {
    parseKubeconfig(spec, text);
  } catch (error) {
    expect(error).toBeInstanceOf(KubeconfigError);
    return error as KubeconfigError;
  }
  throw new Error('expected parseKubeconfig to throw a KubeconfigError');
}

/** Every message and cause of an error, as text. */
function allTextOf(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  while (current !== undefined && current !== null) {
    parts.push(String(current), current instanceof Error ? (current.stack ?? '') : '');
    current = (current as { cause?: unknown }).cause;
  }
  return parts.join('\n');
}

describe('Function: parseKubeconfig', () => {
  describe('accepted forms', () => {
    it('accepts a token user and renames the user to cred-courier-<cluster>', () => {
      // Prepare
      const text = kubeconfig();

      // Act
      const parsed = parseKubeconfig(clusterSpec(), text);

      // Assess
      expect(parsed.server).toBe(SERVER);
      expect(parsed.warnings).toEqual([]);
      const user = parsed.kubeConfig.getCurrentUser();
      expect(user?.name).toBe('cred-courier-gke-prod');
      expect(user?.token).toBe(TOKEN);
      expect(parsed.kubeConfig.getCurrentCluster()?.server).toBe(SERVER);
      expect(parsed.kubeConfig.getCurrentCluster()?.caData).toBe(CA_DATA);
      expect(parsed.kubeConfig.getCurrentCluster()?.skipTLSVerify).toBe(false);
    });

    it('names the user after the cluster spec, not after the kubeconfig', () => {
      // Prepare
      const text = kubeconfig();

      // Act
      const a = parseKubeconfig(clusterSpec({ name: 'aks-staging' }), text);
      const b = parseKubeconfig(clusterSpec({ name: 'eks-dev' }), text);

      // Assess
      expect(a.kubeConfig.getCurrentUser()?.name).toBe('cred-courier-aks-staging');
      expect(b.kubeConfig.getCurrentUser()?.name).toBe('cred-courier-eks-dev');
    });

    it('lists the token among the secrets', () => {
      // Prepare
      const text = kubeconfig();

      // Act
      const parsed = parseKubeconfig(clusterSpec(), text);

      // Assess
      expect(parsed.secrets).toContain(TOKEN);
    });

    it('accepts a client certificate with its key and lists both, encoded and decoded, as secrets', () => {
      // Prepare
      const text = kubeconfig(({ user }) => {
        delete user.token;
        user['client-certificate-data'] = CERT_DATA;
        user['client-key-data'] = KEY_DATA;
      });

      // Act
      const parsed = parseKubeconfig(clusterSpec(), text);

      // Assess
      const user = parsed.kubeConfig.getCurrentUser();
      expect(user?.certData).toBe(CERT_DATA);
      expect(user?.keyData).toBe(KEY_DATA);
      expect(user?.token).toBeUndefined();
      expect(parsed.secrets).toEqual(expect.arrayContaining([CERT_DATA, KEY_DATA, PEM('RSA PRIVATE KEY')]));
    });

    it('accepts a cluster without certificate-authority-data only when it sets trustSystemRoots, with a warning', () => {
      // Prepare
      const text = kubeconfig(({ cluster }) => {
        delete cluster['certificate-authority-data'];
      });

      // Act
      const parsed = parseKubeconfig(clusterSpec({ trustSystemRoots: true }), text);

      // Assess
      expect(parsed.kubeConfig.getCurrentCluster()?.caData).toBeUndefined();
      expect(parsed.warnings).toEqual([expect.stringMatching(/no CA embedded.*trustSystemRoots/)]);
    });

    it('says nothing about the system roots when the CA is embedded, even with trustSystemRoots', () => {
      // Prepare
      const text = kubeconfig();

      // Act
      const parsed = parseKubeconfig(clusterSpec({ trustSystemRoots: true }), text);

      // Assess
      expect(parsed.kubeConfig.getCurrentCluster()?.caData).toBe(CA_DATA);
      expect(parsed.warnings).toEqual([]);
    });

    it('accepts insecure-skip-tls-verify when the cluster opts in, with a warning', () => {
      // Prepare
      const text = kubeconfig(({ cluster }) => {
        cluster['insecure-skip-tls-verify'] = true;
      });

      // Act
      const parsed = parseKubeconfig(clusterSpec({ allowInsecureSkipTlsVerify: true }), text);

      // Assess
      expect(parsed.kubeConfig.getCurrentCluster()?.skipTLSVerify).toBe(true);
      expect(parsed.warnings).toHaveLength(1);
      expect(parsed.warnings[0]).toMatch(/insecure-skip-tls-verify/);
    });

    it('picks the context, cluster and user that current-context names', () => {
      // Prepare
      const text = kubeconfig(({ config }) => {
        (config.contexts as Entry[]).unshift({ name: 'other', context: { cluster: 'x', user: 'y' } });
        (config.clusters as Entry[]).unshift({ name: 'x', cluster: { server: 'https://wrong.example:443' } });
        (config.users as Entry[]).unshift({ name: 'y', user: { token: 'wrong-token-value' } });
      });

      // Act
      const parsed = parseKubeconfig(clusterSpec(), text);

      // Assess
      expect(parsed.server).toBe(SERVER);
      expect(parsed.kubeConfig.getCurrentUser()?.token).toBe(TOKEN);
    });
  });

  describe('refused forms', () => {
    it.each<{ what: string; change: Parameters<typeof kubeconfig>[0]; field: RegExp }>([
      {
        what: 'an exec user',
        change: ({ user }) => {
          user.exec = { apiVersion: 'client.authentication.k8s.io/v1', command: 'gke-gcloud-auth-plugin' };
        },
        field: /users\[\]\.user\.exec/,
      },
      {
        what: 'an auth-provider user',
        change: ({ user }) => {
          user['auth-provider'] = { name: 'gcp', config: { 'access-token': TOKEN } };
        },
        field: /users\[\]\.user\.auth-provider/,
      },
      {
        what: 'a tokenFile user',
        change: ({ user }) => {
          user.tokenFile = '/var/run/secrets/token';
        },
        field: /users\[\]\.user\.tokenFile/,
      },
      {
        what: 'a client-certificate file',
        change: ({ user }) => {
          user['client-certificate'] = '/home/me/.kube/client.crt';
          user['client-key-data'] = KEY_DATA;
        },
        field: /users\[\]\.user\.client-certificate\b/,
      },
      {
        what: 'a client-key file',
        change: ({ user }) => {
          user['client-certificate-data'] = CERT_DATA;
          user['client-key'] = '/home/me/.kube/client.key';
        },
        field: /users\[\]\.user\.client-key\b/,
      },
      {
        what: 'basic auth',
        change: ({ user }) => {
          user.username = 'admin';
          user.password = TOKEN;
        },
        field: /basic auth/,
      },
      {
        what: 'an http:// server',
        change: ({ cluster }) => {
          cluster.server = 'http://10.0.0.1:8080';
        },
        field: /cluster\.server must use https/,
      },
      {
        what: 'a server with a query (it would swallow every request path, and may carry a credential)',
        change: ({ cluster }) => {
          cluster.server = `https://10.0.0.1:6443/?access_token=${TOKEN}`;
        },
        field: /cluster\.server holds a query or fragment/,
      },
      {
        what: 'a server with a fragment (every request would go to the server URL itself)',
        change: ({ cluster }) => {
          cluster.server = 'https://10.0.0.1:6443/api/v1/namespaces/kube-system/secrets/x#';
        },
        field: /cluster\.server holds a query or fragment/,
      },
      {
        what: 'a server that is not a URL',
        change: ({ cluster }) => {
          cluster.server = 'not a url';
        },
        field: /cluster\.server is not a URL/,
      },
      {
        what: 'a missing server',
        change: ({ cluster }) => {
          delete cluster.server;
        },
        field: /cluster\.server is missing/,
      },
      {
        what: 'a missing current-context',
        change: ({ config }) => {
          delete config['current-context'];
        },
        field: /current-context/,
      },
      {
        what: 'a current-context with no context entry',
        change: ({ config }) => {
          config['current-context'] = 'elsewhere';
        },
        field: /contexts has no entry named "elsewhere"/,
      },
      {
        what: 'a context pointing at a missing user',
        change: ({ context }) => {
          context.user = 'nobody';
        },
        field: /users has no entry named "nobody"/,
      },
      {
        what: 'a context pointing at a missing cluster',
        change: ({ context }) => {
          context.cluster = 'nowhere';
        },
        field: /clusters has no entry named "nowhere"/,
      },
      {
        what: 'insecure-skip-tls-verify without the opt-in',
        change: ({ cluster }) => {
          cluster['insecure-skip-tls-verify'] = true;
        },
        field: /cluster\.insecure-skip-tls-verify.*allowInsecureSkipTlsVerify: true/,
      },
      {
        what: 'no certificate-authority-data without trustSystemRoots (the system roots would be trusted)',
        change: ({ cluster }) => {
          delete cluster['certificate-authority-data'];
        },
        field:
          /^cluster gke-prod: kubeconfig: cluster\.certificate-authority-data is missing: embed .*set trustSystemRoots: true on the cluster entry/,
      },
      {
        what: 'a certificate-authority file',
        change: ({ cluster }) => {
          cluster['certificate-authority'] = '/etc/ca.crt';
        },
        field: /cluster\.certificate-authority refers to a file/,
      },
      {
        what: 'certificate-authority-data that is not a PEM block',
        change: ({ cluster }) => {
          cluster['certificate-authority-data'] = b64('just some bytes');
        },
        field: /cluster\.certificate-authority-data is not base64 of a PEM block/,
      },
      {
        what: 'a client certificate without its key',
        change: ({ user }) => {
          user['client-certificate-data'] = CERT_DATA;
        },
        field: /client-certificate-data.*client-key-data/,
      },
      {
        what: 'a client certificate without its key and no token',
        change: ({ user }) => {
          delete user.token;
          user['client-certificate-data'] = CERT_DATA;
        },
        field: /client-certificate-data.*client-key-data/,
      },
      {
        what: 'a client key that is not a PEM block',
        change: ({ user }) => {
          user['client-certificate-data'] = CERT_DATA;
          user['client-key-data'] = b64('not pem');
        },
        field: /user\.client-key-data is not base64 of a PEM block/,
      },
      {
        what: 'a user with no credential',
        change: ({ user }) => {
          delete user.token;
        },
        field: /needs a token/,
      },
      {
        what: 'a token that is not a string',
        change: ({ user }) => {
          user.token = 12345678901234;
        },
        field: /user\.token must be a non-empty string/,
      },
      {
        what: 'users that are not a list',
        change: ({ config }) => {
          config.users = { admin: { token: TOKEN } };
        },
        field: /users is missing or not a list/,
      },
    ])('refuses $what, naming the field and the cluster but not the token', ({ change, field }) => {
      // Prepare
      const text = kubeconfig(change);

      // Act
      const error = failureOf(text);

      // Assess
      expect(error.cluster).toBe('gke-prod');
      expect(error.message).toMatch(/^cluster gke-prod: kubeconfig: /);
      expect(error.message).toMatch(field);
      expect(allTextOf(error)).not.toContain(TOKEN);
    });

    const NOT_YAML = /^cluster gke-prod: kubeconfig: not valid YAML near line \d+$/;
    const NOT_A_MAPPING = /^cluster gke-prod: kubeconfig: not a kubeconfig \(expected a YAML mapping\)$/;
    it.each([
      {
        what: 'text that is not YAML',
        text: `users:\n  - name: admin\n    user: { token: "${TOKEN}\n  ]]`,
        expected: NOT_YAML,
      },
      { what: 'a duplicate key', text: `token: ${TOKEN}\ntoken: ${TOKEN}\n`, expected: NOT_YAML },
      { what: 'a YAML scalar', text: `${TOKEN}\n`, expected: NOT_A_MAPPING },
      { what: 'a YAML list', text: `- ${TOKEN}\n`, expected: NOT_A_MAPPING },
      { what: 'an empty text', text: '', expected: NOT_A_MAPPING },
    ])('refuses $what without quoting it', ({ text, expected }) => {
      // Prepare
      const spec = clusterSpec();

      // Act
      const error = failureOf(text, spec);

      // Assess
      expect(error.message).toMatch(expected);
      expect(allTextOf(error)).not.toContain(TOKEN);
      expect(allTextOf(error)).not.toContain('kubeconfig-test-token');
    });
  });
});
