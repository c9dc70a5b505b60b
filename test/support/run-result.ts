/** A run's result built from its clusters and mints, with the summary counted from them, for report tests. */
import type { KindId } from '../../src/kinds/kind.ts';
import { summarize } from '../../src/run/summary.ts';
import type { ClusterResult, MintOutcome, RunResult } from '../../src/run/types.ts';

export function runResultOf(
  clusters: readonly ClusterResult[],
  options: {
    readonly mints?: readonly MintOutcome[];
    readonly kinds?: readonly KindId[];
    readonly at?: Date;
    readonly durationMs?: number;
    /** The plan's mint calls, when not one per mint outcome. */
    readonly mintCalls?: number;
  } = {},
): RunResult {
  const mints = options.mints ?? [];
  return {
    ok: clusters.every((c) => c.ok) && mints.every((m) => !m.failure),
    startedAt: (options.at ?? new Date('2026-01-01T00:00:00Z')).toISOString(),
    durationMs: options.durationMs ?? 10,
    kinds: options.kinds ?? ['ecr'],
    mints,
    clusters,
    summary: summarize(clusters, options.mintCalls ?? mints.length),
  };
}
