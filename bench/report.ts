/**
 * docs/benchmarks.md from one bench run: every number in it comes from the run that wrote it; the prose
 * around the numbers states how they are measured and what they show.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { type ClientCost, DELIVERY_CLIENT, deliveryOverPlain, PLAIN_UNDICI } from './client-cost.ts';
import type { ColdStart } from './cold-start.ts';
import type { CpuUse } from './cpu.ts';
import { NAMESPACES_PER_CLUSTER } from './fleet.ts';
import type { RunMeasurement } from './measure.ts';
import { type Ceiling, type Deployment, HEAP_SHARE, MB_PER_VCPU } from './scaling.ts';

export type Measured = RunMeasurement & { readonly connections: number; readonly cpu?: CpuUse };

export interface KResult {
  readonly k: number;
  readonly first: Measured;
  readonly steady: Measured;
  readonly baselineFirst: Measured;
  readonly baselineSteady: Measured;
}

export interface Machine {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly kernel: string;
  /** 1-minute load average when the bench started (other work on the machine shows here). */
  readonly loadAtStart: number;
}

export function machine(loadAtStart = loadavg()[0] ?? 0): Machine {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpuModel;
  } catch {
    // not Linux: os.cpus() it is
  }
  return {
    cpuModel,
    cores: cpus().length,
    memoryGiB: totalmem() / 1024 ** 3,
    node: process.version,
    kernel: `${process.platform} ${release()}`,
    loadAtStart,
  };
}

