/**
 * What every command shares: options, output (text, JSON or YAML on stdout), exit codes and the AWS
 * clients, so each command module stays a thin shell over the core.
 */

import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  type AwsTarget,
  clientSettings,
  defaultAwsClients,
  parseSecretArn,
  routedByArnRegion,
} from '../../aws/clients.ts';
import { type KubeconfigSource, secretsManagerKubeconfigs } from '../../aws/kubeconfig-store.ts';
import type { SecretsWriterApi } from '../../aws/kubeconfig-writer.ts';
import { type AwsNeeds, awsNeedsOf, checkAwsSetup } from '../../aws/preflight.ts';
import { loadConfig } from '../../config/load.ts';
import type { Config } from '../../config/types.ts';
import { selectClusters } from '../../register/select.ts';
import { formatOutput, OUTPUT_FORMATS, type OutputFormat } from '../output.ts';

/**
 * One meaning everywhere: 0 ok; 1 something was tried and failed or found a problem (a delivery, a
 * check, a step, a target past its expiry); 2 nothing was tried because the input or setup is wrong
 * (usage, the registration file, a missing AWS region or credentials).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** The exit codes as every `--help` lists them. */
export const EXIT_CODES_HELP =
  '\nExit codes:\n' +
  '  0  ok\n' +
  '  1  something was tried and failed or found a problem (a delivery, check, step or target)\n' +
  '  2  nothing was tried: bad usage, an invalid registration file, or no AWS region/credentials';

export const DEFAULT_CONFIG = process.env.CRED_COURIER_CONFIG ?? 'config/clusters.yaml';

/** Options every registration command takes. */
export interface SharedOptions {
  readonly config: string;
  readonly output: OutputFormat;
  readonly dryRun: boolean;
}

/** The options of commands that call AWS. */
export interface AwsOptions {
  readonly region?: string;
  readonly profile?: string;
}

/** `-o/--output text|json|yaml`. */
export function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('text');
}

/** `-c/--config`, `-o/--output`, `--dry-run` (on read-only commands it changes nothing: they never write). */
export function withSharedOptions(command: Command, dryRunHelp: string): Command {
  return command
    .option('-c, --config <file>', 'registration file', DEFAULT_CONFIG)
    .addOption(outputOption())
    .option('--dry-run', dryRunHelp, false);
}

/** `--region`, `--profile`: where the AWS calls go, over the environment's defaults. */
export function withAwsOptions(command: Command): Command {
  return command
    .option(
      '--region <region>',
      'AWS region for calls that name none (kubeconfig secrets given by name, the ledger); an ARN is always read in its own region (default: $AWS_REGION, then the profile)',
    )
    .option(
      '--profile <name>',
      'AWS shared-config profile to use (default: $AWS_PROFILE, then the default chain)',
    );
}

