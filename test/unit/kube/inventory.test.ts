import { describe, expect, it } from 'vitest';
import { inventoryEntryProblem, managedNames } from '../../../src/kube/inventory.ts';

describe('Function: inventoryEntryProblem', () => {
  const managed = managedNames({ ecr: { secretName: 'ecr-pull' } as never, s3: [] });

  it.each([
    ['..', 'not namespace/name'],
    ['/', 'the namespace is not a DNS label'],
    ['ns/..', 'the name is not a DNS subdomain'],
    ['app/../../kube-system', 'not namespace/name'],
    ['App/ecr-pull', 'the namespace is not a DNS label'],
    ['app/ecr-pull%2F..', 'the name is not a DNS subdomain'],
    ['kube-system/bootstrap-token-abcdef', 'not a Secret name the config manages for ecr'],
  ])('refuses %j: %s', (entry, problem) => {
    // Act
    const found = inventoryEntryProblem('ecr', entry, managed);

    // Assess
    expect(found).toBe(problem);
  });

  it('accepts a managed name in any valid namespace (prune needs namespaces no longer selected)', () => {
    // Act
    const found = inventoryEntryProblem('ecr', 'left-behind/ecr-pull', managed);

    // Assess
    expect(found).toBeUndefined();
  });

  it('refuses an unknown kind and a kind the cluster has no Secrets of, quoting what it cannot trust', () => {
    // Act
    const unknown = inventoryEntryProblem('evil\u001b[31m', 'app/ecr-pull', managed);
    const noNames = inventoryEntryProblem('s3', 'app/ecr-pull', managed);

    // Assess
    expect(unknown).toBe('unknown kind "evil\\u001b[31m"');
    expect(noNames).toBe('not a Secret name the config manages for s3');
  });
});
