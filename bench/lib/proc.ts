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
