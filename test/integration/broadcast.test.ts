import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { TestCluster, type TrialRecord } from '../helpers/cluster.js';
import { sharedServerConfig } from '../helpers/temporal.js';

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
      'parameters:\n  x: [0, 1, 2, 3, 4]\n  steps: 80\n  step_ms: 100\n',
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
  const running = updated.filter((r) => r.event === 'start').map((r) => r.trial);
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

  const isLate = (r: UpdateRecord) => r.event === 'start' && !running.includes(r.trial);
  const late = (await owner.waitForRecords((records) => records.some(isLate), 30_000)) as UpdateRecord[];
  assert.deepEqual(late.find(isLate)?.initial, [1, 2, 3], 'the later trial saw 1..3 before starting');
  assert.equal((await owner.sweep(['watch', sweepId])).code, 0);
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
