/**
 * The delivery ledger against moto's DynamoDB, over simulated runs (RunResult values built here, the
 * clock advancing an hour each run): a cluster that starts failing keeps its last success and expiry, its
 * credentials age in the published metrics until the ECR alarm threshold is crossed, and the EMF output
 * carries only the documented metrics and bounded dimensions. Overlapping writers lose no failure count
 * and record each transition once; what reaches the alarm topic (moto SNS, read back through an SQS
 * subscription) is one message per transition per cluster.
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { dynamoLedger } from '../../src/aws/ledger.ts';
import { snsNotifier } from '../../src/aws/notifier.ts';
import { main } from '../../src/cli/main.ts';
import type { KindId } from '../../src/kinds/kind.ts';
import { fleetMetrics, targetStatus, VALIDITY_THRESHOLDS_SECONDS } from '../../src/report/fleet.ts';
import { createMetrics, METRIC_NAMES, publishRunMetrics } from '../../src/report/metrics.ts';
import type { Transition } from '../../src/report/transitions.ts';
import { recordAndNotify } from '../../src/run/record.ts';
import type {
  ClusterResult,
  CredentialState,
  Failure,
  RunResult,
  SecretOutcome,
} from '../../src/run/types.ts';
import { captureOutput } from '../support/captured-output.ts';
import { runResultOf } from '../support/run-result.ts';
import { createLedgerTable, topicWithQueue } from './moto-support.ts';
import { rig, skipReason, uniqueName, useRigAws } from './rig-context.ts';

const HOUR = 3_600_000;
const T0 = new Date('2030-06-01T00:00:00.000Z');
const ECR_TOKEN_LIFETIME = 12 * HOUR;
const UNAUTHORIZED: Failure = {
  failureClass: 'unauthorized',
  message: 'HTTP 401: reason-text-that-must-stay-in-logs',
};

/** A ledger table with the stack's key schema, dropped after the file. */
const tables: string[] = [];
async function createTrackedLedgerTable(): Promise<string> {
  const name = await createLedgerTable();
  tables.push(name);
  return name;
}

const hoursAfter = (start: Date, hours: number) => new Date(start.getTime() + hours * HOUR);

function delivered(namespace: string, now: Date, kind: KindId = 'ecr'): SecretOutcome {
  return {
    kind,
    namespace,
    secretName: `${kind}-creds`,
    action: 'updated',
    expiresAt: new Date(now.getTime() + ECR_TOKEN_LIFETIME).toISOString(),
  };
}

function healthyCluster(name: string, namespaces: readonly string[], now: Date): ClusterResult {
  return {
    cluster: name,
    ok: true,
    secrets: namespaces.map((ns) => delivered(ns, now)),
    pruned: [],
    warnings: [],
    kubeRequests: namespaces.length,
    durationMs: 40,
  };
}

function unreachableCluster(name: string, failure: Failure = UNAUTHORIZED): ClusterResult {
  return {
    cluster: name,
    ok: false,
    failure,
    secrets: [],
    pruned: [],
    warnings: [],
    kubeRequests: 1,
    durationMs: 5,
  };
}

function runResult(clusters: ClusterResult[], startedAt: Date, kinds: KindId[] = ['ecr']): RunResult {
  return runResultOf(clusters, { at: startedAt, kinds, durationMs: 1234, mintCalls: 1 });
}

/** An EMF document as Powertools writes it. */
interface EmfDocument {
  readonly _aws: {
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string; readonly Unit: string }[];
    }[];
  };
  readonly [key: string]: unknown;
}

/** Runs `act` with stdout captured, and returns the EMF documents written. */
function captureEmf(act: () => void): { documents: EmfDocument[]; text: string } {
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    act();
  } finally {
    spy.mockRestore();
  }
  const text = chunks.join('');
  const documents = text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as EmfDocument)
    .filter((doc) => doc._aws !== undefined);
  return { documents, text };
}

