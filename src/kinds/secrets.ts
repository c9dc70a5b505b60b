/**
 * The Secrets each kind writes into a cluster, from the file alone (pure): what RBAC, the secret guard
 * and the inventory are derived from. A new kind adds its Secrets here.
 */
import type { KindSpecs } from './config.ts';
import type { KindId } from './kind.ts';
import type { SessionGrant } from './session/config.ts';

export interface KindSecret {
  readonly kind: KindId;
  readonly secretName: string;
  /** The exact namespaces the Secret is limited to; absent: every namespace the cluster selects. */
  readonly namespaces?: readonly string[];
  /** Its `type`, which cred-courier never changes. */
  readonly type: string;
}

export const SECRET_TYPES = { pull: 'kubernetes.io/dockerconfigjson', session: 'Opaque' } as const;

function sessionSecrets(kind: KindId, grants: readonly SessionGrant[]): KindSecret[] {
  return grants.map((grant) => ({
    kind,
    secretName: grant.secretName,
    ...(grant.namespaces ? { namespaces: grant.namespaces } : {}),
    type: SECRET_TYPES.session,
  }));
}

/** Every Secret the cluster's config has cred-courier write, kind by kind. */
export function kindSecrets(cluster: KindSpecs): KindSecret[] {
  return [
    ...(cluster.ecr
      ? [
          {
            kind: 'ecr' as const,
            secretName: cluster.ecr.secretName,
            type: SECRET_TYPES.pull,
          },
        ]
      : []),
    ...sessionSecrets('s3', cluster.s3),
    ...sessionSecrets('aws', cluster.aws ?? []),
  ];
}
