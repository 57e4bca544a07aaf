// Workloads 1–3: bookkeeping overhead of N sleep trials on S slots through Sweep and its peers, and the dispatch
// latency (slot freed → next trial's process started) taken from the same runs.
import { join } from 'node:path';
import { cpuBetween, cpuOfTrees, type CpuUse } from '../lib/proc.js';
import { peakConcurrency, readTrialRuns, slotGapsMs } from '../lib/records.js';
import {
  onPath,
  pythonPeers,
  RabbitMq,
  runCelery,
  runGnuParallel,
  runRayTune,
  runXargs,
  startCeleryWorker,
} from '../lib/peers.js';
import { report } from '../lib/report.js';
import { fixed, percentile } from '../lib/stats.js';
import { sleepSpec, type SweepCluster } from '../lib/sweep-cluster.js';

export interface OverheadCase {
  readonly trials: number;
  readonly seconds: number;
  readonly slots: number;
}

interface ToolResult {
  readonly tool: string;
  readonly wallSeconds?: number;
  readonly failed?: number;
  readonly note?: string;
  readonly gapsMs?: number[];
  readonly peakProcesses?: number;
  /** Server and workers (broker and worker for Celery), with the trial processes they reaped, over the run. */
  readonly cpu?: CpuUse;
}

type Runner = (records: string) => Promise<{ wallSeconds: number; failed: number; cpu?: CpuUse }>;

/** CPU ms per trial of the service processes and what they ran (the trials' own bash and sleep included). */
function cpuPerTrial(cpu: CpuUse | undefined, trials: number): number | undefined {
  return cpu === undefined ? undefined : (cpu.ownMs + cpu.childrenMs) / trials;
}

/** Measures the CPU the processes `roots()` (and their descendants) spend while `run` runs. */
async function measuringCpu<T>(roots: () => number[], run: () => Promise<T>): Promise<T & { cpu: CpuUse }> {
  const before = cpuOfTrees(roots());
  const outcome = await run();
  return { ...outcome, cpu: cpuBetween(before, cpuOfTrees(roots())) };
}

