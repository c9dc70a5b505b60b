/**
 * Scoped S3 sessions delivered to the rig's clusters: content of the Secrets, failure isolation per
 * grant, the probe, and a real AWS SDK (boto3) consuming the delivered files the way a Pod's volume
 * presents them — including picking up rotated credentials without a restart.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AwsClients } from '../../src/aws/clients.ts';
import type { Config } from '../../src/config/types.ts';
import { kubeRequest } from '../rig/kube-http.ts';
import {
  capturedRun,
  configOf,
  countingAws,
  type RegisteredCluster,
  registerCluster,
  SESSION_SECRET_KEYS,
  withSessionDuration,
} from './fixtures.ts';
import { startPythonConsumer } from './python-consumer.ts';
import { rig, skipReason, theRig, uniqueName, useRigAws } from './rig-context.ts';

const ROLE = 'arn:aws:iam::123456789012:role/cred-courier-s3';
const DENIED_ROLE = 'arn:aws:iam::123456789012:role/not-trusting-cred-courier';

interface SecretBody {
  type: string;
  data: Record<string, string>;
  metadata: { labels: Record<string, string>; annotations: Record<string, string>; resourceVersion: string };
}

async function readSecret(cluster: 'a' | 'b', namespace: string, name: string) {
  const c = theRig().clusters[cluster];
  return kubeRequest(c, c.adminToken, 'GET', `/api/v1/namespaces/${namespace}/secrets/${name}`);
}

const decoded = (secret: SecretBody, key: string) => Buffer.from(secret.data[key] ?? '', 'base64').toString();

/**
 * Stand-in, named as such: moto does not evaluate role trust policies, so it never refuses AssumeRole.
 * This wrapper answers AccessDenied for one role ARN — the fault a real account gives when the role does
 * not trust cred-courier — and passes every other call to moto.
 */
