/**
 * Delivery to one cluster: kubeconfig → namespaces → one write per Secret → ServiceAccount references →
 * prune → inventory. Failures of one Secret are recorded and the rest go on; failures that make the
 * whole cluster unreachable (TLS, 401, refused, deadline) stop this cluster only.
 */
import pLimit from 'p-limit';
import type { KubeconfigSource } from '../aws/kubeconfig-store.ts';
import type { SecretsRenewalApi } from '../aws/kubeconfig-writer.ts';
import type { Settings } from '../config/types.ts';
import type { KindId, Minted } from '../kinds/kind.ts';
import type { Owner } from '../kinds/metadata.ts';
import type { KubeClient } from '../kube/client.ts';
import { deadline } from '../kube/deadline.ts';
import {
  type Inventory,
  inventoryEntry,
  managedNames,
  parseInventoryEntry,
  readInventory,
  writeInventory,
} from '../kube/inventory.ts';
import { withRetry } from '../kube/retry.ts';
import { type Requester, removeOwnedSecret, writeSecret } from '../kube/secrets.ts';
import { ensurePullSecretReference } from '../kube/service-accounts.ts';
import { type PlannedCluster, type PlannedTarget, targetNamespaces } from '../plan/plan.ts';
import type { StoredCredential } from '../register/token.ts';
import { classify, describeFailure, type FailureClass } from '../report/classify.ts';
import type { RunLogger } from '../report/logger.ts';
import type { Redactor } from '../report/redact.ts';
import { connectCluster, resolveNamespaces } from './connect.ts';
import { credentialState, needsRenewal, renewStoredToken } from './renew.ts';
import type { ClusterResult, Failure, PrunedSecret, SecretOutcome } from './types.ts';
import { failureAttributes } from './types.ts';

export interface ClusterRunContext {
  readonly planned: PlannedCluster;
  readonly minted: ReadonlyMap<string, Minted<unknown> | { failure: Failure }>;
  readonly settings: Settings;
  readonly prune: boolean;
  readonly kinds: readonly KindId[];
  readonly kubeconfigs: KubeconfigSource;
  /** Where a renewed kubeconfig is stored (src/run/renew.ts). */
  readonly secrets: SecretsRenewalApi;
  readonly redactor: Redactor;
  readonly logger: RunLogger;
  readonly now: () => Date;
  readonly runSignal: AbortSignal;
  readonly onKubeRequest?: (cluster: string, method: string, path: string) => void;
}

/** Classes after which nothing else in the cluster can succeed in this run. */
const CLUSTER_FATAL: ReadonlySet<FailureClass> = new Set([
  'unauthorized',
  'tls',
  'refused',
  'dns',
  'timeout',
  'network',
  'kubeconfig',
  'server',
  'throttled',
  'redirect',
  // Every request of the cluster goes through its proxy: what fails there fails them all.
  'proxy-unreachable',
  'proxy-auth',
  'proxy-denied',
  'proxy-tunnel',
]);

/** Retries per request for transient classes; the cluster deadline bounds them too. */
const RETRIES = 2;

class ClusterStopped extends Error {
  readonly failure: Failure;
  constructor(failure: Failure) {
    super(failure.message);
    this.failure = failure;
  }
}

export async function deliverCluster(context: ClusterRunContext): Promise<ClusterResult> {
  const first = await attempt(context);
  if (first.result.failure?.failureClass !== 'unauthorized') return renewAfter(context, first);
  // The stored token may have been rotated or renewed since it was cached: read it again, once.
  context.kubeconfigs.invalidate(context.planned.cluster.kubeconfigSecret);
  context.logger.warn('401 from the cluster; reading its kubeconfig again and retrying once', {
    cluster: context.planned.cluster.name,
  });
  const second = await attempt(context);
  return renewAfter(context, {
    ...second,
    result: { ...second.result, kubeRequests: first.result.kubeRequests + second.result.kubeRequests },
  });
}

/**
 * After delivery (which used the still-valid token), renews the stored token when due. A renewal
 * failure is reported in `credential.renewal` and never makes the cluster fail; a cluster that could
 * not be reached at all is not renewed (its next run tries).
 */
