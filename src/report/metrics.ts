/**
 * CloudWatch metrics of a run, written as EMF (JSON lines on stdout that CloudWatch Logs turns into
 * metrics) through Powertools. Dimensions are bounded on purpose: a kind, a cluster name from the
 * registration file, a failure class from the fixed set in classify.ts — never a namespace, a Secret
 * name or a message.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { KindId } from '../kinds/kind.ts';
import type { ClusterResult, RunResult } from '../run/types.ts';
import type { FailureClass } from './classify.ts';
import type { FleetMetrics } from './fleet.ts';

/** CloudWatch namespace and Powertools service (the `service` dimension Powertools adds to every metric). */
export const METRICS_NAMESPACE = 'CredCourier';
export const METRICS_SERVICE = 'cred-courier';

/** The metric names, as alarms and dashboards refer to them. */
export const METRIC_NAMES = {
  /** Per `Kind`, Seconds: the least validity left over the kind's targets (negative once one expired). */
  minSecondsOfValidityLeft: 'MinSecondsOfValidityLeft',
  /** Per `Kind`, Count: targets with less validity left than the kind's threshold. */
  targetsAtRisk: 'TargetsAtRisk',
  /** Per `Kind`, Count: targets whose last delivery failed. */
  targetsFailed: 'TargetsFailed',
  /** Per `Cluster`, Count: Secrets written this run (0 for a cluster that failed). */
  delivered: 'Delivered',
  /** Per `Cluster` and `FailureClass`, Count: failed Secrets and prunes, and a failure that stopped the cluster. */
  failed: 'Failed',
  /**
   * No dimension but `service`, Seconds: the least validity left over the clusters' stored kubeconfig
   * credentials (from the ledger); absent while none of them expires.
   */
  minCredentialSecondsLeft: 'MinCredentialSecondsLeft',
  /** No dimension but `service`, Milliseconds: the run's duration. */
  runDuration: 'RunDuration',
} as const;

/** A Metrics instance for cred-courier's namespace and service. */
export function createMetrics(): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE });
}

type Dimensions = Readonly<Record<string, string>>;
type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** One metric with its own dimensions, written at once (the stored metrics share one dimension set). */
function emit(metrics: Metrics, dimensions: Dimensions, name: string, unit: Unit, value: number): void {
  const single = metrics.singleMetric();
  for (const [key, dimension] of Object.entries(dimensions)) single.addDimension(key, dimension);
  single.addMetric(name, unit, value);
}

/** Failures of one cluster counted by class. */
function failuresByClass(cluster: ClusterResult): Map<FailureClass, number> {
  const counts = new Map<FailureClass, number>();
  const count = (failureClass: FailureClass) => counts.set(failureClass, (counts.get(failureClass) ?? 0) + 1);
  if (cluster.failure) count(cluster.failure.failureClass);
  for (const secret of cluster.secrets) if (secret.failure) count(secret.failure.failureClass);
  for (const pruned of cluster.pruned) if (pruned.failure) count(pruned.failure.failureClass);
  return counts;
}

function publishClusterMetrics(metrics: Metrics, cluster: ClusterResult): void {
  const delivered = cluster.secrets.filter((s) => s.action).length;
  emit(metrics, { Cluster: cluster.cluster }, METRIC_NAMES.delivered, MetricUnit.Count, delivered);
  for (const [failureClass, count] of failuresByClass(cluster)) {
    emit(
      metrics,
      { Cluster: cluster.cluster, FailureClass: failureClass },
      METRIC_NAMES.failed,
      MetricUnit.Count,
      count,
    );
  }
}

function publishFleetMetrics(metrics: Metrics, fleet: FleetMetrics): void {
  for (const [kind, state] of Object.entries(fleet) as [KindId, NonNullable<FleetMetrics[KindId]>][]) {
    const dimensions = { Kind: kind };
    emit(
      metrics,
      dimensions,
      METRIC_NAMES.minSecondsOfValidityLeft,
      MetricUnit.Seconds,
      state.minSecondsOfValidityLeft,
    );
    emit(metrics, dimensions, METRIC_NAMES.targetsAtRisk, MetricUnit.Count, state.targetsAtRisk);
    emit(metrics, dimensions, METRIC_NAMES.targetsFailed, MetricUnit.Count, state.targetsFailed);
  }
}

/**
 * Publishes a run's metrics: per cluster `Delivered` and `Failed` (by class), per kind the fleet's
 * validity, risk and failures (from the ledger; pass `{}` without one), the least validity of the
 * clusters' own credentials (from the ledger, when one expires), the run's duration, and the container's
 * cold start (once per Metrics instance).
 */
export function publishRunMetrics(
  metrics: Metrics,
  result: RunResult,
  fleet: FleetMetrics,
  minCredentialSecondsLeft?: number,
): void {
  metrics.captureColdStartMetric();
  for (const cluster of result.clusters) publishClusterMetrics(metrics, cluster);
  publishFleetMetrics(metrics, fleet);
  if (minCredentialSecondsLeft !== undefined) {
    emit(metrics, {}, METRIC_NAMES.minCredentialSecondsLeft, MetricUnit.Seconds, minCredentialSecondsLeft);
  }
  metrics.addMetric(METRIC_NAMES.runDuration, MetricUnit.Milliseconds, result.durationMs);
  metrics.publishStoredMetrics();
}
