import { spawnSync } from 'node:child_process';

/** One GPU, or one MIG device, as nvidia-smi lists it. Memory in MiB, nvidia-smi's unit. */
export interface GpuInfo {
  /** nvidia-smi's index; for a MIG device, the index of the GPU it is part of. */
  readonly index: number;
  /** `GPU-…`, or `MIG-…` for a MIG device: what CUDA_VISIBLE_DEVICES takes for a MIG device. */
  readonly uuid: string;
  /** May contain commas. */
  readonly name: string;
  readonly mig: boolean;
  /** Undefined where nvidia-smi says `[N/A]` or `[Not Supported]`. */
  readonly memoryTotalMib: number | undefined;
  readonly memoryFreeMib: number | undefined;
  readonly utilizationPercent: number | undefined;
}

/** A process using a GPU: another user's job, or one of Sweep's trials, told apart later by its process group. */
export interface GpuProcess {
  readonly gpuUuid: string;
  readonly pid: number;
  /** Undefined where nvidia-smi cannot say (`[N/A]`: some drivers and containers). */
  readonly usedMemoryMib: number | undefined;
}

export const GPU_QUERY_ARGS = [
  '--query-gpu=index,uuid,name,memory.total,memory.free,utilization.gpu',
  '--format=csv,noheader,nounits',
] as const;

export const COMPUTE_APPS_QUERY_ARGS = [
  '--query-compute-apps=gpu_uuid,pid,used_memory',
  '--format=csv,noheader,nounits',
] as const;

/** A number, or undefined for nvidia-smi's `[N/A]`, `[Not Supported]`, `[Unknown Error]` and the like. */
function measured(field: string | undefined): number | undefined {
  const text = field?.trim() ?? '';
  return /^\d+(\.\d+)?$/.test(text) ? Number(text) : undefined;
}

function lines(csv: string): string[] {
  return csv.split(/\r?\n/).filter((line) => line.trim() !== '');
}

/**
 * Parses {@link GPU_QUERY_ARGS}' output. A name may contain commas, so the index and uuid are read from the
 * front, the three figures from the back, and the name is what lies between. Lines that are not a GPU
 * (warnings, `No devices were found`) are skipped.
 */
export function parseNvidiaSmi(csv: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const line of lines(csv)) {
    const fields = line.split(',');
    if (fields.length < 6) continue;
    // `N`, or `N:M` where a driver lists a MIG device by its GPU and instance.
    const index = /^(\d+)(:\d+)?$/.exec(fields[0]?.trim() ?? '');
    const uuid = fields[1]?.trim() ?? '';
    if (!index || !/^(GPU|MIG)-\S+$/.test(uuid)) continue;
    const [total, free, utilization] = fields.slice(-3);
    gpus.push({
      index: Number(index[1]),
      uuid,
      name: fields.slice(2, -3).join(',').trim(),
      mig: uuid.startsWith('MIG-'),
      memoryTotalMib: measured(total),
      memoryFreeMib: measured(free),
      utilizationPercent: measured(utilization),
    });
  }
  return gpus;
}

/** Parses {@link COMPUTE_APPS_QUERY_ARGS}' output; lines that are not a process are skipped. */
export function parseComputeApps(csv: string): GpuProcess[] {
  const processes: GpuProcess[] = [];
  for (const line of lines(csv)) {
    const [gpuUuid = '', pid = '', used] = line.split(',').map((field) => field.trim());
    if (!/^(GPU|MIG)-\S+$/.test(gpuUuid) || !/^\d+$/.test(pid)) continue;
    processes.push({ gpuUuid, pid: Number(pid), usedMemoryMib: measured(used) });
  }
  return processes;
}

/**
 * The GPUs nvidia-smi sees; undefined when there is no nvidia-smi (a machine without NVIDIA GPUs) or it fails.
 * Synchronous, for a command's start-up; a running worker measures with `GpuMonitor`, which never blocks.
 */
export function probeGpus(): GpuInfo[] | undefined {
  const result = spawnSync('nvidia-smi', GPU_QUERY_ARGS, { encoding: 'utf8', timeout: 30_000 });
  if (result.error || result.status !== 0) return undefined;
  return parseNvidiaSmi(result.stdout);
}