async function renewAfter(
  context: ClusterRunContext,
  { result, credential }: { result: ClusterResult; credential?: StoredCredential },
): Promise<ClusterResult> {
  if (!credential) return result;
  const now = context.now();
  if (result.failure || !needsRenewal(credential, context.settings.tokenRenewalFraction, now)) {
    return { ...result, credential: credentialState(credential) };
  }
  let renewalRequests = 0;
  const renewalDeadline = deadline(context.settings.clusterDeadlineSeconds * 1000, context.runSignal);
  const state = await renewStoredToken(
    {
      cluster: context.planned.cluster,
      settings: context.settings,
      kubeconfigs: context.kubeconfigs,
      secrets: context.secrets,
      redactor: context.redactor,
      logger: context.logger,
      now,
      signal: renewalDeadline.signal,
      onKubeRequest: (method, path) => {
        renewalRequests++;
        context.onKubeRequest?.(context.planned.cluster.name, method, path);
      },
    },
    credential,
  ).finally(renewalDeadline.dispose);
  return { ...result, kubeRequests: result.kubeRequests + renewalRequests, credential: state };
}

async function attempt(
  context: ClusterRunContext,
): Promise<{ result: ClusterResult; credential?: StoredCredential }> {
  let credential: StoredCredential | undefined;
  const result = await deliverWithConnection(context, (used) => {
    credential = used;
  });
  return { result, ...(credential ? { credential } : {}) };
}

/** One attempt on the cluster's own deadline, released when the attempt ends rather than when it fires. */
async function deliverWithConnection(
  context: ClusterRunContext,
  onCredential: (credential: StoredCredential) => void,
): Promise<ClusterResult> {
  const clusterDeadline = deadline(context.settings.clusterDeadlineSeconds * 1000, context.runSignal);
  try {
    return await deliverWithin(context, clusterDeadline.signal, onCredential);
  } finally {
    clusterDeadline.dispose();
  }
}

