/** A run's counts, from its outcomes (pure): what dashboards and exit codes read. */
import type { ClusterResult, RunResult } from './types.ts';

/** Counts the clusters' and Secrets' outcomes; `mintCalls` is how many mints the plan asked for. */
export function summarize(clusters: readonly ClusterResult[], mintCalls: number): RunResult['summary'] {
  const secrets = clusters.flatMap((c) => c.secrets);
  return {
    clusters: clusters.length,
    clustersFailed: clusters.filter((c) => !c.ok).length,
    secretsDelivered: secrets.filter((s) => s.action).length,
    secretsFailed: secrets.filter((s) => s.failure).length,
    secretsPruned: clusters.flatMap((c) => c.pruned).filter((p) => !p.failure).length,
    mintCalls,
  };
}
