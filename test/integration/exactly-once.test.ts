// A finished trial never runs again, and no live worker is ever harmed by another: the at-least-once gaps
// between "the process exited" and "the server recorded it", closed with real workers killed by SIGKILL.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { trialWorkflowId } from '../../src/temporal/names.js';
import type { TrialSummary } from '../../src/workflows/types.js';
import { setTimeout as delay } from 'node:timers/promises';
import { procStat } from '../../src/activities/proc-stat.js';
import { processAlive, TestCluster } from '../helpers/cluster.js';
import { startSweep } from '../helpers/processes.js';
import { sharedServerClient, sharedServerConfig } from '../helpers/temporal.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function client(): Promise<Client> {
  const connected = await sharedServerClient();
  cleanups.push(() => connected.connection.close());
  return connected;
}

async function trialSummary(sweepId: string, index: number): Promise<TrialSummary> {
  const description = await (await client()).workflow.getHandle(trialWorkflowId(sweepId, index)).describe();
  return description.memo?.summary as TrialSummary;
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await delay(25);
  }
}

function trialPid(owner: TestCluster, sweepId: string): number {
  return owner.records(sweepId).find((r) => r.event === 'start')?.pid ?? 0;
}

/** Runs one trial that freezes its worker right after exiting 0, waits for that, and SIGKILLs the worker. */
async function killWorkerBetweenExitAndReport(owner: TestCluster, heartbeatTimeout: number): Promise<string> {
  const first = await owner.startWorker('w1');
  const sweepId = await owner.start('  x: [1]\n  steps: 3\n  step_ms: 100\n  freeze_worker: true', {
    args: ['--heartbeat-timeout', String(heartbeatTimeout)],
  });
  await owner.waitForRecords((records) => records.some((r) => r.sweep === sweepId && r.event === 'end'));
  // The worker is frozen (SIGSTOP) by the trial's last act: it sees neither the exit nor can it report.
  await until(() => procStat(first.pid)?.state === 'T', 10_000, 'the trial froze its worker');
  await until(() => !processAlive(trialPid(owner, sweepId)), 10_000, 'the trial exited');
  await first.signal('SIGKILL');
  return sweepId;
}

test('a worker killed between its trial exit and the report: the worker taking over its queue reports it, once', async () => {
  const owner = new TestCluster(sharedServerConfig().address);
  cleanups.push(() => owner.stop());
  // A heartbeat timeout far beyond the test: only the successor's report can finish this attempt.
  const sweepId = await killWorkerBetweenExitAndReport(owner, 120);
  // Meanwhile `sweep status` says the attempt has gone quiet, instead of showing it running as if all were well
  // (another worker answers for the sweep; it takes no trial, as the only one is still open on w1).
  await owner.startWorker('bystander');
  for (let tries = 0; ; tries++) {
    const status = await owner.sweep(['status', sweepId]);
    if (/running +1 +w1 .*no heartbeat for [\d.]+s/.test(status.stdout)) break;
    assert.ok(tries < 30, `status never said the heartbeat is stale:\n${status.stdout}${status.stderr}`);
    await delay(500);
  }
  const successor = await owner.startWorker('w1');
  assert.match(successor.stdout, /took over from a worker that died: reported 1 finished trial\(s\)\n/);

  const watched = await owner.sweep(['watch', sweepId]);
  assert.equal(watched.code, 0, watched.stderr);
  assert.equal(owner.records(sweepId).filter((r) => r.event === 'start').length, 1, 'the command ran once');
  const summary = await trialSummary(sweepId, 0);
  assert.equal(summary.state, 'succeeded');
  assert.equal(summary.attempts.length, 1, JSON.stringify(summary.attempts));
  assert.match(summary.attempts[0]?.note ?? '', /^reported by w1#\d+ after its worker died$/);
  assert.equal(summary.metrics.loss, 1 / 3, 'the final metrics are the ones the process reported');
});

test('a worker killed between its trial exit and the report: the next attempt adopts the recorded outcome', async () => {
  const owner = new TestCluster(sharedServerConfig().address);
  cleanups.push(() => owner.stop());
  const sweepId = await killWorkerBetweenExitAndReport(owner, 4);
  // Another queue on the same host (same trials directory): the attempt times out and comes here.
  await owner.startWorker('w2');

  const watched = await owner.sweep(['watch', sweepId]);
  assert.equal(watched.code, 0, watched.stderr);
  assert.equal(owner.records(sweepId).filter((r) => r.event === 'start').length, 1, 'the command ran once');
  const summary = await trialSummary(sweepId, 0);
  assert.equal(summary.state, 'succeeded');
  assert.deepEqual(
    summary.attempts.map((a) => [a.attempt, a.outcome, a.worker]),
    [
      [1, 'lost', 'w1'],
      [2, 'succeeded', 'w1'],
    ],
  );
  assert.equal(summary.attempts[1]?.note, 'adopted the result of attempt 1, whose worker died before reporting it');
  assert.ok((summary.attempts[0]?.startedAt ?? 0) > 0, 'the lost attempt records when it started');
});

test('a second worker on a live queue refuses to start and harms nothing', async () => {
  const owner = new TestCluster(sharedServerConfig().address);
  cleanups.push(() => owner.stop());
  const first = await owner.startWorker('q1', 2);
  const sweepId = await owner.start('  x: [1, 2]\n  steps: 80\n  step_ms: 100');
  const running = await owner.waitForRecords(
    (records) => records.filter((r) => r.sweep === sweepId && r.event === 'start').length === 2,
  );

  const second = startSweep(
    ['worker', '--cpu-slots', '2', '--queue', 'q1', '--pool', owner.pool, '--data-dir', owner.dir],
    { env: { ...process.env, TEMPORAL_ADDRESS: owner.address } },
  );
  const exit = await second.exited;
  assert.equal(exit.code, 2, second.stderr);
  assert.match(
    second.stderr,
    new RegExp(
      `^sweep: queue q1 is already served by worker q1 \\(pid ${first.pid} on .+\\) with data directory .+; stop it first, or give this worker another --queue\\n$`,
    ),
  );
  for (const start of running.filter((r) => r.sweep === sweepId)) assert.ok(processAlive(start.pid));

  const watched = await owner.sweep(['watch', sweepId]);
  assert.equal(watched.code, 0, watched.stderr);
  const records = owner.records(sweepId);
  assert.equal(records.filter((r) => r.event === 'start').length, 2, 'each trial ran once');
  assert.equal(records.filter((r) => r.event === 'end' && r.code === 0).length, 2);
});

test('two default CPU workers on one host take queues of their own', async () => {
  const owner = new TestCluster(sharedServerConfig().address);
  cleanups.push(() => owner.stop());
  const a = await owner.startWorkerWith('a', ['--cpu-slots', '1']);
  const b = await owner.startWorkerWith('b', ['--cpu-slots', '1']);
  const name = (stdout: string) => /worker (\S+) ready/.exec(stdout)?.[1];
  assert.ok(name(a.stdout)?.endsWith('-cpu'), a.stdout);
  assert.equal(name(b.stdout), `${name(a.stdout)}-2`);
});
