/**
 * One delivery run: plan (pure) → mint each distinct scope once (AWS) → per cluster, with bounded
 * concurrency and a deadline each, as soon as its own scopes are minted (`pipeline.ts`): render and
 * deliver (Kubernetes), then prune. A failure in one cluster
 * is classified and reported; it never stops the others. This module and `cluster.ts` are the only ones
 * that talk to both AWS and Kubernetes.
 */
import type { AwsClients } from '../aws/clients.ts';
import type { KubeconfigSource } from '../aws/kubeconfig-store.ts';
import { awsNeedsOf } from '../aws/preflight.ts';
import type { Config } from '../config/types.ts';
import type { KindId, Minted } from '../kinds/kind.ts';
import { planRun } from '../plan/plan.ts';
import { classify, describeFailure, FAILURE_CLASSES } from '../report/classify.ts';
import { type RunLogger, redacting } from '../report/logger.ts';
import { Redactor } from '../report/redact.ts';
import { deliverCluster } from './cluster.ts';
import { pipeline } from './pipeline.ts';
import { summarize } from './summary.ts';
import type { ClusterResult, MintOutcome, RunResult } from './types.ts';
import { failureAttributes } from './types.ts';

export interface RunOptions {
  readonly config: Config;
  /** Cluster names to deliver to; all when empty. */
  readonly clusters?: readonly string[];
  readonly kinds?: readonly KindId[];
  /** Delete cred-courier's Secrets in namespaces no longer selected (after delivering). Default true. */
  readonly prune?: boolean;
  readonly aws: AwsClients;
  readonly kubeconfigs: KubeconfigSource;
  readonly logger: RunLogger;
  /** No cluster is started after this; requests still running are aborted at it (Lambda's timeout). */
  readonly deadline?: Date;
  readonly now?: () => Date;
  /** Registers every secret value as it is minted or read, e.g. to scan captured output in tests. */
  readonly redactor?: Redactor;
  /** Sees every Kubernetes request, for counting. */
  readonly onKubeRequest?: (cluster: string, method: string, path: string) => void;
  /** Sees each cluster's result as soon as it is known (the CLI's progress line). */
  readonly onClusterDone?: (result: ClusterResult) => void;
}

/** Time kept back before the deadline so results can still be reported. */
const DEADLINE_RESERVE_MS = 3_000;
/** AWS calls in flight while minting (ECR tokens, AssumeRole). */
const MINT_CONCURRENCY = 8;

