import assert from 'node:assert/strict';
import { test } from 'node:test';
import { liveTrial, sweepMemo } from '../../src/cli/sweep-client.js';
import { specOf } from '../helpers/spec.js';
import { sharedServerClient, uniqueName } from '../helpers/temporal.js';

test('a trial the sweep has asked to start but that does not exist yet shows as queued, not as an error', async () => {
  const client = await sharedServerClient();
  try {
    const live = await liveTrial(client, uniqueName('sweep'), 3, specOf('x: [1, 2, 3, 4]'));
    assert.deepEqual(live, { index: 3, name: 't003_x=4', state: 'queued', attempt: 0 });
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
