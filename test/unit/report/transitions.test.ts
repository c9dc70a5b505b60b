/**
 * Transitions (pure): from the ledger as it was and a run's result, what is notified — once per
 * transition, grouped per cluster — and which runs could not work at all.
 */

import { describe, expect, it } from 'vitest';
import type { KindId } from '../../../src/kinds/kind.ts';
import {
  applyChanges,
  type CredentialRow,
  credentialKey,
  type LedgerRow,
  mergeCredentials,
  mergeLedger,
} from '../../../src/report/fleet.ts';
import {
  credentialTransition,
  notificationsFor,
  type Transition,
  targetTransition,
  unworkableReason,
} from '../../../src/report/transitions.ts';
import type {
  ClusterResult,
  CredentialState,
  Failure,
  MintOutcome,
  RunResult,
} from '../../../src/run/types.ts';
import { runResultOf } from '../../support/run-result.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = new Date('2031-03-01T00:00:00.000Z');
const at = (hours: number) => new Date(T0.getTime() + hours * HOUR);
const UNAUTHORIZED: Failure = { failureClass: 'unauthorized', message: 'HTTP 401: token expired' };
const REFUSED: Failure = { failureClass: 'refused', message: 'connect ECONNREFUSED 10.0.0.1:6443' };

function healthy(
  cluster: string,
  namespaces: readonly string[],
  now: Date,
  kind: KindId = 'ecr',
): ClusterResult {
  return {
    cluster,
    ok: true,
    secrets: namespaces.map((namespace) => ({
      kind,
      namespace,
      secretName: `${kind}-creds`,
      action: 'updated' as const,
      expiresAt: new Date(now.getTime() + 12 * HOUR).toISOString(),
    })),
    pruned: [],
    warnings: [],
    kubeRequests: 1,
    durationMs: 1,
  };
}

function broken(cluster: string, failure: Failure = UNAUTHORIZED): ClusterResult {
  return {
    cluster,
    ok: false,
    failure,
    secrets: [],
    pruned: [],
    warnings: [],
    kubeRequests: 1,
    durationMs: 1,
  };
}

function run(clusters: ClusterResult[], now: Date, mints: MintOutcome[] = []): RunResult {
  return runResultOf(clusters, { mints, at: now, durationMs: 1 });
}

/** A pure stand-in for the stored ledger: merge, collect the transitions of the rows written, apply. */
function simulate() {
  let rows: LedgerRow[] = [];
  let credentials: CredentialRow[] = [];
  return {
    record(result: RunResult, known: readonly string[], now: Date): Transition[] {
      const changes = mergeLedger(rows, result, known, now);
      const before = new Map(rows.map((r) => [r.target, r]));
      const transitions: Transition[] = changes.put.flatMap((row) => {
        const t = targetTransition(before.get(row.target), row, now);
        return t ? [t] : [];
      });
      rows = applyChanges(rows, changes);
      const credentialChanges = mergeCredentials(credentials, result, known, now);
      const previous = new Map(credentials.map((c) => [c.target, c]));
      for (const row of credentialChanges.put) {
        const t = credentialTransition(previous.get(row.target), row, now);
        if (t) transitions.push(t);
        previous.set(row.target, row);
      }
      for (const key of credentialChanges.remove) previous.delete(key);
      credentials = [...previous.values()];
      return transitions;
    },
  };
}

describe('targetTransition', () => {
  const row = (alert?: LedgerRow['alert']): LedgerRow => ({
    target: 'a#ecr#ns/ecr-creds',
    cluster: 'a',
    kind: 'ecr',
    namespace: 'ns',
    secretName: 'ecr-creds',
    expiresAt: at(12).toISOString(),
    consecutiveFailures: alert ? 1 : 0,
    ...(alert ? { alert, lastFailureClass: 'unauthorized' as const, lastFailureReason: 'HTTP 401' } : {}),
  });

  it.each([
    { before: undefined, after: 'failing', expected: 'failing' },
    { before: 'none', after: 'failing', expected: 'failing' },
    { before: 'none', after: 'at-risk', expected: 'at-risk' },
    { before: 'failing', after: 'at-risk', expected: 'at-risk' },
    { before: 'failing', after: 'none', expected: 'recovered' },
    { before: 'at-risk', after: 'none', expected: 'recovered' },
    { before: 'failing', after: 'failing', expected: undefined },
    { before: 'at-risk', after: 'at-risk', expected: undefined },
    { before: 'at-risk', after: 'failing', expected: undefined },
    { before: 'none', after: 'none', expected: undefined },
  ] as const)('$before -> $after: $expected', ({ before, after, expected }) => {
    const previous = before === undefined ? undefined : row(before === 'none' ? undefined : before);
    const next = row(after === 'none' ? undefined : after);
    expect(targetTransition(previous, next, T0)?.type).toBe(expected);
  });

  it('says nothing for a target leaving the ledger', () => {
    expect(targetTransition(row('failing'), undefined, T0)).toBeUndefined();
  });
});

