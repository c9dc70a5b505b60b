import { describe, expect, it } from 'vitest';
import type { KindId } from '../../../src/kinds/kind.ts';
import {
  applyChanges,
  type CredentialRow,
  fleetMetrics,
  type LedgerRow,
  mergeLedger,
  minCredentialSecondsLeft,
  targetKey,
  targetStatus,
  VALIDITY_THRESHOLDS_SECONDS,
} from '../../../src/report/fleet.ts';
import type { ClusterResult, Failure, RunResult, SecretOutcome } from '../../../src/run/types.ts';
import { runResultOf } from '../../support/run-result.ts';

const NOW = new Date('2030-01-01T12:00:00.000Z');
const HOUR = 3_600_000;
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs).toISOString();
const UNAUTHORIZED: Failure = { failureClass: 'unauthorized', message: 'HTTP 401' };
const FORBIDDEN: Failure = { failureClass: 'forbidden', message: 'HTTP 403: secrets is forbidden' };

function row(cluster: string, kind: KindId, namespace: string, extra: Partial<LedgerRow> = {}): LedgerRow {
  const secretName = kind === 'ecr' ? 'ecr-pull' : 's3-creds';
  return {
    target: targetKey(cluster, kind, namespace, secretName),
    cluster,
    kind,
    namespace,
    secretName,
    lastSuccessAt: at(-HOUR),
    expiresAt: at(11 * HOUR),
    consecutiveFailures: 0,
    ...extra,
  };
}

function delivered(namespace: string, expiresAt: string, kind: KindId = 'ecr'): SecretOutcome {
  return {
    kind,
    namespace,
    secretName: kind === 'ecr' ? 'ecr-pull' : 's3-creds',
    action: 'updated',
    expiresAt,
  };
}

function failed(namespace: string, failure: Failure, kind: KindId = 'ecr'): SecretOutcome {
  return { kind, namespace, secretName: kind === 'ecr' ? 'ecr-pull' : 's3-creds', failure };
}

function cluster(name: string, parts: Partial<ClusterResult> = {}): ClusterResult {
  const secrets = parts.secrets ?? [];
  return {
    cluster: name,
    ok: !parts.failure && secrets.every((s) => !s.failure),
    secrets,
    pruned: [],
    warnings: [],
    kubeRequests: 0,
    durationMs: 10,
    ...parts,
  };
}

function run(clusters: ClusterResult[], kinds: KindId[] = ['ecr']): RunResult {
  return runResultOf(clusters, { kinds, at: NOW, durationMs: 100, mintCalls: 1 });
}

const byTarget = (rows: readonly LedgerRow[]) => new Map(rows.map((r) => [r.target, r]));

