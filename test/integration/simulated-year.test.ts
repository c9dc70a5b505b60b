/**
 * A simulated year of the deployed shape (issue 16): runDelivery against the rig's real apiservers and
 * moto (ECR, STS, Secrets Manager), recordAndNotify into a ledger on moto's DynamoDB and a topic on moto's
 * SNS whose SQS subscription is read back. The fleet:
 * - `tok-a`, `tok-b`: TokenRequest tokens that must renew themselves all year;
 * - `flaky`: a token cluster broken for one day (its server's DNS name does not resolve), then fixed;
 * - `gone`: decommissioned on day 30 (its server's DNS name gone for good) and left in the file;
 * - `cert`: a client certificate (CN = cred-courier's ServiceAccount user, signed by the rig's CA, the
 *   apiserver's --client-ca-file) valid for 200 days; when it runs out the apiserver gets an expired one,
 *   and the operator stores a new one 12 h later.
 *
 * Clocks. The ledger, the transitions and the schedule use the simulated clock (`recordAndNotify`'s now:
 * the run's start plus the 30 s a run takes). The apiserver checks a token's `exp` against real time, and
 * a TokenRequest's `iat` is the real now, so a simulated year cannot be run on real tokens directly. Each
 * stored token is a real 20-minute token standing for the 720 h default: it ages 1 s of JWT time per
 * 2,160 s of simulated time since it was stored. Each entry's run gets its own RunOptions.now = the token's
 * real `iat` + its simulated age / 2,160, so renewal (which reads iat/exp from the JWT) becomes due after
 * 15 simulated days, as a 720 h token would; the new token is a real TokenRequest, verified by the real
 * apiserver, and stored as a new Secrets Manager version. Real time never reaches any `exp` during the test
 * (it lasts about a minute), so "never lost delivery because its token expired" is checked on the
 * simulated clock: every run of a token cluster delivered, with simulated validity left > 0, and the real
 * apiserver accepted every token. Because the entries need their own clocks (and an installation's one
 * control namespace holds one inventory per apiserver), each entry has its own control namespace and its
 * own runDelivery; a simulated run is those runDelivery calls side by side, their cluster results one
 * RunResult for the ledger. Times in a run's result are put on the simulated timeline: a stored token's
 * expiry is its storage time + 720 h (its real life × 2,160); ECR expiries (moto answers a fixed 2015
 * expiresAt, so the kind assumes 12 h from the run's clock) and S3 expiries (moto's STS: real time + 1 h)
 * keep their length from the run's start; a certificate's notAfter is absolute (the simulation starts at
 * the real now).
 *
 * Cadence (compressed, stated): 365 days; the ECR schedule's runs every 4 h around the three events
 * (days 29.75–30.5, 119.75–121.25, 199.75–200.75), and on the days between one run every 2 days (every
 * twelfth of the schedule's runs: their state does not change from run to run, and renewals, due every 15
 * days, happen at the first run past the threshold either way); the S3 schedule's runs every 15 min from
 * 1 h before to 3 h after the decommissioning and from 1 h before the broken day to 2 h after it (the
 * full 35,040 S3 runs and 2,190 ECR runs of a year would take far longer than CI allows). Where both
 * schedules run at the same time, the ECR run goes first. The broken and the decommissioned cluster fail
 * with `dns` (non-transient, fails at once); S3 targets are on `flaky` and `gone`.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { defaultAwsClients } from '../../src/aws/clients.ts';
import { secretsManagerKubeconfigs } from '../../src/aws/kubeconfig-store.ts';
import type { SecretsWriterApi } from '../../src/aws/kubeconfig-writer.ts';
import { dynamoLedger } from '../../src/aws/ledger.ts';
import { snsNotifier } from '../../src/aws/notifier.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/types.ts';
import type { KindId } from '../../src/kinds/kind.ts';
import { loadAdminKubeconfig } from '../../src/register/admin.ts';
import { registerCluster } from '../../src/register/register.ts';
import { tokenClaims } from '../../src/register/token.ts';
import { memoryLogger } from '../../src/report/logger.ts';
import { recordAndNotify } from '../../src/run/record.ts';
import { runDelivery } from '../../src/run/run.ts';
import type { ClusterResult, MintOutcome, RunResult } from '../../src/run/types.ts';
import { Pki } from '../faults/pki.ts';
import { ensureNamespace } from '../rig/accounts.ts';
import type { RigCluster } from '../rig/rig.ts';
import { createLedgerTable, topicWithQueue } from './moto-support.ts';
import { storedKubeconfig, tokenOf } from './register-support.ts';
import { rig, skipReason, theRig, uniqueName, useRigAws } from './rig-context.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const YEAR_DAYS = 365;
/** The real lifetime of every stored token (the apiserver's floor is 10 min). */
const REAL_TOKEN_SECONDS = 1200;
/** What it stands for: register's default, 720 h. */
const SIMULATED_TOKEN_MS = 720 * HOUR;
/** Simulated milliseconds per JWT millisecond. */
const TIME_SCALE = SIMULATED_TOKEN_MS / (REAL_TOKEN_SECONDS * 1000);
/** A run is recorded this long after it started. */
const RUN_TAKES_MS = 30_000;
const WEEK_S = 7 * 24 * 3600;
const ROLE = 'arn:aws:iam::123456789012:role/cred-courier-s3';

