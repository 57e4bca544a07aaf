// Workload 6: a 10,000-trial grid of near-instant trials on 16 slots: per-trial overhead early vs late (flat is
// the goal), continue-as-new count, and the peak memory of the worker and of the CLI reading the results.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { sweepProgressQuery } from '../../src/workflows/messages.js';
import { readTrialRuns } from '../lib/records.js';
import { cpuBetween, cpuOfTrees, peakRssMiB } from '../lib/proc.js';
import { report } from '../lib/report.js';
import { fixed } from '../lib/stats.js';
import { SWEEP_BIN } from '../../test/helpers/processes.js';
import { sleepSpec, type SweepCluster } from '../lib/sweep-cluster.js';

/** Peak RSS (MiB) of a CLI command, via GNU time when it is installed. */
function cliPeakRssMiB(args: string[], address: string): number | undefined {
  const timed = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, SWEEP_BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, TEMPORAL_ADDRESS: address },
    maxBuffer: 256 * 2 ** 20,
  });
  if (timed.error || timed.status !== 0) return undefined;
  const kib = Number(timed.stderr.trim().split('\n').at(-1));
  return Number.isFinite(kib) ? kib / 1024 : undefined;
}

export async function scaleWorkload(
  cluster: SweepCluster,
  workDir: string,
  options: { trials: number; slots: number },
): Promise<void> {
  const { trials, slots } = options;
  process.stderr.write(`bench: scale: ${trials} near-instant trials on ${slots} slots…\n`);
  const pool = cluster.newPool();
  const worker = await cluster.startWorker(pool, `${pool}-w`, slots);
  const records = join(workDir, 'scale.records');
  const serverCpu = () => cpuOfTrees(cluster.server.pid === undefined ? [] : [cluster.server.pid]);
  const workerCpu = () => cpuOfTrees(worker.pid === undefined ? [] : [worker.pid]);
  const before = { server: serverCpu(), worker: workerCpu() };
  const run = await cluster.runSweep(sleepSpec(trials, 0, records), pool);
  const server = cpuBetween(before.server, serverCpu());
  const workerUse = cpuBetween(before.worker, workerCpu());
  const perTrial = (ms: number) => ms / trials;
  const progress = await cluster.client.workflow.getHandle(run.sweepId).query(sweepProgressQuery);
  const workerRss = peakRssMiB(worker.pid ?? 0);
  await cluster.stopWorker(worker);
  const cliRss = cliPeakRssMiB(['results', run.sweepId, '--format', 'csv'], cluster.server.address);

  // Per-trial overhead in each tenth of the sweep: slot-seconds spent per trial, in ms (trials take ~0 s).
  const runs = readTrialRuns(records).sort((a, b) => a.end - b.end);
  const tenths: number[] = [];
  const size = Math.floor(runs.length / 10);
  for (let tenth = 0; tenth < 10 && size > 1; tenth++) {
    const first = runs[tenth * size];
    const last = runs[(tenth + 1) * size - 1];
    if (first && last) tenths.push(((last.end - first.end) * slots * 1000) / (size - 1));
  }
  report(
    'scale',
    `Scale: ${trials} near-instant trials on ${slots} slots`,
    {
      header: ['measure', 'value'],
      rows: [
        ['wall s', fixed(run.wallSeconds, 1)],
        ['trials/s', fixed(trials / run.wallSeconds, 1)],
        ['ms per trial per slot, first tenth', fixed(tenths[0], 0)],
        ['ms per trial per slot, last tenth', fixed(tenths.at(-1), 0)],
        ['last ÷ first', fixed((tenths.at(-1) ?? Number.NaN) / (tenths[0] ?? Number.NaN), 2)],
        ['CPU ms per trial: dev server', fixed(perTrial(server.ownMs + server.childrenMs), 1)],
        ['CPU ms per trial: worker', fixed(perTrial(workerUse.ownMs), 1)],
        ['CPU ms per trial: supervisors and trials', fixed(perTrial(workerUse.childrenMs), 1)],
        ['sweep workflow runs (continue-as-new + 1)', String(progress.runs)],
        ['succeeded', String(run.result.counts.succeeded)],
        ['worker peak RSS MiB', fixed(workerRss, 0)],
        ['`sweep results --format csv` peak RSS MiB', fixed(cliRss, 0)],
      ],
    },
    {
      trials,
      slots,
      wallSeconds: run.wallSeconds,
      msPerTrialPerSlotByTenth: tenths,
      cpuMs: { server, worker: workerUse },
      runs: progress.runs,
      workerRss,
      cliRss,
      counts: run.result.counts,
    },
  );
}
