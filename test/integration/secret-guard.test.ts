/**
 * The secret guard on the rig's real apiservers, tried with the delivery identity's own token (the one
 * `register` stores): every rule of the ValidatingAdmissionPolicy has a request here that the apiserver
 * refuses, delivery still works under it, and `register` stores nothing (and `check` fails) unless the
 * guard is in effect or the cluster explicitly opted out with exact namespace names.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { LABELS } from '../../src/kinds/metadata.ts';
import { checkClusters } from '../../src/register/check.ts';
import { objectName, rbacManifests } from '../../src/register/rbac.ts';
import { type RegisterOptions, registerCluster } from '../../src/register/register.ts';
import { waitForDefaultServiceAccounts } from '../faults/cluster.ts';
import { ensureNamespace } from '../rig/accounts.ts';
import { type KubeResponse, kubeRequest } from '../rig/kube-http.ts';
import type { RigCluster } from '../rig/rig.ts';
import { capturedRun, configOf } from './fixtures.ts';
import { cli, registerOptions, storedKubeconfig, tokenOf } from './register-support.ts';
import { rig, skipReason, theRig, uniqueName, useRigAws } from './rig-context.ts';

const ROLE = 'arn:aws:iam::123456789012:role/cred-courier-s3';
const ECR = 'ecr-pull';
const S3 = 'reports';
const MANAGED_BY = 'app.kubernetes.io/managed-by';
const MERGE = 'application/merge-patch+json';
const b64 = (text: string) => Buffer.from(text).toString('base64');
const DOCKER = { '.dockerconfigjson': b64('{"auths":{}}') };

/**
 * What a test records of a response: status and, when refused, the message. A ValidatingAdmissionPolicy
 * denial is a 422 whose message names the policy and the rule.
 */
const outcome = (response: KubeResponse) => ({
  status: response.status,
  message: response.status >= 400 ? (response.json<{ message?: string }>().message ?? '') : '',
});