const DECOMMISSIONED_AT = 30 * DAY;
const BROKEN = { from: 120 * DAY, to: 121 * DAY };
const CERT_DAYS = 200;
const CERT_REPLACED_AFTER = 12 * HOUR;
/** ECR runs every 4 h around the events; on quiet days one run every 2 days (renewals are due every 15). */
const ECR_FULL_CADENCE = [
  { from: 29.75 * DAY, to: 30.5 * DAY },
  { from: 119.75 * DAY, to: 121.25 * DAY },
  { from: 199.75 * DAY, to: 200.75 * DAY },
];
const QUIET_RUN_EVERY = 2 * DAY;
const S3_WINDOWS = [
  { from: DECOMMISSIONED_AT - HOUR, to: DECOMMISSIONED_AT + 3 * HOUR },
  { from: BROKEN.from - HOUR, to: BROKEN.to + 2 * HOUR },
];

type EntryName = 'tok-a' | 'tok-b' | 'flaky' | 'gone' | 'cert';

interface Entry {
  readonly role: EntryName;
  readonly name: string;
  readonly rigCluster: RigCluster;
  readonly control: string;
  readonly secretId: string;
  readonly s3: boolean;
  readonly config: Config;
  /** Token entries: the stored token's real iat and when (simulated) it was stored. */
  iat?: number;
  storedAt?: number;
  /** Certificate entry: the stored certificate's notAfter. */
  notAfter?: number;
  /** The stored kubeconfig as it was before a fault, to put back. */
  saved?: string;
}

interface Run {
  readonly at: number;
  readonly kind: KindId;
}

const sm = () => new SecretsManagerClient({});

async function store(secretId: string, text: string): Promise<void> {
  await sm().send(new PutSecretValueCommand({ SecretId: secretId, SecretString: text }));
}

/**
 * The stored kubeconfig with its server at a name the resolver does not know (`.invalid`): the cluster's
 * DNS record is gone. Chosen over a closed port because `refused` is retried with backoff (about 1.4 s a
 * run), which over hundreds of runs would dominate the test; `dns` fails at once.
 */
function atUnresolvableName(kubeconfig: string, cluster: string): string {
  const doc = parse(kubeconfig) as { clusters: { cluster: { server: string } }[] };
  for (const c of doc.clusters) c.cluster.server = `https://${cluster}.invalid:6443`;
  return stringify(doc, { lineWidth: 0 });
}

/** The stored kubeconfig with its user holding a client certificate instead of the token. */
function withClientCert(kubeconfig: string, pair: { cert: string; key: string }): string {
  const doc = parse(kubeconfig) as { users: { user: Record<string, string> }[] };
  for (const u of doc.users) {
    u.user = {
      'client-certificate-data': Buffer.from(pair.cert).toString('base64'),
      'client-key-data': Buffer.from(pair.key).toString('base64'),
    };
  }
  return stringify(doc, { lineWidth: 0 });
}