/** The value of a metric with the given dimension values, from the EMF documents. */
function metricValue(
  documents: readonly EmfDocument[],
  name: string,
  dimensions: Readonly<Record<string, string>>,
): unknown {
  const doc = documents.find(
    (d) =>
      d._aws.CloudWatchMetrics[0]?.Metrics.some((m) => m.Name === name) &&
      Object.entries(dimensions).every(([key, value]) => d[key] === value),
  );
  return doc?.[name];
}

/** Runs the CLI in this process with stdout captured. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const keep = (into: string[]) => (chunk: string | Uint8Array) => {
    into.push(String(chunk));
    return true;
  };
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation(keep(out)),
    vi.spyOn(process.stderr, 'write').mockImplementation(keep(err)),
  ];
  try {
    const code = await main(args);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    for (const spy of spies) spy.mockRestore();
    // The command sets the exit code of this (test) process: give it back.
    process.exitCode = undefined;
  }
}

describe.skipIf(!rig)(`Delivery ledger on moto${rig ? '' : ` (skipped: ${skipReason})`}`, () => {
  useRigAws();

  afterAll(async () => {
    const client = new DynamoDBClient({});
    for (const table of tables) await client.send(new DeleteTableCommand({ TableName: table }));
  });

  it("keeps a failing cluster's last success and expiry while its ECR validity falls run after run below 4 h", async () => {
    // Prepare
    const ledger = dynamoLedger(await createTrackedLedgerTable());
    const metrics = createMetrics();
    const known = ['gke', 'aks'];
    const namespaces = ['team-a', 'team-b'];
    const minLeft: number[] = [];
    const atRisk: number[] = [];
    const failed: number[] = [];

    // Act: run 0 delivers everywhere; from run 1 on, aks answers 401. One run per hour.
    for (let hour = 0; hour <= 9; hour++) {
      const now = hoursAfter(T0, hour);
      const aks = hour === 0 ? healthyCluster('aks', namespaces, now) : unreachableCluster('aks');
      const result = runResult([healthyCluster('gke', namespaces, now), aks], now);
      const rows = await ledger.record(result, known, now);
      const { documents } = captureEmf(() => publishRunMetrics(metrics, result, fleetMetrics(rows, now)));
      minLeft.push(metricValue(documents, METRIC_NAMES.minSecondsOfValidityLeft, { Kind: 'ecr' }) as number);
      atRisk.push(metricValue(documents, METRIC_NAMES.targetsAtRisk, { Kind: 'ecr' }) as number);
      failed.push(metricValue(documents, METRIC_NAMES.targetsFailed, { Kind: 'ecr' }) as number);
    }
    const final = hoursAfter(T0, 9);
    const rows = await ledger.read();

    // Assess: the least validity is aks's, 12 h minus the hours since its last success.
    expect(minLeft).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3].map((h) => h * 3600));
    const crossing = minLeft.findIndex((s) => s < VALIDITY_THRESHOLDS_SECONDS.ecr);
    expect(crossing).toBe(9);
    expect(atRisk.slice(0, crossing).every((n) => n === 0)).toBe(true);
    expect(atRisk[crossing]).toBeGreaterThanOrEqual(1);
    expect(failed).toEqual([0, 2, 2, 2, 2, 2, 2, 2, 2, 2]);

    expect(rows).toHaveLength(4);
    for (const row of rows.filter((r) => r.cluster === 'aks')) {
      expect(row).toMatchObject({
        lastSuccessAt: T0.toISOString(),
        expiresAt: new Date(T0.getTime() + ECR_TOKEN_LIFETIME).toISOString(),
        consecutiveFailures: 9,
        lastFailureClass: 'unauthorized',
        lastFailureAt: final.toISOString(),
      });
    }
    for (const row of rows.filter((r) => r.cluster === 'gke')) {
      expect(row).toMatchObject({ lastSuccessAt: final.toISOString(), consecutiveFailures: 0 });
      expect(targetStatus(row, final)).toMatchObject({
        secondsLeft: 12 * 3600,
        atRisk: false,
        failed: false,
      });
    }
  });

  it('removes the rows of a cluster taken out of the registration, and leaves other kinds alone', async () => {
    // Prepare
    const ledger = dynamoLedger(await createTrackedLedgerTable());
    const first = runResult([healthyCluster('gke', ['a'], T0), healthyCluster('aks', ['a', 'b'], T0)], T0);
    await ledger.record(first, ['gke', 'aks'], T0);
    const s3Run = runResult([{ ...healthyCluster('gke', [], T0), secrets: [delivered('a', T0, 's3')] }], T0, [
      's3',
    ]);
    await ledger.record(s3Run, ['gke', 'aks'], T0);
    const later = hoursAfter(T0, 1);

    // Act: aks is gone from the registration; only gke's ECR is run.
    const returned = await ledger.record(
      runResult([healthyCluster('gke', ['a'], later)], later),
      ['gke'],
      later,
    );
    const stored = await ledger.read();

    // Assess
    const targets = (rows: readonly { target: string }[]) => rows.map((r) => r.target).sort();
    expect(targets(stored)).toEqual(['gke#ecr#a/ecr-creds', 'gke#s3#a/s3-creds']);
    expect(targets(returned)).toEqual(targets(stored));
    expect(stored.find((r) => r.kind === 's3')?.lastSuccessAt).toBe(T0.toISOString());
  });

  it('writes and removes more targets than it writes at once (16)', async () => {
    // Prepare
    const ledger = dynamoLedger(await createTrackedLedgerTable());
    const namespaces = Array.from({ length: 60 }, (_, i) => `ns-${i}`);

    // Act
    await ledger.record(runResult([healthyCluster('gke', namespaces, T0)], T0), ['gke'], T0);
    const written = await ledger.read();
    const removed = await ledger.record(runResult([], T0), [], T0);
    const afterRemoval = await ledger.read();

    // Assess
    expect(written).toHaveLength(60);
    expect(removed).toEqual([]);
    expect(afterRemoval).toEqual([]);
  });

  it('takes over items written before versions: the first conditional write expects no version', async () => {
    // Prepare: an item as the previous release wrote it (no version attribute).
    const table = await createTrackedLedgerTable();
    const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}));
    await documents.send(
      new PutCommand({
        TableName: table,
        Item: {
          target: 'aks#ecr#a/ecr-creds',
          cluster: 'aks',
          kind: 'ecr',
          namespace: 'a',
          secretName: 'ecr-creds',
          lastSuccessAt: T0.toISOString(),
          expiresAt: new Date(T0.getTime() + ECR_TOKEN_LIFETIME).toISOString(),
          consecutiveFailures: 2,
        },
      }),
    );
    const ledger = dynamoLedger(table);
    const later = hoursAfter(T0, 1);

    // Act
    const { transitions } = await ledger.commit(
      runResult([unreachableCluster('aks')], later),
      ['aks'],
      later,
    );
    const stored = await documents.send(
      new GetCommand({ TableName: table, Key: { target: 'aks#ecr#a/ecr-creds' } }),
    );

    // Assess: counted on, versioned from now on, and its (never notified) failure notified once.
    expect(stored.Item).toMatchObject({ consecutiveFailures: 3, version: 1, alert: 'failing' });
    expect(transitions.map((t) => t.type)).toEqual(['failing']);
  });

  it('keeps every failure count of overlapping writers: N concurrent record() calls count N failures', async () => {
    // Prepare: aks delivered once; then N runs (the two schedules and CLI runs) record its failure at once.
    const N = 8;
    const ledger = dynamoLedger(await createTrackedLedgerTable());
    const namespaces = ['team-a', 'team-b', 'team-c'];
    await ledger.record(runResult([healthyCluster('aks', namespaces, T0)], T0), ['aks'], T0);

    // Act
    await Promise.all(
      Array.from({ length: N }, (_, i) => {
        const now = new Date(T0.getTime() + HOUR + i * 1000);
        return ledger.record(runResult([unreachableCluster('aks')], now), ['aks'], now);
      }),
    );
    const rows = await ledger.read();

    // Assess
    expect(rows.map((r) => [r.target, r.consecutiveFailures]).sort()).toEqual(
      namespaces.map((ns) => [`aks#ecr#${ns}/ecr-creds`, N]),
    );
  });

  it('records each transition once among overlapping writers: the writer whose write moved it', async () => {
    // Prepare
    const N = 8;
    const ledger = dynamoLedger(await createTrackedLedgerTable());
    const namespaces = ['team-a', 'team-b', 'team-c'];
    await ledger.commit(runResult([healthyCluster('aks', namespaces, T0)], T0), ['aks'], T0);
    const concurrently = async (result: (now: Date) => RunResult, hour: number) => {
      const records = await Promise.all(
        Array.from({ length: N }, (_, i) => {
          const now = new Date(T0.getTime() + hour * HOUR + i * 1000);
          return ledger.commit(result(now), ['aks'], now);
        }),
      );
      return records.flatMap((r) => r.transitions.map((t: Transition) => `${t.type} ${t.cluster}`)).sort();
    };

    // Act: N writers see aks fail; then N see it recover.
    const failing = await concurrently(() => runResult([unreachableCluster('aks')], T0), 1);
    const recovered = await concurrently(
      (now) => runResult([healthyCluster('aks', namespaces, now)], now),
      2,
    );
    const rows = await ledger.read();

    // Assess: one transition per target each time, whichever writers won.
    expect(failing).toEqual(namespaces.map(() => 'failing aks'));
    expect(recovered).toEqual(namespaces.map(() => 'recovered aks'));
    expect(rows.every((r) => r.consecutiveFailures === 0 && r.alert === undefined)).toBe(true);
  });

  it('sends to the alarm topic once per transition and cluster: failing, at risk, recovered, a second cluster, a credential expiring', async () => {
    // Prepare: hourly ECR runs. aks (3 targets) answers 401 from hour 1 to hour 11; gke breaks at hour 6
    // (while aks is still broken) and stays broken; k3s's client certificate has 6 days left from hour 0.
    const ledger = dynamoLedger(await createTrackedLedgerTable());
    const { topicArn, received } = await topicWithQueue();
    const notifier = snsNotifier(topicArn);
    const logger = { info: () => {}, warn: () => {}, error: () => {} };
    const known = ['aks', 'gke', 'k3s'];
    const certificate: CredentialState = {
      kind: 'client-certificate',
      expiresAt: new Date(T0.getTime() + 6 * 24 * HOUR).toISOString(),
    };
    const perRun: string[][] = [];
    let leastCredential: number | undefined;

    // Act
    for (let hour = 0; hour <= 14; hour++) {
      const now = hoursAfter(T0, hour);
      const aks =
        hour >= 1 && hour <= 11 ? unreachableCluster('aks') : healthyCluster('aks', ['a', 'b', 'c'], now);
      const gke =
        hour >= 6
          ? unreachableCluster('gke', { failureClass: 'refused', message: 'ECONNREFUSED' })
          : healthyCluster('gke', ['a'], now);
      const k3s = { ...healthyCluster('k3s', ['a'], now), credential: certificate };
      const recorded = await recordAndNotify(runResult([aks, gke, k3s], now), known, {
        ledger,
        notifier,
        now: () => now,
        logger,
      });
      leastCredential = recorded.minCredentialSecondsLeft;
      perRun.push((await received()).map((m) => m.subject));
    }

    // Assess: aks starts failing at 1 and is at risk at 9 (12 h tokens, under 4 h left), recovers at 12.
    const expected = perRun.map(() => [] as string[]);
    expected[0] = ['cred-courier k3s: credential expiring'];
    expected[1] = ['cred-courier aks: 3 failing'];
    expected[6] = ['cred-courier gke: 1 failing'];
    expected[9] = ['cred-courier aks: 3 at risk'];
    expected[12] = ['cred-courier aks: 3 recovered'];
    expected[14] = ['cred-courier gke: 1 at risk'];
    expect(perRun).toEqual(expected);
    expect(perRun.flat()).toHaveLength(6);
    // The fleet's least credential validity (the MinCredentialSecondsLeft metric): k3s's, 6 days - 14 h.
    expect(leastCredential).toBe((6 * 24 - 14) * 3600);
  });

  it('a notification that cannot be sent is logged and changes nothing about the record', async () => {
    const ledger = dynamoLedger(await createTrackedLedgerTable());
    const errors: string[] = [];
    const logger = { info: () => {}, warn: () => {}, error: (message: string) => errors.push(message) };
    const notifier = snsNotifier('arn:aws:sns:eu-west-1:123456789012:no-such-topic');
    await recordAndNotify(runResult([healthyCluster('aks', ['a'], T0)], T0), ['aks'], {
      ledger,
      notifier,
      now: () => T0,
      logger,
    });
    const later = hoursAfter(T0, 1);

    const recorded = await recordAndNotify(runResult([unreachableCluster('aks')], later), ['aks'], {
      ledger,
      notifier,
      now: () => later,
      logger,
    });

    expect(recorded.recorded).toBe(true);
    expect(recorded.notified).toEqual([]);
    expect(recorded.notNotified.map((n) => n.subject)).toEqual(['cred-courier aks: 1 failing']);
    expect(errors).toEqual(['notification not sent']);
    expect((await ledger.read())[0]).toMatchObject({ consecutiveFailures: 1, alert: 'failing' });
  });

  it('publishes only the documented metrics, with Kind, Cluster and FailureClass as the only dimensions', () => {
    // Prepare
    const now = T0;
    const outcome = (ns: string): SecretOutcome => ({
      kind: 'ecr',
      namespace: ns,
      secretName: 'secret-name-not-a-dimension',
      failure: { failureClass: 'forbidden', message: 'message-not-a-dimension' },
    });
    const result = runResult(
      [
        healthyCluster('gke', ['namespace-not-a-dimension'], now),
        unreachableCluster('aks'),
        {
          ...healthyCluster('k3s', [], now),
          ok: false,
          secrets: [outcome('ns-1'), outcome('ns-2')],
        },
      ],
      now,
    );
    const fleet = {
      ecr: { minSecondsOfValidityLeft: 3600, targetsAtRisk: 1, targetsFailed: 3, targets: 4 },
    };

    // As in a Lambda's first invocation, where Powertools reports the cold start.
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
    const metrics = createMetrics();
    vi.unstubAllEnvs();

    // Act
    const { documents, text } = captureEmf(() => publishRunMetrics(metrics, result, fleet, 5 * 86_400));

    // Assess
    const metricNames = new Set(
      documents.flatMap((d) => d._aws.CloudWatchMetrics[0]?.Metrics.map((m) => m.Name)),
    );
    expect([...metricNames].sort()).toEqual([...Object.values(METRIC_NAMES), 'ColdStart'].sort());
    const units = Object.fromEntries(
      documents.flatMap((d) => d._aws.CloudWatchMetrics[0]?.Metrics.map((m) => [m.Name, m.Unit]) ?? []),
    );
    expect(units).toEqual({
      ColdStart: 'Count',
      Delivered: 'Count',
      Failed: 'Count',
      MinSecondsOfValidityLeft: 'Seconds',
      MinCredentialSecondsLeft: 'Seconds',
      TargetsAtRisk: 'Count',
      TargetsFailed: 'Count',
      RunDuration: 'Milliseconds',
    });
    const dimensionSets = new Set(
      documents.flatMap((d) =>
        d._aws.CloudWatchMetrics[0]?.Dimensions.map((set) => [...set].sort().join('+')),
      ),
    );
    // `service` is Powertools' constant dimension (always cred-courier).
    expect([...dimensionSets].sort()).toEqual(
      ['service', 'Kind+service', 'Cluster+service', 'Cluster+FailureClass+service'].sort(),
    );
    for (const doc of documents) {
      expect(doc._aws.CloudWatchMetrics[0]?.Namespace).toBe('CredCourier');
      expect(doc.service).toBe('cred-courier');
      const allowed = new Set(['_aws', 'service', 'Kind', 'Cluster', 'FailureClass', ...metricNames]);
      expect(Object.keys(doc).filter((key) => !allowed.has(key))).toEqual([]);
    }
    expect(metricValue(documents, 'Failed', { Cluster: 'k3s', FailureClass: 'forbidden' })).toBe(2);
    expect(metricValue(documents, 'Failed', { Cluster: 'aks', FailureClass: 'unauthorized' })).toBe(1);
    expect(metricValue(documents, 'Delivered', { Cluster: 'gke' })).toBe(1);
    expect(metricValue(documents, 'Delivered', { Cluster: 'aks' })).toBe(0);
    for (const field of [
      'namespace-not-a-dimension',
      'secret-name-not-a-dimension',
      'message-not-a-dimension',
      'reason-text-that-must-stay-in-logs',
      result.clusters[0]?.secrets[0]?.expiresAt ?? 'missing',
      'ns-1',
    ]) {
      expect(text).not.toContain(field);
    }
  });

  it('`cred-courier ledger` shows each target from AWS alone, and exits 1 once one failed or expired', async () => {
    // Prepare
    const table = await createTrackedLedgerTable();
    const ledger = dynamoLedger(table);
    const recent = new Date();
    await ledger.record(runResult([healthyCluster('gke', ['a'], recent)], recent), ['gke'], recent);
    const healthy = await cli(['ledger', '--table', table, '-o', 'json']);
    await ledger.record(runResult([unreachableCluster('gke')], recent), ['gke'], recent);

    // Act
    const failing = await cli(['ledger', '--table', table, '-o', 'json']);
    const text = await cli(['ledger', '--table', table]);
    const missing = await cli(['ledger', '--table', 'no-such-ledger']);

    // Assess
    expect(healthy.code).toBe(0);
    expect(JSON.parse(healthy.stdout)).toMatchObject({ ok: true, kinds: { ecr: { targets: 1 } } });
    expect(failing.code).toBe(1);
    const view = JSON.parse(failing.stdout) as { ok: boolean; targets: Record<string, unknown>[] };
    expect(view.ok).toBe(false);
    expect(view.targets).toEqual([
      expect.objectContaining({
        target: 'gke#ecr#a/ecr-creds',
        consecutiveFailures: 1,
        lastFailureClass: 'unauthorized',
        failed: true,
        expired: false,
        atRisk: false,
      }),
    ]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^FAILED: 1 targets, 1 failed, 0 expired/);
    expect(text.stdout).toMatch(
      /gke:\n {2}ecr {2}a\/ecr-creds {2}last success \S+ {2}expires \S+ {2}1[01]h \d\dm left/,
    );
    expect(text.stdout).toContain('failed 1 run in a row: unauthorized');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: ledger no-such-ledger unreadable: /);
  });

  it('the Lambda handler records a run in which a cluster failed, notifies it, publishes its metrics and succeeds', async () => {
    // Prepare: one registered cluster whose kubeconfig secret does not exist, so it fails at once.
    const table = await createTrackedLedgerTable();
    const configFile = join(mkdtempSync(join(tmpdir(), 'cc-ledger-')), 'clusters.yaml');
    const cluster = uniqueName('lost');
    writeFileSync(
      configFile,
      `clusters:\n  - name: ${cluster}\n    kubeconfigSecret: cred-courier/test/${cluster}-missing\n` +
        '    namespaces: { names: [team-a] }\n    ecr: { secretName: ecr-pull, registries: [{ region: eu-west-1 }] }\n',
    );
    const earlier = new Date(Date.now() - 9 * HOUR);
    await dynamoLedger(table).record(
      runResult([healthyCluster(cluster, ['team-a'], earlier)], earlier),
      [cluster],
      earlier,
    );
    const { topicArn, received } = await topicWithQueue();
    vi.stubEnv('CRED_COURIER_CONFIG', configFile);
    vi.stubEnv('CRED_COURIER_LEDGER_TABLE', table);
    vi.stubEnv('CRED_COURIER_ALARM_TOPIC_ARN', topicArn);
    const { handler } = await import('../../functions/distribute.ts');
    const context = { getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

    // Act
    const recorded = await captureOutput(() => handler({ kinds: ['ecr'] }, context));
    vi.stubEnv('CRED_COURIER_LEDGER_TABLE', 'no-such-ledger');
    const notifications = await received();
    const unrecorded = await captureOutput(() => handler({ kinds: ['ecr'] }, context));
    vi.unstubAllEnvs();

    // Assess: the ledger kept the old expiry (about 3 h left: at risk) and counted the failure.
    const [row] = await dynamoLedger(table).read();
    expect(row).toMatchObject({
      cluster,
      lastSuccessAt: earlier.toISOString(),
      consecutiveFailures: 1,
      lastFailureClass: 'kubeconfig',
    });
    const documents = (lines: string[]) =>
      lines.map((line) => JSON.parse(line) as EmfDocument).filter((d) => d._aws !== undefined);
    // One cluster failing is the notification's business, not the invocation's: no error, no dead letter.
    expect(notifications.map((n) => n.subject)).toEqual([`cred-courier ${cluster}: 1 at risk`]);
    expect(notifications[0]?.message).toContain('failure class: kubeconfig');
    for (const { value, lines } of [recorded, unrecorded]) {
      expect(value).toMatchObject({ clusters: 1, clustersFailed: 1 });
      expect(metricValue(documents(lines), 'Failed', { Cluster: cluster, FailureClass: 'kubeconfig' })).toBe(
        1,
      );
    }
    const validity = metricValue(documents(recorded.lines), 'MinSecondsOfValidityLeft', { Kind: 'ecr' });
    expect(validity).toBeLessThan(VALIDITY_THRESHOLDS_SECONDS.ecr);
    expect(metricValue(documents(recorded.lines), 'TargetsAtRisk', { Kind: 'ecr' })).toBe(1);
    const records = unrecorded.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.some((r) => r.message === 'ledger not updated' && r.table === 'no-such-ledger')).toBe(
      true,
    );
    expect(
      metricValue(documents(unrecorded.lines), 'MinSecondsOfValidityLeft', { Kind: 'ecr' }),
    ).toBeUndefined();
  });

  it('the Lambda handler ends in error when the run could not work at all: every cluster failed reading its kubeconfig', async () => {
    // Prepare: two registered clusters, neither kubeconfig secret readable (one cause outside the clusters).
    const table = await createTrackedLedgerTable();
    const configFile = join(mkdtempSync(join(tmpdir(), 'cc-ledger-')), 'clusters.yaml');
    const names = [uniqueName('lost'), uniqueName('lost')];
    writeFileSync(
      configFile,
      `clusters:\n${names
        .map(
          (name) =>
            `  - name: ${name}\n    kubeconfigSecret: cred-courier/test/${name}-missing\n` +
            '    namespaces: { names: [team-a] }\n    ecr: { secretName: ecr-pull, registries: [{ region: eu-west-1 }] }\n',
        )
        .join('')}`,
    );
    vi.stubEnv('CRED_COURIER_CONFIG', configFile);
    vi.stubEnv('CRED_COURIER_LEDGER_TABLE', table);
    // A fresh module: the handler reads its registration file once per container.
    vi.resetModules();
    const { handler } = await import('../../functions/distribute.ts');
    const context = { getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

    // Act
    const { value, lines } = await captureOutput(() => handler({ kinds: ['ecr'] }, context));
    vi.unstubAllEnvs();

    // Assess: the error names the cause; the metrics were published before it.
    expect((value as Error).name).toBe('DeliveryFailedError');
    expect((value as Error).message).toMatch(
      /^delivery could not work: every cluster \(2\) failed with kubeconfig/,
    );
    const documents = lines
      .map((line) => JSON.parse(line) as EmfDocument)
      .filter((d) => d._aws !== undefined);
    for (const name of names) {
      expect(metricValue(documents, 'Failed', { Cluster: name, FailureClass: 'kubeconfig' })).toBe(1);
    }
  });
});
