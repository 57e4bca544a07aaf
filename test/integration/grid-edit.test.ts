// Growing a running grid (`sweep edit --add / --add-param / --samples`) on a real server with real workers and
// trial processes: exactly the new combinations run, once each, across continue-as-new and a SIGKILLed server.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { SweepControl } from '../../src/api/sweep-control.js';
import type { DevServer } from '../../src/server/dev-server.js';
import { trialWorkflowId } from '../../src/temporal/names.js';
import type { TrialPlan } from '../../src/workflows/trial-plan.js';
import { sweepChangesQuery, sweepProgressQuery } from '../../src/workflows/messages.js';
import { TestCluster, TRIAL_SCRIPT } from '../helpers/cluster.js';
import { sharedServerConfig, startPrivateServer, tempDir } from '../helpers/temporal.js';
import { until } from '../helpers/until.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

interface ResultLine {
  readonly index: number;
  readonly name: string;
  readonly state: string;
  readonly params: Record<string, unknown>;
}

test('edit --add and --add-param on a running grid run exactly the new combinations, across continue-as-new and a server restart', async () => {
  const dbFile = join(tempDir('grid-edit'), 'temporal.db');
  let server: DevServer = await startPrivateServer(dbFile);
  cleanups.push(() => server.stop());
  const cluster = new TestCluster(server.address);
  cleanups.push(() => cluster.stop());
  await Promise.all([cluster.startWorker('grow-a', 2), cluster.startWorker('grow-b', 2)]);
  // Two at a time, 2 s each: the sweep is still running when the last edit comes, the restart included.
  const sweepId = await cluster.start('  x: [1, 2, 3]\n  y: [a, b]\n  steps: 8\n  step_ms: 250', {
    settings: 'max_parallel: 2',
    args: ['--continue-as-new-after', '100', '--heartbeat-timeout', '20'],
  });
  await cluster.waitForRecords((records) => records.some((r) => r.sweep === sweepId && r.event === 'start'));

  const added = await cluster.sweep(['edit', sweepId, '--add', 'x=4,5']);
  assert.equal(added.code, 0, added.stderr);
  assert.equal(added.stdout, `${sweepId}: added 4 trials: t006..t009\n`);

  // Refused: a value already on the axis, an axis that does not exist. Nothing changes.
  const connection = await Connection.connect({ address: server.address });
  const changesNow = async () => {
    const client = new Client({ connection });
    return (await client.workflow.getHandle(sweepId).query(sweepChangesQuery)).changes.length;
  };
  const before = await changesNow();
  const twice = await cluster.sweep(['edit', sweepId, '--add', 'x=2,6']);
  assert.notEqual(twice.code, 0);
  assert.match(twice.stderr, /change refused: --add x: 2 is already on the axis/);
  const unknown = await cluster.sweep(['edit', sweepId, '--add', 'z=1']);
  assert.match(unknown.stderr, /--add z: the sweep has no parameter z \(its parameters: x, y, steps, step_ms\)/);
  const control = await SweepControl.connect(
    { address: server.address, namespace: 'default', tls: false },
    { by: 'bob@hostB', dataDir: join(cluster.dir, 'cli-data') },
  );
  await assert.rejects(
    control.grow(sweepId, { kind: 'add-samples', samples: 2 }),
    /--samples: the sweep has no random/,
  );
  await control.close();
  assert.equal(await changesNow(), before, 'a refused edit records nothing');
  await connection.close();

  // The server dies with the grown sweep in flight; the growth is in the sweep's state, and a new axis follows.
  const port = server.options.port;
  await server.kill();
  server = await startPrivateServer(dbFile, port);
  const seeded = await cluster.sweep(['edit', sweepId, '--add-param', 'seed=0,7']);
  assert.equal(seeded.code, 0, seeded.stderr);
  assert.equal(seeded.stdout, `${sweepId}: added 10 trials: t010..t019\n`);

  // A trial that has ended runs again as a new trial, from scratch, with its parameters; its first run stays.
  await cluster.waitForRecords((records) =>
    records.some((r) => r.sweep === sweepId && r.trial === 0 && r.event === 'end'),
  );
  const rerun = await cluster.sweep(['rerun', sweepId, '0']);
  assert.equal(rerun.stdout, `${sweepId}: added 1 trial: t020 (a rerun of t000_x=1_y=a)\n`, rerun.stderr);

  const watched = await cluster.sweep(['watch', sweepId, '--no-tty']);
  assert.equal(watched.code, 0, watched.stderr);
  const starts = cluster.records(sweepId).filter((r) => r.event === 'start' && r.from === 0);
  assert.deepEqual(
    starts.map((r) => r.trial).sort((a, b) => a - b),
    Array.from({ length: 21 }, (_, i) => i),
    'every trial, the added ones too, ran once from its start',
  );

  const results = await cluster.sweep(['results', sweepId, '--format', 'json']);
  assert.equal(results.code, 0, results.stderr);
  const lines = results.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as ResultLine);
  assert.ok(lines.every((line) => line.state === 'succeeded'));
  const point = (line: ResultLine) => JSON.stringify([line.params.x, line.params.y, line.params.seed ?? 0]);
  const expected = [1, 2, 3, 4, 5].flatMap((x) =>
    ['a', 'b'].flatMap((y) => [0, 7].map((seed) => JSON.stringify([x, y, seed]))),
  );
  assert.deepEqual(lines.slice(0, 20).map(point).sort(), expected.sort(), 'the grown grid, every point once');
  assert.deepEqual(lines[20]?.params, lines[0]?.params, 'the rerun ran with the parameters of the first trial');
  assert.deepEqual(
    lines.slice(0, 6).map((line) => [line.name, line.params.seed]),
    ['t000_x=1_y=a', 't001_x=1_y=b', 't002_x=2_y=a', 't003_x=2_y=b', 't004_x=3_y=a', 't005_x=3_y=b'].map((name) => [
      name,
      undefined,
    ]),
    'the first trials keep their names, and ran without the new axis',
  );
  assert.equal(lines[19]?.name, 't019_x=5_y=b_seed=7');

  // The table counts the first trials as the new axis's first value; the sweep says what it is now.
  const table = await cluster.sweep(['results', sweepId]);
  assert.match(table.stdout, /^\s*0\s.*\b1\s+a\s+8\s+250\s+0\b/m, table.stdout);
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const progress = await client.workflow.getHandle(sweepId).query(sweepProgressQuery);
  assert.equal(progress.counts.total, 21);
  assert.ok(progress.runs > 1, `continued as new at least once (runs: ${progress.runs})`);
  const status = await cluster.sweep(['status', sweepId]);
  assert.match(status.stdout, /21 trials: 21 succeeded/);
  assert.match(
    status.stdout,
    /trials added 3 time\(s\) \(edit, rerun\); parameters now: x \(5 values\), y \(2 values\), steps \(fixed\), step_ms \(fixed\), seed \(2 values\)/,
  );
  assert.match(status.stdout, /added 4 trials: t006\.\.t009 · by /);

  // After the sweep has ended, a rerun is a new sweep of that one trial, linked to it, in a directory of its own.
  const late = await cluster.sweep(['rerun', sweepId, 't003_x=2_y=b']);
  assert.equal(late.code, 0, late.stderr);
  const lateId = late.stdout.trim();
  assert.match(late.stderr, new RegExp(`${sweepId} has ended: rerunning t003_x=2_y=b as sweep ${lateId}`));
  const lateWatch = await cluster.sweep(['watch', lateId, '--no-tty']);
  assert.equal(lateWatch.code, 0, lateWatch.stderr);
  assert.deepEqual(
    cluster
      .records(lateId)
      .filter((r) => r.event === 'start')
      .map((r) => [r.trial, r.from]),
    [[3, 0]],
    'trial 3 alone, from its first step',
  );
  await client.connection.close();
});

