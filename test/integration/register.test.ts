/**
 * Registration on the rig's real clusters, with the rig's admin kubeconfigs and moto's Secrets Manager:
 * `register` makes an identity whose stored kubeconfig alone delivers everything and can do nothing else
 * (each denial proven by a real request and by SelfSubjectAccessReview), re-running changes nothing,
 * tokens rotate, `check` and `status` see revoked tokens, wrong CAs and expired Secrets, and
 * `unregister` leaves nothing of cred-courier's behind.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeSecretCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load.ts';
import { reviewAccess } from '../../src/kube/access-review.ts';
import { createKubeApis } from '../../src/kube/apis.ts';
import { parseKubeconfig } from '../../src/kube/kubeconfig.ts';
import { loadAdminKubeconfig } from '../../src/register/admin.ts';
import { checkClusters } from '../../src/register/check.ts';
import { objectName } from '../../src/register/rbac.ts';
import { type RegisterOptions, registerCluster } from '../../src/register/register.ts';
import { clusterStatus } from '../../src/register/status.ts';
import { tokenClaims } from '../../src/register/token.ts';
import { unregisterCluster } from '../../src/register/unregister.ts';
import { ensureNamespace } from '../rig/accounts.ts';
import { kubeRequest } from '../rig/kube-http.ts';
import type { RigCluster } from '../rig/rig.ts';
import { waitFor } from '../rig/rig.ts';
import { capturedRun } from './fixtures.ts';
import {
  cli,
  EVERY_CHECK_OK,
  registerOptions,
  secretsWriter,
  storedKubeconfig,
  tokenOf,
} from './register-support.ts';
import { rig, skipReason, theRig, uniqueName, useRigAws } from './rig-context.ts';

const ROLE = 'arn:aws:iam::123456789012:role/cred-courier-s3';
const ECR_SECRET = 'ecr-pull';
const S3_SECRET = 'reports';

interface Setup {
  readonly name: string;
  readonly file: string;
  readonly control: string;
  readonly namespaces: { readonly app: string; readonly data: string; readonly other: string };
}

/** A registration file with comments and an unrelated entry, which every edit must keep as written. */
function commentedConfig(setup: Omit<Setup, 'file'>, bucket: string): string {
  const { name, control, namespaces } = setup;
  return `# Test registration file: comments must survive every edit.
settings:
  controlNamespace: ${control}   # cred-courier's own namespace
  clusterDeadlineSeconds: 30

clusters:
  # An unrelated cluster, never touched.
  - name: untouched
    kubeconfigSecret: cred-courier/test/untouched   # stays as written
    namespaces: { names: [nothing-here] }

  # The cluster under test.
  - name: ${name}
    kubeconfigSecret: cred-courier/test/${name}
    namespaces:
      names: [${namespaces.app}, ${namespaces.data}]
    ecr: { secretName: ${ECR_SECRET}, registries: [{ region: eu-west-1 }] }
    s3:
      - secretName: ${S3_SECRET}
        roleArn: ${ROLE}
        region: eu-west-1
        namespaces: [${namespaces.data}]
        buckets: [{ bucket: ${bucket}, access: read }]
`;
}

const sm = () => new SecretsManagerClient({});

/**
 * Waits until the apiserver refuses `token` (401). Revocation is not instant: the apiserver caches a
 * successful token authentication for up to 10 seconds.
 */
async function waitUntilRevoked(cluster: RigCluster, token: string, path: string): Promise<boolean> {
  await waitFor(
    'token revocation',
    async () => (await kubeRequest(cluster, token, 'GET', path)).status === 401,
    30_000,
  );
  return true;
}

