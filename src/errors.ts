/**
 * The one error family of cred-courier. Every error the core throws on purpose is a `CredCourierError`,
 * so callers catch the family with one `instanceof` and show `message` to the user without a stack.
 * Messages never carry secret material: tokens, keys and kubeconfig credentials stay out of them.
 */
export class CredCourierError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CredCourierError';
  }
}

/**
 * Bad input or setup, found before anything was tried: a flag, a file, the registration file, the AWS
 * region or credentials. The CLI exits 2 for these and 1 for a step that was tried and failed.
 */
export class UsageError extends CredCourierError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/**
 * Thrown once, before any cluster is contacted or any credential minted, when the AWS SDK has no region
 * or no credentials: one root cause, one message with the fix, instead of one failure per cluster.
 */
export class AwsSetupError extends UsageError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AwsSetupError';
  }
}

/** Thrown when the registration file cannot be read, parsed or validated. `issues` lists every problem. */
export class ConfigError extends UsageError {
  readonly file: string;
  readonly issues: readonly string[];
  constructor(file: string, issues: readonly string[], options?: { cause?: unknown }) {
    super(
      `${file}: ${issues.length === 1 ? issues[0] : `${issues.length} problems:\n  - ${issues.join('\n  - ')}`}`,
      options,
    );
    this.name = 'ConfigError';
    this.file = file;
    this.issues = issues;
  }
}

/** Thrown when a cluster's kubeconfig is missing, unreadable, or uses a form cred-courier refuses. */
export class KubeconfigError extends CredCourierError {
  readonly cluster: string;
  /** The message without the `cluster X: kubeconfig:` prefix, for reports that already say both. */
  readonly detail: string;
  constructor(cluster: string, message: string, options?: { cause?: unknown }) {
    super(`cluster ${cluster}: kubeconfig: ${message}`, options);
    this.name = 'KubeconfigError';
    this.cluster = cluster;
    this.detail = message;
  }
}

/** Thrown when AWS refuses or fails to mint a credential. */
export class MintError extends CredCourierError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MintError';
  }
}

/**
 * Thrown when a Kubernetes object cred-courier would write is not cred-courier's (no managed-by label,
 * another type), or changed under it. The object is left as it was.
 */
export class OwnershipConflictError extends CredCourierError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OwnershipConflictError';
  }
}

/** Thrown when a namespace or ServiceAccount the config names exactly does not exist. It is never created. */
export class MissingObjectError extends CredCourierError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MissingObjectError';
  }
}

/**
 * Thrown when an apiserver answers with a redirect (any 3xx). It is never followed: following would send
 * the request again, body and credentials included, to wherever the Location points.
 */
export class RedirectRefusedError extends CredCourierError {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.name = 'RedirectRefusedError';
    this.status = status;
  }
}

/**
 * A cluster's connection through its forward proxy failed at the proxy: it could not be reached, it
 * asked for credentials (407), it refused or could not open the tunnel to the cluster, or its credentials
 * secret is unusable. Messages name the cluster and the proxy's origin, never its credentials.
 */
export class ProxyError extends CredCourierError {
  readonly cluster: string;
  readonly reason: 'unreachable' | 'auth' | 'denied' | 'tunnel';
  /** The proxy's answer to CONNECT, when it gave one. */
  readonly status?: number;
  constructor(
    cluster: string,
    reason: ProxyError['reason'],
    message: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(`cluster ${cluster}: ${message}`, options);
    this.name = 'ProxyError';
    this.cluster = cluster;
    this.reason = reason;
    if (options?.status !== undefined) this.status = options.status;
  }
}
