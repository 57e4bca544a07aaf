// The chaos workload's small version: workers SIGKILLed and restarted at random, the server killed and
// restarted once; every trial succeeds exactly once, never two attempts at once, no process left behind.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runChaos } from '../../bench/lib/chaos.js';
import { tempDir } from '../helpers/temporal.js';

test('chaos: 20 trials under worker kills and a server restart all succeed, each exactly once', async () => {
  const result = await runChaos({
    trials: 20,
    trialSeconds: 1,
    workers: 3,
    killEverySeconds: 4,
    serverRestarts: 1,
    heartbeatTimeoutSeconds: 30,
    dir: join(tempDir('chaos'), 'run'),
  });
  process.stderr.write(`# chaos: ${JSON.stringify(result)}\n`);
  assert.ok(result.workerKills >= 2, `workers were killed (${result.workerKills})`);
  assert.equal(result.serverRestarts, 1);
  assert.deepEqual(
    {
      succeeded: result.succeeded,
      lost: result.lost,
      completedMoreThanOnce: result.completedMoreThanOnce,
      mostConcurrentAttempts: result.mostConcurrentAttempts,
      orphans: result.orphans,
      unexpectedWorkerExits: result.unexpectedWorkerExits,
    },
    {
      succeeded: 20,
      lost: 0,
      completedMoreThanOnce: 0,
      mostConcurrentAttempts: 1,
      orphans: 0,
      unexpectedWorkerExits: 0,
    },
  );
});
