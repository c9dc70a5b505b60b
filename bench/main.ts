/**
 * `npm run bench`: delivery at fleet scale, side by side with the naive approach and the physical
 * bound, plus the Lambda bundle's cold start, a comparison of settings at one K, and the ceiling of one
 * invocation. Starts its own rig (building the binaries if missing), simulates up to 1,000 clusters on
 * the rig's two apiservers behind a latency-injecting proxy, and writes docs/benchmarks.md and the
 * measured part of docs/scaling.md. Not part of `npm test`.
 *
 *   npm run bench [-- --rtt 50 --k 10,200,600,1000 --baseline-sample 20 --cold-runs 11 --out FILE
 *                    --scaling-out FILE --compare "concurrency=16;concurrency=64" --compare-k 200]
 *
 * The measured processes run with `--max-old-space-size` derived from serverless.yml's memorySize
 * (bench/scaling.ts), as the deployed function's heap is bounded by its memory. For experiments:
 * `--cpu-prof` keeps a CPU profile of every cred-courier run in .cache/bench/profiles; `--node-args
 * "--max-old-space-size=96"` passes further Node options to the measured processes (a later option wins);
 * `--settings concurrency=64,requestConcurrency=2` overrides run settings (the bound follows);
 * `--compare ''` skips the settings comparison, `--cold-runs 0` the cold-start measurement. A quick look
 * on a busy machine: `--k 10,40 --compare '' --cold-runs 0 --out /tmp/b.md --scaling-out /tmp/s.md`.
 */
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { build } from 'esbuild';
import { parseConfig } from '../src/config/load.ts';
import { CACHE_DIR, PROJECT_ROOT, type Rig, startRig } from '../test/rig/rig.ts';
import type { ChildJob } from './child.ts';
import { measureClientCost } from './client-cost.ts';
import { type ColdStart, measureColdStart } from './cold-start.ts';
import { type CpuSample, cpuBetween, sampleCpu } from './cpu.ts';
import { CONTROL_NAMESPACE, createFleet, type SimulatedCluster, syncInventories } from './fleet.ts';
import type { RunMeasurement } from './measure.ts';
import { profileByPackage } from './profile.ts';
import { type LatencyProxy, startLatencyProxy } from './proxy.ts';
import { type KResult, type Measured, machine, type Report, renderReport } from './report.ts';
import { ceiling, deployment, heapLimitMiB, renderCeiling, writeCeiling } from './scaling.ts';

const ROLE = 'arn:aws:iam::123456789012:role/cred-courier-bench';
const REGION = 'eu-west-1';
const BUCKET = 'cc-bench-data';

const { values: args } = parseArgs({
  options: {
    rtt: { type: 'string', default: '50' },
    k: { type: 'string', default: '10,200,600,1000' },
    'baseline-sample': { type: 'string', default: '20' },
    'cold-runs': { type: 'string', default: '11' },
    'cpu-prof': { type: 'boolean', default: false },
    'node-args': { type: 'string' },
    settings: { type: 'string', default: '' },
    out: { type: 'string', default: join(PROJECT_ROOT, 'docs/benchmarks.md') },
    'scaling-out': { type: 'string', default: join(PROJECT_ROOT, 'docs/scaling.md') },
    /** Settings compared in steady-state runs at `--compare-k`, `;` between alternatives. */
    compare: {
      type: 'string',
      default:
        'concurrency=16;concurrency=32;concurrency=64;concurrency=128;concurrency=64,requestConcurrency=4;concurrency=64,requestConcurrency=16',
    },
    'compare-k': { type: 'string', default: '200' },
  },
});
const deployed = deployment();
const heapMiB = heapLimitMiB(deployed);
const rttMs = Number(args.rtt);
const ks = (args.k ?? '')
  .split(',')
  .map(Number)
  .filter((k) => k > 0)
  .sort((a, b) => a - b);
