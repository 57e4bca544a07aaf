import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readExitRecord } from '../../../src/activities/exit-record.js';
import { TrialProcess } from '../../../src/activities/trial-process.js';

const dir = mkdtempSync(join(tmpdir(), 'sweep-trial-process-'));

function prepare(script: string, name: string) {
  let stdout = '';
  const exitFile = join(dir, `${name}.exit`);
  const trial = TrialProcess.prepare({
    argv: ['sh', '-c', script],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    cwd: dir,
    exitFile,
    runId: `run-${name}`,
    worker: 'w1',
    onStdout: (chunk) => (stdout += chunk),
    onStderr: () => {},
  });
  return { trial, exitFile, stdout: () => stdout };
}

test('the exit record dates the command itself: its own clock readings fall inside', async () => {
  const { trial, exitFile, stdout } = prepare('date +%s%3N; sleep 0.2; date +%s%3N; exit 3', 'times');
  trial.start('');
  const exit = await trial.exited;
  const [first, last] = stdout().trim().split('\n').map(Number);
  assert.equal(exit.code, 3);
  assert.ok(exit.startedAt !== undefined && exit.endedAt !== undefined, JSON.stringify(exit));
  assert.ok(exit.startedAt <= (first ?? 0) && (last ?? 0) <= exit.endedAt, JSON.stringify({ exit, first, last }));
  assert.ok((last ?? 0) - (first ?? 0) >= 200);
  assert.deepEqual(readExitRecord(exitFile), {
    status: 3,
    runId: 'run-times',
    worker: 'w1',
    startedAt: exit.startedAt,
    endedAt: exit.endedAt,
  });
});

test('a signal sent the moment the trial starts is the command’s; the supervisor lives to record the exit', async () => {
  const { trial, exitFile, stdout } = prepare(
    'trap "echo got-usr1; exit 5" USR1; echo ready; sleep 5 & wait',
    'signal',
  );
  trial.start('1');
  // At once, before the command can have set its trap: its default action (death by SIGUSR1) is the command's,
  // not the supervisor's, which must live to write the exit record either way.
  trial.signal('SIGUSR1');
  const exit = await trial.exited;
  const record = readExitRecord(exitFile);
  assert.ok(record, 'the supervisor wrote its record');
  assert.equal(exit.code, record.status);
  assert.ok(record.status === 5 || record.status === 128 + 10, `${record.status}: ${stdout()}`);
});

test('a trial never started ends at once when terminated: nothing to end gracefully', async () => {
  const { trial, exitFile } = prepare('echo never', 'unstarted');
  const before = Date.now();
  await trial.terminate(30_000);
  assert.ok(Date.now() - before < 10_000, 'not after the grace period');
  assert.equal(readExitRecord(exitFile), undefined);
  assert.equal(await trial.commandStarted, undefined);
});
