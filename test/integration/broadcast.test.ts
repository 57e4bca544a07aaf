import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { TestCluster, type TrialRecord } from '../helpers/cluster.js';
import { updatesSinceQuery } from '../../src/workflows/messages.js';
import { sharedServerClient, sharedServerConfig } from '../helpers/temporal.js';

const UPDATE_TRIAL = fileURLToPath(new URL('../fixtures/update_trial.py', import.meta.url));
const owner = new TestCluster(sharedServerConfig().address);
after(() => owner.stop());

type UpdateRecord = TrialRecord & { readonly version?: number; readonly initial?: number[] };

test('sweep signal update reaches every running Python trial in order, and every later trial before it starts', async () => {
  await Promise.all([owner.startWorker('b1', 2), owner.startWorker('b2', 2)]);
  const spec = join(owner.dir, 'broadcast.yml');
  writeFileSync(
    spec,
    `command: [python3, ${JSON.stringify(UPDATE_TRIAL)}]\nargs: none\nenv: {RECORDS: ${JSON.stringify(owner.recordsFile)}}\n` +
      'parameters:\n  x: [0, 1, 2, 3, 4]\n  steps: 30\n  step_ms: 100\n  until_version: 3\n',
  );
  const started = await owner.sweep(['start', spec]);
  assert.equal(started.code, 0, started.stderr);
  const sweepId = started.stdout.trim();
  await owner.waitForRecords((records) => records.filter((r) => r.event === 'start').length === 4);

  const sentAt: number[] = [];
  for (const [i, pair] of ['cache={"a":1}', 'tag=second', 'lr=0.5'].entries()) {
    sentAt.push(Date.now());
    const sent = await owner.sweep(['signal', 'update', sweepId, pair]);
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal(sent.stdout, `${i + 1}\n`);
  }
  const updated = (await owner.waitForRecords(
    (records) => records.filter((r) => r.event === ('update' as TrialRecord['event'])).length === 12,
    20_000,
  )) as UpdateRecord[];
  // The four that started before the first update; a fifth may start once one of them ends (it sees 1..3 at start).
  const running = updated.filter((r) => r.event === 'start' && (r.initial ?? []).length === 0).map((r) => r.trial);
  assert.equal(running.length, 4, JSON.stringify(updated));
  const latencies: number[] = [];
  for (const trial of running) {
    const seen = updated.filter((r) => r.trial === trial && r.event === ('update' as TrialRecord['event']));
    assert.deepEqual(
      seen.map((r) => r.version),
      [1, 2, 3],
      `trial ${trial} got 1, 2, 3 in order`,
    );
    for (const record of seen) latencies.push(record.time - (sentAt[(record.version ?? 1) - 1] ?? 0));
  }
  latencies.sort((a, b) => a - b);
  process.stderr.write(
    `# update delivery p50 ${latencies[Math.floor(latencies.length / 2)]} ms, max ${latencies.at(-1)} ms\n`,
  );

  const status = await owner.sweep(['status', sweepId, '--json']);
  assert.equal((JSON.parse(status.stdout) as { updateVersion: number }).updateVersion, 3);
  const human = await owner.sweep(['status', sweepId]);
  assert.match(human.stdout, /cache updates: version 3, acknowledged by \d of \d running trial\(s\)/);

  const isLate = (r: UpdateRecord) => r.event === 'start' && !running.includes(r.trial);
  const late = (await owner.waitForRecords((records) => records.some(isLate), 30_000)) as UpdateRecord[];
  assert.deepEqual(late.find(isLate)?.initial, [1, 2, 3], 'the later trial saw 1..3 before starting');
  assert.equal((await owner.sweep(['watch', sweepId])).code, 0);
});

test('an update over the size cap is refused and records nothing', async () => {
  const sweepId = await owner.start('  x: [1]\n  steps: 600\n  step_ms: 100');
  const big = join(owner.dir, 'big.json');
  writeFileSync(big, JSON.stringify({ blob: 'x'.repeat(70 * 1024) }));
  const refused = await owner.sweep(['signal', 'update', sweepId, '--file', big]);
  assert.equal(refused.code, 2);
  assert.equal(refused.stderr, 'update rejected: the update is 71691 bytes as JSON; at most 65536 are allowed\n');
  const next = await owner.sweep(['signal', 'update', sweepId, 'small=1']);
  assert.equal(next.stdout, '1\n', 'the refused update took no version');
  assert.equal((await owner.sweep(['cancel', sweepId])).code, 0);
});

