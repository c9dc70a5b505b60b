/**
 * `cred-courier check [<cluster>...]`: whether each stored kubeconfig still does everything delivery
 * needs. Exit 1 when any check is not ok (a warning such as a token expiring within 7 days included,
 * a secret guard not in effect always, unless the entry opted out with `secretGuard: false`).
 */
import type { Command } from 'commander';
import { type CheckReport, checkClusters } from '../../register/check.ts';
import {
  type ClusterReadOptions,
  clusterReadInputs,
  EXIT,
  EXIT_CODES_HELP,
  mark,
  print,
  withAwsOptions,
  withClusterOption,
  withSharedOptions,
} from './common.ts';

export function checkText(report: CheckReport): string {
  const lines: string[] = [];
  for (const cluster of report.clusters) {
    lines.push(`${cluster.cluster}: ${cluster.ok ? 'ok' : 'PROBLEMS'}`);
    for (const item of cluster.items) lines.push(`  ${mark(item.status)} ${item.check}: ${item.detail}`);
  }
  lines.push(report.ok ? 'ok' : 'FAILED: some check is not ok');
  return lines.join('\n');
}

export function addCheckCommand(program: Command): void {
  withClusterOption(
    withAwsOptions(
      withSharedOptions(
        program.command('check'),
        'accepted for symmetry; check never writes (its probe is a server-side dry run)',
      ),
    ),
  )
    .addHelpText('after', EXIT_CODES_HELP)
    .argument('[clusters...]', 'cluster names (default: all)')
    .description(
      'check each stored kubeconfig: reachability, TLS, identity, token expiry, every permission delivery needs, the secret guard',
    )
    .action(async (names: string[], options: ClusterReadOptions) => {
      const report = await checkClusters(await clusterReadInputs(names, options));
      print(options.output, report, () => checkText(report));
      process.exitCode = report.ok ? EXIT.ok : EXIT.failed;
    });
}