export interface Report {
  readonly machine: Machine;
  readonly date: Date;
  readonly rttMs: number;
  readonly requestSlots: number;
  readonly settings: { readonly concurrency: number; readonly requestConcurrency: number };
  readonly baselineSample: number;
  readonly results: readonly KResult[];
  readonly clientCost: readonly ClientCost[];
  /** A profiled steady-state run of the largest K: CPU ms by package. */
  readonly profile?: {
    readonly k: number;
    readonly wallMs: number;
    readonly cpuMs: number;
    readonly byPackage: readonly [string, number][];
  };
  readonly coldStart?: ColdStart;
  readonly rig: { readonly kubernetes: string; readonly etcd: string };
  readonly benchSeconds: number;
  /** serverless.yml's memorySize and timeout. */
  readonly deployment: Deployment;
  /** `--max-old-space-size` of the measured processes, MiB. */
  readonly heapLimitMiB: number;
  readonly ceiling: Ceiling;
  /** Steady-state runs of one K with other settings. */
  readonly comparison?: {
    readonly k: number;
    readonly runs: readonly {
      readonly settings: { readonly concurrency: number; readonly requestConcurrency: number };
      readonly measured: Measured;
    }[];
  };
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const x = (ratio: number) => `${ratio.toFixed(ratio >= 10 ? 0 : 2)}×`;
const sum = (record: Record<string, number>) => Object.values(record).reduce((a, b) => a + b, 0);
const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(2)} MiB`;
const kib = (bytes: number) => `${Math.round(bytes / 1024).toLocaleString('en')} KiB`;

/** Everything the tables and the targets need about one K. */
export function derive(result: KResult, report: Pick<Report, 'rttMs' | 'requestSlots'>) {
  const { k } = result;
  const secrets = k * NAMESPACES_PER_CLUSTER * 2;
  const waves = Math.ceil(secrets / report.requestSlots);
  const boundFirst = report.rttMs * waves + (result.first.mintMs ?? 0);
  const boundSteady = report.rttMs * waves + (result.steady.mintMs ?? 0);
  const scale = (m: Measured) => k / m.clustersMeasured;
  const baselineFirstMs = result.baselineFirst.wallMs * scale(result.baselineFirst);
  const baselineSteadyMs = result.baselineSteady.wallMs * scale(result.baselineSteady);
  const perSecret = (m: Measured) => m.kubeRequests / Math.max(1, sum(m.delivered));
  const mintCalls = (m: Measured) => m.aws.ecrToken + m.aws.assumeRole;
  return {
    secrets,
    scopes: 1 + k,
    waves,
    boundFirst,
    boundSteady,
    baselineFirstMs,
    baselineSteadyMs,
    perSecret,
    mintCalls,
    scale,
  };
}

function kTable(result: KResult, report: Report): string {
  const d = derive(result, report);
  const { first, steady, baselineFirst, baselineSteady } = result;
  const rss = (m: Measured) => `${m.maxRssMiB.toFixed(0)} MiB`;
  const aws = (m: Measured, f = 1) =>
    `${Math.round(d.mintCalls(m) * f)} / ${Math.round(m.aws.s3Probe * f)} / ${Math.round(m.aws.getSecretValue * f)}`;
  const approx = (m: Measured) => (m.clustersMeasured < result.k ? '≈ ' : '');
  const failed = (m: Measured) => (m.secretsFailed ? ` (${m.secretsFailed} failed)` : '');
  const row = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  const cc = (label: string, m: Measured, bound: number, baseline: number) =>
    row([
      label,
      s(m.wallMs),
      s(m.mintMs ?? 0),
      x(m.wallMs / bound),
      x(baseline / m.wallMs),
      String(m.kubeRequests),
      d.perSecret(m).toFixed(2),
      `${sum(m.delivered)}${failed(m)}`,
      String(m.connections),
      aws(m),
      rss(m),
      s(m.cpuMs),
    ]);
  const base = (label: string, m: Measured, wall: number, bound: number) =>
    row([
      `${label}${m.clustersMeasured < result.k ? ` (${m.clustersMeasured} clusters measured: ${s(m.wallMs)}, × ${result.k / m.clustersMeasured})` : ''}`,
      `${approx(m)}${s(wall)}`,
      '—',
      x(wall / bound),
      '1×',
      `${approx(m)}${Math.round(m.kubeRequests * d.scale(m))}`,
      d.perSecret(m).toFixed(2),
      `${approx(m)}${Math.round(sum(m.delivered) * d.scale(m))}${failed(m)}`,
      `${approx(m)}${Math.round(m.connections * d.scale(m))}`,
      `${approx(m)}${aws(m, d.scale(m))}`,
      rss(m),
      `${approx(m)}${s(m.cpuMs * d.scale(m))}`,
    ]);
  const bound = (label: string, ms: number, mint: number | undefined) =>
    row([
      label,
      s(ms),
      s(mint ?? 0),
      '1×',
      '—',
      String(d.secrets),
      '1.00',
      String(d.secrets),
      '—',
      `${d.scopes} / — / —`,
      '—',
      '—',
    ]);
  return [
    `### K = ${result.k} clusters (${d.secrets} Secrets, ${d.scopes} distinct mint scopes)`,
    '',
    '| run | wall | until delivery starts | ÷ bound | baseline ÷ this | K8s requests | requests / delivered Secret | Secrets delivered | TCP connections | AWS calls: mint / S3 probe / GetSecretValue | peak RSS | CPU of the process |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    cc('cred-courier, first run (creates)', first, d.boundFirst, d.baselineFirstMs),
    cc('cred-courier, steady state', steady, d.boundSteady, d.baselineSteadyMs),
    base('baseline, first run', baselineFirst, d.baselineFirstMs, d.boundFirst),
    base('baseline, steady state', baselineSteady, d.baselineSteadyMs, d.boundSteady),
    bound('bound, first run', d.boundFirst, first.mintMs),
    bound('bound, steady state', d.boundSteady, steady.mintMs),
    '',
    `- cred-courier's requests: first run ${shapes(first)}; steady state ${shapes(steady)}.`,
    `- Time per cluster (kubeconfig read to done), mean / max: first run ${s(first.clusterMs?.mean ?? 0)} / ${s(first.clusterMs?.max ?? 0)}; steady state ${s(steady.clusterMs?.mean ?? 0)} / ${s(steady.clusterMs?.max ?? 0)} (${((steady.clusterMs?.mean ?? 0) / report.rttMs).toFixed(1)} RTT on average).`,
    `- Memory of cred-courier's process: heap peak ${memory(first)} in the first run, ${memory(steady)} in the steady state; at most ${first.peakOpenFiles ?? '?'} and ${steady.peakOpenFiles ?? '?'} file descriptors open.`,
    ...(first.cpu && steady.cpu
      ? [`- Machine CPU during the runs: first run ${cpuLine(first)}; steady state ${cpuLine(steady)}.`]
      : []),
    `- Warnings and errors logged by cred-courier: first run ${first.warnings}, steady state ${steady.warnings} (see "How the fleet is simulated").`,
    '',
  ].join('\n');
}

/** `: undici 31 %, @smithy/core 12 %, …` for the largest packages of the profile. */
function topPackages(report: Report): string {
  const profile = report.profile;
  if (!profile) return '';
  const busy = profile.byPackage.filter(([name]) => !name.startsWith('idle'));
  const total = busy.reduce((a, [, ms]) => a + ms, 0);
  return `: ${busy
    .slice(0, 4)
    .map(([name, ms]) => `${name} ${((100 * ms) / total).toFixed(0)} %`)
    .join(', ')} of the busy samples`;
}

