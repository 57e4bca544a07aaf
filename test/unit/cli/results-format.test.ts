import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatResults, sortRows } from '../../../src/cli/results-format.js';
import type { TrialRow } from '../../../src/cli/sweep-client.js';
import { webUiLink } from '../../../src/cli/web-ui.js';
import { resolveConnectionConfig } from '../../../src/temporal/connection-config.js';
import { specOf } from '../../helpers/spec.js';

const spec = specOf('command: t\nmetric: {name: loss, goal: minimize}\nparameters: {lr: [0.1, 0.01, 0.001]}', {});
const row = (
  index: number,
  lr: number,
  loss: number | undefined,
  state: TrialRow['state'] = 'succeeded',
): TrialRow => ({
  sweepId: 's',
  index,
  name: `t00${index}_lr=${lr}`,
  params: { lr },
  state,
  attempts: [{ attempt: 1, outcome: state === 'succeeded' ? 'succeeded' : 'failed' }],
  metrics: loss === undefined ? {} : { loss },
  ...(loss === undefined ? {} : { best: loss }),
  ...(state === 'succeeded'
    ? { exitCode: 0, runtimeMs: 1500, worker: 'hostB-gpu1' }
    : { exitCode: 3, error: 'exit 3\nboom' }),
});

test('results sort best first by the sweep metric; trials without it go last', () => {
  const rows = [row(0, 0.1, 0.5), row(1, 0.01, undefined, 'failed'), row(2, 0.001, 0.2)];
  assert.deepEqual(
    sortRows(rows, spec).map((r) => r.index),
    [2, 0, 1],
  );
  const maximize = { ...spec, metric: { name: 'loss', goal: 'maximize' as const } };
  assert.deepEqual(
    sortRows(rows, maximize).map((r) => r.index),
    [0, 2, 1],
  );
});

test('the results table aligns columns and shows the first line of an error', () => {
  const text = formatResults([row(2, 0.001, 0.2), row(1, 0.01, undefined, 'failed')], spec, 'table');
  assert.equal(
    text,
    [
      'trial  name              lr  state      exit  loss  runtime  attempts  worker      error',
      '    2  t002_lr=0.001  0.001  succeeded     0   0.2  1.5s            1  hostB-gpu1',
      '    1  t001_lr=0.01    0.01  failed        3                        1              exit 3',
    ].join('\n'),
  );
  assert.equal(
    formatResults([row(1, 0.01, undefined, 'failed')], spec, 'csv'),
    'trial,name,lr,state,exit,runtime,attempts,worker,error\n1,t001_lr=0.01,0.01,failed,3,,1,,exit 3',
  );
});

test('the Web UI link: SWEEP_UI_URL, else the dev server convention on loopback, else none', () => {
  const local = resolveConnectionConfig({}, {});
  assert.equal(webUiLink(local, 'a/b', {}), 'http://127.0.0.1:8233/namespaces/default/workflows/a%2Fb');
  const remote = resolveConnectionConfig({ address: 'temporal.lab:7233', namespace: 'ml' }, {});
  assert.equal(webUiLink(remote, 'x', {}), undefined);
  assert.equal(webUiLink(remote, 'x', { SWEEP_UI_URL: 'https://ui.lab/' }), 'https://ui.lab/namespaces/ml/workflows/x');
});