describe('Function: mergeLedger', () => {
  it('records a delivered Secret of a new target with its success time and expiry', () => {
    // Prepare
    const result = run([cluster('gke', { secrets: [delivered('team-a', at(12 * HOUR))] })]);

    // Act
    const changes = mergeLedger([], result, ['gke'], NOW);

    // Assess
    expect(changes).toEqual({
      put: [
        {
          target: 'gke#ecr#team-a/ecr-pull',
          cluster: 'gke',
          kind: 'ecr',
          namespace: 'team-a',
          secretName: 'ecr-pull',
          lastSuccessAt: NOW.toISOString(),
          expiresAt: at(12 * HOUR),
          consecutiveFailures: 0,
        },
      ],
      remove: [],
    });
  });

  it('resets the failures of a target once it is delivered again', () => {
    // Prepare
    const previous = [
      row('gke', 'ecr', 'team-a', {
        consecutiveFailures: 3,
        lastFailureClass: 'unauthorized',
        lastFailureAt: at(-HOUR),
        lastFailureReason: 'HTTP 401',
      }),
    ];
    const result = run([cluster('gke', { secrets: [delivered('team-a', at(12 * HOUR))] })]);

    // Act
    const { put } = mergeLedger(previous, result, ['gke'], NOW);

    // Assess
    expect(put).toHaveLength(1);
    expect(put[0]).toMatchObject({
      consecutiveFailures: 0,
      lastSuccessAt: NOW.toISOString(),
      expiresAt: at(12 * HOUR),
    });
  });

  it('counts a failed Secret and keeps its last success and expiry', () => {
    // Prepare
    const previous = [row('gke', 'ecr', 'team-a', { consecutiveFailures: 1 })];
    const result = run([cluster('gke', { secrets: [failed('team-a', FORBIDDEN)] })]);

    // Act
    const { put } = mergeLedger(previous, result, ['gke'], NOW);

    // Assess
    expect(put).toEqual([
      {
        ...previous[0],
        consecutiveFailures: 2,
        lastFailureClass: 'forbidden',
        lastFailureAt: NOW.toISOString(),
        lastFailureReason: 'HTTP 403: secrets is forbidden',
        // The problem now recorded for the target (11 h left: failing, not yet at risk).
        alert: 'failing',
      },
    ]);
  });

  it('records a target that failed before it was ever delivered, with no success or expiry', () => {
    // Prepare
    const result = run([cluster('gke', { secrets: [failed('team-a', FORBIDDEN)] })]);

    // Act
    const { put } = mergeLedger([], result, ['gke'], NOW);

    // Assess
    expect(put).toHaveLength(1);
    expect(put[0]).toMatchObject({ consecutiveFailures: 1, lastFailureClass: 'forbidden' });
    expect(put[0]?.lastSuccessAt).toBeUndefined();
    expect(put[0]?.expiresAt).toBeUndefined();
  });

  it('keeps the fresh expiry of a written Secret whose ServiceAccount could not reference it, and counts the failure', () => {
    // Prepare
    const outcome: SecretOutcome = {
      ...delivered('team-a', at(12 * HOUR)),
      serviceAccounts: { default: 'failed' },
      failure: FORBIDDEN,
    };
    const result = run([cluster('gke', { secrets: [outcome] })]);

    // Act
    const { put } = mergeLedger([row('gke', 'ecr', 'team-a')], result, ['gke'], NOW);

    // Assess
    expect(put[0]).toMatchObject({
      expiresAt: at(12 * HOUR),
      lastSuccessAt: NOW.toISOString(),
      consecutiveFailures: 1,
      lastFailureClass: 'forbidden',
    });
  });

  it("gives a failed cluster's failure to each of its previous rows of the run's kinds, keeping their expiry", () => {
    // Prepare
    const previous = [
      row('aks', 'ecr', 'team-a'),
      row('aks', 'ecr', 'team-b', { consecutiveFailures: 2 }),
      row('aks', 's3', 'team-a'),
      row('gke', 'ecr', 'team-a'),
    ];
    const result = run([cluster('aks', { failure: UNAUTHORIZED })], ['ecr']);

    // Act
    const { put, remove } = mergeLedger(previous, result, ['aks', 'gke'], NOW);

    // Assess
    const written = byTarget(put);
    expect([...written.keys()].sort()).toEqual(['aks#ecr#team-a/ecr-pull', 'aks#ecr#team-b/ecr-pull']);
    expect(written.get('aks#ecr#team-a/ecr-pull')).toEqual({
      ...previous[0],
      consecutiveFailures: 1,
      lastFailureClass: 'unauthorized',
      lastFailureAt: NOW.toISOString(),
      lastFailureReason: 'HTTP 401',
      alert: 'failing',
    });
    expect(written.get('aks#ecr#team-b/ecr-pull')?.consecutiveFailures).toBe(3);
    expect(written.get('aks#ecr#team-b/ecr-pull')?.expiresAt).toBe(previous[1]?.expiresAt);
    expect(remove).toEqual([]);
  });

  it('gives a cluster-stopping failure only to the rows no Secret outcome covered', () => {
    // Prepare
    const previous = [row('aks', 'ecr', 'team-a'), row('aks', 'ecr', 'team-b')];
    const result = run([
      cluster('aks', {
        failure: { failureClass: 'deadline', message: 'not reached' },
        secrets: [delivered('team-a', at(12 * HOUR))],
      }),
    ]);

    // Act
    const { put } = mergeLedger(previous, result, ['aks'], NOW);

    // Assess
    const written = byTarget(put);
    expect(written.get('aks#ecr#team-a/ecr-pull')).toMatchObject({
      consecutiveFailures: 0,
      expiresAt: at(12 * HOUR),
    });
    expect(written.get('aks#ecr#team-b/ecr-pull')).toMatchObject({
      consecutiveFailures: 1,
      lastFailureClass: 'deadline',
      expiresAt: previous[1]?.expiresAt,
    });
  });

  it('removes the rows of clusters no longer registered, and ignores their results', () => {
    // Prepare
    const previous = [row('gone', 'ecr', 'team-a'), row('gone', 's3', 'team-a'), row('gke', 'ecr', 'team-a')];
    const result = run([cluster('gone', { secrets: [delivered('team-a', at(12 * HOUR))] })]);

    // Act
    const { put, remove } = mergeLedger(previous, result, ['gke'], NOW);

    // Assess
    expect(put).toEqual([]);
    expect(remove.sort()).toEqual(['gone#ecr#team-a/ecr-pull', 'gone#s3#team-a/s3-creds']);
  });

  it('removes pruned Secrets, and leaves one whose prune failed as it was', () => {
    // Prepare
    const previous = [row('gke', 'ecr', 'old-a'), row('gke', 'ecr', 'old-b')];
    const result = run([
      cluster('gke', {
        pruned: [
          { kind: 'ecr', namespace: 'old-a', secretName: 'ecr-pull' },
          { kind: 'ecr', namespace: 'old-b', secretName: 'ecr-pull', failure: FORBIDDEN },
        ],
      }),
    ]);

    // Act
    const changes = mergeLedger(previous, result, ['gke'], NOW);

    // Assess
    expect(changes).toEqual({ put: [], remove: ['gke#ecr#old-a/ecr-pull'] });
  });

  it('leaves untouched the rows of kinds not run and of registered clusters not in the run', () => {
    // Prepare
    const previous = [row('gke', 's3', 'team-a'), row('aks', 'ecr', 'team-a')];
    const result = run([cluster('gke', { failure: UNAUTHORIZED })], ['ecr']);

    // Act
    const changes = mergeLedger(previous, result, ['gke', 'aks'], NOW);

    // Assess
    expect(changes).toEqual({ put: [], remove: [] });
  });
});

