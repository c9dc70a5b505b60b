/**
 * `cred-courier rbac` warns on stderr whenever globs or a selector make its output ClusterRoles, in text
 * and JSON alike, and stdout stays exactly what `kubectl apply -f -` reads.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { main } from '../../../src/cli/main.ts';

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

/** Runs the command in this process, capturing what it writes. */
async function rbac(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const written = { stdout: '', stderr: '' };
  const capture = (stream: 'stdout' | 'stderr') =>
    vi.spyOn(process[stream], 'write').mockImplementation((chunk: string | Uint8Array) => {
      written[stream] += String(chunk);
      return true;
    });
  const spies = [capture('stdout'), capture('stderr')];
  try {
    const code = await main(['rbac', ...args, '-c', FILE]);
    return { code, ...written };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
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
