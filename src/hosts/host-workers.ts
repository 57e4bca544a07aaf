// Which workers `sweep hosts up` runs on a host, from the inventory and what the host really has: one worker per
// GPU (`<host>-gpu<N>`), the GPUs chosen as the inventory says (all, a list, or the `max_gpus` with the most free
// memory above `min_gpu_memory`), and a CPU worker (`<host>-cpu`) where the host has no GPU or CPU slots are
// asked for. Pure: the probe and the paths come in, argv lists go out.
import type { GpuInfo } from '../workers/gpu-probe.js';
import type { InventoryHost } from './inventory.js';

export interface RemoteLayout {
  /** The host's node binary. */
  readonly node: string;
  /** `<bundle>/bin/sweep.js` on the host. */
  readonly sweepBin: string;
  /** Worker state (locks, registries): `~/.sweep/data`, removed by `down`. */
  readonly dataDir: string;
  /** Trial directories: kept by `down` (they are the user's results) unless `--purge`. */
  readonly trialsDir: string;
  /** The synced project: trials run here. */
  readonly projectDir: string;
}

export interface HostWorker {
  /** Its queue and the supervisor's name for it. */
  readonly name: string;
  readonly gpu?: number;
  readonly argv: readonly string[];
  readonly cwd: string;
}

export type GpuChoice = { readonly gpus: readonly number[] } | { readonly problem: string };

/** The GPU indices a host's workers own, or why the inventory's choice cannot be met. */
export function chooseGpus(host: InventoryHost, found: readonly GpuInfo[]): GpuChoice {
  // A MIG device is listed under its GPU's index; one worker owns the whole GPU.
  const byIndex = new Map<number, GpuInfo>();
  for (const gpu of found) if (!byIndex.has(gpu.index) || !gpu.mig) byIndex.set(gpu.index, gpu);
  const indices = [...byIndex.keys()].sort((a, b) => a - b);
  if (host.gpus !== 'all') {
    const missing = host.gpus.filter((index) => !byIndex.has(index));
    if (missing.length > 0) {
      const has = indices.length ? `it has ${indices.join(',')}` : 'nvidia-smi lists none';
      return { problem: `gpus: GPU ${missing.join(',')} is not on this host (${has})` };
    }
    return { gpus: [...host.gpus].sort((a, b) => a - b) };
  }
  const minimum = host.minGpuMemoryMb;
  // Decimal MB in the inventory, MiB from nvidia-smi.
  const enough = (gpu: GpuInfo) =>
    minimum === undefined || (gpu.memoryFreeMib !== undefined && gpu.memoryFreeMib * 1.048576 >= minimum);
  const eligible = indices.map((index) => byIndex.get(index)).filter((gpu): gpu is GpuInfo => !!gpu && enough(gpu));
  const chosen =
    host.maxGpus === undefined
      ? eligible
      : [...eligible].sort((a, b) => (b.memoryFreeMib ?? 0) - (a.memoryFreeMib ?? 0)).slice(0, host.maxGpus);
  return { gpus: chosen.map((gpu) => gpu.index).sort((a, b) => a - b) };
}

/** The worker processes for `host`, given the GPUs it owns and its core count. */
export function hostWorkers(
  host: InventoryHost,
  gpus: readonly number[],
  cores: number,
  layout: RemoteLayout,
): HostWorker[] {
  const common = [
    '--pool',
    host.pool,
    '--label',
    `host=${host.name}`,
    ...Object.entries(host.labels).flatMap(([label, value]) => ['--label', `${label}=${value}`]),
    '--data-dir',
    layout.dataDir,
    '--trials-dir',
    layout.trialsDir,
    '--project-dir',
    layout.projectDir,
    // A worker class loads from the project copy, its init data too.
    ...(host.python ? ['--python', host.python] : []),
    ...(host.init ? ['--init', `${layout.projectDir}/${host.init}`] : []),
  ];
  const worker = (name: string, own: string[], gpu?: number): HostWorker => ({
    name,
    ...(gpu === undefined ? {} : { gpu }),
    argv: [layout.node, layout.sweepBin, 'worker', ...own, '--queue', name, ...common],
    cwd: layout.projectDir,
  });
  const workers = gpus.map((gpu) => worker(`${host.name}-gpu${gpu}`, ['--gpu', String(gpu)], gpu));
  // A class worker runs one trial at a time; a CPU-only host gets one such worker.
  const cpuSlots = host.cpuSlots ?? (gpus.length === 0 ? (host.python ? 1 : cores) : 0);
  if (cpuSlots > 0) workers.push(worker(`${host.name}-cpu`, ['--cpu-slots', String(cpuSlots)]));
  return workers;
}
