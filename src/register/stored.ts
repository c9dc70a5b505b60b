/**
 * Clients built from a kubeconfig as cred-courier stores it: checked by the same rules as a delivery
 * run (no exec, no files, TLS unless the cluster opts out), its credentials registered for redaction.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterProxy } from '../aws/proxy-credentials.ts';
import type { ClusterSpec, Settings } from '../config/types.ts';
import { createKubeApis, type KubeApis } from '../kube/apis.ts';
import { parseKubeconfig } from '../kube/kubeconfig.ts';
import type { Redactor } from '../report/redact.ts';

export interface StoredAccess {
  readonly apis: KubeApis;
  readonly kubeConfig: KubeConfig;
  readonly warnings: readonly string[];
}

/**
 * Clients for `text`, a kubeconfig of `cluster`.
 * @throws KubeconfigError when it is of a form delivery refuses.
 */
export function storedAccess(
  cluster: ClusterSpec,
  settings: Settings,
  text: string,
  redactor: Redactor,
  signal?: AbortSignal,
  onRequest?: (method: string, path: string) => void,
  proxy?: ClusterProxy,
): StoredAccess {
  const parsed = parseKubeconfig(cluster, text);
  redactor.add(...parsed.secrets);
  const apis = createKubeApis(parsed.kubeConfig, {
    requestTimeoutMs: settings.requestTimeoutSeconds * 1000,
    ...(signal ? { signal } : {}),
    ...(onRequest ? { onRequest } : {}),
    ...(proxy ? { proxy } : {}),
  });
  return { apis, kubeConfig: parsed.kubeConfig, warnings: parsed.warnings };
}
