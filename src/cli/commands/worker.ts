import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError, ExitError, UsageError } from '../../errors.js';
import { describeHolder, ExclusiveLock } from '../../host/exclusive-lock.js';
import { defaultDataDir } from '../../server/data-dir.js';
import { CONTROL_QUEUE, DEFAULT_POOL } from '../../temporal/names.js';
import { GpuMonitor } from '../../workers/gpu-monitor.js';
import { probeGpus, type GpuInfo } from '../../workers/gpu-probe.js';
import { defaultCpuQueueNames, lockQueue } from '../../workers/queue-lock.js';
import { runTrialWorker } from '../../workers/trial-worker.js';
import { addConnectionOptions, connectionFromOptions } from '../connection-flags.js';
import { readTextFile } from '../spec-file.js';
import { workerClassSchema } from '../../sweep-spec/spec-schema.js';
import type { JsonValue } from '../../sweep-spec/spec-types.js';
import { WorkerClassHost } from '../../worker-class/class-process.js';
import { parseCount, parsePositive } from '../option-parsers.js';

export interface WorkerCommandOptions {
  gpu?: number;
  gpus?: number[];
  allGpus?: boolean;
  cpuSlots?: number;
  slots: number;
  label: string[];
  measureEvery: number;
  prefetch: boolean;
  queue?: string;
  pool: string;
  controlQueue: string;
  dataDir: string;
  trialsDir?: string;
  projectDir?: string;
  killGrace: number;
  workflows: boolean;
  verbose: boolean;
  /** `module:Class`: run trials of that worker class in one persistent Python process. */
  python?: string;
  /** A JSON file: the class's `__init__` data when a sweep brings none. */
  init?: string;
}

/** The host part of default queue names: short hostname, lower case, safe in a task-queue name. */
function hostLabel(): string {
  return (hostname().split('.')[0] ?? 'host').toLowerCase().replace(/[^a-z0-9-]/g, '-');
}

/** `--gpus 0,2` → [0, 2]. */
function parseGpuList(value: string): number[] {
  if (!/^\d+(,\d+)*$/.test(value)) throw new InvalidArgumentError('expected GPU indices like 0,1,3.');
  return [...new Set(value.split(',').map(Number))];
}

/** `--label gpu_model=A100`, repeatable. */
function parseLabel(value: string, previous: string[]): string[] {
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*=.+$/.test(value))
    throw new InvalidArgumentError('expected NAME=VALUE, e.g. rack=r2.');
  return [...previous, value];
}

/** Which GPUs of those nvidia-smi lists this worker owns: the ones asked for, each checked. */
function ownedGpus(options: WorkerCommandOptions, listed: readonly GpuInfo[] | undefined): GpuInfo[] {
  const flag = options.allGpus
    ? '--all-gpus'
    : options.gpu !== undefined
      ? `--gpu ${options.gpu}`
      : `--gpus ${options.gpus?.join(',')}`;
  if (!listed || listed.length === 0) {
    throw new ConfigError([`worker ${flag}: nvidia-smi found no GPUs; on a machine without GPUs use --cpu-slots N`]);
  }
  if (options.allGpus) return [...listed];
  const wanted = options.gpu !== undefined ? [options.gpu] : (options.gpus ?? []);
  const missing = wanted.filter((index) => !listed.some((gpu) => gpu.index === index));
  if (missing.length > 0) {
    throw new ConfigError([`worker ${flag}: nvidia-smi lists GPUs ${listed.map((gpu) => gpu.index).join(', ')}`]);
  }
  return listed.filter((gpu) => wanted.includes(gpu.index));
}

/** Each GPU is owned by one worker of the host: a second one would place trials onto a GPU it cannot see used. */
function lockGpus(stateDir: string, name: string, gpus: readonly GpuInfo[]): void {
  for (const gpu of gpus) {
    const taken = ExclusiveLock.acquire(join(stateDir, `gpu-${gpu.uuid}.lock`), `worker ${name}`);
    if (taken instanceof ExclusiveLock) continue;
    throw new ExitError(
      `GPU ${gpu.index} is already owned by ${describeHolder(taken.heldBy, 'another worker')}; stop it first`,
      2,
    );
  }
}