test('bad updates are refused with a clear error and change nothing', async () => {
  const sweepId = await owner.start('  x: [1]\n  steps: 1\n  step_ms: 10');
  assert.equal((await owner.sweep(['watch', sweepId])).code, 0);
  const ended = await owner.sweep(['signal', 'update', sweepId, 'a=1']);
  assert.equal(ended.code, 1);
  assert.equal(
    ended.stderr,
    `sweep: sweep ${sweepId} has ended (completed); its trials can no longer receive updates\n`,
  );
  const unknown = await owner.sweep(['signal', 'update', 'no-such-sweep', 'a=1']);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr, 'no-such-sweep: no such sweep\n');
  const malformed = await owner.sweep(['signal', 'update', sweepId, 'novalue']);
  assert.equal(malformed.code, 2);
  assert.equal(malformed.stderr, 'update argument "novalue": expected key=value\n');
  const badFile = join(owner.dir, 'bad.yml');
  writeFileSync(badFile, 'a: [1, 2\n');
  const bad = await owner.sweep(['signal', 'update', sweepId, '--file', badFile]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, new RegExp(`^${badFile}:2:1 invalid update: `));
});

test('with update_signal, each delivered update is followed by that signal to the trial; a rescheduled attempt gets every update again', async () => {
  const spec = join(owner.dir, 'signalled.yml');
  writeFileSync(
    spec,
    `command: [python3, ${JSON.stringify(UPDATE_TRIAL)}]\nargs: none\nupdate_signal: SIGUSR1\n` +
      `env: {RECORDS: ${JSON.stringify(owner.recordsFile)}}\nparameters:\n  x: [10]\n  steps: 100\n  step_ms: 100\n  trap_usr1: true\n`,
  );
  await owner.startWorker('s1');
  const started = await owner.sweep(['start', spec, '--heartbeat-timeout', '4']);
  const sweepId = started.stdout.trim();
  const mine = (records: TrialRecord[]) => records.filter((r) => r.sweep === sweepId) as UpdateRecord[];
  const [first] = mine(await owner.waitForRecords((records) => mine(records).some((r) => r.event === 'start')));
  const k1 = await owner.sweep(['signal', 'update', sweepId, 'k=1']);
  assert.equal(k1.code, 0, `${k1.stderr}\n${(await owner.sweep(['results', sweepId, '--format', 'json'])).stdout}`);
  assert.equal((await owner.sweep(['signal', 'update', sweepId, 'k=2'])).code, 0);
  const signalled = mine(
    await owner.waitForRecords(
      (records) => mine(records).filter((r) => r.event === ('usr1' as TrialRecord['event'])).length >= 2,
      20_000,
    ),
  );
  const lastSignal = signalled.filter((r) => r.event === ('usr1' as TrialRecord['event'])).at(-1) as UpdateRecord & {
    versions: number[];
  };
  assert.deepEqual(lastSignal.versions, [1, 2], 'the file held both updates when the second signal arrived');

  // Kill the worker running it: the next attempt starts with both updates already in its file.
  const worker = [...owner.workers.entries()].find(([name]) => name === first?.worker)?.[1];
  assert.ok(worker);
  await worker.signal('SIGKILL');
  const again = mine(
    await owner.waitForRecords((records) => mine(records).some((r) => r.event === 'start' && r.attempt === 2), 30_000),
  );
  assert.deepEqual(again.find((r) => r.event === 'start' && r.attempt === 2)?.initial, [1, 2]);
  const cancelled = await owner.sweep(['cancel', sweepId]);
  assert.equal(cancelled.code, 0, cancelled.stderr);
});

test('--broadcast-results: each finished trial becomes an update that later trials start with', async () => {
  const solo = new TestCluster(sharedServerConfig().address);
  try {
    await solo.startWorker('solo');
    const spec = join(solo.dir, 'results.yml');
    writeFileSync(
      spec,
      `command: [python3, ${JSON.stringify(UPDATE_TRIAL)}]\nargs: none\nenv: {RECORDS: ${JSON.stringify(solo.recordsFile)}}\n` +
        'parameters:\n  x: [1, 2, 3]\n  steps: 10\n  step_ms: 100\n',
    );
    const started = await solo.sweep(['start', spec, '--broadcast-results']);
    const sweepId = started.stdout.trim();
    assert.equal((await solo.sweep(['watch', sweepId])).code, 0);
    const starts = (solo.records(sweepId) as UpdateRecord[])
      .filter((r) => r.event === 'start')
      .sort((a, b) => a.time - b.time);
    assert.deepEqual(starts[0]?.initial, []);
    // The first result was recorded a whole trial (1 s) before the third trial started.
    assert.ok(starts[2]?.initial?.includes(1), JSON.stringify(starts));
    const client = await sharedServerClient();
    try {
      const updates = await client.workflow.getHandle(sweepId).query(updatesSinceQuery, 0);
      assert.deepEqual(
        updates.map((update) => update.version),
        [1, 2, 3],
      );
      const results = updates.map((update) => update.data.result as { index: number; state: string; params: unknown });
      assert.deepEqual(results.map((result) => result.index).sort(), [0, 1, 2]);
      assert.ok(results.every((result) => result.state === 'succeeded'));
      assert.deepEqual(results.find((result) => result.index === 2)?.params, { x: 3, steps: 10, step_ms: 100 });
    } finally {
      await client.connection.close();
    }
  } finally {
    await solo.stop();
  }
});
