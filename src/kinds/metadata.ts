/**
 * The labels and annotations every Secret cred-courier writes carries. The managed-by label is also the
 * ownership test: cred-courier only ever modifies or deletes an object that has it.
 */
import type { KindId } from './kind.ts';

export const LABELS = {
  /** Marks every object cred-courier owns; checked atomically before every update. */
  managedBy: 'app.kubernetes.io/managed-by',
  /** The registered cluster name the Secret was written for. */
  cluster: 'cred-courier.io/cluster',
  /** The installation (its control namespace) that owns the object. */
  installation: 'cred-courier.io/installation',
  /** The credential kind (`ecr`, `s3`). */
  kind: 'cred-courier.io/kind',
} as const;

export const MANAGER = 'cred-courier';

export const ANNOTATIONS = {
  /** When the credentials in the Secret were minted (ISO 8601, UTC). */
  issuedAt: 'cred-courier.io/issued-at',
  /** When the first of the credentials in the Secret expires (ISO 8601, UTC). */
  expiresAt: 'cred-courier.io/expires-at',
  /** ECR: the registry hosts the Secret holds, comma-separated. */
  registries: 'cred-courier.io/registries',
  /** S3: the `bucket/prefix` scopes and access levels of the grant, comma-separated. */
  s3Scope: 'cred-courier.io/s3-scope',
} as const;

/** Labels of a Secret of `kind` written for `cluster`. */
export function ownershipLabels(cluster: string, kind: KindId): Record<string, string> {
  return { [LABELS.managedBy]: MANAGER, [LABELS.cluster]: cluster, [LABELS.kind]: kind };
}

/** Issued-at and expires-at annotations; expires-at is the earliest expiry of the parts. */
export function validityAnnotations(issuedAt: Date, expiries: readonly Date[]): Record<string, string> {
  const earliest = Math.min(...expiries.map((date) => date.getTime()));
  return {
    [ANNOTATIONS.issuedAt]: issuedAt.toISOString(),
    [ANNOTATIONS.expiresAt]: new Date(earliest).toISOString(),
  };
}