/** `--init init.json`: any JSON, handed to `__init__`; a file that is no JSON says where. */
function readInitFile(file: string): JsonValue {
  const read = readTextFile(file, 'init data');
  if ('problem' in read) throw new ConfigError([`--init ${read.problem}`]);
  try {
    return JSON.parse(read.text) as JsonValue;
  } catch (error) {
    throw new ConfigError([`--init ${file}: not JSON: ${(error as Error).message}`]);
  }
}

/** Loads `--python module:Class` (a bad name fails now, before the worker polls) and builds it with `--init`. */
async function startWorkerClass(
  ref: string,
  options: WorkerCommandOptions,
  where: { readonly name: string; readonly cwd: string; readonly visibleDevices: string },
): Promise<WorkerClassHost> {
  if (!workerClassSchema.safeParse(ref).success) {
    throw new UsageError(`worker --python ${ref}: expected module:Class, e.g. train_worker:Trainer`);
  }
  if (options.gpus && options.gpus.length > 1) {
    throw new UsageError('worker --python: one class process per GPU: start a worker per GPU (--gpu 0, --gpu 1, …)');
  }
  if (options.allGpus || (options.cpuSlots ?? 1) > 1 || options.slots > 1) {
    throw new UsageError(
      'worker --python: one class process runs one trial at a time: give --gpu N (or --cpu-slots 1)',
    );
  }
  const defaultInit = options.init === undefined ? undefined : readInitFile(options.init);
  try {
    return await WorkerClassHost.start({
      ref,
      cwd: where.cwd,
      visibleDevices: where.visibleDevices,
      python: process.env.SWEEP_PYTHON ?? 'python3',
      worker: where.name,
      ...(defaultInit === undefined ? {} : { defaultInit }),
    });
  } catch (error) {
    throw new ExitError(`worker --python ${ref}: ${(error as Error).message}`, 2);
  }
}

export async function runWorkerCommand(options: WorkerCommandOptions, command: Command): Promise<void> {
  const gpuModes = [options.gpu !== undefined, options.gpus !== undefined, options.allGpus === true].filter(Boolean);
  if (gpuModes.length > 1) throw new UsageError('worker: give at most one of --gpu N, --gpus LIST and --all-gpus');
  const wantsGpus = gpuModes.length === 1;
  if (!wantsGpus && options.cpuSlots === undefined) {
    throw new UsageError('worker: give --gpu N, --gpus LIST, --all-gpus or --cpu-slots N');
  }
  const labels: Record<string, string> = { host: hostLabel() };
  for (const label of options.label) labels[label.slice(0, label.indexOf('='))] = label.slice(label.indexOf('=') + 1);

  // A CPU worker measures RAM only: it never runs nvidia-smi again after asking once which GPUs the host has.
  const monitor = new GpuMonitor({ intervalMs: options.measureEvery * 1000, gpus: wantsGpus });
  const first = await monitor.start();
  if (first.error) throw new ExitError(`worker: ${first.error.message}`, 1);
  const gpus = wantsGpus ? ownedGpus(options, first.gpus) : [];
  const hostGpus = wantsGpus ? first.gpus : probeGpus();
  const connection = connectionFromOptions(command.opts());
  const stateDir = join(options.dataDir, 'workers');
  const host = hostLabel();
  // A GPU's default name is its own; CPU workers on one host may be several, so theirs count up.
  const names = options.queue
    ? [options.queue]
    : !wantsGpus
      ? defaultCpuQueueNames(`${host}-cpu`)
      : options.allGpus
        ? [host]
        : [`${host}-gpu${gpus.map((gpu) => gpu.index).join('+')}`];
  const { name } = lockQueue(stateDir, names);
  lockGpus(stateDir, name, gpus);
  const projectDir = options.projectDir ? resolve(options.projectDir) : undefined;
  const workerClass = options.python
    ? await startWorkerClass(options.python, options, {
        name,
        cwd: projectDir ?? process.cwd(),
        visibleDevices: gpus.map((gpu) => (gpu.mig ? gpu.uuid : String(gpu.index))).join(','),
      })
    : undefined;
  await runTrialWorker({
    connection,
    name,
    gpus: gpus.map((gpu) => ({
      index: gpu.index,
      device: gpu.mig ? gpu.uuid : String(gpu.index),
      name: gpu.name,
      memoryTotalMib: gpu.memoryTotalMib,
    })),
    slotsPerGpu: workerClass ? 1 : options.slots,
    cpuSlots: workerClass && gpus.length === 0 ? 1 : (options.cpuSlots ?? 0),
    // Every GPU of the host is this worker's (or the host has none): it may give a trial the whole host.
    ownsHost: gpus.length === (hostGpus?.length ?? 0),
    labels,
    monitor,
    // The class process runs one trial at a time: nothing is held ready behind it.
    prefetch: options.prefetch && !workerClass,
    ...(workerClass ? { workerClass } : {}),
    pool: options.pool,
    controlQueue: options.controlQueue,
    trialsDir: options.trialsDir ?? join(options.dataDir, 'trials'),
    ...(projectDir ? { projectDir } : {}),
    stateDir,
    killGraceMs: options.killGrace * 1000,
    runWorkflows: options.workflows,
    verbose: options.verbose,
    onReady: (line) => process.stdout.write(`${line}\n`),
  });
}

