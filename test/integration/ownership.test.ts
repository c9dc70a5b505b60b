/**
 * Ownership safety on the rig: Secrets of the same name that cred-courier does not own are never
 * changed (nor are the ServiceAccount entries that refer to them, even when prune runs), a
 * ServiceAccount rewritten concurrently by another controller never loses that controller's entries,
 * and a namespace deleted in the middle of a run ends the run cleanly with its failure classified.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { KindId } from '../../src/kinds/kind.ts';
import {
  pullSecretNames,
  readSecretState,
  type SecretState,
  waitForDefaultServiceAccounts,
} from '../faults/cluster.ts';
import { LeakScan } from '../faults/leaks.ts';
import { Pki } from '../faults/pki.ts';
import { FaultProxy } from '../faults/proxy.ts';
import { type Table, writeSections } from '../faults/report.ts';
import { ensureObject } from '../rig/accounts.ts';
import { kubeRequest } from '../rig/kube-http.ts';
import type { RigCluster } from '../rig/rig.ts';
import {
  type CapturedRun,
  capturedRun,
  configOf,
  type RegisteredCluster,
  registerCluster,
} from './fixtures.ts';
import { rig, skipReason, theRig, uniqueName, useRigAws } from './rig-context.ts';

const ECR_SECRET = 'ecr-pull';
const S3_SECRET = 'reports';
const ROLE = 'arn:aws:iam::123456789012:role/cred-courier-s3';
const BUCKET = uniqueName('owned-reports');

interface ForeignCase {
  readonly id: string;
  readonly kind: KindId;
  readonly secret: Record<string, unknown>;
}

const b64 = (text: string) => Buffer.from(text).toString('base64');
const foreignDockerConfig = b64(
  JSON.stringify({ auths: { 'registry.example.com': { auth: b64('robot:not-ours-0000') } } }),
);

const LABELLED_OURS = "ecr: cred-courier's label, another type";

/** Secrets of our names made by someone else, one per namespace, each a way cred-courier must refuse. */
const FOREIGN: readonly ForeignCase[] = [
  {
    id: 'ecr: Opaque with other keys',
    kind: 'ecr',
    secret: { type: 'Opaque', data: { keep: b64('me'), other: b64('x') } },
  },
  {
    id: 'ecr: dockerconfigjson, unlabelled',
    kind: 'ecr',
    secret: { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': foreignDockerConfig } },
  },
  {
    id: 'ecr: dockerconfigjson, managed-by another tool',
    kind: 'ecr',
    secret: {
      type: 'kubernetes.io/dockerconfigjson',
      labels: { 'app.kubernetes.io/managed-by': 'Helm' },
      data: { '.dockerconfigjson': foreignDockerConfig },
    },
  },
  {
    id: LABELLED_OURS,
    kind: 'ecr',
    secret: {
      type: 'Opaque',
      labels: { 'app.kubernetes.io/managed-by': 'cred-courier' },
      data: { keep: b64('me') },
    },
  },
  {
    id: 's3: Opaque with other keys, unlabelled',
    kind: 's3',
    secret: {
      type: 'Opaque',
      data: { AWS_ACCESS_KEY_ID: b64(`foreign-key-${Date.now()}`), keep: b64('me') },
    },
  },
  {
    id: 's3: dockerconfigjson',
    kind: 's3',
    secret: { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': foreignDockerConfig } },
  },
];

// These clusters have no AWS grants; the name only completes the per-kind table.
const SECRET_OF: Record<KindId, string> = { ecr: ECR_SECRET, s3: S3_SECRET, aws: 'aws-session' };

function clusterYaml(r: RegisteredCluster, namespaces: readonly string[], serviceAccounts = '[default]') {
  return `settings:\n  controlNamespace: ${r.controlNamespace}\n  requestTimeoutSeconds: 20\n  clusterDeadlineSeconds: 120\nclusters:
  - name: ${r.name}
    kubeconfigSecret: ${r.secretId}
    namespaces: { names: [${namespaces.join(', ')}] }
    ecr: { secretName: ${ECR_SECRET}, registries: [{ region: eu-west-1 }], serviceAccounts: ${serviceAccounts} }
    s3:
      - secretName: ${S3_SECRET}
        roleArn: ${ROLE}
        region: eu-west-1
        buckets: [{ bucket: ${BUCKET}, access: read }]
`;
}

const sameState = (a: SecretState | undefined, b: SecretState | undefined) =>
  a?.resourceVersion === b?.resourceVersion &&
  a?.type === b?.type &&
  JSON.stringify(a?.data) === JSON.stringify(b?.data) &&
  JSON.stringify(a?.labels) === JSON.stringify(b?.labels);

describe.skipIf(!rig)(`ownership safety on the rig${rig ? '' : ` (skipped: ${skipReason})`}`, () => {
  useRigAws();
  const started = Date.now();
  const leaks = new LeakScan();
  const tables: Table[] = [];
  const notes: string[] = [];

  function scan(source: string, run: CapturedRun): void {
    leaks.text(`${source}: log`, run.lines);
    leaks.text(`${source}: result`, JSON.stringify(run.result, null, 2));
    leaks.redactor(run.redactor);
  }

  async function createBucket(): Promise<void> {
    const { CreateBucketCommand, S3Client } = await import('@aws-sdk/client-s3');
    await new S3Client({ forcePathStyle: true })
      .send(
        new CreateBucketCommand({
          Bucket: BUCKET,
          CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
        }),
      )
      .catch((error: { name?: string }) => {
        if (error.name !== 'BucketAlreadyOwnedByYou') throw error;
      });
  }

  afterAll(() => {
    // Only a run of the whole file rewrites its section (a filtered run would leave tables out).
    if (tables.length < 3) return;
    const result = leaks.result();
    writeSections({
      id: 'ownership',
      title: 'Ownership safety',
      generatedAt: new Date().toISOString(),
      durationMs: Date.now() - started,
      intro: [
        'A Secret of the same name that cred-courier did not create is never changed: the update is a JSON Patch that first ' +
          'tests the managed-by label and the type, so the apiserver refuses it atomically. Compared: resourceVersion, type, ' +
          'labels and data before and after.',
      ],
      tables,
      notes,
      leaks: result,
    });
  });

  it('leaves every Secret of the same name it does not own untouched, reports conflict, and never points a ServiceAccount at it, even when pruning', async () => {
    // Prepare
    const { a } = theRig().clusters;
    await createBucket();
    const namespaces = FOREIGN.map(() => uniqueName('foreign'));
    const clean = uniqueName('clean');
    const registered = await registerCluster(a, {
      namespaces: [...namespaces, clean],
      secretNames: [ECR_SECRET, S3_SECRET],
    });
    leaks.secret(registered.token);
    await waitForDefaultServiceAccounts(a, [...namespaces, clean]);
    const before = new Map<string, SecretState>();
    for (const [index, foreign] of FOREIGN.entries()) {
      const namespace = namespaces[index] ?? '';
      const { labels, ...rest } = foreign.secret as { labels?: Record<string, string> };
      await ensureObject(a, `/api/v1/namespaces/${namespace}/secrets`, {
        metadata: { name: SECRET_OF[foreign.kind], ...(labels ? { labels } : {}) },
        ...rest,
      });
      // The other owner's workloads pull with their own Secret of that name.
      if (foreign.kind === 'ecr') await setPullSecrets(a, namespace, 'default', [ECR_SECRET]);
      before.set(foreign.id, await readSecretState(a, namespace, SECRET_OF[foreign.kind]));
    }
    const config = configOf(clusterYaml(registered, [...namespaces, clean]));
    const withoutForeign = configOf(clusterYaml(registered, [clean]));

    // Act: deliver into every namespace, then drop the foreign ones from the selection (prune runs).
    const run = await capturedRun(config);
    const afterRun = new Map<string, SecretState>();
    for (const [index, foreign] of FOREIGN.entries())
      afterRun.set(foreign.id, await readSecretState(a, namespaces[index] ?? '', SECRET_OF[foreign.kind]));
    const pruneRun = await capturedRun(withoutForeign);
    scan('foreign Secrets run', run);
    scan('foreign Secrets prune run', pruneRun);

    // Assess
    const outcomes = run.result.clusters[0]?.secrets ?? [];
    const rows: string[][] = [];
    for (const [index, foreign] of FOREIGN.entries()) {
      const namespace = namespaces[index] ?? '';
      const secretName = SECRET_OF[foreign.kind];
      const outcome = outcomes.find((s) => s.namespace === namespace && s.kind === foreign.kind);
      const afterPrune = await readSecretState(a, namespace, secretName);
      const accounts = await pullSecretNames(a, namespace, 'default');
      const pruned = pruneRun.result.clusters[0]?.pruned.filter(
        (p) => p.namespace === namespace && p.kind === foreign.kind,
      );
      const labelledOurs = foreign.id === LABELLED_OURS;
      const deleted = labelledOurs && afterPrune.status === 404;
      rows.push([
        foreign.id,
        outcome?.failure?.failureClass ?? `delivered (${outcome?.action})`,
        sameState(before.get(foreign.id), afterRun.get(foreign.id)) ? 'yes' : 'NO',
        sameState(before.get(foreign.id), afterPrune)
          ? 'yes'
          : deleted
            ? 'deleted (it carries our label)'
            : 'NO',
        foreign.kind !== 'ecr'
          ? '—'
          : accounts.includes(ECR_SECRET)
            ? 'kept'
            : deleted
              ? 'removed with it'
              : 'REMOVED',
        pruned?.length ? pruned.map((p) => p.failure?.failureClass ?? 'pruned').join(',') : 'left alone',
      ]);
      expect(outcome?.failure?.failureClass, foreign.id).toBe('conflict');
      expect(outcome?.failure?.message, foreign.id).toMatch(/not cred-courier's.*left untouched/);
      expect(sameState(before.get(foreign.id), afterRun.get(foreign.id)), foreign.id).toBe(true);
      // The foreign Secret is never touched by prune either, nor the other owner's reference to it. That
      // includes the one carrying only cred-courier's managed-by label: without this cluster's and this
      // installation's labels it is not proven cred-courier's (it was deleted before installations).
      expect.soft(sameState(before.get(foreign.id), afterPrune), `${foreign.id} after prune`).toBe(true);
      expect.soft(pruned, foreign.id).toEqual([]);
      if (foreign.kind === 'ecr')
        expect.soft(accounts, `${foreign.id}: ServiceAccount`).toEqual([ECR_SECRET]);
    }
    const cleanOutcomes = outcomes.filter((s) => s.namespace === clean);
    expect(cleanOutcomes.map((s) => `${s.kind}:${s.action}`).sort()).toEqual(['ecr:created', 's3:created']);
    expect(await pullSecretNames(a, clean, 'default')).toEqual([ECR_SECRET]);
    expect(pruneRun.result.ok).toBe(true);
    notes.push(
      `Foreign Secrets: the one carrying cred-courier's managed-by label but another type is refused on delivery (the patch tests the type too) and left alone by prune, which deletes only what carries this cluster's and this installation's labels too.`,
    );
    tables.push({
      caption: `**Foreign Secrets** (${FOREIGN.length} cases, one namespace each, plus a clean namespace that was delivered):`,
      headers: [
        'Secret found under our name',
        'reported',
        'unchanged after delivery',
        'unchanged after prune',
        "other owner's ServiceAccount entry",
        'prune',
      ],
      rows,
    });
  });

  it('keeps every entry another controller writes into imagePullSecrets while runs happen, and has its own at the end', async () => {
    // Prepare
    const { b } = theRig().clusters;
    await createBucket();
    const namespaces = [uniqueName('sa'), uniqueName('sa'), uniqueName('sa')];
    const registered = await registerCluster(b, {
      namespaces,
      secretNames: [ECR_SECRET, S3_SECRET],
      serviceAccounts: ['default', 'builder'],
    });
    leaks.secret(registered.token);
    await waitForDefaultServiceAccounts(b, namespaces);
    for (const namespace of namespaces)
      await ensureObject(b, `/api/v1/namespaces/${namespace}/serviceaccounts`, {
        metadata: { name: 'builder' },
      });
    const config = configOf(clusterYaml(registered, namespaces, '[default, builder]'));
    const controller = startController(b, namespaces, ['default', 'builder']);

    // Act: runs while the controller rewrites the lists (it also strips our entry at times, as a GitOps
    // tool reverting the field would); then runs while it only adds its own entries.
    const runs: CapturedRun[] = [];
    try {
      for (let i = 0; i < 4; i++) runs.push(await capturedRun(config, { kinds: ['ecr'] }));
      controller.stopStripping();
      for (let i = 0; i < 2; i++) runs.push(await capturedRun(config, { kinds: ['ecr'] }));
    } finally {
      await controller.stop();
    }
    for (const [i, run] of runs.entries()) scan(`controller run ${i + 1}`, run);

    // Assess
    const written = controller.written();
    const final = new Map<string, string[]>();
    for (const namespace of namespaces)
      for (const account of ['default', 'builder'])
        final.set(`${namespace}/${account}`, await pullSecretNames(b, namespace, account));
    const lost = [...written].filter(([key, names]) => names.some((n) => !final.get(key)?.includes(n)));
    const ours = [...final.values()].filter((names) => names.includes(ECR_SECRET)).length;
    const outcomes = runs.flatMap((run) =>
      (run.result.clusters[0]?.secrets ?? []).flatMap((s) => Object.values(s.serviceAccounts ?? {})),
    );
    const count = (value: string) => outcomes.filter((o) => o === value).length;
    expect(controller.writes()).toBeGreaterThan(20);
    expect(lost).toEqual([]);
    expect(ours).toBe(namespaces.length * 2);
    expect(runs.at(-1)?.result.ok).toBe(true);
    // Failures, if any, are conflicts (five read-then-write attempts all raced), never anything else.
    const failureClasses = new Set(
      runs.flatMap((run) =>
        (run.result.clusters[0]?.secrets ?? []).flatMap((s) => (s.failure ? [s.failure.failureClass] : [])),
      ),
    );
    expect([...failureClasses].filter((c) => c !== 'conflict')).toEqual([]);
    tables.push({
      caption: '**A ServiceAccount rewritten concurrently** (3 namespaces × 2 ServiceAccounts, 6 runs):',
      headers: [
        'controller writes',
        'its entries lost',
        'ours at the end',
        'reference outcomes over the runs',
      ],
      rows: [
        [
          `${controller.writes()} (${controller.conflicts()} retried on 409)`,
          String(lost.length),
          `${ours} of ${namespaces.length * 2}`,
          `added ${count('added')}, present ${count('present')}, failed ${count('failed')}`,
        ],
      ],
    });
  });

  it('a namespace deleted in the middle of a run: the run ends cleanly, that namespace fails with its class, the others are delivered', async () => {
    // Prepare
    const { a } = theRig().clusters;
    await createBucket();
    const pki = new Pki();
    const namespaces = [uniqueName('stay'), uniqueName('gone'), uniqueName('stay')];
    const doomed = namespaces[1] ?? '';
    const proxy = await new FaultProxy({
      upstream: a.server,
      upstreamCa: a.caPem,
      certificates: { trusted: pki.servingCert({ certFile: a.caCertFile, keyFile: a.caKeyFile }) },
    }).start();
    const registered = await registerCluster(a, {
      namespaces,
      secretNames: [ECR_SECRET, S3_SECRET],
      kubeconfig: (text) => text.replace(/server: https:\/\/[^\s]+/, `server: ${proxy.url}`),
    });
    leaks.secret(registered.token);
    await waitForDefaultServiceAccounts(a, namespaces);
    const config = configOf(clusterYaml(registered, namespaces));
    const first = await capturedRun(config);
    expect(first.result.ok).toBe(true);
    let deletedAt = 0;
    // The first request of the run that touches the doomed namespace waits while it is deleted for real.
    await proxy.setMode({
      kind: 'status',
      rules: [],
      holds: [
        {
          path: new RegExp(`^/api/v1/namespaces/${doomed}/`),
          once: true,
          before: async () => {
            await kubeRequest(a, a.adminToken, 'DELETE', `/api/v1/namespaces/${doomed}`);
            const until = Date.now() + 60_000;
            while (Date.now() < until) {
              const status = (await kubeRequest(a, a.adminToken, 'GET', `/api/v1/namespaces/${doomed}`))
                .status;
              if (status === 404) break;
              await new Promise((r) => setTimeout(r, 250));
            }
            deletedAt = Date.now();
          },
        },
      ],
    });

    // Act
    const run = await capturedRun(config);
    await proxy.stop();
    pki.dispose();
    scan('namespace deletion run', first);
    scan('namespace deletion run', run);

    // Assess
    const cluster = run.result.clusters[0];
    expect(deletedAt).toBeGreaterThan(0);
    expect(cluster?.failure).toBeUndefined();
    const byNamespace = (namespace: string) =>
      (cluster?.secrets ?? []).filter((s) => s.namespace === namespace);
    for (const namespace of [namespaces[0] ?? '', namespaces[2] ?? '']) {
      expect(
        byNamespace(namespace)
          .map((s) => `${s.kind}:${s.action}:${s.failure?.failureClass ?? ''}`)
          .sort(),
      ).toEqual(['ecr:updated:', 's3:updated:']);
    }
    const failed = byNamespace(doomed);
    expect(failed, JSON.stringify(cluster)).toHaveLength(2);
    for (const outcome of failed) {
      // With least privilege, the identity's Role went with the namespace: the apiserver says 403.
      expect(JSON.stringify(outcome)).toMatch(/"failureClass":"(not-found|forbidden)"/);
      expect(outcome.failure?.message).toContain(doomed);
    }
    expect(
      run.lines.filter((line) => line.includes(doomed) && line.includes('"level":"error"')).length,
    ).toBeGreaterThanOrEqual(2);
    tables.push({
      caption:
        '**A namespace deleted mid-run** (3 namespaces; the first request into the middle one waits until it is gone):',
      headers: ['namespace', 'ecr', 's3'],
      rows: namespaces.map((namespace) => {
        const cell = (kind: KindId) => {
          const s = byNamespace(namespace).find((o) => o.kind === kind);
          return s?.failure
            ? `failed: ${s.failure.failureClass} (${s.failure.message.slice(0, 90)}…)`
            : `${s?.action}`;
        };
        return [namespace === doomed ? 'deleted mid-run' : 'kept', cell('ecr'), cell('s3')];
      }),
    });
    notes.push(
      `Namespace deletion: the run ended cleanly in ${(run.result.durationMs / 1000).toFixed(1)} s; the cluster was not stopped (no cluster-wide failure). ` +
        "The class is `forbidden`, not `not-found`: with least privilege the identity's Role lives in the namespace and goes with it, so the apiserver answers 403 before it could answer 404.",
    );
  });

  it('no secret value in any captured line, message or report', () => {
    const result = leaks.result();
    expect(result.values).toBeGreaterThan(5);
    expect(result.hits).toEqual([]);
  });
});

async function setPullSecrets(
  cluster: RigCluster,
  namespace: string,
  account: string,
  names: readonly string[],
) {
  const response = await kubeRequest(
    cluster,
    cluster.adminToken,
    'PATCH',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${account}`,
    { imagePullSecrets: names.map((name) => ({ name })) },
    'application/merge-patch+json',
  );
  if (response.status !== 200) throw new Error(`PATCH ServiceAccount: ${response.status} ${response.body}`);
}

/**
 * Another controller: keeps adding entries of its own to each ServiceAccount's imagePullSecrets with
 * read-modify-write under the read resourceVersion (as controllers do), and while `stripping`, also
 * removes cred-courier's entry every third write.
 */
function startController(cluster: RigCluster, namespaces: readonly string[], accounts: readonly string[]) {
  let running = true;
  let stripping = true;
  let writes = 0;
  let conflicts = 0;
  const written = new Map<string, string[]>();
  const loops = namespaces.flatMap((namespace) =>
    accounts.map(async (account) => {
      const key = `${namespace}/${account}`;
      const path = `/api/v1/namespaces/${namespace}/serviceaccounts/${account}`;
      let n = 0;
      while (running) {
        const read = await kubeRequest(cluster, cluster.adminToken, 'GET', path);
        const sa = read.json<{ metadata: Record<string, unknown>; imagePullSecrets?: { name: string }[] }>();
        const current = (sa.imagePullSecrets ?? []).map((r) => r.name);
        const mine = `foreign-${account}-${n}`;
        const strip = stripping && n % 3 === 2;
        const next = [mine, ...current.filter((name) => !(strip && name === ECR_SECRET))];
        const put = await kubeRequest(cluster, cluster.adminToken, 'PUT', path, {
          ...sa,
          imagePullSecrets: next.map((name) => ({ name })),
        });
        if (put.status === 200) {
          writes++;
          n++;
          written.set(key, [...(written.get(key) ?? []), mine]);
        } else if (put.status === 409) {
          conflicts++;
        } else {
          throw new Error(`controller PUT ${path}: ${put.status} ${put.body}`);
        }
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
      }
    }),
  );
  return {
    stopStripping: () => {
      stripping = false;
    },
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
    writes: () => writes,
    conflicts: () => conflicts,
    written: () => written,
  };
}
