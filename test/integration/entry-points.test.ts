/**
 * The two entry points over one core, on the rig: the CLI as a user runs it (a child process with only
 * the standard AWS environment) and the Lambda handler with a scheduled event.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Context } from 'aws-lambda';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { kubeRequest } from '../rig/kube-http.ts';
import { PROJECT_ROOT } from '../rig/rig.ts';
import { type RegisteredCluster, registerCluster } from './fixtures.ts';
import { rig, skipReason, theRig, uniqueName, useRigAws } from './rig-context.ts';

const run = promisify(execFile);
const SECRET = 'ecr-pull';

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [join(PROJECT_ROOT, 'bin/cred-courier.js'), ...args],
      {
        env: { ...process.env },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe.skipIf(!rig)(`Entry points on the rig${rig ? '' : ` (skipped: ${skipReason})`}`, () => {
  useRigAws();
  let healthy: RegisteredCluster;
  let broken: RegisteredCluster;
  let configFile: string;

  beforeAll(async () => {
    const { a, b } = theRig().clusters;
    healthy = await registerCluster(a, { namespaces: [uniqueName('cli')], secretNames: [SECRET] });
    broken = await registerCluster(b, { namespaces: [uniqueName('cli')], secretNames: [SECRET] });
    await kubeRequest(
      b,
      b.adminToken,
      'DELETE',
      `/api/v1/namespaces/${broken.controlNamespace}/serviceaccounts/cred-courier`,
    );
    const entry = (r: RegisteredCluster) => `
  - name: ${r.name}
    kubeconfigSecret: ${r.secretId}
    namespaces: { names: [${r.namespaces.join(', ')}] }
    ecr: { secretName: ${SECRET}, registries: [{ region: eu-west-1 }, { accountId: "444455556666", region: us-east-1 }] }`;
    configFile = join(mkdtempSync(join(tmpdir(), 'cc-cli-')), 'clusters.yaml');
    writeFileSync(
      configFile,
      `settings:\n  controlNamespace: ${healthy.controlNamespace}\nclusters:${entry(healthy)}${entry(broken)}\n`,
    );
  });

  it('`run -o json` delivers to the healthy cluster, prints a progress line per cluster, and exits 1 for the failed one', async () => {
    // Act
    const result = await cli(['run', '-c', configFile, '-o', 'json']);

    // Assess
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as {
      ok: boolean;
      clusters: { cluster: string; ok: boolean; failure?: { failureClass: string } }[];
    };
    const byName = Object.fromEntries(report.clusters.map((c) => [c.cluster, c]));
    expect(byName[healthy.name]?.ok).toBe(true);
    expect(byName[broken.name]?.failure?.failureClass).toBe('unauthorized');
    expect(result.stderr).toMatch(new RegExp(`✓ ${healthy.name}: 1 delivered`));
    expect(result.stderr).toMatch(new RegExp(`✗ ${broken.name}: unauthorized`));
    for (const token of [healthy.token, broken.token]) {
      expect(result.stdout + result.stderr).not.toContain(token);
    }
  });

  it('`run --cluster` limits the run, and `plan` shows updates without writing', async () => {
    // Act
    const limited = await cli(['run', '-c', configFile, '--cluster', healthy.name, '--kinds', 'ecr']);
    const plan = await cli(['plan', '-c', configFile, '--cluster', healthy.name]);

    // Assess
    expect(limited.code).toBe(0);
    expect(limited.stdout).toMatch(/^ok: 1 of 1 clusters ok, 0 failed; Secrets: 1 delivered, 0 failed/);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain(`update   ecr ${healthy.namespaces[0]}/${SECRET}`);
    expect(plan.stdout).toMatch(/2 distinct mint scope/);
  });

  it('bad input gives a clear message and exit 2, with no stack trace', async () => {
    const badFile = join(mkdtempSync(join(tmpdir(), 'cc-cli-')), 'bad.yaml');
    writeFileSync(
      badFile,
      'clusters:\n  - name: x\n    kubeconfigSecret: s\n    namespaces: { names: [a] }\n    ecr: { secretName: s, registries: [{ region: mars-1 }] }\n',
    );

    const result = await cli(['run', '-c', badFile]);
    const unknownCluster = await cli(['run', '-c', configFile, '--cluster', 'nope']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('clusters[0].ecr.registries[0].region');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(unknownCluster.code).toBe(2);
    expect(unknownCluster.stderr).toContain('no cluster named nope');
  });

  it('the Lambda handler delivers for a scheduled event, logs JSON lines naming the cluster, and succeeds when only a cluster failed', async () => {
    // Prepare
    process.env.CRED_COURIER_CONFIG = configFile;
    const lines: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    };
    // Powertools writes info to stdout and warnings and errors to stderr.
    const spies = [
      vi.spyOn(process.stdout, 'write').mockImplementation(capture),
      vi.spyOn(process.stderr, 'write').mockImplementation(capture),
    ];
    const { handler } = await import('../../functions/distribute.ts');
    const context = {
      getRemainingTimeInMillis: () => 60_000,
      functionName: 'distribute',
      awsRequestId: 'test',
    } as unknown as Context;

    // Act
    let summary: unknown;
    let scheduled: unknown;
    try {
      summary = await handler({ clusters: [healthy.name], kinds: ['ecr'] }, context);
      scheduled = await handler({ 'detail-type': 'Scheduled Event', kinds: ['ecr'] }, context).catch(
        (error: unknown) => error,
      );
    } finally {
      for (const spy of spies) spy.mockRestore();
    }

    // Assess
    expect(summary).toMatchObject({ clusters: 1, clustersFailed: 0, secretsDelivered: 1 });
    // One cluster of two failed: a successful invocation (the failure is the ledger's transition to notify).
    expect(scheduled).toMatchObject({ clusters: 2, clustersFailed: 1, secretsDelivered: 1 });
    const records = lines
      .flatMap((chunk) => chunk.split('\n').filter(Boolean))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const clusterLines = records.filter(
      (r) => r.message === 'cluster done' || r.message === 'cluster failed',
    );
    expect(clusterLines.length).toBeGreaterThanOrEqual(3);
    expect(clusterLines.every((r) => typeof r.cluster === 'string')).toBe(true);
    expect(records.some((r) => r.cluster === broken.name && r.failureClass === 'unauthorized')).toBe(true);
    expect(lines.join('')).not.toContain(healthy.token);
  });

  it('the Lambda handler rejects an event with unknown kinds', async () => {
    const { handler } = await import('../../functions/distribute.ts');
    const context = { getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
    await expect(handler({ kinds: ['gcr'] }, context)).rejects.toThrow(/invalid invocation event: kinds/);
  });
});
