/**
 * Lambda entry: an EventBridge schedule (or `sls invoke`) asks for a delivery run, optionally limited to
 * some clusters and kinds. The registration file is packaged with the function and read once per
 * container; kubeconfigs are cached across warm invocations. Ends in error when any cluster failed, so
 * the invocation counts as failed for alarms and the on-failure destination.
 *
 * With `CRED_COURIER_LEDGER_TABLE` set, the run is recorded in the delivery ledger and the fleet's
 * validity (from every target in the ledger, not only this run's) is published as metrics; a ledger
 * that cannot be read or written is logged and never hides the run's own result.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { defaultAwsClients } from '../src/aws/clients.ts';
import { sharedKubeconfigs } from '../src/aws/kubeconfig-store.ts';
import { dynamoLedger, LEDGER_TABLE_ENV, type Ledger } from '../src/aws/ledger.ts';
import { loadConfig } from '../src/config/load.ts';
import type { Config } from '../src/config/types.ts';
import { CredCourierError } from '../src/errors.ts';
import { describeFailure } from '../src/report/classify.ts';
import { type FleetMetrics, fleetMetrics } from '../src/report/fleet.ts';
import { structuredRunLogger } from '../src/report/logger.ts';
import { createMetrics, publishRunMetrics } from '../src/report/metrics.ts';
import { parseRunRequest } from '../src/run/request.ts';
import { runDelivery } from '../src/run/run.ts';
import type { RunResult } from '../src/run/types.ts';

const logger = new Logger({ serviceName: 'cred-courier' });
const metrics = createMetrics();
const aws = defaultAwsClients();
let config: Promise<Config> | undefined;
let cachedLedger: { readonly table: string; readonly ledger: Ledger } | undefined;

/** Thrown at the end of a run in which some cluster failed; the summary is in the message. */
export class DeliveryFailedError extends CredCourierError {
  constructor(summary: RunResult['summary']) {
    super(
      `delivery failed for ${summary.clustersFailed} of ${summary.clusters} clusters (${summary.secretsFailed} Secrets)`,
    );
    this.name = 'DeliveryFailedError';
  }
}

export async function handler(event: unknown, context: Context): Promise<RunResult['summary']> {
  logger.addContext(context);
  const request = parseRunRequest(event);
  config ??= loadConfig(process.env.CRED_COURIER_CONFIG ?? 'config/clusters.yaml');
  const loaded = await config;
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
  const fleet = await recordRun(result, loaded);
  // Published before a failed run throws: the failure is what the metrics are for.
  publishSafely(result, fleet);
  if (!result.ok) throw new DeliveryFailedError(result.summary);
  return result.summary;
}

/** The ledger of the configured table, reused across warm invocations; none without the variable. */
function configuredLedger(): Ledger | undefined {
  const table = process.env[LEDGER_TABLE_ENV];
  if (!table) return undefined;
  if (cachedLedger?.table !== table) cachedLedger = { table, ledger: dynamoLedger(table) };
  return cachedLedger.ledger;
}

/** Records the run in the ledger and returns the fleet's state; `{}` without a ledger or when it failed. */
async function recordRun(result: RunResult, loaded: Config): Promise<FleetMetrics> {
  const ledger = configuredLedger();
  if (!ledger) return {};
  const now = new Date();
  try {
    const rows = await ledger.record(
      result,
      loaded.clusters.map((c) => c.name),
      now,
    );
    const fleet = fleetMetrics(rows, now);
    logger.info('ledger recorded', { table: process.env[LEDGER_TABLE_ENV], targets: rows.length, fleet });
    return fleet;
  } catch (error) {
    logger.error('ledger not updated', {
      table: process.env[LEDGER_TABLE_ENV],
      reason: describeFailure(error),
    });
    return {};
  }
}

/** Metrics must not turn a delivered run into a failed invocation either. */
function publishSafely(result: RunResult, fleet: FleetMetrics): void {
  try {
    publishRunMetrics(metrics, result, fleet);
  } catch (error) {
    logger.error('metrics not published', { reason: describeFailure(error) });
  }
}
