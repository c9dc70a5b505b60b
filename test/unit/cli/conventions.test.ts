/**
 * The command line's conventions, as a user meets them: one message for one root cause (no AWS setup),
 * exit codes with one meaning listed in every `--help`, `--version`, `-o text|json|yaml` wherever output
 * is structured, the same options on every command, kubectl's kubeconfig default, and summaries whose
 * counts add up. The CLI runs as a child process with a scrubbed environment where it talks to nothing.
 */

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { defaultKubeconfigPath, EXIT_CODES_HELP } from '../../../src/cli/commands/common.ts';
import { epilogueText, nextStep } from '../../../src/cli/commands/register.ts';
import { unregisterText } from '../../../src/cli/commands/unregister.ts';
import { buildProgram, PROGRAM_DESCRIPTION } from '../../../src/cli/main.ts';
import {
  clusterFailureText,
  ledgerText,
  ledgerView,
  logLine,
  previewText,
  progressLine,
  runSummary,
} from '../../../src/cli/output.ts';
import { KubeconfigError } from '../../../src/errors.ts';
import type { UnregisterReport } from '../../../src/register/unregister.ts';
import { describeFailure } from '../../../src/report/classify.ts';
import type { ClusterResult, RunResult } from '../../../src/run/types.ts';
import { runResultOf } from '../../support/run-result.ts';

