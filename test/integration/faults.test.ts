/**
 * The fault matrix: healthy clusters beside one cluster per fault class, all in one run per kind, on
 * the rig's real apiservers with a fault proxy (test/faults/proxy.ts) in front of each faulty one; and
 * AWS-side faults injected by a proxy in front of moto. For every fault: the healthy clusters are
 * delivered, the faulty one fails with its class in the log, the CLI's JSON and the `Failed` metric,
 * transient classes are retried (bounded) and others are not, the run ends within the deadline, and the
 * faulty cluster's existing Secrets are left exactly as they were.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KindId } from '../../src/kinds/kind.ts';
import type { FailureClass } from '../../src/report/classify.ts';
import type { ClusterResult, RunResult } from '../../src/run/types.ts';
import { AwsFaultProxy, awsClientsVia } from '../faults/aws-proxy.ts';
import { removeTempFiles, runCli, STACK_FRAME, tempFile } from '../faults/cli.ts';
import {
  failedMetricsOf,
  readSecretState,
  type SecretState,
  shareControlNamespace,
  waitForDefaultServiceAccounts,
} from '../faults/cluster.ts';
import { LeakScan } from '../faults/leaks.ts';
import { Pki } from '../faults/pki.ts';
import { type FaultMode, FaultProxy } from '../faults/proxy.ts';
import { type Table, writeSections } from '../faults/report.ts';
import { RecordingListener } from '../faults/sink.ts';
import type { RigCluster } from '../rig/rig.ts';
import {
  type CapturedRun,
  capturedRun,
  configOf,
  type RegisteredCluster,
  registerCluster,
  storeKubeconfig,
} from './fixtures.ts';
import { rig, skipReason, theRig, uniqueName, useRigAws } from './rig-context.ts';

const ECR_SECRET = 'ecr-pull';
const S3_SECRET = 'reports';
const ROLE = 'arn:aws:iam::123456789012:role/cred-courier-s3';
const DENIED_ROLE = 'arn:aws:iam::123456789012:role/not-trusting-cred-courier';
const DEADLINE_SECONDS = 8;
const REQUEST_TIMEOUT_SECONDS = 2;
/** Retries per request for transient classes (cluster.ts), so at most this + 1 attempts. */
const MAX_ATTEMPTS = 3;
const KINDS: readonly KindId[] = ['ecr', 's3'];
// These clusters have no AWS grants; the name only completes the per-kind table.
const SECRET_OF: Record<KindId, string> = { ecr: ECR_SECRET, s3: S3_SECRET, aws: 'aws-session' };

interface FaultRow {
  readonly id: string;
  readonly title: string;
  readonly mode: FaultMode;
  /** The class the faulty cluster must report, or `delivered` when the fault must not fail it. */
  readonly expected: FailureClass | 'delivered';
  readonly transient: boolean;
  /** True when the fault stops the whole cluster; false when each Secret fails on its own. */
  readonly stopsCluster: boolean;
  /** Passes over the cluster: a 401 reads the kubeconfig again and tries the cluster once more. */
  readonly passes: number;
  /** What the proxy can count: HTTP requests (TLS terminated there), or TCP connections. */
  readonly counted: 'requests' | 'connections' | 'none';
  /** A kubeconfig server other than the proxy's (a name that does not resolve). */
  readonly server?: string;
  /** A redirect fault: the proxy answers `method` with `status` and a Location at a recording listener. */
  readonly redirect?: Redirect;
}

interface Redirect {
  /** GET: every request (the first is a GET); PATCH: the Secret's patch; POST: the create after a 404. */
  readonly method: 'GET' | 'PATCH' | 'POST';
  readonly scheme: 'http' | 'https';
  readonly status: number;
}

/** Path and query of every Location: a redirect's message may name its origin, never these. */
const REDIRECT_PATH = '/collected?from=cred-courier';
const SECRETS_PATH = /\/secrets(\/|$)/;

/** The proxy's rules for a redirect fault, pointing at `origin` (a recording listener). */
function redirectMode({ method, status: code }: Redirect, origin: string): FaultMode {
  const location = `${origin}${REDIRECT_PATH}`;
  if (method === 'GET') return { kind: 'status', rules: [{ path: all, status: code, location }] };
  if (method === 'PATCH')
    return { kind: 'status', rules: [{ method: 'PATCH', path: SECRETS_PATH, status: code, location }] };
  return {
    kind: 'status',
    rules: [
      { method: 'PATCH', path: SECRETS_PATH, status: 404 },
      { method: 'POST', path: SECRETS_PATH, status: code, location },
    ],
  };
}

/** A redirect row: never retried, stops the cluster at the request that met it. */
function redirectRow(id: string, title: string, redirect: Redirect): FaultRow {
  return { ...row(id, title, { kind: 'pass' }, 'redirect', false, true, 'requests'), redirect };
}

const all = /.*/;
const status = (code: number, retryAfterSeconds?: number): FaultMode => ({
  kind: 'status',
  rules: [{ path: all, status: code, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) }],
});

