/** A resolved cluster entry for unit tests, with the loader's defaults. */
import type { ClusterSpec } from '../../src/config/types.ts';

/** The cluster `gke-prod` (namespace app, no S3 grants, every flag off); `overrides` replace fields. */
export function clusterSpec(overrides: Partial<Omit<ClusterSpec, 's3'>> = {}): ClusterSpec {
  return {
    name: 'gke-prod',
    kubeconfigSecret: 'cred-courier/clusters/gke-prod',
    namespaces: { names: ['app'], exclude: [] },
    s3: [],
    allowInsecureSkipTlsVerify: false,
    trustSystemRoots: false,
    adoptExistingSecrets: false,
    ...overrides,
  };
}
