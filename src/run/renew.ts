/**
 * Renewal of a cluster's stored TokenRequest token, after delivery: once the token has used
 * `settings.tokenRenewalFraction` of its lifetime (exp − iat), a TokenRequest for cred-courier's own
 * ServiceAccount with the same lifetime, made with the current token; the new token is verified alone
 * (SelfSubjectReview: the same user), then stored as a new version of the cluster's kubeconfig secret
 * (the old one stays as AWSPREVIOUS). Orchestration: talks to Kubernetes and to Secrets Manager.
 *
 * A renewal that fails leaves the stored kubeconfig as it was (still valid until its exp) and is tried
 * again by the next run. Two runs renewing the same version at once store one new version: the other's
 * PutSecretValue is refused (see `renewalRequestToken`) and its token is never used.
 */
import type { KubeconfigSource } from '../aws/kubeconfig-store.ts';
import {
  ConcurrentRenewalError,
  putRenewedKubeconfig,
  readCurrentKubeconfig,
  type SecretsRenewalApi,
} from '../aws/kubeconfig-writer.ts';
import { clusterProxy } from '../aws/proxy-credentials.ts';
import type { ClusterSpec, Settings } from '../config/types.ts';
import { CredCourierError } from '../errors.ts';
import { whoAmI } from '../kube/access-review.ts';
import { parseKubeconfig } from '../kube/kubeconfig.ts';
import { requestServiceAccountToken } from '../kube/tokens.ts';
import { SERVICE_ACCOUNT } from '../register/rbac.ts';
import { storedAccess } from '../register/stored.ts';
import {
  minimalKubeconfig,
  renewalDue,
  type StoredCredential,
  storedCredential,
  tokenLifetimeSeconds,
} from '../register/token.ts';
import { classify, describeFailure } from '../report/classify.ts';
import type { RunLogger } from '../report/logger.ts';
import type { Redactor } from '../report/redact.ts';
import type { CredentialState } from './types.ts';

export interface RenewalContext {
  readonly cluster: ClusterSpec;
  readonly settings: Settings;
  readonly kubeconfigs: KubeconfigSource;
  readonly secrets: SecretsRenewalApi;
  readonly redactor: Redactor;
  readonly logger: RunLogger;
  /** The run's clock: when the renewal is due is judged by it. */
  readonly now: Date;
  readonly signal: AbortSignal;
  readonly onKubeRequest?: (method: string, path: string) => void;
}

/** The credential as a run reports it (no renewal). */
export function credentialState(credential: StoredCredential): CredentialState {
  return {
    kind: credential.kind,
    ...(credential.expiresAt ? { expiresAt: credential.expiresAt.toISOString() } : {}),
  };
}

/** Whether the credential delivery used is a token due for renewal at `now`. */
export function needsRenewal(credential: StoredCredential | undefined, fraction: number, now: Date): boolean {
  return credential?.kind === 'token' && renewalDue(credential.claims, fraction, now);
}

/**
 * Renews the stored token if it is (still) due, and reports the credential the secret holds afterwards.
 * Never throws: a failure is reported in `renewal` with its class.
 */
export async function renewStoredToken(
  context: RenewalContext,
  used: StoredCredential,
): Promise<CredentialState> {
  const { cluster, logger, redactor } = context;
  const secretId = cluster.kubeconfigSecret;
  const log = { cluster: cluster.name, secretId };
  try {
    // Past any cache: the version id is what makes concurrent renewals store one version.
    const current = await readCurrentKubeconfig(context.secrets, secretId);
    const parsed = parseKubeconfig(cluster, current.text);
    redactor.add(...parsed.secrets);
    const stored = storedCredential(parsed.kubeConfig.getCurrentUser() ?? {});
    if (!stored) throw new CredCourierError(`the kubeconfig in ${secretId} holds no credential`);
    if (!needsRenewal(stored, context.settings.tokenRenewalFraction, context.now)) {
      // Renewed by another run since this one read it (or replaced by register): nothing to do.
      context.kubeconfigs.remember?.(secretId, current.text);
      logger.info('stored token already renewed by another run', log);
      return credentialState(stored);
    }
    const renewed = await renewFrom(context, current, stored);
    context.kubeconfigs.remember?.(secretId, renewed.text);
    logger.info('stored token renewed', { ...log, expiresAt: renewed.expiresAt });
    return { kind: 'token', expiresAt: renewed.expiresAt, renewal: { outcome: 'renewed' } };
  } catch (error) {
    if (error instanceof ConcurrentRenewalError) {
      const state = await afterConcurrentRenewal(context, error.versionId).catch(() => undefined);
      if (state) return state;
    }
    const failure = { failureClass: classify(error), message: describeFailure(error, redactor) };
    logger.warn('stored token not renewed; the next run tries again', {
      ...log,
      failureClass: failure.failureClass,
      reason: failure.message,
    });
    return { ...credentialState(used), renewal: { outcome: 'failed', failure } };
  }
}

