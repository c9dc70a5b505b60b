/**
 * `cred-courier register <cluster> --kubeconfig FILE`: with the operator's admin kubeconfig, apply the
 * cluster's RBAC, mint a token for cred-courier's ServiceAccount, verify a minimal kubeconfig holding it,
 * store that in Secrets Manager and add or update the cluster's entry in the registration file. The
 * admin kubeconfig is used for this command only and never stored. Nothing is stored unless the secret
 * guard is proven in effect, or `--without-secret-guard` is given for a cluster of exact namespace names.
 */
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { parseSecretArn } from '../../aws/clients.ts';
import type { SecretsWriterApi } from '../../aws/kubeconfig-writer.ts';
import { printable } from '../../config/fields.ts';
import { CredCourierError } from '../../errors.ts';
import { loadAdminKubeconfig } from '../../register/admin.ts';
import { type RegisterReport, registerCluster, type TokenMode } from '../../register/register.ts';
import { DEFAULT_TOKEN_LIFETIME, parseLifetime } from '../../register/token.ts';
import {
  type AwsOptions,
  commaList,
  defaultKubeconfigPath,
  EXIT,
  EXIT_CODES_HELP,
  mark,
  preflight,
  print,
  redeployHint,
  type SharedOptions,
  secretLocation,
  secretsWriter,
  withAwsOptions,
  withSharedOptions,
} from './common.ts';

interface RegisterCliOptions extends SharedOptions, AwsOptions {
  readonly kubeconfig: string;
  readonly context?: string;
  readonly rbac: 'apply' | 'skip';
  readonly tokenLifetime: number;
  readonly longLivedToken: boolean;
  readonly rotate: boolean;
  readonly server?: string;
  readonly namespaces?: string[];
  readonly kubeconfigSecret?: string;
  readonly secretName?: string;
  readonly ecrRegistry?: { accountId?: string; region: string }[];
  readonly serviceAccounts?: string[];
  readonly withoutSecretGuard: boolean;
}

function lifetime(value: string): number {
  try {
    return parseLifetime(value);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof CredCourierError ? error.message : String(error));
  }
}

/** `eu-west-1` or `111122223333:eu-west-1`. */
function registry(value: string, previous: { accountId?: string; region: string }[] = []) {
  const match = /^(?:(\d{12}):)?([a-z]{2}(?:-[a-z]+)+-\d)$/.exec(value.trim());
  if (!match?.[2])
    throw new InvalidArgumentError(
      `expected [account:]region such as 111122223333:eu-west-1, got ${JSON.stringify(value)}`,
    );
  return [...previous, { ...(match[1] ? { accountId: match[1] } : {}), region: match[2] }];
}

/** Where the kubeconfig was (or would be) stored, and what to run next: shown after the report. */
export interface RegisterEpilogue {
  /** The secret as the registration file names it. */
  readonly secretId: string;
  /** The secret's ARN when it exists (read back after storing). */
  readonly arn?: string;
  /** `region R, account A`, or `region R` for a name. */
  readonly location: string;
  readonly next: string;
}

/** The stored secret's ARN, read back so the report names exactly where it is; undefined if unreadable. */
export async function storedArn(secrets: SecretsWriterApi, secretId: string): Promise<string | undefined> {
  if (parseSecretArn(secretId)) return secretId;
  try {
    return (await secrets.send(new DescribeSecretCommand({ SecretId: secretId }))).ARN;
  } catch {
    return undefined;
  }
}

/** The lines after a register/unregister report: where the secret is and what to run for it to count. */
export function epilogueText(epilogue: RegisterEpilogue, verb: string): string {
  const where = epilogue.secretId
    ? `${epilogue.arn ?? epilogue.secretId} (${epilogue.location})`
    : epilogue.location;
  return `  ${verb.padEnd(11)} ${where}${nameRegionNote(epilogue)}\n${epilogue.next}`;
}

/**
 * For a secret the file names without an ARN: the function reads it in its own region, so that region
 * must be where it was stored. Said after the location, with the ARN to use otherwise.
 */
