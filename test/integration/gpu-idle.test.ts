// @run-alone: its idle gaps are compared with the trials' own clocks (scripts/run-tests.ts).
// GPU idle time as `sweep status` and `sweep results` report it, against what the trial processes themselves
// recorded: one worker slot, more trials than slots, so every gap between two trials is idle time.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TestCluster } from '../helpers/cluster.js';
import { idleWithinRecord } from '../helpers/idle-gaps.js';
import { sharedServerConfig, uniqueName } from '../helpers/temporal.js';

let cluster: TestCluster;

before(async () => {
  cluster = new TestCluster(sharedServerConfig().address);
  await cluster.startWorker('idle-cpu', 1);
});

after(async () => {
  await cluster.stop();
});

test("idle time per gap and in total matches the trials' own start and end records", async () => {
  const records = join(cluster.dir, 'times.txt');
  const spec = join(cluster.dir, `${uniqueName('idle')}.yml`);
  // sh and date start in a millisecond or two: the records are the processes' own start and end.
  const script = `echo "start $SWEEP_TRIAL_INDEX $(date +%s%3N)" >> ${records}; sleep 0.3; echo "end $SWEEP_TRIAL_INDEX $(date +%s%3N)" >> ${records}`;
  writeFileSync(spec, `command: [sh, -c, ${JSON.stringify(script)}]\nargs: none\nparameters:\n  i: {range: [0, 5]}\n`);
  const started = await cluster.sweep(['start', spec, '--wait']);
  assert.equal(started.code, 0, started.stderr);
  const sweepId = started.stdout.trim().split('\n')[0] ?? '';

  const times = new Map<string, number>();
  for (const line of readFileSync(records, 'utf8').trim().split('\n')) {
    const [event, trial, at] = line.split(' ');
    times.set(`${event} ${trial}`, Number(at));
  }
  const order = [0, 1, 2, 3, 4].sort((a, b) => (times.get(`start ${a}`) ?? 0) - (times.get(`start ${b}`) ?? 0));
  const gaps = order.slice(1).map((trial, k) => {
    const previous = order[k] ?? 0;
    return { trial, ms: (times.get(`start ${trial}`) ?? 0) - (times.get(`end ${previous}`) ?? 0) };
  });

  const results = await cluster.sweep(['results', sweepId, '--format', 'json']);
  const idleBefore = new Map(
    results.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { index: number; idleBeforeMs?: number })
      .map((row) => [row.index, row.idleBeforeMs]),
  );
  assert.equal(idleBefore.get(order[0] ?? 0), 0, 'the first trial had no gap before it');
  for (const gap of gaps) {
    const reported = idleBefore.get(gap.trial) ?? NaN;
    assert.ok(idleWithinRecord(reported, gap.ms), `trial ${gap.trial}: reported ${reported} ms, recorded ${gap.ms} ms`);
  }

  const status = await cluster.sweep(['status', sweepId, '--json']);
  const view = JSON.parse(status.stdout) as {
    gpuIdle: { idleMs: number; idleShare: number; wallMs: number; workers: { worker: string; idleMs: number }[] };
  };
  const recorded = gaps.reduce((sum, gap) => sum + gap.ms, 0);
  assert.deepEqual(
    view.gpuIdle.workers.map((worker) => worker.worker),
    ['idle-cpu'],
  );
  assert.ok(
    idleWithinRecord(view.gpuIdle.idleMs / gaps.length, recorded / gaps.length),
    JSON.stringify({ view, recorded }),
  );
  assert.ok(view.gpuIdle.idleShare > 0 && view.gpuIdle.idleShare < 1);
  const text = await cluster.sweep(['status', sweepId]);
  assert.match(text.stdout, /GPU idle \(no trial on a worker while trials waited\): .* of 1 worker\(s\) × /);
});
