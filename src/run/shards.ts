/**
 * A sharded run's plan (pure): the clusters a run request selects, in the registration file's order,
 * split into shards of at most `shardSize`, each a run request of its own (`{clusters, kinds, prune}`)
 * that one invocation serves. The selection is the run's own (`planRun`): the same clusters, the same
 * refusal of a name the file does not have, so the shards together are exactly the unsharded run.
 */
import type { Config } from '../config/types.ts';
import { planRun } from '../plan/plan.ts';
import type { PlanRequest, RunRequest } from './request.ts';

/** What the plan event returns: the shards, in order; none when the request selects no cluster. */
export interface ShardPlan {
  readonly shards: readonly RunRequest[];
}

export function planShards(config: Config, plan: PlanRequest): ShardPlan {
  const { clusters, kinds, prune } = plan.request ?? {};
  const selected = planRun(config, {
    ...(clusters ? { clusters } : {}),
    ...(kinds ? { kinds } : {}),
  }).clusters.map((planned) => planned.cluster.name);
  const shards: RunRequest[] = [];
  for (let start = 0; start < selected.length; start += plan.shardSize) {
    shards.push({
      clusters: selected.slice(start, start + plan.shardSize),
      ...(kinds ? { kinds } : {}),
      ...(prune !== undefined ? { prune } : {}),
    });
  }
  return { shards };
}
