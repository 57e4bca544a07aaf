// The long-running commands wait for a server that is not up yet or restarts: one line when it stops
// answering, one when it answers again, never a stack trace.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TestCluster } from '../helpers/cluster.js';
import { restartablePort } from '../helpers/free-port.js';
import { startSweep } from '../helpers/processes.js';
import { startPrivateServer, tempDir } from '../helpers/temporal.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function count(text: string, pattern: RegExp): number {
  return text.split('\n').filter((line) => pattern.test(line)).length;
}

test('a worker started before its server waits with one line, then runs trials once the server is up', async () => {
  const port = await restartablePort();
  const address = `127.0.0.1:${port}`;
  const cluster = new TestCluster(address);
  cleanups.push(() => cluster.stop());
  const ready = cluster.startWorkerWith('late', ['--cpu-slots', '1', '--queue', 'late'], { ready: /ready/ });
  const worker = cluster.workers.get('late');
  assert.ok(worker);
  await worker.waitForOutput(
    new RegExp(`^sweep: Temporal at ${address} is not answering \\(connection refused\\); retrying every 2 s$`, 'm'),
    30_000,
    'stderr',
  );

  const server = await startPrivateServer(join(tempDir('late-server'), 'temporal.db'), port);
  cleanups.push(() => server.stop());
  // Workers stop before their server: a worker whose server is gone does not finish a graceful shutdown.
  cleanups.push(() => cluster.stop());
  await ready;
  await worker.waitForOutput(/^sweep: Temporal at .* answers again \(after \d+ s\)$/m, 10_000, 'stderr');

  const sweepId = await cluster.start('  x: [1, 2]');
  const watched = await cluster.sweep(['watch', sweepId]);
  assert.equal(watched.code, 0, watched.stderr);
  assert.deepEqual(
    cluster
      .records(sweepId)
      .filter((record) => record.event === 'end')
      .map((record) => [record.trial, record.code, record.worker])
      .sort(),
    [
      [0, 0, 'late'],
      [1, 0, 'late'],
    ],
  );
  assert.equal(count(worker.stderr, /is not answering/), 1, worker.stderr);
  assert.doesNotMatch(worker.stderr, /TransportError|bug in Sweep|^\s+at /m);
});

test('sweep watch waits through a server restart, then prints the results', async () => {
  const dbFile = join(tempDir('watch-restart'), 'temporal.db');
  let server = await startPrivateServer(dbFile);
  cleanups.push(() => server.stop());
  const port = server.options.port;
  const cluster = new TestCluster(server.address);
  cleanups.push(() => cluster.stop());
  await cluster.startWorker('w1');
  // Long enough to outlast the restart; a heartbeat timeout the outage cannot reach, so nothing is fenced.
  const sweepId = await cluster.start('  x: [1]\n  steps: 40\n  step_ms: 500', {
    args: ['--heartbeat-timeout', '300'],
  });
  const watch = startSweep(['watch', sweepId], { env: { ...process.env, TEMPORAL_ADDRESS: server.address } });
  cleanups.push(() => watch.signal('SIGKILL'));
  await watch.waitForOutput(/1 in flight/, 30_000, 'stderr');

  await server.stop();
  await watch.waitForOutput(/^sweep: Temporal at .* is not answering \(.+\); retrying every 2 s$/m, 30_000, 'stderr');
  server = await startPrivateServer(dbFile, port);
  await watch.waitForOutput(/^sweep: Temporal at .* answers again \(after \d+ s\)$/m, 60_000, 'stderr');

  const exit = await watch.exited;
  assert.equal(exit.code, 0, watch.stderr);
  assert.match(watch.stdout, /succeeded/);
  assert.match(watch.stderr, new RegExp(`sweep ${sweepId} completed: 1 of 1 trials succeeded`));
  assert.equal(count(watch.stderr, /is not answering/), 1, watch.stderr);
  assert.equal(count(watch.stderr, /answers again/), 1, watch.stderr);
  // The worker rode out the restart too (its polls retry by themselves): one attempt, never stopped.
  assert.deepEqual(
    cluster.records(sweepId).map((record) => record.event),
    ['start', 'end'],
  );
  assert.doesNotMatch(watch.stderr, /bug in Sweep|^\s+at /m);
});
