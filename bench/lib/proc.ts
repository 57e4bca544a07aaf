import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { procStat } from '../../src/activities/proc-stat.js';

/**
 * PIDs of live processes whose command line contains `text`, and whose program is `program` when given (read from
 * /proc: no process is spawned per look).
 */
export function processesWith(text: string, program?: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(text) && (!program || cmdline.startsWith(`${program}\0`))) pids.push(Number(entry));
    } catch {
      // Exited while we looked.
    }
  }
  return pids.filter((pid) => pid !== process.pid);
}

/** PIDs of live processes whose environment has `name=value`. */
export function processesWithEnv(name: string, value: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => pid !== process.pid && environOf(pid, name) === value);
}

/** One variable of a process's environment, or undefined. */
export function environOf(pid: number, name: string): string | undefined {
  try {
    const entry = readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .find((item) => item.startsWith(`${name}=`));
    return entry?.slice(name.length + 1);
  } catch {
    return undefined;
  }
}

export function parentOf(pid: number): number | undefined {
  return procStat(pid)?.ppid;
}

/** Peak resident memory of a live process, in MiB. */
export function peakRssMiB(pid: number): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((item) => item.startsWith('VmHWM:'));
    return line ? Number(line.replace(/\D+/g, ' ').trim()) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Trial processes: live `bash …<marker>…` processes, without the copies bash forks for a moment before each
 * exec (a child whose parent is itself one of them), so a scan counts attempts, not forks.
 */
export function trialProcesses(marker: string): number[] {
  const matching = processesWith(marker, 'bash');
  return matching.filter((pid) => !matching.includes(parentOf(pid) ?? -1));
}

/** CPU time, in ms: the processes' own, and that of the children they reaped (trials, supervisors, helpers). */
export interface CpuUse {
  readonly ownMs: number;
  readonly childrenMs: number;
}

const TICK_MS = 1000 / (Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100);

/**
 * The CPU time used so far by the processes `roots` and every live descendant of theirs (one scan of /proc). Two
 * readings around a run give what the run cost: a process that exited meanwhile is in its parent's children.
 */
export function cpuOfTrees(roots: readonly number[]): CpuUse {
  const parents = new Map<number, number>();
  const stats = new Map<number, NonNullable<ReturnType<typeof procStat>>>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (!stat) continue;
    stats.set(Number(entry), stat);
    parents.set(Number(entry), stat.ppid);
  }
  const inTree = (pid: number): boolean => {
    for (let at: number | undefined = pid; at !== undefined && at > 1; at = parents.get(at)) {
      if (roots.includes(at)) return true;
    }
    return false;
  };
  let own = 0;
  let children = 0;
  for (const [pid, stat] of stats) {
    if (!inTree(pid)) continue;
    own += stat.cpuTicks.own;
    children += stat.cpuTicks.children;
  }
  return { ownMs: own * TICK_MS, childrenMs: children * TICK_MS };
}

/** What a run cost between two readings of `cpuOfTrees`. */
export function cpuBetween(before: CpuUse, after: CpuUse): CpuUse {
  return { ownMs: after.ownMs - before.ownMs, childrenMs: after.childrenMs - before.childrenMs };
}