export function registerWorkerCommand(program: Command): void {
  addConnectionOptions(program.command('worker'))
    .description('run trials on this machine: the GPUs it owns (or CPU slots), placing each trial where it fits')
    .option('--gpu <index>', 'the GPU this worker owns: its trials see only this GPU', parseCount(0))
    .option('--gpus <list>', 'the GPUs this worker owns, e.g. 0,1 (multi-GPU trials get several)', parseGpuList)
    .option('--all-gpus', 'own every GPU nvidia-smi lists (one worker for the host; may reserve the host)')
    .option(
      '--cpu-slots <n>',
      'run up to N trials at once with no GPU (gpus: 0; on machines without GPUs, all)',
      parseCount(1),
    )
    .option('--slots <n>', 'trials that ask for no particular hardware sharing each GPU at once', parseCount(1), 1)
    .option('--label <name=value>', 'a label trials may ask for (resources.labels), repeatable', parseLabel, [])
    .option(
      '--measure-every <seconds>',
      'how often GPU memory, utilisation, RAM and load are measured',
      parsePositive,
      3,
    )
    .option('--no-prefetch', 'do not hold the next trial ready behind each running one')
    .option('--queue <name>', "this worker's name (default <host>-gpu<N> or <host>-cpu)")
    .option('--pool <name>', 'the pool whose trials this worker runs', DEFAULT_POOL)
    .option(
      '--control-queue <name>',
      'queue of sweep workflow tasks (a separate one isolates a cluster)',
      CONTROL_QUEUE,
    )
    .option('--data-dir <dir>', 'where trial directories and worker state live', defaultDataDir())
    .option('--trials-dir <dir>', 'per-trial directories (put it on shared storage to resume on other hosts)')
    .option(
      '--project-dir <dir>',
      'run trials in this copy of the project (set by sweep hosts up), wherever they started',
    )
    .option('--kill-grace <seconds>', 'time between SIGTERM and SIGKILL when a trial is stopped', parseCount(0), 10)
    .option('--no-workflows', 'run trials only, no sweep workflow tasks')
    .option(
      '--python <module:Class>',
      'run trials of this Python worker class (worker_class: in a spec): __init__ once, run(**params) per trial',
    )
    .option('--init <file>', "a JSON file: the worker class's __init__ data when a sweep brings none")
    .option('--verbose', 'log the Temporal SDK at INFO', false)
    .action(runWorkerCommand);
}
