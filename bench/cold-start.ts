/**
 * Cold start of the Lambda bundle: builds it with scripts/build.ts (dist/distribute.mjs), reports its
 * size and what it is made of, and times whole Node processes that import it against bare `node -e 0`
 * (median of several runs, interleaved), plus one CPU profile of an import split into parse, built-in
 * modules, garbage collection and the bundle's own top-level code.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { buildHandler } from '../scripts/build.ts';
import { PROJECT_ROOT } from '../test/rig/rig.ts';

export interface ColdStart {
  readonly bundleBytes: number;
  readonly bundleGzipBytes: number;
  readonly runs: number;
  readonly bareNodeMs: number;
  readonly importMs: number;
  /** The same import with a warm V8 compile cache (NODE_COMPILE_CACHE), to show what parsing costs. */
  readonly importCachedMs: number;
  /** Largest contributors to the bundle, bytes of output per package. */
  readonly composition: readonly { readonly name: string; readonly bytes: number }[];
  /** One profiled import, ms of CPU by category. */
  readonly profile: Record<string, number>;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

function timeProcess(args: readonly string[], env: NodeJS.ProcessEnv = process.env): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    cwd: PROJECT_ROOT,
    env,
  });
  const elapsed = performance.now() - started;
  if (result.status !== 0) throw new Error(`bench: node ${args.join(' ')} failed: ${result.stderr}`);
  return elapsed;
}

/** Bytes of output per package (same entry and options as scripts/build.ts, without writing). */
async function composition(): Promise<{ name: string; bytes: number }[]> {
  const result = await build({
    entryPoints: [join(PROJECT_ROOT, 'functions/distribute.ts')],
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    minify: true,
    write: false,
    metafile: true,
    outfile: join(tmpdir(), 'cc-bench-composition.mjs'),
    logLevel: 'error',
  });
  const output = Object.values(result.metafile.outputs)[0];
  const byPackage = new Map<string, number>();
  for (const [file, input] of Object.entries(output?.inputs ?? {})) {
    const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? "cred-courier's own code";
    byPackage.set(name, (byPackage.get(name) ?? 0) + input.bytesInOutput);
  }
  return [...byPackage].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

function profileImport(importArgs: readonly string[], bundle: string): Record<string, number> {
  const dir = mkdtempSync(join(tmpdir(), 'cc-bench-prof-'));
  try {
    spawnSync(
      process.execPath,
      ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=100', ...importArgs],
      {
        stdio: 'ignore',
        cwd: PROJECT_ROOT,
      },
    );
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) return {};
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const bundleUrl = pathToFileURL(bundle).href;
    const categories: Record<string, number> = {};
    profile.samples.forEach((id, i) => {
      const frame = byId.get(id)?.callFrame;
      let category = 'other (Node start-up, module loader)';
      if (frame?.functionName === 'compileSourceTextModule') category = 'parse and compile the bundle';
      else if (frame?.functionName === '(garbage collector)') category = 'garbage collection';
      else if (frame?.functionName === '(idle)' || frame?.functionName === '(program)')
        category = 'idle / program';
      else {
        for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
          const f = byId.get(cur)?.callFrame;
          if (f?.url === bundleUrl) {
            category = "the bundle's top-level code";
            break;
          }
          if (
            f?.functionName.startsWith('compileForInternalLoader') ||
            f?.functionName === 'requireBuiltin'
          ) {
            category = 'Node built-in modules it loads';
            break;
          }
        }
      }
      categories[category] = (categories[category] ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000;
    });
    return categories;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function measureColdStart(runs: number): Promise<ColdStart> {
  const { file, bytes } = await buildHandler();
  const importArgs = [
    '--input-type=module',
    '-e',
    `await import(${JSON.stringify(pathToFileURL(file).href)})`,
  ];
  // One warm-up of each (file cache), then interleaved runs.
  timeProcess(['-e', '0']);
  timeProcess(importArgs);
  const cacheDir = mkdtempSync(join(tmpdir(), 'cc-bench-compile-cache-'));
  const cached = { ...process.env, NODE_COMPILE_CACHE: cacheDir };
  timeProcess(importArgs, cached);
  const bare: number[] = [];
  const imported: number[] = [];
  const importedCached: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      bare.push(timeProcess(['-e', '0']));
      imported.push(timeProcess(importArgs));
      importedCached.push(timeProcess(importArgs, cached));
    }
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
  return {
    bundleBytes: bytes,
    bundleGzipBytes: gzipSync(readFileSync(file)).length,
    runs,
    bareNodeMs: median(bare),
    importMs: median(imported),
    importCachedMs: median(importedCached),
    composition: (await composition()).slice(0, 10),
    profile: profileImport(importArgs, file),
  };
}