export function nameRegionNote(epilogue: RegisterEpilogue): string {
  if (!epilogue.arn || parseSecretArn(epilogue.secretId)) return '';
  return `\n  note        ${epilogue.secretId} is a name: the function reads it in the region it runs in, so deploy it there, or set kubeconfigSecret to ${epilogue.arn}`;
}

/** What to run next after a register or unregister, by what changed in the file. */
export function nextStep(configFile: string, configAction: string, dryRun: boolean): string {
  if (configAction === 'unchanged' || configAction === 'kept' || configAction === 'absent')
    return `next: ${configFile} did not change, so no deploy is needed${dryRun ? '' : '; the function reads the stored kubeconfig on its next run (after settings.kubeconfigCacheSeconds at most)'}`;
  return dryRun
    ? `${redeployHint(configFile)} (after running this without --dry-run)`
    : redeployHint(configFile);
}

export function registerText(report: RegisterReport): string {
  const lines = [`register ${report.cluster}${report.dryRun ? ' (dry run: nothing written)' : ''}`];
  lines.push(`  config      ${report.config.file}: ${report.config.action}`);
  for (const [index, entry] of report.rbac.entries()) {
    lines.push(`  ${index === 0 ? 'rbac' : '    '}        ${entry.object}: ${entry.action}`);
  }
  const expiry = report.token.expiresAt
    ? `, expires ${report.token.expiresAt}`
    : report.token.kind === 'long-lived'
      ? ', no expiry'
      : '';
  lines.push(
    `  token       ${report.token.action} (${report.token.kind}${expiry})${report.token.revokedLongLivedToken ? '; long-lived token Secret deleted (revoked)' : ''}`,
  );
  lines.push(`  stored      ${report.kubeconfigSecret.secretId}: ${report.kubeconfigSecret.action}`);
  for (const [index, item] of (report.verification?.items ?? []).entries()) {
    lines.push(
      `  ${index === 0 ? 'verified' : '        '}    ${mark(item.status)} ${item.check}: ${printable(item.detail)}`,
    );
  }
  for (const warning of report.warnings) lines.push(`  warning: ${warning}`);
  lines.push(report.ok ? (report.withoutSecretGuard ? 'ok, WITHOUT THE SECRET GUARD' : 'ok') : 'FAILED');
  return lines.join('\n');
}

