// Workload 4: SIGKILL the worker running a trial; how long until the trial runs again elsewhere, against the
// heartbeat timeout, and how many trial processes were ever alive at once. Then the same fault against Celery.
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { pythonPeers, RabbitMq, onPath, startCeleryWorker, runCelery } from '../lib/peers.js';
import { processAlive as alive } from '../../test/helpers/cluster.js';
import { until } from '../lib/processes.js';
import { environOf, parentOf, processesWith, trialProcesses } from '../lib/proc.js';
import { report } from '../lib/report.js';
import { fixed, mean, percentile } from '../lib/stats.js';
import { sleepSpec, type SweepCluster } from '../lib/sweep-cluster.js';

const HEARTBEAT_TIMEOUT_SECONDS = 4;

interface KillSample {
  readonly trialGoneMs: number;
  readonly rescheduledMs: number;
  readonly peakProcesses: number;
}

export async function recoveryWorkload(
  cluster: SweepCluster,
  workDir: string,
  options: { kills: number; withPeers: boolean },
): Promise<void> {
  const samples = await sweepKills(cluster, workDir, options.kills);
  const celery = options.withPeers
    ? await celeryFaults(workDir).catch((error: Error) => [
        { fault: 'Celery', what: `could not run: ${error.message.split('\n')[0] ?? ''}` },
      ])
    : [{ fault: 'Celery', what: 'peers skipped' }];
  const rescheduled = samples.map((sample) => sample.rescheduledMs);
  report(
    'failure-recovery',
    `Failure recovery: worker SIGKILLed mid-trial, ${samples.length} times (2 workers × 1 slot, heartbeat timeout ${HEARTBEAT_TIMEOUT_SECONDS} s)`,
    {
      header: ['tool', 'measure', 'value'],
      rows: [
        [
          'Sweep',
          'trial process gone after the kill, max ms',
          fixed(Math.max(...samples.map((s) => s.trialGoneMs)), 0),
        ],
        ['Sweep', 'running again elsewhere, p50 s', fixed(percentile(rescheduled, 50) / 1000, 2)],
        ['Sweep', 'running again elsewhere, max s', fixed(Math.max(...rescheduled) / 1000, 2)],
        ['Sweep', '÷ heartbeat timeout (mean)', fixed(mean(rescheduled) / 1000 / HEARTBEAT_TIMEOUT_SECONDS, 2)],
        ['Sweep', 'peak trial processes (slots: 2)', String(Math.max(...samples.map((s) => s.peakProcesses)))],
        ...celery.map((row) => [row.fault, 'what happened', row.what]),
      ],
    },
    { heartbeatTimeoutSeconds: HEARTBEAT_TIMEOUT_SECONDS, slots: 2, samples, celery },
  );
}

async function sweepKills(cluster: SweepCluster, workDir: string, kills: number): Promise<KillSample[]> {
  const pool = cluster.newPool();
  const workers = new Map<string, ChildProcess>();
  for (const name of [`${pool}-a`, `${pool}-b`]) workers.set(name, await cluster.startWorker(pool, name, 1));
  const samples: KillSample[] = [];
  try {
    for (let kill = 0; kill < kills; kill++) {
      process.stderr.write(`bench: recovery: kill ${kill + 1} of ${kills}…\n`);
      const marker = join(workDir, `recovery-${kill}.records`);
      const sweepId = await cluster.startSweep(sleepSpec(1, 600, marker), pool, {
        heartbeatTimeoutSeconds: HEARTBEAT_TIMEOUT_SECONDS,
      });
      const trials = () => trialProcesses(marker);
      await until(() => trials().length > 0, 60_000);
      const first = trials();
      const victim = environOf(first[0] ?? 0, 'SWEEP_WORKER') ?? '';
      const worker = workers.get(victim);
      if (!worker) throw new Error(`recovery: trial runs on unknown worker "${victim}"`);
      const killedAt = performance.now();
      worker.kill('SIGKILL');
      let peak = first.length;
      await until(() => first.every((pid) => !alive(pid)), 10_000);
      const trialGoneMs = performance.now() - killedAt;
      const rescheduled = await until(() => {
        const now = trials();
        peak = Math.max(peak, now.length);
        return now.some((pid) => !first.includes(pid));
      }, 120_000);
      if (!rescheduled) throw new Error('recovery: the trial did not run again within 120 s');
      samples.push({ trialGoneMs, rescheduledMs: performance.now() - killedAt, peakProcesses: peak });
      const handle = cluster.client.workflow.getHandle(sweepId);
      await handle.cancel();
      await handle.result().catch(() => undefined);
      workers.set(victim, await cluster.startWorker(pool, victim, 1));
    }
  } finally {
    for (const worker of workers.values()) await cluster.stopWorker(worker);
  }
  return samples;
}

/** Celery 5.2 + RabbitMQ with acks_late: SIGKILL the main worker process, then (separately) one pool child. */
async function celeryFaults(workDir: string): Promise<Array<{ fault: string; what: string }>> {
  const python = pythonPeers();
  if (!('python' in python)) return [{ fault: 'Celery', what: python.missing }];
  if (!onPath('rabbitmq-server')) return [{ fault: 'Celery', what: 'rabbitmq-server not installed' }];
  const broker = await RabbitMq.start();
  const rows: Array<{ fault: string; what: string }> = [];
  try {
    // Main process killed with 2 trials running on 2 slots, then a new worker comes up.
    const mainMarker = join(workDir, 'celery-main.records');
    const worker = await startCeleryWorker(python.python, broker.url, 2);
    const driver = runCelery(python.python, broker.url, 2, 20, mainMarker).catch(() => undefined);
    const trials = () => trialProcesses(mainMarker);
    await until(() => trials().length === 2, 30_000);
    worker.kill('SIGKILL');
    await until(() => worker.exitCode !== null || worker.signalCode !== null, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const orphans = trials().length;
    const second = await startCeleryWorker(python.python, broker.url, 2);
    let peak = orphans;
    await until(() => {
      peak = Math.max(peak, trials().length);
      return peak >= 4;
    }, 15_000);
    rows.push({
      fault: 'Celery: main process SIGKILLed',
      what: `${orphans} of 2 trial processes kept running as orphans; after a new worker started, ${peak} trial processes ran at once on 2 slots`,
    });
    for (const pid of trials()) process.kill(pid, 'SIGKILL');
    second.kill('SIGKILL');
    void driver;

    // One pool child killed while it runs a trial.
    const childMarker = join(workDir, 'celery-child.records');
    const third = await startCeleryWorker(python.python, broker.url, 2);
    const outcome = runCelery(python.python, broker.url, 1, 8, childMarker);
    await until(() => trialProcesses(childMarker).length === 1, 30_000);
    const [trial] = trialProcesses(childMarker);
    const poolChild = parentOf(trial ?? 0);
    if (poolChild) process.kill(poolChild, 'SIGKILL');
    const reported = await outcome.catch((error: Error) => ({ failed: -1, wallSeconds: 0, error: error.message }));
    const stillRunning = trial !== undefined && alive(trial);
    rows.push({
      fault: 'Celery: one pool child SIGKILLed',
      what: `the trial was reported ${reported.failed === 1 ? 'failed' : reported.failed === 0 ? 'succeeded' : 'lost'}; its process ${stillRunning ? 'was still running' : 'was gone'} when the result came`,
    });
    if (stillRunning && trial) process.kill(trial, 'SIGKILL');
    third.kill('SIGKILL');
  } finally {
    for (const pid of processesWith('celery_peer')) process.kill(pid, 'SIGKILL');
    broker.stop();
  }
  return rows;
}