const ROWS: readonly FaultRow[] = [
  row('refused', 'listener closed (connection refused)', { kind: 'refuse' }, 'refused', true, true, 'none'),
  row(
    'reset-at-accept',
    'connection reset at accept',
    { kind: 'reset-at-accept' },
    'network',
    true,
    true,
    'connections',
  ),
  row(
    'black-hole',
    'black hole (accepts, never answers)',
    { kind: 'black-hole' },
    'timeout',
    true,
    true,
    'connections',
  ),
  row(
    'slow',
    'slow: every chunk delayed 100 ms',
    { kind: 'slow', delayMs: 100 },
    'delivered',
    false,
    false,
    'connections',
  ),
  row(
    'reset-mid-body',
    'reset mid-body (after 16 bytes)',
    { kind: 'reset-mid-body', afterBytes: 16 },
    'network',
    true,
    true,
    'requests',
  ),
  row(
    'foreign-ca',
    'certificate from another CA',
    { kind: 'certificate', name: 'foreign-ca' },
    'tls',
    false,
    true,
    'connections',
  ),
  row(
    'expired-cert',
    "expired certificate from the cluster's CA",
    { kind: 'certificate', name: 'expired' },
    'tls',
    false,
    true,
    'connections',
  ),
  row(
    'wrong-name',
    "certificate from the cluster's CA for another name",
    { kind: 'certificate', name: 'wrong-name' },
    'tls',
    false,
    true,
    'connections',
  ),
  {
    ...row('dns', 'server name does not resolve (no proxy)', { kind: 'pass' }, 'dns', false, true, 'none'),
    server: 'https://cred-courier-fault.invalid:6443',
  },
  {
    ...row('http-401', 'HTTP 401 on every request', status(401), 'unauthorized', false, true, 'requests'),
    passes: 2,
  },
  row('http-403', 'HTTP 403 on every request', status(403), 'forbidden', false, false, 'requests'),
  row('http-404', 'HTTP 404 on every request', status(404), 'not-found', false, false, 'requests'),
  row('http-409', 'HTTP 409 on every request', status(409), 'conflict', false, false, 'requests'),
  row('http-429', 'HTTP 429, Retry-After: 1', status(429, 1), 'throttled', true, true, 'requests'),
  row(
    'http-429-long',
    'HTTP 429, Retry-After: 120 (past the deadline)',
    status(429, 120),
    'timeout',
    true,
    true,
    'requests',
  ),
  row('http-500', 'HTTP 500 on every request', status(500), 'server', true, true, 'requests'),
  row('http-503', 'HTTP 503, Retry-After: 1', status(503, 1), 'server', true, true, 'requests'),
  redirectRow(
    'redirect-get-http',
    'HTTP 307 on every request (a GET first), Location: a recording http:// listener',
    {
      method: 'GET',
      scheme: 'http',
      status: 307,
    },
  ),
  redirectRow(
    'redirect-get-https',
    'HTTP 308 on every request (a GET first), Location: a recording https:// listener the client trusts',
    { method: 'GET', scheme: 'https', status: 308 },
  ),
  redirectRow('redirect-patch-http', 'HTTP 307 on the Secret PATCH, Location: a recording http:// listener', {
    method: 'PATCH',
    scheme: 'http',
    status: 307,
  }),
  redirectRow(
    'redirect-patch-https',
    'HTTP 307 on the Secret PATCH, Location: a recording https:// listener the client trusts',
    { method: 'PATCH', scheme: 'https', status: 307 },
  ),
  redirectRow(
    'redirect-post-http',
    'HTTP 404 on the PATCH, 307 on the create (POST), Location: a recording http:// listener',
    { method: 'POST', scheme: 'http', status: 307 },
  ),
  redirectRow(
    'redirect-post-https',
    'HTTP 404 on the PATCH, 308 on the create (POST), Location: a recording https:// listener the client trusts',
    { method: 'POST', scheme: 'https', status: 308 },
  ),
];

function row(
  id: string,
  title: string,
  mode: FaultMode,
  expected: FaultRow['expected'],
  transient: boolean,
  stopsCluster: boolean,
  counted: FaultRow['counted'],
): FaultRow {
  return { id, title, mode, expected, transient, stopsCluster, passes: 1, counted };
}

/** What one fault did to one kind's run, for the assertions and the report. */
interface Cell {
  readonly outcome: string;
  readonly logClass: string;
  readonly cliClass: string;
  readonly metricClass: string;
  /** Attempts of the most-tried request: as the client sent them, and as the proxy saw them. */
  readonly clientAttempts: number;
  readonly proxyAttempts: string;
  readonly secretsUnchanged: string;
  readonly durationMs: number;
}

/** The failure classes of a cluster: the one that stopped it, or those of its Secrets. */
function classesOf(cluster: ClusterResult | undefined): string[] {
  if (!cluster) return ['missing'];
  if (cluster.failure) return [cluster.failure.failureClass];
  const classes = [...new Set(cluster.secrets.flatMap((s) => (s.failure ? [s.failure.failureClass] : [])))];
  return classes.length > 0 ? classes : cluster.secrets.some((s) => s.action) ? ['delivered'] : ['nothing'];
}

/** The failure class in the error line logged about the cluster (`cluster failed` or `secret not delivered`). */
function logClassOf(lines: readonly string[], cluster: string): string {
  const classes = lines
    .map((line) => JSON.parse(line) as { level: string; cluster?: string; failureClass?: string })
    .filter((line) => line.level === 'error' && line.cluster === cluster && line.failureClass)
    .map((line) => line.failureClass);
  return [...new Set(classes)].join(',') || 'none';
}

