/**
 * Where the machine's CPU went during a run (Linux /proc): the whole machine, and per process group of
 * the rig (apiservers, etcd, moto, controller managers) and of the bench itself (the proxy).
 */
import { readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

function machineTicks(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

function processTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

function groupOf(pid: number): string {
  let comm = '';
  try {
    comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return 'gone';
  }
  if (comm.startsWith('kube-apiserver')) return 'apiservers';
  if (comm.startsWith('kube-controller')) return 'controller managers';
  if (comm.startsWith('etcd')) return 'etcd';
  if (comm.startsWith('python')) return 'moto';
  return comm;
}

export interface CpuSample {
  readonly machine: { busy: number; total: number };
  readonly groups: Record<string, number>;
}

export function sampleCpu(rigPids: readonly number[]): CpuSample {
  const groups: Record<string, number> = { 'bench process (proxy)': processTicks(process.pid) };
  for (const pid of rigPids) {
    const group = groupOf(pid);
    groups[group] = (groups[group] ?? 0) + processTicks(pid);
  }
  return { machine: machineTicks(), groups };
}

export interface CpuUse {
  /** CPU the whole machine spent, ms (all cores). */
  readonly machineBusyMs: number;
  /** Cores the machine has. */
  readonly cores: number;
  /** CPU ms per group between the two samples. */
  readonly groups: Record<string, number>;
}

export function cpuBetween(before: CpuSample, after: CpuSample, cores: number): CpuUse {
  const groups: Record<string, number> = {};
  for (const [group, ticks] of Object.entries(after.groups))
    groups[group] = (ticks - (before.groups[group] ?? 0)) * TICK_MS;
  return { machineBusyMs: (after.machine.busy - before.machine.busy) * TICK_MS, cores, groups };
}
