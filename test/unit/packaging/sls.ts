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
import { afterAll, beforeAll, expect, it } from 'vitest';

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

export interface PackagedModes<Mode extends string> {
  /** The project copy packaged in `mode`. */
  project(mode: Mode): ProjectCopy;
  /** Its template. */
  template(mode: Mode): Template;
}

/**
 * Packages SAMPLE_CONFIG once per mode (its `--param`s), one project copy each, one after another, before
 * the file's tests (call at the top level of a test file); the copies are removed after them.
 */
export function packagedModes<Mode extends string>(
  modes: Readonly<Record<Mode, Readonly<Record<string, string>>>>,
): PackagedModes<Mode> {
  const projects = new Map<Mode, ProjectCopy>();
  const templates = new Map<Mode, Template>();
  const packaged = <T>(from: Map<Mode, T>, mode: Mode): T => {
    const value = from.get(mode);
    if (value === undefined) throw new Error(`${mode} was not packaged`);
    return value;
  };
  beforeAll(
    async () => {
      for (const [mode, params] of Object.entries(modes) as [Mode, Record<string, string>][]) {
        const project = projectCopy();
        projects.set(mode, project);
        const config = project.write('sample.yaml', SAMPLE_CONFIG);
        const result = await slsPackage(project.dir, { config, ...params });
        if (result.code !== 0) throw new Error(`sls package (${mode}) failed:\n${result.output}`);
        templates.set(mode, readTemplate(project.dir));
      }
    },
    (Object.keys(modes).length + 1) * SLS_TIMEOUT_MS,
  );
  afterAll(() => {
    for (const project of projects.values()) project.remove();
  });
  return { project: (mode) => packaged(projects, mode), template: (mode) => packaged(templates, mode) };
}

export interface SlsResult {
  readonly code: number;
  /** stdout and stderr together, as a user would see them. */
  readonly output: string;
}

const paramArgs = (params: Readonly<Record<string, string>>) =>
  Object.entries(params).flatMap(([key, value]) => ['--param', `${key}=${value}`]);

/** `sls package` in `dir` with `--param key=value` for each entry of `params`. */
export function slsPackage(dir: string, params: Readonly<Record<string, string>> = {}): Promise<SlsResult> {
  return execute(
    process.execPath,
    [join(PROJECT_ROOT, 'node_modules/.bin/sls'), 'package', ...paramArgs(params)],
    dir,
  );
}

/** `npm run package` in `dir`, the way the README packages, with the same params. */
export function npmRunPackage(
  dir: string,
  params: Readonly<Record<string, string>> = {},
): Promise<SlsResult> {
  return execute('npm', ['run', 'package', '--', ...paramArgs(params)], dir);
}

function execute(command: string, args: readonly string[], dir: string): Promise<SlsResult> {
  return new Promise((resolve) => {
    execFile(
      command,
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

const CI = process.env.CI === 'true';

export interface CfnLintFinding {
  readonly Level: string;
  readonly Rule: { readonly Id: string };
  readonly Message: string;
}

/**
 * cfn-lint's findings on a template (warnings printed), or undefined when cfn-lint is not installed
 * outside CI (the caller skips); in CI a missing cfn-lint fails.
 */
export async function cfnLint(templatePath: string): Promise<CfnLintFinding[] | undefined> {
  const cfnLint = findTool(['cfn-lint']);
  if (cfnLint === undefined) {
    if (CI) throw new Error('cfn-lint is not installed (CI=true): install it (pip install cfn-lint)');
    console.warn('skipping cfn-lint: not installed (pip install cfn-lint)');
    return undefined;
  }
  const result = await runTool(cfnLint, ['--format', 'json', '--non-zero-exit-code', 'none', templatePath]);
  const findings = JSON.parse(result.output.trim() || '[]') as CfnLintFinding[];
  for (const finding of findings)
    console.warn(`cfn-lint ${finding.Level} ${finding.Rule.Id}: ${finding.Message}`);
  return findings;
}

/** checkov's run on a template, or undefined when checkov is not installed outside CI (the caller skips). */
export async function checkov(templatePath: string): Promise<SlsResult | undefined> {
  const checkov = findTool([join(PROJECT_ROOT, '.cache/checkov-venv/bin/checkov'), 'checkov']);
  if (checkov === undefined) {
    if (CI)
      throw new Error('checkov is not installed (CI=true): .ci/run installs it into .cache/checkov-venv');
    console.warn('skipping checkov: not in .cache/checkov-venv nor on PATH (see .ci/run)');
    return undefined;
  }
  return runTool(checkov, [
    '-f',
    templatePath,
    '--framework',
    'cloudformation',
    '--quiet',
    '--compact',
    '--skip-download',
  ]);
}

/**
 * The static analysis of a packaged template, as two tests (call inside a describe): cfn-lint finds no
 * error, checkov no failed check, and every checkov suppression in the template says why.
 */
export function staticAnalysisTests(templatePath: () => string, template: () => Template): void {
  it(
    'passes cfn-lint without errors',
    async (context) => {
      const findings = await cfnLint(templatePath());
      if (findings === undefined) return context.skip();
      expect(findings.filter((f) => f.Level === 'Error')).toEqual([]);
    },
    SLS_TIMEOUT_MS,
  );

  it(
    'passes checkov, every suppression carrying its reason',
    async (context) => {
      const result = await checkov(templatePath());
      if (result === undefined) return context.skip();
      expect(result.output).toMatch(/Failed checks: 0\b/);
      expect(result.code, result.output).toBe(0);
      for (const [id, resource] of Object.entries(template().Resources)) {
        for (const skip of resource.Metadata?.checkov?.skip ?? []) {
          expect(skip.comment.length, `${id} ${skip.id} needs a reason`).toBeGreaterThan(40);
        }
      }
    },
    SLS_TIMEOUT_MS,
  );
}
