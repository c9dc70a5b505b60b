/**
 * What an invocation may ask for: the Lambda's event (the EventBridge schedule's constant input, or
 * `sls invoke --data`). Validated once where it enters; other keys of EventBridge's own event envelope
 * are ignored.
 */
import { z } from 'zod';
import { CredCourierError } from '../errors.ts';
import { KIND_IDS } from '../kinds/kind.ts';

const RunRequestSchema = z.object({
  clusters: z.array(z.string().min(1)).optional(),
  kinds: z.array(z.enum(KIND_IDS)).optional(),
  prune: z.boolean().optional(),
});

export type RunRequest = z.infer<typeof RunRequestSchema>;

export function parseRunRequest(event: unknown): RunRequest {
  const parsed = RunRequestSchema.safeParse(event ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(
    (issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`,
  );
  throw new CredCourierError(`invalid invocation event: ${problems.join('; ')}`);
}
