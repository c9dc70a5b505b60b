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

/** Who owns an object: the registered cluster name and the installation (its control namespace). */
export interface Owner {
  readonly cluster: string;
  readonly installation: string;
}

/** The labels every object cred-courier creates in a cluster carries. */
export function ownerLabels(owner: Owner): Record<string, string> {
  return {
    [LABELS.managedBy]: MANAGER,
    [LABELS.cluster]: owner.cluster,
    [LABELS.installation]: owner.installation,
  };
}

/**
 * Whether labels prove the object is `owner`'s: the managed-by label, the cluster (when given: the
 * inventory is the installation's, not one cluster name's), and the installation.
 * An object without any installation label was written before installations were labelled (one
 * installation per cluster name could then exist) and counts as this installation's; one carrying
 * another installation's label never does.
 */
export function isOwnedBy(
  labels: Readonly<Record<string, string>> | undefined,
  owner: Pick<Owner, 'installation'> & { readonly cluster?: string },
): boolean {
  if (labels?.[LABELS.managedBy] !== MANAGER) return false;
  if (owner.cluster !== undefined && labels[LABELS.cluster] !== owner.cluster) return false;
  const installation = labels[LABELS.installation];
  return installation === undefined || installation === owner.installation;
}

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