function memory(m: Measured): string {
  const peaks = m.memoryPeaks;
  if (!peaks) return 'not measured';
  return `${peaks.heapUsed.toFixed(0)} MiB used of ${peaks.heapTotal.toFixed(0)} MiB${m.liveHeapMiB === undefined ? '' : `, ${m.liveHeapMiB.toFixed(0)} MiB live after the run`}`;
}

/** CPU the machine spent in a run, and by whom: everything else is other work on the machine. */
function cpuSplit(m: Measured) {
  const cpu = m.cpu;
  if (!cpu) return undefined;
  const available = (m.wallMs / 1000) * cpu.cores;
  const busy = cpu.machineBusyMs / 1000;
  const groups: [string, number][] = [
    ['measured process', m.cpuMs / 1000],
    ...Object.entries(cpu.groups).map(([group, ms]): [string, number] => [group, ms / 1000]),
  ];
  const known = groups.reduce((a, [, v]) => a + v, 0);
  groups.push(['everything else on the machine', Math.max(0, busy - known)]);
  return { available, busy, groups: groups.filter(([, v]) => v >= 0.05).sort((a, b) => b[1] - a[1]) };
}

function cpuLine(m: Measured): string {
  const split = cpuSplit(m);
  if (!split) return 'not measured';
  return `${split.busy.toFixed(1)} of ${split.available.toFixed(1)} core-seconds busy (${((100 * split.busy) / split.available).toFixed(0)} %): ${split.groups.map(([g, v]) => `${g} ${v.toFixed(1)}`).join(', ')}`;
}

function shapes(m: Measured): string {
  return Object.entries(m.requestsByShape)
    .sort((a, b) => b[1] - a[1])
    .map(([shape, count]) => `\`${shape}\` ${count}`)
    .join(', ');
}

export function renderReport(report: Report): string {
  const { machine: mc, coldStart: cs } = report;
  const last = report.results.at(-1);
  const lines: string[] = [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` (code in \`bench/\`) on ${report.date.toISOString().slice(0, 16).replace('T', ' ')} UTC;`,
    'every number below comes from that run, and running it again overwrites this file. The run took',
    `${Math.round(report.benchSeconds)} s, including building the bundle, starting the rig and registering the fleet.`,
    '',
    `**Machine**: ${mc.cpuModel}, ${mc.cores} cores, ${mc.memoryGiB.toFixed(1)} GiB memory, ${mc.kernel}; Node ${mc.node}.`,
    `The rig (etcd ${report.rig.etcd}, two kube-apiservers ${report.rig.kubernetes}, moto) runs on the same machine: the`,
    'apiservers, etcd, moto, the proxy and the measured process share its cores, and so does any other work',
    `on it (load average ${mc.loadAtStart.toFixed(1)} when the bench started; the CPU lines below say who used what).`,
    '',
    '## What is measured',
    '',
    `- **Workload**: K clusters × ${NAMESPACES_PER_CLUSTER} namespaces × 2 kinds: an ECR pull Secret (one registry, eu-west-1,`,
    "  appended to each namespace's `default` ServiceAccount) and an S3 session Secret (one grant per cluster with",
    '  its own prefix `clusters/<name>/`: K S3 scopes + 1 ECR scope). Settings:',
    `  \`concurrency\` ${report.settings.concurrency}, \`requestConcurrency\` ${report.settings.requestConcurrency} (the defaults unless \`--settings\` was given).`,
    "- **Latency**: each simulated cluster's kubeconfig points at its own listener of a TCP proxy",
    `  (\`bench/proxy.ts\`) that adds ${report.rttMs} ms of round-trip time: every chunk waits ${report.rttMs / 2} ms in its direction, and a`,
    "  new connection's first bytes wait one RTT more (TCP's handshake). TLS passes through untouched (the",
    "  apiserver's CA and certificate, for 127.0.0.1). Kubernetes requests are counted with `onKubeRequest`,",
    '  TCP connections at the proxy.',
    '- **cred-courier**: `runDelivery` in a child process of its own per run, bundled with esbuild as the Lambda',
    '  is, so its RSS and CPU are its own. Like a scheduled Lambda whose kubeconfig cache has expired, it reads',
    '  every kubeconfig from Secrets Manager (moto); every AWS call is counted. The first run creates every',
    "  Secret; the second, with nothing changed, is the steady state. Wall time is the run's (process start",
    '  excluded); "until delivery starts" runs from its start to its first kubeconfig read (plan, and the',
    "  mints of the first clusters' scopes: each cluster starts as soon as its own scopes are minted, while",
    '  the later scopes are still being minted).',
    `- **Memory limit**: the measured processes run with \`--max-old-space-size=${report.heapLimitMiB}\`, ${Math.round(HEAP_SHARE * 100)} % of serverless.yml's`,
    `  \`memorySize\` (${report.deployment.memorySizeMb} MB), so the heap is collected as it would be in the deployed function.`,
    '- **Baseline** (`bench/baseline.ts`): what in-cluster refresher jobs do, one cluster after another: each',
    '  mints its own ECR token and S3 session, then for every Secret GETs it and creates it (POST) or replaces it',
    '  (PUT with the read resourceVersion), one request at a time over one keep-alive connection per cluster,',
    '  through the same proxy with the same kubeconfigs. It does less than cred-courier (no ServiceAccounts, no',
    `  inventory, no probe). Where K > ${report.baselineSample} it runs on the first ${report.baselineSample} clusters and its wall time,`,
    '  requests, connections, AWS calls and CPU are extrapolated linearly (marked ≈): it is strictly',
    '  sequential, so they are linear in K.',
    `- **Bound**: RTT × ⌈Secrets / ${report.requestSlots}⌉ + the run's own mint time: every Secret must be written once, and`,
    `  ${report.requestSlots} = \`concurrency\` × \`requestConcurrency\` requests may be in flight. It counts no connection set-up,`,
    '  no read and no ServiceAccount write (which a first run must also make): a floor, not a goal.',
    '',
    '## Results',
    '',
    ...report.results.map((r) => kTable(r, report)),
    ...comparisonSection(report),
    ...clientCostSection(report),
    ...profileSection(report),
    ...(cs ? coldStartSection(cs) : []),
    ...ceilingSection(report),
    ...(last ? targets(report, last) : []),
    ...(last ? analysis(report, last) : []),
    ...simulationNotes(),
  ];
  return `${lines.join('\n')}\n`;
}

