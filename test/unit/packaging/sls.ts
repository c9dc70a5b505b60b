/**
 * Runs the real `sls package` (osls) on a throwaway copy of the project, so packaging tests neither fight
 * over .serverless/ and dist/ with each other or with a developer, nor see half-written files of a build
 * in progress. The copy holds what packaging reads (serverless.yml, scripts, src, functions, config)
 * and links node_modules.
 */
import { execFile, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Generous: osls packages in 5-15 s, slower when the whole suite runs side by side. */
export const SLS_TIMEOUT_MS = 240_000;

const COPIED = ['serverless.yml', 'package.json', 'tsconfig.json', 'scripts', 'src', 'functions', 'config'];

export interface ProjectCopy {
  readonly dir: string;
  /** Writes a file into the copy (e.g. a registration file) and returns its path. */
  write(name: string, text: string): string;
  remove(): void;
}

/** `extra`: more top-level entries to copy (e.g. `bin` for `npx cred-courier` in the copy). */
export function projectCopy(extra: readonly string[] = []): ProjectCopy {
  const dir = mkdtempSync(join(tmpdir(), 'cred-courier-packaging-'));
  for (const entry of [...COPIED, ...extra])
    cpSync(join(PROJECT_ROOT, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return {
    dir,
    write(name, text) {
      const file = join(dir, name);
      writeFileSync(file, text);
      return file;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface SlsResult {
  readonly code: number;
  /** stdout and stderr together, as a user would see them. */
  readonly output: string;
}

/** `sls package` in `dir` with `--param key=value` for each entry of `params`. */
export function slsPackage(dir: string, params: Readonly<Record<string, string>> = {}): Promise<SlsResult> {
  const args = [
    join(PROJECT_ROOT, 'node_modules/.bin/sls'),
    'package',
    ...Object.entries(params).flatMap(([key, value]) => ['--param', `${key}=${value}`]),
  ];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      {
        cwd: dir,
        timeout: SLS_TIMEOUT_MS,
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, FORCE_COLOR: '0' },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

export interface Resource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
  readonly Metadata?: { readonly checkov?: { readonly skip?: readonly { id: string; comment: string }[] } };
}

export interface Template {
  readonly Resources: Record<string, Resource>;
  readonly Outputs: Record<string, unknown>;
}

export const TEMPLATE_FILE = '.serverless/cloudformation-template-update-stack.json';

export function readTemplate(dir: string): Template {
  return JSON.parse(readFileSync(join(dir, TEMPLATE_FILE), 'utf8')) as Template;
}

/** The resources of one type, by logical ID. */
export function resourcesOfType(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

/**
 * An external tool: its path when it runs, otherwise undefined. Candidates are tried in order (a path
 * inside the project first, then a name on PATH).
 */
export function findTool(candidates: readonly string[]): string | undefined {
  for (const candidate of candidates) {
    if (candidate.includes('/') && !existsSync(candidate)) continue;
    const probe = spawnSync(candidate, ['--version'], { encoding: 'utf8', timeout: 60_000 });
    if (probe.status === 0) return candidate;
  }
  return undefined;
}

/** Runs a tool to completion, for linters whose findings come back on stdout. */
export function runTool(command: string, args: readonly string[]): Promise<SlsResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { timeout: SLS_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

/**
 * Three clusters that exercise every rule of the role derivation: a secret by name, by full ARN and by
 * partial ARN; registries with a role (one role shared by two clusters), without a role in another
 * account, and without a role or account (the function's own account); S3 grants, one role shared.
 */
export const SAMPLE_CONFIG = `settings:
  s3IntervalMinutes: 15
clusters:
  - name: gke-prod
    kubeconfigSecret: cred-courier/clusters/gke-prod
    namespaces:
      names: [app]
    ecr:
      secretName: ecr-pull
      registries:
        - accountId: "111122223333"
          region: eu-west-1
          roleArn: arn:aws:iam::111122223333:role/cred-courier-ecr-pull
    s3:
      - secretName: reports-reader
        roleArn: arn:aws:iam::111122223333:role/cred-courier-s3-reports
        region: eu-west-1
        buckets:
          - bucket: acme-reports
            prefix: reports/2026
            access: read
  - name: aks-staging
    kubeconfigSecret: arn:aws:secretsmanager:us-east-1:444455556666:secret:cred-courier/clusters/aks-staging-AbCdEf
    namespaces:
      names: [web]
    ecr:
      secretName: ecr-pull
      registries:
        - accountId: "444455556666"
          region: us-east-1
  - name: k3s-edge
    kubeconfigSecret: arn:aws:secretsmanager:eu-west-1:111122223333:secret:cred-courier/clusters/k3s-edge
    namespaces:
      names: [edge]
    ecr:
      secretName: ecr-pull
      registries:
        - accountId: "111122223333"
          region: eu-west-1
          roleArn: arn:aws:iam::111122223333:role/cred-courier-ecr-pull
        - region: eu-central-1
    s3:
      - secretName: reports-reader
        roleArn: arn:aws:iam::111122223333:role/cred-courier-s3-reports
        region: eu-west-1
        buckets:
          - bucket: acme-reports
            access: read
      - secretName: exports-writer
        roleArn: arn:aws:iam::111122223333:role/cred-courier-s3-exports
        region: eu-west-1
        buckets:
          - bucket: acme-exports
            access: readwrite
`;
