// Workload 5: `sweep signal update` (the broadcastUpdate Update) to K running Python trials; time until every
// process's on_update callback has it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { broadcastUpdate } from '../../src/workflows/messages.js';
import { until } from '../lib/processes.js';
import { report } from '../lib/report.js';
import { fixed, percentile } from '../lib/stats.js';
import type { SweepCluster } from '../lib/sweep-cluster.js';

/** Fixed, spread pauses before each update (ms): reproducible, and never in step with the check timer. */
const JITTER_MS = [0, 370, 130, 440, 60, 250, 310, 190, 480, 20];

const UPDATE_TRIAL = fileURLToPath(new URL('../update_trial.py', import.meta.url));

/** (trial, version) → when the trial's process received it, epoch ms. */
function receipts(file: string): Map<string, number> {
  const seen = new Map<string, number>();
  if (!existsSync(file)) return seen;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [trial, version, at] = line.split(' ');
    if (at) seen.set(`${trial}/${version}`, Number(at) * 1000);
  }
  return seen;
}

export async function broadcastWorkload(
  cluster: SweepCluster,
  workDir: string,
  options: { trials: number; updates: number },
): Promise<void> {
  const { trials, updates } = options;
  const pool = cluster.newPool();
  const worker = await cluster.startWorker(pool, `${pool}-w`, trials);
  const records = join(workDir, 'broadcast.records');
  const spec = [
    'name: broadcast',
    `command: [python3, ${JSON.stringify(UPDATE_TRIAL)}, ${JSON.stringify(records)}]`,
    'args: none',
    'parameters:',
    `  i: { range: [0, ${trials}] }`,
    '',
  ].join('\n');
  const sweepId = await cluster.startSweep(spec, pool);
  const handle = cluster.client.workflow.getHandle(sweepId);
  const everyone = (version: number) => () => {
    const seen = receipts(records);
    return Array.from({ length: trials }, (_, trial) => seen.has(`${trial}/${version}`)).every(Boolean);
  };
  const allMs: number[] = [];
  const eachMs: number[] = [];
  try {
    if (!(await until(everyone(0), 60_000))) throw new Error('broadcast: the trials did not all start');
    for (let version = 1; version <= updates; version++) {
      if (version === 1) process.stderr.write(`bench: broadcast: ${updates} updates to ${trials} trials…\n`);
      // Sent at a random point of the workers' check interval, as a researcher's update would be.
      await new Promise((resolve) => setTimeout(resolve, JITTER_MS[version % JITTER_MS.length]));
      const sentAt = Date.now();
      await handle.executeUpdate(broadcastUpdate, { args: [{ step: version }] });
      if (!(await until(everyone(version), 30_000))) throw new Error(`broadcast: update ${version} did not reach all`);
      const seen = receipts(records);
      const latencies = Array.from({ length: trials }, (_, trial) => (seen.get(`${trial}/${version}`) ?? 0) - sentAt);
      eachMs.push(...latencies);
      allMs.push(Math.max(...latencies));
    }
  } finally {
    await handle.cancel();
    await handle.result().catch(() => undefined);
    await cluster.stopWorker(worker);
  }
  report(
    'broadcast-latency',
    `Broadcast: ${updates} updates to ${trials} running Python trials (update sent → on_update called)`,
    {
      header: ['measure', 'p50 ms', 'p95 ms', 'max ms'],
      rows: [
        [
          'every trial has it',
          fixed(percentile(allMs, 50), 0),
          fixed(percentile(allMs, 95), 0),
          fixed(Math.max(...allMs), 0),
        ],
        [
          'one trial has it',
          fixed(percentile(eachMs, 50), 0),
          fixed(percentile(eachMs, 95), 0),
          fixed(Math.max(...eachMs), 0),
        ],
      ],
    },
    { trials, updates, allTrialsMs: allMs, perTrialMs: eachMs },
  );
}
