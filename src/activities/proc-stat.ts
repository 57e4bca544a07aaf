import { readFileSync } from 'node:fs';

/** The fields of /proc/<pid>/stat that Sweep reads (proc(5)). */
export interface ProcStat {
  readonly comm: string;
  /** R, S, D, Z (zombie: exited, not yet reaped) … */
  readonly state: string;
  readonly ppid: number;
  readonly pgid: number;
  /** Start time in clock ticks since boot (field 22): tells a process from a later one with the same PID. */
  readonly startTicks: string;
  /** CPU time in clock ticks (fields 14–17): its own user and system time, and that of its reaped children. */
  readonly cpuTicks: { readonly own: number; readonly children: number };
}

/** A process's stat line, or undefined when it is gone. The name may hold spaces and ")", so split after the last. */
export function procStat(pid: number): ProcStat | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const nameEnd = stat.lastIndexOf(')');
  // Fields from the third (state) on.
  const fields = stat.slice(nameEnd + 2).split(' ');
  return {
    comm: stat.slice(stat.indexOf('(') + 1, nameEnd),
    state: fields[0] ?? '',
    ppid: Number(fields[1]),
    pgid: Number(fields[2]),
    startTicks: fields[19] ?? '',
    cpuTicks: {
      own: Number(fields[11]) + Number(fields[12]),
      children: Number(fields[13]) + Number(fields[14]),
    },
  };
}