describe('Function: applyChanges', () => {
  it('replaces put rows, adds new ones and drops removed ones', () => {
    // Prepare
    const kept = row('gke', 'ecr', 'kept');
    const replaced = row('gke', 'ecr', 'replaced');
    const removed = row('gke', 'ecr', 'removed');
    const fresh = { ...replaced, consecutiveFailures: 4 };
    const added = row('gke', 's3', 'added');

    // Act
    const rows = applyChanges([kept, replaced, removed], { put: [fresh, added], remove: [removed.target] });

    // Assess
    expect(byTarget(rows)).toEqual(byTarget([kept, fresh, added]));
  });
});

describe('Function: targetStatus', () => {
  it('counts a target never delivered as 0 s left: expired and at risk', () => {
    // Prepare
    const {
      lastSuccessAt: _l,
      expiresAt: _e,
      ...never
    } = row('gke', 'ecr', 'team-a', {
      consecutiveFailures: 1,
    });

    // Act
    const status = targetStatus(never, NOW);

    // Assess
    expect(status).toEqual({ secondsLeft: 0, atRisk: true, failed: true, expired: true });
  });
});

describe('Function: fleetMetrics', () => {
  it('reports per kind the least validity left, the targets at risk and failed, and the count', () => {
    // Prepare
    const rows = [
      row('gke', 'ecr', 'a', { expiresAt: at(11 * HOUR) }),
      row('aks', 'ecr', 'a', { expiresAt: at(5 * HOUR), consecutiveFailures: 2 }),
      row('k3s', 'ecr', 'a', { expiresAt: at(3 * HOUR + 30_000) }),
      row('gke', 's3', 'a', { expiresAt: at(HOUR) }),
    ];

    // Act
    const fleet = fleetMetrics(rows, NOW);

    // Assess
    expect(fleet).toEqual({
      ecr: { minSecondsOfValidityLeft: 3 * 3600 + 30, targetsAtRisk: 1, targetsFailed: 1, targets: 3 },
      s3: { minSecondsOfValidityLeft: 3600, targetsAtRisk: 0, targetsFailed: 0, targets: 1 },
    });
  });

  it('goes negative once a credential has expired', () => {
    // Prepare
    const rows = [row('gke', 'ecr', 'a', { expiresAt: at(-90 * 60_000) }), row('aks', 'ecr', 'a')];

    // Act
    const fleet = fleetMetrics(rows, NOW);

    // Assess
    expect(fleet.ecr?.minSecondsOfValidityLeft).toBe(-5400);
    expect(fleet.ecr?.targetsAtRisk).toBe(1);
  });

  it('applies each kind its own threshold: 4 h for ECR, 20 min for S3', () => {
    // Prepare
    const justAbove = (kind: KindId) =>
      row('gke', kind, `${kind}-above`, { expiresAt: at(VALIDITY_THRESHOLDS_SECONDS[kind] * 1000) });
    const justBelow = (kind: KindId) =>
      row('gke', kind, `${kind}-below`, { expiresAt: at(VALIDITY_THRESHOLDS_SECONDS[kind] * 1000 - 1000) });
    const rows = [justAbove('ecr'), justBelow('ecr'), justAbove('s3'), justBelow('s3')];

    // Act
    const fleet = fleetMetrics(rows, NOW);

    // Assess
    expect(VALIDITY_THRESHOLDS_SECONDS).toEqual({ ecr: 14_400, s3: 1_200, aws: 1_200 });
    expect(fleet.ecr).toMatchObject({ minSecondsOfValidityLeft: 14_399, targetsAtRisk: 1, targets: 2 });
    expect(fleet.s3).toMatchObject({ minSecondsOfValidityLeft: 1_199, targetsAtRisk: 1, targets: 2 });
  });

  it('uses the thresholds given', () => {
    // Prepare
    const rows = [row('gke', 'ecr', 'a', { expiresAt: at(5 * HOUR) })];

    // Act
    const fleet = fleetMetrics(rows, NOW, { ecr: 6 * 3600, s3: 1_200, aws: 1_200 });

    // Assess
    expect(fleet.ecr?.targetsAtRisk).toBe(1);
  });

  it('reports no kind for an empty ledger', () => {
    // Act
    const fleet = fleetMetrics([], NOW);

    // Assess
    expect(fleet).toEqual({});
  });
});

describe('Function: minCredentialSecondsLeft', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  const credential = (cluster: string, expiresAt?: string): CredentialRow => ({
    target: `cluster#${cluster}#credential`,
    record: 'credential',
    cluster,
    credentialKind: expiresAt ? 'token' : 'long-lived-token',
    ...(expiresAt ? { expiresAt } : {}),
    seenAt: now.toISOString(),
  });

  it('is the least validity of the credentials still valid, so an expired one cannot hide the next nearing expiry', () => {
    // Prepare: a decommissioned cluster's token expired long ago; another's has 3 days left.
    const rows = [
      credential('gone', '2026-01-01T00:00:00Z'),
      credential('cert', '2026-06-04T00:00:00Z'),
      credential('tok', '2026-06-20T00:00:00Z'),
      credential('long-lived'),
    ];

    // Act
    const least = minCredentialSecondsLeft(rows, now);

    // Assess
    expect(least).toBe(3 * 24 * 3600);
  });

  it('is undefined when no credential is still valid and expiring', () => {
    // Act
    const least = minCredentialSecondsLeft(
      [credential('gone', '2026-01-01T00:00:00Z'), credential('l')],
      now,
    );

    // Assess
    expect(least).toBeUndefined();
  });
});
