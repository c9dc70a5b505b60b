/**
 * What the registration commands share: options, output (text or JSON on stdout), exit codes and the
 * AWS clients, so each command module stays a thin shell over `src/register/`.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { defaultAwsClients } from '../../aws/clients.ts';
import { type KubeconfigSource, secretsManagerKubeconfigs } from '../../aws/kubeconfig-store.ts';
import type { SecretsWriterApi } from '../../aws/kubeconfig-writer.ts';
import type { OutputFormat } from '../output.ts';

/** The same codes as `main.ts`: 0 ok; 1 a problem was found or a step failed; 2 bad input or usage. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export const DEFAULT_CONFIG = process.env.CRED_COURIER_CONFIG ?? 'config/clusters.yaml';

/** Options every registration command takes. */
export interface SharedOptions {
  readonly config: string;
  readonly output: OutputFormat;
  readonly dryRun: boolean;
}

/** `-c/--config`, `-o/--output`, `--dry-run` (on read-only commands it changes nothing: they never write). */
export function withSharedOptions(command: Command, dryRunHelp: string): Command {
  return command
    .option('-c, --config <file>', 'registration file', DEFAULT_CONFIG)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--dry-run', dryRunHelp, false);
}

/** A comma-separated list option (`a,b`); empty items are refused. */
export function commaList(value: string): string[] {
  const items = value.split(',').map((item) => item.trim());
  if (items.some((item) => item.length === 0))
    throw new InvalidArgumentError(`empty item in ${JSON.stringify(value)}`);
  return items;
}

/** Writes the result: JSON as is, or the text rendering, on stdout. */
export function print(format: OutputFormat, value: unknown, text: () => string): void {
  process.stdout.write(`${format === 'json' ? JSON.stringify(value, null, 2) : text()}\n`);
}

/** Secrets Manager for registration (create, put, describe, delete), from the default credential chain. */
export function secretsWriter(): SecretsWriterApi {
  return new SecretsManagerClient({}) as SecretsWriterApi;
}

/** Stored kubeconfigs, read fresh each time (no cache: the CLI runs once). */
export function storedKubeconfigs(): KubeconfigSource {
  return secretsManagerKubeconfigs(defaultAwsClients().secretsManager(), { ttlSeconds: 0 });
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
