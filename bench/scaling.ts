/**
 * The single-invocation ceiling, from one bench run: the deployed memory size and timeout are read from
 * serverless.yml, the time, CPU and peak RSS of the steady-state runs are fitted against K (least
 * squares, a + b·K), and the largest K one invocation serves within half its timeout at that memory is
 * solved for. Its result is the measured part of docs/scaling.md, written between two markers so the
 * written part around it stays as it is and the figures cannot drift from the measurement.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../test/rig/rig.ts';
import type { KResult } from './report.ts';

/** Lambda gives a function one vCPU's worth of CPU time at 1,769 MB, in proportion below that. */
export const MB_PER_VCPU = 1769;
/**
 * Old-space limit of the measured processes, as a share of the memory size: Node sizes V8's heap from
 * the memory its container is constrained to, and V8's default old generation is a quarter of the
 * physical memory. The rest is the code, V8's new space, sockets' and TLS buffers and the runtime.
 */
export const HEAP_SHARE = 0.25;

export interface Deployment {
  readonly memorySizeMb: number;
  readonly timeoutSeconds: number;
}

/** memorySize and timeout of serverless.yml's provider, the values the function is deployed with. */
export function deployment(file = join(PROJECT_ROOT, 'serverless.yml')): Deployment {
  // Serverless variables (${…}) stay strings; only the two literal numbers are read.
  // CloudFormation's tags (!Ref, !GetAtt) are left unresolved, quietly: they are not what is read.
  const provider = (
    parse(readFileSync(file, 'utf8'), { logLevel: 'error' }) as { provider?: Record<string, unknown> }
  ).provider;
  const memorySizeMb = Number(provider?.memorySize);
  const timeoutSeconds = Number(provider?.timeout);
  if (!Number.isFinite(memorySizeMb) || !Number.isFinite(timeoutSeconds))
    throw new Error(`${file}: provider.memorySize and provider.timeout must be numbers`);
  return { memorySizeMb, timeoutSeconds };
}

/** The `--max-old-space-size` the measured processes run with, MiB. */
export const heapLimitMiB = (d: Deployment) => Math.floor(d.memorySizeMb * HEAP_SHARE);

interface Line {
  readonly a: number;
  readonly b: number;
}

/** Least-squares line through (x, y); a flat line through the only point when there is one. */
export function fitLine(points: readonly (readonly [number, number])[]): Line {
  const n = points.length;
  if (n === 0) return { a: 0, b: 0 };
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  if (sxx === 0) return { a: 0, b: my / Math.max(1, mx) };
  const b = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / sxx;
  return { a: my - b * mx, b };
}

export interface Ceiling {
  readonly deployment: Deployment;
  /** The K the lines are fitted to. */
  readonly fittedKs: readonly number[];
  readonly vcpu: number;
  readonly heapLimitMiB: number;
  /** Per steady-state K: what was measured, and the Lambda time it implies. */
  readonly rows: readonly {
    readonly k: number;
    readonly wallMs: number;
    readonly cpuMs: number;
    readonly rssMiB: number;
    readonly liveHeapMiB?: number;
    readonly lambdaMs: number;
  }[];
  readonly wall: Line;
  readonly cpu: Line;
  readonly rss: Line;
  /** Heap still live after the run against K: what the run keeps per cluster. */
  readonly live: Line;
  /** Largest K within half the timeout, by time (CPU at the Lambda's share, or the wall if longer). */
  readonly byTime: number;
  /** Largest K whose fitted peak RSS stays within the memory size and fitted live heap within the limit. */
  readonly byMemory: number;
  readonly clusters: number;
}

/** Largest integer K ≥ 0 with a + b·K ≤ limit (unbounded lines are capped, to stay printable). */
function largestWithin(line: Line, limit: number): number {
  if (line.b <= 0) return line.a <= limit ? 1_000_000 : 0;
  return Math.max(0, Math.floor((limit - line.a) / line.b));
}

/**
 * `concurrency` clusters run at once: below it, memory and time grow with the clusters in flight, not
 * with the fleet, so the lines are fitted to the K above it when at least two were measured.
 */
