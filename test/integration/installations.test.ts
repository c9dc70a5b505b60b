/**
 * Installation identity, tampered inventories and check-then-act races, on the rig's real apiservers
 * (every refusal below is the apiserver's, never a stand-in):
 *
 * - two installations (two control namespaces) registered to one cluster under the same cluster name
 *   each unregister cleanly without touching the other's objects;
 * - an inventory rewritten by the delivery identity (which may `update` it) with `..`, `/`, `ns/..`,
 *   foreign namespaces and foreign Secret names leads to no request outside the managed names, and
 *   nothing foreign is deleted;
 * - a team's own Secret of the managed name keeps its ServiceAccount reference through `unregister`;
 * - an object that changes hands between the read that proved it cred-courier's and the delete is
 *   refused by the apiserver (delete preconditions) and survives: prune, the token Secret, a RoleBinding
 *   whose roleRef changes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoreV1Api, KubernetesObjectApi } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { createKubeApis } from '../../src/kube/apis.ts';
import { applyObject } from '../../src/kube/apply.ts';
import { INVENTORY_NAME } from '../../src/kube/inventory.ts';
import { deleteTokenSecret } from '../../src/kube/tokens.ts';
import { loadAdminKubeconfig } from '../../src/register/admin.ts';
import { objectName } from '../../src/register/rbac.ts';
import { type RegisterOptions, registerCluster } from '../../src/register/register.ts';
import { unregisterCluster } from '../../src/register/unregister.ts';
import { pullSecretNames, readSecretState, waitForDefaultServiceAccounts } from '../faults/cluster.ts';
import { ensureNamespace, ensureObject } from '../rig/accounts.ts';
import { kubeRequest } from '../rig/kube-http.ts';
import { type RigCluster, waitFor } from '../rig/rig.ts';
import { capturedRun } from './fixtures.ts';
import { registerOptions, secretsWriter, storedKubeconfig, tokenOf } from './register-support.ts';
import { rig, skipReason, theRig, uniqueName, useRigAws } from './rig-context.ts';

const MANAGED_BY = 'app.kubernetes.io/managed-by';
const CLUSTER_LABEL = 'cred-courier.io/cluster';
const INSTALLATION = 'cred-courier.io/installation';
const KIND_LABEL = 'cred-courier.io/kind';
const RBAC = '/apis/rbac.authorization.k8s.io/v1';
const ADMISSION = '/apis/admissionregistration.k8s.io/v1';

interface Installation {
  readonly name: string;
  readonly control: string;
  readonly secretName: string;
  readonly namespaces: readonly string[];
  readonly file: string;
  readonly secretId: string;
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

/** A team's own Secret (or any object given), made by the admin. */
async function adminPost(cluster: RigCluster, path: string, body: unknown): Promise<void> {
  const response = await kubeRequest(cluster, cluster.adminToken, 'POST', path, body);
  if (response.status !== 201) throw new Error(`POST ${path}: ${response.status} ${response.body}`);
}

async function status(cluster: RigCluster, path: string): Promise<number> {
  return (await kubeRequest(cluster, cluster.adminToken, 'GET', path)).status;
}

/** Whether the object exists and is not being deleted. */
async function alive(cluster: RigCluster, path: string): Promise<boolean> {
  const response = await kubeRequest(cluster, cluster.adminToken, 'GET', path);
  if (response.status !== 200) return false;
  return !response.json<{ metadata: { deletionTimestamp?: string } }>().metadata.deletionTimestamp;
}

