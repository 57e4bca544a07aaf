// `npm run bench`: Sweep's overhead, dispatch latency, failure recovery, broadcast latency and scale, beside GNU
// parallel, Celery + RabbitMQ and Ray Tune on the same machine in the same run. A program, not a test: it prints
// figures and writes bench/results/*.json, and fails only when something could not run at all.
// Flags: --smoke (seconds-long sizes, what CI runs), --no-peers, --only a,b (overhead, recovery, broadcast, scale),
// --scale-trials N, --results DIR (default bench/results), --no-build (dist/ is already current).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildProject } from '../scripts/build-project.js';
import { setResultsDir } from './lib/report.js';
import { SweepCluster } from './lib/sweep-cluster.js';
import { broadcastWorkload } from './workloads/broadcast.js';
import { overheadWorkload } from './workloads/overhead.js';
import { recoveryWorkload } from './workloads/recovery.js';
import { scaleWorkload } from './workloads/scale.js';

const WORKLOADS = ['overhead', 'recovery', 'broadcast', 'scale'] as const;
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
} finally {
  await cluster.stop();
  rmSync(workDir, { recursive: true, force: true });
}
process.stdout.write(`\nbench: done in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