describe.skipIf(!rig)(`registration on the rig${rig ? '' : ` (skipped: ${skipReason})`}`, () => {
  useRigAws();
  const dir = mkdtempSync(join(tmpdir(), 'cred-courier-register-'));
  const bucket = uniqueName('reg-reports');

  beforeAll(async () => {
    await new S3Client({ forcePathStyle: true }).send(
      new CreateBucketCommand({
        Bucket: bucket,
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
      }),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A cluster of the rig with its namespaces made, and a commented registration file naming it. */
  async function prepare(which: 'a' | 'b'): Promise<Setup & { rigCluster: RigCluster }> {
    const rigCluster = theRig().clusters[which];
    const name = uniqueName('reg');
    const namespaces = { app: uniqueName('app'), data: uniqueName('data'), other: uniqueName('other') };
    for (const namespace of Object.values(namespaces)) await ensureNamespace(rigCluster, namespace);
    const control = uniqueName('cc');
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, commentedConfig({ name, control, namespaces }, bucket));
    return { name, file, control, namespaces, rigCluster };
  }

  function options(
    setup: Setup & { rigCluster: RigCluster },
    extra: Partial<RegisterOptions> = {},
  ): RegisterOptions {
    return registerOptions(
      {
        configFile: setup.file,
        cluster: setup.name,
        adminKubeconfigPath: setup.rigCluster.adminKubeconfigPath,
      },
      { token: { kind: 'token-request', seconds: 24 * 3600 * 30 }, ...extra },
    );
  }

  async function deliver(file: string, cluster: string) {
    return capturedRun(await loadConfig(file), { clusters: [cluster] });
  }

  it('register stores a kubeconfig that alone delivers ECR and S3 Secrets, keeping the file byte-identical', async () => {
    // Prepare
    const setup = await prepare('a');
    const before = readFileSync(setup.file, 'utf8');

    // Act
    const report = await registerCluster(options(setup));
    const run = await deliver(setup.file, setup.name);

    // Assess
    expect(report.ok).toBe(true);
    expect(report.config.action).toBe('unchanged');
    expect(readFileSync(setup.file, 'utf8')).toBe(before);
    expect(report.token.action).toBe('minted');
    expect(report.kubeconfigSecret.action).toBe('created');
    expect(report.verification?.permissions.length).toBeGreaterThan(10);
    expect(report.verification?.permissions.every((p) => p.allowed)).toBe(true);
    expect(report.verification?.items.find((i) => i.check === 'secret-guard')?.status).toBe('ok');
    expect(report.rbac.every((r) => r.action === 'created')).toBe(true);
    // Exact namespace names: Roles only, so no cluster-wide warning.
    expect(report.warnings.filter((w) => w.includes('ClusterRole'))).toEqual([]);
    const stored = await storedKubeconfig(`cred-courier/test/${setup.name}`);
    const doc = parse(stored) as { users: { name: string; user: Record<string, unknown> }[] };
    expect(doc.users).toHaveLength(1);
    expect(doc.users[0]?.name).toBe('cred-courier');
    expect(Object.keys(doc.users[0]?.user ?? {})).toEqual(['token']);
    expect(stored).not.toContain(setup.rigCluster.adminToken);
    expect(tokenClaims(tokenOf(stored))?.subject).toBe(`system:serviceaccount:${setup.control}:cred-courier`);
    const described = await sm().send(
      new DescribeSecretCommand({ SecretId: `cred-courier/test/${setup.name}` }),
    );
    expect(described.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'cred-courier:cluster', Value: setup.name },
        { Key: 'managed-by', Value: 'cred-courier' },
      ]),
    );
    expect(run.result.ok).toBe(true);
    const delivered = run.result.clusters[0]?.secrets.map(
      (s) => `${s.kind}:${s.namespace}/${s.secretName}:${s.action}`,
    );
    expect(delivered?.sort()).toEqual(
      [
        `ecr:${setup.namespaces.app}/${ECR_SECRET}:created`,
        `ecr:${setup.namespaces.data}/${ECR_SECRET}:created`,
        `s3:${setup.namespaces.data}/${S3_SECRET}:created`,
      ].sort(),
    );
    // A second run also updates and prunes through the inventory: every permission was exercised.
    const second = await deliver(setup.file, setup.name);
    expect(second.result.ok).toBe(true);
    expect(second.result.clusters[0]?.warnings).toEqual([]);
  });

  it('the registered identity can do nothing else: every attempt is refused by the apiserver and by SelfSubjectAccessReview', async () => {
    // Prepare
    const setup = await prepare('b');
    await registerCluster(options(setup));
    const { rigCluster: c, namespaces } = setup;
    const stored = await storedKubeconfig(`cred-courier/test/${setup.name}`);
    const token = tokenOf(stored);
    await kubeRequest(c, c.adminToken, 'POST', `/api/v1/namespaces/${namespaces.app}/secrets`, {
      metadata: { name: 'someone-elses' },
      stringData: { password: 'not for cred-courier' },
    });
    const { app, other } = namespaces;
    const attempts: [string, string, string, unknown?][] = [
      ['read another Secret', 'GET', `/api/v1/namespaces/${app}/secrets/someone-elses`],
      ['list Secrets', 'GET', `/api/v1/namespaces/${app}/secrets`],
      ['watch Secrets', 'GET', `/api/v1/namespaces/${app}/secrets?watch=true`],
      ['list Secrets cluster-wide', 'GET', '/api/v1/secrets'],
      ['delete another Secret', 'DELETE', `/api/v1/namespaces/${app}/secrets/someone-elses`],
      [
        'create a ConfigMap in a target namespace',
        'POST',
        `/api/v1/namespaces/${app}/configmaps`,
        { metadata: { name: 'x' } },
      ],
      [
        'create a Pod',
        'POST',
        `/api/v1/namespaces/${app}/pods`,
        { metadata: { name: 'x' }, spec: { containers: [{ name: 'x', image: 'x' }] } },
      ],
      [
        'create a Secret in another namespace',
        'POST',
        `/api/v1/namespaces/${other}/secrets`,
        { metadata: { name: ECR_SECRET } },
      ],
      [
        'read its Secret name in another namespace',
        'GET',
        `/api/v1/namespaces/${other}/secrets/${ECR_SECRET}`,
      ],
      ['read kube-system Secrets', 'GET', '/api/v1/namespaces/kube-system/secrets'],
      ['patch an unlisted ServiceAccount', 'PATCH', `/api/v1/namespaces/${app}/serviceaccounts/builder`, {}],
      ['list namespaces (exact names need none)', 'GET', '/api/v1/namespaces'],
      [
        'create a ServiceAccount token',
        'POST',
        `/api/v1/namespaces/${app}/serviceaccounts/default/token`,
        { spec: {} },
      ],
      [
        'create a RoleBinding',
        'POST',
        `/apis/rbac.authorization.k8s.io/v1/namespaces/${app}/rolebindings`,
        { metadata: { name: 'x' } },
      ],
      [
        'delete the inventory',
        'DELETE',
        `/api/v1/namespaces/${setup.control}/configmaps/cred-courier-inventory`,
      ],
    ];
    const reviews: [string, Parameters<typeof reviewAccess>[1]][] = [
      [
        'get another Secret',
        { verb: 'get', resource: 'secrets', group: '', namespace: app, name: 'someone-elses' },
      ],
      ['list Secrets', { verb: 'list', resource: 'secrets', group: '', namespace: app }],
      ['watch Secrets', { verb: 'watch', resource: 'secrets', group: '', namespace: app }],
      [
        'get its Secret in another namespace',
        { verb: 'get', resource: 'secrets', group: '', namespace: other, name: ECR_SECRET },
      ],
      [
        'create Secrets in another namespace',
        { verb: 'create', resource: 'secrets', group: '', namespace: other },
      ],
      [
        'create ConfigMaps outside the control namespace',
        { verb: 'create', resource: 'configmaps', group: '', namespace: app },
      ],
      ['create Pods', { verb: 'create', resource: 'pods', group: '', namespace: app }],
      [
        'get kube-system Secrets',
        { verb: 'get', resource: 'secrets', group: '', namespace: 'kube-system', name: ECR_SECRET },
      ],
      [
        'patch an unlisted ServiceAccount',
        { verb: 'patch', resource: 'serviceaccounts', group: '', namespace: app, name: 'builder' },
      ],
      ['list namespaces', { verb: 'list', resource: 'namespaces', group: '' }],
      [
        'delete the inventory',
        {
          verb: 'delete',
          resource: 'configmaps',
          group: '',
          namespace: setup.control,
          name: 'cred-courier-inventory',
        },
      ],
      [
        'S3 Secret where its grant does not apply',
        { verb: 'get', resource: 'secrets', group: '', namespace: app, name: S3_SECRET },
      ],
    ];
    const spec = (await loadConfig(setup.file)).clusters.find((cluster) => cluster.name === setup.name);
    if (!spec) throw new Error('cluster missing from the file');
    const apis = createKubeApis(parseKubeconfig(spec, stored).kubeConfig, { requestTimeoutMs: 10_000 });

    // Act
    const statuses = await Promise.all(
      attempts.map(
        async ([what, method, path, body]) =>
          [
            what,
            (
              await kubeRequest(
                c,
                token,
                method,
                path,
                body,
                method === 'PATCH' ? 'application/merge-patch+json' : 'application/json',
              )
            ).status,
          ] as const,
      ),
    );
    const answers = await Promise.all(
      reviews.map(
        async ([what, query]) => [what, (await reviewAccess(apis.authorization, query)).allowed] as const,
      ),
    );
    // RBAC allows `create` on any Secret name in a target namespace; the secret guard refuses what is not cred-courier's.
    const sneaky = await kubeRequest(c, token, 'POST', `/api/v1/namespaces/${app}/secrets`, {
      metadata: { name: 'sneaky', labels: { 'app.kubernetes.io/managed-by': 'cred-courier' } },
      type: 'Opaque',
    });
    const tokenSecret = await kubeRequest(c, token, 'POST', `/api/v1/namespaces/${app}/secrets`, {
      metadata: {
        name: ECR_SECRET,
        labels: { 'app.kubernetes.io/managed-by': 'cred-courier' },
        annotations: { 'kubernetes.io/service-account.name': 'default' },
      },
      type: 'kubernetes.io/service-account-token',
    });
    const unlabelled = await kubeRequest(c, token, 'POST', `/api/v1/namespaces/${app}/secrets`, {
      metadata: { name: ECR_SECRET },
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from('{"auths":{}}').toString('base64') },
    });

    // Assess
    expect(Object.fromEntries(statuses)).toEqual(Object.fromEntries(attempts.map(([what]) => [what, 403])));
    expect(Object.fromEntries(answers)).toEqual(Object.fromEntries(reviews.map(([what]) => [what, false])));
    for (const refused of [sneaky, tokenSecret, unlabelled]) {
      expect(refused.status).toBeGreaterThanOrEqual(400);
      expect(refused.body).toContain(objectName(setup.control, 'secret-guard'));
    }
    expect(
      (await kubeRequest(c, c.adminToken, 'GET', `/api/v1/namespaces/${app}/secrets/someone-elses`)).status,
    ).toBe(200);
  });

  it('running register again changes nothing; --rotate stores a new token; --dry-run writes nothing', async () => {
    // Prepare
    const setup = await prepare('a');
    const secretId = `cred-courier/test/${setup.name}`;
    await registerCluster(options(setup));
    const first = await storedKubeconfig(secretId);
    const versions = async () =>
      (await sm().send(new ListSecretVersionIdsCommand({ SecretId: secretId }))).Versions?.length ?? 0;
    const versionsBefore = await versions();
    const text = readFileSync(setup.file, 'utf8');

    // Act
    const again = await registerCluster(options(setup));
    const dryRotate = await registerCluster(options(setup, { rotate: true, dryRun: true }));
    const unchangedAfterDryRun = await storedKubeconfig(secretId);
    const rotated = await registerCluster(options(setup, { rotate: true }));

    // Assess
    expect(again.rbac.every((r) => r.action === 'unchanged')).toBe(true);
    expect(again.token.action).toBe('kept');
    expect(again.kubeconfigSecret.action).toBe('unchanged');
    expect(again.config.action).toBe('unchanged');
    expect(readFileSync(setup.file, 'utf8')).toBe(text);
    expect(dryRotate.token.action).toBe('would-mint');
    expect(dryRotate.kubeconfigSecret.action).toBe('would-store');
    expect(unchangedAfterDryRun).toBe(first);
    expect(rotated.token.action).toBe('minted');
    expect(rotated.kubeconfigSecret.action).toBe('updated');
    const second = await storedKubeconfig(secretId);
    expect(tokenOf(second)).not.toBe(tokenOf(first));
    expect(await versions()).toBe(versionsBefore + 1);
    // A TokenRequest token cannot be revoked on its own: the old one still works until it expires.
    const c = setup.rigCluster;
    const path = `/api/v1/namespaces/${setup.namespaces.app}/serviceaccounts/default`;
    expect((await kubeRequest(c, tokenOf(first), 'GET', path)).status).not.toBe(401);
    expect((await kubeRequest(c, tokenOf(second), 'GET', path)).status).not.toBe(401);
    expect((await deliver(setup.file, setup.name)).result.ok).toBe(true);
  });

  it('a long-lived token does not expire and rotating it revokes the old one', async () => {
    // Prepare
    const setup = await prepare('b');
    const secretId = `cred-courier/test/${setup.name}`;
    const longLived = options(setup, { token: { kind: 'long-lived' } });

    // Act
    const first = await registerCluster(longLived);
    const firstToken = tokenOf(await storedKubeconfig(secretId));
    const again = await registerCluster(longLived);
    const rotated = await registerCluster({ ...longLived, rotate: true });
    const secondToken = tokenOf(await storedKubeconfig(secretId));
    const back = await registerCluster(options(setup));

    // Assess
    expect(first.ok).toBe(true);
    expect(tokenClaims(firstToken)?.expiresAt).toBeUndefined();
    expect(again.token.action).toBe('kept');
    expect(rotated.token.action).toBe('minted');
    expect(secondToken).not.toBe(firstToken);
    const c = setup.rigCluster;
    const path = `/api/v1/namespaces/${setup.namespaces.app}/serviceaccounts/default`;
    expect(await waitUntilRevoked(c, firstToken, path)).toBe(true);
    // Moving back to TokenRequest deletes the token Secret, which revokes the long-lived token.
    expect(back.token.revokedLongLivedToken).toBe(true);
    expect(await waitUntilRevoked(c, secondToken, path)).toBe(true);
  });

  it('register adds a new cluster with globs from options (cluster-wide roles), after a dry run that writes nothing', async () => {
    // Prepare
    const rigCluster = theRig().clusters.b;
    const prefix = uniqueName('glob');
    const names = [`${prefix}-one`, `${prefix}-two`];
    for (const namespace of names) await ensureNamespace(rigCluster, namespace);
    const control = uniqueName('cc');
    const file = join(dir, `${prefix}.yaml`);
    const original = `settings:\n  controlNamespace: ${control} # kept\n\n# clusters follow\nclusters:\n  - name: existing # kept as is\n    kubeconfigSecret: x/existing\n    namespaces: { names: [a] }\n`;
    writeFileSync(file, original);
    const name = uniqueName('new');
    const register = (dryRun: boolean) =>
      registerCluster({
        ...options({ name, file, control, namespaces: { app: '', data: '', other: '' }, rigCluster }),
        dryRun,
        entry: { namespaces: [`${prefix}-*`], ecrRegistries: [{ region: 'eu-west-1' }] },
      });

    // Act
    const dry = await register(true);
    const afterDry = readFileSync(file, 'utf8');
    const saAfterDry = await kubeRequest(
      rigCluster,
      rigCluster.adminToken,
      'GET',
      `/api/v1/namespaces/${control}`,
    );
    const report = await register(false);
    const run = await deliver(file, name);

    // Assess
    expect(dry.rbac.some((r) => r.action === 'created')).toBe(true);
    expect(dry.config.action).toBe('added');
    expect(afterDry).toBe(original);
    expect(saAfterDry.status).toBe(404);
    expect(report.ok).toBe(true);
    expect(report.rbac.map((r) => r.object)).toEqual(
      expect.arrayContaining([
        `ClusterRole ${objectName(control, 'delivery')}`,
        `ClusterRole ${objectName(control, 'list-namespaces')}`,
      ]),
    );
    const written = readFileSync(file, 'utf8');
    expect(written.startsWith(original)).toBe(true);
    expect(parse(written.slice(original.length))).toEqual([
      {
        name,
        kubeconfigSecret: `cred-courier/clusters/${name}`,
        namespaces: { names: [`${prefix}-*`] },
        ecr: { secretName: 'ecr-pull', registries: [{ region: 'eu-west-1' }] },
      },
    ]);
    // Both runs say what the ClusterRoles they apply allow.
    const clusterWide = new RegExp(
      `^cluster ${name} selects namespaces by glob ${prefix}-\\*, so its RBAC is cluster-wide .*` +
        `ClusterRole ${objectName(control, 'delivery')} allows create on secrets of any name; ` +
        'get/patch/delete on secrets named ecr-pull; get/patch on serviceaccounts named default\\.',
    );
    expect(dry.warnings).toContainEqual(expect.stringMatching(clusterWide));
    expect(report.warnings).toContainEqual(expect.stringMatching(clusterWide));
    expect(run.result.ok).toBe(true);
    expect(run.result.clusters[0]?.secrets.map((s) => s.namespace).sort()).toEqual(names);
  });

  it('with --rbac=skip and no RBAC applied, the new kubeconfig fails verification and nothing is stored or edited', async () => {
    // Prepare: only the ServiceAccount exists, as if someone forgot to apply `cred-courier rbac`.
    const setup = await prepare('a');
    const c = setup.rigCluster;
    await ensureNamespace(c, setup.control);
    await kubeRequest(c, c.adminToken, 'POST', `/api/v1/namespaces/${setup.control}/serviceaccounts`, {
      metadata: { name: 'cred-courier' },
    });
    const before = readFileSync(setup.file, 'utf8');

    // Act
    const report = await registerCluster(options(setup, { rbac: 'skip', settleMs: 0 }));

    // Assess
    expect(report.ok).toBe(false);
    expect(report.kubeconfigSecret.action).toBe('not-stored');
    expect(report.rbac.every((r) => r.action === 'skipped')).toBe(true);
    const permissions = report.verification?.items.find((i) => i.check === 'permissions');
    expect(permissions?.status).toBe('fail');
    expect(permissions?.detail).toMatch(/denied: .*create secrets in /);
    expect(readFileSync(setup.file, 'utf8')).toBe(before);
    await expect(storedKubeconfig(`cred-courier/test/${setup.name}`)).rejects.toThrow(
      /ResourceNotFound|can't find/i,
    );
    // The RBAC printed by `cred-courier rbac`, applied by hand, makes the same command succeed.
    const printed = await cli(['rbac', setup.name, '-c', setup.file, '-o', 'json']);
    for (const item of JSON.parse(printed.stdout).items as {
      kind: string;
      apiVersion: string;
      metadata: { name: string; namespace?: string };
    }[]) {
      if (item.kind === 'Namespace' || item.kind === 'ServiceAccount') continue;
      const group = item.apiVersion === 'v1' ? '/api/v1' : `/apis/${item.apiVersion}`;
      const kind = item.kind.toLowerCase();
      const plural = kind.endsWith('y') ? `${kind.slice(0, -1)}ies` : `${kind}s`;
      const where = item.metadata.namespace ? `/namespaces/${item.metadata.namespace}` : '';
      expect(
        (await kubeRequest(c, c.adminToken, 'POST', `${group}${where}/${plural}`, item)).status,
        item.kind,
      ).toBe(201);
    }
    const again = await registerCluster(options(setup, { rbac: 'skip' }));
    expect(again.ok).toBe(true);
    expect(again.kubeconfigSecret.action).toBe('created');
  });

  it('check reports a healthy cluster, a revoked token and a wrong CA; the CLI exits 1 on problems', async () => {
    // Prepare
    const setup = await prepare('a');
    await registerCluster(options(setup));
    const secretId = `cred-courier/test/${setup.name}`;
    const config = await loadConfig(setup.file);
    const kubeconfigs = {
      get: async (_cluster: string, id: string) => storedKubeconfig(id),
      invalidate: () => {},
    };

    // Act
    const healthy = await checkClusters({ config, clusters: [setup.name], kubeconfigs });
    const healthyCli = await cli(['check', setup.name, '-c', setup.file, '-o', 'json']);
    // Revoke: delete the ServiceAccount and make it again (same name, new UID).
    const c = setup.rigCluster;
    const saPath = `/api/v1/namespaces/${setup.control}/serviceaccounts/cred-courier`;
    await kubeRequest(c, c.adminToken, 'DELETE', saPath);
    await waitFor(
      'ServiceAccount deletion',
      async () => (await kubeRequest(c, c.adminToken, 'GET', saPath)).status === 404,
      10_000,
    );
    await kubeRequest(c, c.adminToken, 'POST', `/api/v1/namespaces/${setup.control}/serviceaccounts`, {
      metadata: { name: 'cred-courier', labels: { 'app.kubernetes.io/managed-by': 'cred-courier' } },
    });
    await waitUntilRevoked(c, tokenOf(await storedKubeconfig(secretId)), '/version');
    const revoked = await checkClusters({ config, clusters: [setup.name], kubeconfigs });
    const revokedCli = await cli(['check', setup.name, '-c', setup.file]);
    // Wrong CA: the other cluster's CA in an otherwise valid kubeconfig.
    const stored = await storedKubeconfig(secretId);
    const otherCa = Buffer.from(theRig().clusters.b.caPem).toString('base64');
    const wrongCa = stored.replace(
      /certificate-authority-data: \S+/,
      `certificate-authority-data: ${otherCa}`,
    );
    const wrong = await checkClusters({
      config,
      clusters: [setup.name],
      kubeconfigs: { get: async () => wrongCa, invalidate: () => {} },
    });

    // Assess
    expect(healthy.ok).toBe(true);
    expect(healthy.clusters[0]?.items.map((i) => `${i.check}:${i.status}`)).toEqual(EVERY_CHECK_OK);
    expect(healthyCli.code).toBe(0);
    expect(JSON.parse(healthyCli.stdout).clusters[0].identity).toBe(
      `system:serviceaccount:${setup.control}:cred-courier`,
    );
    expect(revoked.ok).toBe(false);
    expect(revoked.clusters[0]?.items.find((i) => i.check === 'identity')).toMatchObject({ status: 'fail' });
    expect(revoked.clusters[0]?.items.find((i) => i.check === 'identity')?.detail).toMatch(/^unauthorized/);
    expect(revokedCli.code).toBe(1);
    expect(revokedCli.stdout).toMatch(/✗ identity: unauthorized/);
    expect(wrong.ok).toBe(false);
    expect(wrong.clusters[0]?.items.find((i) => i.check === 'tls')).toMatchObject({ status: 'fail' });
    for (const text of [healthyCli.stdout, revokedCli.stdout, JSON.stringify(wrong)])
      expect(text).not.toContain(tokenOf(stored));
  });

  it('status lists each Secret with its expiry and references, and exits 1 once one has expired', async () => {
    // Prepare
    const setup = await prepare('b');
    await registerCluster(options(setup));
    await deliver(setup.file, setup.name);
    const config = await loadConfig(setup.file);
    const c = setup.rigCluster;

    // Act
    const fresh = await clusterStatus({
      config,
      clusters: [setup.name],
      kubeconfigs: { get: async (_c, id) => storedKubeconfig(id), invalidate: () => {} },
    });
    const freshCli = await cli(['status', setup.name, '-c', setup.file]);
    await kubeRequest(
      c,
      c.adminToken,
      'PATCH',
      `/api/v1/namespaces/${setup.namespaces.app}/secrets/${ECR_SECRET}`,
      { metadata: { annotations: { 'cred-courier.io/expires-at': '2020-01-01T00:00:00.000Z' } } },
      'application/merge-patch+json',
    );
    const expiredCli = await cli(['status', setup.name, '-c', setup.file, '-o', 'json']);

    // Assess
    expect(fresh.ok).toBe(true);
    const secrets = fresh.clusters[0]?.secrets ?? [];
    expect(secrets.map((s) => `${s.kind}:${s.namespace}/${s.secretName}:${s.state}`).sort()).toEqual(
      [
        `ecr:${setup.namespaces.app}/${ECR_SECRET}:ok`,
        `ecr:${setup.namespaces.data}/${ECR_SECRET}:ok`,
        `s3:${setup.namespaces.data}/${S3_SECRET}:ok`,
      ].sort(),
    );
    const ecr = secrets.find((s) => s.kind === 'ecr');
    expect(ecr?.serviceAccounts).toEqual({ default: 'referenced' });
    expect(ecr?.secondsLeft).toBeGreaterThan(3600);
    expect(ecr?.inInventory).toBe(true);
    expect(freshCli.code).toBe(0);
    expect(freshCli.stdout).toMatch(/left/);
    expect(expiredCli.code).toBe(1);
    const expired = JSON.parse(expiredCli.stdout) as {
      clusters: { secrets: { namespace: string; state: string; secondsLeft: number }[] }[];
    };
    const entry = expired.clusters[0]?.secrets.find((s) => s.namespace === setup.namespaces.app);
    expect(entry?.state).toBe('expired');
    expect(entry?.secondsLeft).toBeLessThan(0);
  });

  it('unregister leaves nothing of cred-courier behind, schedules the kubeconfig for deletion and removes only its entry', async () => {
    // Prepare
    const setup = await prepare('a');
    await registerCluster(options(setup));
    await deliver(setup.file, setup.name);
    const c = setup.rigCluster;
    const secretId = `cred-courier/test/${setup.name}`;
    const before = readFileSync(setup.file, 'utf8');
    const admin = loadAdminKubeconfig(c.adminKubeconfigPath);
    const unregister = (dryRun: boolean) =>
      unregisterCluster({
        configFile: setup.file,
        cluster: setup.name,
        admin,
        keepRbac: false,
        dryRun,
        force: false,
        recoveryWindowDays: 7,
        kubeconfigs: { get: async (_c, id) => storedKubeconfig(id), invalidate: () => {} },
        secrets: secretsWriter(),
      });

    // Act
    const dry = await unregister(true);
    const namespaceAfterDry = await kubeRequest(
      c,
      c.adminToken,
      'GET',
      `/api/v1/namespaces/${setup.control}`,
    );
    const afterDry = readFileSync(setup.file, 'utf8');
    const secretAfterDry = await kubeRequest(
      c,
      c.adminToken,
      'GET',
      `/api/v1/namespaces/${setup.namespaces.app}/secrets/${ECR_SECRET}`,
    );
    const report = await unregister(false);
    const again = await unregisterCluster({
      configFile: setup.file,
      cluster: setup.name,
      keepRbac: true,
      dryRun: false,
      force: false,
      recoveryWindowDays: 7,
      kubeconfigs: { get: async (_c, id) => storedKubeconfig(id), invalidate: () => {} },
      secrets: secretsWriter(),
    });

    // Assess
    expect(dry.secrets.every((s) => s.action === 'would-delete')).toBe(true);
    expect(afterDry).toBe(before);
    expect(secretAfterDry.status).toBe(200);
    expect(
      namespaceAfterDry.json<{ metadata: { deletionTimestamp?: string } }>().metadata.deletionTimestamp,
    ).toBeUndefined();
    expect(report.ok).toBe(true);
    expect(report.secrets.map((s) => s.action)).toEqual(['deleted', 'deleted', 'deleted']);
    expect(report.inventory).toBe('deleted');
    const labelled = `labelSelector=${encodeURIComponent(`app.kubernetes.io/managed-by=cred-courier,cred-courier.io/cluster=${setup.name}`)}`;
    for (const path of [
      '/api/v1/secrets',
      '/apis/rbac.authorization.k8s.io/v1/roles',
      '/apis/rbac.authorization.k8s.io/v1/rolebindings',
      '/apis/rbac.authorization.k8s.io/v1/clusterroles',
      '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
      '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies',
      '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings',
      '/api/v1/serviceaccounts',
    ]) {
      const list = await kubeRequest(c, c.adminToken, 'GET', `${path}?${labelled}`);
      expect(list.json<{ items: unknown[] }>().items, path).toEqual([]);
    }
    for (const namespace of [setup.namespaces.app, setup.namespaces.data]) {
      const sa = await kubeRequest(
        c,
        c.adminToken,
        'GET',
        `/api/v1/namespaces/${namespace}/serviceaccounts/default`,
      );
      expect(sa.json<{ imagePullSecrets?: unknown[] }>().imagePullSecrets ?? []).toEqual([]);
    }
    await waitFor(
      'control namespace deletion',
      async () =>
        (await kubeRequest(c, c.adminToken, 'GET', `/api/v1/namespaces/${setup.control}`)).status === 404,
      60_000,
    );
    const described = await sm().send(new DescribeSecretCommand({ SecretId: secretId }));
    expect(described.DeletedDate).toBeInstanceOf(Date);
    const after = readFileSync(setup.file, 'utf8');
    // The entry, its comment and the blank line before it are gone; everything else is as written.
    expect(after).toBe(before.slice(0, before.indexOf('\n  # The cluster under test.')));
    // Running it again is a no-op.
    expect(again).toMatchObject({ ok: true, config: { action: 'absent' }, secrets: [], rbac: [] });
  });

  it('unregister --keep-rbac without the admin kubeconfig removes the Secrets, empties the inventory and keeps the RBAC', async () => {
    // Prepare
    const setup = await prepare('b');
    await registerCluster(options(setup));
    await deliver(setup.file, setup.name);
    const c = setup.rigCluster;

    // Act
    const report = await unregisterCluster({
      configFile: setup.file,
      cluster: setup.name,
      keepRbac: true,
      dryRun: false,
      force: false,
      recoveryWindowDays: 7,
      kubeconfigs: { get: async (_c, id) => storedKubeconfig(id), invalidate: () => {} },
      secrets: secretsWriter(),
    });

    // Assess
    expect(report.ok).toBe(true);
    expect(report.secrets.map((s) => s.action)).toEqual(['deleted', 'deleted', 'deleted']);
    expect(report.serviceAccounts.map((s) => s.action)).toEqual(['removed', 'removed']);
    expect(report.inventory).toBe('emptied');
    expect(report.rbac).toEqual([]);
    const inventory = await kubeRequest(
      c,
      c.adminToken,
      'GET',
      `/api/v1/namespaces/${setup.control}/configmaps/cred-courier-inventory`,
    );
    expect(inventory.json<{ data?: Record<string, string> }>().data ?? {}).toEqual({});
    const role = await kubeRequest(
      c,
      c.adminToken,
      'GET',
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${setup.namespaces.app}/roles/${objectName(setup.control)}`,
    );
    expect(role.status).toBe(200);
    expect(
      (await sm().send(new DescribeSecretCommand({ SecretId: `cred-courier/test/${setup.name}` })))
        .DeletedDate,
    ).toBeInstanceOf(Date);
    expect(readFileSync(setup.file, 'utf8')).not.toContain(setup.name);
  });
});
