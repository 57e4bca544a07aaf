import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, UsageError } from '../../errors.js';
import { defaultDataDir } from '../../server/data-dir.js';
import { CONTROL_QUEUE, DEFAULT_POOL } from '../../temporal/names.js';
import { probeGpus } from '../../workers/gpu-probe.js';
import { superviseWorkers } from '../../workers/gpu-supervisor.js';
import { defaultCpuQueueNames, lockQueue } from '../../workers/queue-lock.js';
import { runTrialWorker } from '../../workers/trial-worker.js';
import { addConnectionOptions, connectionFromOptions } from '../connection-flags.js';
import { parseCount } from '../option-parsers.js';

interface WorkerCommandOptions {
  gpu?: number;
  cpuSlots?: number;
  allGpus?: boolean;
  slots: number;
  prefetch: boolean;
  queue?: string;
  pool: string;
  controlQueue: string;
  dataDir: string;
  trialsDir?: string;
  killGrace: number;
  workflows: boolean;
  verbose: boolean;
}

/** The host part of default queue names: short hostname, lower case, safe in a task-queue name. */
function hostLabel(): string {
  return (hostname().split('.')[0] ?? 'host').toLowerCase().replace(/[^a-z0-9-]/g, '-');
}

export async function runWorkerCommand(options: WorkerCommandOptions, command: Command): Promise<void> {
  const modes = [options.gpu !== undefined, options.cpuSlots !== undefined, options.allGpus === true].filter(Boolean);
  if (modes.length !== 1) throw new UsageError('worker: give exactly one of --gpu N, --cpu-slots N or --all-gpus');

  if (options.allGpus) {
    const gpus = probeGpus();
    if (!gpus || gpus.length === 0) {
      throw new ConfigError([
        'worker --all-gpus: nvidia-smi found no GPUs; on a machine without GPUs use --cpu-slots N',
      ]);
    }
    // Each GPU gets a child `sweep worker --gpu N` with the same flags.
    const passThrough = process.argv.slice(2).filter((arg) => arg !== '--all-gpus' && arg !== 'worker');
    const entry = process.argv[1] ?? '';
    await superviseWorkers(
      process.execPath,
      gpus.map((gpu) => ({
        label: `${hostLabel()}-gpu${gpu.index}`,
        args: [entry, 'worker', '--gpu', String(gpu.index), ...passThrough],
      })),
    );
    return;
  }

  if (options.gpu !== undefined) {
    const gpus = probeGpus();
    if (gpus && !gpus.some((gpu) => gpu.index === options.gpu)) {
      throw new ConfigError([
        `worker --gpu ${options.gpu}: nvidia-smi lists GPUs ${gpus.map((gpu) => gpu.index).join(', ') || '(none)'}`,
      ]);
    }
  }
  const cpu = options.cpuSlots !== undefined;
  const connection = connectionFromOptions(command.opts());
  const stateDir = join(options.dataDir, 'workers');
  // A GPU's default name is its own; CPU workers on one host may be several, so theirs count up.
  const names = options.queue
    ? [options.queue]
    : cpu
      ? defaultCpuQueueNames(`${hostLabel()}-cpu`)
      : [`${hostLabel()}-gpu${options.gpu}`];
  const { name } = lockQueue(stateDir, names);
  await runTrialWorker({
    connection,
    name,
    visibleDevices: cpu ? '' : String(options.gpu),
    slots: cpu ? (options.cpuSlots ?? 1) : options.slots,
    prefetch: options.prefetch,
    pool: options.pool,
    controlQueue: options.controlQueue,
    trialsDir: options.trialsDir ?? join(options.dataDir, 'trials'),
    stateDir,
    killGraceMs: options.killGrace * 1000,
    runWorkflows: options.workflows,
    verbose: options.verbose,
    onReady: (line) => process.stdout.write(`${line}\n`),
  });
}

export function registerWorkerCommand(program: Command): void {
  addConnectionOptions(program.command('worker'))
    .description('run trials on this machine: one worker process per GPU (or CPU slots), polling its pool')
    .option('--gpu <index>', 'the GPU this worker owns: its trials see only this GPU', parseCount(0))
    .option('--all-gpus', 'one supervised worker per GPU that nvidia-smi lists')
    .option('--cpu-slots <n>', 'run up to N trials at once with no GPU visible (machines without GPUs)', parseCount(1))
    .option('--slots <n>', 'trials sharing the GPU at once (small models)', parseCount(1), 1)
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
    .option('--kill-grace <seconds>', 'time between SIGTERM and SIGKILL when a trial is stopped', parseCount(0), 10)
    .option('--no-workflows', 'run trials only, no sweep workflow tasks')
    .option('--verbose', 'log the Temporal SDK at INFO', false)
    .action(runWorkerCommand);
}
