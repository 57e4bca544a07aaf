import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { connectClient } from '../../temporal/connection-config.js';
import { CONTROL_QUEUE } from '../../temporal/names.js';
import { addConnectionOptions, connectionFromOptions } from '../connection-flags.js';
import { FolderQueue, type LogLevel } from '../folder-queue.js';
import { parseCount, parsePositive } from '../option-parsers.js';
import { DEFAULT_SWEEP_OPTIONS } from '../sweep-client.js';
import { runWorkerCommand } from './worker.js';

interface QueueOptions {
  gpu?: number;
  cpu: boolean;
  wait: number;
  controlQueue: string;
  killGrace: number;
}

/** `2019-05-25 17:55:12 INFO: Running job script01.sh...`, as jobdispatcher's logfile.txt read. */
function logLine(level: LogLevel, text: string, now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`;
  return `${stamp} ${level}: ${text}\n`;
}

async function runQueue(dirArgument: string, options: QueueOptions, command: Command): Promise<void> {
  if ((options.gpu === undefined) === !options.cpu)
    throw new UsageError('queue: give --gpu N (or --cpu, for a queue with no GPU)');
  mkdirSync(dirArgument, { recursive: true });
  const dir = realpathSync(resolve(dirArgument));
  // The folder's own pool: its scripts run on this dispatcher's worker and nowhere else.
  const pool = `folder-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}`;
  const dataDir = join(dir, '.sweep');
  const logFile = join(dir, 'logfile.txt');
  const log = (level: LogLevel, text: string) => {
    const line = logLine(level, text);
    appendFileSync(logFile, line);
    process.stderr.write(line);
  };
  const client = await connectClient(connectionFromOptions(command.opts()));
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const queue = new FolderQueue(client, {
    dir,
    trialsDir: join(dataDir, 'trials'),
    pollMs: options.wait * 1000,
    log,
    sweepOptions: {
      ...DEFAULT_SWEEP_OPTIONS,
      window: 1,
      pool,
      controlQueue: options.controlQueue,
    },
  });
  const dispatching = queue.run(stopped);
  try {
    // One script at a time on the GPU, as jobdispatcher ran them: one slot, nothing held ready behind it.
    await runWorkerCommand(
      {
        ...(options.gpu === undefined ? { cpuSlots: 1 } : { gpu: options.gpu }),
        slots: 1,
        label: [],
        measureEvery: 3,
        prefetch: false,
        pool,
        controlQueue: options.controlQueue,
        dataDir,
        killGrace: options.killGrace,
        workflows: true,
        verbose: false,
      },
      command,
    );
  } finally {
    stop();
    await dispatching;
    await client.connection.close();
  }
}

export function registerQueueCommand(program: Command): void {
  addConnectionOptions(program.command('queue'))
    .argument('<dir>', 'the queue folder: drop *.sh into <dir>/queue/; they end in completed/ or failed/')
    .option('--gpu <index>', 'the GPU its scripts run on (they see only this one)', parseCount(0))
    .option('--cpu', 'a queue with no GPU', false)
    .option('--wait <seconds>', 'how often queue/ is looked at', parsePositive, 1)
    .option('--control-queue <name>', "queue of the sweep workflow tasks; must match the workers'", CONTROL_QUEUE)
    .option('--kill-grace <seconds>', 'time between SIGTERM and SIGKILL when a script is stopped', parseCount(0), 10)
    .description("jobdispatcher's folder queue: scripts dropped into <dir>/queue/ run one by one, durably, as sweeps")
    .action(runQueue);
}