export async function overheadWorkload(
  cluster: SweepCluster,
  workDir: string,
  cases: readonly OverheadCase[],
  withPeers: boolean,
): Promise<void> {
  const python = withPeers ? pythonPeers() : { missing: 'peers skipped (--no-peers)' };
  let broker: RabbitMq | undefined;
  let brokerProblem = withPeers ? undefined : 'peers skipped (--no-peers)';
  if (withPeers && !onPath('rabbitmq-server'))
    brokerProblem = 'rabbitmq-server not installed (apt-get install rabbitmq-server)';
  if (!brokerProblem && 'python' in python) {
    broker = await RabbitMq.start().catch((error: Error) => {
      brokerProblem = error.message;
      return undefined;
    });
  }

  const dispatch: Record<string, number[]> = {};
  const cases_: unknown[] = [];
  try {
    for (const [caseIndex, spec] of cases.entries()) {
      const { trials, seconds, slots } = spec;
      const ideal = (trials * seconds) / slots;
      const runners: Array<[string, Runner | string]> = [
        ['xargs -P', (records) => runXargs(trials, seconds, slots, records)],
        [
          'GNU parallel',
          onPath('parallel')
            ? (records) => runGnuParallel(trials, seconds, slots, records)
            : 'parallel not installed (apt-get install parallel)',
        ],
        [
          'Celery+RabbitMQ',
          'python' in python && broker
            ? celeryRunner(python.python, broker, spec)
            : 'missing' in python
              ? python.missing
              : (brokerProblem ?? ''),
        ],
        [
          'Ray Tune',
          'python' in python
            ? (records) => runRayTune(python.python, trials, seconds, slots, records, join(workDir, `ray-${caseIndex}`))
            : python.missing,
        ],
        ['Sweep', sweepRunner(cluster, spec)],
      ];
      const results: ToolResult[] = [];
      for (const [tool, runner] of runners) {
        process.stderr.write(`bench: overhead ${trials}×${seconds}s on ${slots} slots: ${tool}…\n`);
        if (typeof runner === 'string') {
          results.push({ tool, note: runner });
          continue;
        }
        const records = join(workDir, `overhead-${caseIndex}-${tool.replace(/\W+/g, '_')}.records`);
        try {
          const outcome = await runner(records);
          const runs = readTrialRuns(records);
          results.push({ tool, ...outcome, gapsMs: slotGapsMs(runs), peakProcesses: peakConcurrency(runs) });
        } catch (error) {
          results.push({ tool, note: (error as Error).message.split('\n')[0] ?? 'failed' });
        }
      }
      const sweepWall = results.find((result) => result.tool === 'Sweep')?.wallSeconds;
      report(
        `overhead-${trials}x${seconds}s`,
        `Bookkeeping overhead: ${trials} trials × ${seconds} s on ${slots} slots (ideal ${ideal.toFixed(2)} s)`,
        {
          header: [
            'tool',
            'wall s',
            '÷ ideal',
            'ms/trial',
            '÷ Sweep',
            'gap p50 ms',
            'CPU ms/trial',
            'peak procs',
            'note',
          ],
          rows: results.map((result) => {
            const wall = result.wallSeconds;
            return [
              result.tool,
              fixed(wall, 2),
              fixed(wall === undefined ? undefined : wall / ideal, 3),
              fixed(wall === undefined ? undefined : ((wall - ideal) * slots * 1000) / trials, 1),
              fixed(wall === undefined || sweepWall === undefined ? undefined : wall / sweepWall, 3),
              fixed(result.gapsMs ? percentile(result.gapsMs, 50) : undefined, 1),
              fixed(cpuPerTrial(result.cpu, trials), 1),
              result.peakProcesses === undefined ? '–' : String(result.peakProcesses),
              result.note ?? (result.failed ? `${result.failed} failed` : ''),
            ];
          }),
        },
        { trials, seconds, slots, idealSeconds: ideal, results },
      );
      for (const result of results) if (result.gapsMs) (dispatch[result.tool] ??= []).push(...result.gapsMs);
      cases_.push({ trials, seconds, slots });
    }
  } finally {
    broker?.stop();
  }

  report(
    'dispatch-latency',
    'Dispatch latency: a slot frees → the next waiting trial’s process starts (all overhead runs)',
    {
      header: ['tool', 'samples', 'p50 ms', 'p95 ms', 'p99 ms'],
      rows: Object.entries(dispatch).map(([tool, gaps]) => [
        tool,
        String(gaps.length),
        fixed(percentile(gaps, 50), 1),
        fixed(percentile(gaps, 95), 1),
        fixed(percentile(gaps, 99), 1),
      ]),
    },
    { cases: cases_, gapsMs: dispatch, anchor: 'Temporal Cloud StartActivityExecution p50 13 ms' },
  );
}

function celeryRunner(python: string, broker: RabbitMq, spec: OverheadCase): Runner {
  return async (records) => {
    const worker = await startCeleryWorker(python, broker.url, spec.slots);
    try {
      // The broker and the worker with its prefork children; not the driver that submits and awaits (Sweep's
      // client is not counted either).
      return await measuringCpu(
        () => [...broker.pids(), ...(worker.pid === undefined ? [] : [worker.pid])],
        () => runCelery(python, broker.url, spec.trials, spec.seconds, records),
      );
    } finally {
      worker.kill('SIGTERM');
      await new Promise((resolve) => worker.once('exit', resolve));
    }
  };
}

/** Workers are up before the clock starts, as Celery's and Ray's are: one `sweep worker` with S CPU slots. */
function sweepRunner(cluster: SweepCluster, spec: OverheadCase): Runner {
  return async (records) => {
    const pool = cluster.newPool();
    const worker = await cluster.startWorker(pool, `${pool}-w`, spec.slots);
    try {
      const run = await measuringCpu(
        () => [cluster.server.pid, worker.pid].filter((pid): pid is number => pid !== undefined),
        () => cluster.runSweep(sleepSpec(spec.trials, spec.seconds, records), pool),
      );
      return { wallSeconds: run.wallSeconds, failed: run.result.counts.failed, cpu: run.cpu };
    } finally {
      await cluster.stopWorker(worker);
    }
  };
}
