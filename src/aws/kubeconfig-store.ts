/**
 * Kubeconfigs from Secrets Manager, one secret per cluster, cached across warm Lambda invocations for
 * a TTL. After a 401 the run invalidates the entry and reads it again once (the token may have been
 * rotated by `register --rotate`, or renewed by another container's run). A run that renews a token
 * puts the new kubeconfig into its own cache at once (`remember`).
 */
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { KubeconfigError } from '../errors.ts';
import { awsErrorSummary } from './assume-role.ts';
import { parseSecretArn, type SecretsApi } from './clients.ts';

export interface KubeconfigSource {
  /** The kubeconfig text of a cluster. Throws KubeconfigError naming the cluster and the secret. */
  get(cluster: string, secretId: string): Promise<string>;
  /** Forgets a cached kubeconfig so the next get reads it again. */
  invalidate(secretId: string): void;
  /**
   * Caches a kubeconfig this process just stored (a renewal), so this warm Lambda uses it at once rather
   * than after the TTL. Absent on sources without a cache.
   */
  remember?(secretId: string, text: string): void;
}

export function secretsManagerKubeconfigs(
  secrets: SecretsApi,
  options: { readonly ttlSeconds: number; readonly now?: () => number },
): KubeconfigSource {
  const now = options.now ?? Date.now;
  const cache = new Map<string, { text: string; readAt: number }>();
  // Without a TTL no entry could ever be read again: keeping one would hold every cluster's kubeconfig
  // to the run's end for nothing.
  const keep = (secretId: string, text: string) => {
    if (options.ttlSeconds > 0) cache.set(secretId, { text, readAt: now() });
  };
  return {
    async get(cluster, secretId) {
      const hit = cache.get(secretId);
      if (hit && now() - hit.readAt < options.ttlSeconds * 1000) return hit.text;
      let text: string | undefined;
      try {
        const response = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
        text =
          response.SecretString ??
          (response.SecretBinary ? Buffer.from(response.SecretBinary).toString('utf8') : undefined);
      } catch (error) {
        throw new KubeconfigError(cluster, unreadableMessage(secretId, error), { cause: error });
      }
      if (!text) throw new KubeconfigError(cluster, `secret ${secretId} is empty`);
      keep(secretId, text);
      return text;
    },
    invalidate(secretId) {
      cache.delete(secretId);
    },
    remember(secretId, text) {
      keep(secretId, text);
    },
  };
}

/** AWS errors that, for a secret of another account, mean its resource policy or KMS key is missing. */
const CROSS_ACCOUNT_SYMPTOMS = new Set([
  'AccessDeniedException',
  'ResourceNotFoundException',
  'DecryptionFailure',
  'KMSAccessDeniedException',
]);

/**
 * Where the read went (an ARN's region and account; a name's default region) and, when a secret named
 * by ARN was refused or not found, what reading another account's secret needs.
 */
export function unreadableMessage(secretId: string, error: unknown): string {
  const arn = parseSecretArn(secretId);
  const where = arn ? ` (read in ${arn.region}, account ${arn.accountId})` : ' (read in the default region)';
  const name = (error as { name?: string }).name ?? '';
  const crossAccount =
    arn && CROSS_ACCOUNT_SYMPTOMS.has(name)
      ? `; if account ${arn.accountId} is not the reader's own, the secret needs a resource policy allowing the reader's role secretsmanager:GetSecretValue and must be encrypted with a customer-managed KMS key whose key policy allows that role kms:Decrypt (the default aws/secretsmanager key cannot be used from another account)`
      : '';
  return `unable to read secret ${secretId}${where}: ${awsErrorSummary(error)}${crossAccount}`;
}

/** Module-level store for the Lambda: survives between warm invocations. */
let shared: KubeconfigSource | undefined;
export function sharedKubeconfigs(secrets: SecretsApi, ttlSeconds: number): KubeconfigSource {
  shared ??= secretsManagerKubeconfigs(secrets, { ttlSeconds });
  return shared;
}
