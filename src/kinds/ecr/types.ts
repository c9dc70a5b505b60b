/** The `ecr` part of a resolved cluster (defaults applied). */

/** One ECR registry a cluster pulls from. */
export interface EcrRegistry {
  /** 12-digit account of the registry; when absent, the account of the identity that mints the token. */
  readonly accountId?: string;
  readonly region: string;
  /** A role to assume for minting; its own policy is the ceiling of what the token can pull. */
  readonly roleArn?: string;
}

export interface EcrSpec {
  /** Name of the `kubernetes.io/dockerconfigjson` Secret written into each selected namespace. */
  readonly secretName: string;
  readonly registries: readonly EcrRegistry[];
  /** Repository names (`app/api`) or prefixes ending in `/*` or `*` the cluster may pull; absent: all. */
  readonly repositories?: readonly string[];
  /** ServiceAccounts whose `imagePullSecrets` get the Secret appended, in every selected namespace. */
  readonly serviceAccounts: readonly string[];
}
