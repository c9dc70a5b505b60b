/** How the CLI shows results: one progress line per cluster on stderr, a summary, JSON or YAML on stdout. */
import { stringify } from 'yaml';
import { FAILURE_ADVICE, type FailureClass } from '../report/classify.ts';
import {
  CREDENTIAL_EXPIRY_WARNING_SECONDS,
  type CredentialRow,
  credentialAdvice,
  credentialSecondsLeft,
  type FleetMetrics,
  fleetMetrics,
  type LedgerRow,
  type TargetStatus,
  targetStatus,
} from '../report/fleet.ts';
import type { RunLogger } from '../report/logger.ts';
import type { Preview } from '../run/preview.ts';
import type { ClusterResult, Failure, RunResult } from '../run/types.ts';

export const OUTPUT_FORMATS = ['text', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The structured result as JSON or YAML, or the command's own text rendering. */
export function formatOutput(format: OutputFormat, value: unknown, text: () => string): string {
  if (format === 'json') return JSON.stringify(value, null, 2);
  if (format === 'yaml') return stringify(value, { lineWidth: 0 }).trimEnd();
  return text();
}

/** The line saying what to do about a failure class, indented under the failure. */
export function adviceLine(failureClass: FailureClass, indent = '    '): string {
  return `${indent}to do: ${FAILURE_ADVICE[failureClass]}`;
}

/** Classes whose failure means the cluster was never contacted (the kubeconfig, the file, the clock). */
const NOT_CONTACTED: ReadonlySet<FailureClass> = new Set(['kubeconfig', 'config', 'mint', 'deadline']);
const UNREACHABLE: ReadonlySet<FailureClass> = new Set(['refused', 'dns', 'tls', 'timeout', 'network']);

/**
 * A cluster-wide failure for `plan` and `status`: whether the cluster was contacted at all, so a
 * cluster whose kubeconfig could not be read is "not contacted", not "unreachable".
 */
export function clusterFailureText(failure: Failure): string {
  const how = NOT_CONTACTED.has(failure.failureClass)
    ? 'not contacted'
    : UNREACHABLE.has(failure.failureClass)
      ? 'unreachable'
      : 'failed';
  return ` ${how}, state unknown: ${failure.failureClass}: ${failure.message}\n${adviceLine(failure.failureClass, '  ')}`;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function progressLine(result: ClusterResult): string {
  if (result.failure)
    return `✗ ${result.cluster}: ${result.failure.failureClass}: ${result.failure.message}\n${adviceLine(result.failure.failureClass)}`;
  const delivered = result.secrets.filter((s) => s.action).length;
  const failed = result.secrets.filter((s) => s.failure);
  const pruned = result.pruned.filter((p) => !p.failure).length;
  const mark = failed.length > 0 ? '✗' : '✓';
  const head = `${mark} ${result.cluster}: ${delivered} delivered, ${failed.length} failed, ${pruned} pruned (${seconds(result.durationMs)})`;
  const details = failed.map(
    (s) =>
      `\n    ${s.kind} ${s.namespace}/${s.secretName}: ${s.failure?.failureClass}: ${s.failure?.message}`,
  );
  const classes = [...new Set(failed.map((s) => s.failure?.failureClass))].filter((c) => c !== undefined);
  return head + details.join('') + classes.map((c) => `\n${adviceLine(c)}`).join('');
}

/**
 * The run in one line, then each failed mint: counts that add up (clusters ok + failed = all; the
 * Secrets of a cluster that failed as a whole were not attempted, and it says so).
 */
export function runSummary(result: RunResult): string {
  const s = result.summary;
  const wholeClusterFailures = result.clusters.filter((c) => c.failure).length;
  const failedMints = result.mints.filter((m) => m.failure);
  const notAttempted =
    wholeClusterFailures > 0
      ? ` (none attempted in ${wholeClusterFailures} cluster(s) that failed as a whole)`
      : '';
  const mintFailures = failedMints.map(
    (m) => `\n  mint ${m.kind}${m.scope ? ` ${m.scope}` : ''}: ${m.failure?.message}`,
  );
  const mintAdvice = failedMints.length > 0 ? `\n${adviceLine('mint')}` : '';
  return (
    `${result.ok ? 'ok' : 'FAILED'}: ${s.clusters - s.clustersFailed} of ${s.clusters} clusters ok, ${s.clustersFailed} failed; ` +
    `Secrets: ${s.secretsDelivered} delivered, ${s.secretsFailed} failed${notAttempted}, ${s.secretsPruned} pruned; ` +
    `mints: ${s.mintCalls}, ${failedMints.length} failed; ${seconds(result.durationMs)}${mintFailures.join('')}${mintAdvice}`
  );
}

export function previewText(preview: Preview): string {
  const lines = [`${preview.mintCalls} distinct mint scope(s) would be minted`];
  for (const cluster of preview.clusters) {
    lines.push(`${cluster.cluster}:${cluster.failure ? clusterFailureText(cluster.failure) : ''}`);
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

/**
 * Warnings and errors of the core as plain lines on stderr; info and error lines only when verbose (the
 * results say the errors). Every attribute is shown, so a verbose line says at least what the result
 * does: the scope, the class and the reason of a failed mint, not just `mint failed`.
 */
export function cliLogger(options: { readonly verbose: boolean }): RunLogger {
  const line = (level: string) => (message: string, attributes?: Record<string, unknown>) => {
    process.stderr.write(`${logLine(level, message, attributes)}\n`);
  };
  return {
    info: options.verbose ? line('info') : () => {},
    warn: line('warning'),
    error: options.verbose ? line('error') : () => {},
  };
}

/** `level: cluster: message (detail) key=value …`: every attribute, strings as they are. */
export function logLine(level: string, message: string, attributes: Record<string, unknown> = {}): string {
  const { cluster, message: detail, ...rest } = attributes;
  const where = cluster ? `${String(cluster)}: ` : '';
  const reason = detail && detail !== message ? ` (${String(detail)})` : '';
  const extra = Object.entries(rest)
    .filter(([, value]) => value !== undefined && value !== '')
    .map(([key, value]) => ` ${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join('');
  return `${level}: ${where}${message}${reason}${extra}`;
}

/** A ledger row with how it stands now. */
export type LedgerTarget = LedgerRow & TargetStatus;

/** The fleet as the ledger shows it: no cluster is contacted. */
export interface LedgerView {
  /** No target failed its last delivery and none is past its expiry. */
  readonly ok: boolean;
  readonly at: string;
  readonly kinds: FleetMetrics;
  readonly targets: readonly LedgerTarget[];
  /** Per cluster, its stored kubeconfig's credential, when a run reported it. */
  readonly credentials: readonly LedgerCredential[];
}

/** A cluster's credential with how it stands now, and what to do when it is close to expiry. */
export type LedgerCredential = CredentialRow & {
  /** Undefined when it never expires. */
  readonly secondsLeft?: number;
  readonly expiring: boolean;
  /** Present when expiring. */
  readonly todo?: string;
};

const byTarget = (a: LedgerRow, b: LedgerRow) =>
  a.cluster.localeCompare(b.cluster) ||
  a.kind.localeCompare(b.kind) ||
  a.namespace.localeCompare(b.namespace) ||
  a.secretName.localeCompare(b.secretName);

/** The ledger's rows, sorted by cluster, kind and target, with each one's validity left at `now`. */
export function ledgerView(
  rows: readonly LedgerRow[],
  now: Date,
  credentialRows: readonly CredentialRow[] = [],
): LedgerView {
  const targets = [...rows].sort(byTarget).map((row) => ({ ...row, ...targetStatus(row, now) }));
  const credentials = [...credentialRows]
    .sort((a, b) => a.cluster.localeCompare(b.cluster))
    .map((row): LedgerCredential => {
      const left = credentialSecondsLeft(row, now);
      const expiring = left !== undefined && left < CREDENTIAL_EXPIRY_WARNING_SECONDS;
      return {
        ...row,
        ...(left !== undefined ? { secondsLeft: left } : {}),
        expiring,
        ...(expiring ? { todo: credentialAdvice(row) } : {}),
      };
    });
  return {
    ok: targets.every((t) => !t.failed && !t.expired) && credentials.every((c) => !c.expiring),
    at: now.toISOString(),
    kinds: fleetMetrics(rows, now),
    targets,
    credentials,
  };
}

/** A cluster's credential line: its kind, expiry, time left, and what to do when it is close to expiry. */
function credentialText(credential: LedgerCredential): string {
  const kind = credential.credentialKind;
  if (credential.secondsLeft === undefined)
    return `  credential ${kind}: never expires${kind === 'long-lived-token' ? ' (never renews either; a leak stays valid)' : ''}`;
  const left =
    credential.secondsLeft <= 0
      ? `EXPIRED ${formatDuration(-credential.secondsLeft)} ago`
      : `${formatDuration(credential.secondsLeft)} left${credential.expiring ? ' (EXPIRING)' : ''}`;
  const renewal = credential.renewalFailureClass
    ? `  renewal failing: ${credential.renewalFailureClass}`
    : '';
  const todo = credential.todo ? `\n    to do: ${credential.todo}` : '';
  return `  credential ${kind}: expires ${credential.expiresAt}  ${left}${renewal}${todo}`;
}

/** A duration such as `11h 59m`, `4m 05s` or `-1h 05m` (negative: that long ago). */
export function formatDuration(totalSeconds: number): string {
  const sign = totalSeconds < 0 ? '-' : '';
  const s = Math.abs(totalSeconds);
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (hours > 0) return `${sign}${hours}h ${pad(minutes)}m`;
  return `${sign}${minutes}m ${pad(s % 60)}s`;
}

/** How much of a target's credential is left, in words. */
function validityText(target: LedgerTarget): string {
  if (!target.expiresAt) return 'never delivered';
  if (target.expired) return `EXPIRED ${formatDuration(-target.secondsLeft)} ago`;
  return `${formatDuration(target.secondsLeft)} left${target.atRisk ? ' (AT RISK)' : ''}`;
}

function failureText(target: LedgerTarget): string {
  if (!target.failed) return '';
  const runs = target.consecutiveFailures === 1 ? 'run' : 'runs';
  return `  failed ${target.consecutiveFailures} ${runs} in a row: ${target.lastFailureClass ?? 'unknown'}`;
}

/**
 * The ledger as text: a line per kind, then per cluster a line per target. With `registered`, a cluster
 * no longer in the registration file is marked: its rows stay in the table until removed.
 */
export function ledgerText(
  view: LedgerView,
  registered?: { readonly file: string; readonly clusters: readonly string[] },
): string {
  const failed = view.targets.filter((t) => t.failed).length;
  const expired = view.targets.filter((t) => t.expired).length;
  const expiring = view.credentials.filter((c) => c.expiring).length;
  const lines = [
    `${view.ok ? 'ok' : 'FAILED'}: ${view.targets.length} targets, ${failed} failed, ${expired} expired (at ${view.at})` +
      (expiring > 0 ? `; ${expiring} cluster credential(s) expiring` : ''),
  ];
  for (const [kind, state] of Object.entries(view.kinds)) {
    lines.push(
      `  ${kind}: least validity left ${formatDuration(state.minSecondsOfValidityLeft)}, ` +
        `${state.targetsAtRisk} at risk, ${state.targetsFailed} failed, ${state.targets} targets`,
    );
  }
  const credentials = new Map(view.credentials.map((c) => [c.cluster, c]));
  const byCluster = new Map<string, LedgerTarget[]>();
  for (const target of view.targets)
    byCluster.set(target.cluster, [...(byCluster.get(target.cluster) ?? []), target]);
  const clusters = [...new Set([...view.targets.map((t) => t.cluster), ...credentials.keys()])].sort((a, b) =>
    a.localeCompare(b),
  );
  for (const cluster of clusters) {
    const gone = registered && !registered.clusters.includes(cluster) ? ` (not in ${registered.file})` : '';
    lines.push(`${cluster}:${gone}`);
    const credential = credentials.get(cluster);
    if (credential) lines.push(credentialText(credential));
    for (const target of byCluster.get(cluster) ?? []) pushTarget(lines, target);
  }
  if (view.targets.length === 0) lines.push('(the ledger is empty)');
  return lines.join('\n');
}

function pushTarget(lines: string[], target: LedgerTarget): void {
  lines.push(
    `  ${target.kind.padEnd(4)} ${target.namespace}/${target.secretName}  ` +
      `last success ${target.lastSuccessAt ?? '-'}  expires ${target.expiresAt ?? '-'}  ` +
      `${validityText(target)}${failureText(target)}`,
  );
}
