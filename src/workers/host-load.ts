import { readFile } from 'node:fs/promises';
import { availableParallelism, freemem, loadavg, totalmem } from 'node:os';

/** A host's free RAM and CPU load at one moment. */
export interface HostLoad {
  readonly at: number;
  /** CPUs this process may use (`os.availableParallelism()`). */
  readonly cpus: number;
  readonly loadAverage1m: number;
  /**
   * CPUs busy since the previous reading, in cores, from /proc/stat: every non-idle state counts (system, irq,
   * steal…), not only user time. Undefined on the first reading and where there is no /proc/stat.
   */
  readonly cpuBusyCores: number | undefined;
  readonly memoryTotalBytes: number;
  /** MemAvailable, or less where this process's cgroup memory limit leaves less. */
  readonly memoryAvailableBytes: number;
}

/** The aggregate `cpu` line of /proc/stat, in clock ticks since boot. */
export interface CpuTicks {
  readonly busy: number;
  readonly total: number;
  /** How many `cpuN` lines there are: the host's online CPUs. */
  readonly cpus: number;
}

/** MemTotal and MemAvailable of /proc/meminfo, in bytes; undefined when MemTotal is missing. */
export function parseMeminfo(text: string): { totalBytes: number; availableBytes: number } | undefined {
  const kib = new Map<string, number>();
  for (const match of text.matchAll(/^(\w+):\s+(\d+)\s*kB$/gm)) kib.set(match[1] ?? '', Number(match[2]));
  const total = kib.get('MemTotal');
  if (total === undefined) return undefined;
  // Kernels before 3.14 have no MemAvailable; free plus page cache is what it estimates.
  const available =
    kib.get('MemAvailable') ?? (kib.get('MemFree') ?? 0) + (kib.get('Buffers') ?? 0) + (kib.get('Cached') ?? 0);
  return { totalBytes: total * 1024, availableBytes: available * 1024 };
}

/** The first line of /proc/stat; idle and iowait are idle, guest time is already inside user and nice. */
export function parseProcStat(text: string): CpuTicks | undefined {
  const line = /^cpu\s+(.*)$/m.exec(text)?.[1];
  if (line === undefined) return undefined;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .map(Number);
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return { busy: total - idle - iowait, total, cpus: text.match(/^cpu\d+\s/gm)?.length ?? 0 };
}

/** Busy cores between two readings of /proc/stat; undefined when no tick passed between them. */
export function busyCoresBetween(before: CpuTicks, after: CpuTicks): number | undefined {
  const elapsed = after.total - before.total;
  if (elapsed <= 0) return undefined;
  return ((after.busy - before.busy) / elapsed) * after.cpus;
}

/**
 * The files that limit this process's memory, from /proc/self/cgroup: its own cgroup and every ancestor (a
 * limit may sit on a parent slice), for cgroup v2 (`0::/path`) and v1's memory controller.
 */
export function cgroupMemoryFiles(procSelfCgroup: string, root = '/sys/fs/cgroup'): { limit: string; usage: string }[] {
  const files: { limit: string; usage: string }[] = [];
  for (const line of procSelfCgroup.split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(\/.*)$/.exec(line.trim()) ?? [];
    if (path === undefined) continue;
    const v2 = controllers === '';
    if (!v2 && !controllers?.split(',').includes('memory')) continue;
    const base = v2 ? root : `${root}/memory`;
    for (let dir = path; ; dir = dir.slice(0, dir.lastIndexOf('/')) || '/') {
      const at = `${base}${dir === '/' ? '' : dir}`;
      files.push(
        v2
          ? { limit: `${at}/memory.max`, usage: `${at}/memory.current` }
          : { limit: `${at}/memory.limit_in_bytes`, usage: `${at}/memory.usage_in_bytes` },
      );
      if (dir === '/') break;
    }
  }
  return files;
}

/** A cgroup limit in bytes; undefined for `max` and v1's "unlimited" (a page-rounded 2^63). */
export function parseCgroupLimit(text: string): number | undefined {
  const value = text.trim();
  if (!/^\d+$/.test(value)) return undefined;
  const bytes = Number(value);
  return bytes >= 2 ** 60 ? undefined : bytes;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The least memory any of this process's cgroups leaves free; undefined where none sets a limit. */
async function cgroupHeadroomBytes(): Promise<number | undefined> {
  const cgroups = await readOptional('/proc/self/cgroup');
  if (cgroups === undefined) return undefined;
  let headroom: number | undefined;
  for (const { limit, usage } of cgroupMemoryFiles(cgroups)) {
    const max = parseCgroupLimit((await readOptional(limit)) ?? '');
    if (max === undefined) continue;
    const used = Number((await readOptional(usage))?.trim() ?? 0) || 0;
    headroom = Math.min(headroom ?? Infinity, Math.max(0, max - used));
  }
  return headroom;
}

/**
 * Reads the host's load. Pass the previous reading's `ticks` to get `cpuBusyCores` for the time in between.
 * Off Linux it falls back to what node:os says.
 */
export async function readHostLoad(
  previousTicks?: CpuTicks,
  now: () => number = Date.now,
): Promise<{ load: HostLoad; ticks: CpuTicks | undefined }> {
  const [meminfo, stat, headroom] = await Promise.all([
    readOptional('/proc/meminfo').then((text) => (text === undefined ? undefined : parseMeminfo(text))),
    readOptional('/proc/stat').then((text) => (text === undefined ? undefined : parseProcStat(text))),
    cgroupHeadroomBytes(),
  ]);
  const available = meminfo?.availableBytes ?? freemem();
  return {
    load: {
      at: now(),
      cpus: availableParallelism(),
      loadAverage1m: loadavg()[0] ?? 0,
      cpuBusyCores: previousTicks && stat ? busyCoresBetween(previousTicks, stat) : undefined,
      memoryTotalBytes: meminfo?.totalBytes ?? totalmem(),
      memoryAvailableBytes: headroom === undefined ? available : Math.min(available, headroom),
    },
    ticks: stat,
  };
}