function schedule(): Run[] {
  const runs: Run[] = [];
  for (let t = 0; t < YEAR_DAYS * DAY; t += 15 * MINUTE) {
    const busy = ECR_FULL_CADENCE.some((w) => t >= w.from && t < w.to);
    if (t % (4 * HOUR) === 0 && (busy || t % QUIET_RUN_EVERY === 0)) runs.push({ at: t, kind: 'ecr' });
    if (S3_WINDOWS.some((w) => t >= w.from && t < w.to)) runs.push({ at: t, kind: 's3' });
  }
  return runs;
}

/** Whether an entry is meant to be unreachable at `at` (the faults this test makes). */
function meantBroken(role: EntryName, at: number): boolean {
  return (
    (role === 'flaky' && at >= BROKEN.from && at < BROKEN.to) || (role === 'gone' && at >= DECOMMISSIONED_AT)
  );
}

function mustParseCert(pem: string): number {
  return new Date(new X509Certificate(pem).validTo).getTime();
}

describe.skipIf(!rig)(`a simulated year on the rig${rig ? '' : ` (skipped: ${skipReason})`}`, () => {
  useRigAws();
  const dir = mkdtempSync(join(tmpdir(), 'cred-courier-year-'));
  const pki = new Pki();
  const tables: string[] = [];
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    pki.dispose();
    for (const TableName of tables) await new DynamoDBClient({}).send(new DeleteTableCommand({ TableName }));
  });

  const bucket = uniqueName('year-reports');
  let S0 = 0;
  const entries: Entry[] = [];

  async function register(role: EntryName, rigCluster: RigCluster, s3: boolean): Promise<Entry> {
    const name = uniqueName(role);
    const app = uniqueName('app');
    const control = uniqueName('cc');
    await ensureNamespace(rigCluster, app);
    const file = join(dir, `${name}.yaml`);
    const secretId = `cred-courier/test/${name}`;
    const s3Yaml = s3
      ? `\n    s3:\n      - { secretName: s3-reports, roleArn: ${ROLE}, region: eu-west-1, buckets: [{ bucket: ${bucket}, prefix: reports, access: read }] }`
      : '';
    writeFileSync(
      file,
      `settings:
  controlNamespace: ${control}
  clusterDeadlineSeconds: 10
clusters:
  - name: ${name}
    kubeconfigSecret: ${secretId}
    namespaces: { names: [${app}] }
    ecr: { secretName: ecr-pull, registries: [{ region: eu-west-1 }] }${s3Yaml}
`,
    );
    const report = await registerCluster({
      configFile: file,
      cluster: name,
      admin: loadAdminKubeconfig(rigCluster.adminKubeconfigPath),
      rbac: 'apply',
      token: { kind: 'token-request', seconds: REAL_TOKEN_SECONDS },
      rotate: false,
      dryRun: false,
      entry: {},
      secrets: sm() as unknown as SecretsWriterApi,
    });
    expect(report.ok, JSON.stringify(report.verification?.items)).toBe(true);
    return { role, name, rigCluster, control, secretId, s3, config: await loadConfig(file) };
  }

  beforeAll(async () => {
    await new S3Client({ forcePathStyle: true }).send(
      new CreateBucketCommand({
        Bucket: bucket,
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
      }),
    );
    const { a, b } = theRig().clusters;
    entries.push(
      ...(await Promise.all([
        register('tok-a', a, false),
        register('tok-b', b, false),
        register('flaky', a, true),
        register('gone', b, true),
        register('cert', b, false),
      ])),
    );
    // The simulation starts now (to the second), so a certificate's notAfter is on its timeline.
    S0 = Math.floor(Date.now() / 1000) * 1000;
    for (const e of entries) {
      if (e.role === 'cert') {
        const pair = pki.clientCert(
          { certFile: e.rigCluster.caCertFile, keyFile: e.rigCluster.caKeyFile },
          { commonName: `system:serviceaccount:${e.control}:cred-courier`, days: CERT_DAYS },
        );
        e.notAfter = mustParseCert(pair.cert);
        await store(e.secretId, withClientCert(await storedKubeconfig(e.secretId), pair));
        continue;
      }
      const claims = tokenClaims(tokenOf(await storedKubeconfig(e.secretId)));
      e.iat = claims?.issuedAt?.getTime() ?? 0;
      e.storedAt = 0;
    }
  }, 120_000);

  it('notifies each transition once, renews every token in time, and no token cluster loses delivery', async () => {
    // Prepare
    const TableName = await createLedgerTable();
    tables.push(TableName);
    const topic = await topicWithQueue();
    const ledger = dynamoLedger(TableName);
    const notifier = snsNotifier(topic.topicArn);
    const aws = defaultAwsClients();
    const kubeconfigs = secretsManagerKubeconfigs(aws.secretsManager(), { ttlSeconds: 0 });
    const logger = memoryLogger();
    const known = entries.map((e) => e.name);
    const byRole = Object.fromEntries(entries.map((e) => [e.role, e])) as Record<EntryName, Entry>;
    const runs = schedule();
    const sent: { at: number; kind: KindId; subject: string; classes: string }[] = [];
    const renewals: Record<string, number> = {};
    const renewalFailures: string[] = [];
    const lostDelivery: string[] = [];
    let leastTokenValidityS = Number.POSITIVE_INFINITY;
    let leastTokenValidityWho = '';
    let leastFleetValidityS = Number.POSITIVE_INFINITY;
    let clusterRuns = 0;
    let deliveryMs = 0;
    let recordMs = 0;
    let certExpiredStoredAt: number | undefined;
    let certReplaced = false;
    const expiredCert = () =>
      pki.clientCert(
        { certFile: byRole.cert.rigCluster.caCertFile, keyFile: byRole.cert.rigCluster.caKeyFile },
        { commonName: `system:serviceaccount:${byRole.cert.control}:cred-courier`, days: -1 },
      );
    const firstNotAfter = byRole.cert.notAfter ?? Number.NaN;
    const started = Date.now();

    // Act: the year, run by run.
    for (const run of runs) {
      const at = run.at;
      // Faults and the operator, before the run.
      const gone = byRole.gone;
      if (at >= DECOMMISSIONED_AT && !gone.saved) {
        gone.saved = await storedKubeconfig(gone.secretId);
        await store(gone.secretId, atUnresolvableName(gone.saved, gone.name));
      }
      const flaky = byRole.flaky;
      if (at >= BROKEN.from && at < BROKEN.to && !flaky.saved) {
        flaky.saved = await storedKubeconfig(flaky.secretId);
        await store(flaky.secretId, atUnresolvableName(flaky.saved, flaky.name));
      }
      if (at >= BROKEN.to && flaky.saved) {
        await store(flaky.secretId, flaky.saved);
        flaky.saved = undefined;
      }
      const cert = byRole.cert;
      if (certExpiredStoredAt === undefined && S0 + at >= (cert.notAfter ?? 0)) {
        await store(cert.secretId, withClientCert(await storedKubeconfig(cert.secretId), expiredCert()));
        certExpiredStoredAt = at;
      }
      if (
        certExpiredStoredAt !== undefined &&
        !certReplaced &&
        at >= certExpiredStoredAt + CERT_REPLACED_AFTER
      ) {
        const fresh = pki.clientCert(
          { certFile: cert.rigCluster.caCertFile, keyFile: cert.rigCluster.caKeyFile },
          // A one-year certificate issued on this simulated day (openssl counts days from the real now).
          {
            commonName: `system:serviceaccount:${cert.control}:cred-courier`,
            days: Math.ceil((at + 365 * DAY) / DAY),
          },
        );
        await store(cert.secretId, withClientCert(await storedKubeconfig(cert.secretId), fresh));
        cert.notAfter = mustParseCert(fresh.cert);
        certReplaced = true;
      }

      const deliveryStarted = Date.now();
      const ofRun = entries.filter((e) => run.kind === 'ecr' || e.s3);
      const parts = await Promise.all(
        ofRun.map(async (e) => {
          // A token entry's clock: its token's real iat plus its simulated age, scaled.
          const clock =
            e.iat !== undefined
              ? new Date(e.iat + Math.round((at - (e.storedAt ?? 0)) / TIME_SCALE))
              : new Date(Date.now());
          const realStart = Date.now();
          const result = await runDelivery({
            config: e.config,
            kinds: [run.kind],
            aws,
            kubeconfigs,
            logger,
            now: () => clock,
          });
          return { e, result, clock: clock.getTime(), realStart };
        }),
      );
      clusterRuns += parts.length;
      deliveryMs += Date.now() - deliveryStarted;

      // Onto the simulated timeline.
      const mints: MintOutcome[] = [];
      const clusters: ClusterResult[] = [];
      for (const { e, result, clock, realStart } of parts) {
        const from = run.kind === 'ecr' ? clock : realStart;
        const shift = (iso?: string) =>
          iso === undefined ? undefined : new Date(S0 + at + (Date.parse(iso) - from)).toISOString();
        for (const m of result.mints) {
          const expiresAt = shift(m.expiresAt);
          mints.push({ ...m, ...(expiresAt ? { expiresAt } : {}) });
        }
        const c = result.clusters[0];
        if (!c) throw new Error(`no result for ${e.name}`);
        if (c.credential?.renewal?.outcome === 'renewed') {
          renewals[e.role] = (renewals[e.role] ?? 0) + 1;
          const claims = tokenClaims(tokenOf(await storedKubeconfig(e.secretId)));
          expect((claims?.expiresAt?.getTime() ?? 0) - (claims?.issuedAt?.getTime() ?? 0)).toBe(
            REAL_TOKEN_SECONDS * 1000,
          );
          e.iat = claims?.issuedAt?.getTime() ?? 0;
          e.storedAt = at;
        }
        if (c.credential?.renewal?.outcome === 'failed') renewalFailures.push(`${e.role}@${at / DAY}`);
        let credential = c.credential;
        if (credential?.expiresAt && credential.kind === 'token' && e.iat !== undefined) {
          // This token's life on the simulated timeline: stored at storedAt, real life × TIME_SCALE.
          const realLeft = Date.parse(credential.expiresAt) - e.iat;
          const simulated = S0 + (e.storedAt ?? 0) + realLeft * TIME_SCALE;
          credential = { ...credential, expiresAt: new Date(simulated).toISOString() };
          const leftS = (simulated - (S0 + at + RUN_TAKES_MS)) / 1000;
          const inService = e.role !== 'gone' || at < DECOMMISSIONED_AT;
          if (inService && leftS < leastTokenValidityS) {
            leastTokenValidityS = leftS;
            leastTokenValidityWho = `${e.role} on day ${(at / DAY).toFixed(2)}`;
          }
          if (!meantBroken(e.role, at) && (!c.ok || leftS <= 0))
            lostDelivery.push(`${e.role}@${at / DAY}: ${c.failure?.message}`);
        }
        clusters.push({
          ...c,
          secrets: c.secrets.map((s) => {
            const expiresAt = shift(s.expiresAt);
            return { ...s, ...(expiresAt ? { expiresAt } : {}) };
          }),
          ...(credential ? { credential } : {}),
        });
      }
      const merged: RunResult = {
        ok: clusters.every((c) => c.ok) && mints.every((m) => !m.failure),
        startedAt: new Date(S0 + at).toISOString(),
        durationMs: RUN_TAKES_MS,
        kinds: [run.kind],
        mints,
        clusters,
        summary: {
          clusters: clusters.length,
          clustersFailed: clusters.filter((c) => !c.ok).length,
          secretsDelivered: clusters.flatMap((c) => c.secrets).filter((s) => s.action).length,
          secretsFailed: clusters.flatMap((c) => c.secrets).filter((s) => s.failure).length,
          secretsPruned: 0,
          mintCalls: mints.length,
        },
      };
      const recordStarted = Date.now();
      const recorded = await recordAndNotify(merged, known, {
        ledger,
        notifier,
        now: () => new Date(S0 + at + RUN_TAKES_MS),
        logger,
      });
      recordMs += Date.now() - recordStarted;
      expect(recorded.recorded).toBe(true);
      expect(recorded.notNotified).toEqual([]);
      if (recorded.minCredentialSecondsLeft !== undefined)
        leastFleetValidityS = Math.min(leastFleetValidityS, recorded.minCredentialSecondsLeft);
      for (const n of recorded.notified) {
        const classes = n.transitions.map((t) => ('failureClass' in t ? t.failureClass : undefined));
        sent.push({
          at,
          kind: run.kind,
          subject: n.subject,
          classes: [...new Set(classes)].filter(Boolean).join(','),
        });
      }
    }
    const seconds = (Date.now() - started) / 1000;

    // Assess: exactly the transitions expected, each once.
    const name = (role: EntryName) => byRole[role].name;
    const ecr = runs.filter((r) => r.kind === 'ecr').map((r) => r.at);
    const s3 = runs.filter((r) => r.kind === 's3').map((r) => r.at);
    const firstAtOrAfter = (times: number[], t: number) => times.find((x) => x >= t) ?? Number.NaN;
    const nth = (times: number[], t: number, n: number) => times.filter((x) => x >= t)[n] ?? Number.NaN;
    /** The first run (either kind) whose record sees less than 7 days left before `expiresAt`. */
    const firstWithinWeek = (expiresAt: number) =>
      runs.map((r) => r.at).find((t) => expiresAt - (S0 + t + RUN_TAKES_MS) < WEEK_S * 1000) ?? Number.NaN;
    // 720 h tokens renewed at half: at the first run of each entry 15 simulated days after the last
    // renewal at which it is reachable (flaky's day-120 renewal waits for day 121; gone's stops on day 30).
    const expectedRenewals: Record<string, number> = {};
    const lastRenewal: Record<string, number> = {};
    for (const e of entries.filter((x) => x.role !== 'cert')) {
      let storedAt = 0;
      for (const r of runs) {
        if (r.kind === 's3' && !e.s3) continue;
        if (meantBroken(e.role, r.at) || r.at - storedAt < SIMULATED_TOKEN_MS / 2) continue;
        expectedRenewals[e.role] = (expectedRenewals[e.role] ?? 0) + 1;
        storedAt = r.at;
      }
      lastRenewal[e.role] = storedAt;
    }
    const goneLastRenewal = lastRenewal.gone ?? Number.NaN; // due again on day 30, the day it went
    const certFailedAt = certExpiredStoredAt ?? Number.NaN;
    const expected: { scenario: string; at: number; kind: KindId; subject: string }[] = [
      // ECR targets fail at the first run; at risk at the second (8 h after the last delivery: 4 h less 30 s left).
      {
        scenario: 'decommissioned: starts failing (ECR)',
        at: firstAtOrAfter(ecr, DECOMMISSIONED_AT),
        kind: 'ecr',
        subject: `cred-courier ${name('gone')}: 1 failing`,
      },
      {
        scenario: 'decommissioned: at risk (ECR)',
        at: nth(ecr, DECOMMISSIONED_AT, 1),
        kind: 'ecr',
        subject: `cred-courier ${name('gone')}: 1 at risk`,
      },
      // S3 (1 h sessions, every 15 min): at risk at the third failing run (15 min less 30 s left < 20 min).
      {
        scenario: 'decommissioned: starts failing (S3)',
        at: firstAtOrAfter(s3, DECOMMISSIONED_AT),
        kind: 's3',
        subject: `cred-courier ${name('gone')}: 1 failing`,
      },
      {
        scenario: 'decommissioned: at risk (S3)',
        at: nth(s3, DECOMMISSIONED_AT, 2),
        kind: 's3',
        subject: `cred-courier ${name('gone')}: 1 at risk`,
      },
      {
        scenario: 'decommissioned: its token close to expiry',
        at: firstWithinWeek(S0 + goneLastRenewal + SIMULATED_TOKEN_MS),
        kind: 'ecr',
        subject: `cred-courier ${name('gone')}: credential expiring`,
      },
      {
        scenario: 'broken for a day: starts failing (ECR)',
        at: firstAtOrAfter(ecr, BROKEN.from),
        kind: 'ecr',
        subject: `cred-courier ${name('flaky')}: 1 failing`,
      },
      {
        scenario: 'broken for a day: starts failing (S3)',
        at: firstAtOrAfter(s3, BROKEN.from),
        kind: 's3',
        subject: `cred-courier ${name('flaky')}: 1 failing`,
      },
      {
        scenario: 'broken for a day: at risk (ECR)',
        at: nth(ecr, BROKEN.from, 1),
        kind: 'ecr',
        subject: `cred-courier ${name('flaky')}: 1 at risk`,
      },
      {
        scenario: 'broken for a day: at risk (S3)',
        at: nth(s3, BROKEN.from, 2),
        kind: 's3',
        subject: `cred-courier ${name('flaky')}: 1 at risk`,
      },
      {
        scenario: 'broken for a day: recovered (ECR)',
        at: firstAtOrAfter(ecr, BROKEN.to),
        kind: 'ecr',
        subject: `cred-courier ${name('flaky')}: 1 recovered`,
      },
      {
        scenario: 'broken for a day: recovered (S3)',
        at: firstAtOrAfter(s3, BROKEN.to),
        kind: 's3',
        subject: `cred-courier ${name('flaky')}: 1 recovered`,
      },
      {
        scenario: 'client certificate: close to expiry',
        at: firstWithinWeek(firstNotAfter),
        kind: 'ecr',
        subject: `cred-courier ${name('cert')}: credential expiring`,
      },
      {
        scenario: 'client certificate expired: starts failing',
        at: certFailedAt,
        kind: 'ecr',
        subject: `cred-courier ${name('cert')}: 1 failing`,
      },
      {
        scenario: 'client certificate expired: at risk',
        at: nth(ecr, certFailedAt, 1),
        kind: 'ecr',
        subject: `cred-courier ${name('cert')}: 1 at risk`,
      },
      {
        scenario: 'client certificate replaced: recovered',
        at: firstAtOrAfter(ecr, certFailedAt + CERT_REPLACED_AFTER),
        kind: 'ecr',
        subject: `cred-courier ${name('cert')}: 1 recovered`,
      },
    ];
    const key = (x: { at: number; kind: KindId; subject: string }) =>
      `day ${(x.at / DAY).toFixed(4)} ${x.kind} run: ${x.subject}`;
    const table = expected.map((x) => {
      const got = sent.filter((s) => key(s) === key(x)).length;
      const classes = sent.find((s) => key(s) === key(x))?.classes ?? '';
      return `| ${x.scenario} | 1 (day ${(x.at / DAY).toFixed(2)}) | ${got}${classes ? ` (${classes})` : ''} |`;
    });
    const unexpected = sent.filter((s) => !expected.some((x) => key(x) === key(s)));
    const received = await topic.received();
    const report = [
      '| scenario | expected | sent |',
      '| --- | --- | --- |',
      ...table,
      `| anything else | 0 | ${unexpected.length} |`,
      `| total (read back from the SQS subscription) | ${expected.length} | ${received.length} |`,
      '',
      `runs: ${runs.filter((r) => r.kind === 'ecr').length} ECR + ${runs.filter((r) => r.kind === 's3').length} S3 (${clusterRuns} cluster deliveries) in ${seconds.toFixed(1)} s (delivery ${(deliveryMs / 1000).toFixed(1)} s, ledger and topic ${(recordMs / 1000).toFixed(1)} s)`,
      `renewals: ${JSON.stringify(renewals)}; failed renewals: ${renewalFailures.length}`,
      `least validity of an in-service token: ${(leastTokenValidityS / 3600).toFixed(2)} h (${leastTokenValidityWho})`,
      `least credential validity in the ledger (any cluster, incl. the decommissioned and the certificate): ${(leastFleetValidityS / 3600).toFixed(2)} h`,
    ].join('\n');
    console.log(`Simulated year\n${report}`);
    expect([...sent.map(key)].sort()).toEqual([...expected.map(key)].sort());
    expect(received.map((r) => r.subject).sort()).toEqual(expected.map((x) => x.subject).sort());
    // Each message names the failure class: dns for the unreachable names, unauthorized for the expired certificate.
    const expectedClass = (scenario: string) =>
      scenario.includes('close to expiry')
        ? ''
        : scenario.startsWith('client certificate')
          ? 'unauthorized'
          : 'dns';
    expect(expected.map((x) => `${x.scenario}: ${sent.find((s) => key(s) === key(x))?.classes}`)).toEqual(
      expected.map((x) => `${x.scenario}: ${expectedClass(x.scenario)}`),
    );
    expect(lostDelivery).toEqual([]);
    expect(renewalFailures).toEqual([]);
    expect(renewals).toEqual(expectedRenewals);
    expect(leastTokenValidityS).toBeGreaterThan(WEEK_S);
  }, 600_000);
});