const baselineSample = Number(args['baseline-sample']);
const log = (line: string) => process.stderr.write(`${line}\n`);
const names = (k: number) => ({
  ecr: `ecr-k${k}`,
  s3: `s3-k${k}`,
  ecrBase: `ecr-base-k${k}`,
  s3Base: `s3-base-k${k}`,
});

function configYaml(
  clusters: readonly SimulatedCluster[],
  k: number,
  settings = args.settings ?? '',
): string {
  const n = names(k);
  const entries = clusters.map(
    (c) => `
  - name: ${c.name}
    kubeconfigSecret: ${c.secretId}
    namespaces: { names: [${c.namespaces.join(', ')}] }
    ecr: { secretName: ${n.ecr}, registries: [{ region: ${REGION} }] }
    s3:
      - secretName: ${n.s3}
        roleArn: ${ROLE}
        region: ${REGION}
        buckets: [{ bucket: ${BUCKET}, prefix: clusters/${c.name}, access: read }]`,
  );
  const extra = settings
    .split(',')
    .filter(Boolean)
    .map((pair) => `\n  ${pair.replace('=', ': ')}`)
    .join('');
  return `settings:\n  controlNamespace: ${CONTROL_NAMESPACE}${extra}\nclusters:${entries.join('')}\n`;
}

const benchDir = join(CACHE_DIR, '../bench');
const profileDir = join(benchDir, 'profiles');
const childPath = join(benchDir, 'child.mjs');

/**
 * Bundles bench/child.ts as the Lambda's code is bundled (esbuild, ESM), so the measured process runs
 * plain JavaScript: Node's TypeScript stripping would otherwise add its own memory and start-up.
 */
