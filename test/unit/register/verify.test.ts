import { describe, expect, it } from 'vitest';
import { belowGuardVersion, guardRemedy } from '../../../src/register/verify.ts';

describe('guardRemedy', () => {
  it('says a cluster below 1.30 cannot enforce the guard, and what to do', () => {
    // Act
    const remedy = guardRemedy('v1.29.7-eks-1234', false);

    // Assess
    expect(remedy).toMatch(
      /^Kubernetes v1\.29\.7-eks-1234 cannot enforce the secret guard .*needs 1\.30\+\): upgrade the cluster/,
    );
    expect(remedy).toContain('register with --without-secret-guard');
    expect(remedy).toContain('exact namespace names only');
  });

  it('says when the ValidatingAdmissionPolicy API is not served on a recent cluster', () => {
    expect(guardRemedy('v1.31.0', true)).toMatch(
      /^the cluster does not serve admissionregistration\.k8s\.io\/v1 ValidatingAdmissionPolicy \(the API is disabled\): enable it/,
    );
    expect(guardRemedy('v1.31.0', false)).toMatch(/^apply the secret guard/);
  });

  it('compares versions by major and minor, and does not guess an unreadable one', () => {
    expect(['v1.29.9', '1.9', 'v0.99.0'].map(belowGuardVersion)).toEqual([true, true, true]);
    expect(['v1.30.0', 'v1.35.4', 'v2.0.0'].map(belowGuardVersion)).toEqual([false, false, false]);
    expect(belowGuardVersion('unknown')).toBeUndefined();
    expect(belowGuardVersion(undefined)).toBeUndefined();
  });
});