function comparisonSection(report: Report): string[] {
  const comparison = report.comparison;
  if (!comparison || comparison.runs.length === 0) return [];
  const fastest = comparison.runs.reduce((a, b) => (b.measured.wallMs < a.measured.wallMs ? b : a));
  return [
    `## Settings compared (K = ${comparison.k}, steady state)`,
    '',
    'The same fleet and Secrets, one run per setting, one after another in this run (`--compare`):',
    '',
    '| `concurrency` | `requestConcurrency` | wall | ÷ the fastest | CPU of the process | peak RSS | TCP connections |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...comparison.runs.map(
      ({ settings, measured }) =>
        `| ${settings.concurrency} | ${settings.requestConcurrency} | ${s(measured.wallMs)} | ${x(measured.wallMs / fastest.measured.wallMs)} | ${s(measured.cpuMs)} | ${measured.maxRssMiB.toFixed(0)} MiB | ${measured.connections} |`,
    ),
    '',
    `Fastest: \`concurrency\` ${fastest.settings.concurrency}, \`requestConcurrency\` ${fastest.settings.requestConcurrency}; the defaults are ${report.settings.concurrency} and ${report.settings.requestConcurrency}.`,
    '',
  ];
}

function ceilingSection(report: Report): string[] {
  const c = report.ceiling;
  return [
    '## Ceiling of one invocation',
    '',
    `From the steady-state runs above, fitted against K, at serverless.yml's ${c.deployment.memorySizeMb} MB (${c.vcpu.toFixed(2)} vCPU at ${MB_PER_VCPU} MB`,
    `per vCPU) and ${c.deployment.timeoutSeconds} s timeout: **${c.clusters.toLocaleString('en')} clusters** within half the timeout (by time ${c.byTime.toLocaleString('en')}, by`,
    `memory ${c.byMemory.toLocaleString('en')}). CPU per cluster ${c.cpu.b.toFixed(1)} ms, peak RSS ${c.rss.b.toFixed(3)} MiB per cluster + ${c.rss.a.toFixed(0)} MiB.`,
    'How to shard beyond it: [scaling.md](scaling.md), whose measured part this run also wrote.',
    '',
  ];
}

function clientCostSection(report: Report): string[] {
  if (report.clientCost.length === 0) return [];
  return [
    '## CPU per Kubernetes request',
    '',
    'The same GET (a ServiceAccount), 2,000 times with 8 in flight, directly to one apiserver (no proxy) over',
    "one pooled connection, in the bench's own process (`bench/client-cost.ts`). The delivery client is",
    "cred-courier's hot path (`src/kube/core.ts`); client-node's CoreV1Api is what registration uses:",
    '',
    '| client | CPU per request | wall per request |',
    '| --- | ---: | ---: |',
    ...report.clientCost.map(
      (c) => `| ${c.label} | ${c.cpuMsPerRequest.toFixed(3)} ms | ${c.wallMsPerRequest.toFixed(3)} ms |`,
    ),
    '',
  ];
}

