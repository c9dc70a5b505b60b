/**
 * One measured run in a process of its own, so its peak RSS is its own: either cred-courier's
 * `runDelivery` (as the Lambda runs it: a fresh process, kubeconfigs read from Secrets Manager, every
 * AWS call counted) or the baseline. Started by bench/main.ts with `fork`; gets a job over IPC and
 * answers with a `RunMeasurement`.
 */
import { performance } from 'node:perf_hooks';
import { defaultAwsClients } from '../src/aws/clients.ts';
import { secretsManagerKubeconfigs } from '../src/aws/kubeconfig-store.ts';
import { parseConfig } from '../src/config/load.ts';
import type { RunLogger } from '../src/report/logger.ts';
import { runDelivery } from '../src/run/run.ts';
import { type BaselineJob, runBaseline } from './baseline.ts';
import {
  type AwsCallCounts,
  countingAws,
  maxRssMiB,
  peaksOf,
  phase,
  type RunMeasurement,
  shapeOf,
  watchMemory,
} from './measure.ts';

export interface CredCourierJob {
  readonly mode: 'cred-courier';
  readonly configYaml: string;
}

export type ChildJob = CredCourierJob | BaselineJob;

async function runCredCourier(job: CredCourierJob): Promise<RunMeasurement> {
  const config = parseConfig(job.configYaml, 'bench-clusters.yaml');
  const calls: AwsCallCounts = { ecrToken: 0, assumeRole: 0, s3Probe: 0, getSecretValue: 0 };
  let firstSecretsManagerAt: number | undefined;
  const aws = countingAws(defaultAwsClients(), calls, () => {
    firstSecretsManagerAt ??= performance.now();
  });
  const requestsByShape: Record<string, number> = {};
  let kubeRequests = 0;
  let warnings = 0;
  const sampleLines: string[] = [];
  // Lines are serialised as a structured logger would, then dropped; warnings and errors are counted.
  const line = (level: string) => (message: string, attributes?: Record<string, unknown>) => {
    const text = JSON.stringify({ level, message, ...attributes });
    if (level === 'info') return;
    warnings++;
    if (sampleLines.length < 5) sampleLines.push(text.slice(0, 400));
  };
  const logger: RunLogger = { info: line('info'), warn: line('warn'), error: line('error') };
  await phase('start');
  const stopWatching = watchMemory();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const result = await runDelivery({
    config,
    aws,
    // A fresh process per run, as a scheduled Lambda whose kubeconfig cache has expired.
    kubeconfigs: secretsManagerKubeconfigs(aws.secretsManager(), { ttlSeconds: 0 }),
    logger,
    // Simulated clusters share one inventory per apiserver: pruning would take the others' Secrets for
    // stale ones (see docs/benchmarks.md). Prune has nothing to do in a fleet without stale entries.
    prune: false,
    onKubeRequest: (_cluster, method, path) => {
      kubeRequests++;
      const shape = shapeOf(method, path);
      requestsByShape[shape] = (requestsByShape[shape] ?? 0) + 1;
    },
  });
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  await phase('end');
  // What the heap still holds once the garbage is gone (the child runs with --expose-gc).
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const liveHeapMiB = gc ? process.memoryUsage().heapUsed / 1024 ** 2 : undefined;
  const durations = result.clusters.map((c) => c.durationMs);
  const delivered: Record<string, number> = {};
  const failures: Record<string, number> = {};
  for (const cluster of result.clusters) {
    if (cluster.failure)
      failures[cluster.failure.failureClass] = (failures[cluster.failure.failureClass] ?? 0) + 1;
    for (const secret of cluster.secrets) {
      if (secret.action) delivered[secret.action] = (delivered[secret.action] ?? 0) + 1;
      if (secret.failure)
        failures[secret.failure.failureClass] = (failures[secret.failure.failureClass] ?? 0) + 1;
    }
  }
  return {
    wallMs,
    ...(firstSecretsManagerAt ? { mintMs: firstSecretsManagerAt - started } : {}),
    kubeRequests,
    requestsByShape,
    aws: calls,
    delivered,
    secretsFailed: result.summary.secretsFailed,
    clustersFailed: result.summary.clustersFailed,
    failures,
    warnings,
    sampleLines,
    maxRssMiB: maxRssMiB(),
    ...peaksOf(stopWatching()),
    ...(liveHeapMiB === undefined ? {} : { liveHeapMiB }),
    cpuMs: (cpu.user + cpu.system) / 1000,
    clusterMs: {
      mean: durations.reduce((a, b) => a + b, 0) / Math.max(1, durations.length),
      max: Math.max(0, ...durations),
    },
    clustersMeasured: result.clusters.length,
  };
}

if (import.meta.main) {
  process.once('message', async (job: ChildJob) => {
    try {
      const measurement = job.mode === 'cred-courier' ? await runCredCourier(job) : await runBaseline(job);
      process.send?.({ ok: true, measurement }, () => process.exit(0));
    } catch (error) {
      process.send?.(
        { ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) },
        () => process.exit(1),
      );
    }
  });
}
