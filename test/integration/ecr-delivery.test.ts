/**
 * ECR pull secrets delivered to the rig's two real clusters, minted by moto, with a least-privilege
 * identity: placement, content, request counts, ServiceAccounts, isolation of failing clusters, prune,
 * and no secret in any log line.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { beforeAll, describe, expect, it } from 'vitest';
import { secretsManagerKubeconfigs } from '../../src/aws/kubeconfig-store.ts';
import { ensureNamespace } from '../rig/accounts.ts';
import { kubeRequest } from '../rig/kube-http.ts';
import { freePort, waitFor } from '../rig/rig.ts';
import {
  type CapturedRun,
  capturedRun,
  configOf,
  type RegisteredCluster,
  registerCluster,
  shareControlNamespace,
  storeKubeconfig,
} from './fixtures.ts';
import { rig, skipReason, theRig, uniqueName, useRigAws } from './rig-context.ts';

const SECRET = 'ecr-pull';

interface DockerConfig {
  auths: Record<string, { username: string; password: string; auth: string }>;
}

async function readSecret(cluster: 'a' | 'b', namespace: string, name = SECRET) {
  const c = theRig().clusters[cluster];
  return kubeRequest(c, c.adminToken, 'GET', `/api/v1/namespaces/${namespace}/secrets/${name}`);
}

function dockerConfigOf(secret: { data: Record<string, string> }): DockerConfig {
  return JSON.parse(Buffer.from(secret.data['.dockerconfigjson'] ?? '', 'base64').toString()) as DockerConfig;
}

function clusterYaml(cluster: RegisteredCluster, namespaces: string, ecr: string, extra = ''): string {
  return `
  - name: ${cluster.name}
    kubeconfigSecret: ${cluster.secretId}
    namespaces: ${namespaces}
    ecr: ${ecr}
${extra}`;
}

/** Scans captured lines for every value the run registered as secret (never an empty list: see below). */
function leaks(run: CapturedRun, extra: readonly string[] = []): string[] {
  const text = run.lines.join('\n') + JSON.stringify(run.result);
  const registered = run.redactor.registered();
  // A run that minted and read kubeconfigs registered secrets; none would make the scan prove nothing.
  expect(registered.length).toBeGreaterThan(0);
  const found: string[] = [];
  for (const value of [...extra, ...registered]) {
    if (value.length >= 8 && text.includes(value)) found.push(`${value.slice(0, 4)}…`);
  }
  return found;
}

