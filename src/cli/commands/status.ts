/**
 * `cred-courier status [<cluster>...]`: each of cred-courier's Secrets per cluster and namespace with
 * its kind, issue and expiry times, time left and ServiceAccount references. Exit 1 when anything is
 * expired, missing, not cred-courier's, unreadable or unreferenced.
 */
import type { Command } from 'commander';
import { clusterStatus, isProblem, type StatusReport } from '../../register/status.ts';
import { clusterFailureText } from '../output.ts';
import {
  type ClusterReadOptions,
  clusterReadInputs,
  EXIT,
  EXIT_CODES_HELP,
  formatSeconds,
  print,
  withAwsOptions,
  withClusterOption,
  withSharedOptions,
} from './common.ts';

export function statusText(report: StatusReport): string {
  const lines: string[] = [];
  for (const cluster of report.clusters) {
    const failure = cluster.failure ? clusterFailureText(cluster.failure) : '';
    lines.push(`${cluster.cluster}:${failure}`);
    const credential = cluster.credential;
    if (credential) {
      const expiry =
        credential.expiresAt === undefined
          ? 'never expires, never renewed'
          : `expires ${credential.expiresAt}${credential.secondsLeft === undefined ? '' : ` (${formatSeconds(credential.secondsLeft)}${credential.secondsLeft > 0 ? ' left' : ''})`}`;
      const todo =
        credential.kind === 'token'
          ? credential.renewsFrom
            ? `; runs renew it from ${credential.renewsFrom}`
            : ''
          : credential.kind === 'client-certificate'
            ? '; not renewed: replace the certificate or run register --rotate'
            : '';
      lines.push(`  credential ${credential.kind} ${expiry}${todo}`);
    }
    for (const secret of cluster.secrets) {
      const accounts = Object.entries(secret.serviceAccounts ?? {})
        .map(([name, state]) => `${name}:${state}`)
        .join(' ');
      const times = secret.expiresAt
        ? `  issued ${secret.issuedAt ?? '?'}  expires ${secret.expiresAt}${secret.secondsLeft === undefined ? '' : ` (${formatSeconds(secret.secondsLeft)}${secret.secondsLeft > 0 ? ' left' : ''})`}`
        : '';
      const problem = isProblem(secret) ? '✗' : '✓';
      lines.push(
        `  ${problem} ${secret.state.padEnd(10)} ${secret.kind.padEnd(3)} ${secret.namespace}/${secret.secretName}${times}${accounts ? `  [${accounts}]` : ''}${secret.failure ? `  ${secret.failure.failureClass}: ${secret.failure.message}` : ''}`,
      );
    }
    if (!cluster.failure && cluster.secrets.length === 0) lines.push('  (nothing selected)');
  }
  lines.push(report.ok ? 'ok' : 'FAILED: something is expired, missing or unreferenced');
  return lines.join('\n');
}

export function addStatusCommand(program: Command): void {
  withClusterOption(
    withAwsOptions(withSharedOptions(program.command('status'), 'accepted for symmetry; status only reads')),
  )
    .argument('[clusters...]', 'cluster names (default: all)')
    .description(
      "show each delivered Secret's kind, expiry and ServiceAccount references, per cluster and namespace",
    )
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (names: string[], options: ClusterReadOptions) => {
      const report = await clusterStatus(await clusterReadInputs(names, options));
      print(options.output, report, () => statusText(report));
      process.exitCode = report.ok ? EXIT.ok : EXIT.failed;
    });
}