/** Requests per `METHOD path` as the client sent them, for one cluster. */
function clientAttempts(run: CapturedRun, cluster: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of run.requests.filter((q) => q.cluster === cluster)) {
    const key = `${r.method} ${r.path}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

const maxOf = (counts: Map<string, number>) => Math.max(0, ...counts.values());

/** The Location a redirect mode sends. */
function locationOf(mode: FaultMode): string {
  const rule = mode.kind === 'status' ? mode.rules.find((r) => r.location) : undefined;
  return rule?.location ?? '';
}

describe.skipIf(!rig)(`faults on the rig${rig ? '' : ` (skipped: ${skipReason})`}`, () => {
  useRigAws();
  const started = Date.now();
  const pki = new Pki();
  const leaks = new LeakScan();
  const bucket = uniqueName('fault-reports');
  const controlNamespace = uniqueName('cc-faults');
  const proxies = new Map<string, FaultProxy>();
  /** Where redirects point: one plain listener, and per rig cluster one serving a certificate of its CA. */
  let httpSink: RecordingListener;
  const httpsSinks = new Map<string, RecordingListener>();
  const sinks = () => [httpSink, ...httpsSinks.values()].filter(Boolean);
  const faulty = new Map<string, { registered: RegisteredCluster; rig: RigCluster }>();
  const healthy: { registered: RegisteredCluster; rig: RigCluster }[] = [];
  const cells = new Map<string, Partial<Record<KindId, Cell>>>();
  let awsRows: string[][] = [];
  const timings: string[] = [];
  let configFile = '';
  let config: ReturnType<typeof configOf>;

  function clusterYaml(
    r: RegisteredCluster,
    grants = grantYaml(S3_SECRET, ROLE),
    ecr = '[{ region: eu-west-1 }]',
  ) {
    return `
  - name: ${r.name}
    kubeconfigSecret: ${r.secretId}
    namespaces: { names: [${r.namespaces.join(', ')}] }
    ecr: { secretName: ${ECR_SECRET}, registries: ${ecr} }
    s3:${grants}`;
  }

  function grantYaml(secretName: string, role: string) {
    return `
      - secretName: ${secretName}
        roleArn: ${role}
        region: eu-west-1
        buckets: [{ bucket: ${bucket}, prefix: reports, access: read }]`;
  }

  const settingsYaml = () =>
    `settings:\n  controlNamespace: ${controlNamespace}\n  clusterDeadlineSeconds: ${DEADLINE_SECONDS}\n  requestTimeoutSeconds: ${REQUEST_TIMEOUT_SECONDS}\n`;

  async function register(
    rigCluster: RigCluster,
    namespaceCount: number,
    secretNames: readonly string[],
    server?: string,
  ): Promise<RegisteredCluster> {
    const namespaces = Array.from({ length: namespaceCount }, () => uniqueName('ns'));
    const registered = await registerCluster(rigCluster, {
      namespaces,
      secretNames,
      ...(server
        ? { kubeconfig: (text: string) => text.replace(/server: https:\/\/[^\s]+/, `server: ${server}`) }
        : {}),
    });
    await shareControlNamespace(rigCluster, controlNamespace, registered);
    await waitForDefaultServiceAccounts(rigCluster, namespaces);
    leaks.secret(registered.token);
    return registered;
  }

  beforeAll(async () => {
    const { a, b } = theRig().clusters;
    await new S3Client({ forcePathStyle: true }).send(
      new CreateBucketCommand({
        Bucket: bucket,
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
      }),
    );
    const foreignCert = pki.servingCert(pki.foreignCa());
    const certificates = new Map(
      [a, b].map((c) => {
        const ca = { certFile: c.caCertFile, keyFile: c.caKeyFile };
        return [
          c.name,
          {
            trusted: pki.servingCert(ca),
            expired: pki.servingCert(ca, { days: -1 }),
            'wrong-name': pki.servingCert(ca, { names: 'DNS:elsewhere.invalid' }),
            'foreign-ca': foreignCert,
          },
        ] as const;
      }),
    );
    httpSink = await new RecordingListener().start();
    for (const c of [a, b]) {
      const trusted = certificates.get(c.name)?.trusted;
      if (trusted) httpsSinks.set(c.name, await new RecordingListener(trusted).start());
    }
    const names = [ECR_SECRET, S3_SECRET];
    for (const [index, rigCluster] of [a, b, a].entries()) {
      healthy[index] = { registered: await register(rigCluster, 2, names), rig: rigCluster };
    }
    for (const [index, fault] of ROWS.entries()) {
      const rigCluster = index % 2 === 0 ? a : b;
      const proxy = await new FaultProxy({
        upstream: rigCluster.server,
        upstreamCa: rigCluster.caPem,
        certificates: certificates.get(rigCluster.name) ?? { trusted: foreignCert },
      }).start();
      proxies.set(fault.id, proxy);
      faulty.set(fault.id, {
        registered: await register(rigCluster, 1, names, proxy.url),
        rig: rigCluster,
      });
    }
    const yaml = `${settingsYaml()}clusters:${[
      ...healthy.map((h) => h.registered),
      ...[...faulty.values()].map((f) => f.registered),
    ]
      .map((r) => clusterYaml(r))
      .join('')}`;
    config = configOf(yaml);
    configFile = tempFile('clusters.yaml', yaml);

    // Every cluster delivered once through pass-through, so each fault meets existing Secrets.
    // Several registered clusters share one apiserver, and so one inventory: prune stays off.
    const first = await capturedRun(config, { prune: false });
    scan('pass-through run', first);
    const notDelivered = first.result.clusters
      .filter((c) => !c.ok)
      .map((c) => `${c.cluster}: ${classesOf(c)}`);
    expect(notDelivered).toEqual([]);
    // Faults that are not the proxy's: the stored kubeconfig now names another server.
    for (const fault of ROWS) {
      const registered = faulty.get(fault.id)?.registered;
      if (fault.server && registered) {
        await storeKubeconfig(
          registered.secretId,
          registered.kubeconfig.replace(/server: https:\/\/[^\s]+/, `server: ${fault.server}`),
        );
      }
    }
  });

  afterAll(async () => {
    for (const proxy of proxies.values()) await proxy.stop();
    for (const sink of sinks()) await sink.stop();
    pki.dispose();
    removeTempFiles();
    // Only a run of the whole file rewrites its sections (a filtered run would leave rows out).
    const complete = KINDS.every((kind) => ROWS.every((fault) => cells.get(fault.id)?.[kind]));
    if (!complete || awsRows.length === 0) return;
    const matrix: Table = {
      headers: [
        'fault (proxy mode)',
        'expected',
        'retried',
        ...KINDS.flatMap((kind) => [
          `${kind}: outcome (log / CLI / metric)`,
          `${kind}: attempts (client / proxy)`,
          `${kind}: Secrets unchanged`,
        ]),
      ],
      rows: ROWS.map((fault) => {
        const byKind = cells.get(fault.id) ?? {};
        return [
          fault.title,
          fault.expected,
          fault.expected === 'delivered'
            ? '—'
            : fault.transient
              ? `yes, ≤ ${MAX_ATTEMPTS}`
              : fault.passes > 1
                ? 'no (once per pass, 2 passes)'
                : 'no',
          ...KINDS.flatMap((kind) => {
            const c = byKind[kind];
            if (!c) return ['not run', '', ''];
            return [
              `${c.outcome} (${c.logClass} / ${c.cliClass} / ${c.metricClass}), ${(c.durationMs / 1000).toFixed(1)} s`,
              `${c.clientAttempts} / ${c.proxyAttempts}`,
              c.secretsUnchanged,
            ];
          }),
        ];
      }),
    };
    const leakResult = leaks.result();
    const generatedAt = new Date().toISOString();
    const durationMs = Date.now() - started;
    writeSections(
      {
        id: 'fault-matrix',
        title: 'Fault matrix',
        generatedAt,
        durationMs,
        intro: [
          `${healthy.length} healthy clusters (kubeconfig server: the apiserver itself) and ${ROWS.length} faulty ones (server: their own fault proxy), ` +
            `in one run per kind, with \`clusterDeadlineSeconds: ${DEADLINE_SECONDS}\` and \`requestTimeoutSeconds: ${REQUEST_TIMEOUT_SECONDS}\`. ` +
            'Every cluster was first delivered through pass-through; then each proxy was switched to its fault and the run repeated, ' +
            'in-process (log lines, metrics) and as `cred-courier run -o json` in a child process (CLI).',
          'Attempts: the most-tried request path of the faulty cluster, as the client sent it (`onKubeRequest`) and as the proxy saw it ' +
            '(HTTP requests where it terminates TLS, TCP connections where it does not, — where the listener is closed). ' +
            '"Secrets unchanged": the Secret of the faulty cluster has the resourceVersion and data it had before the fault run, after both the in-process and the CLI run.',
        ],
        tables: [matrix],
        notes: [
          `Healthy clusters: delivered in every run (${healthy.length} × 2 namespaces per kind).`,
          'Classes that stop a cluster (refused, network, timeout, tls, unauthorized, throttled, server, redirect) end it at its first request; 403, 404 and 409 fail each Secret alone and the rest of the cluster goes on.',
          `Redirects (any 3xx) are refused at the connection, before fetch could follow them: the listeners their Location pointed at (plain http, and https with a certificate the client trusts) saw ${sinkSummary()} over all runs. The message names the cluster, the status and the Location's origin, never its path or query.`,
          'A 401 reads the kubeconfig again and tries the cluster once more (a rotated token), hence two passes.',
          ...timings.map((t) => `Duration of the fault runs, ${t}.`),
        ],
        leaks: leakResult,
      },
      {
        id: 'aws-faults',
        title: 'AWS-side faults',
        generatedAt,
        durationMs,
        intro: [
          'Errors injected by an HTTP proxy in front of moto in the wire format of each protocol (JSON for ECR, XML for STS), ' +
            "matched by `X-Amz-Target` or the `Action` form field and the SigV4 region. The run's AWS clients point at the proxy; " +
            'the SDK does its own retries. Two clusters: one using only eu-west-1, one also using us-east-1 and a role that refuses.',
        ],
        tables: [
          {
            headers: ['fault', 'requests at the proxy', 'mint outcome', 'dependent Secrets', 'other Secrets'],
            rows: awsRows,
          },
        ],
        notes: [],
      },
    );
  });

  /** What reached the recording listeners, e.g. `0 connections, 0 requests`. */
  function sinkSummary(): string {
    const all = sinks();
    const connections = all.reduce((n, sink) => n + sink.connections, 0);
    const requests = all.reduce((n, sink) => n + sink.requests.length, 0);
    return `${connections} connections, ${requests} requests`;
  }

  /** The proxy mode of a fault; a redirect's Location is a listener of the scheme the row names. */
  function modeOf(fault: FaultRow): FaultMode {
    if (!fault.redirect) return fault.mode;
    const cluster = faulty.get(fault.id)?.rig.name ?? '';
    const sink = fault.redirect.scheme === 'http' ? httpSink : httpsSinks.get(cluster);
    if (!sink) throw new Error(`no recording listener for ${fault.id}`);
    return redirectMode(fault.redirect, sink.origin);
  }

  function scan(source: string, run: CapturedRun): void {
    leaks.text(`${source}: log`, run.lines);
    leaks.text(`${source}: result`, JSON.stringify(run.result, null, 2));
    leaks.redactor(run.redactor);
  }

  async function secretStates(kind: KindId): Promise<Map<string, SecretState>> {
    const states = new Map<string, SecretState>();
    for (const [id, { registered, rig: rigCluster }] of faulty) {
      states.set(id, await readSecretState(rigCluster, registered.namespaces[0] ?? '', SECRET_OF[kind]));
    }
    return states;
  }

  /** Credentials the CLI child minted and delivered: unknown to this process until read back. */
  async function scanDelivered(kind: KindId): Promise<void> {
    for (const { registered, rig: rigCluster } of healthy) {
      const state = await readSecretState(rigCluster, registered.namespaces[0] ?? '', SECRET_OF[kind]);
      leaks.secretData(
        state.data,
        kind === 'ecr'
          ? ['.dockerconfigjson']
          : ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'],
      );
    }
  }

  it.each(KINDS)(
    '%s: healthy clusters delivered, each faulty one fails with its class, retried only when transient, Secrets unchanged',
    async (kind) => {
      // Prepare
      const before = await secretStates(kind);
      for (const fault of ROWS) {
        const proxy = proxies.get(fault.id);
        await proxy?.setMode(modeOf(fault));
        proxy?.resetCounts();
      }

      // Act
      const run = await capturedRun(config, { kinds: [kind], prune: false });
      const proxySeen = new Map(
        ROWS.map((fault) => {
          const proxy = proxies.get(fault.id);
          const counts = proxy?.attemptsByPath() ?? new Map();
          const times = (proxy?.requests ?? []).map((r) => r.at);
          return [
            fault.id,
            { connections: proxy?.connections ?? 0, maxRequests: maxOf(counts), counts, times },
          ] as const;
        }),
      );
      const afterRun = await secretStates(kind);
      for (const proxy of proxies.values()) proxy.resetCounts();
      const cli = await runCli(['run', '-c', configFile, '--kinds', kind, '--no-prune', '-o', 'json'], {
        aws: theRig().aws,
      });
      const afterCli = await secretStates(kind);
      scan(`${kind} fault run`, run);
      leaks.text(`${kind} CLI stdout`, cli.stdout);
      leaks.text(`${kind} CLI stderr`, cli.stderr);
      await scanDelivered(kind);
      const metrics = failedMetricsOf(run.result);

      // Assess
      const byName = new Map(run.result.clusters.map((c) => [c.cluster, c]));
      const report = JSON.parse(cli.stdout) as RunResult;
      const cliByName = new Map(report.clusters.map((c) => [c.cluster, c]));
      timings.push(
        `${kind}: in-process run ${(run.result.durationMs / 1000).toFixed(1)} s; CLI run ${(report.durationMs / 1000).toFixed(1)} s, ` +
          `its process ${(cli.durationMs / 1000).toFixed(1)} s from start to exit`,
      );
      // Every healthy cluster delivered, in-process and by the CLI.
      for (const { registered } of healthy) {
        for (const result of [byName.get(registered.name), cliByName.get(registered.name)]) {
          expect(result?.ok, registered.name).toBe(true);
          expect(result?.secrets.filter((s) => s.action)).toHaveLength(2);
        }
      }
      expect(cli.code).toBe(1);
      expect(cli.stderr).not.toMatch(STACK_FRAME);
      // The CLI exits soon after its run: connections its abandoned requests left (a black hole's) are closed.
      expect(cli.durationMs - report.durationMs).toBeLessThan(10_000);
      // The run ends within the cluster deadline (clusters run side by side), plus minting before it.
      expect(run.result.durationMs).toBeLessThan((DEADLINE_SECONDS + 2) * 1000);

      // Nothing followed a redirect: no connection, no request reached any listener a Location named.
      expect(
        sinks().map((sink) => ({
          origin: sink.origin,
          connections: sink.connections,
          requests: sink.requests,
        })),
      ).toEqual(sinks().map((sink) => ({ origin: sink.origin, connections: 0, requests: [] })));

      for (const fault of ROWS) {
        const { registered } = faulty.get(fault.id) ?? {};
        const name = registered?.name ?? '';
        const result = byName.get(name);
        const seen = proxySeen.get(fault.id);
        const attempts = clientAttempts(run, name);
        const classes = classesOf(result);
        const cliClasses = classesOf(cliByName.get(name));
        const metricClasses = Object.keys(metrics.get(name) ?? {});
        const unchanged =
          afterRun.get(fault.id)?.resourceVersion === before.get(fault.id)?.resourceVersion &&
          afterCli.get(fault.id)?.resourceVersion === before.get(fault.id)?.resourceVersion &&
          JSON.stringify(afterCli.get(fault.id)?.data) === JSON.stringify(before.get(fault.id)?.data);
        const proxyAttempts =
          fault.counted === 'requests'
            ? `${seen?.maxRequests ?? 0} requests`
            : fault.counted === 'connections'
              ? `${seen?.connections ?? 0} connections`
              : '—';
        cells.set(fault.id, {
          ...cells.get(fault.id),
          [kind]: {
            outcome: fault.expected === 'delivered' ? classes.join(',') : `failed: ${classes.join(',')}`,
            logClass: logClassOf(run.lines, name),
            cliClass: cliClasses.join(','),
            metricClass: metricClasses.join(',') || 'none',
            clientAttempts: maxOf(attempts),
            proxyAttempts,
            secretsUnchanged: fault.expected === 'delivered' ? 'n/a (updated)' : unchanged ? 'yes' : 'NO',
            durationMs: result?.durationMs ?? 0,
          },
        });

        const what = `${kind}, ${fault.id} (${name})`;
        expect(result?.durationMs, what).toBeLessThanOrEqual(DEADLINE_SECONDS * 1000 + 1_000);
        if (fault.expected === 'delivered') {
          expect(classes, what).toEqual(['delivered']);
          expect(cliClasses, what).toEqual(['delivered']);
          expect(metricClasses, what).toEqual([]);
          expect(afterRun.get(fault.id)?.resourceVersion, what).not.toBe(
            before.get(fault.id)?.resourceVersion,
          );
          expect(maxOf(attempts), what).toBe(1);
          continue;
        }
        expect(classes, what).toEqual([fault.expected]);
        expect(result?.failure === undefined, `${what}: stops the cluster`).toBe(!fault.stopsCluster);
        expect(logClassOf(run.lines, name), what).toBe(fault.expected);
        expect(cliClasses, what).toEqual([fault.expected]);
        expect(metricClasses, what).toEqual([fault.expected]);
        expect(unchanged, `${what}: Secrets unchanged`).toBe(true);
        // The CLI's progress line on stderr names the class too.
        expect(cli.stderr, what).toContain(
          fault.stopsCluster
            ? `${name}: ${fault.expected}:`
            : `${kind} ${registered?.namespaces[0]}/${SECRET_OF[kind]}: ${fault.expected}:`,
        );
        if (fault.transient) {
          // Retried, bounded: at least one retry, never more than the budget, per request path.
          expect(maxOf(attempts), what).toBeGreaterThanOrEqual(2);
          expect(maxOf(attempts), what).toBeLessThanOrEqual(MAX_ATTEMPTS);
          if (fault.counted === 'requests') expect(seen?.maxRequests, what).toBeLessThanOrEqual(MAX_ATTEMPTS);
          if (fault.counted === 'connections')
            expect(seen?.connections, what).toBeLessThanOrEqual(MAX_ATTEMPTS);
        } else {
          // Exactly one attempt per request path (per pass over the cluster).
          expect(
            [...attempts.values()].every((n) => n === fault.passes),
            `${what}: ${[...attempts]}`,
          ).toBe(true);
          if (fault.counted === 'requests')
            expect(
              [...(seen?.counts.values() ?? [])].every((n) => n === fault.passes),
              what,
            ).toBe(true);
          if (fault.counted === 'connections') expect(seen?.connections, what).toBe(fault.passes);
        }
        if (fault.redirect) {
          // Names the cluster, the status and where the redirect pointed (origin only), in-process and in the CLI.
          const origin = new URL(locationOf(modeOf(fault))).origin;
          for (const message of [result?.failure?.message, cliByName.get(name)?.failure?.message]) {
            expect(message, what).toContain(
              `cluster ${name}: the apiserver answered HTTP ${fault.redirect.status}, a redirect to ${origin};`,
            );
            expect(message, what).not.toContain(REDIRECT_PATH.split('?')[0]);
            expect(message, what).not.toContain('from=cred-courier');
          }
        }
      }
      // Retry-After honoured: the attempts of the clusters told to wait a second are at least that far apart.
      for (const id of ['http-429', 'http-503']) {
        const times = proxySeen.get(id)?.times ?? [];
        expect(times, id).toHaveLength(MAX_ATTEMPTS);
        for (let i = 1; i < times.length; i++) {
          expect((times[i] ?? 0) - (times[i - 1] ?? 0), id).toBeGreaterThanOrEqual(950);
        }
      }
    },
  );

  it('AWS faults: throttling retried by the SDK, persistent throttling and a refused role fail the mint, and the Secrets depending on it stay as they were', async () => {
    // Prepare
    const { a, b } = theRig().clusters;
    const awsProxy = await new AwsFaultProxy(theRig().aws.endpoint).start();
    const aws = awsClientsVia(awsProxy.url);
    const names = [ECR_SECRET, S3_SECRET, 'archive'];
    const oneRegion = await register(a, 1, names);
    const twoRegions = await register(b, 1, names);
    const yaml = `${settingsYaml()}clusters:${clusterYaml(oneRegion)}${clusterYaml(
      twoRegions,
      grantYaml(S3_SECRET, ROLE) + grantYaml('archive', DENIED_ROLE),
      '[{ region: eu-west-1 }, { accountId: "444455556666", region: us-east-1 }]',
    )}`;
    const awsConfig = configOf(yaml);
    const first = await capturedRun(awsConfig, { aws, prune: false });
    scan('AWS pass-through run', first);
    expect(first.result.ok).toBe(true);
    const state = async (r: RegisteredCluster, c: RigCluster, secret: string) =>
      readSecretState(c, r.namespaces[0] ?? '', secret);
    const before = {
      oneEcr: await state(oneRegion, a, ECR_SECRET),
      twoEcr: await state(twoRegions, b, ECR_SECRET),
      twoArchive: await state(twoRegions, b, 'archive'),
      twoReports: await state(twoRegions, b, S3_SECRET),
    };
    const rules = [
      // Throttled twice, then answered: the SDK's retries absorb it.
      { operation: 'GetAuthorizationToken', fault: 'throttle', region: 'eu-west-1', times: 2 },
      // Throttled on every attempt: the second region's mint fails mid-run.
      { operation: 'GetAuthorizationToken', fault: 'throttle', region: 'us-east-1' },
      { operation: 'AssumeRole', fault: 'access-denied', bodyIncludes: DENIED_ROLE },
    ] as const;

    // Act
    awsProxy.setRules(rules);
    awsProxy.resetCounts();
    const ecrRun = await capturedRun(awsConfig, { aws, kinds: ['ecr'], prune: false });
    const ecrSeen = {
      eu: awsProxy.count('GetAuthorizationToken', 'eu-west-1'),
      us: awsProxy.count('GetAuthorizationToken', 'us-east-1'),
    };
    awsProxy.setRules(rules);
    awsProxy.resetCounts();
    const s3Run = await capturedRun(awsConfig, { aws, kinds: ['s3'], prune: false });
    const deniedSeen = awsProxy.requests.filter((r) => r.operation === 'AssumeRole' && r.fault).length;
    const assumeSeen = awsProxy.count('AssumeRole');
    const after = {
      oneEcr: await state(oneRegion, a, ECR_SECRET),
      twoEcr: await state(twoRegions, b, ECR_SECRET),
      twoArchive: await state(twoRegions, b, 'archive'),
      twoReports: await state(twoRegions, b, S3_SECRET),
    };
    awsProxy.setRules(rules);
    const cli = await runCli(['run', '-c', tempFile('aws.yaml', yaml), '--no-prune', '-o', 'json'], {
      aws: theRig().aws,
      endpoint: awsProxy.url,
    });
    const afterCli = {
      twoEcr: await state(twoRegions, b, ECR_SECRET),
      twoArchive: await state(twoRegions, b, 'archive'),
    };
    await awsProxy.stop();
    scan('AWS ecr run', ecrRun);
    scan('AWS s3 run', s3Run);
    leaks.text('AWS CLI stdout', cli.stdout);
    leaks.text('AWS CLI stderr', cli.stderr);
    const metrics = failedMetricsOf(ecrRun.result);

    // Assess
    const secretOf = (run: CapturedRun, cluster: string, secret: string) =>
      run.result.clusters.find((c) => c.cluster === cluster)?.secrets.find((s) => s.secretName === secret);
    const euMint = ecrRun.result.mints.find((m) => m.scope === 'eu-west-1');
    const usMint = ecrRun.result.mints.find((m) => m.scope === 'us-east-1');
    expect(ecrSeen.eu).toBe(3);
    expect(euMint?.failure).toBeUndefined();
    expect(ecrSeen.us).toBe(3);
    expect(usMint?.failure?.failureClass).toBe('mint');
    expect(usMint?.failure?.message).toMatch(/ThrottlingException/);
    expect(ecrRun.result.durationMs).toBeLessThan(DEADLINE_SECONDS * 1000);
    expect(secretOf(ecrRun, oneRegion.name, ECR_SECRET)?.action).toBe('updated');
    expect(after.oneEcr.resourceVersion).not.toBe(before.oneEcr.resourceVersion);
    expect(secretOf(ecrRun, twoRegions.name, ECR_SECRET)?.failure?.failureClass).toBe('mint');
    expect(after.twoEcr.resourceVersion).toBe(before.twoEcr.resourceVersion);
    expect(after.twoEcr.data).toEqual(before.twoEcr.data);
    expect(logClassOf(ecrRun.lines, twoRegions.name)).toBe('mint');
    expect(metrics.get(twoRegions.name)).toEqual({ mint: 1 });
    // AccessDenied is not retried: one request, one failed grant, its Secret as it was.
    expect(deniedSeen).toBe(1);
    expect(assumeSeen).toBe(2);
    expect(secretOf(s3Run, twoRegions.name, 'archive')?.failure?.failureClass).toBe('mint');
    expect(s3Run.result.mints.find((m) => m.failure)?.failure?.message).toMatch(/AccessDenied/);
    expect(secretOf(s3Run, twoRegions.name, S3_SECRET)?.action).toBe('updated');
    expect(after.twoArchive.resourceVersion).toBe(before.twoArchive.resourceVersion);
    expect(after.twoReports.resourceVersion).not.toBe(before.twoReports.resourceVersion);
    // The CLI meets the same faults through AWS_ENDPOINT_URL.
    const report = JSON.parse(cli.stdout) as RunResult;
    expect(cli.code).toBe(1);
    expect(cli.stderr).not.toMatch(STACK_FRAME);
    expect(
      report.mints
        .filter((m) => m.failure)
        .map((m) => m.kind)
        .sort(),
    ).toEqual(['ecr', 's3']);
    expect(
      report.clusters
        .find((c) => c.cluster === twoRegions.name)
        ?.secrets.filter((s) => s.failure)
        .map((s) => `${s.secretName}:${s.failure?.failureClass}`)
        .sort(),
    ).toEqual(['archive:mint', `${ECR_SECRET}:mint`]);
    expect(afterCli.twoEcr.resourceVersion).toBe(before.twoEcr.resourceVersion);
    expect(afterCli.twoArchive.resourceVersion).toBe(before.twoArchive.resourceVersion);

    awsRows = [
      [
        'ThrottlingException on GetAuthorizationToken (eu-west-1), twice',
        `${ecrSeen.eu} GetAuthorizationToken`,
        euMint?.failure ? `failed: ${euMint.failure.failureClass}` : 'minted (SDK retries)',
        `delivered (${secretOf(ecrRun, oneRegion.name, ECR_SECRET)?.action})`,
        '—',
      ],
      [
        'ThrottlingException on GetAuthorizationToken (us-east-1), always',
        `${ecrSeen.us} GetAuthorizationToken`,
        `failed: ${usMint?.failure?.failureClass} (log: ${logClassOf(ecrRun.lines, twoRegions.name)}, CLI: ${
          report.mints.find((m) => m.kind === 'ecr' && m.failure)?.failure?.failureClass
        }, metric: ${Object.keys(metrics.get(twoRegions.name) ?? {}).join(',')})`,
        after.twoEcr.resourceVersion === before.twoEcr.resourceVersion
          ? 'unchanged (resourceVersion and data)'
          : 'CHANGED',
        `the one-region cluster: ${secretOf(ecrRun, oneRegion.name, ECR_SECRET)?.action}`,
      ],
      [
        'AccessDenied on AssumeRole for one grant',
        `${deniedSeen} refused of ${assumeSeen} AssumeRole`,
        `failed: ${secretOf(s3Run, twoRegions.name, 'archive')?.failure?.failureClass}`,
        after.twoArchive.resourceVersion === before.twoArchive.resourceVersion ? 'unchanged' : 'CHANGED',
        `other grants: ${secretOf(s3Run, twoRegions.name, S3_SECRET)?.action}`,
      ],
    ];
  });

  it('an S3 error quoting the new session credentials (the probe): the mint fails and no fragment of them reaches a log line, message or report', async () => {
    // Prepare
    const { a } = theRig().clusters;
    const awsProxy = await new AwsFaultProxy(theRig().aws.endpoint).start();
    const aws = awsClientsVia(awsProxy.url);
    const probed = await register(a, 1, [ECR_SECRET, S3_SECRET]);
    const probeConfig = configOf(`${settingsYaml()}clusters:${clusterYaml(probed)}`);
    awsProxy.setRules([{ operation: `GET /${bucket}`, fault: 'quote-credentials' }]);

    // Act
    const run = await capturedRun(probeConfig, { aws, kinds: ['s3'], prune: false });
    await awsProxy.stop();
    const quoted = awsProxy.requests.flatMap((r) => r.quoted ?? []);
    scan('S3 probe quoting credentials', run);
    leaks.secret(...quoted);

    // Assess
    const mint = run.result.mints.find((m) => m.kind === 's3');
    expect(awsProxy.requests.map((r) => `${r.operation}${r.fault ? ` (${r.fault})` : ''}`)).toContain(
      `GET /${bucket} (quote-credentials)`,
    );
    expect(mint?.failure?.failureClass).toBe('mint');
    expect(mint?.failure?.message).toMatch(/InvalidToken: The provided token is malformed/);
    expect(quoted).toHaveLength(2);
    const captured = [...run.lines, JSON.stringify(run.result)].join('\n');
    const fragments = quoted.flatMap((value) =>
      Array.from({ length: value.length - 7 }, (_, i) => value.slice(i, i + 8)).filter((f) =>
        captured.includes(f),
      ),
    );
    expect(fragments).toEqual([]);
  });

  it('no secret value in any captured line, message, report or CLI output', () => {
    // Assess (the scan covers what the tests above captured)
    const result = leaks.result();
    expect(result.values).toBeGreaterThan(20);
    expect(result.lines).toBeGreaterThan(100);
    expect(result.hits).toEqual([]);
  });
});