function profileSection(report: Report): string[] {
  const profile = report.profile;
  if (!profile) return [];
  const total = profile.byPackage.reduce((a, [, ms]) => a + ms, 0);
  const shown = profile.byPackage.filter(([, ms]) => ms >= total * 0.01);
  const rest = total - shown.reduce((a, [, ms]) => a + ms, 0);
  return [
    `## Where cred-courier's CPU goes (K = ${profile.k})`,
    '',
    `A third steady-state run, under \`--cpu-prof\` (the timed runs above are not profiled): ${s(profile.wallMs)} wall,`,
    `${s(profile.cpuMs)} of CPU in the run. The whole process's samples by package (Node's internals count for the`,
    'package that called them; idle is time waiting for the network or the apiservers):',
    '',
    '| package | CPU ms | share |',
    '| --- | ---: | ---: |',
    ...shown.map(([name, ms]) => `| ${name} | ${ms.toFixed(0)} | ${((100 * ms) / total).toFixed(0)} % |`),
    `| everything below 1 % | ${rest.toFixed(0)} | ${((100 * rest) / total).toFixed(0)} % |`,
    '',
  ];
}

function coldStartSection(cs: ColdStart): string[] {
  return [
    '## Cold start of the Lambda bundle',
    '',
    `\`scripts/build.ts\` → \`dist/distribute.mjs\`: **${mib(cs.bundleBytes)}** (${cs.bundleBytes.toLocaleString('en')} bytes; ${mib(cs.bundleGzipBytes)} gzipped).`,
    `Whole Node processes, median of ${cs.runs} interleaved runs each:`,
    '',
    '| process | wall |',
    '| --- | ---: |',
    `| \`node -e 0\` | ${cs.bareNodeMs.toFixed(0)} ms |`,
    `| \`node --input-type=module -e "await import('./dist/distribute.mjs')"\` | ${cs.importMs.toFixed(0)} ms (+${(cs.importMs - cs.bareNodeMs).toFixed(0)} ms) |`,
    `| the same with a warm V8 compile cache (\`NODE_COMPILE_CACHE\`) | ${cs.importCachedMs.toFixed(0)} ms (+${(cs.importCachedMs - cs.bareNodeMs).toFixed(0)} ms) |`,
    '',
    'One profiled import (`--cpu-prof`), CPU by category:',
    '',
    '| category | ms |',
    '| --- | ---: |',
    ...Object.entries(cs.profile)
      .sort((a, b) => b[1] - a[1])
      .map(([category, ms]) => `| ${category} | ${ms.toFixed(0)} |`),
    '',
    "What the bundle is made of (minified output per package, from esbuild's metafile with the build's options):",
    '',
    '| package | size |',
    '| --- | ---: |',
    ...cs.composition.map((c) => `| ${c.name} | ${kib(c.bytes)} |`),
    '',
  ];
}

