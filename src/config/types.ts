/**
 * The registration file after validation and after `defaults` were applied: what the rest of the
 * pipeline reads. Everything here is readonly; the loader builds it once per run.
 */

/** Which namespaces of a cluster receive credentials. */
export interface NamespaceSelection {
  /** Exact names or globs (`team-*`, `?` for one character). Empty with no selector selects nothing. */
  readonly names: readonly string[];
  /** A Kubernetes label selector (`env=prod,tier in (web,api)`); namespaces matching it are selected too. */
  readonly selector?: string;
  /** Exact names or globs removed from the selection, whatever selected them. */
  readonly exclude: readonly string[];
}

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

export interface ClusterSpec {
  /** DNS label, unique in the file. */
  readonly name: string;
  /** Secrets Manager name or ARN holding the cluster's kubeconfig. */
  readonly kubeconfigSecret: string;
  readonly namespaces: NamespaceSelection;
  readonly ecr?: EcrSpec;
  /** Allows a kubeconfig with `insecure-skip-tls-verify`; warned about on every run. */
  readonly allowInsecureSkipTlsVerify: boolean;
  /** Take over Secrets of the same name that cred-courier did not create. */
  readonly adoptExistingSecrets: boolean;
}

/** Run-wide settings, all with defaults. */
export interface Settings {
  /** Clusters worked on at once. */
  readonly concurrency: number;
  /** Requests in flight at once within one cluster. */
  readonly requestConcurrency: number;
  /** Each Kubernetes request is abandoned after this long. */
  readonly requestTimeoutSeconds: number;
  /** A cluster's whole delivery is abandoned after this long. */
  readonly clusterDeadlineSeconds: number;
  /** How long a kubeconfig read from Secrets Manager is reused by a warm Lambda. */
  readonly kubeconfigCacheSeconds: number;
  /** Namespace on each remote cluster holding cred-courier's own objects (identity, inventory). */
  readonly controlNamespace: string;
}

export interface Config {
  /** The file it was loaded from, for messages. */
  readonly file: string;
  readonly settings: Settings;
  readonly clusters: readonly ClusterSpec[];
}
