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

/** What a grant lets the session do under its prefix. */
export type S3Access = 'read' | 'write' | 'readwrite';

export interface S3BucketGrant {
  readonly bucket: string;
  /**
   * Key prefix, normalised to end in `/` (so `reports` never opens `reports-old/`); absent: the whole
   * bucket. No wildcards.
   */
  readonly prefix?: string;
  readonly access: S3Access;
}

/** One S3 grant: an STS session limited to some buckets and prefixes, delivered as one Opaque Secret. */
export interface S3Grant {
  /** Name of the Opaque Secret written into each of the grant's namespaces. */
  readonly secretName: string;
  /** The role assumed; its own policy is the ceiling, the session policy narrows it to the buckets. */
  readonly roleArn: string;
  /** Exact namespace names, a subset of the cluster's selection; absent: all of the cluster's. */
  readonly namespaces?: readonly string[];
  readonly buckets: readonly S3BucketGrant[];
  /** Session lifetime, 900..3600 (role chaining caps it at 1 h) unless `longSessions` is set. */
  readonly durationSeconds: number;
  /** Region written to AWS_REGION and the config profile; STS is called there too. */
  readonly region: string;
  /** KMS keys the objects are encrypted with; kms actions are granted on these keys only. */
  readonly kmsKeyArns?: readonly string[];
  /** Where Pods mount the Secret as a volume; the `config` profile's credential_process reads from it. */
  readonly mountPath: string;
  /** Allows durationSeconds above 3600: the minting identity is an IAM user, not a role session. */
  readonly longSessions: boolean;
}

/** A forward proxy (HTTP CONNECT) for one cluster's Kubernetes connections. */
export interface ProxySpec {
  /** The proxy's origin, e.g. `http://proxy.example:3128`: scheme, host and port, never credentials. */
  readonly url: string;
  /** Secrets Manager name or ARN of its basic credentials (JSON `{"username","password"}`); none: no auth. */
  readonly credentialsSecret?: string;
}

export interface ClusterSpec {
  /** DNS label, unique in the file. */
  readonly name: string;
  /** Secrets Manager name or ARN holding the cluster's kubeconfig. */
  readonly kubeconfigSecret: string;
  readonly namespaces: NamespaceSelection;
  readonly ecr?: EcrSpec;
  /** S3 grants; empty when the cluster receives no S3 credentials. */
  readonly s3: readonly S3Grant[];
  /** Allows a kubeconfig with `insecure-skip-tls-verify`; warned about on every run. */
  readonly allowInsecureSkipTlsVerify: boolean;
  /**
   * Allows a kubeconfig without an embedded CA, trusting the system's root CAs (any publicly trusted
   * certificate for the server's name); warned about on every run.
   */
  readonly trustSystemRoots: boolean;
  /** Take over Secrets of the same name that cred-courier did not create. */
  readonly adoptExistingSecrets: boolean;
  /**
   * `false`: registered with `register --without-secret-guard` (exact namespace names only), so `register`
   * and `check` do not require the secret guard. Absent: the guard is required.
   */
  readonly secretGuard?: false;
  /** The cluster's Kubernetes connections go through this proxy (from the entry or `defaults`). */
  readonly proxy?: ProxySpec;
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
  /** How often S3 credentials are delivered (the S3 schedule); checked against each grant's duration. */
  readonly s3IntervalMinutes: number;
  /** A stored TokenRequest token is renewed once this fraction of its lifetime is used (0.1-0.9). */
  readonly tokenRenewalFraction: number;
}

export interface Config {
  /** The file it was loaded from, for messages. */
  readonly file: string;
  readonly settings: Settings;
  readonly clusters: readonly ClusterSpec[];
}