function stsRefusing(roleArn: string, aws: AwsClients): AwsClients {
  return {
    ...aws,
    sts: (region) => {
      const real = aws.sts(region);
      return {
        send: async (command) => {
          if (command.input.RoleArn === roleArn) {
            const error = new Error(
              `User is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
            );
            error.name = 'AccessDenied';
            throw error;
          }
          return real.send(command);
        },
      };
    },
  };
}

describe.skipIf(!rig)(`S3 delivery on the rig${rig ? '' : ` (skipped: ${skipReason})`}`, () => {
  useRigAws();
  const bucket = uniqueName('acme-reports');
  const otherBucket = uniqueName('acme-raw');
  let clusterA: RegisteredCluster;
  let clusterB: RegisteredCluster;
  const nsA = { app: uniqueName('app'), analytics: uniqueName('analytics') };
  const nsB = { app: uniqueName('app') };

  beforeAll(async () => {
    const s3 = new S3Client({ forcePathStyle: true });
    for (const name of [bucket, otherBucket]) {
      await s3.send(
        new CreateBucketCommand({
          Bucket: name,
          CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
        }),
      );
    }
    const { a, b } = theRig().clusters;
    clusterA = await registerCluster(a, {
      namespaces: [nsA.app, nsA.analytics],
      secretNames: ['reports-reader', 'raw-writer', 'denied'],
      serviceAccounts: [],
    });
    clusterB = await registerCluster(b, {
      namespaces: [nsB.app],
      secretNames: ['reports-reader'],
      serviceAccounts: [],
    });
  });

  function grantYaml(secretName: string, role: string, buckets: string, extra = ''): string {
    return `
      - secretName: ${secretName}
        roleArn: ${role}
        region: eu-west-1
        buckets: ${buckets}${extra}`;
  }

  function configFor(cluster: RegisteredCluster, namespaces: readonly string[], grants: string): string {
    return `
  - name: ${cluster.name}
    kubeconfigSecret: ${cluster.secretId}
    namespaces: { names: [${namespaces.join(', ')}] }
    s3:${grants}`;
  }

  function twoClusters(): Config {
    return configOf(
      `settings:\n  controlNamespace: ${clusterA.controlNamespace}\nclusters:${configFor(
        clusterA,
        [nsA.app, nsA.analytics],
        grantYaml('reports-reader', ROLE, `[{ bucket: ${bucket}, prefix: reports, access: read }]`) +
          grantYaml(
            'raw-writer',
            ROLE,
            `[{ bucket: ${otherBucket}, access: readwrite }]`,
            `\n        namespaces: [${nsA.analytics}]`,
          ) +
          grantYaml('denied', DENIED_ROLE, `[{ bucket: ${bucket}, access: read }]`),
      )}${configFor(clusterB, [nsB.app], grantYaml('reports-reader', ROLE, `[{ bucket: ${bucket}, prefix: reports, access: read }]`))}`,
    );
  }

  it('delivers one Opaque Secret per grant and namespace with every consumable form, and a refused role fails alone', async () => {
    // Prepare
    const config = twoClusters();
    const { aws, calls } = countingAws();

    // Act
    const run = await capturedRun(config, { aws: stsRefusing(DENIED_ROLE, aws), kinds: ['s3'] });

    // Assess
    const outcomes = run.result.clusters.flatMap((c) => c.secrets.map((s) => ({ cluster: c.cluster, ...s })));
    const delivered = outcomes
      .filter((o) => o.action)
      .map((o) => `${o.cluster}:${o.namespace}/${o.secretName}`);
    expect(delivered.sort()).toEqual(
      [
        `${clusterA.name}:${nsA.app}/reports-reader`,
        `${clusterA.name}:${nsA.analytics}/reports-reader`,
        `${clusterA.name}:${nsA.analytics}/raw-writer`,
        `${clusterB.name}:${nsB.app}/reports-reader`,
      ].sort(),
    );
    const denied = outcomes.filter((o) => o.secretName === 'denied');
    expect(denied).toHaveLength(2);
    expect(denied.every((o) => o.failure?.failureClass === 'mint')).toBe(true);
    expect(run.result.mints.find((m) => m.failure)?.failure?.message).toMatch(
      /AccessDenied.*not-trusting-cred-courier/,
    );
    // The same grant on two clusters is one session: reports-reader (shared), raw-writer, denied.
    expect(run.result.mints).toHaveLength(3);
    // The denied one stops at the stand-in; two reach STS.
    expect(calls.assumeRole).toBe(2);
    const secret = (await readSecret('a', nsA.app, 'reports-reader')).json<SecretBody>();
    expect(secret.type).toBe('Opaque');
    expect(Object.keys(secret.data).sort()).toEqual(SESSION_SECRET_KEYS);
    expect(secret.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'cred-courier',
      'cred-courier.io/kind': 's3',
    });
    expect(secret.metadata.annotations['cred-courier.io/s3-scope']).toBe(`${bucket}/reports/:read`);
    const processJson = JSON.parse(decoded(secret, 'credential-process.json')) as Record<string, unknown>;
    expect(processJson).toMatchObject({ Version: 1, AccessKeyId: decoded(secret, 'AWS_ACCESS_KEY_ID') });
    expect(Date.parse(String(processJson.Expiration))).toBe(
      Date.parse(secret.metadata.annotations['cred-courier.io/expires-at'] ?? ''),
    );
    expect(decoded(secret, 'config')).toContain(
      'credential_process = cat /var/run/secrets/cred-courier/reports-reader/credential-process.json',
    );
    expect(decoded(secret, 'credentials')).toContain(
      `aws_session_token = ${decoded(secret, 'AWS_SESSION_TOKEN')}`,
    );
    expect(decoded(secret, 'AWS_REGION')).toBe('eu-west-1');
    // Not in the grant's namespaces.
    expect((await readSecret('a', nsA.app, 'raw-writer')).status).toBe(404);
    expect(run.lines.join('\n')).not.toContain(decoded(secret, 'AWS_SECRET_ACCESS_KEY'));
    expect(run.lines.join('\n')).not.toContain(decoded(secret, 'AWS_SESSION_TOKEN'));
  });

  it('keeps the previous, still valid Secret when its grant later fails to mint, and fails a grant whose probe fails', async () => {
    // Prepare
    const config = twoClusters();
    await capturedRun(config, { kinds: ['s3'] });
    const before = (await readSecret('a', nsA.app, 'reports-reader')).json<SecretBody>();
    const { aws } = countingAws();

    // Act: the role now refuses, and another grant points at a bucket that does not exist.
    const refused = await capturedRun(config, { aws: stsRefusing(ROLE, aws), kinds: ['s3'] });
    const missingBucket = configOf(
      `settings:\n  controlNamespace: ${clusterA.controlNamespace}\nclusters:${configFor(
        clusterA,
        [nsA.app],
        grantYaml('reports-reader', ROLE, `[{ bucket: ${uniqueName('no-such-bucket')}, access: read }]`),
      )}`,
    );
    const probed = await capturedRun(missingBucket, { kinds: ['s3'] });

    // Assess
    const after = (await readSecret('a', nsA.app, 'reports-reader')).json<SecretBody>();
    expect(
      refused.result.clusters.every((c) =>
        c.secrets
          .filter((s) => s.secretName === 'reports-reader')
          .every((s) => s.failure?.failureClass === 'mint'),
      ),
    ).toBe(true);
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(probed.result.mints[0]?.failure?.message).toMatch(
      /cannot list s3:\/\/no-such-bucket.*not delivered/,
    );
    expect(
      (await readSecret('a', nsA.app, 'reports-reader')).json<SecretBody>().metadata.resourceVersion,
    ).toBe(before.metadata.resourceVersion);
  });

  it('probes a write-only grant without side effects: delivered when it may write, refused when the bucket is gone', async () => {
    // Prepare
    const yaml = (target: string) =>
      `settings:\n  controlNamespace: ${clusterA.controlNamespace}\nclusters:${configFor(
        clusterA,
        [nsA.analytics],
        grantYaml('raw-writer', ROLE, `[{ bucket: ${target}, prefix: incoming, access: write }]`),
      )}`;

    // Act
    const writable = await capturedRun(configOf(yaml(otherBucket)), { kinds: ['s3'] });
    const gone = await capturedRun(configOf(yaml(uniqueName('gone-bucket'))), { kinds: ['s3'] });

    // Assess
    expect(writable.result.ok).toBe(true);
    expect(writable.result.clusters[0]?.secrets[0]?.action).toMatch(/created|updated/);
    expect(gone.result.mints[0]?.failure?.message).toMatch(
      /cannot write to s3:\/\/gone-bucket-\w+\/incoming\/ \(NoSuchBucket/,
    );
  });

  it('a long-running boto3 client reads the mounted files, uses S3, and picks up rotated credentials without a restart', async () => {
    // Prepare: a volume directory laid out as the kubelet does (one file per key).
    const volume = mkdtempSync(join(tmpdir(), 'cc-volume-'));
    const grant = (durationSeconds: number): string =>
      grantYaml(
        'reports-reader',
        ROLE,
        `[{ bucket: ${bucket}, prefix: reports, access: readwrite }]`,
        `\n        mountPath: ${volume}\n        durationSeconds: ${durationSeconds}`,
      );
    const yaml = (durationSeconds: number) =>
      `settings:\n  controlNamespace: ${clusterA.controlNamespace}\nclusters:${configFor(clusterA, [nsA.app], grant(durationSeconds))}`;
    const project = async () => {
      const secret = (await readSecret('a', nsA.app, 'reports-reader')).json<SecretBody>();
      // Like the kubelet: write the new files aside and swap them in.
      const next = `${volume}/..data-new`;
      rmSync(next, { recursive: true, force: true });
      mkdirSync(next);
      for (const key of Object.keys(secret.data)) writeFileSync(join(next, key), decoded(secret, key));
      for (const key of Object.keys(secret.data)) renameSync(join(next, key), join(volume, key));
      return decoded(secret, 'AWS_ACCESS_KEY_ID');
    };
    // A session about to expire: inside boto3's 15-minute refresh window. Built from a valid config by
    // shortening the grant's duration to STS's minimum, which validation (rightly) refuses for schedules.
    const nearExpiry: Config = withSessionDuration(configOf(yaml(3600)), 900);
    await capturedRun(nearExpiry, { kinds: ['s3'] });
    const firstKey = await project();
    const consumer = startConsumer(volume, bucket);

    try {
      // Act
      const first = await consumer.call('put reports/a.csv');
      await capturedRun(configOf(yaml(3600)), { kinds: ['s3'] });
      const secondKey = await project();
      const second = await consumer.call('get reports/a.csv');

      // Assess
      expect(first).toEqual({ ok: true, accessKey: firstKey });
      expect(secondKey).not.toBe(firstKey);
      expect(second).toEqual({ ok: true, accessKey: secondKey, body: 'a,b\n' });
    } finally {
      consumer.stop();
    }
  });
});

const CONSUMER = `
import json, sys, boto3
signing = {}
def capture(request, **_):
    auth = request.headers.get('Authorization', b'')
    auth = auth.decode() if isinstance(auth, bytes) else auth
    signing['key'] = auth.split('Credential=')[1].split('/')[0] if 'Credential=' in auth else None
client = boto3.client('s3')
client.meta.events.register('before-send.s3', capture)
bucket = sys.argv[1]
for line in sys.stdin:
    verb, key = line.split()
    try:
        if verb == 'put':
            client.put_object(Bucket=bucket, Key=key, Body=b'a,b\\n')
            out = {'ok': True}
        else:
            out = {'ok': True, 'body': client.get_object(Bucket=bucket, Key=key)['Body'].read().decode()}
        out['accessKey'] = signing.get('key')
    except Exception as error:
        out = {'ok': False, 'error': str(error)}
    print(json.dumps(out), flush=True)
`;

/** A Python process holding one boto3 client for its whole life, configured only through the volume. */
function startConsumer(volume: string, bucket: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_CONFIG_FILE: join(volume, 'config') };
  // Only the profile's credential_process may supply credentials.
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'])
    delete env[name];
  env.AWS_SHARED_CREDENTIALS_FILE = join(volume, 'no-such-file');
  return startPythonConsumer(CONSUMER, [bucket], env);
}