describe.skipIf(!rig)(`installations and races on the rig${rig ? '' : ` (skipped: ${skipReason})`}`, () => {
  useRigAws();
  const dir = mkdtempSync(join(tmpdir(), 'cred-courier-installations-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function writeInstallation(
    name: string,
    control: string,
    secretName: string,
    namespaces: readonly string[],
    extra = '',
  ): Installation {
    const secretId = `cred-courier/test/${control}/${name}`;
    const file = join(dir, `${control}.yaml`);
    writeFileSync(
      file,
      `settings:
  controlNamespace: ${control}
  clusterDeadlineSeconds: 30
clusters:
  - name: ${name}
    kubeconfigSecret: ${secretId}
    namespaces: { names: [${namespaces.join(', ')}] }
    ecr: { secretName: ${secretName}, registries: [{ region: eu-west-1 }] }
${extra}`,
    );
    return { name, control, secretName, namespaces, file, secretId };
  }

  function registerOptionsFor(cluster: RigCluster, installation: Installation): RegisterOptions {
    return registerOptions({
      configFile: installation.file,
      cluster: installation.name,
      adminKubeconfigPath: cluster.adminKubeconfigPath,
    });
  }

  async function registered(cluster: RigCluster, installation: Installation): Promise<void> {
    const report = await registerCluster(registerOptionsFor(cluster, installation));
    if (!report.ok) throw new Error(`register ${installation.control}: ${JSON.stringify(report)}`);
  }

  function unregister(
    cluster: RigCluster,
    installation: Installation,
    onKubeRequest?: (identity: 'delivery' | 'admin', method: string, path: string) => void,
  ) {
    return unregisterCluster({
      configFile: installation.file,
      cluster: installation.name,
      admin: loadAdminKubeconfig(cluster.adminKubeconfigPath),
      keepRbac: false,
      dryRun: false,
      force: false,
      recoveryWindowDays: 7,
      kubeconfigs: { get: async (_c, id) => storedKubeconfig(id), invalidate: () => {} },
      secrets: secretsWriter(),
      ...(onKubeRequest ? { onKubeRequest } : {}),
    });
  }

  /** Every object an installation creates, as admin paths. */
  function objectsOf(installation: Installation): string[] {
    const name = objectName(installation.control);
    const guard = objectName(installation.control, 'secret-guard');
    return [
      ...[installation.control, ...installation.namespaces].flatMap((ns) => [
        `${RBAC}/namespaces/${ns}/roles/${name}`,
        `${RBAC}/namespaces/${ns}/rolebindings/${name}`,
      ]),
      `${ADMISSION}/validatingadmissionpolicies/${guard}`,
      `${ADMISSION}/validatingadmissionpolicybindings/${guard}`,
      `/api/v1/namespaces/${installation.control}/serviceaccounts/cred-courier`,
      `/api/v1/namespaces/${installation.control}/configmaps/${INVENTORY_NAME}`,
      ...installation.namespaces.map((ns) => `/api/v1/namespaces/${ns}/secrets/${installation.secretName}`),
      `/api/v1/namespaces/${installation.control}`,
    ];
  }

  it('two installations registered to one cluster under the same cluster name each unregister without touching the other', async () => {
    // Prepare
    const c = theRig().clusters.a;
    const app = uniqueName('inst-app');
    await ensureNamespace(c, app);
    await waitForDefaultServiceAccounts(c, [app]);
    const name = uniqueName('shared');
    const first = writeInstallation(name, uniqueName('cc-one'), 'pull-one', [app]);
    const second = writeInstallation(name, uniqueName('cc-other'), 'pull-other', [app]);
    await registered(c, first);
    await registered(c, second);
    const firstRun = await capturedRun(await loadConfig(first.file));
    const secondRun = await capturedRun(await loadConfig(second.file));

    const role = await kubeRequest(c, c.adminToken, 'GET', objectsOf(second)[0] ?? '');

    // Act
    const firstGone = await unregister(c, first);
    const afterFirst = await Promise.all(objectsOf(second).map((path) => alive(c, path)));
    const secondReferences = await pullSecretNames(c, app, 'default');
    const secondGone = await unregister(c, second);

    // Assess
    expect(
      Object.fromEntries(objectsOf(second).map((path, i) => [path, afterFirst[i]])),
      "the other installation's objects after the first unregistered",
    ).toEqual(Object.fromEntries(objectsOf(second).map((path) => [path, true])));
    expect(firstRun.result.ok).toBe(true);
    expect(secondRun.result.ok).toBe(true);
    expect(role.status).toBe(200);
    expect(role.json<{ metadata: { labels: Record<string, string> } }>().metadata.labels).toMatchObject({
      [MANAGED_BY]: 'cred-courier',
      [CLUSTER_LABEL]: name,
      [INSTALLATION]: second.control,
    });
    expect(firstGone.ok).toBe(true);
    expect(firstGone.rbac.filter((r) => r.object.includes(second.control))).toEqual([]);
    expect(secondReferences).toContain(second.secretName);
    expect(secondReferences).not.toContain(first.secretName);
    expect(secondGone.ok).toBe(true);
    for (const path of objectsOf(second).slice(0, -1)) expect(await status(c, path), path).toBe(404);
    expect(await pullSecretNames(c, app, 'default')).not.toContain(second.secretName);
  });

  it('a tampered inventory is data: no request leaves the managed names, nothing foreign is touched, not even as admin', async () => {
    // Prepare
    const c = theRig().clusters.b;
    const app = uniqueName('tamper-app');
    const victim = uniqueName('victim');
    await ensureNamespace(c, app);
    await waitForDefaultServiceAccounts(c, [app]);
    const installation = writeInstallation(uniqueName('tamper'), uniqueName('cc-tamper'), 'ecr-pull', [app]);
    // Another installation's control namespace of the same cluster name, and its Secret of our name.
    await ensureNamespace(c, victim, {
      [MANAGED_BY]: 'cred-courier',
      [CLUSTER_LABEL]: installation.name,
      [INSTALLATION]: victim,
    });
    const foreign = {
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': b64('{"auths":{}}') },
    };
    await adminPost(c, `/api/v1/namespaces/${victim}/secrets`, {
      metadata: {
        name: 'ecr-pull',
        labels: { [MANAGED_BY]: 'cred-courier', [CLUSTER_LABEL]: installation.name, [INSTALLATION]: victim },
      },
      ...foreign,
    });
    await adminPost(c, `/api/v1/namespaces/${app}/secrets`, { metadata: { name: 'team-db' }, ...foreign });
    await adminPost(c, '/api/v1/namespaces/kube-system/secrets', {
      metadata: { name: `${victim}-foreign` },
      ...foreign,
    });
    await registered(c, installation);
    await capturedRun(await loadConfig(installation.file));
    // The delivery identity rewrites the inventory, as whoever holds its token can.
    const token = tokenOf(await storedKubeconfig(installation.secretId));
    const inventoryPath = `/api/v1/namespaces/${installation.control}/configmaps/${INVENTORY_NAME}`;
    const current = await kubeRequest(c, token, 'GET', inventoryPath);
    const map = current.json<{ metadata: Record<string, unknown> }>();
    const tampered = [
      `${app}/ecr-pull`,
      '..',
      '/',
      `${victim}/..`,
      `${victim}/ecr-pull`,
      `${app}/../../${victim}`,
      `${app}/team-db`,
      `kube-system/${victim}-foreign`,
      `${app}/\u001b[31mred`,
    ].join('\n');
    const written = await kubeRequest(c, token, 'PUT', inventoryPath, {
      ...map,
      data: { ecr: tampered, evil: `${app}/ecr-pull` },
    });
    const requests: string[] = [];
    const adminRequests: string[] = [];
    const allowed = (path: string) => {
      if (path.includes('..') || path.includes('%2F') || path.endsWith('/')) return false;
      const namespaced = /^\/api\/v1\/namespaces\/([^/]+)(?:\/([^/]+)(?:\/([^/]+))?)?$/.exec(path);
      if (namespaced) {
        const [, ns, resource, objectName] = namespaced;
        if (ns === installation.control) return true;
        if (resource === 'secrets') return objectName === undefined ? ns === app : objectName === 'ecr-pull';
        if (resource === 'serviceaccounts') return ns === app && objectName === 'default';
        return false;
      }
      // The admin's RBAC and guard removal: API discovery, collections (listed by this installation's
      // labels) and this installation's exact names.
      return (
        /^\/api\/v1$|^\/apis\/(rbac\.authorization|admissionregistration)\.k8s\.io\/v1(\/[a-z]+)?$/.test(
          path,
        ) ||
        path.endsWith(`/${objectName(installation.control)}`) ||
        path.endsWith(`/${objectName(installation.control, 'secret-guard')}`)
      );
    };

    // Act
    const run = await capturedRun(await loadConfig(installation.file));
    const report = await unregister(c, installation, (identity, method, path) => {
      requests.push(`${method} ${path}`);
      if (identity === 'admin') adminRequests.push(`${method} ${path}`);
    });

    // Assess
    expect(written.status).toBe(200);
    expect(await alive(c, `/api/v1/namespaces/${victim}`)).toBe(true);
    expect(await status(c, `/api/v1/namespaces/${victim}/secrets/ecr-pull`)).toBe(200);
    expect(await status(c, `/api/v1/namespaces/${app}/secrets/team-db`)).toBe(200);
    expect(await status(c, `/api/v1/namespaces/kube-system/secrets/${victim}-foreign`)).toBe(200);
    const runRequests = run.requests.map((r) => `${r.method} ${r.path}`);
    expect(runRequests.filter((r) => !allowed(r.slice(r.indexOf(' ') + 1)))).toEqual([]);
    expect(requests.length).toBeGreaterThan(5);
    expect(requests.filter((r) => !allowed(r.slice(r.indexOf(' ') + 1)))).toEqual([]);
    // As admin: only this installation's objects, never a Secret the inventory alone named.
    expect(adminRequests.length).toBeGreaterThan(5);
    expect(adminRequests.filter((r) => r.includes(victim) || r.includes('/secrets/ecr-pull'))).toEqual([]);
    const warnings = [...(run.result.clusters[0]?.warnings ?? []), ...report.warnings];
    expect(warnings.filter((w) => w.startsWith('inventory entry')).length).toBeGreaterThanOrEqual(8);
    expect(warnings.join('\n')).not.toContain('\u001b');
    expect(warnings.join('\n')).toContain('".."');
    expect(report.ok).toBe(true);
    expect(report.secrets.map((s) => `${s.namespace}/${s.secretName}:${s.action}`)).toEqual([
      `${app}/ecr-pull:deleted`,
      `${victim}/ecr-pull:skipped`,
    ]);
  });

  it("unregister keeps a team's own Secret of the managed name and its ServiceAccount reference", async () => {
    // Prepare
    const c = theRig().clusters.a;
    const app = uniqueName('regcred-app');
    await ensureNamespace(c, app);
    await waitForDefaultServiceAccounts(c, [app]);
    await adminPost(c, `/api/v1/namespaces/${app}/secrets`, {
      metadata: { name: 'regcred' },
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': b64('{"auths":{}}') },
    });
    await ensureObject(c, `/api/v1/namespaces/${app}/serviceaccounts`, {
      metadata: { name: 'default' },
      imagePullSecrets: [{ name: 'regcred' }],
    });
    const installation = writeInstallation(uniqueName('regcred'), uniqueName('cc-regcred'), 'regcred', [app]);
    await registered(c, installation);
    const run = await capturedRun(await loadConfig(installation.file));

    // Act
    const report = await unregister(c, installation);

    // Assess
    expect(run.result.clusters[0]?.secrets[0]?.failure?.failureClass).toBe('conflict');
    expect(report.secrets.map((s) => s.action)).toEqual(['not-owned']);
    expect(report.serviceAccounts).toEqual([]);
    expect(await pullSecretNames(c, app, 'default')).toEqual(['regcred']);
    expect((await readSecretState(c, app, 'regcred')).status).toBe(200);
  });

  it("adoption never takes over another installation's Secret; an unlabelled one is still adopted", async () => {
    // Prepare
    const c = theRig().clusters.b;
    const [theirs, team] = [uniqueName('adopt-theirs'), uniqueName('adopt-unlabelled')];
    for (const ns of [theirs, team]) await ensureNamespace(c, ns);
    const name = uniqueName('adopt');
    const installation = writeInstallation(
      name,
      uniqueName('cc-adopt'),
      'ecr-pull',
      [theirs, team],
      '    adoptExistingSecrets: true\n',
    );
    const data = { '.dockerconfigjson': b64('{"auths":{"registry.example.com":{}}}') };
    await adminPost(c, `/api/v1/namespaces/${theirs}/secrets`, {
      metadata: {
        name: 'ecr-pull',
        labels: { [MANAGED_BY]: 'cred-courier', [CLUSTER_LABEL]: name, [INSTALLATION]: 'cc-elsewhere' },
      },
      type: 'kubernetes.io/dockerconfigjson',
      data,
    });
    await adminPost(c, `/api/v1/namespaces/${team}/secrets`, {
      metadata: { name: 'ecr-pull' },
      type: 'kubernetes.io/dockerconfigjson',
      data,
    });
    await registered(c, installation);
    const before = await readSecretState(c, theirs, 'ecr-pull');

    // Act
    const run = await capturedRun(await loadConfig(installation.file));
    const again = await capturedRun(await loadConfig(installation.file));

    // Assess
    const outcome = (ns: string, r = run) => r.result.clusters[0]?.secrets.find((s) => s.namespace === ns);
    const after = await readSecretState(c, theirs, 'ecr-pull');
    expect(after).toEqual(before);
    expect(outcome(theirs)?.failure?.failureClass).toBe('conflict');
    expect(outcome(theirs)?.failure?.message).toContain('"cc-elsewhere"');
    expect(outcome(team)?.action).toBe('adopted');
    expect((await readSecretState(c, team, 'ecr-pull')).labels?.[INSTALLATION]).toBe(installation.control);
    expect(outcome(team, again)?.action).toBe('updated');
  });

  it('a Secret an older version delivered (no installation label) is taken over once, then updated with one request', async () => {
    // Prepare
    const c = theRig().clusters.a;
    const app = uniqueName('older-app');
    await ensureNamespace(c, app);
    const installation = writeInstallation(uniqueName('older'), uniqueName('cc-older'), 'ecr-pull', [app]);
    await adminPost(c, `/api/v1/namespaces/${app}/secrets`, {
      metadata: {
        name: 'ecr-pull',
        labels: { [MANAGED_BY]: 'cred-courier', [CLUSTER_LABEL]: installation.name, [KIND_LABEL]: 'ecr' },
        // As the previous version wrote it: its annotations, no installation label.
        annotations: { 'cred-courier.io/issued-at': new Date().toISOString() },
      },
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': b64('{"auths":{}}') },
    });
    await registered(c, installation);
    const secretPath = `/api/v1/namespaces/${app}/secrets/ecr-pull`;

    // Act
    const first = await capturedRun(await loadConfig(installation.file));
    const second = await capturedRun(await loadConfig(installation.file));

    // Assess
    const touching = (run: typeof first) =>
      run.requests.filter((r) => r.path === secretPath).map((r) => r.method);
    expect(first.result.clusters[0]?.secrets[0]?.failure).toBeUndefined();
    expect(first.result.clusters[0]?.secrets[0]?.action).toBe('updated');
    expect(touching(first)).toEqual(['PATCH', 'GET', 'PATCH']);
    expect((await readSecretState(c, app, 'ecr-pull')).labels?.[INSTALLATION]).toBe(installation.control);
    expect(second.result.clusters[0]?.secrets[0]?.action).toBe('updated');
    expect(touching(second)).toEqual(['PATCH']);
  });

  /** Changes an object as the admin, synchronously: placed exactly between two requests of a run. */
  function changeHandsNow(cluster: RigCluster, path: string, patch: unknown): void {
    const ca = join(dir, `${cluster.name}-ca.pem`);
    writeFileSync(ca, cluster.caPem);
    execFileSync('curl', [
      '-sS',
      '--fail',
      '--cacert',
      ca,
      '-X',
      'PATCH',
      '-H',
      `Authorization: Bearer ${cluster.adminToken}`,
      '-H',
      'Content-Type: application/merge-patch+json',
      '--data',
      JSON.stringify(patch),
      new URL(path, cluster.server).toString(),
    ]);
  }

  const takenOver = {
    metadata: { labels: { [MANAGED_BY]: 'team', [INSTALLATION]: null, [CLUSTER_LABEL]: null } },
  };

  it('prune: a Secret that changes hands right after the ownership read is refused by the apiserver and keeps its reference', async () => {
    // Prepare
    const c = theRig().clusters.b;
    const [app, old] = [uniqueName('race-app'), uniqueName('race-old')];
    for (const ns of [app, old]) await ensureNamespace(c, ns);
    await waitForDefaultServiceAccounts(c, [app, old]);
    const name = uniqueName('race');
    const control = uniqueName('cc-race');
    const both = writeInstallation(name, control, 'ecr-pull', [app, old]);
    await registered(c, both);
    await capturedRun(await loadConfig(both.file));
    // `old` leaves the selection (its Role stays until register runs again): the next run prunes it.
    const narrowed = writeInstallation(name, control, 'ecr-pull', [app]);
    const secretPath = `/api/v1/namespaces/${old}/secrets/ecr-pull`;
    let readSeen = false;
    let changed = false;

    // Act
    const run = await capturedRun(await loadConfig(narrowed.file), {
      onKubeRequest: (_cluster, method, path) => {
        if (readSeen && !changed) {
          changed = true;
          changeHandsNow(c, secretPath, takenOver);
        }
        if (method === 'GET' && path === secretPath) readSeen = true;
      },
    });

    // Assess
    expect(changed).toBe(true);
    const after = await readSecretState(c, old, 'ecr-pull');
    expect(after.status).toBe(200);
    expect(after.labels?.[MANAGED_BY]).toBe('team');
    expect(await pullSecretNames(c, old, 'default')).toContain('ecr-pull');
    const pruned = run.result.clusters[0]?.pruned.find((p) => p.namespace === old);
    expect(pruned?.failure?.failureClass).toBe('conflict');
  });

  /** Clients whose reads of `name` are followed, before they return, by `change`. */
  function changingAfterRead<T extends object>(api: T, method: string, change: () => void): T {
    return new Proxy(api, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property !== method || typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          const result = await value.apply(target, args);
          change();
          return result;
        };
      },
    });
  }

  it('the token Secret and a RoleBinding whose roleRef changes are not deleted when they change after the read', async () => {
    // Prepare
    const c = theRig().clusters.a;
    const control = uniqueName('cc-precond');
    await ensureNamespace(c, control);
    await ensureObject(c, `/api/v1/namespaces/${control}/serviceaccounts`, {
      metadata: { name: 'cred-courier' },
    });
    await adminPost(c, `/api/v1/namespaces/${control}/secrets`, {
      metadata: {
        name: 'cred-courier-token',
        labels: { [MANAGED_BY]: 'cred-courier', [INSTALLATION]: control },
        annotations: { 'kubernetes.io/service-account.name': 'cred-courier' },
      },
      type: 'kubernetes.io/service-account-token',
    });
    await waitFor(
      'the token controller to fill the token Secret',
      async () => (await readSecretState(c, control, 'cred-courier-token')).data?.token !== undefined,
      30_000,
    );
    const labels = { [MANAGED_BY]: 'cred-courier', [CLUSTER_LABEL]: 'precond', [INSTALLATION]: control };
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'cred-courier-precond', namespace: control, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'first' },
      subjects: [{ kind: 'ServiceAccount', name: 'cred-courier', namespace: control }],
    };
    await adminPost(c, `${RBAC}/namespaces/${control}/rolebindings`, binding);
    const bindingPath = `${RBAC}/namespaces/${control}/rolebindings/cred-courier-precond`;
    const uidOf = async (path: string) =>
      (await kubeRequest(c, c.adminToken, 'GET', path)).json<{ metadata: { uid: string } }>().metadata.uid;
    const bindingUid = await uidOf(bindingPath);
    const apis = createKubeApis(loadAdminKubeconfig(c.adminKubeconfigPath).kubeConfig, {
      requestTimeoutMs: 10_000,
    });
    const tokenPath = `/api/v1/namespaces/${control}/secrets/cred-courier-token`;
    const core = changingAfterRead(apis.core, 'readNamespacedSecret', () =>
      changeHandsNow(c, tokenPath, { metadata: { annotations: { 'example.com/reused-by': 'team' } } }),
    ) as CoreV1Api;
    const objects = changingAfterRead(apis.objects, 'read', () =>
      changeHandsNow(c, bindingPath, { metadata: { annotations: { 'example.com/reused-by': 'team' } } }),
    ) as KubernetesObjectApi;

    // Act
    const tokenDelete = await deleteTokenSecret(core, control, 'cred-courier-token', 'cred-courier').then(
      (deleted) => `resolved ${deleted}`,
      (error: Error) => `rejected ${error.message}`,
    );
    const rebind = await applyObject(
      objects,
      { ...binding, roleRef: { ...binding.roleRef, name: 'second' } },
      { dryRun: false },
    ).then(
      (action) => `resolved ${action}`,
      (error: Error) => `rejected ${error.message}`,
    );

    // Assess
    const after = await kubeRequest(c, c.adminToken, 'GET', bindingPath);
    const binding_ = after.json<{ metadata: { uid: string }; roleRef: { name: string } }>();
    expect({
      tokenDelete: tokenDelete.split(' ')[0],
      tokenSecret: await status(c, tokenPath),
      rebind: rebind.split(' ')[0],
      bindingUid: binding_.metadata.uid,
      roleRef: binding_.roleRef.name,
    }).toEqual({
      tokenDelete: 'rejected',
      tokenSecret: 200,
      rebind: 'rejected',
      bindingUid,
      roleRef: 'first',
    });
    expect(tokenDelete).toMatch(/changed after cred-courier read it/);
    expect(rebind).toMatch(/409|[Cc]onflict|precondition/);
  });
});
