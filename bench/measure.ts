/**
 * What a measured run reports, and the counting both kinds of run share.
 */
import { readdirSync } from 'node:fs';
import type { AwsCallCounts } from '../test/support/counting-aws.ts';

export type { AwsCallCounts } from '../test/support/counting-aws.ts';
export { countingAws } from '../test/support/counting-aws.ts';

export interface RunMeasurement {
  readonly wallMs: number;
  /** Start of the run to its first Secrets Manager read: planning and minting (cred-courier only). */
  readonly mintMs?: number;
  readonly kubeRequests: number;
  /** Requests by method and path shape, e.g. `PATCH secrets/{name}`. */
  readonly requestsByShape: Record<string, number>;
  readonly aws: AwsCallCounts;
  /** Secrets written, by action (created, updated). */
  readonly delivered: Record<string, number>;
  readonly secretsFailed: number;
  readonly clustersFailed: number;
  /** Failure classes of failed Secrets and clusters. */
  readonly failures: Record<string, number>;
  readonly warnings: number;
  /** A few warning and error lines, for diagnosis. */
  readonly sampleLines: readonly string[];
  readonly maxRssMiB: number;
  /** Peaks of process.memoryUsage() sampled every 100 ms during the run, MiB. */
  readonly memoryPeaks?: { readonly heapUsed: number; readonly heapTotal: number; readonly external: number };
  /** Heap in use after the run and a full garbage collection, MiB (cred-courier runs only). */
  readonly liveHeapMiB?: number;
  /** Most file descriptors (sockets included) open at once, sampled with the heap. */
  readonly peakOpenFiles?: number;
  /** CPU time (user + system) this process spent in the run, ms. */
  readonly cpuMs: number;
  /** Time each cluster took (cred-courier: from its kubeconfig read to its end), mean and max, ms. */
  readonly clusterMs?: { readonly mean: number; readonly max: number };
  /** Clusters actually measured (the baseline may run a sample). */
  readonly clustersMeasured: number;
}

/** `PATCH /api/v1/namespaces/x/secrets/y` → `PATCH secrets/{name}`. */
export function shapeOf(method: string, path: string): string {
  const tail = path
    .replace(/^\/api\/v1\//, '')
    .replace(/^namespaces\/[^/]+\/(?=[a-z]+)/, '')
    .replace(/^(secrets|configmaps)\/(?!cred-courier-inventory$)[^/]+$/, '$1/{name}');
  return `${method} ${tail}`;
}

/** Peak RSS of this process so far, MiB. */
export const maxRssMiB = () => process.resourceUsage().maxRSS / 1024;

/** Tells the parent a run starts or ends (it samples the machine's CPU then). */
export const phase = (name: 'start' | 'end') =>
  new Promise<void>((done) => (process.send ? process.send({ phase: name }, () => done()) : done()));

/** Samples the heap every 100 ms until stopped; returns the peaks, MiB. */
export function watchMemory(): () => {
  heapUsed: number;
  heapTotal: number;
  external: number;
  openFiles: number;
} {
  const peaks = { heapUsed: 0, heapTotal: 0, external: 0, openFiles: 0 };
  const sample = () => {
    try {
      peaks.openFiles = Math.max(peaks.openFiles, readdirSync('/proc/self/fd').length);
    } catch {
      // not Linux
    }
    const usage = process.memoryUsage();
    peaks.heapUsed = Math.max(peaks.heapUsed, usage.heapUsed / 1024 ** 2);
    peaks.heapTotal = Math.max(peaks.heapTotal, usage.heapTotal / 1024 ** 2);
    peaks.external = Math.max(peaks.external, usage.external / 1024 ** 2);
  };
  const timer = setInterval(sample, 100);
  return () => {
    clearInterval(timer);
    sample();
    return peaks;
  };
}

/** The measurement fields of `watchMemory`'s peaks. */
export function peaksOf(peaks: ReturnType<ReturnType<typeof watchMemory>>) {
  const { openFiles, ...memoryPeaks } = peaks;
  return { memoryPeaks, peakOpenFiles: openFiles };
}
