/**
 * Restricted identities on a rig cluster, made the way a user would: a ServiceAccount, a Role with the
 * rules given, a RoleBinding, and a TokenRequest token in a kubeconfig with the server and CA.
 */
import { randomBytes } from 'node:crypto';
import { kubeRequest } from './kube-http.ts';
import { type RigCluster, tokenKubeconfig } from './rig.ts';

export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
  readonly resourceNames?: readonly string[];
}

export interface RestrictedAccount {
  readonly namespace: string;
  readonly name: string;
  readonly token: string;
  readonly kubeconfig: string;
}

export interface RestrictedAccountOptions {
  /** Namespace of the ServiceAccount; created when missing. */
  readonly namespace: string;
  readonly name?: string;
  /** Role rules, granted in each namespace of `ruleNamespaces` (default: the ServiceAccount's). */
  readonly rules: readonly PolicyRule[];
  readonly ruleNamespaces?: readonly string[];
  /** Cluster-wide rules (ClusterRole + ClusterRoleBinding), for namespace listing and the like. */
  readonly clusterRules?: readonly PolicyRule[];
  readonly expirationSeconds?: number;
}

/** Creates or updates an object; 409 on create means it exists, then replace its spec-like fields. */
export async function ensureObject(
  cluster: RigCluster,
  collection: string,
  object: { metadata: { name: string; labels?: Record<string, string> }; [field: string]: unknown },
) {
  const created = await kubeRequest(cluster, cluster.adminToken, 'POST', collection, object);
  if (created.status === 201) return;
  if (created.status === 409) {
    const path = `${collection}/${object.metadata.name}`;
    const patched = await kubeRequest(
      cluster,
      cluster.adminToken,
      'PATCH',
      path,
      object,
      'application/merge-patch+json',
    );
    if (patched.status === 200) return;
    throw new Error(`rig: PATCH ${path}: ${patched.status} ${patched.body}`);
  }
  throw new Error(`rig: POST ${collection}: ${created.status} ${created.body}`);
}

export async function ensureNamespace(
  cluster: RigCluster,
  name: string,
  labels: Record<string, string> = {},
) {
  await ensureObject(cluster, '/api/v1/namespaces', { metadata: { name, labels } });
}

export async function createRestrictedAccount(
  cluster: RigCluster,
  options: RestrictedAccountOptions,
): Promise<RestrictedAccount> {
  const name = options.name ?? `restricted-${randomBytes(3).toString('hex')}`;
  const { namespace } = options;
  await ensureNamespace(cluster, namespace);
  await ensureObject(cluster, `/api/v1/namespaces/${namespace}/serviceaccounts`, { metadata: { name } });
  const subject = [{ kind: 'ServiceAccount', name, namespace }];
  for (const ruleNamespace of options.ruleNamespaces ?? [namespace]) {
    const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${ruleNamespace}`;
    await ensureObject(cluster, `${rbac}/roles`, { metadata: { name }, rules: options.rules });
    await ensureObject(cluster, `${rbac}/rolebindings`, {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: subject,
    });
  }
  if (options.clusterRules) {
    const rbac = '/apis/rbac.authorization.k8s.io/v1';
    const clusterName = `${namespace}-${name}`;
    await ensureObject(cluster, `${rbac}/clusterroles`, {
      metadata: { name: clusterName },
      rules: options.clusterRules,
    });
    await ensureObject(cluster, `${rbac}/clusterrolebindings`, {
      metadata: { name: clusterName },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterName },
      subjects: subject,
    });
  }
  const token = await requestToken(cluster, namespace, name, options.expirationSeconds ?? 3600);
  return { namespace, name, token, kubeconfig: tokenKubeconfig(cluster, `${namespace}-${name}`, token) };
}

/** TokenRequest: what `kubectl create token` does. */
export async function requestToken(
  cluster: RigCluster,
  namespace: string,
  name: string,
  expirationSeconds: number,
) {
  const response = await kubeRequest(
    cluster,
    cluster.adminToken,
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds } },
  );
  if (response.status !== 201)
    throw new Error(`rig: TokenRequest ${namespace}/${name}: ${response.status} ${response.body}`);
  return response.json<{ status: { token: string } }>().status.token;
}