export function awsTarget(options: AwsOptions): AwsTarget {
  return {
    ...(options.region ? { region: options.region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
  };
}

/** The AWS setup check, said once before anything is contacted (exit 2 when it fails). */
export function preflight(options: AwsOptions, needs: AwsNeeds): Promise<void> {
  return checkAwsSetup(awsTarget(options), needs);
}

/** Where a kubeconfig secret is, for `register`/`unregister` to say: an ARN's region, or the default's. */
export async function secretLocation(secretId: string, options: AwsOptions): Promise<string> {
  const arn = parseSecretArn(secretId);
  if (arn) return `region ${arn.region}, account ${arn.accountId}`;
  const client = new SecretsManagerClient(clientSettings(awsTarget(options)));
  try {
    return `region ${await client.config.region()}`;
  } catch {
    return 'region unknown';
  } finally {
    client.destroy();
  }
}

/**
 * The admin kubeconfig when `--kubeconfig` is not given, as kubectl picks it: the first file of
 * $KUBECONFIG (a list separated like PATH), else ~/.kube/config.
 */
export function defaultKubeconfigPath(env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  const first = (env.KUBECONFIG ?? '').split(delimiter).find((path) => path.length > 0);
  return first ?? join(home, '.kube', 'config');
}

/** What to run after the registration file changed, so the deployed function uses it. */
export function redeployHint(configFile: string): string {
  return `next: the function reads the registration file bundled at deploy time: run \`npm run deploy\` (or your own deploy command; keep ${configFile} outside this repository with \`--param config=FILE\`) for the change to take effect`;
}

/** A repeatable option's values, in order. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `--cluster NAME` (repeatable), as `run` and `plan` take it, beside the positional names. */
export function withClusterOption(command: Command): Command {
  return command.option('--cluster <name>', 'only this cluster (repeatable; same as naming it)', collect);
}

/** The clusters named positionally and with `--cluster`. */
export function namedClusters(positional: readonly string[], options: { cluster?: string[] }): string[] {
  return [...positional, ...(options.cluster ?? [])];
}

/** The options of commands that read named clusters' stored kubeconfigs (`check`, `status`). */
export type ClusterReadOptions = SharedOptions & AwsOptions & { readonly cluster?: string[] };

/**
 * What `check` and `status` start from: the file, the clusters named, the AWS setup checked once for
 * them, and their stored kubeconfigs.
 */
export async function clusterReadInputs(
  names: readonly string[],
  options: ClusterReadOptions,
): Promise<{ config: Config; clusters: string[]; kubeconfigs: KubeconfigSource }> {
  const clusters = namedClusters(names, options);
  const config = await loadConfig(options.config);
  await preflight(options, awsNeedsOf(selectClusters(config, clusters)));
  return { config, clusters, kubeconfigs: storedKubeconfigs(options) };
}

/** A comma-separated list option (`a,b`); empty items are refused. */
export function commaList(value: string): string[] {
  const items = value.split(',').map((item) => item.trim());
  if (items.some((item) => item.length === 0))
    throw new InvalidArgumentError(`empty item in ${JSON.stringify(value)}`);
  return items;
}

/** Writes the result: JSON or YAML as is, or the text rendering, on stdout. */
export function print(format: OutputFormat, value: unknown, text: () => string): void {
  process.stdout.write(`${formatOutput(format, value, text)}\n`);
}

/**
 * Secrets Manager for registration (create, put, describe, delete): a secret named by ARN in the ARN's
 * region, a name in `--region` (else the default chain's).
 */
export function secretsWriter(options: AwsOptions = {}): SecretsWriterApi {
  const target = awsTarget(options);
  const clients = new Map<string, SecretsWriterApi>();
  return routedByArnRegion((region) => {
    const key = region ?? '';
    let client = clients.get(key);
    if (!client) {
      client = new SecretsManagerClient(clientSettings(target, region)) as SecretsWriterApi;
      clients.set(key, client);
    }
    return client;
  });
}

/** Stored kubeconfigs, read fresh each time (no cache: the CLI runs once), each in its ARN's region. */
export function storedKubeconfigs(options: AwsOptions = {}): KubeconfigSource {
  return secretsManagerKubeconfigs(defaultAwsClients(awsTarget(options)).secretsManager(), {
    ttlSeconds: 0,
  });
}

/** `ok`/`warn`/`fail` as a one-character mark. */
export function mark(status: 'ok' | 'warn' | 'fail'): string {
  return status === 'ok' ? '✓' : status === 'warn' ? '!' : '✗';
}

/** `3d 4h`, `5h 12m`, `42m`, or `expired 2h ago`. */
export function formatSeconds(seconds: number): string {
  const past = seconds < 0;
  let left = Math.abs(Math.round(seconds));
  const days = Math.floor(left / 86400);
  left -= days * 86400;
  const hours = Math.floor(left / 3600);
  left -= hours * 3600;
  const minutes = Math.floor(left / 60);
  const text = days > 0 ? `${days}d ${hours}h` : hours > 0 ? `${hours}h ${minutes}m` : `${minutes}m`;
  return past ? `expired ${text} ago` : text;
}
