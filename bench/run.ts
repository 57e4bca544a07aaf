// `npm run bench`: Sweep's overhead, dispatch latency, failure recovery, broadcast latency and scale, beside GNU
// parallel, Celery + RabbitMQ and Ray Tune on the same machine in the same run. A program, not a test: it prints
// figures and writes bench/results/*.json, and fails only when something could not run at all.
// Flags: --smoke (seconds-long sizes, what CI runs), --no-peers, --only a,b (overhead, recovery, broadcast, scale,
// chaos), --scale-trials N, --results DIR (default bench/results), --no-build (dist/ is already current), and for
// chaos: --chaos-trials N (200), --chaos-workers N (4), --chaos-kill-every S (10), --chaos-server-restarts N (2).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildProject } from '../scripts/build-project.js';
import { setResultsDir } from './lib/report.js';
import { SweepCluster } from './lib/sweep-cluster.js';
import { broadcastWorkload } from './workloads/broadcast.js';
import { chaosWorkload } from './workloads/chaos.js';
import { overheadWorkload } from './workloads/overhead.js';
import { recoveryWorkload } from './workloads/recovery.js';
import { scaleWorkload } from './workloads/scale.js';

const WORKLOADS = ['overhead', 'recovery', 'broadcast', 'scale', 'chaos'] as const;
/** Bad flags stop the bench before anything starts: one line saying what was expected, exit 2. */
function usageError(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      'no-peers': { type: 'boolean', default: false },
      only: { type: 'string' },
      'scale-trials': { type: 'string' },
      results: { type: 'string' },
      'no-build': { type: 'boolean', default: false },
      'chaos-trials': { type: 'string' },
      'chaos-workers': { type: 'string' },
      'chaos-kill-every': { type: 'string' },
      'chaos-server-restarts': { type: 'string' },
    },
  });
} catch (error) {
  usageError((error as Error).message);
}
const { values } = parsed;
const only = values.only?.split(',') ?? [...WORKLOADS];
const unknown = only.filter((name) => !(WORKLOADS as readonly string[]).includes(name));
if (unknown.length > 0) usageError(`--only: unknown workload ${unknown.join(', ')}; expected ${WORKLOADS.join(', ')}`);
const scaleTrials = Number(values['scale-trials'] ?? (values.smoke ? 200 : 10_000));
if (!Number.isInteger(scaleTrials) || scaleTrials < 1) {
  usageError(`--scale-trials: expected a whole number of trials, at least 1; got "${values['scale-trials']}"`);
}
const smoke = values.smoke;

/** A whole-number flag, at least `min`; bad values stop the bench before anything starts. */
function countFlag(name: keyof typeof values, fallback: number, min: number): number {
  const raw = values[name];
  const value = Number(raw ?? fallback);
  if (!Number.isInteger(value) || value < min)
    usageError(`--${name}: expected a whole number, at least ${min}; got "${String(raw)}"`);
  return value;
}
const chaos = {
  trials: countFlag('chaos-trials', smoke ? 8 : 200, 1),
  workers: countFlag('chaos-workers', smoke ? 2 : 4, 1),
  killEverySeconds: countFlag('chaos-kill-every', smoke ? 3 : 10, 1),
  serverRestarts: countFlag('chaos-server-restarts', smoke ? 0 : 2, 0),
  trialSeconds: smoke ? 1 : 3,
  heartbeatTimeoutSeconds: 30,
};

if (!values['no-build']) buildProject();
if (values.results) setResultsDir(values.results);
const workDir = mkdtempSync(join(tmpdir(), 'sweep-bench-'));
const started = performance.now();
const cluster = await SweepCluster.start(join(workDir, 'sweep'));
try {
  if (only.includes('overhead')) {
    const cases = smoke
      ? [{ trials: 16, seconds: 0.25, slots: 4 }]
      : [
          { trials: 200, seconds: 1, slots: 8 },
          { trials: 400, seconds: 0.25, slots: 8 },
        ];
    await overheadWorkload(cluster, workDir, cases, !smoke && !values['no-peers']);
  }
  if (only.includes('recovery'))
    await recoveryWorkload(cluster, workDir, { kills: smoke ? 1 : 10, withPeers: !smoke && !values['no-peers'] });
  if (only.includes('broadcast'))
    await broadcastWorkload(cluster, workDir, { trials: smoke ? 2 : 8, updates: smoke ? 3 : 30 });
  if (only.includes('scale')) await scaleWorkload(cluster, workDir, { trials: scaleTrials, slots: 16 });
  if (only.includes('chaos')) await chaosWorkload(workDir, chaos);
} finally {
  await cluster.stop();
  rmSync(workDir, { recursive: true, force: true });
}
process.stdout.write(`\nbench: done in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
