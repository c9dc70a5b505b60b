/**
 * Lambda entry: an EventBridge schedule (or `sls invoke`) asks for a delivery run, optionally limited to
 * some clusters and kinds. The registration file is packaged with the function and read once per
 * container; kubeconfigs are cached across warm invocations.
 *
 * A run in which some clusters failed is a successful invocation: per-cluster problems are the ledger's
 * transitions, notified once each to the alarm topic (`CRED_COURIER_ALARM_TOPIC_ARN`). The invocation
 * ends in error only when the run could not work at all (`unworkableReason`: every mint failed, or every
 * one of several clusters failed for the same cause outside them), or could not start (bad event,
 * unreadable registration file, a crash): that is what the Errors alarm and the on-failure queue mean.
 *
 * With `CRED_COURIER_LEDGER_TABLE` set, the run is recorded in the delivery ledger and the fleet's
 * validity (from every target in the ledger, not only this run's) is published as metrics; a ledger or
 * topic that cannot be reached is logged and never changes the run's own result.
 *
 * A check event (`{"check": {"clusters": [...]}}`, see src/run/request.ts) runs `check`'s per-cluster
 * checks from the function's own network with the stored kubeconfigs instead, and returns their report
 * as the payload: nothing is minted, written, recorded, notified or renewed, and no metric is published.
 *
 * A plan event (`{"plan": {"shardSize": 50, "request": {"kinds": ["ecr"]}}}`, the first state of the
 * sharded mode's state machine, scripts/fanout.ts) returns the request's clusters in shards
 * (src/run/shards.ts) and does nothing else. Each shard then comes back as a run event naming its
 * clusters; its ledger record still knows every cluster of the file, so no shard prunes another's rows.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { defaultAwsClients } from '../src/aws/clients.ts';
import { secretsManagerKubeconfigs, sharedKubeconfigs } from '../src/aws/kubeconfig-store.ts';
import { dynamoLedger, LEDGER_TABLE_ENV, type Ledger } from '../src/aws/ledger.ts';
import { ALARM_TOPIC_ENV, type Notifier, snsNotifier } from '../src/aws/notifier.ts';
import { loadConfig } from '../src/config/load.ts';
import type { Config } from '../src/config/types.ts';
import { CredCourierError } from '../src/errors.ts';
import { type CheckReport, checkClusters } from '../src/register/check.ts';
import { describeFailure } from '../src/report/classify.ts';
import { structuredRunLogger } from '../src/report/logger.ts';
import { createMetrics, publishRunMetrics } from '../src/report/metrics.ts';
import { unworkableReason } from '../src/report/transitions.ts';
import { type Recorded, recordAndNotify } from '../src/run/record.ts';
import { type CheckRequest, parseInvocation } from '../src/run/request.ts';
import { runDelivery } from '../src/run/run.ts';
import { planShards, type ShardPlan } from '../src/run/shards.ts';
import type { RunResult } from '../src/run/types.ts';

const logger = new Logger({ serviceName: 'cred-courier' });
const metrics = createMetrics();
const aws = defaultAwsClients();
let config: Promise<Config> | undefined;
let cachedLedger: { readonly table: string; readonly ledger: Ledger } | undefined;
let cachedNotifier: { readonly topic: string; readonly notifier: Notifier } | undefined;

/** Thrown at the end of a run that could not work at all; why, and the summary, are in the message. */
export class DeliveryFailedError extends CredCourierError {
  constructor(reason: string, summary: RunResult['summary']) {
    super(
      `delivery could not work: ${reason} (${summary.clustersFailed} of ${summary.clusters} clusters failed, ${summary.secretsFailed} Secrets)`,
    );
    this.name = 'DeliveryFailedError';
  }
}

