/**
 * `cred-courier rbac` warns on stderr whenever globs or a selector make its output ClusterRoles, in text
 * and JSON alike, and stdout stays exactly what `kubectl apply -f -` reads.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cred-courier-rbac-'));
const FILE = join(dir, 'clusters.yaml');
writeFileSync(
  FILE,
  `clusters:
  - name: globbed
    kubeconfigSecret: k/globbed
    namespaces: { names: ["team-*"] }
    ecr: { secretName: ecr-pull, registries: [{ region: eu-west-1 }] }
  - name: exact
    kubeconfigSecret: k/exact
    namespaces: { names: [app] }
    ecr: { secretName: ecr-pull, registries: [{ region: eu-west-1 }] }
`,
);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function rbac(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, 'rbac', ...args, '-c', FILE], (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

const WARNING =
  /^warning: cluster globbed selects namespaces by glob team-\*, so its RBAC is cluster-wide .*ClusterRole cred-courier-delivery allows create on secrets of any name; get\/patch\/delete on secrets named ecr-pull; .*name the namespaces exactly \(no globs, no selector\)\n$/;

describe('cred-courier rbac', () => {
  it('warns on stderr about the ClusterRoles of a glob cluster, with YAML on stdout', async () => {
    // Act
    const result = await rbac('globbed');

    // Assess
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(WARNING);
    const kinds = parseAllDocuments(result.stdout).map((doc) => doc.toJS().kind);
    expect(kinds).toContain('ClusterRole');
  });

  it('warns the same with -o json, whose stdout stays a List', async () => {
    // Act
    const result = await rbac('globbed', '-o', 'json');

    // Assess
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(WARNING);
    expect(JSON.parse(result.stdout)).toMatchObject({ apiVersion: 'v1', kind: 'List' });
  });

  it('says nothing for exact namespace names', async () => {
    // Act
    const result = await rbac('exact');

    // Assess
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
  });
});
