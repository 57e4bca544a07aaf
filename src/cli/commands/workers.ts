import type { Command } from 'commander';
import { DEFAULT_POOL } from '../../temporal/names.js';
import { formatMib } from '../../workflows/resource-request.js';
import type { WorkerCapacity } from '../../workers/placement-fit.js';
import { addConnectionOptions } from '../connection-flags.js';
import { registeredWorkers } from '../pool-capacity.js';
import { formatDuration, formatTable } from '../table.js';
import { withClient } from '../with-client.js';
import { ExitError } from '../../errors.js';

/** `2× NVIDIA A100-SXM4-80GB (80 GiB)`, or `none`. */
function gpusCell(capacity: WorkerCapacity): string {
  const groups = new Map<string, number>();
  for (const gpu of capacity.gpus) {
    const key = `${gpu.name}${gpu.memoryTotalMib === undefined ? '' : ` (${formatMib(gpu.memoryTotalMib)})`}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return [...groups].map(([key, count]) => `${count}× ${key}`).join(', ') || 'none';
}

async function showWorkers(command: Command, pool: string, json: boolean): Promise<void> {
  await withClient(command, async (client) => {
    const workers = await registeredWorkers(client, pool);
    if (!workers) {
      throw new ExitError(
        'workers: this server does not list workers (it needs worker heartbeats and ListWorkers enabled)',
        1,
      );
    }
    if (json) {
      process.stdout.write(`${JSON.stringify(workers)}\n`);
      return;
    }
    if (workers.length === 0) {
      process.stdout.write(`no live worker in pool "${pool}"\n`);
      return;
    }
    const now = Date.now();
    const header = ['worker', 'host', 'gpus', 'slots/gpu', 'cpu slots', 'cores', 'ram', 'whole host', 'labels', 'seen'];
    const rows = workers.map(({ capacity, hostName, heartbeatAt }) => [
      capacity.name,
      hostName,
      gpusCell(capacity),
      capacity.gpus.length ? String(capacity.slotsPerGpu) : '',
      String(capacity.cpuSlots),
      String(capacity.cores),
      formatMib(capacity.memoryTotalMib),
      capacity.ownsHost ? 'yes' : 'no',
      Object.entries(capacity.labels)
        .map(([name, value]) => `${name}=${value}`)
        .join(' '),
      `${formatDuration(now - heartbeatAt)} ago`,
    ]);
    process.stdout.write(`${formatTable(header, rows)}\n`);
  });
}

export function registerWorkersCommand(program: Command): void {
  addConnectionOptions(program.command('workers'))
    .description("the pool's live workers and what each owns (GPUs, slots, RAM, labels), from their heartbeats")
    .option('--pool <name>', 'the pool', DEFAULT_POOL)
    .option('--json', 'print the workers as JSON', false)
    .action((options: { pool: string; json: boolean }, command: Command) =>
      showWorkers(command, options.pool, options.json),
    );
}
