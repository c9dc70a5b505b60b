/**
 * `cred-courier unregister <cluster>`: remove cred-courier's Secrets, ServiceAccount references and
 * inventory from the cluster, its RBAC too (with the admin kubeconfig) unless `--keep-rbac`, schedule
 * the stored kubeconfig's deletion, and take the entry out of the registration file.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { parseSecretArn } from '../../aws/clients.ts';
import { loadAdminKubeconfig } from '../../register/admin.ts';
import { type UnregisterReport, unregisterCluster } from '../../register/unregister.ts';
import {
  type AwsOptions,
  defaultKubeconfigPath,
  EXIT,
  EXIT_CODES_HELP,
  preflight,
  print,
  type SharedOptions,
  secretLocation,
  secretsWriter,
  storedKubeconfigs,
  withAwsOptions,
  withSharedOptions,
} from './common.ts';
import { epilogueText, nextStep, type RegisterEpilogue } from './register.ts';

interface UnregisterCliOptions extends SharedOptions, AwsOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly keepRbac: boolean;
  readonly force: boolean;
  readonly recoveryWindowDays: number;
}

function days(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 7 || parsed > 30)
    throw new InvalidArgumentError('expected 7 to 30 days');
  return parsed;
}

export function unregisterText(report: UnregisterReport): string {
  const lines = [`unregister ${report.cluster}${report.dryRun ? ' (dry run: nothing written)' : ''}`];
  for (const s of report.serviceAccounts)
    lines.push(`  reference   ${s.namespace}/${s.name} → ${s.secretName}: ${s.action}`);
  for (const s of report.secrets) {
    lines.push(
      `  secret      ${s.kind} ${s.namespace}/${s.secretName}: ${s.action}${s.failure ? ` (${s.failure.failureClass}: ${s.failure.message})` : ''}`,
    );
  }
  lines.push(
    `  inventory   ${report.inventory === 'unknown' ? 'unknown (not read: no access to the cluster)' : report.inventory}`,
  );
  for (const r of report.rbac) lines.push(`  rbac        ${r.object}: ${r.action}`);
  const date = report.kubeconfigSecret.deletionDate
    ? ` (deleted on ${report.kubeconfigSecret.deletionDate})`
    : '';
  lines.push(`  stored      ${report.kubeconfigSecret.secretId}: ${report.kubeconfigSecret.action}${date}`);
  lines.push(`  config      ${report.config.file}: ${report.config.action}`);
  for (const warning of report.warnings) lines.push(`  warning: ${warning}`);
  lines.push(report.ok ? 'ok' : 'FAILED');
  return lines.join('\n');
}

export function addUnregisterCommand(program: Command): void {
  withAwsOptions(
    withSharedOptions(program.command('unregister'), 'show what would be removed; remove nothing'),
  )
    .argument('<cluster>', 'registered cluster name')
    .description(
      "remove cred-courier's Secrets, references, inventory and RBAC from a cluster, and forget it",
    )
    .option(
      '--kubeconfig <file>',
      'admin kubeconfig, to remove the RBAC and control namespace (unless --keep-rbac; default as kubectl: the first file of $KUBECONFIG, else ~/.kube/config)',
    )
    .option('--context <name>', 'context of the admin kubeconfig')
    .option('--keep-rbac', 'leave the RBAC, ServiceAccount and control namespace in place', false)
    .option(
      '--recovery-window-days <days>',
      'days Secrets Manager keeps the kubeconfig restorable (7-30)',
      days,
      30,
    )
    .option('--force', 'forget the cluster even if it could not be cleaned (e.g. it no longer exists)', false)
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (cluster: string, options: UnregisterCliOptions) => {
      const kubeconfig = options.kubeconfig ?? (options.keepRbac ? undefined : defaultKubeconfigPath());
      const admin = kubeconfig ? loadAdminKubeconfig(kubeconfig, options.context) : undefined;
      await preflight(options, { defaultRegion: true });
      const report = await unregisterCluster({
        configFile: options.config,
        cluster,
        ...(admin ? { admin } : {}),
        keepRbac: options.keepRbac,
        dryRun: options.dryRun,
        force: options.force,
        recoveryWindowDays: options.recoveryWindowDays,
        kubeconfigs: storedKubeconfigs(options),
        secrets: secretsWriter(options),
      });
      const secretId = report.kubeconfigSecret.secretId;
      const epilogue: RegisterEpilogue = {
        secretId,
        ...(parseSecretArn(secretId) ? { arn: secretId } : {}),
        location: secretId ? await secretLocation(secretId, options) : 'no stored kubeconfig',
        next: nextStep(report.config.file, report.config.action, report.dryRun),
      };
      print(
        options.output,
        { ...report, storedIn: epilogue },
        () => `${unregisterText(report)}\n${epilogueText(epilogue, 'secret in')}`,
      );
      process.exitCode = report.ok ? EXIT.ok : EXIT.failed;
    });
}