describe('transitions over a sequence of runs', () => {
  it('a cluster that keeps failing notifies once, once more when at risk, once when it recovers', () => {
    // Prepare: hourly ECR runs; b breaks after the first run and recovers at hour 12.
    const ledger = simulate();
    const sent: Transition['type'][][] = [];

    // Act
    for (let hour = 0; hour <= 13; hour++) {
      const now = at(hour);
      const b = hour === 0 || hour >= 12 ? healthy('b', ['x', 'y'], now) : broken('b');
      sent.push(ledger.record(run([healthy('a', ['x'], now), b], now), ['a', 'b'], now).map((t) => t.type));
    }

    // Assess: failing at hour 1 (both targets), at risk once under 4 h left (12 h tokens: hour 9), recovered at 12.
    const expected = sent.map(() => [] as string[]);
    expected[1] = ['failing', 'failing'];
    expected[9] = ['at-risk', 'at-risk'];
    expected[12] = ['recovered', 'recovered'];
    expect(sent).toEqual(expected);
  });

  it('a second cluster breaking is notified while the first is still broken', () => {
    const ledger = simulate();
    ledger.record(run([healthy('a', ['x'], at(0)), healthy('b', ['x'], at(0))], at(0)), ['a', 'b'], at(0));
    const first = ledger.record(run([broken('a'), healthy('b', ['x'], at(1))], at(1)), ['a', 'b'], at(1));
    const second = ledger.record(run([broken('a'), broken('b', REFUSED)], at(2)), ['a', 'b'], at(2));

    expect(first.map((t) => [t.cluster, t.type])).toEqual([['a', 'failing']]);
    expect(second.map((t) => [t.cluster, t.type])).toEqual([['b', 'failing']]);
  });

  it('a cluster credential close to expiry notifies once, and again only after it was renewed and nears expiry again', () => {
    const ledger = simulate();
    const withCredential = (now: Date, credential: CredentialState): ClusterResult => ({
      ...healthy('a', ['x'], now),
      credential,
    });
    const certificate = (expiresAt: Date): CredentialState => ({
      kind: 'client-certificate',
      expiresAt: expiresAt.toISOString(),
    });
    const expiry = new Date(T0.getTime() + 10 * DAY);
    const types: string[][] = [];
    // Days 0..5: more than 7 days left; days 3.. under 7 days (expiry at day 10).
    for (let day = 0; day <= 6; day++) {
      const now = new Date(T0.getTime() + day * DAY);
      types.push(
        ledger.record(run([withCredential(now, certificate(expiry))], now), ['a'], now).map((t) => t.type),
      );
    }
    // Replaced: a year more; then nothing until it nears expiry again.
    const renewed = new Date(T0.getTime() + 7 * DAY);
    const replaced = ledger.record(
      run([withCredential(renewed, certificate(new Date(T0.getTime() + 365 * DAY)))], renewed),
      ['a'],
      renewed,
    );
    const late = new Date(T0.getTime() + 360 * DAY);
    const again = ledger.record(
      run([withCredential(late, certificate(new Date(T0.getTime() + 365 * DAY)))], late),
      ['a'],
      late,
    );

    expect(types).toEqual([[], [], [], [], ['credential-expiring'], [], []]);
    expect(replaced).toEqual([]);
    expect(again.map((t) => t.type)).toEqual(['credential-expiring']);
  });

  it('a long-lived token never notifies expiry', () => {
    const ledger = simulate();
    const now = at(0);
    const result = run([{ ...healthy('a', ['x'], now), credential: { kind: 'long-lived-token' } }], now);
    expect(ledger.record(result, ['a'], now)).toEqual([]);
  });
});