async function renewFrom(
  context: RenewalContext,
  current: { text: string; versionId: string },
  stored: StoredCredential,
): Promise<{ text: string; expiresAt: string }> {
  const { cluster, settings, redactor, signal } = context;
  const lifetime = tokenLifetimeSeconds(stored.claims);
  const subject = stored.claims?.subject;
  if (lifetime === undefined || !subject) {
    throw new CredCourierError(`the stored token of ${cluster.name} has no lifetime or subject to renew`);
  }
  const proxy = await clusterProxy(cluster, context.kubeconfigs, redactor);
  const connect = (text: string) =>
    storedAccess(cluster, settings, text, redactor, signal, context.onKubeRequest, proxy);
  // Ownership of the secret is checked before the token is minted: a foreign secret gets neither.
  return putRenewedKubeconfig(
    context.secrets,
    cluster.kubeconfigSecret,
    cluster.name,
    current.versionId,
    async () => {
      const access = connect(current.text);
      // The same lifetime as the current token; the apiserver may cap it (--service-account-max-token-expiration).
      const issued = await requestServiceAccountToken(
        access.apis.core,
        settings.controlNamespace,
        SERVICE_ACCOUNT,
        lifetime,
      );
      // Registered before anything can quote it (an error, a log line).
      redactor.add(issued.token);
      const server = access.kubeConfig.getCurrentCluster();
      if (!server) throw new CredCourierError(`the kubeconfig of ${cluster.name} names no cluster`);
      const text = minimalKubeconfig({
        cluster: cluster.name,
        server: server.server,
        ...(server.caData ? { caData: server.caData } : {}),
        insecureSkipTlsVerify: !server.caData && server.skipTLSVerify === true,
        token: issued.token,
      });
      // The new token alone must authenticate as the same user before it replaces the current one.
      const check = connect(text);
      const identity = await whoAmI(check.apis.authentication);
      if (identity !== subject) {
        throw new CredCourierError(
          `the renewed token of ${cluster.name} authenticates as ${identity ?? 'nobody the server names (SelfSubjectReview not served)'}, not ${subject}; not stored`,
        );
      }
      const expiresAt = (
        storedCredential({ token: issued.token })?.expiresAt ?? issued.expiresAt
      )?.toISOString();
      if (!expiresAt)
        throw new CredCourierError(`the renewed token of ${cluster.name} has no expiry; not stored`);
      return { text, expiresAt };
    },
  );
}

/**
 * Another run stored its renewal of the same version first: that version (`versionId`, the shared
 * ClientRequestToken) is current and works (the run that stored it verified it). Reported as the
 * credential now stored, without a renewal of this run's; undefined when that version is not the current
 * one (or cannot be read), and then the conflict is reported as a failure.
 */
async function afterConcurrentRenewal(
  context: RenewalContext,
  versionId: string,
): Promise<CredentialState | undefined> {
  const secretId = context.cluster.kubeconfigSecret;
  const current = await readCurrentKubeconfig(context.secrets, secretId);
  if (current.versionId !== versionId) return undefined;
  const parsed = parseKubeconfig(context.cluster, current.text);
  context.redactor.add(...parsed.secrets);
  const stored = storedCredential(parsed.kubeConfig.getCurrentUser() ?? {});
  if (stored?.kind !== 'token') return undefined;
  context.kubeconfigs.remember?.(secretId, current.text);
  context.logger.info("another run renewed the stored token at the same time; this run's token is unused", {
    cluster: context.cluster.name,
    secretId,
  });
  return credentialState(stored);
}
