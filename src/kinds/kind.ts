import type { AwsClients } from '../aws/clients.ts';
import type { ClusterSpec } from '../config/types.ts';

/** The credential kinds cred-courier knows. Adding one means a folder under `src/kinds/` and a line here. */
export const KIND_IDS = ['ecr', 's3', 'aws'] as const;
export type KindId = (typeof KIND_IDS)[number];

/** A Kubernetes Secret as cred-courier writes it. `data` values are base64. */
export interface SecretManifest {
  readonly apiVersion: 'v1';
  readonly kind: 'Secret';
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations: Readonly<Record<string, string>>;
  };
  readonly type: string;
  readonly data: Readonly<Record<string, string>>;
}

/** What a kind wants in one cluster: one Secret name, written into namespaces, made from minted requests. */
export interface KindTarget<Request> {
  readonly kind: KindId;
  readonly secretName: string;
  /** Namespaces of this target when it narrows the cluster's selection; absent: the cluster's namespaces. */
  readonly namespaces?: readonly string[];
  /** The credentials this Secret is made of, in the order render receives them. */
  readonly requests: readonly Request[];
  /** ServiceAccounts that should reference the Secret (`imagePullSecrets`), per namespace. */
  readonly serviceAccounts: readonly string[];
}

/** A credential fresh from AWS. */
export interface Minted<Credential> {
  readonly value: Credential;
  readonly expiresAt: Date;
  /** Every string in `value` that must never be logged; the run registers them with the redactor. */
  readonly secrets: readonly string[];
}

export interface RenderInput<Request, Credential> {
  readonly cluster: ClusterSpec;
  readonly target: KindTarget<Request>;
  readonly namespace: string;
  /** One minted credential per request of the target, same order. */
  readonly credentials: readonly Minted<Credential>[];
  readonly issuedAt: Date;
}

/** What minting may use: AWS clients, the clock, and a way to report corrected provider data. */
export interface MintDeps {
  readonly aws: AwsClients;
  readonly now: () => Date;
  /** Called when provider data had to be corrected; never with secret values. */
  readonly warn: (message: string, attributes: Record<string, unknown>) => void;
  /** Facts worth a log line (e.g. STS's packed policy size); never secret values. */
  readonly info: (message: string, attributes: Record<string, unknown>) => void;
  /**
   * Registers secret strings with the run's redactor. A kind calls it the moment AWS hands it a secret,
   * before any further request (a probe) whose error could quote it; `Minted.secrets` is registered too.
   */
  readonly registerSecrets: (...secrets: readonly string[]) => void;
}

/**
 * One credential kind: how it is planned (pure), minted (AWS) and rendered (pure). The run never looks
 * inside `Request` or `Credential`; it dedupes requests by `scopeKey` and hands the results back.
 */
export interface CredentialKind<Request, Credential> {
  readonly id: KindId;
  /** Pure: the Secrets this kind wants in a cluster; none when the cluster does not use the kind. */
  targets(cluster: ClusterSpec): readonly KindTarget<Request>[];
  /** Pure: requests with equal keys are minted once per run, whichever clusters share them. */
  scopeKey(request: Request): string;
  /** AWS: mints one credential. Throws MintError with a message naming the scope, never a secret. */
  mint(request: Request, deps: MintDeps): Promise<Minted<Credential>>;
  /** Pure: the Secret for one namespace. */
  render(input: RenderInput<Request, Credential>): SecretManifest;
}
