import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readExitRecord } from '../../../src/activities/exit-record.js';

const dir = mkdtempSync(join(tmpdir(), 'sweep-exit-record-'));
const recordOf = (text: string) => {
  const file = join(dir, 'attempt.exit');
  writeFileSync(file, text);
  return readExitRecord(file);
};

test('an exit record with the command’s own times', () => {
  assert.deepEqual(recordOf('0 run-1 hostB-gpu1 1796296608653 1796296609001\n'), {
    status: 0,
    runId: 'run-1',
    worker: 'hostB-gpu1',
    startedAt: 1796296608653,
    endedAt: 1796296609001,
  });
});

test('times a date without %N printed, or none at all, are left out; the status stays', () => {
  const expected = { status: 3, runId: 'run-1', worker: 'w' };
  assert.deepEqual(recordOf('3 run-1 w 1796296608%3N 1796296609%3N\n'), expected);
  assert.deepEqual(recordOf('3 run-1 w\n'), expected);
  assert.deepEqual(recordOf('3 run-1 w  \n'), expected);
  assert.deepEqual(recordOf('3 run-1 w 1796296609001 1796296608653\n'), expected, 'an end before its start');
});

test('no file, a half-written line or no status is no record', () => {
  assert.equal(readExitRecord(join(dir, 'missing.exit')), undefined);
  assert.equal(recordOf(''), undefined);
  assert.equal(recordOf('done run-1 w\n'), undefined);
  assert.equal(recordOf('0\n'), undefined);
});