describe.skipIf(!rig)(`the secret guard on the rig${rig ? '' : ` (skipped: ${skipReason})`}`, () => {
  useRigAws();
  const dir = mkdtempSync(join(tmpdir(), 'cred-courier-guard-'));
  const bucket = uniqueName('guard-reports');
  const c = () => theRig().clusters.a;
  const name = uniqueName('guard');
  const control = uniqueName('cc');
  // d1 receives deliveries; t1..t4, x1..x4 and blk are targets where each rule is tried on objects made for it.
  const ns = {
    d1: uniqueName('d1'),
    t1: uniqueName('t1'),
    t2: uniqueName('t2'),
    t3: uniqueName('t3'),
    t4: uniqueName('t4'),
    x1: uniqueName('x1'),
    x2: uniqueName('x2'),
    x3: uniqueName('x3'),
    x4: uniqueName('x4'),
    blk: uniqueName('blk'),
  };
  const secretId = `cred-courier/test/${name}`;
  let token = '';
  let policy = '';
  const entry = (namespaces: readonly string[], s3Namespaces: readonly string[]) => `settings:
  controlNamespace: ${control}
  clusterDeadlineSeconds: 30
clusters:
  - name: ${name}
    kubeconfigSecret: ${secretId}
    namespaces: { names: [${namespaces.join(', ')}] }
    ecr: { secretName: ${ECR}, registries: [{ region: eu-west-1 }], serviceAccounts: [default] }
    s3:
      - secretName: ${S3}
        roleArn: ${ROLE}
        region: eu-west-1
        namespaces: [${s3Namespaces.join(', ')}]
        buckets: [{ bucket: ${bucket}, access: read }]
`;
  /** A request made with the delivery identity's own token. */
  const asIdentity = (method: string, path: string, body?: unknown, type = 'application/json') =>
    kubeRequest(c(), token, method, path, body, type);
  const asAdmin = (method: string, path: string, body?: unknown, type = 'application/json') =>
    kubeRequest(c(), c().adminToken, method, path, body, type);
  const secretPath = (namespace: string, secret?: string) =>
    `/api/v1/namespaces/${namespace}/secrets${secret ? `/${secret}` : ''}`;

  beforeAll(async () => {
    await new S3Client({ forcePathStyle: true }).send(
      new CreateBucketCommand({
        Bucket: bucket,
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
      }),
    );
    for (const namespace of Object.values(ns)) await ensureNamespace(c(), namespace);
    await waitForDefaultServiceAccounts(c(), Object.values(ns));
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, entry(Object.values(ns), [ns.d1, ns.t1]));
    const report = await registerCluster(
      registerOptions({ configFile: file, cluster: name, adminKubeconfigPath: c().adminKubeconfigPath }),
    );
    if (!report.ok) throw new Error(`register failed: ${JSON.stringify(report.verification?.items)}`);
    token = tokenOf(await storedKubeconfig(secretId));
    policy = objectName(control, 'secret-guard');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('delivery still works under the guard: created, updated with other tools’ keys kept, the ServiceAccount entry added', async () => {
    // Prepare: delivery to d1 only, with the identity register stored.
    const config = configOf(entry([ns.d1], [ns.d1]));

    // Act
    const first = await capturedRun(config, { clusters: [name] });
    await asAdmin(
      'PATCH',
      secretPath(ns.d1, ECR),
      {
        metadata: {
          labels: { 'team.example/owner': 'web' },
          annotations: { 'argocd.argoproj.io/tracking-id': 'x' },
        },
      },
      MERGE,
    );
    const second = await capturedRun(config, { clusters: [name] });
    const secret = (await asAdmin('GET', secretPath(ns.d1, ECR))).json<{
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
    }>();
    const account = (await asAdmin('GET', `/api/v1/namespaces/${ns.d1}/serviceaccounts/default`)).json<{
      imagePullSecrets?: { name: string }[];
    }>();

    // Assess
    expect(first.result.ok).toBe(true);
    expect(first.result.clusters[0]?.secrets.map((s) => `${s.secretName}:${s.action}`).sort()).toEqual([
      `${ECR}:created`,
      `${S3}:created`,
    ]);
    expect(second.result.ok).toBe(true);
    expect(second.result.clusters[0]?.secrets.map((s) => `${s.secretName}:${s.action}`).sort()).toEqual([
      `${ECR}:updated`,
      `${S3}:updated`,
    ]);
    expect(secret.metadata.labels['team.example/owner']).toBe('web');
    expect(secret.metadata.annotations['argocd.argoproj.io/tracking-id']).toBe('x');
    expect(account.imagePullSecrets?.map((r) => r.name)).toContain(ECR);
  });

  it('(a) refuses an update that takes over a foreign Secret of a managed name, by merge patch or by server-side apply with force', async () => {
    // Prepare: someone else's pull Secret under cred-courier's name.
    await asAdmin('POST', secretPath(ns.t1), {
      metadata: { name: ECR, labels: { 'team.example/owner': 'web' } },
      type: 'kubernetes.io/dockerconfigjson',
      data: DOCKER,
    });

    // Act
    const merge = await asIdentity(
      'PATCH',
      secretPath(ns.t1, ECR),
      { metadata: { labels: { [MANAGED_BY]: 'cred-courier' } }, data: DOCKER },
      MERGE,
    );
    const apply = await asIdentity(
      'PATCH',
      `${secretPath(ns.t1, ECR)}?fieldManager=cred-courier&force=true`,
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: ECR, namespace: ns.t1, labels: { [MANAGED_BY]: 'cred-courier' } },
        type: 'kubernetes.io/dockerconfigjson',
        data: DOCKER,
      },
      'application/apply-patch+yaml',
    );
    const after = (await asAdmin('GET', secretPath(ns.t1, ECR))).json<{
      metadata: { labels: Record<string, string> };
    }>();

    // Assess
    for (const refused of [merge, apply]) {
      expect(outcome(refused)).toEqual({
        status: 422,
        message: expect.stringContaining(`${policy}`),
      });
      expect(refused.body).toContain('may only update Secrets that already carry');
    }
    expect(after.metadata.labels).toEqual({ 'team.example/owner': 'web' });
  });

  it("(a) refuses an update of another installation's Secret of a managed name", async () => {
    // Prepare: a Secret another installation (another control namespace) delivered here.
    await asAdmin('POST', secretPath(ns.t1), {
      metadata: {
        name: S3,
        labels: { [MANAGED_BY]: 'cred-courier', [LABELS.installation]: 'other-install' },
      },
      type: 'Opaque',
      data: { keep: b64('theirs') },
    });

    // Act
    const patched = await asIdentity('PATCH', secretPath(ns.t1, S3), { data: { keep: b64('mine') } }, MERGE);

    // Assess
    expect(outcome(patched)).toEqual({ status: 422, message: expect.stringContaining(policy) });
    expect(patched.body).toContain(`installation ${control} may only write its own Secrets`);
  });

  it("(b) refuses adding, changing or removing other tools' labels and annotations on its own Secret; its own keys may change", async () => {
    // Prepare: a Secret of cred-courier's (as delivery leaves it) that other tools also annotated.
    await asAdmin('POST', secretPath(ns.t2), {
      metadata: {
        name: ECR,
        labels: { [MANAGED_BY]: 'cred-courier', 'team.example/owner': 'web' },
        annotations: { 'team.example/note': 'kept' },
      },
      type: 'kubernetes.io/dockerconfigjson',
      data: DOCKER,
    });
    const attempts: [string, unknown][] = [
      ['add a label', { metadata: { labels: { 'policy.example/exempt': 'true' } } }],
      ['change a label', { metadata: { labels: { 'team.example/owner': 'attacker' } } }],
      ['remove a label', { metadata: { labels: { 'team.example/owner': null } } }],
      [
        'add an annotation',
        { metadata: { annotations: { 'reflector.v1.k8s.emberstack.com/reflection-allowed': 'true' } } },
      ],
      ['change an annotation', { metadata: { annotations: { 'team.example/note': 'changed' } } }],
      ['remove an annotation', { metadata: { annotations: { 'team.example/note': null } } }],
    ];

    // Act
    const refused = await Promise.all(
      attempts.map(
        async ([what, body]) =>
          [what, outcome(await asIdentity('PATCH', secretPath(ns.t2, ECR), body, MERGE))] as const,
      ),
    );
    const own = await asIdentity(
      'PATCH',
      secretPath(ns.t2, ECR),
      {
        metadata: { annotations: { 'cred-courier.io/issued-at': '2026-01-01T00:00:00.000Z' } },
        data: DOCKER,
      },
      MERGE,
    );
    const created = await asIdentity('POST', secretPath(ns.t3), {
      metadata: { name: ECR, labels: { [MANAGED_BY]: 'cred-courier', 'policy.example/exempt': 'true' } },
      type: 'kubernetes.io/dockerconfigjson',
      data: DOCKER,
    });

    // Assess
    expect(Object.fromEntries(refused)).toEqual(
      Object.fromEntries(
        attempts.map(([what]) => [
          what,
          {
            status: 422,
            message: expect.stringMatching(
              what.endsWith('label')
                ? /may set only its own labels; other labels stay as they were/
                : /may set only its own annotations; other annotations stay as they were/,
            ),
          },
        ]),
      ),
    );
    expect(outcome(own).status).toBe(200);
    expect(outcome(created)).toEqual({
      status: 422,
      message: expect.stringContaining('may set only its own labels'),
    });
  });

  it("(c) refuses a managed name with another kind's type, and a type change", async () => {
    // Act: the ECR name as Opaque (the S3 kind's type), then an owned Secret's type changed.
    const opaque = await asIdentity('POST', secretPath(ns.t4), {
      metadata: { name: ECR, labels: { [MANAGED_BY]: 'cred-courier' } },
      type: 'Opaque',
      data: { x: b64('y') },
    });
    const changed = await asIdentity('PATCH', secretPath(ns.t2, ECR), { type: 'Opaque' }, MERGE);

    // Assess
    expect(outcome(opaque)).toEqual({ status: 422, message: expect.stringContaining(policy) });
    expect(opaque.body).toContain("have their kind's type");
    // Kubernetes itself makes a Secret's type immutable (checked before admission); the guard repeats it.
    expect(outcome(changed)).toEqual({ status: 422, message: expect.stringContaining('field is immutable') });
  });

  it('(ServiceAccounts) refuses any change but adding or removing its own imagePullSecrets entry', async () => {
    // Prepare: a team's own entry on a ServiceAccount cred-courier may patch.
    const path = `/api/v1/namespaces/${ns.t3}/serviceaccounts/default`;
    await asAdmin('PATCH', path, { imagePullSecrets: [{ name: 'regcred' }] }, MERGE);
    const attempts: [string, unknown][] = [
      ['add a foreign entry', { imagePullSecrets: [{ name: 'regcred' }, { name: 'someone-elses' }] }],
      ['remove a foreign entry', { imagePullSecrets: [] }],
      ['replace a foreign entry', { imagePullSecrets: [{ name: ECR }] }],
      ['change automountServiceAccountToken', { automountServiceAccountToken: false }],
      ['add a mountable secret', { secrets: [{ name: 'someone-elses' }] }],
      ['add a label', { metadata: { labels: { 'policy.example/exempt': 'true' } } }],
    ];

    // Act
    const refused: [string, ReturnType<typeof outcome>][] = [];
    for (const [what, body] of attempts)
      refused.push([what, outcome(await asIdentity('PATCH', path, body, MERGE))]);
    const added = await asIdentity(
      'PATCH',
      path,
      { imagePullSecrets: [{ name: 'regcred' }, { name: ECR }] },
      MERGE,
    );
    const removed = await asIdentity('PATCH', path, { imagePullSecrets: [{ name: 'regcred' }] }, MERGE);
    const after = (await asAdmin('GET', path)).json<{ imagePullSecrets?: { name: string }[] }>();

    // Assess
    expect(Object.fromEntries(refused)).toEqual(
      Object.fromEntries(
        attempts.map(([what]) => [what, { status: 422, message: expect.stringContaining(policy) }]),
      ),
    );
    expect([outcome(added).status, outcome(removed).status]).toEqual([200, 200]);
    expect(after.imagePullSecrets).toEqual([{ name: 'regcred' }]);
  });

  it("with adoptExistingSecrets the guard lets delivery take over a foreign Secret of a managed name, keeping other tools' keys; another type stays refused", async () => {
    // Prepare: a cluster that opts into adoption, and someone else's Secrets under its names.
    const rigCluster = theRig().clusters.b;
    const adoptName = uniqueName('adopt');
    const adoptControl = uniqueName('cc');
    const target = uniqueName('ad');
    const opaqueTarget = uniqueName('ao');
    for (const namespace of [target, opaqueTarget]) await ensureNamespace(rigCluster, namespace);
    await waitForDefaultServiceAccounts(rigCluster, [target, opaqueTarget]);
    const text = `settings: { controlNamespace: ${adoptControl}, clusterDeadlineSeconds: 30 }\nclusters:\n  - name: ${adoptName}\n    kubeconfigSecret: cred-courier/test/${adoptName}\n    namespaces: { names: [${target}] }\n    ecr: { secretName: ${ECR}, registries: [{ region: eu-west-1 }] }\n    adoptExistingSecrets: true\n`;
    const file = join(dir, `${adoptName}.yaml`);
    writeFileSync(file, text.replace(`names: [${target}]`, `names: [${target}, ${opaqueTarget}]`));
    const report = await registerCluster(
      registerOptions(
        { configFile: file, cluster: adoptName, adminKubeconfigPath: rigCluster.adminKubeconfigPath },
        { token: { kind: 'token-request', seconds: 3600 } },
      ),
    );
    const admin = (method: string, path: string, body?: unknown) =>
      kubeRequest(rigCluster, rigCluster.adminToken, method, path, body);
    await admin('POST', secretPath(target), {
      metadata: {
        name: ECR,
        labels: { 'team.example/owner': 'web' },
        annotations: { 'team.example/note': 'kept' },
      },
      type: 'kubernetes.io/dockerconfigjson',
      data: DOCKER,
    });
    await admin('POST', secretPath(opaqueTarget), {
      metadata: { name: ECR },
      type: 'Opaque',
      data: { keep: b64('me') },
    });

    // Act: delivery (server-side apply with force) into both namespaces.
    const run = await capturedRun(
      configOf(text.replace(`names: [${target}]`, `names: [${target}, ${opaqueTarget}]`)),
      {
        clusters: [adoptName],
      },
    );
    const adopted = (await admin('GET', secretPath(target, ECR))).json<{
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
    }>();
    const opaque = (await admin('GET', secretPath(opaqueTarget, ECR))).json<{
      type: string;
      data: Record<string, string>;
    }>();

    // Assess
    expect(report.ok).toBe(true);
    const actions = Object.fromEntries(
      (run.result.clusters[0]?.secrets ?? []).map((s) => [
        s.namespace,
        s.action ?? `failed: ${s.failure?.message}`,
      ]),
    );
    expect(actions[target]).toBe('adopted');
    expect(actions[opaqueTarget]).toMatch(/^failed: .*(secret-guard|immutable)/);
    expect(adopted.metadata.labels).toMatchObject({
      [MANAGED_BY]: 'cred-courier',
      'team.example/owner': 'web',
    });
    expect(adopted.metadata.annotations['team.example/note']).toBe('kept');
    expect(opaque).toMatchObject({ type: 'Opaque', data: { keep: b64('me') } });
  });

  it("(e) refuses deleting a Secret of a managed name that is not this installation's (a team's, another installation's, another cluster's); its own, also one from before installation labels, it deletes", async () => {
    // Prepare: four pull Secrets under cred-courier's name, made by someone else with these labels.
    const made = async (namespace: string, labels: Record<string, string>) =>
      (
        await asAdmin('POST', secretPath(namespace), {
          metadata: { name: ECR, labels },
          type: 'kubernetes.io/dockerconfigjson',
          data: DOCKER,
        })
      ).json<{ metadata: { uid: string; resourceVersion: string } }>().metadata;
    const foreign: [string, string, Record<string, string>][] = [
      ["a team's", ns.x1, { 'team.example/owner': 'web' }],
      [
        "another installation's",
        ns.x2,
        { [MANAGED_BY]: 'cred-courier', [LABELS.installation]: 'other-install', [LABELS.cluster]: name },
      ],
      [
        "another cluster's",
        ns.x3,
        { [MANAGED_BY]: 'cred-courier', [LABELS.installation]: control, [LABELS.cluster]: 'another-cluster' },
      ],
    ];
    for (const [, namespace, labels] of foreign) await made(namespace, labels);
    const own = await made(ns.x4, { [MANAGED_BY]: 'cred-courier', [LABELS.cluster]: name });

    // Act: deletes with the identity's token, the own one with preconditions as prune sends them.
    const refused: [string, ReturnType<typeof outcome>][] = [];
    for (const [what, namespace] of foreign)
      refused.push([what, outcome(await asIdentity('DELETE', secretPath(namespace, ECR)))]);
    const deleted = await asIdentity('DELETE', secretPath(ns.x4, ECR), {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      preconditions: { uid: own.uid, resourceVersion: own.resourceVersion },
    });
    const left = await Promise.all(
      [ns.x1, ns.x2, ns.x3, ns.x4].map(
        async (namespace) => (await asAdmin('GET', secretPath(namespace, ECR))).status,
      ),
    );

    // Assess
    expect(Object.fromEntries(refused)).toEqual(
      Object.fromEntries(
        foreign.map(([what]) => [
          what,
          {
            status: 422,
            message: expect.stringMatching(new RegExp(`${policy}.*may only delete its own Secrets`)),
          },
        ]),
      ),
    );
    expect(outcome(deleted).status).toBe(200);
    expect(left).toEqual([200, 200, 200, 404]);
  });

  it('(f) refuses setting finalizers, ownerReferences or immutable on its own Secret, or creating one with them', async () => {
    // Prepare: a Secret of cred-courier's, as delivery leaves it.
    await asAdmin('POST', secretPath(ns.blk), {
      metadata: { name: ECR, labels: { [MANAGED_BY]: 'cred-courier', [LABELS.installation]: control } },
      type: 'kubernetes.io/dockerconfigjson',
      data: DOCKER,
    });
    const attempts: [string, Record<string, unknown>][] = [
      ['a finalizer', { metadata: { finalizers: ['example.com/hold'] } }],
      [
        'an ownerReference',
        {
          metadata: {
            ownerReferences: [
              {
                apiVersion: 'v1',
                kind: 'ConfigMap',
                name: 'owner',
                uid: '6b0c2a1e-0000-4000-8000-000000000001',
              },
            ],
          },
        },
      ],
      ['immutable', { immutable: true }],
    ];

    // Act: each patched onto the Secret, and each on a new Secret (a server-side dry run).
    const refused: [string, ReturnType<typeof outcome>][] = [];
    for (const [what, body] of attempts) {
      refused.push([
        `patch ${what}`,
        outcome(await asIdentity('PATCH', secretPath(ns.blk, ECR), body, MERGE)),
      ]);
      const metadata = { name: ECR, labels: { [MANAGED_BY]: 'cred-courier' }, ...(body.metadata ?? {}) };
      refused.push([
        `create with ${what}`,
        outcome(
          await asIdentity('POST', `${secretPath(ns.t4)}?dryRun=All`, {
            ...body,
            metadata,
            type: 'kubernetes.io/dockerconfigjson',
            data: DOCKER,
          }),
        ),
      ]);
    }
    const data = await asIdentity('PATCH', secretPath(ns.blk, ECR), { data: DOCKER }, MERGE);
    const after = (await asAdmin('GET', secretPath(ns.blk, ECR))).json<{
      immutable?: boolean;
      metadata: { finalizers?: string[]; ownerReferences?: unknown[] };
    }>();

    // Assess
    const message = expect.stringMatching(
      new RegExp(`${policy}.*never sets or changes finalizers, ownerReferences or immutable`),
    );
    expect(Object.fromEntries(refused)).toEqual(
      Object.fromEntries(refused.map(([what]) => [what, { status: 422, message }])),
    );
    expect(refused).toHaveLength(6);
    expect(outcome(data).status).toBe(200);
    expect({
      finalizers: after.metadata.finalizers,
      ownerReferences: after.metadata.ownerReferences,
      immutable: after.immutable,
    }).toEqual({ finalizers: undefined, ownerReferences: undefined, immutable: undefined });
  });

  it('(g) a glob and selector cluster writes only where its entry selects (glob, selector operators, exclude), each name only where it is delivered; delivery works there', async () => {
    // Prepare: a cluster selecting by glob and by namespace labels, and namespaces in and out of it.
    const rigCluster = theRig().clusters.b;
    const prefix = uniqueName('gs');
    const key = uniqueName('sel');
    const globName = uniqueName('selguard');
    const globControl = uniqueName('cc');
    const pull = uniqueName('gpull');
    const data = uniqueName('gdata');
    const selected = { glob: `${prefix}-one`, grant: `${prefix}-data`, labelled: `${key}-a` };
    const outside: [string, Record<string, string>][] = [
      [`${prefix}-old1`, {}], // matches the glob but is excluded
      [`${key}-skip`, { [key]: 'yes', [`${key}-skip`]: 'true' }], // fails !key-skip
      [`${key}-frozen`, { [key]: 'on', [`${key}-tier`]: 'frozen' }], // fails key-tier!=frozen
      [`${key}-no`, { [key]: 'no' }], // fails key in (on,yes)
      [`${key}-none`, {}], // no label, no glob
    ];
    await ensureNamespace(rigCluster, selected.glob);
    await ensureNamespace(rigCluster, selected.grant);
    await ensureNamespace(rigCluster, selected.labelled, { [key]: 'yes', [`${key}-tier`]: 'hot' });
    for (const [namespace, labels] of outside) await ensureNamespace(rigCluster, namespace, labels);
    await waitForDefaultServiceAccounts(rigCluster, [...Object.values(selected), ...outside.map(([n]) => n)]);
    const text = `settings: { controlNamespace: ${globControl}, clusterDeadlineSeconds: 30 }
clusters:
  - name: ${globName}
    kubeconfigSecret: cred-courier/test/${globName}
    namespaces:
      names: ["${prefix}-*"]
      selector: "${key} in (on,yes),!${key}-skip,${key}-tier!=frozen"
      exclude: ["${prefix}-old*"]
    ecr: { secretName: ${pull}, registries: [{ region: eu-west-1 }], serviceAccounts: [default] }
    s3:
      - secretName: ${data}
        roleArn: ${ROLE}
        region: eu-west-1
        namespaces: [${selected.grant}]
        buckets: [{ bucket: ${bucket}, access: read }]
`;
    const file = join(dir, `${globName}.yaml`);
    writeFileSync(file, text);
    const report = await registerCluster(
      registerOptions(
        { configFile: file, cluster: globName, adminKubeconfigPath: rigCluster.adminKubeconfigPath },
        { token: { kind: 'token-request', seconds: 3600 } },
      ),
    );
    const globToken = tokenOf(await storedKubeconfig(`cred-courier/test/${globName}`));
    const pullSecret = (namespace: string) => ({
      metadata: { name: pull, namespace, labels: { [MANAGED_BY]: 'cred-courier' } },
      type: 'kubernetes.io/dockerconfigjson',
      data: DOCKER,
    });
    const dryRunCreate = async (namespace: string, body: unknown) =>
      outcome(await kubeRequest(rigCluster, globToken, 'POST', `${secretPath(namespace)}?dryRun=All`, body));

    // Act: delivery; then, as the identity, a correct pull Secret (dry run) where the entry does not
    // deliver, the S3 grant's Secret outside its own namespace, and its pull entry on a ServiceAccount there.
    const run = await capturedRun(configOf(text), { clusters: [globName] });
    const refused: [string, ReturnType<typeof outcome>][] = [];
    for (const namespace of [...outside.map(([n]) => n), globControl])
      refused.push([namespace, await dryRunCreate(namespace, pullSecret(namespace))]);
    const misplaced = await dryRunCreate(selected.glob, {
      metadata: { name: data, labels: { [MANAGED_BY]: 'cred-courier' } },
      type: 'Opaque',
      data: { x: b64('y') },
    });
    const account = outcome(
      await kubeRequest(
        rigCluster,
        globToken,
        'PATCH',
        `/api/v1/namespaces/${key}-no/serviceaccounts/default?dryRun=All`,
        { imagePullSecrets: [{ name: pull }] },
        MERGE,
      ),
    );

    // Assess
    const guardName = objectName(globControl, 'secret-guard');
    expect(report.ok).toBe(true);
    expect(run.result.ok).toBe(true);
    expect(
      (run.result.clusters[0]?.secrets ?? []).map((s) => `${s.namespace}/${s.secretName}:${s.action}`).sort(),
    ).toEqual(
      [
        `${selected.glob}/${pull}:created`,
        `${selected.grant}/${pull}:created`,
        `${selected.grant}/${data}:created`,
        `${selected.labelled}/${pull}:created`,
      ].sort(),
    );
    const onlyWhereDelivered = expect.stringMatching(
      new RegExp(`${guardName}.*writes each Secret only in the namespaces its cluster entry delivers it to`),
    );
    expect(Object.fromEntries(refused)).toEqual(
      Object.fromEntries(
        refused.map(([namespace]) => [namespace, { status: 422, message: onlyWhereDelivered }]),
      ),
    );
    expect(misplaced).toEqual({ status: 422, message: onlyWhereDelivered });
    expect(account).toEqual({
      status: 422,
      message: expect.stringContaining('may only add (in the namespaces its cluster entry selects)'),
    });
  });

  it('(d) refuses writes in kube-system, kube-public and kube-node-lease for a cluster that does not name them (globs: a cluster-wide role)', async () => {
    // Prepare: a glob cluster, whose delivery role is bound cluster-wide.
    const rigCluster = theRig().clusters.b;
    const prefix = uniqueName('gg');
    await ensureNamespace(rigCluster, `${prefix}-one`);
    const globName = uniqueName('globguard');
    const globControl = uniqueName('cc');
    const pull = uniqueName('guard-pull');
    const file = join(dir, `${globName}.yaml`);
    writeFileSync(
      file,
      `settings: { controlNamespace: ${globControl} }\nclusters:\n  - name: ${globName}\n    kubeconfigSecret: cred-courier/test/${globName}\n    namespaces: { names: ["${prefix}-*"] }\n    ecr: { secretName: ${pull}, registries: [{ region: eu-west-1 }] }\n`,
    );
    const report = await registerCluster(
      registerOptions(
        { configFile: file, cluster: globName, adminKubeconfigPath: rigCluster.adminKubeconfigPath },
        { token: { kind: 'token-request', seconds: 3600 } },
      ),
    );
    const globToken = tokenOf(await storedKubeconfig(`cred-courier/test/${globName}`));

    // Act: a correct pull Secret (name, type, label), as a server-side dry run: nothing is persisted.
    const attempts = await Promise.all(
      ['kube-system', 'kube-public', 'kube-node-lease'].map(
        async (namespace) =>
          [
            namespace,
            outcome(
              await kubeRequest(
                rigCluster,
                globToken,
                'POST',
                `/api/v1/namespaces/${namespace}/secrets?dryRun=All`,
                {
                  metadata: { name: pull, labels: { [MANAGED_BY]: 'cred-courier' } },
                  type: 'kubernetes.io/dockerconfigjson',
                  data: DOCKER,
                },
              ),
            ),
          ] as const,
      ),
    );
    const inTarget = await kubeRequest(
      rigCluster,
      globToken,
      'POST',
      `/api/v1/namespaces/${prefix}-one/secrets?dryRun=All`,
      {
        metadata: { name: pull, labels: { [MANAGED_BY]: 'cred-courier' } },
        type: 'kubernetes.io/dockerconfigjson',
        data: DOCKER,
      },
    );

    // Assess
    expect(report.ok).toBe(true);
    expect(Object.fromEntries(attempts)).toEqual({
      'kube-system': {
        status: 422,
        message: expect.stringContaining('does not write in kube-node-lease, kube-public, kube-system'),
      },
      'kube-public': {
        status: 422,
        message: expect.stringContaining('does not write in kube-node-lease, kube-public, kube-system'),
      },
      'kube-node-lease': {
        status: 422,
        message: expect.stringContaining('does not write in kube-node-lease, kube-public, kube-system'),
      },
    });
    expect(outcome(inTarget).status).toBe(201);
  });
});

