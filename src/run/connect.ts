/**
 * From a cluster's registration to a working client: read its kubeconfig (Secrets Manager), check it,
 * register its credentials with the redactor, and build a client bound to the cluster's deadline.
 */
import type { KubeconfigSource } from '../aws/kubeconfig-store.ts';
import { clusterProxy } from '../aws/proxy-credentials.ts';
import type { ClusterSpec, NamespaceSelection, Settings } from '../config/types.ts';
import { createKubeClient, type KubeClient } from '../kube/client.ts';
import { parseKubeconfig } from '../kube/kubeconfig.ts';
import { listNamespaceNames } from '../kube/namespaces.ts';
import { needsNamespaceListing, selectNamespaces } from '../plan/namespaces.ts';
import { type StoredCredential, storedCredential } from '../register/token.ts';
import type { Redactor } from '../report/redact.ts';

export interface Connection {
  readonly client: KubeClient;
  /** What the kubeconfig authenticates with (for its expiry and renewal). */
  readonly credential?: StoredCredential;
  /** Said on every run (e.g. TLS verification off, no secret guard). */
  readonly warnings: readonly string[];
}

export async function connectCluster(
  cluster: ClusterSpec,
  deps: {
    readonly kubeconfigs: KubeconfigSource;
    readonly settings: Settings;
    readonly redactor: Redactor;
    readonly signal: AbortSignal;
    readonly onRequest?: (method: string, path: string) => void;
  },
): Promise<Connection> {
  const text = await deps.kubeconfigs.get(cluster.name, cluster.kubeconfigSecret);
  const parsed = parseKubeconfig(cluster, text);
  deps.redactor.add(...parsed.secrets);
  const proxy = await clusterProxy(cluster, deps.kubeconfigs, deps.redactor);
  const client = createKubeClient(parsed.kubeConfig, {
    requestTimeoutMs: deps.settings.requestTimeoutSeconds * 1000,
    signal: deps.signal,
    ...(deps.onRequest ? { onRequest: deps.onRequest } : {}),
    ...(proxy ? { proxy } : {}),
  });
  const credential = storedCredential(parsed.kubeConfig.getCurrentUser() ?? {});
  const warnings = [...parsed.warnings, ...guardWarnings(cluster)];
  return { client, warnings, ...(credential ? { credential } : {}) };
}

/** Said on every run while the entry records that the cluster was registered without the secret guard. */
export function guardWarnings(cluster: Pick<ClusterSpec, 'secretGuard'>): string[] {
  if (cluster.secretGuard !== false) return [];
  return [
    "registered without the secret guard (secretGuard: false): in this cluster's namespaces cred-courier's identity can create a Secret of any type under a managed name, a service-account-token one included, and read it back; on Kubernetes 1.30+ register it again without --without-secret-guard",
  ];
}

/** The cluster's selected namespaces; lists namespaces only when globs or a selector need it. */
export async function resolveNamespaces(
  core: KubeClient['core'],
  selection: NamespaceSelection,
  request: <T>(operation: () => Promise<T>) => Promise<T> = (operation) => operation(),
): Promise<string[]> {
  if (!needsNamespaceListing(selection)) return selectNamespaces(selection);
  const all = await request(() => listNamespaceNames(core));
  const selector = selection.selector;
  const matchingSelector = selector ? await request(() => listNamespaceNames(core, selector)) : [];
  return selectNamespaces(selection, { all, matchingSelector });
}