async function bundleChild(): Promise<void> {
  await build({
    entryPoints: [fileURLToPath(new URL('./child.ts', import.meta.url))],
    outfile: childPath,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    sourcemap: 'linked',
    banner: {
      js: "import { createRequire as __ccRequire } from 'node:module'; const require = __ccRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
}

async function runChild(
  job: ChildJob,
  proxy: LatencyProxy,
  rig: Rig,
  label: string,
  profileTo?: string,
): Promise<Measured> {
  proxy.resetCounts();
  const cpuProfDir = profileTo ?? (args['cpu-prof'] && job.mode === 'cred-courier' ? profileDir : undefined);
  const execArgv = [
    '--expose-gc',
    `--max-old-space-size=${heapMiB}`,
    ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []),
    ...(args['node-args']?.split(' ').filter(Boolean) ?? []),
  ];
  const child = fork(childPath, [], { execArgv, stdio: 'inherit' });
  let cpuBefore: CpuSample | undefined;
  let cpuAfter: CpuSample | undefined;
  type Answer = { ok: boolean; measurement?: RunMeasurement; error?: string };
  const answer = await new Promise<Answer>((done, fail) => {
    // The child says when its run starts and ends, so the machine's CPU is sampled around the run only.
    child.on('message', (message: Answer & { phase?: string }) => {
      if (message.phase === 'start') cpuBefore = sampleCpu(rig.pids);
      else if (message.phase === 'end') cpuAfter = sampleCpu(rig.pids);
      else done(message);
    });
    child.once('exit', (code) => fail(new Error(`bench: ${label} exited with ${code} before answering`)));
    child.send(job);
  });
  await new Promise((done) => (child.exitCode === null ? child.once('exit', done) : done(undefined)));
  if (!answer.ok || !answer.measurement) throw new Error(`bench: ${label} failed: ${answer.error}`);
  const m = answer.measurement;
  const delivered = Object.values(m.delivered).reduce((a, b) => a + b, 0);
  log(
    `bench: ${label}: ${(m.wallMs / 1000).toFixed(2)} s, ${m.kubeRequests} requests, ${delivered} Secrets ${JSON.stringify(m.delivered)}, ${proxy.connections()} connections, RSS ${m.maxRssMiB.toFixed(0)} MiB (heap peak ${m.memoryPeaks?.heapUsed.toFixed(0)} used / ${m.memoryPeaks?.heapTotal.toFixed(0)} total, external ${m.memoryPeaks?.external.toFixed(0)}), ${m.peakOpenFiles} open files at most` +
      (m.warnings ? `, ${m.warnings} warnings, e.g. ${m.sampleLines[0]}` : '') +
      (m.secretsFailed || m.clustersFailed
        ? `, FAILED ${JSON.stringify(m.failures)} ${m.sampleLines.join(' | ')}`
        : ''),
  );
  return {
    ...m,
    connections: proxy.connections(),
    ...(cpuBefore && cpuAfter ? { cpu: cpuBetween(cpuBefore, cpuAfter, cpus().length) } : {}),
  };
}

async function main(): Promise<void> {
  const benchStarted = Date.now();
  const loadAtStart = loadavg()[0] ?? 0;
  if (args['cpu-prof']) mkdirSync(profileDir, { recursive: true });
  let coldStart: ColdStart | undefined;
  if (Number(args['cold-runs']) > 0) {
    log('bench: cold start of the Lambda bundle');
    coldStart = await measureColdStart(Number(args['cold-runs']));
    log(
      `bench: bundle ${(coldStart.bundleBytes / 1024).toFixed(0)} KiB; import ${coldStart.importMs.toFixed(0)} ms vs node -e 0 ${coldStart.bareNodeMs.toFixed(0)} ms`,
    );
  }

  await bundleChild();
  let rig: Rig | undefined;
  let proxy: LatencyProxy | undefined;
  const stop = async () => {
    await proxy?.close();
    await rig?.stop();
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  try {
    rig = await startRig({ log });
    process.env.AWS_ENDPOINT_URL = rig.aws.endpoint;
    process.env.AWS_REGION = rig.aws.region;
    process.env.AWS_ACCESS_KEY_ID = rig.aws.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = rig.aws.secretAccessKey;
    delete process.env.AWS_PROFILE;
    delete process.env.AWS_SESSION_TOKEN;
    await new S3Client({ forcePathStyle: true }).send(
      new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: REGION } }),
    );
    proxy = startLatencyProxy({ rttMs });
    const fleet = await createFleet({
      count: Math.max(...ks),
      rig: rig.clusters,
      proxy,
      secretNames: ks.flatMap((k) => [names(k).ecr, names(k).s3]),
      baselineNames: ks.flatMap((k) => [names(k).ecrBase, names(k).s3Base]),
      log,
    });

    log('bench: CPU per request of the Kubernetes client');
    const clientCost = await measureClientCost(rig.clusters.a, 2000);
    for (const c of clientCost)
      log(`bench:   ${c.label}: ${c.cpuMsPerRequest.toFixed(3)} ms CPU per request`);

    const results: KResult[] = [];
    for (const k of ks) {
      const clusters = fleet.slice(0, k);
      const n = names(k);
      const ccJob: ChildJob = { mode: 'cred-courier', configYaml: configYaml(clusters, k) };
      const first = await runChild(ccJob, proxy, rig, `K=${k} cred-courier first run`);
      await syncInventories(
        rig.clusters,
        clusters.flatMap((c) =>
          c.namespaces.flatMap((ns) => [
            { apiserver: c.apiserver, kind: 'ecr', entry: `${ns}/${n.ecr}` },
            { apiserver: c.apiserver, kind: 's3', entry: `${ns}/${n.s3}` },
          ]),
        ),
      );
      const steady = await runChild(ccJob, proxy, rig, `K=${k} cred-courier steady state`);
      const sample = clusters.slice(0, Math.min(k, baselineSample));
      const baselineJob: ChildJob = {
        mode: 'baseline',
        clusters: sample.map((c) => ({ name: c.name, secretId: c.secretId, namespaces: c.namespaces })),
        ecrSecretName: n.ecrBase,
        s3SecretName: n.s3Base,
        roleArn: ROLE,
        region: REGION,
      };
      const baselineFirst = await runChild(
        baselineJob,
        proxy,
        rig,
        `K=${k} baseline first run (${sample.length} clusters)`,
      );
      const baselineSteady = await runChild(
        baselineJob,
        proxy,
        rig,
        `K=${k} baseline steady state (${sample.length} clusters)`,
      );
      results.push({ k, first, steady, baselineFirst, baselineSteady });
    }
    // Settings side by side: steady-state runs of one K (its Secrets and inventories are in place).
    const comparison: NonNullable<Report['comparison']>['runs'][number][] = [];
    const compareK = Number(args['compare-k']);
    const alternatives = (args.compare ?? '').split(';').filter(Boolean);
    if (alternatives.length > 0 && ks.includes(compareK)) {
      for (const alternative of alternatives) {
        const merged = [args.settings, alternative].filter(Boolean).join(',');
        const { settings } = parseConfig(
          configYaml(fleet.slice(0, 1), compareK, merged),
          'bench-clusters.yaml',
        );
        const measured = await runChild(
          { mode: 'cred-courier', configYaml: configYaml(fleet.slice(0, compareK), compareK, merged) },
          proxy,
          rig,
          `K=${compareK} steady state with ${alternative}`,
        );
        comparison.push({
          settings: { concurrency: settings.concurrency, requestConcurrency: settings.requestConcurrency },
          measured,
        });
      }
    }
    // Where the CPU goes: one more steady-state run of the largest K, profiled (the timed runs are not).
    let profile: Report['profile'];
    const largest = results.at(-1);
    if (largest) {
      const dir = mkdtempSync(join(tmpdir(), 'cc-bench-run-prof-'));
      try {
        const measured = await runChild(
          { mode: 'cred-courier', configYaml: configYaml(fleet.slice(0, largest.k), largest.k) },
          proxy,
          rig,
          `K=${largest.k} cred-courier steady state, profiled`,
          dir,
        );
        const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
        if (file)
          profile = {
            k: largest.k,
            wallMs: measured.wallMs,
            cpuMs: measured.cpuMs,
            byPackage: profileByPackage(join(dir, file), childPath),
          };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    // The settings the runs used (defaults unless --settings changed them), for the bound.
    const { settings } = parseConfig(configYaml(fleet.slice(0, 1), ks[0] ?? 1), 'bench-clusters.yaml');
    const limits = ceiling(results, deployed, settings.concurrency);
    const markdown = renderReport({
      machine: machine(loadAtStart),
      deployment: deployed,
      heapLimitMiB: heapMiB,
      ceiling: limits,
      ...(comparison.length > 0 ? { comparison: { k: compareK, runs: comparison } } : {}),
      date: new Date(),
      rttMs,
      requestSlots: settings.concurrency * settings.requestConcurrency,
      settings: { concurrency: settings.concurrency, requestConcurrency: settings.requestConcurrency },
      baselineSample,
      results,
      clientCost,
      ...(profile ? { profile } : {}),
      coldStart,
      rig: { kubernetes: rig.kubernetesVersion, etcd: rig.etcdVersion },
      benchSeconds: (Date.now() - benchStarted) / 1000,
    });
    mkdirSync(join(args.out ?? '', '..'), { recursive: true });
    writeFileSync(args.out ?? '', markdown);
    writeCeiling(args['scaling-out'] ?? '', renderCeiling(limits, new Date()));
    log(
      `bench: wrote ${args.out} and the measured part of ${args['scaling-out']} in ${((Date.now() - benchStarted) / 1000).toFixed(0)} s; ceiling ${limits.clusters} clusters (time ${limits.byTime}, memory ${limits.byMemory})`,
    );
  } finally {
    await stop();
  }
}

await main();