export async function handler(
  event: unknown,
  context: Context,
): Promise<RunResult['summary'] | CheckReport | ShardPlan> {
  logger.addContext(context);
  const invocation = parseInvocation(event);
  config ??= loadConfig(process.env.CRED_COURIER_CONFIG ?? 'config/clusters.yaml');
  const loaded = await config;
  if (invocation.mode === 'check') return checkFromHere(loaded, invocation.request, context);
  if (invocation.mode === 'plan') return planShards(loaded, invocation.request);
  const request = invocation.request;
  const result = await runDelivery({
    config: loaded,
    ...(request.clusters ? { clusters: request.clusters } : {}),
    ...(request.kinds ? { kinds: request.kinds } : {}),
    prune: request.prune ?? true,
    aws,
    kubeconfigs: sharedKubeconfigs(aws.secretsManager(), loaded.settings.kubeconfigCacheSeconds),
    logger: structuredRunLogger(logger),
    deadline: new Date(Date.now() + context.getRemainingTimeInMillis()),
  });
  const recorded = await recordRun(result, loaded);
  // Published before a failed run throws: the failure is what the metrics are for.
  publishSafely(result, recorded);
  const unworkable = unworkableReason(result);
  if (unworkable !== undefined) throw new DeliveryFailedError(unworkable, result.summary);
  return result.summary;
}

/**
 * The read-only check, from this function's network. Kubeconfigs are read fresh (not from the warm
 * cache) so a rotation made a moment ago is what is checked.
 */
async function checkFromHere(loaded: Config, request: CheckRequest, context: Context): Promise<CheckReport> {
  const report = await checkClusters({
    config: loaded,
    ...(request.clusters ? { clusters: request.clusters } : {}),
    kubeconfigs: secretsManagerKubeconfigs(aws.secretsManager(), { ttlSeconds: 0 }),
    deadline: new Date(Date.now() + context.getRemainingTimeInMillis()),
  });
  logger.info('check done', {
    ok: report.ok,
    clusters: report.clusters.length,
    failing: report.clusters.filter((c) => !c.ok).map((c) => c.cluster),
  });
  return report;
}

/** The ledger of the configured table, reused across warm invocations; none without the variable. */
function configuredLedger(): Ledger | undefined {
  const table = process.env[LEDGER_TABLE_ENV];
  if (!table) return undefined;
  if (cachedLedger?.table !== table) cachedLedger = { table, ledger: dynamoLedger(table) };
  return cachedLedger.ledger;
}

/** The notifier of the configured topic, reused across warm invocations; none without the variable. */
function configuredNotifier(): Notifier | undefined {
  const topic = process.env[ALARM_TOPIC_ENV];
  if (!topic) return undefined;
  if (cachedNotifier?.topic !== topic) cachedNotifier = { topic, notifier: snsNotifier(topic) };
  return cachedNotifier.notifier;
}

/** Records the run in the ledger and notifies its transitions; nothing without a ledger. */
async function recordRun(result: RunResult, loaded: Config): Promise<Recorded | undefined> {
  const ledger = configuredLedger();
  if (!ledger) return undefined;
  const notifier = configuredNotifier();
  const table = process.env[LEDGER_TABLE_ENV];
  return recordAndNotify(
    result,
    loaded.clusters.map((c) => c.name),
    {
      ledger,
      ...(notifier ? { notifier } : {}),
      now: () => new Date(),
      logger: {
        info: (message, attributes) => logger.info(message, { table, ...attributes }),
        warn: (message, attributes) => logger.warn(message, { table, ...attributes }),
        error: (message, attributes) => logger.error(message, { table, ...attributes }),
      },
    },
  );
}

/** Metrics must not turn a delivered run into a failed invocation either. */
function publishSafely(result: RunResult, recorded: Recorded | undefined): void {
  try {
    publishRunMetrics(metrics, result, recorded?.fleet ?? {}, recorded?.minCredentialSecondsLeft);
  } catch (error) {
    logger.error('metrics not published', { reason: describeFailure(error) });
  }
}
