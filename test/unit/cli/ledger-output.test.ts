/** `cred-courier ledger`'s view (pure): each cluster's stored credential, its expiry and what to do. */
import { describe, expect, it } from 'vitest';
import { ledgerText, ledgerView } from '../../../src/cli/output.ts';
import { type CredentialRow, credentialKey, type LedgerRow } from '../../../src/report/fleet.ts';

const NOW = new Date('2031-01-01T00:00:00.000Z');
const DAY = 86_400_000;
const inDays = (days: number) => new Date(NOW.getTime() + days * DAY).toISOString();

const target = (cluster: string): LedgerRow => ({
  target: `${cluster}#ecr#a/ecr-pull`,
  cluster,
  kind: 'ecr',
  namespace: 'a',
  secretName: 'ecr-pull',
  lastSuccessAt: NOW.toISOString(),
  expiresAt: new Date(NOW.getTime() + 11 * 3_600_000).toISOString(),
  consecutiveFailures: 0,
});
const credential = (
  cluster: string,
  kind: CredentialRow['credentialKind'],
  expiresAt?: string,
): CredentialRow => ({
  target: credentialKey(cluster),
  record: 'credential',
  cluster,
  credentialKind: kind,
  ...(expiresAt ? { expiresAt } : {}),
  seenAt: NOW.toISOString(),
});

describe('ledgerView with cluster credentials', () => {
  it('shows each credential, says what to do under 7 days, and is not ok then', () => {
    const view = ledgerView([target('aks'), target('k3s'), target('old')], NOW, [
      credential('aks', 'token', inDays(20)),
      credential('k3s', 'client-certificate', inDays(3)),
      credential('old', 'long-lived-token'),
    ]);
    const text = ledgerText(view);

    expect(view.ok).toBe(false);
    expect(view.credentials.map((c) => [c.cluster, c.expiring])).toEqual([
      ['aks', false],
      ['k3s', true],
      ['old', false],
    ]);
    expect(text).toMatch(
      /^FAILED: 3 targets, 0 failed, 0 expired \(at .*\); 1 cluster credential\(s\) expiring/,
    );
    expect(text).toContain(
      'aks:\n  credential token: expires 2031-01-21T00:00:00.000Z  480h 00m left\n  ecr',
    );
    expect(text).toContain(
      'k3s:\n  credential client-certificate: expires 2031-01-04T00:00:00.000Z  72h 00m left (EXPIRING)',
    );
    expect(text).toContain('to do: replace the client certificate');
    expect(text).toContain('old:\n  credential long-lived-token: never expires (never renews either');
  });

  it('is ok when every credential has more than 7 days left', () => {
    const view = ledgerView([target('aks')], NOW, [credential('aks', 'token', inDays(8))]);
    expect(view.ok).toBe(true);
  });
});
