/** What a run reports: per cluster, per Secret, and overall. Plain data: logged, printed as JSON, stored. */
import type { KindId } from '../kinds/kind.ts';
import type { WriteAction } from '../kube/secrets.ts';
import type { ReferenceAction } from '../kube/service-accounts.ts';
import type { FailureClass } from '../report/classify.ts';

export interface Failure {
  readonly failureClass: FailureClass;
  /** Safe to show: never holds secret material. */
  readonly message: string;
}

export interface SecretOutcome {
  readonly kind: KindId;
  readonly namespace: string;
  readonly secretName: string;
  readonly action?: WriteAction;
  /** When the delivered credentials expire (ISO 8601). */
  readonly expiresAt?: string;
  readonly serviceAccounts?: Readonly<Record<string, ReferenceAction | 'failed'>>;
  readonly failure?: Failure;
}

export interface PrunedSecret {
  readonly kind: KindId;
  readonly namespace: string;
  readonly secretName: string;
  readonly failure?: Failure;
}

export interface ClusterResult {
  readonly cluster: string;
  readonly ok: boolean;
  /** A failure that stopped the whole cluster (unreachable, 401, refused kubeconfig, deadline). */
  readonly failure?: Failure;
  readonly secrets: readonly SecretOutcome[];
  readonly pruned: readonly PrunedSecret[];
  readonly warnings: readonly string[];
  readonly kubeRequests: number;
  readonly durationMs: number;
  /** The stored kubeconfig's own credential: when it expires, and this run's renewal of it. */
  readonly credential?: CredentialState;
}

/** What the stored kubeconfig authenticates with, and until when. */
export interface CredentialState {
  /** `token`: a JWT with an expiry; `long-lived-token`: a token that never expires; `client-certificate`. */
  readonly kind: 'token' | 'long-lived-token' | 'client-certificate';
  /** When it stops working (JWT `exp`, certificate `notAfter`; after a renewal, the new token's); absent when never. */
  readonly expiresAt?: string;
  /** This run's renewal, when one was due. */
  readonly renewal?: { readonly outcome: 'renewed' | 'failed'; readonly failure?: Failure };
}

export interface MintOutcome {
  readonly kind: KindId;
  /** A description of the scope (region, role), never the credential. */
  readonly scope: string;
  readonly clusters: readonly string[];
  readonly expiresAt?: string;
  readonly failure?: Failure;
}

export interface RunResult {
  readonly ok: boolean;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly kinds: readonly KindId[];
  readonly mints: readonly MintOutcome[];
  readonly clusters: readonly ClusterResult[];
  /** Counts for dashboards and exit codes. */
  readonly summary: {
    readonly clusters: number;
    readonly clustersFailed: number;
    readonly secretsDelivered: number;
    readonly secretsFailed: number;
    readonly secretsPruned: number;
    readonly mintCalls: number;
  };
}

/** A failure as log attributes (`message` is reserved by structured loggers, so the text is `reason`). */
export function failureAttributes(failure: Failure | undefined): Record<string, string> {
  return failure ? { failureClass: failure.failureClass, reason: failure.message } : {};
}