async function deliverWithin(
  context: ClusterRunContext,
  signal: AbortSignal,
  onCredential: (credential: StoredCredential) => void,
): Promise<ClusterResult> {
  const { planned, settings, logger, redactor } = context;
  const cluster = planned.cluster;
  const started = Date.now();
  const log = { cluster: cluster.name };
  const warnings: string[] = [];
  const secrets: SecretOutcome[] = [];
  const pruned: PrunedSecret[] = [];
  let kubeRequests = 0;
  const failureOf = (error: unknown): Failure => {
    if (error instanceof ClusterStopped) return error.failure;
    const failureClass = signal.aborted && classify(error) !== 'unauthorized' ? 'timeout' : classify(error);
    return { failureClass, message: describeFailure(error, redactor) };
  };
  const finish = (failure?: Failure): ClusterResult => {
    const ok = !failure && secrets.every((s) => !s.failure) && pruned.every((p) => !p.failure);
    const result: ClusterResult = {
      cluster: cluster.name,
      ok,
      ...(failure ? { failure } : {}),
      secrets,
      pruned,
      warnings,
      kubeRequests,
      durationMs: Date.now() - started,
    };
    if (failure) logger.error('cluster failed', { ...log, ...failureAttributes(failure) });
    logger.info('cluster done', {
      ...log,
      ok,
      delivered: secrets.filter((s) => s.action).length,
      failed: secrets.filter((s) => s.failure).length,
      pruned: pruned.filter((p) => !p.failure).length,
      kubeRequests,
      durationMs: result.durationMs,
    });
    return result;
  };

  let client: KubeClient;
  try {
    const connection = await connectCluster(cluster, {
      kubeconfigs: context.kubeconfigs,
      settings,
      redactor,
      signal,
      onRequest: (method, path) => {
        kubeRequests++;
        context.onKubeRequest?.(cluster.name, method, path);
      },
    });
    client = connection.client;
    if (connection.credential) onCredential(connection.credential);
    for (const warning of connection.warnings) {
      warnings.push(warning);
      logger.warn(warning, log);
    }
  } catch (error) {
    return finish(failureOf(error));
  }

  const { core } = client;
  /** Runs one request with retries; a cluster-wide failure class stops the cluster. */
  const request = async <T>(operation: () => Promise<T>): Promise<T> => {
    try {
      return await withRetry(operation, {
        retries: RETRIES,
        signal,
        onRetry: (attemptNumber, error) =>
          logger.warn('retrying a transient failure', {
            ...log,
            attempt: attemptNumber,
            failureClass: classify(error),
            reason: describeFailure(error, redactor),
          }),
      });
    } catch (error) {
      const failure = failureOf(error);
      if (CLUSTER_FATAL.has(failure.failureClass)) throw new ClusterStopped(failure);
      throw error;
    }
  };

  try {
    const namespaces = await resolveNamespaces(core, cluster.namespaces, request);
    // Without the inventory, delivery still goes on; only prune (which needs it) is skipped.
    let inventory: Inventory | undefined;
    let inventoryError: unknown;
    try {
      inventory = await request(() => readInventory(core, settings.controlNamespace, managedNames(cluster)));
    } catch (error) {
      if (error instanceof ClusterStopped) throw error;
      inventoryError = error;
    }
    for (const entry of inventory?.ignored ?? []) {
      const warning = `inventory entry ${entry} ignored: not one cred-courier writes for this cluster`;
      warnings.push(warning);
      logger.warn(warning, log);
    }

    const limit = pLimit(settings.requestConcurrency);
    const issuedAt = context.now();
    const jobs = planned.targets.flatMap((planned) =>
      targetNamespaces(planned.target, namespaces).map((namespace) =>
        limit(async () => {
          const outcome = await deliverOne(context, planned, namespace, issuedAt, request, core);
          secrets.push(outcome);
          if (outcome.failure)
            logger.error('secret not delivered', {
              ...log,
              kind: outcome.kind,
              namespace: outcome.namespace,
              secretName: outcome.secretName,
              ...failureAttributes(outcome.failure),
            });
        }),
      ),
    );
    await settleAll(jobs);

    if (!inventory) {
      const warning = `inventory unreadable in namespace ${settings.controlNamespace}, prune skipped: ${failureOf(inventoryError).message}`;
      warnings.push(warning);
      logger.warn(warning, log);
      return finish();
    }
    const recorded = new Map<KindId, string[]>();
    for (const kind of context.kinds) {
      recorded.set(kind, await pruneKind(context, kind, inventory, namespaces, request, core, pruned));
    }
    try {
      await request(() => writeInventory(core, settings.controlNamespace, inventory, recorded));
    } catch (error) {
      if (error instanceof ClusterStopped) throw error;
      const warning = `inventory not updated, so a later prune cannot see this run's Secrets: ${failureOf(error).message}`;
      warnings.push(warning);
      logger.warn(warning, log);
    }
    return finish();
  } catch (error) {
    return finish(failureOf(error));
  } finally {
    // Connection attempts of abandoned requests (a black-holed server) must not outlive the cluster's turn.
    client.close();
  }
}

/** This installation (the control namespace) and the cluster name its objects are labelled with. */
const ownerOf = (context: ClusterRunContext): Owner => ({
  cluster: context.planned.cluster.name,
  installation: context.settings.controlNamespace,
});

/** Waits for every job; rethrows the first cluster-stopping failure only after all have settled. */
async function settleAll(jobs: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(jobs);
  const stopped = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (stopped) throw stopped.reason;
}

