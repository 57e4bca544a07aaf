// @run-alone: it asserts how many trials run at once and when, which another file's load blurs.
// Steering a running sweep (`sweep edit | pause | resume | stop`) on a real server with real workers and trial
// processes: what the processes' own records show, across continue-as-new (every ~100 history events here).
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { InterceptingCall, type Interceptor } from '@grpc/grpc-js';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import proto from '@temporalio/proto';
import { SweepControl } from '../../src/api/sweep-control.js';
import { changeSweep } from '../../src/cli/sweep-steering.js';
import { trialWorkflowId } from '../../src/temporal/names.js';
import { changeSweepUpdate, sweepChangesQuery, sweepProgressQuery } from '../../src/workflows/messages.js';
import type { TrialSummary } from '../../src/workflows/types.js';
import { concurrencyAtStarts, spans, TestCluster, type TrialRecord } from '../helpers/cluster.js';
import { runSweep } from '../helpers/processes.js';
import { sharedServerConfig } from '../helpers/temporal.js';
import { until } from '../helpers/until.js';

let cluster: TestCluster;
let client: Client;
let connection: Connection;
/** The CLI's own data directory: where it keeps the IDs of changes it has not heard back about. */
let cliData: string;

before(async () => {
  cluster = new TestCluster(sharedServerConfig().address);
  await Promise.all([cluster.startWorker('steer-a', 2), cluster.startWorker('steer-b', 2)]);
  cliData = join(cluster.dir, 'cli-data');
  mkdirSync(join(cliData, 'sweep'), { recursive: true });
  connection = await Connection.connect({ address: cluster.address });
  client = new Client({ connection });
});

after(async () => {
  await cluster.stop();
  await connection.close();
});

const steer = (args: readonly string[]) =>
  runSweep(args, { env: { ...process.env, TEMPORAL_ADDRESS: cluster.address, XDG_DATA_HOME: cliData } });

/**
 * Sends the first UpdateWorkflowExecution to run `runId` of its workflow (one that has closed), as an Update sent
 * while the run continued as new reaches it; records the run each send named ('' for the current run).
 */
function firstUpdateToRun(runId: string, sent: string[]): Interceptor {
  const { UpdateWorkflowExecutionRequest } = proto.temporal.api.workflowservice.v1;
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      sendMessage(message: Uint8Array, next) {
        if (!options.method_definition.path.endsWith('/UpdateWorkflowExecution')) return next(message);
        const request = UpdateWorkflowExecutionRequest.decode(message);
        if (sent.length === 0) request.workflowExecution = { ...request.workflowExecution, runId };
        sent.push(request.workflowExecution?.runId ?? '');
        next(UpdateWorkflowExecutionRequest.encode(request).finish());
      },
    });
}

const runningNow = (records: readonly TrialRecord[]) => spans(records).filter((span) => span.to === Infinity).length;

