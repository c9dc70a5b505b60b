/**
 * `cred-courier check [<cluster>...]`: whether each stored kubeconfig still does everything delivery
 * needs. Exit 1 when any check is not ok (a warning such as a token expiring within 7 days included,
 * a secret guard not in effect always, unless the entry opted out with `secretGuard: false`).
 *
 * `--remote` asks the deployed function to run the same checks from its own network (a synchronous
 * invoke; the operator needs lambda:InvokeFunction on it) and prints its answer the same way.
 */
import type { Command } from 'commander';
import { functionNameOf, invokeFunction } from '../../aws/function-invoker.ts';
import { printable } from '../../config/fields.ts';
import { UsageError } from '../../errors.ts';
import { type CheckReport, checkClusters, parseCheckReport } from '../../register/check.ts';
import {
  type AwsOptions,
  type ClusterReadOptions,
  clusterReadInputs,
  EXIT,
  EXIT_CODES_HELP,
  mark,
  namedClusters,
  print,
  withAwsOptions,
  withClusterOption,
  withSharedOptions,
} from './common.ts';

interface CheckCliOptions extends ClusterReadOptions {
  readonly remote: boolean;
  readonly stage?: string;
  readonly function?: string;
}

export function checkText(report: CheckReport): string {
  const lines: string[] = [];
  for (const cluster of report.clusters) {
    lines.push(`${printable(cluster.cluster)}: ${cluster.ok ? 'ok' : 'PROBLEMS'}`);
    // Details quote apiservers (namespace names, versions) and may come from the function's payload.
    for (const item of cluster.items)
      lines.push(`  ${mark(item.status)} ${item.check}: ${printable(item.detail)}`);
    for (const warning of cluster.warnings ?? []) lines.push(`  warning: ${printable(warning)}`);
  }
  lines.push(report.ok ? 'ok' : 'FAILED: some check is not ok');
  return lines.join('\n');
}

/** The deployed function's check report: its event names the clusters (all when none). */
export async function remoteCheck(
  functionName: string,
  clusters: readonly string[],
  aws: AwsOptions = {},
): Promise<CheckReport> {
  const payload = await invokeFunction({
    functionName,
    ...(aws.region ? { region: aws.region } : {}),
    ...(aws.profile ? { profile: aws.profile } : {}),
    event: { check: clusters.length > 0 ? { clusters } : {} },
  });
  return parseCheckReport(payload, `function ${functionName}`);
}

function remoteFunction(options: CheckCliOptions): string | undefined {
  if (!options.remote) {
    if (options.stage || options.function)
      throw new UsageError('--stage and --function go with --remote (check from the deployed function)');
    return undefined;
  }
  if (options.function) return options.function;
  if (options.stage) return functionNameOf(options.stage);
  throw new UsageError(
    '--remote needs --stage <stage> (the function cred-courier-<stage>-distribute) or --function <name>',
  );
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
    .option(
      '--remote',
      'run the checks in the deployed function, from its network (needs lambda:InvokeFunction on it); its packaged registration file names the clusters, -c is not read',
      false,
    )
    .option(
      '--stage <stage>',
      'with --remote: the stage whose function cred-courier-<stage>-distribute runs them',
    )
    .option('--function <name>', 'with --remote: the function name or ARN, when not the stage default')
    .addHelpText(
      'after',
      '\nWith --remote, --region and --profile choose where the function is invoked (default: the AWS defaults).\n' +
        '\nExamples:\n  $ cred-courier check\n  $ cred-courier check gke-prod -o json\n' +
        '  $ cred-courier check --remote --stage prod --region eu-west-1\n',
    )
    .action(async (names: string[], options: CheckCliOptions) => {
      const functionName = remoteFunction(options);
      let report: CheckReport;
      if (functionName) {
        process.stderr.write(
          `checking from function ${functionName} (its network, its stored kubeconfigs)\n`,
        );
        report = await remoteCheck(functionName, namedClusters(names, options), options);
      } else {
        report = await checkClusters({ ...(await clusterReadInputs(names, options)), serverWarnings: true });
      }
      print(options.output, report, () => checkText(report));
      process.exitCode = report.ok ? EXIT.ok : EXIT.failed;
    });
}
