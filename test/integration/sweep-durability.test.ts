import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { connectClient, resolveConnectionConfig } from '../../src/temporal/connection-config.js';
import type { DevServer } from '../../src/server/dev-server.js';
import { overlappingAttempts, TestCluster } from '../helpers/cluster.js';
import { sharedServerConfig, startPrivateServer, tempDir } from '../helpers/temporal.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function startsPerTrial(owner: TestCluster, sweepId: string): Map<number, number> {
  const starts = new Map<number, number>();
  for (const record of owner.records(sweepId)) {
    if (record.event === 'start') starts.set(record.trial, (starts.get(record.trial) ?? 0) + 1);
  }
  return starts;
}

test('the server is SIGKILLed and restarted mid-sweep: every trial completes exactly once', async () => {
  const dbFile = join(tempDir('restart'), 'temporal.db');
  let server: DevServer = await startPrivateServer(dbFile);
  cleanups.push(() => server.stop());
  const owner = new TestCluster(server.address);
  cleanups.push(() => owner.stop());
  await Promise.all([owner.startWorker('r1'), owner.startWorker('r2')]);
  const sweepId = await owner.start('  x: [1, 2, 3, 4, 5, 6]\n  steps: 20\n  step_ms: 100', {
    args: ['--heartbeat-timeout', '20'],
  });
  await owner.waitForRecords((records) => records.filter((r) => r.event === 'start').length >= 2);

  const port = server.options.port;
  await server.kill();
  server = await startPrivateServer(dbFile, port);

  const watched = await owner.sweep(['watch', sweepId]);
  assert.equal(watched.code, 0, watched.stderr);
  assert.deepEqual(
    [...startsPerTrial(owner, sweepId).entries()].sort(([a], [b]) => a - b),
    [0, 1, 2, 3, 4, 5].map((trial) => [trial, 1]),
    'each trial ran exactly once: the running ones were not disturbed',
  );
  assert.deepEqual(overlappingAttempts(owner.records(sweepId)), []);
});

test('a sweep continues as new many times with trials running across it, unharmed', async () => {
  const owner = new TestCluster(sharedServerConfig().address);
  cleanups.push(() => owner.stop());
  await Promise.all([owner.startWorker('n1', 2), owner.startWorker('n2', 2)]);
  const sweepId = await owner.start('  x: {range: [0, 40]}\n  steps: 2\n  step_ms: 150', {
    args: ['--continue-as-new-after', '100', '--window', '6'],
  });
  const watched = await owner.sweep(['watch', sweepId]);
  assert.equal(watched.code, 0, watched.stderr);
  assert.match(watched.stderr, /completed: 40 of 40 trials succeeded/);

  const starts = startsPerTrial(owner, sweepId);
  assert.equal(starts.size, 40);
  assert.ok(
    [...starts.values()].every((count) => count === 1),
    'no trial restarted by continue-as-new',
  );

  const client = await connectClient(resolveConnectionConfig({ address: owner.address, tls: false }, {}));
  let continued = 0;
  for await (const run of client.workflow.list({
    query: `WorkflowId = "${sweepId}" AND ExecutionStatus = "ContinuedAsNew"`,
  })) {
    if (run.workflowId === sweepId) continued++;
  }
  await client.connection.close();
  assert.ok(continued >= 2, `the sweep continued as new ${continued} times`);
});
