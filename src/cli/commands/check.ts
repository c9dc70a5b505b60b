/**
 * `cred-courier check [<cluster>...]`: whether each stored kubeconfig still does everything delivery
 * needs. Exit 1 when any check is not ok (a warning such as a token expiring within 7 days included,
 * a secret guard not in effect always, unless the entry opted out with `secretGuard: false`).
 */
import type { Command } from 'commander';
import { awsNeedsOf } from '../../aws/preflight.ts';
import { loadConfig } from '../../config/load.ts';
import { type CheckReport, checkClusters } from '../../register/check.ts';
import { selectClusters } from '../../register/select.ts';
import {
  type AwsOptions,
  EXIT,
  EXIT_CODES_HELP,
  mark,
  namedClusters,
  preflight,
  print,
  type SharedOptions,
  storedKubeconfigs,
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
    .action(async (names: string[], options: SharedOptions & AwsOptions & { cluster?: string[] }) => {
      const clusters = namedClusters(names, options);
      const config = await loadConfig(options.config);
      await preflight(options, awsNeedsOf(selectClusters(config, clusters)));
      const report = await checkClusters({ config, clusters, kubeconfigs: storedKubeconfigs(options) });
      print(options.output, report, () => checkText(report));
      process.exitCode = report.ok ? EXIT.ok : EXIT.failed;
    });
}