test('max parallel lowered and raised, pause and resume: the processes follow, and nothing runs twice', async () => {
  const sweepId = await cluster.start('  x: {range: [0, 40]}\n  steps: 4\n  step_ms: 250', {
    args: ['--continue-as-new-after', '100'],
  });
  const mine = () => cluster.records(sweepId);
  await cluster.waitForRecords(() => runningNow(mine()) === 4);

  const lowered = await steer(['edit', sweepId, '--max-parallel', '1']);
  assert.equal(lowered.code, 0, lowered.stderr);
  assert.match(lowered.stdout, /max parallel 64 → 1/);
  const loweredAt = Date.now();
  // The four running go on; once they and any that a worker started unasked around the change (it read the
  // sweep's memo just before; a node trial takes a while to record its start) have ended, one at a time.
  const early = () => spans(mine()).filter((span) => span.from <= loweredAt + 2000);
  const settledAt = () => Math.max(...early().map((span) => span.to));
  await cluster.waitForRecords(
    () =>
      settledAt() !== Infinity &&
      spans(mine()).filter((span) => span.from > settledAt() && span.to !== Infinity).length >= 2,
  );
  const settled = settledAt();
  const afterLowering = spans(mine()).filter((span) => span.from > settled);
  assert.ok(
    concurrencyAtStarts(afterLowering, spans(mine())).every((count) => count === 1),
    `one at a time after lowering: ${JSON.stringify(concurrencyAtStarts(afterLowering, spans(mine())))}`,
  );
  assert.ok(
    early().every((span) => span.code === 0),
    `the trials running when it was lowered ran to their end, none killed: ${JSON.stringify(early())}`,
  );

  const raised = await steer(['edit', sweepId, '--max-parallel', '4']);
  assert.match(raised.stdout, /max parallel 1 → 4/, raised.stderr);
  await cluster.waitForRecords(() => runningNow(mine()) === 4);

  const paused = await steer(['pause', sweepId]);
  assert.match(paused.stdout, /paused: no new trial starts/, paused.stderr);
  // Drained: no process runs, and every trial still in flight was refused by the gate. A worker that read the
  // sweep's memo just before the pause may still be starting one (a node trial takes a while to record its
  // start); until that one has ended too, no process running is only a gap between trials.
  const allHeld = async () => {
    const { running, held = [] } = await client.workflow.getHandle(sweepId).query(sweepProgressQuery);
    return running.every((index) => held.includes(index));
  };
  await until('the sweep to drain', async () => runningNow(mine()) === 0 && (await allHeld()), 60_000);
  const drainedAt = Date.now();
  // Nothing may start while paused: the absence of starts is what is asserted, over a stretch of time.
  await delay(10_000);
  const startedWhilePaused = spans(mine()).filter((span) => span.from > drainedAt);
  assert.deepEqual(startedWhilePaused, [], 'no trial started while paused');
  const progress = await client.workflow.getHandle(sweepId).query(sweepProgressQuery);
  assert.ok(progress.counts.succeeded < 40 && progress.settings?.paused === true);

  const resumed = await steer(['resume', sweepId]);
  assert.match(resumed.stdout, /resumed/, resumed.stderr);
  const watched = await cluster.sweep(['watch', sweepId, '--no-tty']);
  assert.equal(watched.code, 0, watched.stderr);
  const all = spans(mine());
  assert.equal(new Set(all.map((span) => span.trial)).size, 40);
  assert.equal(all.length, 40, 'each trial ran once');
  assert.ok(Math.max(...concurrencyAtStarts(all, all)) <= 4);

  const { changes } = await client.workflow.getHandle(sweepId).query(sweepChangesQuery);
  assert.deepEqual(
    changes.map((change) => change.result),
    ['max parallel 64 → 1', 'max parallel 1 → 4', 'paused: no new trial starts', 'resumed'],
  );
  assert.ok(
    changes.every((change) => /^[^@\s]+@\S+$/.test(change.by)),
    JSON.stringify(changes),
  );
  const status = await cluster.sweep(['status', sweepId]);
  assert.match(status.stdout, /max parallel 1 → 4 · by \S+@\S+/);
  assert.ok((progress.runs ?? 1) > 1, `continued as new meanwhile (run ${progress.runs})`);
});

test('pause --hold: running trials stop at their next checkpoint, wait while paused, and resume from it', async (t) => {
  // Six 8 s trials on 4 slots; the odd ones report no checkpoints, so they can only finish. Of the four running
  // at the pause, at least one reports checkpoints and at least one does not.
  const sweepId = await cluster.start(
    '  x: {range: [0, 6]}\n  steps: 32\n  step_ms: 250\n  report_checkpoints: true\n  checkpoints_on_even_x: true',
  );
  const mine = () => cluster.records(sweepId);
  const firstFour = await cluster.waitForRecords(() => runningNow(mine()) === 4);
  const runningAtPause = spans(firstFour.filter((record) => record.sweep === sweepId)).map((span) => span.trial);
  const paused = await steer(['pause', sweepId, '--hold']);
  assert.equal(paused.code, 0, paused.stderr);
  assert.match(
    paused.stdout,
    /paused: no new trial starts; running trials go back to the queue at their next checkpoint/,
  );
  const pausedAt = Date.now();

  const allHeld = async () => {
    const { running, held = [] } = await client.workflow.getHandle(sweepId).query(sweepProgressQuery);
    return running.length > 0 && running.every((index) => held.includes(index));
  };
  await until('the sweep to drain', async () => runningNow(mine()) === 0 && (await allHeld()), 60_000);
  const drainedAt = Date.now();
  const stopped = mine().filter((record) => record.event === 'sigterm');
  const checkpointing = runningAtPause.filter((trial) => trial % 2 === 0);
  const withoutCheckpoints = runningAtPause.filter((trial) => trial % 2 === 1);
  assert.ok(checkpointing.length > 0 && withoutCheckpoints.length > 0, JSON.stringify(runningAtPause));
  assert.deepEqual(
    stopped.map((record) => record.trial).sort(),
    [...checkpointing].sort(),
    'each running trial that reports checkpoints was stopped, and only those',
  );
  t.diagnostic(`stopped ${JSON.stringify(stopped.map((record) => record.time - pausedAt))} ms after the pause`);
  assert.ok(
    stopped.every((record) => record.time - pausedAt < 3000),
    `stopped within a checkpoint and a memo check of the pause: ${JSON.stringify(stopped.map((r) => r.time - pausedAt))}`,
  );
  for (const trial of withoutCheckpoints) {
    assert.ok(
      spans(mine()).some((span) => span.trial === trial && span.code === 0),
      `trial ${trial}, which reports no checkpoints, ran to its end`,
    );
  }
  const status = await cluster.sweep(['status', sweepId]);
  assert.match(status.stdout, /settings: paused, holding running trials at checkpoints, /);
  // Held, nothing starts: the absence of starts is what is asserted, over a stretch of time.
  await delay(3000);
  assert.deepEqual(
    spans(mine()).filter((span) => span.from > drainedAt),
    [],
    'no trial started while paused',
  );

  const resumed = await steer(['resume', sweepId]);
  assert.match(resumed.stdout, /resumed/, resumed.stderr);
  const watched = await cluster.sweep(['watch', sweepId, '--no-tty']);
  assert.equal(watched.code, 0, watched.stderr);
  const records = mine();
  for (const { trial, time } of stopped) {
    const starts = records.filter((record) => record.trial === trial && record.event === 'start');
    const again = starts.find((record) => record.time > time);
    assert.ok(again, `trial ${trial} ran again after its hold`);
    assert.ok((again.from ?? 0) > 0, `trial ${trial} resumed from its checkpoint, not from step 0`);
    assert.equal(again.resumedAt, again.from, `SWEEP_RESUME names the checkpoint trial ${trial} reported`);
    const summary = (await client.workflow.getHandle(trialWorkflowId(sweepId, trial)).result()) as TrialSummary;
    assert.equal(summary.state, 'succeeded');
    assert.deepEqual(
      summary.attempts.map((attempt) => attempt.outcome),
      ['held', 'succeeded'],
      `trial ${trial}: the hold is an attempt of its own, neither a failure nor a lost worker`,
    );
  }
  assert.equal(
    records.filter((record) => record.event === 'end' && record.code === 0).length,
    6,
    'every trial finished once',
  );
});