export function addRegisterCommand(program: Command): void {
  withAwsOptions(
    withSharedOptions(
      program.command('register'),
      'show what would be applied, minted, stored and edited; write nothing',
    ),
  )
    .argument('<cluster>', 'cluster name (a DNS label); added to the registration file when new')
    .description(
      'make a cluster ready for delivery with the admin kubeconfig, store its own kubeconfig, and record it',
    )
    .option(
      '--kubeconfig <file>',
      "the operator's admin kubeconfig (used now, never stored; default as kubectl: the first file of $KUBECONFIG, else ~/.kube/config)",
    )
    .option('--context <name>', 'context of the admin kubeconfig (default: its current context)')
    .addOption(
      new Option('--rbac <mode>', 'apply the RBAC, or skip it (applied another way)')
        .choices(['apply', 'skip'])
        .default('apply'),
    )
    .addOption(
      new Option(
        '--token-lifetime <duration>',
        'TokenRequest lifetime (d, h, m, s); runs renew it once settings.tokenRenewalFraction of it is used',
      )
        .default(lifetime(DEFAULT_TOKEN_LIFETIME), DEFAULT_TOKEN_LIFETIME)
        .argParser(lifetime),
    )
    .addOption(
      new Option(
        '--long-lived-token',
        'a non-expiring token Secret instead (revocable by deleting it; never renewed, never expires)',
      ).conflicts('tokenLifetime'),
    )
    .option('--rotate', 'mint a new token and store a new version even if the stored one still works', false)
    .option(
      '--server <url>',
      "the API server URL stored for the function: the address it reaches from where it runs, which may differ from your own (default: the admin kubeconfig's)",
    )
    .option(
      '--namespaces <list>',
      'namespaces.names, comma-separated (required for a new cluster)',
      commaList,
    )
    .option(
      '--kubeconfig-secret <name>',
      'Secrets Manager name (new cluster default: cred-courier/clusters/<cluster>)',
    )
    .option('--secret-name <name>', 'ecr.secretName (default ecr-pull when not in defaults)')
    .option('--ecr-registry <[account:]region>', 'ecr.registries entry (repeatable)', registry)
    .option('--service-accounts <list>', 'ecr.serviceAccounts, comma-separated', commaList)
    .option(
      '--without-secret-guard',
      'store the kubeconfig even though the secret guard (Kubernetes 1.30+) is not in effect, and record secretGuard: false; exact namespace names only (refused with globs or a selector)',
      false,
    )
    .addHelpText(
      'after',
      '\n--server sets the server in the kubeconfig cred-courier stores, which the function uses from its own\n' +
        'network (AWS, or your VPC in VPC mode): not your VPN, hosts file or proxy settings. It must be an\n' +
        "address the function reaches and the server's certificate names. A loopback, link-local or private\n" +
        'address, or a server you reach only through a proxy, gets a warning with the fix (k3s: start the server\n' +
        'with --tls-san <public address>, register with --server https://<public address>:6443).\n' +
        'Confirm from the function with: cred-courier check --remote --stage <stage>\n' +
        '\nExamples:\n  $ cred-courier register gke-prod --kubeconfig ~/.kube/config --context gke_prod\n' +
        '  $ cred-courier register k3s-lab --kubeconfig lab.yaml --namespaces app,web --ecr-registry 111122223333:eu-west-1\n' +
        '  $ cred-courier register gke-prod --kubeconfig ~/.kube/config --rotate\n' +
        '  $ cred-courier register gke-prod --region eu-west-1 --profile ops\n' +
        "\nThe kubeconfig secret is stored in --region (else $AWS_REGION or the profile's): the region the\n" +
        'function runs in, unless kubeconfigSecret is an ARN (always read in its own region).\n' +
        EXIT_CODES_HELP,
    )
    .action(async (cluster: string, options: RegisterCliOptions) => {
      const admin = loadAdminKubeconfig(options.kubeconfig ?? defaultKubeconfigPath(), options.context);
      await preflight(options, {
        defaultRegion: parseSecretArn(options.kubeconfigSecret ?? '') === undefined,
      });
      const secrets = secretsWriter(options);
      const token: TokenMode = options.longLivedToken
        ? { kind: 'long-lived' }
        : { kind: 'token-request', seconds: options.tokenLifetime };
      const report = await registerCluster({
        configFile: options.config,
        cluster,
        admin,
        ...(options.server ? { server: options.server } : {}),
        rbac: options.rbac,
        token,
        rotate: options.rotate,
        dryRun: options.dryRun,
        entry: {
          ...(options.namespaces ? { namespaces: options.namespaces } : {}),
          ...(options.kubeconfigSecret ? { kubeconfigSecret: options.kubeconfigSecret } : {}),
          ...(options.secretName ? { ecrSecretName: options.secretName } : {}),
          ...(options.ecrRegistry ? { ecrRegistries: options.ecrRegistry } : {}),
          ...(options.serviceAccounts ? { ecrServiceAccounts: options.serviceAccounts } : {}),
          ...(options.withoutSecretGuard ? { withoutSecretGuard: true } : {}),
        },
        secrets,
      });
      const secretId = report.kubeconfigSecret.secretId;
      const arn = report.dryRun ? undefined : await storedArn(secrets, secretId);
      const epilogue: RegisterEpilogue = {
        secretId,
        ...(arn ? { arn } : {}),
        location: await secretLocation(arn ?? secretId, options),
        next: nextStep(report.config.file, report.config.action, report.dryRun),
      };
      print(
        options.output,
        { ...report, storedIn: epilogue },
        () =>
          `${registerText(report)}\n${epilogueText(epilogue, report.dryRun ? 'would store' : 'stored in')}`,
      );
      process.exitCode = report.ok ? EXIT.ok : EXIT.failed;
    });
}