export async function runDelivery(options: RunOptions): Promise<RunResult> {
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const redactor = options.redactor ?? new Redactor();
  const logger = redacting(options.logger, redactor);
  const plan = planRun(options.config, {
    ...(options.clusters ? { clusters: options.clusters } : {}),
    ...(options.kinds ? { kinds: options.kinds } : {}),
  });
  // No region or credentials is one root cause: said once (AwsSetupError), before any mint or cluster.
  await options.aws.preflight?.(awsNeedsOf(plan.clusters.map((c) => c.cluster)));
  const deadlineMs = options.deadline
    ? options.deadline.getTime() - DEADLINE_RESERVE_MS
    : Number.POSITIVE_INFINITY;
  const runSignal = Number.isFinite(deadlineMs)
    ? AbortSignal.timeout(Math.max(1, deadlineMs - Date.now()))
    : new AbortController().signal;

  // Mint each distinct scope once, whichever clusters share it, in the order clusters need them; each
  // cluster starts as soon as its own scopes are minted. Clusters side by side, each on its own
  // deadline; none can stop another.
  const minted = new Map<string, Minted<unknown> | { failure: { failureClass: 'mint'; message: string } }>();
  const plannedMints = new Map(plan.mints.map((mint) => [mint.key, mint]));
  // What each scope's mint registered with the redactor, forgotten with the scope after its last cluster.
  const mintedSecrets = new Map<string, string[]>();
  const registerMinted = (key: string, secrets: readonly string[]) => {
    redactor.add(...secrets);
    mintedSecrets.set(key, [...(mintedSecrets.get(key) ?? []), ...secrets]);
  };
  const settings = options.config.settings;
  const run = await pipeline({
    items: plan.clusters,
    scopesOf: (planned) => planned.targets.flatMap((target) => target.scopeKeys),
    mint: async (key): Promise<MintOutcome> => {
      const mint = plannedMints.get(key) as (typeof plan.mints)[number];
      const scope = describeScope(mint.request);
      try {
        const result = await mint.kind.mint(mint.request, {
          aws: options.aws,
          now,
          warn: (message, attributes) => logger.warn(message, { kind: mint.kind.id, ...attributes }),
          info: (message, attributes) => logger.info(message, { kind: mint.kind.id, ...attributes }),
          registerSecrets: (...secrets) => registerMinted(key, secrets),
        });
        registerMinted(key, result.secrets);
        minted.set(mint.key, result);
        return {
          kind: mint.kind.id,
          scope,
          clusters: mint.clusters,
          expiresAt: result.expiresAt.toISOString(),
        };
      } catch (error) {
        const failure = { failureClass: 'mint' as const, message: describeFailure(error, redactor) };
        minted.set(mint.key, { failure });
        logger.error('mint failed', {
          kind: mint.kind.id,
          scope,
          clusters: mint.clusters,
          ...failureAttributes(failure),
        });
        return { kind: mint.kind.id, scope, clusters: mint.clusters, failure };
      }
    },
    deliver: async (planned) => {
      const result = await deliverOrReport(planned);
      options.onClusterDone?.(result);
      return result;
    },
    mintConcurrency: MINT_CONCURRENCY,
    deliverConcurrency: settings.concurrency,
    // A scope's credential is dropped once its last cluster is done. A caller's own redactor keeps its
    // values, as it was passed to scan the output with afterwards.
    release: (key) => {
      minted.delete(key);
      if (!options.redactor) redactor.forget(...(mintedSecrets.get(key) ?? []));
      mintedSecrets.delete(key);
    },
  });
  const mints = run.mints.flatMap(({ outcome }) => (outcome ? [outcome] : []));
  const clusters = run.results;

  async function deliverOrReport(planned: (typeof plan.clusters)[number]): Promise<ClusterResult> {
    const name = planned.cluster.name;
    if (Date.now() >= deadlineMs) {
      const failure = { failureClass: 'deadline' as const, message: FAILURE_CLASSES.deadline };
      logger.error('cluster not reached before the deadline', {
        cluster: name,
        ...failureAttributes(failure),
      });
      return emptyResult(name, failure);
    }
    // The cluster's own secrets (its kubeconfig's credential, its rendered Secrets) are known for its
    // turn only; a caller that passed its own redactor (to scan the output afterwards) still sees them.
    const clusterRedactor = redactor.scoped({ report: options.redactor !== undefined });
    const clusterLogger = redacting(options.logger, clusterRedactor);
    try {
      return await deliverCluster({
        planned,
        minted,
        settings,
        prune: options.prune ?? true,
        kinds: plan.kinds,
        kubeconfigs: options.kubeconfigs,
        secrets: options.aws.secretsManager(),
        redactor: clusterRedactor,
        logger: clusterLogger,
        now,
        runSignal,
        ...(options.onKubeRequest ? { onKubeRequest: options.onKubeRequest } : {}),
      });
    } catch (error) {
      // deliverCluster reports its own failures; anything reaching here is a defect, still contained.
      const failure = { failureClass: classify(error), message: describeFailure(error, clusterRedactor) };
      clusterLogger.error('cluster failed unexpectedly', { cluster: name, ...failureAttributes(failure) });
      return emptyResult(name, failure);
    }
  }

  const result: RunResult = {
    ok: clusters.every((c) => c.ok) && mints.every((m) => !m.failure),
    startedAt: startedAt.toISOString(),
    durationMs: now().getTime() - startedAt.getTime(),
    kinds: plan.kinds,
    mints,
    clusters,
    summary: summarize(clusters, plan.mints.length),
  };
  logger.info('run finished', { ok: result.ok, durationMs: result.durationMs, ...result.summary });
  return result;
}

function emptyResult(cluster: string, failure: ClusterResult['failure']): ClusterResult {
  return {
    cluster,
    ok: false,
    ...(failure ? { failure } : {}),
    secrets: [],
    pruned: [],
    warnings: [],
    kubeRequests: 0,
    durationMs: 0,
  };
}

/** Region and role of a request, for messages; requests hold no secrets. */
function describeScope(request: unknown): string {
  const { region, roleArn } = request as { region?: string; roleArn?: string };
  return [region, roleArn ? `as ${roleArn}` : ''].filter(Boolean).join(' ');
}
