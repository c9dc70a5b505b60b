/**
 * A simulated fleet on the rig's two apiservers: cluster i lives on apiserver a (even i) or b (odd i),
 * behind its own proxy listener, with its own five namespaces and its own restricted identity (a
 * ServiceAccount bound, in each of its namespaces only, to the delivery rules), whose kubeconfig — the
 * proxy's address, the apiserver's CA, a TokenRequest token — is stored in moto's Secrets Manager.
 *
 * What simulated clusters cannot have of their own: `settings.controlNamespace` is run-wide, so all the
 * simulated clusters of one apiserver share one control namespace and one inventory ConfigMap. See
 * `syncInventories` and the notes in docs/benchmarks.md.
 */
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import pLimit from 'p-limit';
import { INVENTORY_NAME } from '../src/kube/inventory.ts';
import { ensureNamespace, ensureObject, type PolicyRule, requestToken } from '../test/rig/accounts.ts';
import { kubeRequest } from '../test/rig/kube-http.ts';
import { type RigCluster, tokenKubeconfig, waitFor } from '../test/rig/rig.ts';
import type { LatencyProxy } from './proxy.ts';

export const CONTROL_NAMESPACE = 'cc-bench';
export const NAMESPACES_PER_CLUSTER = 5;
const DELIVERY_ROLE = 'cc-bench-delivery';
const INVENTORY_ROLE = 'cc-bench-inventory';

export interface SimulatedCluster {
  readonly index: number;
  readonly name: string;
  readonly apiserver: 'a' | 'b';
  readonly secretId: string;
  readonly namespaces: readonly string[];
}

const clusterName = (index: number) => `sim-${String(index).padStart(3, '0')}`;

/**
 * The delivery rules of fixtures.deliveryRules (what registration generates), as one ClusterRole bound
 * per namespace, plus `update` on the names the baseline replaces (cred-courier never PUTs a Secret).
 */