describe.skipIf(!rig)(`ECR delivery on the rig${rig ? '' : ` (skipped: ${skipReason})`}`, () => {
  useRigAws();
  const ns = {
    a1: uniqueName('app'),
    a2: uniqueName('web'),
    aTeam1: `team-${uniqueName('x')}`,
    b1: uniqueName('svc'),
    bLabelled: uniqueName('lab'),
  };
  let clusterA: RegisteredCluster;
  let clusterB: RegisteredCluster;
  let settings: string;

  beforeAll(async () => {
    const { a, b } = theRig().clusters;
    clusterA = await registerCluster(a, {
      namespaces: [ns.a1, ns.a2, ns.aTeam1],
      secretNames: [SECRET],
      listNamespaces: true,
    });
    await ensureNamespace(b, ns.bLabelled, { 'cred-courier-test': ns.bLabelled });
    clusterB = await registerCluster(b, {
      namespaces: [ns.b1, ns.bLabelled],
      secretNames: [SECRET],
      listNamespaces: true,
    });
    // Each registered cluster has its own control namespace; the config names one per file, so give
    // cluster B the same one as A by creating A's name on B with the inventory rules.
    settings = `settings:\n  controlNamespace: ${clusterA.controlNamespace}\n  clusterDeadlineSeconds: 30\n`;
    await shareControlNamespace(b, clusterA.controlNamespace, clusterB);
  });

  function twoClusterConfig(): string {
    return `${settings}clusters:${clusterYaml(
      clusterA,
      `{ names: [${ns.a1}, ${ns.a2}, "team-*"], exclude: ["team-legacy*"] }`,
      `{ secretName: ${SECRET}, registries: [{ accountId: "111122223333", region: eu-west-1 }, { accountId: "444455556666", region: us-east-1 }, { region: eu-west-1 }] }`,
    )}${clusterYaml(
      clusterB,
      `{ names: [${ns.b1}], selector: "cred-courier-test=${ns.bLabelled}" }`,
      // The same accounts as cluster A: clusters sharing a token minted as the function must list the same.
      `{ secretName: ${SECRET}, registries: [{ accountId: "111122223333", region: eu-west-1 }, { accountId: "444455556666", region: us-east-1 }, { region: eu-west-1 }] }`,
    )}`;
  }

  it('delivers valid dockerconfigjson Secrets with a host per account and region into the selected namespaces of both clusters', async () => {
    // Prepare
    const config = configOf(twoClusterConfig());

    // Act
    const run = await capturedRun(config);

    // Assess
    expect(run.result.summary).toMatchObject({ clusters: 2, clustersFailed: 0, secretsFailed: 0 });
    expect(run.result.ok).toBe(true);
    // Two regions: two tokens, whatever the number of clusters, namespaces and accounts.
    expect(run.calls.ecrToken).toBe(2);
    expect(run.result.summary.mintCalls).toBe(2);
    const a = await readSecret('a', ns.a1);
    expect(a.status).toBe(200);
    const secret = a.json<{
      type: string;
      data: Record<string, string>;
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
    }>();
    expect(secret.type).toBe('kubernetes.io/dockerconfigjson');
    const hosts = Object.keys(dockerConfigOf(secret).auths).sort();
    expect(hosts).toEqual([
      '111122223333.dkr.ecr.eu-west-1.amazonaws.com',
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      '444455556666.dkr.ecr.us-east-1.amazonaws.com',
    ]);
    for (const entry of Object.values(dockerConfigOf(secret).auths)) {
      expect(entry.username).toBe('AWS');
      expect(Buffer.from(entry.auth, 'base64').toString()).toBe(`AWS:${entry.password}`);
    }
    expect(secret.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'cred-courier',
      'cred-courier.io/cluster': clusterA.name,
      'cred-courier.io/kind': 'ecr',
    });
    expect(Date.parse(secret.metadata.annotations['cred-courier.io/expires-at'] ?? '')).toBeGreaterThan(
      Date.now(),
    );
    expect(secret.metadata.annotations['cred-courier.io/registries']).toBe(hosts.join(','));
    for (const [cluster, namespace] of [
      ['a', ns.a2],
      ['a', ns.aTeam1],
      ['b', ns.b1],
      ['b', ns.bLabelled],
    ] as const) {
      expect((await readSecret(cluster, namespace)).status, `${cluster}/${namespace}`).toBe(200);
    }
    // Not selected: kube-system (not named exactly) and the `default` namespace.
    expect((await readSecret('a', 'kube-system')).status).toBe(404);
    expect((await readSecret('b', 'default')).status).toBe(404);
    expect(leaks(run)).toEqual([]);
  });

  it('a second run with nothing changed makes one write per Secret and no other writes', async () => {
    // Prepare
    const config = configOf(twoClusterConfig());
    await capturedRun(config);

    // Act
    const run = await capturedRun(config);

    // Assess
    const delivered = run.result.clusters.flatMap((c) => c.secrets).filter((s) => s.action);
    expect(delivered).toHaveLength(5);
    expect(delivered.every((s) => s.action === 'updated')).toBe(true);
    const writes = run.requests.filter((r) => r.method !== 'GET');
    const secretWrites = writes.filter((r) => r.method === 'PATCH' && /\/secrets\//.test(r.path));
    expect(secretWrites).toHaveLength(5);
    expect(writes).toHaveLength(5);
    // Reads: never a Secret; the inventory once per cluster, the `default` ServiceAccount once per Secret
    // (to see whether its reference is still there), and the namespace listings globs and selectors need
    // (A: one list; B: one list and one by selector).
    const reads = run.requests.filter((r) => r.method === 'GET');
    expect(reads.filter((r) => /\/secrets\//.test(r.path))).toHaveLength(0);
    expect(reads.filter((r) => r.path.endsWith('/cred-courier-inventory'))).toHaveLength(2);
    expect(reads.filter((r) => r.path.endsWith('/serviceaccounts/default'))).toHaveLength(5);
    expect(reads.filter((r) => r.path === '/api/v1/namespaces')).toHaveLength(3);
    expect(run.requests).toHaveLength(15);
  });

  it("appends the pull secret to a new namespace's default ServiceAccount and keeps a foreign entry", async () => {
    // Prepare
    const { a } = theRig().clusters;
    const fresh = uniqueName('fresh');
    const registered = await registerCluster(a, { namespaces: [fresh], secretNames: [SECRET] });
    const saPath = `/api/v1/namespaces/${fresh}/serviceaccounts/default`;
    await waitFor(
      'default ServiceAccount',
      async () => (await kubeRequest(a, a.adminToken, 'GET', saPath)).status === 200,
      30_000,
    );
    await kubeRequest(
      a,
      a.adminToken,
      'PATCH',
      saPath,
      { imagePullSecrets: [{ name: 'someone-elses' }] },
      'application/merge-patch+json',
    );
    const config = configOf(
      `settings:\n  controlNamespace: ${registered.controlNamespace}\nclusters:${clusterYaml(
        registered,
        `{ names: [${fresh}] }`,
        `{ secretName: ${SECRET}, registries: [{ region: eu-west-1 }] }`,
      )}`,
    );

    // Act
    const first = await capturedRun(config);
    const second = await capturedRun(config);

    // Assess
    expect(first.result.clusters[0]?.secrets[0]?.serviceAccounts).toEqual({ default: 'added' });
    expect(second.result.clusters[0]?.secrets[0]?.serviceAccounts).toEqual({ default: 'present' });
    const sa = (await kubeRequest(a, a.adminToken, 'GET', saPath)).json<{
      imagePullSecrets: { name: string }[];
    }>();
    expect(sa.imagePullSecrets.map((r) => r.name)).toEqual(['someone-elses', SECRET]);
  });

  it('delivers to healthy clusters while a revoked token, an exec kubeconfig and a closed port each fail with their class', async () => {
    // Prepare
    const { a, b } = theRig().clusters;
    const healthyA = await registerCluster(a, { namespaces: [uniqueName('ok')], secretNames: [SECRET] });
    const healthyB = await registerCluster(b, { namespaces: [uniqueName('ok')], secretNames: [SECRET] });
    const revoked = await registerCluster(a, { namespaces: [uniqueName('rev')], secretNames: [SECRET] });
    // Revoke: deleting the ServiceAccount invalidates its bound tokens.
    await kubeRequest(
      a,
      a.adminToken,
      'DELETE',
      `/api/v1/namespaces/${revoked.controlNamespace}/serviceaccounts/cred-courier`,
    );
    const exec = await registerCluster(b, {
      namespaces: [uniqueName('exec')],
      secretNames: [SECRET],
      kubeconfig: (text) =>
        text.replace(
          / {4}token: .*/,
          '    exec:\n      command: aws\n      apiVersion: client.authentication.k8s.io/v1beta1',
        ),
    });
    const closedPort = await freePort();
    const closed = await registerCluster(a, {
      namespaces: [uniqueName('closed')],
      secretNames: [SECRET],
      kubeconfig: (text) =>
        text.replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://127.0.0.1:${closedPort}`),
    });
    const entries = [healthyA, healthyB, revoked, exec, closed].map((r) =>
      clusterYaml(
        r,
        `{ names: [${r.namespaces.join(', ')}] }`,
        `{ secretName: ${SECRET}, registries: [{ region: eu-west-1 }] }`,
      ),
    );
    const config = configOf(
      `settings:\n  clusterDeadlineSeconds: 20\n  requestTimeoutSeconds: 3\nclusters:${entries.join('')}`,
    );

    // Act
    const run = await capturedRun(config);

    // Assess
    const byName = Object.fromEntries(run.result.clusters.map((c) => [c.cluster, c]));
    expect(byName[healthyA.name]?.secrets.every((s) => s.action === 'created')).toBe(true);
    expect(byName[healthyB.name]?.secrets.every((s) => s.action === 'created')).toBe(true);
    expect(byName[revoked.name]?.failure?.failureClass).toBe('unauthorized');
    expect(byName[exec.name]?.failure?.failureClass).toBe('kubeconfig');
    expect(byName[exec.name]?.failure?.message).toMatch(/exec is not supported/);
    expect(byName[closed.name]?.failure?.failureClass).toBe('refused');
    expect(run.result.ok).toBe(false);
    expect(run.result.summary.clustersFailed).toBe(3);
    for (const failed of [revoked, exec, closed]) {
      expect(run.lines.some((line) => line.includes(failed.name) && line.includes('"level":"error"'))).toBe(
        true,
      );
    }
    expect(leaks(run, [revoked.token, healthyA.token, healthyB.token])).toEqual([]);
  });

  it('prunes only its own Secrets from namespaces no longer selected, after delivering', async () => {
    // Prepare
    const { a } = theRig().clusters;
    const keep = uniqueName('keep');
    const drop = uniqueName('drop');
    const registered = await registerCluster(a, { namespaces: [keep, drop], secretNames: [SECRET, 'other'] });
    const yaml = (names: string) =>
      `settings:\n  controlNamespace: ${registered.controlNamespace}\nclusters:${clusterYaml(
        registered,
        `{ names: [${names}] }`,
        `{ secretName: ${SECRET}, registries: [{ region: eu-west-1 }], serviceAccounts: [] }`,
      )}`;
    await capturedRun(configOf(yaml(`${keep}, ${drop}`)));
    // A foreign Secret beside ours, which prune must never touch.
    await kubeRequest(a, a.adminToken, 'POST', `/api/v1/namespaces/${drop}/secrets`, {
      metadata: { name: 'other' },
      stringData: { k: 'v' },
    });

    // Act
    const run = await capturedRun(configOf(yaml(keep)));
    const noPrune = await capturedRun(configOf(yaml(keep)), { prune: false });

    // Assess
    expect(run.result.clusters[0]?.pruned).toEqual([{ kind: 'ecr', namespace: drop, secretName: SECRET }]);
    expect((await readSecret('a', drop)).status).toBe(404);
    expect((await readSecret('a', drop, 'other')).status).toBe(200);
    expect((await readSecret('a', keep)).status).toBe(200);
    expect(noPrune.result.clusters[0]?.pruned).toEqual([]);
  });

  it('leaves a Secret of the same name that it does not own untouched and reports a conflict', async () => {
    // Prepare
    const { a } = theRig().clusters;
    const namespace = uniqueName('foreign');
    const registered = await registerCluster(a, {
      namespaces: [namespace],
      secretNames: [SECRET],
      serviceAccounts: [],
    });
    const created = await kubeRequest(a, a.adminToken, 'POST', `/api/v1/namespaces/${namespace}/secrets`, {
      metadata: { name: SECRET },
      type: 'Opaque',
      stringData: { keep: 'me' },
    });
    const before = created.json<{ metadata: { resourceVersion: string } }>().metadata.resourceVersion;
    const config = configOf(
      `settings:\n  controlNamespace: ${registered.controlNamespace}\nclusters:${clusterYaml(
        registered,
        `{ names: [${namespace}] }`,
        `{ secretName: ${SECRET}, registries: [{ region: eu-west-1 }], serviceAccounts: [] }`,
      )}`,
    );

    // Act
    const run = await capturedRun(config);

    // Assess
    const outcome = run.result.clusters[0]?.secrets[0];
    expect(outcome?.failure?.failureClass).toBe('conflict');
    const after = (await readSecret('a', namespace)).json<{
      metadata: { resourceVersion: string };
      data: Record<string, string>;
    }>();
    expect(after.metadata.resourceVersion).toBe(before);
    expect(Object.keys(after.data)).toEqual(['keep']);
  });

  it('reports a namespace named exactly but absent, and does not create it', async () => {
    const { a } = theRig().clusters;
    const present = uniqueName('here');
    const absent = uniqueName('absent');
    const registered = await registerCluster(a, {
      namespaces: [present],
      secretNames: [SECRET],
      serviceAccounts: [],
    });
    const config = configOf(
      `settings:\n  controlNamespace: ${registered.controlNamespace}\nclusters:${clusterYaml(
        registered,
        `{ names: [${present}, ${absent}] }`,
        `{ secretName: ${SECRET}, registries: [{ region: eu-west-1 }], serviceAccounts: [] }`,
      )}`,
    );

    const run = await capturedRun(config);

    const outcomes = Object.fromEntries((run.result.clusters[0]?.secrets ?? []).map((s) => [s.namespace, s]));
    expect(outcomes[present]?.action).toBe('created');
    expect(outcomes[absent]?.failure?.failureClass).toMatch(/not-found|forbidden/);
    expect((await kubeRequest(a, a.adminToken, 'GET', `/api/v1/namespaces/${absent}`)).status).toBe(404);
  });

  it('reads a cached kubeconfig again after a 401 and succeeds with the rotated token', async () => {
    // Prepare
    const { a } = theRig().clusters;
    const namespace = uniqueName('rot');
    const registered = await registerCluster(a, {
      namespaces: [namespace],
      secretNames: [SECRET],
      serviceAccounts: [],
    });
    const config = configOf(
      `settings:\n  controlNamespace: ${registered.controlNamespace}\nclusters:${clusterYaml(
        registered,
        `{ names: [${namespace}] }`,
        `{ secretName: ${SECRET}, registries: [{ region: eu-west-1 }], serviceAccounts: [] }`,
      )}`,
    );
    const kubeconfigs = secretsManagerKubeconfigs(new SecretsManagerClient({}), { ttlSeconds: 3600 });
    // A warm Lambda cached a token that has since been revoked and replaced in Secrets Manager.
    await storeKubeconfig(
      registered.secretId,
      registered.kubeconfig.replace(/token: .*/, 'token: revoked-long-ago-0000'),
    );
    await kubeconfigs.get(registered.name, registered.secretId);
    await storeKubeconfig(registered.secretId, registered.kubeconfig);

    // Act
    const run = await capturedRun(config, { kubeconfigs });

    // Assess
    expect(run.result.ok).toBe(true);
    expect(run.result.clusters[0]?.secrets[0]?.action).toBe('created');
    expect(run.lines.some((line) => line.includes('reading its kubeconfig again'))).toBe(true);
  });
  it('starts no cluster after the deadline and reports each one it did not reach', async () => {
    // Prepare: a deadline inside the reserve kept for reporting, as when a Lambda is about to time out.
    const config = configOf(twoClusterConfig());

    // Act
    const run = await capturedRun(config, { deadline: new Date(Date.now() + 1_000) });

    // Assess
    expect(run.result.ok).toBe(false);
    expect(run.result.clusters.map((c) => c.failure?.failureClass)).toEqual(['deadline', 'deadline']);
    expect(run.requests).toHaveLength(0);
  });
});
