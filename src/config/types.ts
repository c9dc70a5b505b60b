/**
 * The registration file after validation and after `defaults` were applied: what the rest of the
 * pipeline reads. Everything here is readonly; the loader builds it once per run.
 */
import type { KindSpecs } from '../kinds/config.ts';

/** Which namespaces of a cluster receive credentials. */
export interface NamespaceSelection {
  /** Exact names or globs (`team-*`, `?` for one character). Empty with no selector selects nothing. */
  readonly names: readonly string[];
  /** A Kubernetes label selector (`env=prod,tier in (web,api)`); namespaces matching it are selected too. */
  readonly selector?: string;
  /** Exact names or globs removed from the selection, whatever selected them. */
  readonly exclude: readonly string[];
}

export type { EcrRegistry, EcrSpec } from '../kinds/ecr/types.ts';
export type { S3Access, S3BucketGrant, S3Grant } from '../kinds/s3/types.ts';

/** A forward proxy (HTTP CONNECT) for one cluster's Kubernetes connections. */
export interface ProxySpec {
  /** The proxy's origin, e.g. `http://proxy.example:3128`: scheme, host and port, never credentials. */
  readonly url: string;
  /** Secrets Manager name or ARN of its basic credentials (JSON `{"username","password"}`); none: no auth. */
  readonly credentialsSecret?: string;
}

/** A cluster as the pipeline reads it: the shared keys, and each kind's part (`KindSpecs`). */
export interface ClusterSpec extends KindSpecs {
  /** DNS label, unique in the file. */
  readonly name: string;
  /** Secrets Manager name or ARN holding the cluster's kubeconfig. */
  readonly kubeconfigSecret: string;
  readonly namespaces: NamespaceSelection;
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