describe('notificationsFor', () => {
  it('sends one message for a cluster of 40 failing targets, naming cluster, kind, class and what to do', () => {
    // Prepare
    const namespaces = Array.from({ length: 40 }, (_, i) => `team-${i}`);
    const ledger = simulate();
    ledger.record(run([healthy('gke-prod', namespaces, at(0))], at(0)), ['gke-prod'], at(0));
    const transitions = ledger.record(run([broken('gke-prod')], at(1)), ['gke-prod'], at(1));

    // Act
    const notifications = notificationsFor(transitions);

    // Assess
    expect(transitions).toHaveLength(40);
    expect(notifications).toHaveLength(1);
    const [message] = notifications;
    expect(message?.cluster).toBe('gke-prod');
    expect(message?.subject).toBe('cred-courier gke-prod: 40 failing');
    expect(message?.message).toContain('Cluster gke-prod:');
    expect(message?.message).toContain(
      '40 target(s) started failing (kind: ecr; failure class: unauthorized)',
    );
    expect(message?.message).toContain('--rotate');
    expect(message?.message).toContain('and 30 more');
    expect(message?.message).toContain('HTTP 401: token expired');
  });

  it('sends one message per cluster, and keeps subjects SNS-safe (ASCII, one line, <= 100 characters)', () => {
    const long = `c-${'x'.repeat(120)}`;
    const ledger = simulate();
    ledger.record(run([healthy('a', ['x'], at(0)), healthy(long, ['x'], at(0))], at(0)), ['a', long], at(0));
    const transitions = ledger.record(run([broken('a'), broken(long, REFUSED)], at(1)), ['a', long], at(1));

    const notifications = notificationsFor(transitions);

    expect(notifications.map((n) => n.cluster)).toEqual(['a', long]);
    for (const { subject } of notifications) {
      expect(subject.length).toBeLessThanOrEqual(100);
      expect(subject).toMatch(/^[\x20-\x7e]+$/);
    }
    expect(notifications[1]?.message).toContain('failure class: refused');
    expect(notifications[1]?.message).toContain('decommissioned');
  });

  it('names the stored credential, its expiry and what to do', () => {
    const [notification] = notificationsFor([
      {
        type: 'credential-expiring',
        cluster: 'k3s-edge',
        credentialKind: 'client-certificate',
        expiresAt: '2031-03-08T00:00:00.000Z',
        secondsLeft: 6 * 86_400,
        advice: 'replace the client certificate',
      },
    ]);
    expect(notification?.subject).toBe('cred-courier k3s-edge: credential expiring');
    expect(notification?.message).toContain(
      '(client-certificate) expires at 2031-03-08T00:00:00.000Z (in 6d 0h)',
    );
    expect(notification?.message).toContain('What to do: replace the client certificate.');
  });
});

describe('credentialTransition and mergeCredentials', () => {
  it('keeps the expiry per cluster, drops clusters no longer registered', () => {
    const now = at(0);
    const result = run(
      [{ ...healthy('a', ['x'], now), credential: { kind: 'token', expiresAt: at(48).toISOString() } }],
      now,
    );
    const previous: CredentialRow = {
      target: credentialKey('gone'),
      record: 'credential',
      cluster: 'gone',
      credentialKind: 'token',
      seenAt: now.toISOString(),
    };
    const changes = mergeCredentials([previous], result, ['a'], now);
    expect(changes.put).toEqual([
      {
        target: 'cluster#a#credential',
        record: 'credential',
        cluster: 'a',
        credentialKind: 'token',
        expiresAt: at(48).toISOString(),
        seenAt: now.toISOString(),
        alert: 'expiring',
      },
    ]);
    expect(changes.remove).toEqual(['cluster#gone#credential']);
    expect(credentialTransition(undefined, changes.put[0], now)?.advice).toContain('--rotate');
  });
});

describe('unworkableReason', () => {
  const mint = (failure?: Failure): MintOutcome => ({
    kind: 'ecr',
    scope: 'eu-west-1',
    clusters: ['a', 'b'],
    ...(failure ? { failure } : {}),
  });
  const MINT: Failure = { failureClass: 'mint', message: 'AccessDenied' };
  const KUBECONFIG: Failure = { failureClass: 'kubeconfig', message: 'AccessDeniedException' };

  it.each([
    {
      name: 'some clusters failed',
      result: run([healthy('a', ['x'], T0), broken('b')], T0),
      unworkable: false,
    },
    {
      name: 'every cluster failed, for their own causes',
      result: run([broken('a'), broken('b', REFUSED)], T0),
      unworkable: false,
    },
    {
      name: 'every cluster failed with the same cluster-side class',
      result: run([broken('a'), broken('b')], T0),
      unworkable: false,
    },
    { name: 'the only cluster failed', result: run([broken('a', KUBECONFIG)], T0), unworkable: false },
    {
      name: 'some mints failed',
      result: run([healthy('a', ['x'], T0)], T0, [mint(), mint(MINT)]),
      unworkable: false,
    },
    {
      name: 'every mint failed',
      result: run([broken('a', MINT)], T0, [mint(MINT), mint(MINT)]),
      unworkable: true,
    },
    {
      name: 'every cluster failed reading its kubeconfig',
      result: run([broken('a', KUBECONFIG), broken('b', KUBECONFIG)], T0),
      unworkable: true,
    },
    { name: 'no cluster at all', result: run([], T0), unworkable: false },
  ])('$name: unworkable $unworkable', ({ result, unworkable }) => {
    expect(unworkableReason(result) !== undefined).toBe(unworkable);
  });
});
