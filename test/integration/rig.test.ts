/**
 * Smoke tests that prove the local control plane is real: versions, TLS per cluster, RBAC, controllers,
 * and the AWS SDK against moto. Every later integration test relies on these behaviours.
 */
import { CreateRepositoryCommand, ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { createRestrictedAccount, ensureNamespace } from '../rig/accounts.ts';
import { kubeRequest } from '../rig/kube-http.ts';
import { pinnedVersions, waitFor } from '../rig/rig.ts';
import { rig, skipReason, theRig, uniqueName, useRigAws } from './rig-context.ts';

describe.skipIf(!rig)(`The local control plane${rig ? '' : ` (skipped: ${skipReason})`}`, () => {
  useRigAws();

  describe('Kubernetes', () => {
    it('each apiserver reports the pinned version on /version', async () => {
      // Prepare
      const { a, b } = theRig().clusters;
      const pinned = pinnedVersions().KUBERNETES_VERSION;

      // Act
      const versions = await Promise.all(
        [a, b].map(async (c) =>
          (await kubeRequest(c, c.adminToken, 'GET', '/version')).json<{ gitVersion: string }>(),
        ),
      );

      // Assess
      expect(versions.map((v) => v.gitVersion)).toEqual([pinned, pinned]);
    });

    it("a client trusting cluster A's CA reaches A and is refused by B", async () => {
      // Prepare
      const { a, b } = theRig().clusters;
      const bWithACa = { server: b.server, caPem: a.caPem };

      // Act
      const toA = await kubeRequest(a, a.adminToken, 'GET', '/version');
      const toB = kubeRequest(bWithACa, b.adminToken, 'GET', '/version');

      // Assess
      expect(toA.status).toBe(200);
      await expect(toB).rejects.toThrow(/certificate|self-signed|verify/i);
    });

    it("cluster A's admin token is not valid on cluster B", async () => {
      const { a, b } = theRig().clusters;
      const response = await kubeRequest(b, a.adminToken, 'GET', '/api/v1/namespaces');
      expect(response.status).toBe(401);
    });

    it('a restricted ServiceAccount token can create and patch the Secret it was granted, and gets 403 elsewhere', async () => {
      // Prepare
      const { a } = theRig().clusters;
      const namespace = uniqueName('smoke-rbac');
      await ensureNamespace(a, namespace);
      const account = await createRestrictedAccount(a, {
        namespace,
        rules: [
          { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
          { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'patch'], resourceNames: ['granted'] },
        ],
      });
      const secrets = `/api/v1/namespaces/${namespace}/secrets`;
      await kubeRequest(a, a.adminToken, 'POST', secrets, {
        metadata: { name: 'other' },
        stringData: { k: 'v' },
      });

      // Act
      const created = await kubeRequest(a, account.token, 'POST', secrets, {
        metadata: { name: 'granted' },
        data: { k: Buffer.from('v1').toString('base64') },
      });
      const patched = await kubeRequest(
        a,
        account.token,
        'PATCH',
        `${secrets}/granted`,
        { data: { k: Buffer.from('v2').toString('base64') } },
        'application/merge-patch+json',
      );
      const readOther = await kubeRequest(a, account.token, 'GET', `${secrets}/other`);
      const listAll = await kubeRequest(a, account.token, 'GET', secrets);

      // Assess
      expect(created.status).toBe(201);
      expect(patched.status).toBe(200);
      expect(readOther.status).toBe(403);
      expect(listAll.status).toBe(403);
      expect(account.kubeconfig).toContain(a.server);
    });

    it('a new namespace gets its default ServiceAccount and a deleted namespace goes away', async () => {
      // Prepare
      const { b } = theRig().clusters;
      const namespace = uniqueName('smoke-ns');

      // Act
      await ensureNamespace(b, namespace);
      const path = `/api/v1/namespaces/${namespace}`;
      await waitFor(
        'default ServiceAccount',
        async () =>
          (await kubeRequest(b, b.adminToken, 'GET', `${path}/serviceaccounts/default`)).status === 200,
        30_000,
      );
      const deleted = await kubeRequest(b, b.adminToken, 'DELETE', path);
      await waitFor(
        'namespace deletion',
        async () => (await kubeRequest(b, b.adminToken, 'GET', path)).status === 404,
        60_000,
      );

      // Assess
      expect(deleted.status).toBe(200);
      expect((await kubeRequest(b, b.adminToken, 'GET', path)).status).toBe(404);
    });
  });

  describe('AWS SDK v3 against moto, configured only by environment', () => {
    it('ECR GetAuthorizationToken returns a token and its registry endpoint', async () => {
      const ecr = new ECRClient({});
      await ecr.send(new CreateRepositoryCommand({ repositoryName: uniqueName('smoke/app') }));
      const response = await ecr.send(new GetAuthorizationTokenCommand({}));
      const data = response.authorizationData?.[0];
      expect(Buffer.from(data?.authorizationToken ?? '', 'base64').toString()).toMatch(/^AWS:.+/);
      expect(data?.proxyEndpoint).toMatch(/^https:\/\/\d{12}\.dkr\.ecr\.eu-west-1\.amazonaws\.com$/);
    });

    it('STS AssumeRole returns session credentials', async () => {
      const sts = new STSClient({});
      const response = await sts.send(
        new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::123456789012:role/smoke', RoleSessionName: 'smoke' }),
      );
      expect(response.Credentials?.SessionToken).toBeTruthy();
      expect(response.Credentials?.Expiration?.getTime()).toBeGreaterThan(Date.now());
    });

    it('Secrets Manager stores and returns a value', async () => {
      const sm = new SecretsManagerClient({});
      const name = uniqueName('smoke/kubeconfig');
      const value = `value-${Math.random()}`;
      await sm.send(new CreateSecretCommand({ Name: name, SecretString: value }));
      const got = await sm.send(new GetSecretValueCommand({ SecretId: name }));
      expect(got.SecretString).toBe(value);
    });

    it('S3 stores and returns an object', async () => {
      const s3 = new S3Client({ forcePathStyle: true });
      const bucket = uniqueName('smoke-bucket');
      await s3.send(
        new CreateBucketCommand({
          Bucket: bucket,
          CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
        }),
      );
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'reports/a.csv', Body: 'a,b\n' }));
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'reports/a.csv' }));
      expect(await got.Body?.transformToString()).toBe('a,b\n');
    });
  });
});
