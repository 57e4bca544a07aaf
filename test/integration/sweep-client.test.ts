import assert from 'node:assert/strict';
import { userName } from '../../src/cli/identity.js';
import { test } from 'node:test';
import { liveTrial, sweepMemo } from '../../src/cli/sweep-client.js';
import { specOf } from '../helpers/spec.js';
import { TestCluster } from '../helpers/cluster.js';
import { startSweep } from '../helpers/processes.js';
import { sharedServerClient, sharedServerConfig, uniqueName } from '../helpers/temporal.js';

test('a trial the sweep has asked to start but that does not exist yet shows as queued, not as an error', async () => {
  const client = await sharedServerClient();
  try {
    const live = await liveTrial(client, uniqueName('sweep'), 3, specOf('x: [1, 2, 3, 4]'));
    assert.deepEqual(live, { index: 3, name: 't003_x=4', state: 'queued' });
  } finally {
    await client.connection.close();
  }
});

test('asking about a sweep that does not exist is a one-line configuration error', async () => {
  const client = await sharedServerClient();
  try {
    const id = uniqueName('missing');
    await assert.rejects(sweepMemo(client, id), { name: 'ConfigError', message: `${id}: no such sweep` });
    await assert.rejects(sweepMemo(client, 'bad id!'), {
      name: 'ConfigError',
      message: 'bad id!: not a sweep ID (letters, digits, ".", "_", "-")',
    });
  } finally {
    await client.connection.close();
  }
});

test('sweep status and sweep watch without any worker answer from visibility and say so', async () => {
  const owner = new TestCluster(sharedServerConfig().address);
  // No worker polls this cluster's control queue, so nobody can answer the sweep's progress query.
  const sweepId = await owner.start('  x: [1, 2, 3]');
  const status = await owner.sweep(['status', sweepId]);
  assert.equal(status.code, 0, status.stderr);
  assert.equal(
    status.stdout,
    `sweep ${sweepId}: running\n  3 trials: 0 succeeded, 0 failed, 0 cancelled, 3 not finished\n` +
      '  (no worker answered for the sweep: counts from visibility; is any `sweep worker` running?)\n' +
      `  no worker has polled pool "${owner.pool}" for 60 s: its trials wait for one (is a \`sweep worker --pool ${owner.pool}\` running?)\n` +
      `  owner ${userName()} · priority 3 · weight 1\n`,
  );
  const watch = startSweep(['watch', sweepId], { env: { ...process.env, TEMPORAL_ADDRESS: owner.address } });
  try {
    await watch.waitForOutput(/.+\n/, 30_000, 'stderr');
    assert.equal(
      watch.stderr.split('\n')[0],
      `${sweepId}: 0/3 done (0 succeeded, 0 failed, 0 cancelled), 0 in flight (no worker answering: counts of finished trials only); no worker has polled pool "${owner.pool}" for 60 s`,
    );
  } finally {
    await watch.signal('SIGTERM');
  }
  const client = await sharedServerClient();
  try {
    await client.workflow.getHandle(sweepId).terminate('test over');
  } finally {
    await client.connection.close();
  }
});