test('stop one trial, running or not started: recorded as stopped by the user; the rest go on', async () => {
  const sweepId = await cluster.start('  x: {range: [0, 5]}\n  steps: 24\n  step_ms: 250', {
    settings: 'max_parallel: 2',
  });
  const mine = () => cluster.records(sweepId);
  const first = await cluster.waitForRecords(() => runningNow(mine()) === 2);
  const running = spans(first.filter((record) => record.sweep === sweepId)).find((span) => span.to === Infinity);
  assert.ok(running);
  const stoppedRunning = await steer(['stop', sweepId, String(running.trial)]);
  assert.equal(stoppedRunning.code, 0, stoppedRunning.stderr);
  assert.match(stoppedRunning.stdout, new RegExp(`trial ${running.trial} stopping \\(asked by \\S+@\\S+\\)`));
  // The TypeScript API does the same.
  const control = await SweepControl.connect(
    { address: cluster.address, namespace: 'default', tls: false },
    { by: 'bob@hostB', dataDir: join(cliData, 'sweep') },
  );
  const notStarted = await control.stop(sweepId, 4);
  assert.equal(notStarted.result, 'trial 4 will not start (stopped by bob@hostB)');
  await control.close();

  // A refused change says why, exits 2, and changes nothing.
  const refused = await steer(['resume', sweepId]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /change refused: the sweep is not paused/);
  const again = await steer(['stop', sweepId, '4']);
  assert.match(again.stderr, /trial 4 has already ended/);
  const noSuch = await steer(['stop', sweepId, '99']);
  assert.match(noSuch.stderr, /99: no such trial/);

  const watched = await cluster.sweep(['watch', sweepId, '--no-tty']);
  assert.equal(watched.code, 0, watched.stderr);
  const results = await cluster.sweep(['results', sweepId, '--format', 'json']);
  const rows = results.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { index: number; state: string; error?: string });
  const stopped = rows.find((row) => row.index === running.trial);
  assert.ok(
    mine().some((record) => record.trial === running.trial && record.event === 'sigterm'),
    'its process got SIGTERM',
  );
  assert.equal(stopped?.state, 'cancelled');
  assert.match(stopped?.error ?? '', /^stopped by \S+@\S+/);
  assert.equal(rows.filter((row) => row.state === 'succeeded').length, 3);
  assert.ok(!spans(mine()).some((span) => span.trial === 4), 'trial 4 never ran');
  const { changes } = await client.workflow.getHandle(sweepId).query(sweepChangesQuery);
  assert.equal(changes.length, 2, 'the refused changes left no record');
});

