import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Client } from '@temporalio/client';
import { noWorkerAfterMs, noWorkerProblem, poolSilenceMs } from '../../../src/cli/pool-pollers.js';
import { ConfigError } from '../../../src/errors.js';

const NOW = 1_800_000_000_000;

/** A client whose DescribeTaskQueue lists pollers that last polled `agesMs` ago; records what it was asked. */
function clientWithPollers(agesMs: readonly number[], asked: unknown[] = []): Client {
  const describeTaskQueue = (request: unknown) => {
    asked.push(request);
    return Promise.resolve({
      pollers: agesMs.map((age) => ({
        identity: `w${age}`,
        lastAccessTime: { seconds: Math.floor((NOW - age) / 1000), nanos: ((NOW - age) % 1000) * 1e6 },
      })),
    });
  };
  return { options: { namespace: 'lab' }, workflowService: { describeTaskQueue } } as unknown as Client;
}

test('SWEEP_NO_WORKER_AFTER sets the threshold in seconds; default 60 s; nonsense is a located error', () => {
  assert.equal(noWorkerAfterMs({}), 60_000);
  assert.equal(noWorkerAfterMs({ SWEEP_NO_WORKER_AFTER: '2.5' }), 2500);
  assert.throws(
    () => noWorkerAfterMs({ SWEEP_NO_WORKER_AFTER: 'soon' }),
    (error: unknown) =>
      error instanceof ConfigError && error.message === 'SWEEP_NO_WORKER_AFTER=soon: expected a number of seconds > 0',
  );
});

test("the pool's silence: since its newest poll, but never longer than since the sweep started", async () => {
  const asked: unknown[] = [];
  assert.equal(await poolSilenceMs(clientWithPollers([90_000, 70_000], asked), 'gpu-a100', NOW - 600_000, NOW), 70_000);
  assert.deepEqual(asked[0], {
    namespace: 'lab',
    taskQueue: { name: 'sweep-pool-gpu-a100', kind: 1 },
    taskQueueType: 2,
  });
  // No poller listed (none in the server's 5 minutes of memory): silent since the sweep started.
  assert.equal(await poolSilenceMs(clientWithPollers([]), 'gpu-a100', NOW - 30_000, NOW), 30_000);
  assert.equal(await poolSilenceMs(clientWithPollers([200_000]), 'gpu-a100', NOW - 30_000, NOW), 30_000);
});

test('no worker is reported only with trials in flight, none running, and the pool silent long enough', async () => {
  const sweep = { startedAt: NOW - 600_000, inFlight: 6, running: () => Promise.resolve(0) };
  const cases: [string, Client, typeof sweep, string | undefined][] = [
    ['silent pool', clientWithPollers([75_000]), sweep, 'no worker has polled pool "gpu-a100" for 75 s'],
    ['nothing listed', clientWithPollers([]), sweep, 'no worker has polled pool "gpu-a100" for 600 s'],
    ['a recent poll', clientWithPollers([75_000, 5_000]), sweep, undefined],
    [
      'busy workers do not poll',
      clientWithPollers([75_000]),
      { ...sweep, running: () => Promise.resolve(2) },
      undefined,
    ],
    ['nothing in flight', clientWithPollers([]), { ...sweep, inFlight: 0 }, undefined],
    ['a sweep just started', clientWithPollers([]), { ...sweep, startedAt: NOW - 10_000 }, undefined],
    [
      'start unknown',
      clientWithPollers([]),
      { ...sweep, startedAt: 0 },
      'no worker has polled pool "gpu-a100" for 60 s',
    ],
  ];
  for (const [label, client, input, expected] of cases) {
    assert.equal(await noWorkerProblem(client, 'gpu-a100', input, 60_000, NOW), expected, label);
  }
});