function targets(report: Report, result: KResult): string[] {
  const d = derive(result, report);
  const cs = report.coldStart;
  const rss = Math.max(result.first.maxRssMiB, result.steady.maxRssMiB);
  const mark = (ok: boolean) => (ok ? 'met' : '**missed**');
  const perSecret = d.perSecret(result.steady);
  const mintsOk = report.results.every((r) => {
    const dr = derive(r, report);
    return dr.mintCalls(r.first) === dr.scopes && dr.mintCalls(r.steady) === dr.scopes;
  });
  const speedup = d.baselineSteadyMs / result.steady.wallMs;
  const ratio = result.steady.wallMs / d.boundSteady;
  const overPlain = deliveryOverPlain(report.clientCost);
  // Memory flat in the fleet size: the largest K against K = 200 (or the smallest K measured).
  const base = report.results.find((r) => r.k === 200) ?? report.results[0];
  const flat = base && base !== result ? { base, large: result } : undefined;
  return [
    `## Targets (K = ${result.k}, steady state unless said)`,
    '',
    '| target | goal | measured | |',
    '| --- | --- | --- | --- |',
    `| K8s requests per delivered Secret | 1.0 | ${perSecret.toFixed(2)} | ${mark(perSecret <= 1.0001)} |`,
    `| AWS mint calls per run, every K and run | = distinct scopes | ${report.results.map((r) => `K = ${r.k}: ${derive(r, report).mintCalls(r.steady)} for ${derive(r, report).scopes}`).join('; ')} | ${mark(mintsOk)} |`,
    `| wall time | ≤ 1.3 × bound | ${x(ratio)} (${s(result.steady.wallMs)} vs ${s(d.boundSteady)}) | ${mark(ratio <= 1.3)} |`,
    `| speed-up over the baseline | ≥ 20× | ${x(speedup)} | ${mark(speedup >= 20)} |`,
    ...(cs
      ? [
          `| bundle size | ≤ 1.5 MB | ${(cs.bundleBytes / 1e6).toFixed(2)} MB | ${mark(cs.bundleBytes <= 1.5e6)} |`,
          `| cold import over bare node | ≤ 120 ms | +${(cs.importMs - cs.bareNodeMs).toFixed(0)} ms | ${mark(cs.importMs - cs.bareNodeMs <= 120)} |`,
        ]
      : []),
    `| peak RSS, either run | ≤ 160 MiB | ${rss.toFixed(0)} MiB | ${mark(rss <= 160)} |`,
    ...(overPlain === undefined
      ? []
      : [
          `| delivery client's CPU per request | ≤ 2 × ${PLAIN_UNDICI} | ${x(overPlain)} | ${mark(overPlain <= 2)} |`,
        ]),
    ...(flat
      ? [
          `| peak RSS at K = ${flat.large.k} against K = ${flat.base.k} (steady state) | within 10 % | ${flat.large.steady.maxRssMiB.toFixed(0)} vs ${flat.base.steady.maxRssMiB.toFixed(0)} MiB (${((100 * flat.large.steady.maxRssMiB) / flat.base.steady.maxRssMiB - 100).toFixed(0)} %) | ${mark(flat.large.steady.maxRssMiB <= 1.1 * flat.base.steady.maxRssMiB)} |`,
        ]
      : []),
    '',
  ];
}

