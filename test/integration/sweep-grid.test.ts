import assert from 'node:assert/strict';
import { userName } from '../../src/cli/identity.js';
import { after, before, test } from 'node:test';
import type { TrialSummary } from '../../src/workflows/types.js';
import { defaultPayloadConverter } from '@temporalio/common';
import { connectClient, resolveConnectionConfig } from '../../src/temporal/connection-config.js';
import { TestCluster } from '../helpers/cluster.js';
import { sharedServerConfig } from '../helpers/temporal.js';

const cluster = new TestCluster(sharedServerConfig().address);
before(async () => {
  await Promise.all(['w1', 'w2', 'w3'].map((name) => cluster.startWorker(name)));
});
after(() => cluster.stop());

test('a 12-trial grid over 3 CPU-slot workers: results, metrics, and a failing trial after its retries', async () => {
  const sweepId = await cluster.start(
    '  x: {range: [1, 12], inclusive: true}\n  steps: 2\n  step_ms: 50\n  fail_on: 7',
    {
      settings: 'retries: 1\nmetric: {name: loss, goal: minimize}',
    },
  );
  const watched = await cluster.sweep(['watch', sweepId]);
  assert.equal(watched.code, 1, 'a failed trial fails the sweep');
  assert.match(watched.stderr, new RegExp(`sweep ${sweepId} failed: 11 of 12 trials succeeded, 1 failed, 0 cancelled`));
  assert.match(watched.stdout, /^trial +name +x +steps +step_ms +fail_on +state/);

  const results = await cluster.sweep(['results', sweepId, '--format', 'json']);
  assert.equal(results.code, 0, results.stderr);
  const rows = results.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as TrialSummary);
  assert.equal(rows.length, 12);
  // Best first: loss = x / 2, so x = 1 leads; the failed trial has no metric and comes last.
  assert.deepEqual(
    rows.map((row) => row.params.x),
    [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 7],
  );
  for (const row of rows.filter((row) => row.params.x !== 7)) {
    assert.equal(row.state, 'succeeded');
    assert.equal(row.exitCode, 0);
    assert.deepEqual(row.params, { x: row.params.x, steps: 2, step_ms: 50, fail_on: 7 });
    assert.equal(row.metrics.loss, (row.params.x as number) / 2);
    assert.equal(row.best, (row.params.x as number) / 2);
    assert.match(row.worker ?? '', /^w[123]$/);
  }
  const failed = rows.at(-1);
  assert.equal(failed?.state, 'failed');
  assert.equal(failed?.exitCode, 3);
  assert.equal(failed?.attempts.length, 2);
  assert.deepEqual(
    failed?.attempts.map((attempt) => attempt.outcome),
    ['failed', 'failed'],
  );
  assert.match(failed?.error ?? '', /^exit 3 on w[123]: boom: trial x=7 fails on purpose$/);
  assert.equal(failed?.cause, 'boom: trial x=7 fails on purpose');

  const logs = await cluster.sweep(['logs', sweepId, '0', '--data-dir', cluster.dir]);
  assert.equal(logs.code, 0, logs.stderr);
  assert.equal(logs.stdout, '@sweep {"step":1,"loss":1}\n@sweep {"step":2,"loss":0.5}\n');
  const stderrLog = await cluster.sweep([
    'logs',
    sweepId,
    't006_x=7',
    '--stderr',
    '--attempt',
    '2',
    '--data-dir',
    cluster.dir,
  ]);
  assert.equal(stderrLog.stdout, 'boom: trial x=7 fails on purpose\n');

  const status = await cluster.sweep(['status', sweepId]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(
    status.stdout,
    new RegExp(
      `^sweep ${sweepId}: failed\\n  12 trials: 11 succeeded, 1 failed, 0 cancelled, 0 running, 0 waiting\\n` +
        `  owner ${userName()} · priority 3 · weight 1\\n` +
        `  best loss: 0\\.5 \\(trial 0\\)\\n` +
        // Three workers took the twelve trials: their idle time between trials, per worker.
        `  GPU idle \\(no trial on a worker while trials waited\\): \\S+ of 3 worker\\(s\\) × \\S+ \\(\\d+\\.\\d%\\); w1 \\S+, w2 \\S+, w3 \\S+\\n$`,
    ),
  );

  const list = await cluster.sweep(['list', '--json', '--limit', '200']);
  const listed = JSON.parse(list.stdout) as { sweepId: string; started: string }[];
  const mine = listed.find((sweep) => sweep.sweepId === sweepId);
  const best = { metric: 'loss', value: 0.5, trial: 0 };
  assert.deepEqual(mine, {
    sweepId,
    state: 'failed',
    started: mine?.started,
    done: 12,
    trials: 12,
    best,
    name: '',
    owner: userName(),
  });
  assert.match(mine?.started ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);

  // What the Web UI shows (verified by eye in UI 2.42.1, see docs/design.md) comes from these fields.
  const client = await connectClient(resolveConnectionConfig({ address: cluster.address, tls: false }, {}));
  try {
    const sweep = await client.workflow.getHandle(sweepId).describe();
    assert.equal(await sweep.staticSummary(), 'sweep: 12 trials');
    const details = await client.workflow
      .getHandle(sweepId)
      .query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    assert.equal(
      details.currentDetails,
      '**failed** · 12 trials: 11 succeeded, 1 failed, 0 cancelled, 0 in flight, 0 not started · best loss 0.5 (trial 0)',
    );
    const trial = client.workflow.getHandle(`${sweepId}/t6`);
    assert.equal(await (await trial.describe()).staticSummary(), 't006_x=7');
    const history = await trial.fetchHistory();
    const summaries = (history.events ?? []).flatMap((event) => {
      const payload = event.userMetadata?.summary;
      return event.activityTaskScheduledEventAttributes && payload
        ? [defaultPayloadConverter.fromPayload<string>(payload)]
        : [];
    });
    assert.deepEqual(summaries, ['t006_x=7 · attempt 1', 't006_x=7 · attempt 2']);
    const found: string[] = [];
    for await (const execution of client.workflow.list({ query: `SweepId = "${sweepId}" AND TrialState = "failed"` })) {
      found.push(execution.workflowId);
    }
    assert.deepEqual(found, [`${sweepId}/t6`]);
  } finally {
    await client.connection.close();
  }

  const records = cluster.records(sweepId);
  assert.equal(records.filter((record) => record.event === 'start').length, 13, 'twelve trials, one retried');
  assert.ok(records.every((record) => record.event !== 'start' || record.worker.match(/^w[123]$/)));
});