const ROOT = join(import.meta.dirname, '../../..');
const SAMPLE = join(ROOT, 'config/clusters.yaml');

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The CLI with no AWS variables at all and an empty HOME: no profile, no region, no credentials. */
function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  const home = mkdtempSync(join(tmpdir(), 'cc-no-aws-'));
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/cred-courier.js'), ...args], {
      cwd: ROOT,
      // IMDS disabled: the chain's last provider would otherwise wait for an instance's metadata service.
      env: { PATH: process.env.PATH, HOME: home, AWS_EC2_METADATA_DISABLED: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** A command's full `--help`, with the text added after it. */
function helpOf(command: Command): string {
  let text = '';
  command.configureOutput({
    writeOut: (chunk) => {
      text += chunk;
    },
  });
  command.outputHelp();
  return text;
}

const commands = () => buildProgram().commands;
const optionFlags = (command: Command) => command.options.map((o) => o.long ?? o.short);

describe('no AWS region or credentials: one message, before anything is contacted', () => {
  it.each([
    ['run', ['run', '-c', SAMPLE]],
    ['plan', ['plan', '-c', SAMPLE]],
    ['check', ['check', '-c', SAMPLE]],
    ['status', ['status', '-c', SAMPLE]],
    ['ledger', ['ledger', '--table', 'cred-courier-ledger']],
  ])(
    '%s says it once, with the fix, and exits 2',
    async (_name, args) => {
      // Act
      const result = await cli(args);

      // Assess
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.match(/AWS is not set up/g)).toHaveLength(1);
      expect(result.stderr).toContain('AWS_REGION');
      expect(result.stderr).toContain('AWS_PROFILE');
      expect(result.stderr).toContain('aws sso login');
      expect(result.stderr).toContain('aws configure');
      // Nothing per cluster or per mint: the sample's clusters are never named.
      expect(result.stderr).not.toMatch(/gke-prod|aks-staging|mint (ecr|s3)|✗/);
    },
    30_000,
  );

  it('with a region but no credentials, says only the credentials are missing', async () => {
    const result = await cli(['run', '-c', SAMPLE], { AWS_REGION: 'eu-west-1' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no usable AWS credentials');
    expect(result.stderr).not.toContain('no AWS region');
  }, 30_000);
});

describe('exit codes, version, output formats and options', () => {
  it('every command and the program list the same exit codes in --help', () => {
    const program = buildProgram();
    expect(helpOf(program)).toContain(EXIT_CODES_HELP.trim());
    for (const command of program.commands) {
      expect(helpOf(command), command.name()).toContain(EXIT_CODES_HELP.trim());
    }
  });

  it('--version prints the package version and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const result = await cli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  }, 30_000);

  it('every command takes -c, -o text|json|yaml and --dry-run; the AWS ones --region and --profile', () => {
    for (const command of commands()) {
      const flags = optionFlags(command);
      expect(flags, command.name()).toEqual(expect.arrayContaining(['--config', '--output', '--dry-run']));
      const output = command.options.find((o) => o.long === '--output');
      expect(output?.argChoices, command.name()).toEqual(['text', 'json', 'yaml']);
      if (!['validate', 'rbac'].includes(command.name())) {
        expect(flags, command.name()).toEqual(expect.arrayContaining(['--region', '--profile']));
      }
    }
  });

  it('validate -o yaml and -o json give the same structured result', async () => {
    const yaml = await cli(['validate', '-c', SAMPLE, '-o', 'yaml']);
    const json = await cli(['validate', '-c', SAMPLE, '-o', 'json']);
    expect(yaml.code).toBe(0);
    expect(parse(yaml.stdout)).toEqual(JSON.parse(json.stdout));
    expect(parse(yaml.stdout)).toMatchObject({ valid: true, clusters: ['gke-prod', 'aks-staging'] });
  }, 30_000);

  it('rbac -o yaml prints the YAML documents kubectl applies', async () => {
    const result = await cli(['rbac', 'gke-prod', '-c', SAMPLE, '-o', 'yaml']);
    expect(result.code).toBe(0);
    const kinds = parseAllDocuments(result.stdout).map((doc) => (doc.toJS() as { kind: string }).kind);
    expect(kinds).toContain('ServiceAccount');
  }, 30_000);

  it('a usage error exits 2', async () => {
    const result = await cli(['plan', '-o', 'xml']);
    expect(result.code).toBe(2);
  }, 30_000);

  it('the description names every kind of credential', () => {
    expect(PROGRAM_DESCRIPTION).toMatch(/ECR/);
    expect(PROGRAM_DESCRIPTION).toMatch(/S3/);
    expect(PROGRAM_DESCRIPTION).toMatch(/role sessions for other AWS services/);
  });
});

describe('--kubeconfig defaults as kubectl picks a kubeconfig', () => {
  it('takes the first file of $KUBECONFIG', () => {
    expect(defaultKubeconfigPath({ KUBECONFIG: '/a/one:/b/two' }, '/home/u')).toBe('/a/one');
    expect(defaultKubeconfigPath({ KUBECONFIG: ':/b/two' }, '/home/u')).toBe('/b/two');
  });
  it('falls back to ~/.kube/config', () => {
    expect(defaultKubeconfigPath({}, '/home/u')).toBe('/home/u/.kube/config');
    expect(defaultKubeconfigPath({ KUBECONFIG: '' }, '/home/u')).toBe('/home/u/.kube/config');
  });
});

const unreadable: ClusterResult = {
  cluster: 'gke-prod',
  ok: false,
  failure: {
    failureClass: 'kubeconfig',
    message: describeFailure(new KubeconfigError('gke-prod', 'unable to read secret s: AccessDenied')),
  },
  secrets: [],
  pruned: [],
  warnings: [],
  kubeRequests: 0,
  durationMs: 0,
};

function runResult(clusters: ClusterResult[], mints: RunResult['mints']): RunResult {
  return runResultOf(clusters, { mints, kinds: ['ecr', 's3'] });
}

describe('messages say each thing once, with what to do', () => {
  it('a kubeconfig failure is not prefixed twice, and says what to do', () => {
    const line = progressLine(unreadable);
    expect(line.match(/kubeconfig/g)).toHaveLength(2); // the class, and the advice naming the secret
    expect(line).toMatch(/^✗ gke-prod: kubeconfig: unable to read secret s: AccessDenied\n {4}to do: /);
  });

  it('the summary counts add up and say why no Secret was attempted; no empty mint scope', () => {
    const failure = { failureClass: 'mint' as const, message: 'AccessDenied' };
    const text = runSummary(
      runResult(
        [unreadable, { ...unreadable, cluster: 'aks-staging' }],
        [
          { kind: 's3', scope: '', clusters: ['gke-prod'], failure },
          { kind: 'ecr', scope: 'eu-west-1', clusters: ['gke-prod'], failure },
        ],
      ),
    );
    expect(text).toMatch(/^FAILED: 0 of 2 clusters ok, 2 failed; /);
    expect(text).toContain('none attempted in 2 cluster(s) that failed as a whole');
    expect(text).toContain('mints: 2, 2 failed');
    expect(text).toContain('\n  mint s3: AccessDenied');
    expect(text).not.toMatch(/mint s3 :/);
    expect(text).toContain('to do: check the role ARN');
  });

  it('plan and status call a cluster never contacted "not contacted", not "unreachable"', () => {
    expect(clusterFailureText({ failureClass: 'kubeconfig', message: 'm' })).toMatch(/^ not contacted/);
    expect(clusterFailureText({ failureClass: 'refused', message: 'm' })).toMatch(/^ unreachable/);
    expect(clusterFailureText({ failureClass: 'unauthorized', message: 'm' })).toMatch(/^ failed/);
    const preview = previewText({
      ok: false,
      mintCalls: 0,
      clusters: [{ cluster: 'gke-prod', failure: unreadable.failure, warnings: [], entries: [] }],
    } as unknown as Parameters<typeof previewText>[0]);
    expect(preview).not.toContain('unreachable');
    expect(preview).toContain('gke-prod: not contacted, state unknown: kubeconfig:');
  });

  it('-v lines carry every attribute: a failed mint says its scope, class and reason', () => {
    const line = logLine('error', 'mint failed', {
      kind: 's3',
      scope: 'eu-west-1 as arn:aws:iam::111122223333:role/r',
      failureClass: 'mint',
      reason: 'AccessDenied',
    });
    expect(line).toBe(
      'error: mint failed kind=s3 scope=eu-west-1 as arn:aws:iam::111122223333:role/r failureClass=mint reason=AccessDenied',
    );
  });

  it('unregister --dry-run without access says the inventory was not read, never "absent"', () => {
    const report: UnregisterReport = {
      cluster: 'gke-prod',
      ok: false,
      dryRun: true,
      secrets: [],
      serviceAccounts: [],
      inventory: 'unknown',
      rbac: [],
      kubeconfigSecret: { secretId: 's', action: 'skipped' },
      config: { file: 'c.yaml', action: 'kept' },
      warnings: [],
    };
    const text = unregisterText(report);
    expect(text).toContain('inventory   unknown (not read: no access to the cluster)');
    expect(text).not.toContain('absent');
  });
});

describe('register and unregister end by saying where and what to run', () => {
  it('a changed file: where the secret is, then to deploy (and how to keep the file elsewhere)', () => {
    const text = epilogueText(
      {
        secretId: 'cred-courier/clusters/lab',
        arn: 'arn:aws:secretsmanager:ap-southeast-2:111122223333:secret:cred-courier/clusters/lab-AbCdEf',
        location: 'region ap-southeast-2, account 111122223333',
        next: nextStep('fleet.yaml', 'added', false),
      },
      'stored in',
    );
    expect(text).toContain(
      'stored in   arn:aws:secretsmanager:ap-southeast-2:111122223333:secret:cred-courier/clusters/lab-AbCdEf (region ap-southeast-2, account 111122223333)',
    );
    expect(text).toMatch(/note .*is a name: the function reads it in the region it runs in/);
    expect(text).toMatch(/\nnext: .*`npm run deploy` .*--param config=FILE/);
  });

  it('an unchanged file needs no deploy', () => {
    expect(nextStep('fleet.yaml', 'unchanged', false)).toMatch(/did not change, so no deploy is needed/);
  });
});

describe('ledger -c', () => {
  it('marks the rows of clusters no longer in the file', () => {
    const row = {
      cluster: 'gone',
      kind: 'ecr',
      namespace: 'a',
      secretName: 'ecr-pull',
      consecutiveFailures: 0,
    } as unknown as Parameters<typeof ledgerView>[0][number];
    const view = ledgerView([row], new Date('2026-01-01T00:00:00Z'));
    expect(ledgerText(view, { file: 'fleet.yaml', clusters: ['kept'] })).toContain(
      'gone: (not in fleet.yaml)',
    );
    expect(ledgerText(view)).toContain('gone:\n');
  });
});
