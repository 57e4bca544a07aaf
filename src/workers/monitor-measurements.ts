import { readFileSync } from 'node:fs';
import type { GpuMonitor, MonitorSnapshot } from './gpu-monitor.js';
import type { Measured } from './placement-fit.js';
import type { MeasurementSource } from './placer.js';

const MIB = 1024 * 1024;

/** The process group of a PID (field 5 of /proc/<pid>/stat, after the parenthesised name); undefined if gone. */
function processGroupOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const group = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    return Number.isInteger(group) ? group : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The placer's view of the GPU monitor: free memory and utilisation by GPU index, free RAM, and which GPU
 * processes are this worker's own trials (by process group), so that memory a trial already uses is not counted
 * twice against what it was promised. Another user's job needs no declaring: its memory is simply not free.
 */
export function monitorMeasurements(monitor: GpuMonitor): MeasurementSource {
  let groups: { snapshot: MonitorSnapshot | undefined; byPid: Map<number, number | undefined> } = {
    snapshot: undefined,
    byPid: new Map(),
  };
  const groupOf = (snapshot: MonitorSnapshot, pid: number) => {
    if (groups.snapshot !== snapshot) groups = { snapshot, byPid: new Map() };
    if (!groups.byPid.has(pid)) groups.byPid.set(pid, processGroupOf(pid));
    return groups.byPid.get(pid);
  };
  return {
    current(): Measured {
      const snapshot = monitor.snapshot;
      const gpus = snapshot?.gpus ?? [];
      return {
        gpuFreeMib: new Map(gpus.map((gpu) => [gpu.index, gpu.memoryFreeMib])),
        gpuUtilizationPercent: new Map(gpus.map((gpu) => [gpu.index, gpu.utilizationPercent])),
        memoryAvailableMib: snapshot ? snapshot.host.memoryAvailableBytes / MIB : undefined,
      };
    },
    usedByGroup(pgid) {
      const snapshot = monitor.snapshot;
      const used = new Map<number, number>();
      if (!snapshot?.gpus) return used;
      for (const process of snapshot.processes) {
        if (process.usedMemoryMib === undefined || groupOf(snapshot, process.pid) !== pgid) continue;
        const gpu = snapshot.gpus.find((candidate) => candidate.uuid === process.gpuUuid);
        if (gpu) used.set(gpu.index, (used.get(gpu.index) ?? 0) + process.usedMemoryMib);
      }
      return used;
    },
    refresh() {
      void monitor.measure();
    },
  };
}
