// @run-alone: it asserts how many trials run at once and when, which another file's load blurs.
// A sweep's changes live in its state: a pause outlives a SIGKILLed server, and resume then carries on.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, test } from 'node:test';
import type { DevServer } from '../../src/server/dev-server.js';
import { TestCluster, type TrialRecord } from '../helpers/cluster.js';
import { startPrivateServer, tempDir } from '../helpers/temporal.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const running = (records: readonly TrialRecord[]) =>
  records.filter((r) => r.event === 'start').length - records.filter((r) => r.event === 'end').length;

test('paused, the server SIGKILLed and restarted: still paused, nothing starts; resumed, each trial runs once', async () => {
  const dbFile = join(tempDir('steer-restart'), 'temporal.db');
  let server: DevServer = await startPrivateServer(dbFile);
  cleanups.push(() => server.stop());
  const owner = new TestCluster(server.address);
  cleanups.push(() => owner.stop());
  await Promise.all([owner.startWorker('sr1'), owner.startWorker('sr2')]);
  const sweepId = await owner.start('  x: {range: [0, 16]}\n  steps: 4\n  step_ms: 250', {
    args: ['--heartbeat-timeout', '20'],
  });
  await owner.waitForRecords((records) => records.some((r) => r.event === 'end'));
  const paused = await owner.sweep(['pause', sweepId]);
  assert.equal(paused.code, 0, paused.stderr);

  const port = server.options.port;
  await server.kill();
  server = await startPrivateServer(dbFile, port);
  await owner.waitForRecords((records) => running(records) === 0);
  const drainedAt = Date.now();
  // The absence of starts is what is asserted, over a stretch of time after the restart.
  await delay(4000);
  const starts = owner.records(sweepId).filter((r) => r.event === 'start');
  assert.deepEqual(
    starts.filter((r) => r.time > drainedAt),
    [],
    'no trial started while paused, across the restart',
  );
  assert.ok(starts.length < 16);
  const status = await owner.sweep(['status', sweepId]);
  assert.match(status.stdout, /settings: paused, max parallel 64/, status.stdout);

  const resumed = await owner.sweep(['resume', sweepId]);
  assert.equal(resumed.code, 0, resumed.stderr);
  const watched = await owner.sweep(['watch', sweepId, '--no-tty']);
  assert.equal(watched.code, 0, watched.stderr);
  const all = owner.records(sweepId).filter((r) => r.event === 'start');
  assert.deepEqual(
    all.map((r) => r.trial).sort((a, b) => a - b),
    Array.from({ length: 16 }, (_, i) => i),
    'each trial ran exactly once',
  );
});
