/**
 * What an invocation may ask for: the Lambda's event (the EventBridge schedule's constant input, or
 * `sls invoke --data`). Validated once where it enters; other keys of EventBridge's own event envelope
 * are ignored by a run request.
 *
 * A check request (`{"check": {}}` or `{"check": {"clusters": [...]}}`) asks for `check`'s read-only
 * per-cluster checks from where the function runs instead of a delivery. It is validated strictly: no
 * other key is allowed beside `check`, so a mistyped event can never turn a check into a delivery.
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

export type RunRequest = z.infer<typeof RunRequestSchema>;

/** The clusters to check; all when absent. */
export type CheckRequest = z.infer<typeof CheckRequestSchema>['check'];

export type Invocation =
  | { readonly mode: 'run'; readonly request: RunRequest }
  | { readonly mode: 'check'; readonly request: CheckRequest };

function invalid(issues: readonly z.core.$ZodIssue[]): CredCourierError {
  const problems = issues.map((issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`);
  return new CredCourierError(`invalid invocation event: ${problems.join('; ')}`);
}

export function parseRunRequest(event: unknown): RunRequest {
  const parsed = RunRequestSchema.safeParse(event ?? {});
  if (parsed.success) return parsed.data;
  throw invalid(parsed.error.issues);
}

/** A check request when the event has a `check` key, a run request otherwise. */
export function parseInvocation(event: unknown): Invocation {
  if (event !== null && typeof event === 'object' && Object.hasOwn(event, 'check')) {
    const parsed = CheckRequestSchema.safeParse(event);
    if (!parsed.success) throw invalid(parsed.error.issues);
    return { mode: 'check', request: parsed.data.check };
  }
  return { mode: 'run', request: parseRunRequest(event) };
}
