// Workload 6: chaos. Trials on one-slot workers while a random worker is SIGKILLed and restarted on its queue
// every few seconds and the server is SIGKILLed and restarted: every trial must succeed exactly once.
import { join } from 'node:path';
import { runChaos, type ChaosOptions } from '../lib/chaos.js';
import { report } from '../lib/report.js';
import { fixed } from '../lib/stats.js';

export async function chaosWorkload(workDir: string, options: Omit<ChaosOptions, 'dir'>): Promise<void> {
  const result = await runChaos({ ...options, dir: join(workDir, 'chaos') });
  const goal = (value: number, target: number) => `${value}${value === target ? '' : `  (goal ${target})`}`;
  report(
    'chaos',
    `Chaos: ${options.trials} trials of ${options.trialSeconds} s on ${options.workers} one-slot workers, a worker ` +
      `SIGKILLed and restarted every ${options.killEverySeconds} s, the server SIGKILLed and restarted ${options.serverRestarts} times`,
    {
      header: ['measure', 'value'],
      rows: [
        ['trials succeeded', goal(result.succeeded, options.trials)],
        ['trials lost', goal(result.lost, 0)],
        ['trials completed more than once', goal(result.completedMoreThanOnce, 0)],
        ['most concurrent attempts of one trial', goal(result.mostConcurrentAttempts, 1)],
        ['orphan trial processes', goal(result.orphans, 0)],
        ['wall time, s', fixed(result.wallSeconds, 1)],
        ['worker kills / server restarts', `${result.workerKills} / ${result.serverRestarts}`],
        ['attempts started', String(result.attemptsStarted)],
        ['worker exits not caused by a kill', goal(result.unexpectedWorkerExits, 0)],
      ],
    },
    { options, result },
  );
}