describe.skipIf(!rig)(`guard or nothing on the rig${rig ? '' : ` (skipped: ${skipReason})`}`, () => {
  useRigAws();
  const dir = mkdtempSync(join(tmpdir(), 'cred-courier-guard-or-nothing-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * A cluster whose RBAC is applied by hand without the secret guard (as on a cluster that cannot have
   * one): everything else `cred-courier rbac` prints, as the admin.
   */
  async function clusterWithoutGuard(rigCluster: RigCluster, names: string) {
    const name = uniqueName('noguard');
    const control = uniqueName('cc');
    const app = uniqueName('app');
    await ensureNamespace(rigCluster, app);
    const file = join(dir, `${name}.yaml`);
    const text = `settings:\n  controlNamespace: ${control}\n  clusterDeadlineSeconds: 30\nclusters:\n  - name: ${name}\n    kubeconfigSecret: cred-courier/test/${name}\n    namespaces: { names: [${names.replace('APP', app)}] }\n    ecr: { secretName: ${ECR}, registries: [{ region: eu-west-1 }] }\n`;
    writeFileSync(file, text);
    const spec = (await loadConfig(file)).clusters[0];
    if (!spec) throw new Error('no cluster');
    for (const manifest of rbacManifests(spec, { controlNamespace: control })) {
      if (manifest.kind.startsWith('ValidatingAdmissionPolicy')) continue;
      const group = manifest.apiVersion === 'v1' ? '/api/v1' : `/apis/${manifest.apiVersion}`;
      const kind = manifest.kind.toLowerCase();
      const where = manifest.metadata.namespace ? `/namespaces/${manifest.metadata.namespace}` : '';
      const created = await kubeRequest(
        rigCluster,
        rigCluster.adminToken,
        'POST',
        `${group}${where}/${kind}s`,
        manifest,
      );
      if (created.status !== 201) throw new Error(`${manifest.kind}: ${created.status} ${created.body}`);
    }
    return { name, control, app, file, text, secretId: `cred-courier/test/${name}` };
  }

  /** `register` of a cluster `clusterWithoutGuard` prepared: its RBAC is in place already, none is applied. */
  const optionsKeepingRbac = (
    rigCluster: RigCluster,
    setup: { name: string; file: string },
    extra: Partial<RegisterOptions> = {},
  ): RegisterOptions =>
    registerOptions(
      { configFile: setup.file, cluster: setup.name, adminKubeconfigPath: rigCluster.adminKubeconfigPath },
      { rbac: 'skip', token: { kind: 'token-request', seconds: 3600 }, settleMs: 2000, ...extra },
    );

  /** `cred-courier register --without-secret-guard` of a cluster `clusterWithoutGuard` prepared. */
  const registerWithoutGuardByCli = (rigCluster: RigCluster, setup: { name: string; file: string }) =>
    cli([
      'register',
      setup.name,
      '--kubeconfig',
      rigCluster.adminKubeconfigPath,
      '--rbac',
      'skip',
      '-c',
      setup.file,
      '--without-secret-guard',
    ]);

  it('register stores no kubeconfig when the secret guard is not in effect (exact names and globs), and says what to do', async () => {
    // Prepare
    const rigCluster = theRig().clusters.a;
    const exact = await clusterWithoutGuard(rigCluster, 'APP');
    const globbed = await clusterWithoutGuard(rigCluster, '"APP*"');

    // Act
    const reports = [
      await registerCluster(optionsKeepingRbac(rigCluster, exact)),
      await registerCluster(optionsKeepingRbac(rigCluster, globbed)),
    ];

    // Assess
    for (const [report, setup] of [
      [reports[0], exact],
      [reports[1], globbed],
    ] as const) {
      expect({ ok: report?.ok, stored: report?.kubeconfigSecret.action }).toEqual({
        ok: false,
        stored: 'not-stored',
      });
      const guard = report?.verification?.items.find((i) => i.check === 'secret-guard');
      expect(guard?.status).toBe('fail');
      expect(guard?.detail).toMatch(/NOT IN EFFECT: .*apply the secret guard .*--without-secret-guard/);
      expect(readFileSync(setup.file, 'utf8')).toBe(setup.text);
      await expect(storedKubeconfig(setup.secretId)).rejects.toThrow(/ResourceNotFound|can't find/i);
    }
  });

  it('--without-secret-guard: exact names store, record secretGuard: false and say so; check accepts it; without the flag register fails again', async () => {
    // Prepare
    const rigCluster = theRig().clusters.b;
    const setup = await clusterWithoutGuard(rigCluster, 'APP');

    // Act
    const registered = await registerWithoutGuardByCli(rigCluster, setup);
    const written = readFileSync(setup.file, 'utf8');
    const stored = await storedKubeconfig(setup.secretId);
    const check = await cli(['check', setup.name, '-c', setup.file]);
    const again = await registerCluster(optionsKeepingRbac(rigCluster, setup, { rotate: true }));

    // Assess
    expect(registered.code).toBe(0);
    expect(registered.stdout).toContain('REGISTERED WITHOUT THE SECRET GUARD');
    // The verdict closes the report; where it was stored and what to deploy follow it.
    expect(registered.stdout).toMatch(
      /ok, WITHOUT THE SECRET GUARD\n {2}stored in {3}\S+ \(region [a-z0-9-]+[^)]*\)\n/,
    );
    expect(written).toContain('secretGuard: false');
    expect(tokenOf(stored)).not.toBe('');
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(
      /! secret-guard: NOT IN EFFECT.*accepted: the entry sets secretGuard: false/,
    );
    expect(again.ok).toBe(false);
    expect(again.kubeconfigSecret.action).toBe('not-stored');
    expect(readFileSync(setup.file, 'utf8')).toBe(written);
  });

  it('--without-secret-guard for a cluster selecting namespaces by glob is a usage error naming the cluster', async () => {
    // Prepare
    const rigCluster = theRig().clusters.b;
    const setup = await clusterWithoutGuard(rigCluster, '"APP*"');

    // Act
    const result = await registerWithoutGuardByCli(rigCluster, setup);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `register ${setup.name}: --without-secret-guard is allowed only for a cluster whose namespaces are exact names`,
    );
    expect(result.stderr).toContain(`selects namespaces by glob ${setup.app}*`);
    expect(readFileSync(setup.file, 'utf8')).toBe(setup.text);
    await expect(storedKubeconfig(setup.secretId)).rejects.toThrow(/ResourceNotFound|can't find/i);
  });

  it('a delivery run warns, in the cluster result and the log, on every run, for a cluster registered without the secret guard', async () => {
    // Prepare
    const rigCluster = theRig().clusters.a;
    const setup = await clusterWithoutGuard(rigCluster, 'APP');
    const registered = await registerWithoutGuardByCli(rigCluster, setup);
    const config = configOf(readFileSync(setup.file, 'utf8'));

    // Act: two runs.
    const runs = [
      await capturedRun(config, { clusters: [setup.name] }),
      await capturedRun(config, { clusters: [setup.name] }),
    ];

    // Assess
    expect(registered.code).toBe(0);
    const warning = 'registered without the secret guard (secretGuard: false)';
    for (const run of runs) {
      expect(run.result.clusters[0]?.ok).toBe(true);
      expect(run.result.clusters[0]?.warnings).toContainEqual(expect.stringContaining(warning));
      expect(run.lines.filter((line) => line.includes(warning))).toHaveLength(1);
      expect(run.lines.find((line) => line.includes(warning))).toMatch(/"level":"WARN".*"cluster":/i);
    }
  });

  it('check fails (exit 1) once the guard of a registered cluster is no longer in effect', async () => {
    // Prepare: a normal registration, then the guard's binding removed by someone with admin rights.
    const rigCluster = theRig().clusters.a;
    const name = uniqueName('lost');
    const control = uniqueName('cc');
    const app = uniqueName('app');
    await ensureNamespace(rigCluster, app);
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      `settings: { controlNamespace: ${control} }\nclusters:\n  - name: ${name}\n    kubeconfigSecret: cred-courier/test/${name}\n    namespaces: { names: [${app}] }\n    ecr: { secretName: ${ECR}, registries: [{ region: eu-west-1 }] }\n`,
    );
    const registered = await registerCluster({
      ...optionsKeepingRbac(rigCluster, { name, file }),
      rbac: 'apply',
      token: { kind: 'token-request', seconds: 30 * 24 * 3600 },
      settleMs: 15_000,
    });
    await kubeRequest(
      rigCluster,
      rigCluster.adminToken,
      'DELETE',
      `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/${objectName(control, 'secret-guard')}`,
    );
    const kubeconfigs = { get: async (_c: string, id: string) => storedKubeconfig(id), invalidate: () => {} };
    const config = await loadConfig(file);

    // Act: the apiserver takes a moment to stop enforcing a deleted binding.
    const guardOf = (checked: Awaited<ReturnType<typeof checkClusters>>) =>
      checked.clusters[0]?.items.find((i) => i.check === 'secret-guard');
    let report = await checkClusters({ config, kubeconfigs });
    for (let i = 0; i < 20 && guardOf(report)?.status === 'ok'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      report = await checkClusters({ config, kubeconfigs });
    }
    const result = await cli(['check', name, '-c', file]);

    // Assess
    expect(registered.ok).toBe(true);
    expect(guardOf(report)).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/^NOT IN EFFECT: /),
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/✗ secret-guard: NOT IN EFFECT/);
  });
});