export function ceiling(results: readonly KResult[], d: Deployment, concurrency: number): Ceiling {
  const vcpu = d.memorySizeMb / MB_PER_VCPU;
  const above = results.filter((r) => r.k > concurrency);
  const fitted = above.length >= 2 ? above : results;
  const rows = results.map(({ k, steady }) => ({
    k,
    wallMs: steady.wallMs,
    cpuMs: steady.cpuMs,
    rssMiB: steady.maxRssMiB,
    ...(steady.liveHeapMiB === undefined ? {} : { liveHeapMiB: steady.liveHeapMiB }),
    // A CPU-bound run at the Lambda's share takes its CPU time ÷ the share; a network-bound one its wall.
    lambdaMs: Math.max(steady.wallMs, steady.cpuMs / Math.min(1, vcpu)),
  }));
  const points = rows.filter((r) => fitted.some((f) => f.k === r.k));
  const wall = fitLine(points.map((r) => [r.k, r.wallMs]));
  const cpu = fitLine(points.map((r) => [r.k, r.cpuMs]));
  const rss = fitLine(points.map((r) => [r.k, r.rssMiB]));
  const live = fitLine(
    points.flatMap((r) => (r.liveHeapMiB === undefined ? [] : [[r.k, r.liveHeapMiB] as const])),
  );
  const halfTimeoutMs = (d.timeoutSeconds * 1000) / 2;
  const cpuAtShare = { a: cpu.a / Math.min(1, vcpu), b: cpu.b / Math.min(1, vcpu) };
  const byTime = Math.min(largestWithin(wall, halfTimeoutMs), largestWithin(cpuAtShare, halfTimeoutMs));
  const byMemory = Math.min(largestWithin(rss, d.memorySizeMb), largestWithin(live, heapLimitMiB(d)));
  return {
    deployment: d,
    fittedKs: points.map((r) => r.k),
    vcpu,
    heapLimitMiB: heapLimitMiB(d),
    rows,
    wall,
    cpu,
    rss,
    live,
    byTime,
    byMemory,
    clusters: Math.min(byTime, byMemory),
  };
}

const BEGIN = '<!-- measured: written by `npm run bench`, do not edit by hand -->';
const END = '<!-- end of measured part -->';

export function renderCeiling(c: Ceiling, when: Date): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const per = (line: Line) => `${(line.b).toFixed(1)} ms per cluster + ${(line.a / 1000).toFixed(2)} s`;
  return [
    BEGIN,
    '',
    `From \`npm run bench\` on ${when.toISOString().slice(0, 16).replace('T', ' ')} UTC (steady-state runs; details in`,
    `[benchmarks.md](benchmarks.md)), at the deployed \`memorySize\` ${c.deployment.memorySizeMb} MB (${c.vcpu.toFixed(2)} vCPU at`,
    `${MB_PER_VCPU} MB per vCPU) and \`timeout\` ${c.deployment.timeoutSeconds} s of serverless.yml; the measured process ran with`,
    `\`--max-old-space-size=${c.heapLimitMiB}\` (${Math.round(HEAP_SHARE * 100)} % of the memory size).`,
    '',
    '| K | wall | CPU of the process | CPU per cluster | peak RSS | live heap after | time at the Lambda’s CPU share |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...c.rows.map(
      (r) =>
        `| ${r.k} | ${s(r.wallMs)} | ${s(r.cpuMs)} | ${(r.cpuMs / r.k).toFixed(1)} ms | ${r.rssMiB.toFixed(0)} MiB | ${r.liveHeapMiB === undefined ? '—' : `${r.liveHeapMiB.toFixed(0)} MiB`} | ${s(r.lambdaMs)} |`,
    ),
    '',
    `Fitted against K (${c.fittedKs.join(', ')}): wall ${per(c.wall)}; CPU ${per(c.cpu)}; peak RSS ${c.rss.b.toFixed(3)} MiB per cluster + ${c.rss.a.toFixed(0)} MiB;`,
    `live heap after the run ${(c.live.b * 1024).toFixed(1)} KiB per cluster + ${c.live.a.toFixed(0)} MiB.`,
    '',
    `**Ceiling: ${c.clusters.toLocaleString('en')} clusters per invocation** — by time ${c.byTime.toLocaleString('en')} (CPU at ${c.vcpu.toFixed(2)} vCPU, or the wall where`,
    `longer, within half the timeout: ${c.deployment.timeoutSeconds / 2} s), by memory ${c.byMemory.toLocaleString('en')} (fitted peak RSS within ${c.deployment.memorySizeMb} MB and`,
    `fitted live heap within the ${c.heapLimitMiB} MiB heap limit).`,
    '',
    END,
  ].join('\n');
}

/** Replaces the measured part of docs/scaling.md (or appends it), leaving the written part as it is. */
export function writeCeiling(file: string, measured: string): void {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = '# Scaling\n\n';
  }
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  const next =
    begin >= 0 && end > begin
      ? `${text.slice(0, begin)}${measured}${text.slice(end + END.length)}`
      : `${text.trimEnd()}\n\n${measured}\n`;
  writeFileSync(file, next);
}