function deliveryRules(secretNames: readonly string[], baselineNames: readonly string[]): PolicyRule[] {
  return [
    { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
    {
      apiGroups: [''],
      resources: ['secrets'],
      verbs: ['get', 'patch', 'delete'],
      resourceNames: [...secretNames, ...baselineNames],
    },
    { apiGroups: [''], resources: ['secrets'], verbs: ['update'], resourceNames: [...baselineNames] },
    {
      apiGroups: [''],
      resources: ['serviceaccounts'],
      verbs: ['get', 'patch'],
      resourceNames: ['default'],
    },
  ];
}

const INVENTORY_RULES: PolicyRule[] = [
  { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
  { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'update'], resourceNames: [INVENTORY_NAME] },
];

export async function createFleet(options: {
  readonly count: number;
  readonly rig: { readonly a: RigCluster; readonly b: RigCluster };
  readonly proxy: LatencyProxy;
  readonly secretNames: readonly string[];
  readonly baselineNames: readonly string[];
  readonly log: (line: string) => void;
}): Promise<SimulatedCluster[]> {
  const { rig, proxy } = options;
  const started = Date.now();
  const rbac = '/apis/rbac.authorization.k8s.io/v1';
  const subjectsOf = (apiserver: 'a' | 'b') =>
    Array.from({ length: options.count }, (_, i) => i)
      .filter((i) => (i % 2 === 0 ? 'a' : 'b') === apiserver)
      .map((i) => ({ kind: 'ServiceAccount', name: clusterName(i), namespace: CONTROL_NAMESPACE }));
  for (const id of ['a', 'b'] as const) {
    const server = rig[id];
    await ensureNamespace(server, CONTROL_NAMESPACE);
    await ensureObject(server, `${rbac}/clusterroles`, {
      metadata: { name: DELIVERY_ROLE },
      rules: deliveryRules(options.secretNames, options.baselineNames),
    });
    await ensureObject(server, `${rbac}/namespaces/${CONTROL_NAMESPACE}/roles`, {
      metadata: { name: INVENTORY_ROLE },
      rules: INVENTORY_RULES,
    });
    await ensureObject(server, `${rbac}/namespaces/${CONTROL_NAMESPACE}/rolebindings`, {
      metadata: { name: INVENTORY_ROLE },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: INVENTORY_ROLE },
      subjects: subjectsOf(id),
    });
  }
  const sm = new SecretsManagerClient({});
  const limit = pLimit(12);
  const fleet = await Promise.all(
    Array.from({ length: options.count }, (_, index) =>
      limit(async (): Promise<SimulatedCluster> => {
        const name = clusterName(index);
        const apiserver = index % 2 === 0 ? 'a' : 'b';
        const server = rig[apiserver];
        const namespaces = Array.from({ length: NAMESPACES_PER_CLUSTER }, (_, j) => `${name}-n${j}`);
        await ensureObject(server, `/api/v1/namespaces/${CONTROL_NAMESPACE}/serviceaccounts`, {
          metadata: { name },
        });
        for (const namespace of namespaces) {
          await ensureNamespace(server, namespace, { 'cc-bench': name });
          await ensureObject(server, `${rbac}/namespaces/${namespace}/rolebindings`, {
            metadata: { name: DELIVERY_ROLE },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: DELIVERY_ROLE },
            subjects: [{ kind: 'ServiceAccount', name, namespace: CONTROL_NAMESPACE }],
          });
        }
        const token = await requestToken(server, CONTROL_NAMESPACE, name, 4 * 3600);
        const listener = await proxy.listen(Number(new URL(server.server).port));
        const kubeconfig = tokenKubeconfig(
          { name, server: `https://127.0.0.1:${listener.port}`, caPem: server.caPem },
          `cred-courier@${name}`,
          token,
        );
        const secretId = `cred-courier/bench/${name}`;
        try {
          await sm.send(new CreateSecretCommand({ Name: secretId, SecretString: kubeconfig }));
        } catch {
          await sm.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: kubeconfig }));
        }
        return { index, name, apiserver, secretId, namespaces };
      }),
    ),
  );
  // ECR Secrets are added to each namespace's `default` ServiceAccount, which the controller manager
  // makes for every new namespace: wait until all exist.
  for (const id of ['a', 'b'] as const) {
    const server = rig[id];
    const wanted = new Set(fleet.filter((c) => c.apiserver === id).flatMap((c) => c.namespaces));
    await waitFor(
      `default ServiceAccounts on apiserver ${id}`,
      async () => {
        const response = await kubeRequest(
          server,
          server.adminToken,
          'GET',
          '/api/v1/serviceaccounts?fieldSelector=metadata.name%3Ddefault&labelSelector=',
        );
        const items = response.json<{ items: { metadata: { namespace: string } }[] }>().items;
        return items.filter((sa) => wanted.has(sa.metadata.namespace)).length === wanted.size;
      },
      // The controller manager makes them at its own pace: about 5,000 at K = 1,000.
      Math.max(300_000, options.count * NAMESPACES_PER_CLUSTER * 150),
    );
  }
  options.log(
    `bench: ${options.count} simulated clusters (${options.count * NAMESPACES_PER_CLUSTER} namespaces, an identity each) registered in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return fleet;
}

/**
 * Writes each apiserver's shared inventory as the union of the entries of the clusters given, so that
 * every simulated cluster finds its own entries there, as it would in its own inventory on a real
 * cluster after its first run (the first run's inventory writes race on the shared object: most fail
 * with 409, which the run reports as a warning).
 */
export async function syncInventories(
  rig: { readonly a: RigCluster; readonly b: RigCluster },
  entries: readonly { readonly apiserver: 'a' | 'b'; readonly kind: string; readonly entry: string }[],
): Promise<void> {
  for (const id of ['a', 'b'] as const) {
    const server = rig[id];
    const path = `/api/v1/namespaces/${CONTROL_NAMESPACE}/configmaps`;
    const current = await kubeRequest(server, server.adminToken, 'GET', `${path}/${INVENTORY_NAME}`);
    const data: Record<string, Set<string>> = {};
    if (current.status === 200) {
      for (const [kind, text] of Object.entries(current.json<{ data?: Record<string, string> }>().data ?? {}))
        data[kind] = new Set(text.split('\n').filter(Boolean));
    }
    for (const e of entries.filter((x) => x.apiserver === id)) {
      data[e.kind] ??= new Set();
      data[e.kind]?.add(e.entry);
    }
    const body = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: INVENTORY_NAME, labels: { 'app.kubernetes.io/managed-by': 'cred-courier' } },
      data: Object.fromEntries(Object.entries(data).map(([kind, set]) => [kind, [...set].sort().join('\n')])),
    };
    const response =
      current.status === 200
        ? await kubeRequest(server, server.adminToken, 'PUT', `${path}/${INVENTORY_NAME}`, body)
        : await kubeRequest(server, server.adminToken, 'POST', path, body);
    if (response.status >= 300)
      throw new Error(`bench: inventory on ${id}: ${response.status} ${response.body.slice(0, 200)}`);
  }
}