/** What bounds each number, from this run's own measurements. */
function analysis(report: Report, result: KResult): string[] {
  const d = derive(result, report);
  const { steady, first, baselineSteady } = result;
  const rtt = report.rttMs;
  const shape = (m: Measured, key: string) => m.requestsByShape[key] ?? 0;
  const writes = shape(steady, 'PATCH secrets/{name}');
  const saReads = shape(steady, 'GET serviceaccounts/default');
  const inventoryReads = shape(steady, 'GET configmaps/cred-courier-inventory');
  const delivered = Math.max(1, sum(steady.delivered));
  const deliveryMs = steady.wallMs - (steady.mintMs ?? 0);
  const clusterWaves = Math.ceil(result.k / report.settings.concurrency);
  const chainRtt = 5;
  const inFlight = (steady.kubeRequests * rtt) / Math.max(1, deliveryMs);
  const split = cpuSplit(steady);
  const kubeCpuPerRequest = steady.cpuMs / Math.max(1, steady.kubeRequests);
  const ours = report.clientCost.find((c) => c.label === DELIVERY_CLIENT);
  const plain = report.clientCost.find((c) => c.label === PLAIN_UNDICI);
  const vcpu = Math.min(1, report.deployment.memorySizeMb / MB_PER_VCPU);
  const cs = report.coldStart;
  const composition = new Map(cs?.composition.map((c) => [c.name, c.bytes]) ?? []);
  const kubeClientBytes =
    (composition.get('@kubernetes/client-node') ?? 0) + (composition.get('undici') ?? 0);
  const awsBytes = (cs?.composition ?? [])
    .filter((c) => c.name.startsWith('@aws-sdk/') || c.name.startsWith('@smithy/'))
    .reduce((a, c) => a + c.bytes, 0);
  const baselinePerCluster = baselineSteady.wallMs / baselineSteady.clustersMeasured;
  const lines = [
    `## What bounds each number (K = ${result.k})`,
    '',
    `**Requests per Secret (${d.perSecret(steady).toFixed(2)} in the steady state).** Of the ${steady.kubeRequests} requests, ${writes} are the`,
    `Secret writes (${(writes / delivered).toFixed(2)} per Secret: one JSON Patch each, never a read of a Secret), ${saReads} are`,
    `\`default\` ServiceAccount reads (one per ECR Secret) and ${inventoryReads} inventory reads (one per cluster). The`,
    'ServiceAccount read is what makes "append the pull secret if absent" safe: `imagePullSecrets` is an atomic',
    "list (no merge key), so writing without reading would drop other tools' entries, and not checking would",
    'miss a reference removed since (a GitOps sync, a recreated ServiceAccount). The inventory read is what',
    'prune needs. Neither is worth removing; what they cost is latency, because each cluster sends them in',
    'sequence with its writes (next paragraph), and both could be sent alongside the writes instead without',
    `changing a count. The first run makes ${d.perSecret(first).toFixed(2)} requests per Secret by design: a PATCH that finds no Secret (404)`,
    'then a POST, and for ECR the ServiceAccount read and write, plus the inventory read and write.',
    '',
    `**AWS calls.** ${d.mintCalls(steady)} mint calls for ${d.scopes} distinct scopes (1 ECR token for the region, ${steady.aws.assumeRole} AssumeRole`,
    `for the ${result.k} S3 grants), whatever the number of namespaces. Beside them: ${steady.aws.s3Probe} S3 probes (one per fresh`,
    `session) and ${steady.aws.getSecretValue} kubeconfig reads, which a warm Lambda skips for \`kubeconfigCacheSeconds\`.`,
    '',
    `**Wall time (${x(steady.wallMs / d.boundSteady)} the bound).** ${s(steady.mintMs ?? 0)} of the ${s(steady.wallMs)} passed before the first cluster started`,
    `(planning, and minting its scopes; the other ${d.scopes} scopes are minted 8 at a time while clusters deliver); the bound`,
    `includes it too. Delivery then took ${s(deliveryMs)} against the bound's`,
    `${d.waves} RTT (${s(d.waves * rtt)}). Two things keep it there:`,
    '',
    `1. *The shape of a cluster's work.* Each cluster's requests form a chain — connect (TCP and TLS: 2 RTT),`,
    "   read the inventory (1), write the Secrets (1, 8 at a time), read each ECR Secret's ServiceAccount",
    `   after its write (1): about ${chainRtt} RTT — and ${report.settings.concurrency} clusters run at once, so delivery takes at least`,
    `   ⌈${result.k} / ${report.settings.concurrency}⌉ × ${chainRtt} RTT = ${s(clusterWaves * chainRtt * rtt)} even with free CPU. Of the ${report.requestSlots} request slots, ${inFlight.toFixed(0)} were in use on average.`,
    '   Sending the inventory and ServiceAccount reads alongside the writes would shorten the chain to 3 RTT;',
    '   a larger `concurrency` (more clusters at once) fills more slots.',
    `2. *CPU.* A cluster took ${s(steady.clusterMs?.mean ?? 0)} on average, ${((steady.clusterMs?.mean ?? 0) / rtt) | 0} RTT rather than ${chainRtt}: the rest is waiting for CPU.`,
    ...(split
      ? [
          `   The machine was ${((100 * split.busy) / split.available).toFixed(0)} % busy during the run (${split.groups.map(([g, v]) => `${g} ${v.toFixed(1)}`).join(', ')} core-seconds):`,
          `   the apiservers, etcd and moto of ${result.k} simulated clusters share these cores with the measured process,`,
          "   which a real fleet's apiservers do not.",
        ]
      : []),
    `   cred-courier's own process used ${s(steady.cpuMs)} of CPU — ${kubeCpuPerRequest.toFixed(2)} ms per Kubernetes request, AWS calls and`,
    `   kubeconfig parsing included${steady.cpuMs > d.boundSteady ? ', more than the whole bound' : ''}. On a Lambda with one vCPU (1,769 MB) the run cannot`,
    `   be faster than its CPU time; at the ${report.deployment.memorySizeMb} MB of serverless.yml (about ${vcpu.toFixed(2)} vCPU) that is about ${s(steady.cpuMs / vcpu)}.`,
    ...(ours && plain
      ? [
          `   Per request, cred-courier's delivery client costs ${ours.cpuMsPerRequest.toFixed(2)} ms of CPU where a plain \`undici.request\` costs`,
          `   ${plain.cpuMsPerRequest.toFixed(2)} ms (table above); where the rest of the process's CPU goes is in the profile above`,
          `   (${topPackages(report).replace(/^: /, '')}).`,
        ]
      : []),
    '',
    `**Against the baseline (${x(d.baselineSteadyMs / steady.wallMs)}).** The baseline pays, per cluster and one after another, a connection,`,
    `two mints and ${(baselineSteady.kubeRequests / baselineSteady.clustersMeasured).toFixed(0)} sequential requests: ${s(baselinePerCluster)} per cluster, so ${s(d.baselineSteadyMs)} for ${result.k}. cred-courier's`,
    'advantage is its parallelism (clusters and requests) and one write per Secret; it grows with RTT and',
    'shrinks with whatever limits the parallel run — here the CPU and the cluster chain above.',
    '',
  ];
  if (cs) {
    lines.push(
      `**Bundle (${(cs.bundleBytes / 1e6).toFixed(2)} MB) and cold import (+${(cs.importMs - cs.bareNodeMs).toFixed(0)} ms).** The Kubernetes client is`,
      `${kib(kubeClientBytes)} of it (@kubernetes/client-node with a model class for every Kubernetes kind, for the ten`,
      `CoreV1 calls delivery makes, and undici for its fetch), the AWS SDK ${kib(awsBytes)}, zod`,
      `${kib(composition.get('zod') ?? 0)}. Importing it is parsing (a warm compile cache saves`,
      `${(cs.importMs - cs.importCachedMs).toFixed(0)} ms), then evaluating the bundle's top level (client-node's model registry, the SDK clients, the`,
      'configuration schemas) and loading the Node built-ins they use (http2, tls, crypto, streams). What would',
      'move both: a small Kubernetes client over `node:http2` in place of client-node (also the largest CPU and',
      'memory cost above); loading the DynamoDB client only when a ledger table is configured. Marking the AWS',
      "SDK external (the Lambda runtime ships one) would shrink the file, not the work at start (the runtime's",
      'copy is loaded at start all the same), and would give up pinning its version. A compile cache shipped',
      "with the function only helps if the build's Node matches the runtime's exactly.",
      '',
    );
  }
  lines.push(
    `**Peak RSS (${Math.max(first.maxRssMiB, steady.maxRssMiB).toFixed(0)} MiB).** The baseline's process, which loads the same client code and`,
    `AWS SDK but holds almost nothing, peaks at ${baselineSteady.maxRssMiB.toFixed(0)} MiB: that is the code's footprint. The run adds heap:`,
    `${memory(steady)} — mostly garbage from ${steady.kubeRequests} requests' worth of`,
    `short-lived objects, which V8 lets accumulate up to the heap limit (here ${report.heapLimitMiB} MiB) before collecting.`,
    ...(Math.max(first.maxRssMiB, steady.maxRssMiB) < 0.9 * report.deployment.memorySizeMb
      ? [
          `At this K, memory is not what sizes the Lambda's ${report.deployment.memorySizeMb} MB: its CPU share is (see the wall time).`,
        ]
      : [
          `At this K, the peak approaches the Lambda's ${report.deployment.memorySizeMb} MB: memory sizes it as much as its CPU share does.`,
        ]),
    '',
  );
  return lines;
}

