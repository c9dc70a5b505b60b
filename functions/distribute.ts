/**
 * Lambda entry: an EventBridge schedule (or `sls invoke`) asks for a delivery run, optionally limited to
 * some clusters and kinds. The registration file is packaged with the function and read once per
 * container; kubeconfigs are cached across warm invocations. Ends in error when any cluster failed, so
 * the invocation counts as failed for alarms and the on-failure destination.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { defaultAwsClients } from '../src/aws/clients.ts';
import { sharedKubeconfigs } from '../src/aws/kubeconfig-store.ts';
import { loadConfig } from '../src/config/load.ts';
import type { Config } from '../src/config/types.ts';
import { CredCourierError } from '../src/errors.ts';
import { structuredRunLogger } from '../src/report/logger.ts';
import { parseRunRequest } from '../src/run/request.ts';
import { runDelivery } from '../src/run/run.ts';
import type { RunResult } from '../src/run/types.ts';

const logger = new Logger({ serviceName: 'cred-courier' });
const aws = defaultAwsClients();
let config: Promise<Config> | undefined;

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
  if (!result.ok) throw new DeliveryFailedError(result.summary);
  return result.summary;
}
