import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { formatSeconds } from '../../../src/cli/commands/common.ts';
import { manifestsYaml } from '../../../src/cli/commands/rbac.ts';
import { isProblem, type SecretStatus } from '../../../src/register/status.ts';

describe('formatSeconds', () => {
  it.each([
    [59, '0m'],
    [3 * 3600 + 120, '3h 2m'],
    [2 * 86400 + 5 * 3600, '2d 5h'],
    [-7200, 'expired 2h 0m ago'],
  ])('shows %i s as %s', (seconds, text) => {
    expect(formatSeconds(seconds)).toBe(text);
  });
});

describe('manifestsYaml', () => {
  it('prints documents kubectl reads back to the same objects, lists of values in flow style', () => {
    const manifests = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'cc' } },
      { kind: 'Role', rules: [{ apiGroups: [''], verbs: ['get', 'patch'] }] },
    ];
    const text = manifestsYaml(manifests);
    expect(parseAllDocuments(text).map((doc) => doc.toJS())).toEqual(manifests);
    expect(text).toContain('verbs: [get, patch]');
  });
});

describe('isProblem', () => {
  const base: SecretStatus = { kind: 'ecr', namespace: 'app', secretName: 'ecr-pull', state: 'ok' };
  it.each([
    ['ok', base, false],
    ['stale (pruned by the next run)', { ...base, state: 'stale' }, false],
    ['expired', { ...base, state: 'expired' }, true],
    ['missing', { ...base, state: 'missing' }, true],
    ['not referenced', { ...base, serviceAccounts: { default: 'not-referenced' } }, true],
    ['referenced', { ...base, serviceAccounts: { default: 'referenced' } }, false],
  ] as const)('%s', (_what, status, problem) => {
    expect(isProblem(status as SecretStatus)).toBe(problem);
  });
});
