import assert from 'node:assert/strict';
import { userName } from '../../src/cli/identity.js';
import { after, before, test } from 'node:test';
import { startSweep as startSweepWorkflow } from '../../src/cli/sweep-client.js';
import { TestCluster } from '../helpers/cluster.js';
import { startSweep } from '../helpers/processes.js';
import { specOf } from '../helpers/spec.js';
import { sharedServerClient, sharedServerConfig, uniqueName } from '../helpers/temporal.js';

const cluster = new TestCluster(sharedServerConfig().address);
const env = { ...process.env, TEMPORAL_ADDRESS: cluster.address };
const cleanups: (() => Promise<unknown>)[] = [];
before(() => cluster.startWorker('views', 2));
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await cluster.stop();
});

const SETTINGS = 'metric: {name: loss, goal: minimize}';
/** Two trials that report loss x/step: trial 0's best is 0.5. */
const TWO_TRIALS = '  x: [1, 2]\n  steps: 2\n  step_ms: 20';

test('sweep IDs by unique prefix; status --json and list --json show what their tables show', async () => {
  const base = uniqueName('views');
  const first = await cluster.start(TWO_TRIALS, { settings: `${SETTINGS}\nname: ${base}-a` });
  const second = await cluster.start(TWO_TRIALS, { settings: `${SETTINGS}\nname: ${base}-b` });
  for (const prefix of [`${base}-a`, `${base}-b`]) {
    const watched = await cluster.sweep(['watch', prefix]);
    assert.equal(watched.code, 0, watched.stderr);
  }

  const ambiguous = await cluster.sweep(['results', `${base}-`]);
  assert.equal(ambiguous.code, 2);
  assert.match(
    ambiguous.stderr,
    new RegExp(`^${base}-: ambiguous: it matches 2 sweeps \\(.+\\); give more of the ID\n$`),
  );
  for (const id of [first, second]) assert.ok(ambiguous.stderr.includes(id), ambiguous.stderr);
  const none = await cluster.sweep(['status', `${base}-z`]);
  assert.equal(none.code, 2);
  assert.equal(none.stderr, `${base}-z: no such sweep\n`);

  const status = await cluster.sweep(['status', `${base}-a`, '--json']);
  assert.equal(status.code, 0, status.stderr);
  const view = JSON.parse(status.stdout) as Record<string, unknown>;
  assert.equal(view.sweepId, first);
  assert.equal(view.state, 'completed');
  assert.deepEqual(view.counts, { total: 2, succeeded: 2, failed: 0, cancelled: 0, running: 0, waiting: 0 });
  assert.deepEqual(view.metric, { name: 'loss', goal: 'minimize' });
  assert.deepEqual(view.best, { index: 0, value: 0.5 });
  assert.deepEqual(view.trials, []);
  assert.deepEqual(view.waiting, []);
  assert.equal(view.fromVisibility, false);

  const list = await cluster.sweep(['list', '--json', '--limit', '1000']);
  assert.equal(list.code, 0, list.stderr);
  const rows = (JSON.parse(list.stdout) as { sweepId: string; started: string }[]).filter((row) =>
    row.sweepId.startsWith(base),
  );
  const row = (sweepId: string, name: string) => ({
    sweepId,
    state: 'completed',
    started: rows.find((listed) => listed.sweepId === sweepId)?.started,
    done: 2,
    trials: 2,
    best: { metric: 'loss', value: 0.5, trial: 0 },
    name,
    owner: userName(),
  });
  assert.deepEqual(rows, [row(second, `${base}-b`), row(first, `${base}-a`)], 'newest first');
  const table = (await cluster.sweep(['list', '--limit', '1000'])).stdout.split('\n');
  assert.match(table[0] ?? '', /^sweep +state +started \(UTC\) +done +best +owner +name$/);
  assert.match(table.find((line) => line.startsWith(first)) ?? '', / completed +\S+ \S+ +2\/2 +loss 0\.5 +\S+ +\S+-a$/);
});

test('an exact sweep ID wins over the longer IDs it is a prefix of', async () => {
  const client = await sharedServerClient();
  cleanups.push(() => client.connection.close());
  const base = uniqueName('exact');
  // Nothing serves this control queue: the sweeps stay running, untouched, until terminated.
  const options = {
    heartbeatTimeoutSeconds: 30,
    window: 1,
    pool: cluster.pool,
    controlQueue: uniqueName('idle-control'),
    continueAsNewAfterEvents: 5000,
    maxLostAttempts: 1,
  };
  for (const sweepId of [base, `${base}-2`]) {
    await startSweepWorkflow(client, specOf('x: [1]'), options, { sweepId });
    cleanups.push(() => client.workflow.getHandle(sweepId).terminate('test over'));
  }
  const query = `WorkflowType = "sweepWorkflow" AND WorkflowId STARTS_WITH "${base}"`;
  // Visibility lists a sweep moments after it starts; a prefix finds only what it lists.
  while ((await client.workflow.count(query)).count < 2);

  const exact = await cluster.sweep(['cancel', base, '--timeout', '0']);
  assert.equal(exact.code, 0, exact.stderr);
  assert.match(exact.stderr, new RegExp(`^the cancellation of sweep ${base} is recorded;`));
  const longer = await cluster.sweep(['cancel', `${base}-`, '--timeout', '0']);
  assert.equal(longer.code, 0, longer.stderr);
  assert.match(longer.stderr, new RegExp(`^the cancellation of sweep ${base}-2 is recorded;`));
});

test('Ctrl-C on sweep watch detaches, says how to follow or stop the sweep, and exits 130', async () => {
  const sweepId = await cluster.start('  x: [1]\n  steps: 600\n  step_ms: 100');
  cleanups.push(() => cluster.sweep(['cancel', sweepId]));
  const watch = startSweep(['watch', sweepId], { env });
  await watch.waitForOutput(new RegExp(`^${sweepId}: 0/1 done .*, 1 in flight`, 'm'), 30_000, 'stderr');

  const exit = await watch.signal('SIGINT');
  assert.equal(exit.code, 130, watch.stderr);
  assert.equal(
    watch.stderr.split('\n').at(-2),
    `sweep: detached; sweep ${sweepId} keeps running. Follow it with: sweep watch ${sweepId}; stop it with: sweep cancel ${sweepId}`,
  );
  assert.equal(watch.stdout, '', 'no results table: the sweep has not ended');
  const status = await cluster.sweep(['status', sweepId, '--json']);
  assert.equal((JSON.parse(status.stdout) as { state: string }).state, 'running');
});
