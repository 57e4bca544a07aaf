// An outage shorter than the heartbeat timeout (less the fencing margin) disturbs no running trial.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { TestCluster } from '../helpers/cluster.js';
import { startPrivateServer, tempDir } from '../helpers/temporal.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

test('a server frozen for 14 s of a 20 s heartbeat timeout kills no trial', async () => {
  const server = await startPrivateServer(join(tempDir('outage-short'), 'temporal.db'));
  cleanups.push(() => server.stop());
  const owner = new TestCluster(server.address);
  cleanups.push(() => owner.stop());
  const worker = await owner.startWorker('o1');
  const sweepId = await owner.start('  x: [1]\n  steps: 40\n  step_ms: 500', { args: ['--heartbeat-timeout', '20'] });
  const [start] = await owner.waitForRecords((records) => records.some((r) => r.event === 'start'));
  assert.ok(start);

  const serverPid = server.pid ?? 0;
  process.kill(serverPid, 'SIGSTOP');
  try {
    // The outage itself is what is tested: a fixed 14 s, not a condition to await.
    await delay(14_000);
  } finally {
    process.kill(serverPid, 'SIGCONT');
  }

  const watched = await owner.sweep(['watch', sweepId]);
  assert.equal(watched.code, 0, watched.stderr);
  const records = owner.records(sweepId);
  assert.deepEqual(
    records.map((r) => [r.event, r.pid, r.code]),
    [
      ['start', start.pid, undefined],
      ['end', start.pid, 0],
    ],
    'one attempt, never stopped, ended by itself',
  );
  // The worker said so once, and once more when the server was back: no line per retried call.
  assert.equal(worker.stderr.match(/is not answering/g)?.length, 1, worker.stderr);
  assert.equal(worker.stderr.match(/answers again/g)?.length, 1, worker.stderr);
  assert.doesNotMatch(worker.stderr, /retried \d+ times|WARN/);
});