test("sweep start on a running sweep's spec: refused without --extend; --extend adds what the file adds; --new starts another", async () => {
  const cluster = new TestCluster(sharedServerConfig().address);
  cleanups.push(() => cluster.stop());
  await cluster.startWorker('extend-a', 2);
  const file = join(cluster.dir, 'grid.yml');
  // 5 s trials one at a time: the sweep still runs through every start below.
  const write = (xs: string, command = TRIAL_SCRIPT) =>
    writeFileSync(
      file,
      `name: extend-test\ncommand: [${JSON.stringify(process.execPath)}, ${JSON.stringify(command)}]\nargs: none\n` +
        `env: {RECORDS: ${JSON.stringify(cluster.recordsFile)}}\nmax_parallel: 1\n` +
        `parameters:\n  x: [${xs}]\n  steps: 20\n  step_ms: 250\n`,
    );
  write('1, 2');
  const first = await cluster.sweep(['start', file]);
  assert.equal(first.code, 0, first.stderr);
  const sweepId = first.stdout.trim();
  // Visibility lists a new sweep a moment after it starts.
  await until('the sweep to be listed', async () => (await cluster.sweep(['list'])).stdout.includes(sweepId));

  const again = await cluster.sweep(['start', file]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, new RegExp(`nothing started: sweep ${sweepId} from .*grid.yml is running; --extend`));

  write('1, 2, 3', '/elsewhere/train.mjs');
  const changed = await cluster.sweep(['start', file, '--extend']);
  assert.equal(changed.code, 2);
  assert.match(changed.stderr, /grid\.yml: command: differs from the running sweep's/);
  assert.match(changed.stderr, /nothing changed: sweep .* can only grow \(start another with --new\)/);

  write('3, 1, 2');
  const extended = await cluster.sweep(['start', file, '--extend']);
  assert.equal(extended.code, 0, extended.stderr);
  assert.equal(extended.stdout, `${sweepId}\n`);
  assert.match(extended.stderr, new RegExp(`Extended sweep ${sweepId}: added 1 trial: t002`));
  const nothing = await cluster.sweep(['start', file, '--extend']);
  assert.match(nothing.stderr, /nothing to add, it has every trial of/);

  // Priority and weight change for the trials it hands out from now on; status says what they are now.
  const urgent = await cluster.sweep(['edit', sweepId, '--priority', '1', '--weight', '2']);
  assert.equal(urgent.stdout, `${sweepId}: priority 3 → 1, weight 1 → 2\n`, urgent.stderr);
  const bad = await cluster.sweep(['edit', sweepId, '--priority', '9']);
  assert.equal(bad.code, 2);
  assert.match((await cluster.sweep(['status', sweepId])).stdout, /owner \S+ · priority 1 · weight 2/);

  const other = await cluster.sweep(['start', file, '--new']);
  assert.equal(other.code, 0, other.stderr);
  assert.notEqual(other.stdout.trim(), sweepId);
  await cluster.sweep(['cancel', other.stdout.trim()]);

  const watched = await cluster.sweep(['watch', sweepId, '--no-tty']);
  assert.equal(watched.code, 0, watched.stderr);
  assert.deepEqual(
    cluster
      .records(sweepId)
      .filter((r) => r.event === 'start')
      .map((r) => r.trial)
      .sort(),
    [0, 1, 2],
  );
  // One at a time: trial 2 was handed out after the edit, at the new priority and weight.
  const client = new Client({ connection: await Connection.connect({ address: cluster.address }) });
  const history = await client.workflow.getHandle(trialWorkflowId(sweepId, 2)).fetchHistory();
  const [payload] = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
  assert.ok(payload);
  const { plan } = client.options.loadedDataConverter.payloadConverter.fromPayload<{ plan: TrialPlan }>(payload);
  assert.deepEqual([plan.policy.share?.priority, plan.policy.share?.weight], [1, 2]);
  await client.connection.close();
});
