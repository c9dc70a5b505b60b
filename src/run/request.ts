/**
 * What an invocation may ask for: the Lambda's event (the EventBridge schedule's constant input, or
 * `sls invoke --data`). Validated once where it enters; other keys of EventBridge's own event envelope
 * are ignored by a run request.
 *
 * A check request (`{"check": {}}` or `{"check": {"clusters": [...]}}`) asks for `check`'s read-only
 * per-cluster checks from where the function runs instead of a delivery. It is validated strictly: no
 * other key is allowed beside `check`, so a mistyped event can never turn a check into a delivery.
 *
 * A plan request (`{"plan": {"shardSize": 50, "request": {"kinds": ["ecr"]}}}`) is the first step of a
 * sharded run (scripts/fanout.ts): it delivers nothing and returns the run request split into shards of
 * at most `shardSize` clusters (src/run/shards.ts), each a run request of its own. Strict too: a plan
 * never turns into a delivery of the whole fleet in one invocation.
 */
import { z } from 'zod';
import { CredCourierError } from '../errors.ts';
import { KIND_IDS } from '../kinds/kind.ts';

const clusterNames = z.array(z.string().min(1));

const RunRequestSchema = z.object({
  clusters: clusterNames.optional(),
  kinds: z.array(z.enum(KIND_IDS)).optional(),
  prune: z.boolean().optional(),
});

const CheckRequestSchema = z.strictObject({
  check: z.strictObject({ clusters: clusterNames.min(1).optional() }),
});

/** Clusters per shard: at least 1; at most what one invocation could ever be asked to serve. */
export const MAX_SHARD_SIZE = 10_000;

const PlanRequestSchema = z.strictObject({
  plan: z.strictObject({
    shardSize: z.number().int().min(1).max(MAX_SHARD_SIZE),
    // The run request to shard, as the schedule would send it to an unsharded function.
    request: z.strictObject(RunRequestSchema.shape).optional(),
  }),
});

export type RunRequest = z.infer<typeof RunRequestSchema>;

/** A run request to split into shards of at most `shardSize` clusters. */
export type PlanRequest = z.infer<typeof PlanRequestSchema>['plan'];

/** The clusters to check; all when absent. */
export type CheckRequest = z.infer<typeof CheckRequestSchema>['check'];

export type Invocation =
  | { readonly mode: 'run'; readonly request: RunRequest }
  | { readonly mode: 'check'; readonly request: CheckRequest }
  | { readonly mode: 'plan'; readonly request: PlanRequest };

function invalid(issues: readonly z.core.$ZodIssue[]): CredCourierError {
  const problems = issues.map((issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`);
  return new CredCourierError(`invalid invocation event: ${problems.join('; ')}`);
}

export function parseRunRequest(event: unknown): RunRequest {
  const parsed = RunRequestSchema.safeParse(event ?? {});
  if (parsed.success) return parsed.data;
  throw invalid(parsed.error.issues);
}

const has = (event: unknown, key: string) =>
  event !== null && typeof event === 'object' && Object.hasOwn(event, key);

/** A check request when the event has a `check` key, a plan request for a `plan` key, a run request otherwise. */
export function parseInvocation(event: unknown): Invocation {
  if (has(event, 'check')) {
    const parsed = CheckRequestSchema.safeParse(event);
    if (!parsed.success) throw invalid(parsed.error.issues);
    return { mode: 'check', request: parsed.data.check };
  }
  if (has(event, 'plan')) {
    const parsed = PlanRequestSchema.safeParse(event);
    if (!parsed.success) throw invalid(parsed.error.issues);
    return { mode: 'plan', request: parsed.data.plan };
  }
  return { mode: 'run', request: parseRunRequest(event) };
}