async function deliverOne(
  context: ClusterRunContext,
  planned: PlannedTarget,
  namespace: string,
  issuedAt: Date,
  request: Requester,
  core: KubeClient['core'],
): Promise<SecretOutcome> {
  const { kind, target } = planned;
  const base = { kind: kind.id, namespace, secretName: target.secretName };
  const credentials: Minted<unknown>[] = [];
  for (const key of planned.scopeKeys) {
    const minted = context.minted.get(key);
    if (!minted || 'failure' in minted) {
      // Its previous Secret, if any, stays as it is: still valid until its own expiry.
      return { ...base, failure: minted?.failure ?? { failureClass: 'mint', message: 'not minted' } };
    }
    credentials.push(minted);
  }
  const manifest = kind.render({
    cluster: context.planned.cluster,
    target,
    namespace,
    credentials,
    issuedAt,
  });
  // Before the write: an admission or apiserver error quoting the body must find every value known.
  context.redactor.addEncoded(...Object.values(manifest.data));
  const expiresAt = manifest.metadata.annotations['cred-courier.io/expires-at'];
  try {
    const action = await request(() =>
      writeSecret(core, manifest, {
        adopt: context.planned.cluster.adoptExistingSecrets,
        owner: ownerOf(context),
      }),
    );
    const serviceAccounts: Record<string, 'added' | 'present' | 'failed'> = {};
    let failure: Failure | undefined;
    for (const account of target.serviceAccounts) {
      try {
        serviceAccounts[account] = (await request(() =>
          ensurePullSecretReference(core, namespace, account, target.secretName),
        )) as 'added' | 'present';
      } catch (error) {
        if (error instanceof ClusterStopped) throw error;
        serviceAccounts[account] = 'failed';
        failure ??= {
          failureClass: classify(error),
          message: describeFailure(error, context.redactor),
        };
      }
    }
    return {
      ...base,
      action,
      ...(expiresAt ? { expiresAt } : {}),
      ...(target.serviceAccounts.length > 0 ? { serviceAccounts } : {}),
      ...(failure ? { failure } : {}),
    };
  } catch (error) {
    if (error instanceof ClusterStopped) throw error;
    return {
      ...base,
      failure: { failureClass: classify(error), message: describeFailure(error, context.redactor) },
    };
  }
}

/**
 * Deletes cred-courier's Secrets of `kind` that the inventory lists but the plan no longer wants, and
 * returns the entries the inventory should now hold. Runs after delivery, so a cluster never loses a
 * credential before its replacement is in place; with pruning off, stale entries are kept.
 */
async function pruneKind(
  context: ClusterRunContext,
  kind: KindId,
  inventory: Inventory,
  namespaces: readonly string[],
  request: Requester,
  core: KubeClient['core'],
  pruned: PrunedSecret[],
): Promise<string[]> {
  const targets = context.planned.targets.filter((t) => t.kind.id === kind);
  const wanted = new Set(
    targets.flatMap((t) =>
      targetNamespaces(t.target, namespaces).map((ns) => inventoryEntry(ns, t.target.secretName)),
    ),
  );
  const previous = inventory.entries.get(kind) ?? [];
  const stale = previous.filter((entry) => !wanted.has(entry));
  const kept: string[] = [];
  if (context.prune) {
    const serviceAccounts = [...new Set(targets.flatMap((t) => t.target.serviceAccounts))];
    for (const entry of stale) {
      const { namespace, secretName } = parseInventoryEntry(entry);
      try {
        // One rule with unregister: an entry whose delivery met someone else's Secret of that name (a
        // conflict) names a Secret that is not ours; neither it nor references to it are touched.
        const removal = await removeOwnedSecret(
          core,
          { namespace, secretName, serviceAccounts },
          ownerOf(context),
          { dryRun: false, request },
        );
        if (removal.action === 'not-owned') {
          context.logger.info("not pruned: the Secret of that name is not cred-courier's", {
            cluster: context.planned.cluster.name,
            kind,
            namespace,
            secretName,
          });
          continue;
        }
        pruned.push({ kind, namespace, secretName });
        context.logger.info('pruned', { cluster: context.planned.cluster.name, kind, namespace, secretName });
      } catch (error) {
        if (error instanceof ClusterStopped) throw error;
        kept.push(entry);
        const failure = {
          failureClass: classify(error),
          message: describeFailure(error, context.redactor),
        };
        pruned.push({ kind, namespace, secretName, failure });
      }
    }
  } else {
    kept.push(...stale);
  }
  // Wanted entries stay listed even when their delivery failed this time, so they are never forgotten.
  return [...wanted, ...kept];
}
