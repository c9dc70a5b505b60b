/**
 * Building blocks for tests of the real `register` (and the CLI around it) on the rig: its options with
 * the rig's admin kubeconfig and moto's Secrets Manager, the kubeconfig it stored and that kubeconfig's
 * token, and the CLI run in-process with its output captured.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { vi } from 'vitest';
import { parse } from 'yaml';
import type { SecretsWriterApi } from '../../src/aws/kubeconfig-writer.ts';
import { main } from '../../src/cli/main.ts';
import { loadAdminKubeconfig } from '../../src/register/admin.ts';
import type { RegisterOptions } from '../../src/register/register.ts';

/** `check`'s items for a registered cluster that passes everything, as `check:status`, in order. */
export const EVERY_CHECK_OK = [
  'kubeconfig:ok',
  'reachability:ok',
  'tls:ok',
  'identity:ok',
  'token-expiry:ok',
  'namespaces:ok',
  'permissions:ok',
  'secret-guard:ok',
];

/** moto's Secrets Manager as `register` writes to it. */
export const secretsWriter = (): SecretsWriterApi =>
  new SecretsManagerClient({}) as unknown as SecretsWriterApi;

/**
 * `register` for `cluster` of `configFile` with the admin kubeconfig at `adminKubeconfigPath`: RBAC
 * applied, a 24-hour requested token, stored in moto's Secrets Manager; `extra` overrides any of it.
 */
export function registerOptions(
  target: { readonly configFile: string; readonly cluster: string; readonly adminKubeconfigPath: string },
  extra: Partial<RegisterOptions> = {},
): RegisterOptions {
  return {
    configFile: target.configFile,
    cluster: target.cluster,
    admin: loadAdminKubeconfig(target.adminKubeconfigPath),
    rbac: 'apply',
    token: { kind: 'token-request', seconds: 24 * 3600 },
    rotate: false,
    dryRun: false,
    entry: {},
    secrets: secretsWriter(),
    ...extra,
  };
}

/** The kubeconfig stored under `secretId` in moto's Secrets Manager (rejects when there is none). */
export async function storedKubeconfig(secretId: string): Promise<string> {
  const value = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: secretId }));
  return value.SecretString ?? '';
}

/** The bearer token of a kubeconfig's first user ('' when it has none). */
export function tokenOf(kubeconfig: string): string {
  const doc = parse(kubeconfig) as { users: { user: { token: string } }[] };
  return doc.users[0]?.user.token ?? '';
}

/** Runs the CLI in-process and captures what it prints. */
export async function cli(
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err.push(String(chunk));
    return true;
  });
  try {
    process.exitCode = undefined;
    const code = await main(args);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.exitCode = undefined;
    stdout.mockRestore();
    stderr.mockRestore();
  }
}
