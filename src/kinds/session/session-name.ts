/** STS RoleSessionName for a grant (pure): readable in CloudTrail, valid, at most 64 characters. */
import { createHash } from 'node:crypto';

const MAX_LENGTH = 64;
const INVALID = /[^\w+=,.@-]/g;

/**
 * `cc-<cluster>-<secretName>`, with characters STS refuses replaced by `-`. When longer than 64, the
 * end is replaced by a short hash of the full name so two long names stay distinct.
 */
export function roleSessionName(cluster: string, secretName: string): string {
  const full = `cc-${cluster}-${secretName}`.replace(INVALID, '-');
  if (full.length <= MAX_LENGTH) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, MAX_LENGTH - hash.length - 1)}-${hash}`;
}
