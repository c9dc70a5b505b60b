/**
 * A CPU profile (`--cpu-prof`) of a measured process, summed by the package its code comes from: every
 * sample goes to the innermost frame of the bundled child (bench/child.ts bundled by esbuild, whose
 * output marks each module with a `// node_modules/<package>/…` or `// src/<folder>/…` line), so time
 * spent in Node's internals counts for the package that called them.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
    positionTicks?: { line: number; ticks: number }[];
  }[];
  samples: number[];
  timeDeltas: number[];
}

/** CPU ms by package, largest first. */
export function profileByPackage(profileFile: string, bundleFile: string): [string, number][] {
  const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as CpuProfile;
  const starts: [number, string][] = [];
  readFileSync(bundleFile, 'utf8')
    .split('\n')
    .forEach((line, index) => {
      const match = /^\/\/ (node_modules\/((?:@[^/]+\/)?[^/]+)|src\/([a-z-]+)|bench\/)/.exec(line);
      if (!match) return;
      const name = match[2] ?? (match[3] ? `cred-courier src/${match[3]}` : 'bench harness');
      starts.push([index, name]);
    });
  const packageAt = (line: number): string => {
    let low = 0;
    let high = starts.length - 1;
    let found = "esbuild's module wrappers (module loading)";
    while (low <= high) {
      const mid = (low + high) >> 1;
      const [start, name] = starts[mid] as [number, string];
      if (start <= line) {
        found = name;
        low = mid + 1;
      } else high = mid - 1;
    }
    return found;
  };
  const bundleUrl = pathToFileURL(bundleFile).href;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const totals = new Map<string, number>();
  const add = (name: string, ms: number) => totals.set(name, (totals.get(name) ?? 0) + ms);
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)?.callFrame;
      if (frame?.url === bundleUrl) {
        // Top-level module code runs in one frame at line 0: its position ticks say which module.
        const ticks = cur === id ? byId.get(cur)?.positionTicks : undefined;
        if (frame.lineNumber === 0 && ticks?.length) {
          const all = ticks.reduce((a, t) => a + t.ticks, 0);
          for (const t of ticks) add(packageAt(t.line - 1), (ms * t.ticks) / all);
        } else add(packageAt(frame.lineNumber), ms);
        return;
      }
    }
    const name = byId.get(id)?.callFrame.functionName ?? '';
    if (name === '(idle)') add('idle (waiting for the network)', ms);
    else if (name === '(garbage collector)') add('garbage collection', ms);
    else if (name.startsWith('compile')) add('compiling modules', ms);
    else add('Node internals run from the event loop (sockets, TLS, HTTP/2 frames)', ms);
  });
  return [...totals].sort((a, b) => b[1] - a[1]);
}
