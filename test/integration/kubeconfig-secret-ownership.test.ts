/**
 * Secrets Manager ownership, on moto and a real cluster of the rig: `register` and `unregister` write,
 * restore, tag or delete only secrets carrying cred-courier's tags for the cluster (or that they create).
 * A `kubeconfigSecret` naming someone else's secret fails with a message naming the secret and the
 * cluster, exits 2, and leaves the secret exactly as it was: value, versions, tags and deletion state.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, describe, expect, it } from 'vitest';
import { registerCluster } from '../../src/register/register.ts';
import { ensureNamespace } from '../rig/accounts.ts';
import { kubeRequest } from '../rig/kube-http.ts';
import { cli, registerOptions } from './register-support.ts';
import { rig, skipReason, theRig, uniqueName, useRigAws } from './rig-context.ts';

const sm = () => new SecretsManagerClient({});

/** Everything about a secret a write, restore, tag or delete would change. */
async function snapshot(secretId: string) {
  const described = await sm().send(new DescribeSecretCommand({ SecretId: secretId }));
  const versions = await sm().send(
    new ListSecretVersionIdsCommand({ SecretId: secretId, IncludeDeprecated: true }),
  );
  const value = await sm()
    .send(new GetSecretValueCommand({ SecretId: secretId }))
    .then((v) => ({ string: v.SecretString, versionId: v.VersionId }))
    .catch((error: Error) => ({ refused: error.name }));
  return {
    arn: described.ARN,
    deletedDate: described.DeletedDate?.toISOString() ?? null,
    tags: [...(described.Tags ?? [])].sort((a, b) => (a.Key ?? '').localeCompare(b.Key ?? '')),
    versions: (versions.Versions ?? [])
      .map((v) => `${v.VersionId}:${[...(v.VersionStages ?? [])].sort().join('+')}`)
      .sort(),
    value,
  };
}

interface ForeignCase {
  readonly name: string;
  readonly tags: (cluster: string) => { Key: string; Value: string }[];
  readonly scheduledForDeletion: boolean;
  readonly reason: RegExp;
}

const FOREIGN: readonly ForeignCase[] = [
  {
    name: 'an untagged secret',
    tags: () => [],
    scheduledForDeletion: false,
    reason: /has no managed-by tag/,
  },
  {
    name: "another tool's secret",
    tags: () => [{ Key: 'managed-by', Value: 'terraform' }],
    scheduledForDeletion: false,
    reason: /managed-by tag is "terraform"/,
  },
  {
    name: "cred-courier's kubeconfig of another cluster",
    tags: () => [
      { Key: 'managed-by', Value: 'cred-courier' },
      { Key: 'cred-courier:cluster', Value: 'someone-elses-cluster' },
    ],
    scheduledForDeletion: false,
    reason: /kubeconfig of cluster "someone-elses-cluster"/,
  },
  {
    name: 'an untagged secret scheduled for deletion',
    tags: () => [{ Key: 'team', Value: 'payments' }],
    scheduledForDeletion: true,
    reason: /has no managed-by tag/,
  },
];

describe.skipIf(!rig)(`kubeconfig secret ownership${rig ? '' : ` (skipped: ${skipReason})`}`, () => {
  useRigAws();
  const dir = mkdtempSync(join(tmpdir(), 'cred-courier-sm-ownership-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A cluster entry of the rig's cluster a whose kubeconfigSecret is `secretId`. */
  async function prepare(secretId: string) {
    const cluster = theRig().clusters.a;
    const name = uniqueName('own');
    const app = uniqueName('app');
    await ensureNamespace(cluster, app);
    const control = uniqueName('cc');
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      `settings:\n  controlNamespace: ${control}\nclusters:\n  - name: ${name}\n    kubeconfigSecret: ${secretId}\n    namespaces: { names: [${app}] }\n    ecr: { secretName: ecr-pull, registries: [{ region: eu-west-1 }] }\n`,
    );
    return { cluster, name, control, file };
  }

  it.each(FOREIGN)(
    'register and unregister refuse $name, exit 2 naming it and the cluster, and leave it exactly as it was',
    async (kase) => {
      // Prepare
      const secretId = `team/${uniqueName('typo')}`;
      const setup = await prepare(secretId);
      await sm().send(
        new CreateSecretCommand({
          Name: secretId,
          SecretString: 'not a kubeconfig: the payments team database password',
          Tags: kase.tags(setup.name),
        }),
      );
      if (kase.scheduledForDeletion) {
        await sm().send(new DeleteSecretCommand({ SecretId: secretId, RecoveryWindowInDays: 7 }));
      }
      const before = await snapshot(secretId);
      const fileBefore = readFileSync(setup.file, 'utf8');
      const admin = setup.cluster.adminKubeconfigPath;

      // Act
      const registered = await cli(['register', setup.name, '-c', setup.file, '--kubeconfig', admin]);
      const rotated = await cli([
        'register',
        setup.name,
        '-c',
        setup.file,
        '--kubeconfig',
        admin,
        '--rotate',
      ]);
      const unregistered = await cli(['unregister', setup.name, '-c', setup.file, '--kubeconfig', admin]);
      const forced = await cli(['unregister', setup.name, '-c', setup.file, '--keep-rbac', '--force']);

      // Assess
      for (const [what, result] of Object.entries({ registered, rotated, unregistered, forced })) {
        expect(result.code, `${what}: ${result.stdout}${result.stderr}`).toBe(2);
        expect(result.stderr, what).toContain(`${secretId} (kubeconfigSecret of cluster ${setup.name})`);
        expect(result.stderr, what).toMatch(kase.reason);
        expect(result.stderr, what).toContain('It is left as it is');
        expect(result.stderr + result.stdout, what).not.toContain('database password');
      }
      expect(await snapshot(secretId)).toEqual(before);
      expect(readFileSync(setup.file, 'utf8')).toBe(fileBefore);
      // Refused before anything was applied to the cluster.
      const namespace = await kubeRequest(
        setup.cluster,
        setup.cluster.adminToken,
        'GET',
        `/api/v1/namespaces/${setup.control}`,
      );
      expect(namespace.status).toBe(404);
    },
  );

  it("restores and stores into cred-courier's own secret of the cluster when it is scheduled for deletion", async () => {
    // Prepare
    const secretId = `cred-courier/test/${uniqueName('own')}`;
    const setup = await prepare(secretId);
    const options = registerOptions({
      configFile: setup.file,
      cluster: setup.name,
      adminKubeconfigPath: setup.cluster.adminKubeconfigPath,
    });
    const first = await registerCluster(options);
    await sm().send(new DeleteSecretCommand({ SecretId: secretId, RecoveryWindowInDays: 7 }));

    // Act
    const again = await registerCluster(options);

    // Assess
    expect(first.kubeconfigSecret.action).toBe('created');
    expect(again.kubeconfigSecret.action).toBe('restored');
    const after = await snapshot(secretId);
    expect(after.deletedDate).toBeNull();
    expect(after.tags).toEqual([
      { Key: 'cred-courier:cluster', Value: setup.name },
      { Key: 'managed-by', Value: 'cred-courier' },
    ]);
  });
});
