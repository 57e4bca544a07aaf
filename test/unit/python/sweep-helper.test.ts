// sweep_helper as trials use it, in real Python processes: what report() prints must be what the worker reads.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { parseMetricLine, readCheckpointLine } from '../../../src/activities/metric-lines.js';
import { PYTHON_DIR } from '../../../src/activities/trial-env.js';
import { tempDir } from '../../helpers/temporal.js';

/** Stands for numpy and torch scalars and 0-d arrays: what the helper relies on is their `.item()`. */
const FAKE_NUMPY = `
class float32:
    def __init__(self, value): self.value = value
    def item(self): return float(self.value)
class ndarray:
    def __init__(self, values): self.values = values
    def item(self):
        if len(self.values) != 1: raise ValueError("can only convert an array of size 1 to a Python scalar")
        return self.values[0]
`;

function python(code: string, env: NodeJS.ProcessEnv = {}) {
  const run = spawnSync('python3', ['-c', code], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, PYTHONPATH: PYTHON_DIR, ...env },
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

test('report() takes numpy-like scalars, 0-d arrays, NaN and infinities, and names with "/"', () => {
  const run = python(`${FAKE_NUMPY}
from sweep_helper import report
report(ndarray([3]), **{"val/loss": float32(0.25)}, acc=ndarray([0.5]))
report(4, metrics={"train/loss": float("nan"), "grad": float("inf")}, done=True)
`);
  assert.equal(run.code, 0, run.stderr);
  const [first, second] = run.stdout.trim().split('\n').map(parseMetricLine);
  assert.deepEqual(first, { step: 3, metrics: { 'val/loss': 0.25, acc: 0.5 } });
  assert.deepEqual(second, { step: 4, metrics: { 'train/loss': 'nan', grad: 'inf', done: 1 } });
});

test('checkpoint() prints what the worker reads as a checkpoint, not as metrics', () => {
  const run = python(`${FAKE_NUMPY}
from sweep_helper import checkpoint
checkpoint()
checkpoint(ndarray([120]), "ckpt/step-120.pt")
`);
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  assert.deepEqual(lines.map(readCheckpointLine), [{}, { step: 120, path: 'ckpt/step-120.pt' }]);
  assert.deepEqual(lines.map(parseMetricLine), [undefined, undefined]);
});

test('report() refuses what is no number, naming the metric', () => {
  const run = python(`${FAKE_NUMPY}
from sweep_helper import report
try:
    report(1, loss="low")
except TypeError as error:
    print(error)
try:
    report(1, loss=ndarray([1, 2]))
except TypeError as error:
    print(error)
`);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.stdout.trim().split('\n'), [
    "report(): metric 'loss' is str, not a number",
    "report(): metric 'loss' holds ndarray with more than one value",
  ]);
});

test('params(defaults): the defaults outside a sweep, the trial parameters over them inside one', () => {
  const code = 'import json; from sweep_helper import params; print(json.dumps(params({"lr": 0.1, "epochs": 3})))';
  assert.deepEqual(JSON.parse(python(code).stdout), { lr: 0.1, epochs: 3 });
  assert.deepEqual(JSON.parse(python(code, { SWEEP_PARAMS: '{"lr": 0.01}' }).stdout), { lr: 0.01, epochs: 3 });
  assert.deepEqual(
    JSON.parse(python('import json; from sweep_helper import params; print(json.dumps(params()))').stdout),
    {},
  );
});

test('wait_for_update blocks until an update newer than since arrives; by default newer than the newest there, until its timeout', async () => {
  const dir = tempDir('helper-updates');
  const file = join(dir, 'updates.jsonl');
  writeFileSync(file, `${JSON.stringify({ version: 1, at: 0, data: { old: true } })}\n`);
  const child = spawn(
    'python3',
    [
      '-c',
      'import json\nfrom sweep_helper import wait_for_update\nprint("waiting", flush=True)\n' +
        'print(json.dumps(wait_for_update(timeout=30, since=1)), flush=True)\nprint(json.dumps(wait_for_update(timeout=0.2)))',
    ],
    { env: { PATH: process.env.PATH, PYTHONPATH: PYTHON_DIR, SWEEP_UPDATES: file } },
  );
  let stdout = '';
  child.stdout.setEncoding('utf8');
  const waiting = new Promise<void>((resolve) =>
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('waiting')) resolve();
    }),
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await waiting;
  appendFileSync(file, `${JSON.stringify({ version: 2, at: 1, data: { lr: 0.5 } })}\n`);
  assert.equal(await exited, 0);
  const [, got, timedOut] = stdout.trim().split('\n');
  assert.deepEqual(JSON.parse(got ?? ''), { version: 2, at: 1, data: { lr: 0.5 } });
  assert.equal(timedOut, 'null');
});

test('the torch-style example runs by hand with its defaults, reports per epoch, and resumes from its checkpoint', () => {
  const dir = tempDir('torch-style');
  const example = fileURLToPath(new URL('../../../examples/torch_style_train.py', import.meta.url));
  const run = () =>
    spawnSync('python3', [example], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, PYTHONPATH: PYTHON_DIR, SWEEP_TRIAL_DIR: dir },
    });
  const first = run();
  assert.equal(first.status, 0, first.stderr);
  const reports = first.stdout.trim().split('\n').map(parseMetricLine);
  assert.deepEqual(
    reports.map((report) => [report?.step, Object.keys(report?.metrics ?? {})]),
    [1, 2, 3, 4, 5].map((step) => [step, ['train/loss', 'val/loss']]),
  );
  const again = run();
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stdout.trim(), 'resuming from epoch 5');
});
