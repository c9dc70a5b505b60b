import { describe, expect, it } from 'vitest';
import { belowGuardVersion, guardRemedy, reachAdvice } from '../../../src/register/verify.ts';

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

describe('reachAdvice', () => {
  it('says the server must be reachable from the function for every class of an unreached server', () => {
    for (const failureClass of ['refused', 'dns', 'timeout', 'network'] as const) {
      expect(reachAdvice(failureClass, 'connect ECONNREFUSED')).toMatch(
        /^to do: the server must be reachable from where delivery runs .*register --server.*proxy.*check --remote$/,
      );
    }
  });

  it('names --tls-san when the certificate is for another address, and says nothing otherwise', () => {
    expect(
      reachAdvice(
        'tls',
        "Hostname/IP does not match certificate's altnames: IP: 10.0.0.9 is not in the cert's list",
      ),
    ).toMatch(/k3s: --tls-san <address>/);
    expect(reachAdvice('tls', 'unable to verify the first certificate')).toBeUndefined();
    expect(reachAdvice('unauthorized', 'HTTP 401')).toBeUndefined();
  });
});