test('changes sent in bursts while the sweep continues as new, again and again, each apply once', async () => {
  const sweepId = await cluster.start('  x: {range: [0, 2]}\n  steps: 400\n  step_ms: 250', {
    args: ['--continue-as-new-after', '100'],
  });
  const control = await SweepControl.connect(
    { address: cluster.address, namespace: 'default', tls: false },
    { by: 'carol@hostC', dataDir: join(cliData, 'sweep') },
  );
  const runsBefore = (await client.workflow.getHandle(sweepId).query(sweepProgressQuery)).runs ?? 1;
  const firstRunId = (await client.workflow.getHandle(sweepId).describe()).runId;
  // Each accepted change costs the sweep two history events or more, so 150 of them close a run every 50 or so:
  // bursts of 10 at once keep some on their way while a run closes (the server drops those; the client resends).
  const values = Array.from({ length: 150 }, (_, i) => i + 1);
  const results: string[] = [];
  for (let burst = 0; burst < values.length; burst += 10) {
    const sent = values.slice(burst, burst + 10).map((timeoutSeconds) => control.edit(sweepId, { timeoutSeconds }));
    results.push(...(await Promise.all(sent)).map((record) => record.result));
  }
  await control.close();
  assert.equal(results.length, values.length, 'every change was answered');
  const { changes, settings } = await client.workflow.getHandle(sweepId).query(sweepChangesQuery);
  assert.equal(changes.length, values.length, 'each applied once');
  assert.equal(new Set(changes.map((change) => change.id)).size, values.length);
  assert.deepEqual(
    changes.map((change) => (change.change as { timeoutSeconds?: number }).timeoutSeconds ?? 0).sort((a, b) => a - b),
    values,
  );
  assert.ok(
    values.slice(-10).includes(settings.timeoutSeconds ?? 0),
    `the last burst stands: ${settings.timeoutSeconds}`,
  );
  const { runs = 1 } = await client.workflow.getHandle(sweepId).query(sweepProgressQuery);
  assert.ok(runs - runsBefore >= 2, `continued as new during the bursts (${runsBefore} → ${runs} runs)`);

  // The race itself, forced: the first send reaches the run that has closed, as one sent while it continued as
  // new does; the real server refuses it, and the client sends it again, once, to the current run.
  const sent: string[] = [];
  const racing = await Connection.connect({
    address: cluster.address,
    interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions()), firstUpdateToRun(firstRunId, sent)],
  });
  const record = await changeSweep(
    new Client({ connection: racing }),
    sweepId,
    { kind: 'set', retries: 7 },
    { by: 'dave@hostD', dataDir: join(cliData, 'sweep') },
  );
  await racing.close();
  assert.equal(record.result, 'retries 0 → 7');
  assert.deepEqual(sent, [firstRunId, ''], 'sent to the closed run, then again to the current one');
  const after = await client.workflow.getHandle(sweepId).query(sweepChangesQuery);
  assert.equal(after.changes.length, values.length + 1, 'applied once');
  await cluster.sweep(['cancel', sweepId]);
});

test('a change whose CLI died before it heard back, asked again, applies once', async () => {
  const sweepId = await cluster.start('  x: {range: [0, 4]}\n  steps: 20\n  step_ms: 250', {
    settings: 'max_parallel: 2',
  });
  await cluster.waitForRecords((records) => records.some((record) => record.sweep === sweepId));
  // What a killed `sweep edit --max-parallel 3` leaves: its change applied on the server, its ID still pending.
  const id = 'killed-cli-change';
  const change = { kind: 'set', maxParallel: 3 } as const;
  const first = await client.workflow
    .getHandle(sweepId)
    .executeUpdate(changeSweepUpdate, { args: [{ id, by: 'alice@hostA', change }], updateId: id });
  assert.equal(first.result, 'max parallel 2 → 3');
  writeFileSync(
    join(cliData, 'sweep', 'pending-changes.json'),
    JSON.stringify({ [`${sweepId} ${JSON.stringify(change)}`]: { id, at: Date.now() } }),
  );
  const retried = await steer(['edit', sweepId, '--max-parallel', '3']);
  assert.equal(retried.code, 0, retried.stderr);
  assert.match(retried.stdout, /max parallel 2 → 3/, 'the first record, not "3 → 3"');
  const { changes, settings } = await client.workflow.getHandle(sweepId).query(sweepChangesQuery);
  assert.equal(changes.length, 1);
  assert.equal(changes[0]?.by, 'alice@hostA');
  assert.equal(settings.maxParallel, 3);
  // Heard back, the CLI forgets the ID: the same command again is a new change, refused as changing nothing.
  const fresh = await steer(['edit', sweepId, '--max-parallel', '3']);
  assert.equal(fresh.code, 2);
  assert.match(fresh.stderr, /nothing would change: max parallel 3, retries 0, timeout none/);
  await cluster.sweep(['cancel', sweepId]);
});
