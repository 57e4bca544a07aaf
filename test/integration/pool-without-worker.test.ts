// A sweep that no worker can run says so, instead of showing trials "in flight" forever.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { TestCluster, TRIAL_SCRIPT } from '../helpers/cluster.js';
import { runSweep, startSweep } from '../helpers/processes.js';
import { sharedServerConfig, uniqueName } from '../helpers/temporal.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const address = sharedServerConfig().address;
/** The threshold, short for the test (SWEEP_NO_WORKER_AFTER, in seconds; 60 by default). */
const env = { ...process.env, TEMPORAL_ADDRESS: address, SWEEP_NO_WORKER_AFTER: '2' };

function specFile(dir: string, parameters: string): string {
  const file = join(dir, `${uniqueName('spec')}.yml`);
  writeFileSync(
    file,
    `command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(TRIAL_SCRIPT)}]\nargs: none\nparameters:\n${parameters}\n`,
  );
  return file;
}

async function startOn(file: string, pool: string, controlQueue: string): Promise<string> {
  const started = await runSweep(['start', file, '--pool', pool, '--control-queue', controlQueue], { env });
  assert.equal(started.code, 0, started.stderr);
  return started.stdout.trim();
}

test('a pool no worker polls is reported by status, status --json and start --wait', async () => {
  const cluster = new TestCluster(address);
  cleanups.push(() => cluster.stop());
  // A worker for the sweep's workflows (and its own pool), but none for the typo'd pool.
  await cluster.startWorker('ctl');
  const typo = uniqueName('gpu-a1OO');
  const sweepId = await startOn(specFile(cluster.dir, '  x: [1, 2, 3]'), typo, cluster.controlQueue);
  cleanups.push(() => runSweep(['cancel', sweepId], { env }));

  const expected = new RegExp(`^  no worker has polled pool "${typo}" for \\d+ s: its trials wait for one`, 'm');
  const deadline = Date.now() + 30_000;
  let status = await runSweep(['status', sweepId], { env });
  while (!expected.test(status.stdout) && Date.now() < deadline) {
    await delay(500);
    status = await runSweep(['status', sweepId], { env });
  }
  assert.match(status.stdout, expected, status.stdout + status.stderr);
  assert.match(status.stdout, /3 trials: 0 succeeded, 0 failed, 0 cancelled, 0 running, 3 waiting/);
  const json = await runSweep(['status', sweepId, '--json'], { env });
  assert.match(String((JSON.parse(json.stdout) as { noWorker?: string }).noWorker), /^no worker has polled pool/);

  const follow = startSweep(
    ['start', specFile(cluster.dir, '  x: [1]'), '--wait', '--pool', typo, '--control-queue', cluster.controlQueue],
    { env },
  );
  cleanups.push(() => follow.signal('SIGKILL'));
  await follow.waitForOutput(new RegExp(`in flight; no worker has polled pool "${typo}" for \\d+ s`), 30_000, 'stderr');
  await runSweep(['cancel', follow.stdout.trim()], { env });
});

test('a pool whose worker is busy running the sweep is not reported', async () => {
  const cluster = new TestCluster(address);
  cleanups.push(() => cluster.stop());
  await cluster.startWorker('busy', 1);
  const sweepId = await cluster.start('  x: [1, 2]\n  steps: 20\n  step_ms: 500', { args: ['--window', '2'] });
  cleanups.push(() => runSweep(['cancel', sweepId], { env }));
  await cluster.waitForRecords((records) => records.some((record) => record.event === 'start'));
  // Longer than the threshold: the busy worker does not poll, and one trial waits for its slot.
  await delay(3000);
  const status = await runSweep(['status', sweepId], { env });
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /1 running/);
  assert.doesNotMatch(status.stdout, /no worker has polled/);
});

test('cancel without a worker for the sweep says the cancellation is recorded, and it takes effect later', async () => {
  const cluster = new TestCluster(address);
  cleanups.push(() => cluster.stop());
  const sweepId = await startOn(specFile(cluster.dir, '  x: [1]'), cluster.pool, cluster.controlQueue);
  const started = Date.now();
  const cancel = await runSweep(['cancel', sweepId, '--timeout', '30'], { env });
  assert.equal(cancel.code, 1, cancel.stderr);
  assert.equal(
    cancel.stderr,
    `the cancellation of sweep ${sweepId} is recorded; waiting up to 30 s for its trials to stop…\n` +
      `sweep: the cancellation of sweep ${sweepId} is recorded, but no worker has taken the sweep's tasks for 5 s ` +
      `(control queue "${cluster.controlQueue}"); it takes effect when a worker runs the sweep\n`,
  );
  assert.ok(Date.now() - started < 20_000, 'well before the 30 s bound');

  await cluster.startWorker('late');
  const watched = await runSweep(['watch', sweepId], { env });
  assert.equal(watched.code, 1);
  assert.match(watched.stderr, new RegExp(`sweep ${sweepId} cancelled: 0 of 1 trials succeeded`));
});
