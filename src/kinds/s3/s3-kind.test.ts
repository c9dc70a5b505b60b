import { describe, expect, it } from 'vitest';
import type { ClusterSpec, S3Grant } from '../../config/types.ts';
import type { Minted } from '../kind.ts';
import { roleSessionName } from '../session/session-name.ts';
import { type S3Credential, s3Kind } from './index.ts';

const GRANT: S3Grant = {
  secretName: 'reports-reader',
  roleArn: 'arn:aws:iam::111122223333:role/reports',
  buckets: [{ bucket: 'acme-reports', prefix: 'reports/', access: 'read' }],
  durationSeconds: 3600,
  region: 'eu-west-1',
  mountPath: '/var/run/secrets/cred-courier/reports-reader',
  longSessions: false,
};

const CLUSTER: ClusterSpec = {
  name: 'gke-prod',
  kubeconfigSecret: 'cc/gke-prod',
  namespaces: { names: ['app', 'analytics'], exclude: [] },
  s3: [GRANT, { ...GRANT, secretName: 'raw', namespaces: ['analytics'] }],
  allowInsecureSkipTlsVerify: false,
  trustSystemRoots: false,
  adoptExistingSecrets: false,
};

// Generated per test run; shaped like nothing real.
const CREDENTIAL: S3Credential = {
  accessKeyId: `test-key-${Math.random().toString(36).slice(2)}`,
  secretAccessKey: `test-secret-${Math.random().toString(36).slice(2)}`,
  sessionToken: `test-token-${Math.random().toString(36).slice(2)}`,
  expiration: new Date('2026-11-27T01:00:00Z'),
  region: 'eu-west-1',
};

const decode = (data: Readonly<Record<string, string>>, key: string) =>
  Buffer.from(data[key] ?? '', 'base64').toString();

describe('Function: roleSessionName', () => {
  it('names cluster and grant with the characters STS accepts', () => {
    expect(roleSessionName('gke-prod', 'reports.reader')).toBe('cc-gke-prod-reports.reader');
    expect(roleSessionName('a b', 'c/d:e')).toBe('cc-a-b-c-d-e');
  });

  it('keeps long names within 64 characters and distinct from each other', () => {
    // Prepare
    const long = 'x'.repeat(63);

    // Act
    const first = roleSessionName(long, 'grant-one-with-a-long-name');
    const second = roleSessionName(long, 'grant-two-with-a-long-name');

    // Assess
    expect(first).toHaveLength(64);
    expect(second).toHaveLength(64);
    expect(first).not.toBe(second);
    expect(first).toMatch(/^[\w+=,.@-]+$/);
  });
});

describe('Module: s3Kind', () => {
  it('plans one target per grant, narrowed to the grant namespaces when it has them', () => {
    const targets = s3Kind.targets(CLUSTER);
    expect(targets.map((t) => [t.secretName, t.namespaces])).toEqual([
      ['reports-reader', undefined],
      ['raw', ['analytics']],
    ]);
    expect(s3Kind.targets({ ...CLUSTER, s3: [] })).toEqual([]);
  });

  it('gives grants of equal scope one key whatever the cluster or Secret name, and others their own', () => {
    const key = (grant: S3Grant, cluster = 'a') => s3Kind.scopeKey({ cluster, grant });
    expect(key(GRANT)).toBe(key({ ...GRANT, secretName: 'other' }, 'b'));
    expect(key(GRANT)).not.toBe(key({ ...GRANT, durationSeconds: 2700 }));
    expect(key(GRANT)).not.toBe(
      key({ ...GRANT, buckets: [{ bucket: 'acme-reports', prefix: 'reports/', access: 'readwrite' }] }),
    );
    expect(key(GRANT)).not.toBe(key({ ...GRANT, roleArn: `${GRANT.roleArn}-2` }));
  });

  it('renders every consumable form of one session into an Opaque Secret', () => {
    // Prepare
    const minted: Minted<S3Credential> = { value: CREDENTIAL, expiresAt: CREDENTIAL.expiration, secrets: [] };
    const target = s3Kind.targets(CLUSTER)[0];
    if (!target) throw new Error('no target');

    // Act
    const secret = s3Kind.render({
      cluster: CLUSTER,
      target,
      namespace: 'app',
      credentials: [minted],
      issuedAt: new Date('2026-11-27T00:00:00Z'),
    });

    // Assess
    expect(secret.type).toBe('Opaque');
    expect(decode(secret.data, 'AWS_ACCESS_KEY_ID')).toBe(CREDENTIAL.accessKeyId);
    expect(decode(secret.data, 'AWS_REGION')).toBe('eu-west-1');
    expect(JSON.parse(decode(secret.data, 'credential-process.json'))).toEqual({
      Version: 1,
      AccessKeyId: CREDENTIAL.accessKeyId,
      SecretAccessKey: CREDENTIAL.secretAccessKey,
      SessionToken: CREDENTIAL.sessionToken,
      Expiration: '2026-11-27T01:00:00.000Z',
    });
    expect(decode(secret.data, 'credentials')).toBe(
      `[default]\naws_access_key_id = ${CREDENTIAL.accessKeyId}\naws_secret_access_key = ${CREDENTIAL.secretAccessKey}\naws_session_token = ${CREDENTIAL.sessionToken}\n`,
    );
    expect(decode(secret.data, 'config')).toBe(
      '[default]\nregion = eu-west-1\ncredential_process = cat /var/run/secrets/cred-courier/reports-reader/credential-process.json\n',
    );
    expect(secret.metadata.annotations).toMatchObject({
      'cred-courier.io/expires-at': '2026-11-27T01:00:00.000Z',
      'cred-courier.io/issued-at': '2026-11-27T00:00:00.000Z',
      'cred-courier.io/s3-scope': 'acme-reports/reports/:read',
    });
    expect(secret.metadata.labels['cred-courier.io/kind']).toBe('s3');
  });
});
