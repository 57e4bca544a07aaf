import { spawnSync } from 'node:child_process';

export interface GpuInfo {
  readonly index: number;
  readonly name: string;
  readonly memoryTotalMb: number;
  readonly memoryFreeMb: number;
  readonly utilizationPercent: number;
}

/** Parses `nvidia-smi --query-gpu=index,name,memory.total,memory.free,utilization.gpu --format=csv,noheader,nounits`. */
export function parseNvidiaSmi(csv: string): GpuInfo[] {
  return csv
    .split('\n')
    .map((line) => line.split(',').map((field) => field.trim()))
    .filter((fields) => fields.length >= 5 && /^\d+$/.test(fields[0] ?? ''))
    .map(([index, name, total, free, utilization]) => ({
      index: Number(index),
      name: name ?? '',
      memoryTotalMb: Number(total),
      memoryFreeMb: Number(free),
      utilizationPercent: Number(utilization),
    }));
}

/** The GPUs nvidia-smi sees; undefined when there is no nvidia-smi (a machine without NVIDIA GPUs). */
export function probeGpus(): GpuInfo[] | undefined {
  const result = spawnSync(
    'nvidia-smi',
    ['--query-gpu=index,name,memory.total,memory.free,utilization.gpu', '--format=csv,noheader,nounits'],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (result.error || result.status !== 0) return undefined;
  return parseNvidiaSmi(result.stdout);
}
