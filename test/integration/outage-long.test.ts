// An outage longer than the heartbeat timeout: the worker fences its trial before the server can give it
// away, and the trial then runs again once, never beside itself.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { overlappingAttempts, processAlive, TestCluster } from '../helpers/cluster.js';
import { startPrivateServer, tempDir } from '../helpers/temporal.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

test('a server frozen for 30 s of a 20 s heartbeat timeout: the trial is fenced, then runs again once', async () => {
  const server = await startPrivateServer(join(tempDir('outage-long'), 'temporal.db'));
  cleanups.push(() => server.stop());
  const owner = new TestCluster(server.address);
  cleanups.push(() => owner.stop());
  await owner.startWorker('o1');
  const sweepId = await owner.start('  x: [1]\n  steps: 60\n  step_ms: 500', { args: ['--heartbeat-timeout', '20'] });
  const [first] = await owner.waitForRecords((records) => records.some((r) => r.event === 'start'));
  assert.ok(first);

  const serverPid = server.pid ?? 0;
  process.kill(serverPid, 'SIGSTOP');
  const frozenAt = Date.now();
  let fencedAfter = Infinity;
  try {
    while (Date.now() - frozenAt < 30_000) {
      if (fencedAfter === Infinity && !processAlive(first.pid)) fencedAfter = Date.now() - frozenAt;
      await delay(50);
    }
  } finally {
    process.kill(serverPid, 'SIGCONT');
  }
  process.stderr.write(`# fenced ${fencedAfter} ms after the server froze (heartbeat timeout 20 s)\n`);
  assert.ok(fencedAfter > 14_000 && fencedAfter < 20_000, `fenced near the deadline, before it (${fencedAfter} ms)`);

  const watched = await owner.sweep(['watch', sweepId]);
  assert.equal(watched.code, 0, watched.stderr);
  const records = owner.records(sweepId);
  const starts = records.filter((r) => r.event === 'start');
  assert.equal(starts.length, 2, JSON.stringify(records));
  assert.ok((starts[1]?.time ?? 0) > frozenAt + 30_000, 'the second attempt started after the outage');
  assert.deepEqual(overlappingAttempts(records, frozenAt + fencedAfter), []);
});