function simulationNotes(): string[] {
  return [
    '## How the fleet is simulated',
    '',
    "- Simulated cluster i lives on the rig's apiserver a (even i) or b (odd i), behind its own proxy listener,",
    '  with its own 5 namespaces and its own identity: a ServiceAccount bound, in each of its namespaces only, to',
    "  the delivery rules of `test/integration/fixtures.ts`'s `deliveryRules` (one ClusterRole, bound per namespace",
    '  with a RoleBinding, instead of a Role per namespace: the same rights, fewer objects), with a TokenRequest',
    '  token in a kubeconfig stored in Secrets Manager. The baseline uses the same identities: its Secret names',
    '  are also granted `update` (cred-courier never PUTs a Secret).',
    '- Each K uses the first K simulated clusters and Secret names of its own (`ecr-k<K>`, `s3-k<K>`), so its',
    '  first run creates every Secret.',
    '- `settings.controlNamespace` is run-wide, so the simulated clusters of one apiserver share one control',
    '  namespace and one inventory ConfigMap. The runs therefore use `prune: false` (prune would take the other',
    "  clusters' entries for stale ones), and before each steady-state run the bench writes each shared",
    "  inventory as the union of its clusters' entries, so that every cluster finds its own entries as it would",
    "  in its own inventory: the steady state's requests are then exactly a real fleet's. In the first run the",
    "  clusters' inventory writes race on the shared object; those that lose get a 409, which cred-courier",
    "  logs as a warning (most of the first run's warnings). They still count as one request each, as on a",
    '  real cluster. The shared inventory grows with K (K / 2 clusters × 10 entries per apiserver, where a',
    "  real cluster's holds its own 10), and every cluster reads and checks all of it: a cost that grows with",
    '  K here and not in a real fleet, so the CPU per cluster at the largest K errs high, and the ceiling',
    '  computed from it low.',
    "- moto's ECR answers an `expiresAt` in 2015: cred-courier warns once per run and assumes 12 h.",
    '',
  ];
}
