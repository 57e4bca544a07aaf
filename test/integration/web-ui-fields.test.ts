// What the Web UI shows of a trial is true: its state moves queued → running → final, it names its worker, a
// failed trial's workflow is failed, and its input is its own parameters and command, not the whole spec.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { trialWorkflowId } from '../../src/temporal/names.js';
import { gpuQueueKey, trialStateKey } from '../../src/temporal/search-attributes.js';
import type { TrialInput } from '../../src/workflows/types.js';
import { TestCluster } from '../helpers/cluster.js';
import { sharedServerClient, sharedServerConfig } from '../helpers/temporal.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function attributes(client: Client, workflowId: string) {
  const description = await client.workflow.getHandle(workflowId).describe();
  const { typedSearchAttributes: found, status } = description;
  return { state: found.get(trialStateKey), queue: found.get(gpuQueueKey), status: status.name };
}

test("a trial's Web UI fields: running with its worker, then succeeded or failed; its input is its plan", async () => {
  const client = await sharedServerClient();
  cleanups.push(() => client.connection.close());
  const owner = new TestCluster(sharedServerConfig().address);
  cleanups.push(() => owner.stop());
  await owner.startWorker('ui1');
  // Three seconds a trial: a trial is shown running from its first heartbeat, a second in.
  const sweepId = await owner.start('  x: [1, 2]\n  steps: 30\n  step_ms: 100\n  fail_on: 2', {
    settings: 'retries: 0',
  });

  // One slot: whichever trial runs first, the other waits, queued, meanwhile.
  const ids = [trialWorkflowId(sweepId, 0), trialWorkflowId(sweepId, 1)];
  for (const deadline = Date.now() + 30_000; ;) {
    const seen = await Promise.all(ids.map((id) => attributes(client, id).catch(() => undefined)));
    const running = seen.findIndex((trial) => trial?.state === 'running');
    if (running >= 0) {
      assert.deepEqual(seen[running], { state: 'running', queue: 'ui1', status: 'RUNNING' });
      assert.deepEqual(seen[1 - running], { state: 'queued', queue: undefined, status: 'RUNNING' });
      break;
    }
    assert.ok(Date.now() < deadline && seen.every((trial) => trial?.status !== 'COMPLETED'), JSON.stringify(seen));
    await delay(100);
  }

  const watched = await owner.sweep(['watch', sweepId]);
  assert.equal(watched.code, 1, 'the sweep failed: one trial failed');
  assert.deepEqual(await attributes(client, trialWorkflowId(sweepId, 0)), {
    state: 'succeeded',
    queue: 'ui1',
    status: 'COMPLETED',
  });
  assert.deepEqual(await attributes(client, trialWorkflowId(sweepId, 1)), {
    state: 'failed',
    queue: 'ui1',
    status: 'FAILED',
  });

  const history = await client.workflow.getHandle(trialWorkflowId(sweepId, 0)).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  assert.ok(payload);
  const input = defaultPayloadConverter.fromPayload<TrialInput>(payload);
  assert.deepEqual(Object.keys(input), ['plan']);
  assert.deepEqual(input.plan.params, { x: 1, steps: 30, step_ms: 100, fail_on: 2 });
  assert.equal(input.plan.name, 't000_x=1');
});
