/**
 * Rig helpers shared by the reliability tests: a control namespace shared by several registered
 * identities, Secrets and ServiceAccounts read as the admin, and the run's metrics as CloudWatch would
 * receive them.
 */
import { vi } from 'vitest';
import type { FleetMetrics } from '../../src/report/fleet.ts';
import { createMetrics, METRIC_NAMES, publishRunMetrics } from '../../src/report/metrics.ts';
import type { RunResult } from '../../src/run/types.ts';
import { kubeRequest } from '../rig/kube-http.ts';
import { type RigCluster, waitFor } from '../rig/rig.ts';

export { shareControlNamespace } from '../integration/fixtures.ts';

/** Waits until the ServiceAccount controller made `default` in each namespace. */
export async function waitForDefaultServiceAccounts(cluster: RigCluster, namespaces: readonly string[]) {
  for (const namespace of namespaces) {
    await waitFor(
      `default ServiceAccount in ${namespace}`,
      async () =>
        (
          await kubeRequest(
            cluster,
            cluster.adminToken,
            'GET',
            `/api/v1/namespaces/${namespace}/serviceaccounts/default`,
          )
        ).status === 200,
      60_000,
    );
  }
}

export interface SecretState {
  readonly status: number;
  readonly resourceVersion?: string;
  readonly type?: string;
  readonly data?: Record<string, string>;
  readonly labels?: Record<string, string>;
}

/** A Secret as the admin sees it (status 404 when absent). */
export async function readSecretState(
  cluster: RigCluster,
  namespace: string,
  name: string,
): Promise<SecretState> {
  const response = await kubeRequest(
    cluster,
    cluster.adminToken,
    'GET',
    `/api/v1/namespaces/${namespace}/secrets/${name}`,
  );
  if (response.status !== 200) return { status: response.status };
  const secret = response.json<{
    type: string;
    data?: Record<string, string>;
    metadata: { resourceVersion: string; labels?: Record<string, string> };
  }>();
  return {
    status: 200,
    resourceVersion: secret.metadata.resourceVersion,
    type: secret.type,
    data: secret.data ?? {},
    labels: secret.metadata.labels ?? {},
  };
}

/** The names in a ServiceAccount's imagePullSecrets. */
export async function pullSecretNames(
  cluster: RigCluster,
  namespace: string,
  account: string,
): Promise<string[]> {
  const response = await kubeRequest(
    cluster,
    cluster.adminToken,
    'GET',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${account}`,
  );
  if (response.status !== 200)
    throw new Error(`GET ServiceAccount ${namespace}/${account}: ${response.status}`);
  return (response.json<{ imagePullSecrets?: { name: string }[] }>().imagePullSecrets ?? []).map(
    (r) => r.name,
  );
}

interface EmfDocument {
  readonly _aws: { readonly CloudWatchMetrics: { readonly Metrics: { readonly Name: string }[] }[] };
  readonly [key: string]: unknown;
}

/** The `Failed` metric documents of a run (EMF as Powertools writes it to stdout), by cluster. */
export function failedMetricsOf(result: RunResult): Map<string, Record<string, number>> {
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    publishRunMetrics(createMetrics(), result, {} as FleetMetrics);
  } finally {
    spy.mockRestore();
  }
  const failed = new Map<string, Record<string, number>>();
  for (const line of chunks.join('').split('\n')) {
    if (!line.startsWith('{')) continue;
    const doc = JSON.parse(line) as EmfDocument;
    if (!doc._aws?.CloudWatchMetrics[0]?.Metrics.some((m) => m.Name === METRIC_NAMES.failed)) continue;
    const cluster = String(doc.Cluster);
    const byClass = failed.get(cluster) ?? {};
    byClass[String(doc.FailureClass)] = Number(doc[METRIC_NAMES.failed]);
    failed.set(cluster, byClass);
  }
  return failed;
}
