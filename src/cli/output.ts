/** How the CLI shows results: one progress line per cluster on stderr, a summary or JSON on stdout. */
import type { RunLogger } from '../report/logger.ts';
import type { Preview } from '../run/preview.ts';
import type { ClusterResult, RunResult } from '../run/types.ts';

export type OutputFormat = 'text' | 'json';

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function progressLine(result: ClusterResult): string {
  if (result.failure) return `✗ ${result.cluster}: ${result.failure.failureClass}: ${result.failure.message}`;
  const delivered = result.secrets.filter((s) => s.action).length;
  const failed = result.secrets.filter((s) => s.failure);
  const pruned = result.pruned.filter((p) => !p.failure).length;
  const mark = failed.length > 0 ? '✗' : '✓';
  const head = `${mark} ${result.cluster}: ${delivered} delivered, ${failed.length} failed, ${pruned} pruned (${seconds(result.durationMs)})`;
  const details = failed.map(
    (s) =>
      `\n    ${s.kind} ${s.namespace}/${s.secretName}: ${s.failure?.failureClass}: ${s.failure?.message}`,
  );
  return head + details.join('');
}

export function runSummary(result: RunResult): string {
  const s = result.summary;
  const mintFailures = result.mints
    .filter((m) => m.failure)
    .map((m) => `\n  mint ${m.kind} ${m.scope}: ${m.failure?.message}`);
  return (
    `${result.ok ? 'ok' : 'FAILED'}: ${s.clusters - s.clustersFailed}/${s.clusters} clusters, ` +
    `${s.secretsDelivered} Secrets delivered, ${s.secretsFailed} failed, ${s.secretsPruned} pruned, ` +
    `${s.mintCalls} mint calls, ${seconds(result.durationMs)}${mintFailures.join('')}`
  );
}

export function previewText(preview: Preview): string {
  const lines = [`${preview.mintCalls} distinct mint scope(s) would be minted`];
  for (const cluster of preview.clusters) {
    lines.push(
      `${cluster.cluster}:${cluster.failure ? ` unreachable: ${cluster.failure.failureClass}: ${cluster.failure.message}` : ''}`,
    );
    for (const warning of cluster.warnings) lines.push(`  warning: ${warning}`);
    for (const entry of cluster.entries) {
      const accounts = Object.entries(entry.serviceAccounts ?? {})
        .map(([name, state]) => `${name}:${state}`)
        .join(' ');
      lines.push(
        `  ${entry.action.padEnd(8)} ${entry.kind} ${entry.namespace}/${entry.secretName}${accounts ? `  [${accounts}]` : ''}`,
      );
    }
    if (!cluster.failure && cluster.entries.length === 0) lines.push('  (nothing selected)');
  }
  return lines.join('\n');
}

/** Warnings and errors of the core as plain lines on stderr; info only when verbose. */
export function cliLogger(options: { readonly verbose: boolean }): RunLogger {
  const line = (level: string) => (message: string, attributes?: Record<string, unknown>) => {
    const where = attributes?.cluster ? `${String(attributes.cluster)}: ` : '';
    const reason =
      attributes?.message && attributes.message !== message ? ` (${String(attributes.message)})` : '';
    process.stderr.write(`${level}: ${where}${message}${reason}\n`);
  };
  return {
    info: options.verbose ? line('info') : () => {},
    warn: line('warning'),
    error: options.verbose ? line('error') : () => {},
  };
}
